variable "name" {
  description = "Prefix for every resource name, e.g. vinarag-prod."
  type        = string
}

variable "vpc_id" {
  type = string
}

variable "public_subnet_ids" {
  description = "Subnets for the load balancer."
  type        = list(string)
}

variable "app_subnet_ids" {
  description = "Private subnets for the API tasks and the GPU hosts."
  type        = list(string)
}

variable "data_subnet_ids" {
  description = "Private subnets for the Qdrant nodes (one per zone, round robin)."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Group id by tier (alb, api, vllm, qdrant) from the network module."
  type        = map(string)
}

variable "kms_key_arn" {
  type = string
}

variable "certificate_arn" {
  description = "ACM certificate for the HTTPS listener."
  type        = string
}

variable "log_retention_days" {
  description = "Days the API, vLLM and WAF logs are kept."
  type        = number
  default     = 365
}

variable "alb_deletion_protection" {
  type    = bool
  default = true
}

variable "logs_bucket" {
  description = "Bucket for the load balancer's access logs (SSE-S3)."
  type        = string
}

variable "bucket_arns" {
  description = "Bucket ARN by purpose: adapters, eval_reports, qdrant_snapshots."
  type        = map(string)
}

variable "secret_arns" {
  description = "Secret ARN by name: api-keys, qdrant, vllm, and langfuse when tracing is on."
  type        = map(string)
}

variable "redis_url_secret_arn" {
  type = string
}

variable "postgres" {
  description = "address, database, username and password_secret_arn of the RDS instance."
  type = object({
    address             = string
    database            = string
    username            = string
    password_secret_arn = string
  })
}

variable "langfuse_base_url" {
  description = "Langfuse host for tracing (null: tracing off)."
  type        = string
  default     = null
}

variable "waf_rate_limit" {
  description = "Requests per 5 minutes one client address may send before it is blocked."
  type        = number
  default     = 2000
}

# --- the API ---
variable "api_image_tag" {
  description = "Tag of the API image in this environment's ECR repository."
  type        = string
}

variable "api_cpu" {
  description = "Fargate CPU units per API task (1024 = 1 vCPU)."
  type        = number
  default     = 1024
}

variable "api_memory" {
  description = "Fargate memory per API task, MiB."
  type        = number
  default     = 4096
}

variable "api_workers" {
  description = "uvicorn workers per task (VINARAG_SERVER__WORKERS)."
  type        = number
  default     = 2
}

variable "api_min_count" {
  type    = number
  default = 2
}

variable "api_max_count" {
  type    = number
  default = 10
}

variable "api_cpu_target" {
  description = "Average CPU percent autoscaling keeps the service at."
  type        = number
  default     = 60
}

variable "api_requests_per_target" {
  description = "Load-balancer requests per task per minute autoscaling keeps the service at."
  type        = number
  default     = 6000
}

variable "require_key_for_read" {
  description = "Ask for an X-API-Key on /rag as well as on writes."
  type        = bool
  default     = true
}

# --- vLLM on GPU instances ---
variable "gpu_instance_type" {
  description = "EC2 type of the vLLM hosts, e.g. g5.xlarge (one A10G, 24 GB)."
  type        = string
}

variable "gpu_min_count" {
  type    = number
  default = 1
}

variable "gpu_max_count" {
  type    = number
  default = 2
}

variable "vllm_count" {
  description = "vLLM tasks (one GPU each)."
  type        = number
  default     = 1
}

variable "vllm_image" {
  type    = string
  default = "vllm/vllm-openai:v0.11.0"
}

variable "vllm_model" {
  description = "Model vLLM serves: a hub name, or a merged adapter (`vinarag train merge`) on the host."
  type        = string
  default     = "vinai/PhoGPT-4B-Chat"
}

variable "vllm_cpu" {
  type    = number
  default = 3072
}

variable "vllm_memory" {
  description = "MiB reserved for the vLLM container on its host."
  type        = number
  default     = 14336
}

variable "vllm_max_model_len" {
  type    = number
  default = 8192
}

# --- Qdrant ---
variable "qdrant_instance_type" {
  description = "EC2 type of each Qdrant node, e.g. r7i.large."
  type        = string
}

variable "qdrant_node_count" {
  description = "Nodes in the Qdrant cluster (odd, for Raft consensus)."
  type        = number
  default     = 3
  validation {
    condition     = var.qdrant_node_count >= 3 && var.qdrant_node_count % 2 == 1
    error_message = "qdrant_node_count must be odd and at least 3 (Raft needs a majority)."
  }
}

variable "qdrant_volume_gb" {
  description = "Size of each node's data volume (gp3, KMS)."
  type        = number
  default     = 100
}

variable "qdrant_image" {
  type    = string
  default = "qdrant/qdrant:v1.20.0"
}

variable "broker_url_secret_arn" {
  type        = string
  description = "Secret with CELERY_BROKER_URL: the ingestion queue's broker."
}

variable "uploads_bucket" {
  type        = string
  description = "Bucket holding uploads until their ingestion job ends, and documents' originals (jobs/originals/)."
}

variable "ingest_writers" {
  type    = number
  default = 1
  validation {
    condition     = var.ingest_writers >= 1
    error_message = "at least one writer runs the jobs"
  }
}

variable "ingest_steps_min_count" {
  type    = number
  default = 1
}

variable "ingest_steps_max_count" {
  type    = number
  default = 8
}

variable "ingest_worker_cpu" {
  type    = number
  default = 2048
}

variable "ingest_worker_memory" {
  type    = number
  default = 4096
}
