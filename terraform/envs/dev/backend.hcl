# terraform -chdir=terraform init -backend-config=envs/dev/backend.hcl
# bucket, dynamodb_table and kms_key_id come from `terraform -chdir=terraform/bootstrap output`.
bucket         = "vinarag-terraform-state-111122223333"
key            = "vinarag/dev/terraform.tfstate"
dynamodb_table = "vinarag-terraform-lock"
region         = "ap-southeast-1"
encrypt        = true
