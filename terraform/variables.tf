variable "environment" {
  description = "dev or prod; names every resource vinarag-<environment>."
  type        = string
  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be dev or prod."
  }
}

variable "region" {
  type    = string
  default = "ap-southeast-1"
}

variable "availability_zones" {
  description = "Zones in the region; three give each Qdrant node its own zone."
  type        = list(string)
}

variable "vpc_cidr" {
  type    = string
  default = "10.40.0.0/16"
}

variable "ingress_cidrs" {
  description = "Client ranges allowed to reach the load balancer."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "certificate_arn" {
  description = "ACM certificate (same region) for the API's HTTPS listener."
  type        = string
}

variable "api_image_tag" {
  description = "Tag of the API image pushed to the environment's ECR repository."
  type        = string
}

variable "api_cpu" {
  type    = number
  default = 1024
}

variable "api_memory" {
  type    = number
  default = 4096
}

variable "api_min_count" {
  type    = number
  default = 2
}

variable "api_max_count" {
  type    = number
  default = 10
}

variable "gpu_instance_type" {
  description = "vLLM host type (one GPU per vLLM task), e.g. g5.xlarge."
  type        = string
}

variable "gpu_max_count" {
  type    = number
  default = 2
}

variable "vllm_count" {
  type    = number
  default = 1
}

variable "vllm_model" {
  type    = string
  default = "vinai/PhoGPT-4B-Chat"
}

variable "qdrant_instance_type" {
  type = string
}

variable "qdrant_volume_gb" {
  type    = number
  default = 100
}

variable "redis_node_type" {
  type = string
}

variable "redis_replicas" {
  type    = number
  default = 1
}

variable "postgres_instance_class" {
  type = string
}

variable "postgres_multi_az" {
  type    = bool
  default = true
}

variable "langfuse_base_url" {
  description = "Langfuse host (e.g. https://cloud.langfuse.com); null keeps tracing off."
  type        = string
  default     = null
}

variable "log_retention_days" {
  type    = number
  default = 365
}

variable "mq_instance_type" {
  type        = string
  default     = "mq.t3.micro"
  description = "Amazon MQ host type of the ingestion queue's broker (a cluster in prod needs mq.m5.large or larger)."
}

variable "ingest_writers" {
  type        = number
  default     = 1
  description = "`vinarag worker --role jobs` tasks (they write to the Qdrant cluster)."
}

variable "ingest_steps_min_count" {
  type        = number
  default     = 1
  description = "Fewest `vinarag worker` steps tasks (read, segment, embed)."
}

variable "ingest_steps_max_count" {
  type        = number
  default     = 8
  description = "Most steps tasks the CPU target scales out to."
}
