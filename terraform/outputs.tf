output "api_url" {
  value = module.compute.api_url
}

output "alb_dns_name" {
  description = "Point the certificate's DNS name here (CNAME or alias)."
  value       = module.compute.alb_dns_name
}

output "ecr_repository_url" {
  value = module.compute.ecr_repository_url
}

output "cluster_name" {
  value = module.compute.cluster_name
}

output "api_service_name" {
  value = module.compute.api_service_name
}

output "secret_arns" {
  description = "Where the API keys (api-keys), Qdrant's, vLLM's and Langfuse's keys live."
  value       = module.secrets.secret_arns
}

output "bucket_names" {
  value = module.data.bucket_names
}
