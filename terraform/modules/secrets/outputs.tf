output "kms_key_arn" {
  value = aws_kms_key.this.arn
}

output "secret_arns" {
  description = "Secret ARN by name: api-keys, qdrant, vllm (and langfuse when enabled)."
  value = merge(
    { for k, s in aws_secretsmanager_secret.generated : k => s.arn },
    var.langfuse_enabled ? { langfuse = aws_secretsmanager_secret.langfuse[0].arn } : {},
  )
}
