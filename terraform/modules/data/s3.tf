# Buckets for LoRA adapters, eval reports and Qdrant snapshots (modules/bucket: private, versioned,
# KMS-encrypted, TLS only, access-logged) and the log bucket, which uses SSE-S3 because load
# balancer access logs cannot be delivered to a KMS-encrypted bucket.

data "aws_elb_service_account" "this" {}
data "aws_caller_identity" "current" {}

locals {
  buckets = {
    adapters         = "LoRA adapters the generator loads"
    eval_reports     = "vinarag eval reports"
    qdrant_snapshots = "Qdrant collection snapshots"
    uploads          = "uploads waiting for their ingestion job, and the documents' originals"
  }
}

resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_18:this is the access-log bucket; logging it into itself would loop
  #checkov:skip=CKV_AWS_144:logs are kept in-region; replication is left to the account's backup policy
  #checkov:skip=CKV2_AWS_62:nothing consumes events from the log bucket
  #checkov:skip=CKV_AWS_145:ALB access logs need SSE-S3 (AES256); KMS is not supported for them
  bucket        = "${var.name}-logs-${data.aws_caller_identity.current.account_id}"
  force_destroy = var.force_destroy_buckets
}

module "bucket" {
  source                  = "../bucket"
  for_each                = local.buckets
  name                    = "${var.name}-${replace(each.key, "_", "-")}-${data.aws_caller_identity.current.account_id}"
  purpose                 = each.value
  kms_key_arn             = var.kms_key_arn
  log_bucket              = aws_s3_bucket.logs.id
  noncurrent_version_days = var.noncurrent_version_days
  force_destroy           = var.force_destroy_buckets
  depends_on              = [aws_s3_bucket_policy.logs]
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    id     = "expire-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = var.log_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
  depends_on = [aws_s3_bucket_versioning.logs]
}

resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.logs.arn, "${aws_s3_bucket.logs.arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        Sid       = "LoadBalancerAccessLogs"
        Effect    = "Allow"
        Principal = { AWS = data.aws_elb_service_account.this.arn }
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.logs.arn}/alb/*"
      },
      {
        Sid       = "S3ServerAccessLogs"
        Effect    = "Allow"
        Principal = { Service = "logging.s3.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.logs.arn}/s3/*"
        Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
      },
    ]
  })
  depends_on = [aws_s3_bucket_public_access_block.logs]
}
