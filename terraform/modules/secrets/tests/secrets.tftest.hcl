# Offline: the AWS provider is mocked; these runs check what the plan would build.
mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  name = "vinarag-test"
}

run "one_rotating_key_encrypts_every_secret" {
  command = apply

  assert {
    condition     = aws_kms_key.this.enable_key_rotation
    error_message = "the KMS key rotates"
  }
  assert {
    condition     = alltrue([for s in aws_secretsmanager_secret.generated : s.kms_key_id == aws_kms_key.this.arn])
    error_message = "secrets are encrypted with the environment's key"
  }
  assert {
    condition     = toset(keys(output.secret_arns)) == toset(["api-keys", "qdrant", "vllm"])
    error_message = "without Langfuse there is no Langfuse secret"
  }
  assert {
    condition     = can(jsondecode(jsondecode(aws_secretsmanager_secret_version.generated["api-keys"].secret_string).VINARAG_API_KEYS)[0])
    error_message = "VINARAG_API_KEYS holds a JSON list, the form the API's setting reads"
  }
  assert {
    condition     = contains([for s in jsondecode(aws_kms_key.this.policy).Statement : s.Sid], "CloudWatchLogsEncrypt")
    error_message = "CloudWatch Logs may use the key (log groups are encrypted with it)"
  }
}

run "langfuse_secret_when_tracing_is_on" {
  command = apply
  variables {
    langfuse_enabled = true
  }

  assert {
    condition     = contains(keys(output.secret_arns), "langfuse") && length(aws_secretsmanager_secret_version.generated) == 3
    error_message = "a Langfuse secret (filled by hand), no generated value for it"
  }
}
