# Development: one NAT gateway, one Redis node, single-AZ RDS, one small GPU host; everything
# destroyable (no deletion protection, buckets emptied on destroy).
environment             = "dev"
region                  = "ap-southeast-1"
availability_zones      = ["ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"]
vpc_cidr                = "10.40.0.0/16"
certificate_arn         = "arn:aws:acm:ap-southeast-1:111122223333:certificate/replace-with-your-dev-certificate"
api_image_tag           = "0.1.0"
api_cpu                 = 1024
api_memory              = 4096
api_min_count           = 1
api_max_count           = 3
gpu_instance_type       = "g5.xlarge"
gpu_max_count           = 1
vllm_count              = 1
qdrant_instance_type    = "t3.large"
qdrant_volume_gb        = 50
redis_node_type         = "cache.t4g.small"
redis_replicas          = 0
postgres_instance_class = "db.t4g.medium"
postgres_multi_az       = false
log_retention_days      = 365
