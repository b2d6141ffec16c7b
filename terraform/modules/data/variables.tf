variable "name" {
  description = "Prefix for every resource name, e.g. vinarag-prod."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for every store here."
  type        = string
}

variable "data_subnet_ids" {
  description = "Private subnets for Redis and PostgreSQL."
  type        = list(string)
}

variable "redis_security_group_id" {
  type = string
}

variable "postgres_security_group_id" {
  type = string
}

variable "redis_node_type" {
  description = "ElastiCache node type, e.g. cache.t4g.small (dev), cache.r7g.large (prod)."
  type        = string
}

variable "redis_replicas" {
  description = "Read replicas beside the primary; 1 or more turns on Multi-AZ failover."
  type        = number
  default     = 1
}

variable "postgres_instance_class" {
  description = "RDS instance class, e.g. db.t4g.medium (dev), db.r7g.large (prod)."
  type        = string
}

variable "postgres_engine_version" {
  type    = string
  default = "16.4"
}

variable "postgres_allocated_storage_gb" {
  type    = number
  default = 20
}

variable "postgres_max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling."
  type        = number
  default     = 200
}

variable "postgres_multi_az" {
  type    = bool
  default = true
}

variable "backup_retention_days" {
  type    = number
  default = 7
}

variable "deletion_protection" {
  description = "Protect RDS from deletion and keep a final snapshot (prod: true)."
  type        = bool
  default     = true
}

variable "noncurrent_version_days" {
  description = "Days old object versions stay in the buckets."
  type        = number
  default     = 90
}

variable "force_destroy_buckets" {
  description = "Let `terraform destroy` empty the buckets (dev only)."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Days access logs (load balancer, S3) are kept."
  type        = number
  default     = 365
}

variable "mq_security_group_id" {
  type        = string
  description = "Security group of the ingestion queue's broker (Amazon MQ)."
}

variable "mq_instance_type" {
  type        = string
  default     = "mq.t3.micro"
  description = "Amazon MQ host type (mq.m5.large or larger for a cluster)."
}

variable "mq_cluster" {
  type        = bool
  default     = false
  description = "A three-node broker cluster over the zones (prod) instead of one instance."
}

variable "mq_engine_version" {
  type        = string
  default     = "3.13"
  description = "RabbitMQ version on Amazon MQ."
}
