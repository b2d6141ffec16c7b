# One environment of VinaSmol RAG on AWS. Every value that differs between environments is a
# variable set in envs/<env>/terraform.tfvars; the modules hold the decisions that do not.

provider "aws" {
  region = var.region
  default_tags {
    tags = { Project = "vinarag", Environment = var.environment, ManagedBy = "terraform" }
  }
}

locals {
  name = "vinarag-${var.environment}"
  prod = var.environment == "prod"
}

module "secrets" {
  source               = "./modules/secrets"
  name                 = local.name
  recovery_window_days = local.prod ? 30 : 0
  langfuse_enabled     = var.langfuse_base_url != null
}

module "network" {
  source             = "./modules/network"
  name               = local.name
  cidr_block         = var.vpc_cidr
  availability_zones = var.availability_zones
  single_nat_gateway = !local.prod
  ingress_cidrs      = var.ingress_cidrs
  kms_key_arn        = module.secrets.kms_key_arn
  log_retention_days = var.log_retention_days
}

module "data" {
  source                     = "./modules/data"
  name                       = local.name
  kms_key_arn                = module.secrets.kms_key_arn
  data_subnet_ids            = module.network.data_subnet_ids
  redis_security_group_id    = module.network.security_group_ids["redis"]
  postgres_security_group_id = module.network.security_group_ids["postgres"]
  mq_security_group_id       = module.network.security_group_ids["mq"]
  mq_instance_type           = var.mq_instance_type
  mq_cluster                 = local.prod
  redis_node_type            = var.redis_node_type
  redis_replicas             = var.redis_replicas
  postgres_instance_class    = var.postgres_instance_class
  postgres_multi_az          = var.postgres_multi_az
  deletion_protection        = local.prod
  force_destroy_buckets      = !local.prod
  log_retention_days         = var.log_retention_days
}

module "compute" {
  source                  = "./modules/compute"
  name                    = local.name
  vpc_id                  = module.network.vpc_id
  public_subnet_ids       = module.network.public_subnet_ids
  app_subnet_ids          = module.network.app_subnet_ids
  data_subnet_ids         = module.network.data_subnet_ids
  security_group_ids      = module.network.security_group_ids
  kms_key_arn             = module.secrets.kms_key_arn
  certificate_arn         = var.certificate_arn
  log_retention_days      = var.log_retention_days
  alb_deletion_protection = local.prod
  logs_bucket             = module.data.logs_bucket
  bucket_arns             = module.data.bucket_arns
  secret_arns             = module.secrets.secret_arns
  redis_url_secret_arn    = module.data.redis_url_secret_arn
  broker_url_secret_arn   = module.data.broker_url_secret_arn
  uploads_bucket          = module.data.bucket_names["uploads"]
  ingest_writers          = var.ingest_writers
  ingest_steps_min_count  = var.ingest_steps_min_count
  ingest_steps_max_count  = var.ingest_steps_max_count
  postgres = {
    address             = module.data.postgres_address
    database            = module.data.postgres_database
    username            = module.data.postgres_username
    password_secret_arn = module.data.postgres_password_secret_arn
  }
  langfuse_base_url    = var.langfuse_base_url
  api_image_tag        = var.api_image_tag
  api_cpu              = var.api_cpu
  api_memory           = var.api_memory
  api_min_count        = var.api_min_count
  api_max_count        = var.api_max_count
  gpu_instance_type    = var.gpu_instance_type
  gpu_min_count        = var.vllm_count
  gpu_max_count        = var.gpu_max_count
  vllm_count           = var.vllm_count
  vllm_model           = var.vllm_model
  qdrant_instance_type = var.qdrant_instance_type
  qdrant_volume_gb     = var.qdrant_volume_gb
}
