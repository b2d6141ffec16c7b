variable "name" {
  description = "Prefix for every resource name, e.g. vinarag-prod."
  type        = string
}

variable "cidr_block" {
  description = "The VPC's address range."
  type        = string
  default     = "10.40.0.0/16"
}

variable "availability_zones" {
  description = "Zones to spread subnets over; three give the Qdrant cluster one node per zone."
  type        = list(string)
  validation {
    condition     = length(var.availability_zones) >= 2
    error_message = "availability_zones needs at least two zones (the load balancer and RDS Multi-AZ need two)."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper, dev) instead of one per zone (prod)."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "KMS key encrypting the flow-log group."
  type        = string
}

variable "log_retention_days" {
  description = "Days the VPC flow logs are kept."
  type        = number
  default     = 365
}

variable "api_port" {
  description = "Port the API containers listen on."
  type        = number
  default     = 8000
}

variable "vllm_port" {
  description = "Port vLLM serves its OpenAI-compatible API on."
  type        = number
  default     = 8000
}

variable "ingress_cidrs" {
  description = "Client address ranges allowed to reach the load balancer on 443."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}
