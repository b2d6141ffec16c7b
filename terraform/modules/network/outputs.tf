output "vpc_id" {
  value = aws_vpc.this.id
}

output "public_subnet_ids" {
  description = "For the load balancer and the NAT gateways only."
  value       = aws_subnet.public[*].id
}

output "app_subnet_ids" {
  description = "Private: API tasks and GPU hosts."
  value       = aws_subnet.app[*].id
}

output "data_subnet_ids" {
  description = "Private: Qdrant, Redis, PostgreSQL."
  value       = aws_subnet.data[*].id
}

output "security_group_ids" {
  description = "Group ids by tier: alb, api, vllm, qdrant, redis, postgres."
  value       = { for k, sg in aws_security_group.this : k => sg.id }
}
