# One customer-managed KMS key encrypts every store of the environment (S3, RDS, ElastiCache,
# EBS, logs, secrets). Secrets Manager holds what the API and its peers need at start: keys
# generated here are written once and never rotated by Terraform (ignore_changes), keys that come
# from outside (Langfuse) are put by hand after the first apply.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account = data.aws_caller_identity.current.account_id
  root    = "arn:${data.aws_partition.current.partition}:iam::${local.account}:root"
}

resource "aws_kms_key" "this" {
  description             = "${var.name}: data at rest"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministers"
        Effect    = "Allow"
        Principal = { AWS = local.root }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogsEncrypt"
        Effect    = "Allow"
        Principal = { Service = "logs.${data.aws_region.current.name}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = {
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${local.account}:*"
          }
        }
      },
      {
        # launch templates with encrypted EBS start instances through this service role
        Sid    = "AutoScalingUsesKeyForEbs"
        Effect = "Allow"
        Principal = {
          AWS = "arn:${data.aws_partition.current.partition}:iam::${local.account}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
        }
        Action   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey", "kms:CreateGrant"]
        Resource = "*"
      },
    ]
  })
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

# Generated secrets: the client API key(s), Qdrant's and vLLM's keys.
locals {
  generated = {
    api-keys = { env = "VINARAG_API_KEYS", description = "X-API-Key values the API accepts (JSON list)", as_list = true }
    qdrant   = { env = "QDRANT_API_KEY", description = "API key of the Qdrant cluster", as_list = false }
    vllm     = { env = "VLLM_API_KEY", description = "API key of the vLLM endpoint", as_list = false }
  }
}

data "aws_secretsmanager_random_password" "generated" {
  for_each            = local.generated
  password_length     = 48
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret" "generated" {
  #checkov:skip=CKV2_AWS_57:these keys are shared with clients and peers outside AWS; rotation is a documented manual step (README), not a Lambda here
  for_each                = local.generated
  name                    = "${var.name}/${each.key}"
  description             = each.value.description
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = var.recovery_window_days
}

resource "aws_secretsmanager_secret_version" "generated" {
  for_each  = local.generated
  secret_id = aws_secretsmanager_secret.generated[each.key].id
  secret_string = jsonencode({
    (each.value.env) = (
      each.value.as_list
      ? jsonencode([data.aws_secretsmanager_random_password.generated[each.key].random_password])
      : data.aws_secretsmanager_random_password.generated[each.key].random_password
    )
  })
  lifecycle {
    # written once; a new value is put with the AWS CLI and picked up by a new deployment
    ignore_changes = [secret_string]
  }
}

resource "aws_secretsmanager_secret" "langfuse" {
  #checkov:skip=CKV2_AWS_57:Langfuse keys are issued by the Langfuse project and rotated there
  count                   = var.langfuse_enabled ? 1 : 0
  name                    = "${var.name}/langfuse"
  description             = "LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY for tracing (put by hand)"
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = var.recovery_window_days
}
