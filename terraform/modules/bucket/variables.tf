variable "name" {
  description = "Globally unique bucket name."
  type        = string
}

variable "purpose" {
  description = "What the bucket holds (a tag)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for default encryption."
  type        = string
}

variable "log_bucket" {
  description = "Bucket receiving this bucket's server access logs."
  type        = string
}

variable "noncurrent_version_days" {
  description = "Days old object versions are kept."
  type        = number
  default     = 90
}

variable "force_destroy" {
  description = "Let `terraform destroy` empty the bucket (dev only)."
  type        = bool
  default     = false
}
