# Offline: the AWS provider is mocked; these runs check what the plan would build.
mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  name = "vinarag-test"
}

run "state_bucket_and_lock_table" {
  command = plan # prevent_destroy keeps the bucket: nothing is applied

  assert {
    condition     = one(aws_s3_bucket_versioning.state.versioning_configuration).status == "Enabled"
    error_message = "state is versioned"
  }
  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.state.rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms"
    error_message = "state is encrypted with KMS"
  }
  assert {
    condition     = aws_s3_bucket_public_access_block.state.block_public_acls && aws_s3_bucket_public_access_block.state.block_public_policy && aws_s3_bucket_public_access_block.state.ignore_public_acls && aws_s3_bucket_public_access_block.state.restrict_public_buckets
    error_message = "the state bucket is never public"
  }
  assert {
    condition     = aws_dynamodb_table.lock.hash_key == "LockID" && one(aws_dynamodb_table.lock.point_in_time_recovery).enabled && one(aws_dynamodb_table.lock.server_side_encryption).enabled
    error_message = "the lock table has the LockID key Terraform's S3 backend uses, PITR and encryption"
  }
}
