output "bucket_names" {
  description = "Bucket name by purpose: adapters, eval_reports, qdrant_snapshots, uploads, logs."
  value       = merge({ for k, b in module.bucket : k => b.bucket }, { logs = aws_s3_bucket.logs.bucket })
}

output "bucket_arns" {
  value = { for k, b in module.bucket : k => b.arn }
}

output "logs_bucket" {
  value = aws_s3_bucket.logs.bucket
}

output "redis_url_secret_arn" {
  description = "Secret with the REDIS_URL key."
  value       = aws_secretsmanager_secret.redis.arn
}

output "postgres_endpoint" {
  description = "host:port of the RDS instance."
  value       = aws_db_instance.this.endpoint
}

output "postgres_address" {
  value = aws_db_instance.this.address
}

output "postgres_database" {
  value = aws_db_instance.this.db_name
}

output "postgres_username" {
  value = aws_db_instance.this.username
}

output "postgres_password_secret_arn" {
  description = "RDS-managed secret with the username and password keys."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "broker_url_secret_arn" {
  description = "Secret with the CELERY_BROKER_URL key (the ingestion queue's broker)."
  value       = aws_secretsmanager_secret.broker.arn
}
