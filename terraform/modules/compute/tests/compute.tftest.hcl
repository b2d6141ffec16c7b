# Offline: the AWS provider is mocked; these runs check what the plan would build.
mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  name              = "vinarag-test"
  vpc_id            = "vpc-test"
  public_subnet_ids = ["subnet-pub-a", "subnet-pub-b", "subnet-pub-c"]
  app_subnet_ids    = ["subnet-app-a", "subnet-app-b", "subnet-app-c"]
  data_subnet_ids   = ["subnet-data-a", "subnet-data-b", "subnet-data-c"]
  security_group_ids = {
    alb = "sg-alb", api = "sg-api", vllm = "sg-vllm", qdrant = "sg-qdrant"
  }
  kms_key_arn     = "arn:aws:kms:ap-southeast-1:111122223333:key/test"
  certificate_arn = "arn:aws:acm:ap-southeast-1:111122223333:certificate/test"
  logs_bucket     = "vinarag-test-logs"
  bucket_arns = {
    adapters           = "arn:aws:s3:::vinarag-test-adapters"
    "eval_reports"     = "arn:aws:s3:::vinarag-test-eval-reports"
    "qdrant_snapshots" = "arn:aws:s3:::vinarag-test-qdrant-snapshots"
    uploads            = "arn:aws:s3:::vinarag-test-uploads"
  }
  broker_url_secret_arn = "arn:aws:secretsmanager:ap-southeast-1:111122223333:secret:broker"
  uploads_bucket        = "vinarag-test-uploads"
  secret_arns = {
    "api-keys" = "arn:aws:secretsmanager:ap-southeast-1:111122223333:secret:api-keys"
    qdrant     = "arn:aws:secretsmanager:ap-southeast-1:111122223333:secret:qdrant"
    vllm       = "arn:aws:secretsmanager:ap-southeast-1:111122223333:secret:vllm"
  }
  redis_url_secret_arn = "arn:aws:secretsmanager:ap-southeast-1:111122223333:secret:redis"
  postgres = {
    address             = "db.internal"
    database            = "vinarag"
    username            = "vinarag"
    password_secret_arn = "arn:aws:secretsmanager:ap-southeast-1:111122223333:secret:rds"
  }
  api_image_tag        = "1.2.3"
  gpu_instance_type    = "g6.2xlarge"
  qdrant_instance_type = "r7i.xlarge"
}

run "api_is_private_autoscaled_and_behind_https" {
  command = apply

  assert {
    condition     = one(aws_ecs_service.api.network_configuration).assign_public_ip == false && toset(one(aws_ecs_service.api.network_configuration).subnets) == toset(var.app_subnet_ids)
    error_message = "API tasks run in the private app subnets without public addresses"
  }
  assert {
    condition     = aws_appautoscaling_target.api.min_capacity == 2 && aws_appautoscaling_target.api.max_capacity == 10
    error_message = "the API scales between api_min_count and api_max_count"
  }
  assert {
    condition     = aws_lb_listener.https.protocol == "HTTPS" && startswith(aws_lb_listener.https.ssl_policy, "ELBSecurityPolicy-TLS13") && aws_lb_listener.https.certificate_arn == var.certificate_arn
    error_message = "HTTPS with a TLS 1.3 policy and the given certificate"
  }
  assert {
    condition     = one(aws_lb_listener.http.default_action).type == "redirect"
    error_message = "port 80 only redirects"
  }
  assert {
    condition     = contains(one(one(aws_lb_listener_rule.hide_metrics.condition).path_pattern).values, "/metrics") && one(aws_lb_listener_rule.hide_metrics.action).type == "fixed-response"
    error_message = "/metrics is not served to the internet"
  }
  assert {
    condition     = aws_lb.api.drop_invalid_header_fields && aws_wafv2_web_acl_association.api.resource_arn == aws_lb.api.arn
    error_message = "the load balancer drops invalid headers and sits behind the WAF"
  }
}

run "no_credential_in_the_task_definition" {
  command = apply

  assert {
    condition = length(setintersection(
      toset([for e in jsondecode(aws_ecs_task_definition.api.container_definitions)[0].environment : e.name]),
      toset(["REDIS_URL", "PGPASSWORD", "QDRANT_API_KEY", "VINARAG_API_KEYS", "VINARAG_GENERATOR__API_KEY", "LANGFUSE_SECRET_KEY", "CELERY_BROKER_URL"]),
    )) == 0
    error_message = "credentials never appear as plain environment values"
  }
  assert {
    condition = toset([for s in jsondecode(aws_ecs_task_definition.api.container_definitions)[0].secrets : s.name]) == toset(
      ["REDIS_URL", "PGPASSWORD", "QDRANT_API_KEY", "VINARAG_API_KEYS", "VINARAG_GENERATOR__API_KEY", "CELERY_BROKER_URL"]
    )
    error_message = "credentials come from Secrets Manager (no Langfuse keys while tracing is off)"
  }
  assert {
    condition     = jsondecode(aws_ecs_task_definition.api.container_definitions)[0].readonlyRootFilesystem && jsondecode(aws_ecs_task_definition.api.container_definitions)[0].user == "10001:10001"
    error_message = "the API runs as the image's unprivileged user on a read-only root"
  }
  assert {
    condition     = jsondecode(aws_ecs_task_definition.api.container_definitions)[0].image == "111122223333.dkr.ecr.ap-southeast-1.amazonaws.com/mock:1.2.3"
    error_message = "the image is the environment's ECR repository at api_image_tag"
  }
}

run "gpu_hosts_for_vllm_from_variables" {
  command = apply

  assert {
    condition     = aws_launch_template.gpu.instance_type == var.gpu_instance_type
    error_message = "the GPU instance type comes from the variable"
  }
  assert {
    condition     = one(aws_launch_template.gpu.metadata_options).http_tokens == "required" && one(one(aws_launch_template.gpu.block_device_mappings).ebs).encrypted == "true"
    error_message = "GPU hosts use IMDSv2 and encrypted disks"
  }
  assert {
    condition     = toset(aws_autoscaling_group.gpu.vpc_zone_identifier) == toset(var.app_subnet_ids)
    error_message = "GPU hosts live in the private app subnets"
  }
  assert {
    condition     = one(jsondecode(aws_ecs_task_definition.vllm.container_definitions)[0].resourceRequirements).value == "1" && contains(jsondecode(aws_ecs_task_definition.vllm.container_definitions)[0].command, "--served-model-name=phogpt")
    error_message = "each vLLM task takes one GPU and serves the name the API asks for"
  }
  assert {
    condition     = aws_ecs_service.vllm.deployment_minimum_healthy_percent == 0 && aws_ecs_service.vllm.deployment_maximum_percent == 100
    error_message = "with one task and no spare GPU a deployment replaces it in place"
  }
}

run "qdrant_is_a_three_node_private_cluster" {
  command = apply

  assert {
    condition     = length(aws_instance.qdrant) == 3 && alltrue([for i in aws_instance.qdrant : i.instance_type == var.qdrant_instance_type])
    error_message = "three nodes of the variable's instance type"
  }
  assert {
    condition     = toset(aws_instance.qdrant[*].subnet_id) == toset(var.data_subnet_ids)
    error_message = "one node per data subnet (zone)"
  }
  assert {
    condition     = alltrue([for i in aws_instance.qdrant : i.associate_public_ip_address == false && one(i.metadata_options).http_tokens == "required" && one(i.root_block_device).encrypted])
    error_message = "nodes have no public address, IMDSv2 and encrypted roots"
  }
  assert {
    condition     = alltrue([for v in aws_ebs_volume.qdrant : v.encrypted && v.kms_key_id == var.kms_key_arn])
    error_message = "data volumes are encrypted with the environment's key"
  }
  assert {
    condition     = strcontains(aws_instance.qdrant[1].user_data, "--bootstrap http://qdrant-0.") && !strcontains(aws_instance.qdrant[0].user_data, "--bootstrap")
    error_message = "node 0 starts the cluster and the others join it"
  }
}

run "tracing_adds_the_langfuse_keys" {
  command = apply
  variables {
    langfuse_base_url = "https://cloud.langfuse.com"
    secret_arns = {
      "api-keys" = "arn:aws:secretsmanager:ap-southeast-1:111122223333:secret:api-keys"
      qdrant     = "arn:aws:secretsmanager:ap-southeast-1:111122223333:secret:qdrant"
      vllm       = "arn:aws:secretsmanager:ap-southeast-1:111122223333:secret:vllm"
      langfuse   = "arn:aws:secretsmanager:ap-southeast-1:111122223333:secret:langfuse"
    }
  }

  assert {
    condition     = contains([for s in jsondecode(aws_ecs_task_definition.api.container_definitions)[0].secrets : s.name], "LANGFUSE_SECRET_KEY")
    error_message = "with a Langfuse host and secret the API gets the keys"
  }
}

run "an_even_qdrant_cluster_is_refused" {
  command = plan
  variables {
    qdrant_node_count = 2
  }
  expect_failures = [var.qdrant_node_count]
}

run "ingestion_workers_share_the_apis_settings_and_scale_the_steps" {
  command = apply

  assert {
    condition     = jsondecode(aws_ecs_task_definition.worker["ingest-writer"].container_definitions)[0].command[3] == "jobs" && jsondecode(aws_ecs_task_definition.worker["ingest-steps"].container_definitions)[0].command[3] == "steps"
    error_message = "one service of writers (--role jobs), one of steps workers"
  }
  assert {
    condition     = jsondecode(aws_ecs_task_definition.worker["ingest-steps"].container_definitions)[0].secrets == jsondecode(aws_ecs_task_definition.api.container_definitions)[0].secrets && contains([for s in jsondecode(aws_ecs_task_definition.api.container_definitions)[0].secrets : s.name], "CELERY_BROKER_URL")
    error_message = "the workers take the API's secrets, the broker's URL among them"
  }
  assert {
    condition     = contains([for e in jsondecode(aws_ecs_task_definition.worker["ingest-writer"].container_definitions)[0].environment : e.value if e.name == "VINARAG_INGEST__UPLOADS_URL"], "s3://vinarag-test-uploads/jobs")
    error_message = "uploads wait in the uploads bucket"
  }
  assert {
    condition     = aws_appautoscaling_target.steps.min_capacity == 1 && aws_appautoscaling_target.steps.max_capacity == 8 && aws_ecs_service.worker["ingest-writer"].desired_count == 1
    error_message = "steps workers scale between their bounds; one writer by default"
  }
  assert {
    condition     = one(aws_ecs_service.worker["ingest-steps"].network_configuration).assign_public_ip == false
    error_message = "workers run in the private app subnets"
  }
}
