# ElastiCache Redis for the answer cache: TLS in transit, KMS at rest, an AUTH token. The API gets
# the whole REDIS_URL (token included) from Secrets Manager, never from a task definition.

data "aws_secretsmanager_random_password" "redis" {
  password_length     = 64
  exclude_punctuation = true
}

resource "aws_elasticache_subnet_group" "this" {
  name       = "${var.name}-redis"
  subnet_ids = var.data_subnet_ids
}

resource "aws_elasticache_replication_group" "this" {
  #checkov:skip=CKV2_AWS_50:failover needs a replica: prod has one (redis_replicas = 1, asserted in data.tftest.hcl), dev runs one node
  replication_group_id       = "${var.name}-redis"
  description                = "${var.name} answer cache"
  engine                     = "redis"
  engine_version             = "7.1"
  node_type                  = var.redis_node_type
  num_cache_clusters         = 1 + var.redis_replicas
  automatic_failover_enabled = var.redis_replicas > 0
  multi_az_enabled           = var.redis_replicas > 0
  port                       = 6379
  subnet_group_name          = aws_elasticache_subnet_group.this.name
  security_group_ids         = [var.redis_security_group_id]
  at_rest_encryption_enabled = true
  kms_key_id                 = var.kms_key_arn
  transit_encryption_enabled = true
  auth_token                 = data.aws_secretsmanager_random_password.redis.random_password
  snapshot_retention_limit   = var.backup_retention_days
  auto_minor_version_upgrade = true
  apply_immediately          = false
  lifecycle {
    # the token is generated once; rotate it with `aws elasticache modify-replication-group`
    ignore_changes = [auth_token]
  }
}

resource "aws_secretsmanager_secret" "redis" {
  #checkov:skip=CKV2_AWS_57:the AUTH token rotation goes through ElastiCache (README), not a rotation Lambda
  name                    = "${var.name}/redis"
  description             = "REDIS_URL (rediss://, with the AUTH token) for the API"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "redis" {
  secret_id = aws_secretsmanager_secret.redis.id
  secret_string = jsonencode({
    REDIS_URL = "rediss://:${data.aws_secretsmanager_random_password.redis.random_password}@${aws_elasticache_replication_group.this.primary_endpoint_address}:6379/0"
  })
  lifecycle {
    ignore_changes = [secret_string]
  }
}
