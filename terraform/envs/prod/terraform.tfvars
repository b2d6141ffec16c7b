# Production: a NAT gateway per zone, Redis with a replica and failover, Multi-AZ RDS, two GPU
# hosts, deletion protection on the database and the load balancer.
environment             = "prod"
region                  = "ap-southeast-1"
availability_zones      = ["ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"]
vpc_cidr                = "10.50.0.0/16"
certificate_arn         = "arn:aws:acm:ap-southeast-1:111122223333:certificate/replace-with-your-prod-certificate"
api_image_tag           = "0.1.0"
api_cpu                 = 2048
api_memory              = 8192
api_min_count           = 2
api_max_count           = 12
gpu_instance_type       = "g5.2xlarge"
gpu_max_count           = 4
vllm_count              = 2
qdrant_instance_type    = "r7i.large"
qdrant_volume_gb        = 200
redis_node_type         = "cache.r7g.large"
redis_replicas          = 1
postgres_instance_class = "db.r7g.large"
postgres_multi_az       = true
langfuse_base_url       = "https://cloud.langfuse.com"
log_retention_days      = 365
