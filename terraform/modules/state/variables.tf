variable "name" {
  description = "Prefix for the state bucket and lock table, e.g. vinarag."
  type        = string
}

variable "noncurrent_version_days" {
  description = "Days old state versions are kept (they are how a bad apply is undone)."
  type        = number
  default     = 365
}
