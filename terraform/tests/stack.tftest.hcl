# The whole environment wired together, offline (the AWS provider is mocked). Run with an
# environment's variables: terraform test -var-file=envs/dev/terraform.tfvars (or prod).
mock_provider "aws" {
  source = "./tests/mocks"
}

run "the_environment_plans_and_wires_together" {
  command = apply

  assert {
    condition     = startswith(output.api_url, "https://")
    error_message = "the API is served over HTTPS"
  }
  assert {
    condition     = toset(keys(output.bucket_names)) == toset(["adapters", "eval_reports", "qdrant_snapshots", "uploads", "logs"])
    error_message = "the environment has its five buckets"
  }
  assert {
    condition     = contains(keys(output.secret_arns), "langfuse") == (var.langfuse_base_url != null)
    error_message = "a Langfuse secret exists exactly when tracing is configured"
  }
  assert {
    condition     = alltrue([for name in values(output.bucket_names) : startswith(name, "vinarag-${var.environment}-")])
    error_message = "every bucket is named for its environment"
  }
}

run "an_unknown_environment_is_refused" {
  command = plan
  variables {
    environment = "staging"
  }
  expect_failures = [var.environment]
}
