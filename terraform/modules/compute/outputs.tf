output "api_url" {
  description = "The API behind the load balancer (point your DNS name at alb_dns_name)."
  value       = "https://${aws_lb.api.dns_name}"
}

output "alb_dns_name" {
  value = aws_lb.api.dns_name
}

output "alb_zone_id" {
  value = aws_lb.api.zone_id
}

output "ecr_repository_url" {
  description = "Push the API image here (docker build, tag, push: see the README)."
  value       = aws_ecr_repository.api.repository_url
}

output "cluster_name" {
  value = aws_ecs_cluster.this.name
}

output "api_service_name" {
  value = aws_ecs_service.api.name
}

output "qdrant_url" {
  value = local.qdrant_url
}

output "qdrant_instance_ids" {
  value = aws_instance.qdrant[*].id
}

output "vllm_url" {
  value = local.vllm_url
}
