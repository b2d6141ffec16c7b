# Offline: the AWS provider is mocked; these runs check what the plan would build.
mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  name        = "vinarag-test-adapters-111122223333"
  purpose     = "LoRA adapters"
  kms_key_arn = "arn:aws:kms:ap-southeast-1:111122223333:key/test"
  log_bucket  = "vinarag-test-logs-111122223333"
}

run "private_versioned_encrypted_logged" {
  command = apply

  assert {
    condition     = aws_s3_bucket_public_access_block.this.block_public_acls && aws_s3_bucket_public_access_block.this.block_public_policy && aws_s3_bucket_public_access_block.this.ignore_public_acls && aws_s3_bucket_public_access_block.this.restrict_public_buckets
    error_message = "public access is blocked four ways"
  }
  assert {
    condition     = one(aws_s3_bucket_ownership_controls.this.rule).object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs are off: the owner owns every object"
  }
  assert {
    condition     = one(aws_s3_bucket_versioning.this.versioning_configuration).status == "Enabled"
    error_message = "the bucket is versioned"
  }
  assert {
    condition = (
      one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms" &&
      one(one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default).kms_master_key_id == var.kms_key_arn
    )
    error_message = "objects are encrypted with the given KMS key"
  }
  assert {
    condition     = aws_s3_bucket_logging.this.target_bucket == var.log_bucket
    error_message = "access is logged to the log bucket"
  }
  assert {
    condition     = jsondecode(aws_s3_bucket_policy.this.policy).Statement[0].Effect == "Deny" && jsondecode(aws_s3_bucket_policy.this.policy).Statement[0].Condition.Bool["aws:SecureTransport"] == "false"
    error_message = "requests without TLS are refused"
  }
  assert {
    condition     = aws_s3_bucket.this.force_destroy == false
    error_message = "destroy keeps a bucket with objects unless asked (dev)"
  }
}
