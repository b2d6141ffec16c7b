# Offline: the AWS provider is mocked; these runs check what the plan would build.
mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  name                       = "vinarag-test"
  kms_key_arn                = "arn:aws:kms:ap-southeast-1:111122223333:key/test"
  data_subnet_ids            = ["subnet-a", "subnet-b", "subnet-c"]
  redis_security_group_id    = "sg-redis"
  mq_security_group_id       = "sg-mq"
  postgres_security_group_id = "sg-postgres"
  redis_node_type            = "cache.r7g.large"
  postgres_instance_class    = "db.r7g.large"
}

run "artifact_buckets_and_a_private_log_bucket" {
  command = apply

  assert {
    condition     = toset(keys(output.bucket_names)) == toset(["adapters", "eval_reports", "qdrant_snapshots", "uploads", "logs"])
    error_message = "buckets for adapters, eval reports, Qdrant snapshots, waiting uploads and access logs"
  }
  assert {
    condition     = aws_s3_bucket_public_access_block.logs.block_public_acls && aws_s3_bucket_public_access_block.logs.block_public_policy && aws_s3_bucket_public_access_block.logs.ignore_public_acls && aws_s3_bucket_public_access_block.logs.restrict_public_buckets
    error_message = "the log bucket blocks public access"
  }
  assert {
    condition     = one(aws_s3_bucket_versioning.logs.versioning_configuration).status == "Enabled"
    error_message = "the log bucket is versioned"
  }
  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.logs.rule).apply_server_side_encryption_by_default).sse_algorithm == "AES256"
    error_message = "the log bucket is encrypted (SSE-S3, which ALB log delivery needs)"
  }
  assert {
    condition = alltrue([
      for s in jsondecode(aws_s3_bucket_policy.logs.policy).Statement :
      s.Action == "s3:PutObject" && (endswith(s.Resource, "/alb/*") || endswith(s.Resource, "/s3/*"))
      if s.Effect == "Allow"
    ])
    error_message = "log delivery may only put objects under its own prefix"
  }
}

run "postgres_is_encrypted_private_and_sized_by_variable" {
  command = apply

  assert {
    condition     = aws_db_instance.this.storage_encrypted && aws_db_instance.this.kms_key_id == var.kms_key_arn
    error_message = "RDS storage is encrypted with the environment's key"
  }
  assert {
    condition     = aws_db_instance.this.publicly_accessible == false
    error_message = "RDS is not publicly accessible"
  }
  assert {
    condition     = aws_db_instance.this.instance_class == var.postgres_instance_class
    error_message = "the instance class comes from the variable"
  }
  assert {
    condition     = aws_db_instance.this.manage_master_user_password && aws_db_instance.this.password == null
    error_message = "the master password is managed by RDS in Secrets Manager, never in Terraform"
  }
  assert {
    condition     = aws_db_instance.this.multi_az && aws_db_instance.this.deletion_protection && !aws_db_instance.this.skip_final_snapshot
    error_message = "production defaults: Multi-AZ, deletion protection, a final snapshot"
  }
  assert {
    condition     = one([for p in aws_db_parameter_group.this.parameter : p.value if p.name == "rds.force_ssl"]) == "1"
    error_message = "PostgreSQL refuses connections without TLS"
  }
}

run "redis_is_encrypted_with_auth_and_failover" {
  command = apply

  assert {
    condition     = aws_elasticache_replication_group.this.at_rest_encryption_enabled && aws_elasticache_replication_group.this.transit_encryption_enabled
    error_message = "Redis is encrypted at rest and in transit"
  }
  assert {
    condition     = aws_elasticache_replication_group.this.auth_token != null && length(aws_elasticache_replication_group.this.auth_token) >= 32
    error_message = "Redis needs an AUTH token"
  }
  assert {
    condition     = aws_elasticache_replication_group.this.node_type == var.redis_node_type && aws_elasticache_replication_group.this.num_cache_clusters == 2 && aws_elasticache_replication_group.this.automatic_failover_enabled
    error_message = "node type from the variable; a replica means failover"
  }
  assert {
    condition     = startswith(jsondecode(aws_secretsmanager_secret_version.redis.secret_string).REDIS_URL, "rediss://:")
    error_message = "the API's REDIS_URL uses TLS and carries the token, in Secrets Manager"
  }
}

run "dev_without_replica_or_protection" {
  command = apply
  variables {
    redis_replicas        = 0
    postgres_multi_az     = false
    deletion_protection   = false
    force_destroy_buckets = true
  }

  assert {
    condition     = aws_elasticache_replication_group.this.num_cache_clusters == 1 && !aws_elasticache_replication_group.this.automatic_failover_enabled
    error_message = "one node cannot fail over"
  }
  assert {
    condition     = aws_db_instance.this.skip_final_snapshot && !aws_db_instance.this.deletion_protection
    error_message = "dev databases can be destroyed"
  }
}

run "the_broker_is_private_encrypted_and_its_url_a_secret" {
  command = apply

  assert {
    condition     = aws_mq_broker.this.engine_type == "RabbitMQ" && aws_mq_broker.this.publicly_accessible == false && aws_mq_broker.this.encryption_options[0].use_aws_owned_key == false
    error_message = "RabbitMQ, private, encrypted with the stack's KMS key"
  }
  assert {
    condition     = aws_mq_broker.this.deployment_mode == "SINGLE_INSTANCE" && aws_secretsmanager_secret.broker.kms_key_id == var.kms_key_arn
    error_message = "one instance unless mq_cluster; its URL in a KMS-encrypted secret"
  }
}
