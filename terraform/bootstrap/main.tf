# Run once per AWS account, with local state, before any environment:
#   terraform -chdir=terraform/bootstrap init && terraform -chdir=terraform/bootstrap apply
# Its outputs fill terraform/envs/<env>/backend.hcl.

provider "aws" {
  region = var.region
  default_tags {
    tags = { Project = "vinarag", ManagedBy = "terraform", Component = "state" }
  }
}

variable "region" {
  description = "Region of the state bucket and lock table."
  type        = string
  default     = "ap-southeast-1"
}

variable "name" {
  description = "Prefix for the state bucket and lock table."
  type        = string
  default     = "vinarag"
}

module "state" {
  source = "../modules/state"
  name   = var.name
}

output "backend_config" {
  description = "Paste into terraform/envs/<env>/backend.hcl."
  value       = <<-EOT
    bucket         = "${module.state.bucket}"
    dynamodb_table = "${module.state.dynamodb_table}"
    kms_key_id     = "${module.state.kms_key_arn}"
    region         = "${var.region}"
    encrypt        = true
  EOT
}
