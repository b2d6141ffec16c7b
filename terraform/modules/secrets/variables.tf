variable "name" {
  description = "Prefix for every resource name, e.g. vinarag-prod."
  type        = string
}

variable "recovery_window_days" {
  description = "Days a deleted secret can still be restored (0 deletes at once: dev only)."
  type        = number
  default     = 30
}

variable "langfuse_enabled" {
  description = "Create the Langfuse keys secret (its value is put by hand: see the README)."
  type        = bool
  default     = false
}
