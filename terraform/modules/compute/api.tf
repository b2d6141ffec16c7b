# The API on Fargate in private subnets, autoscaled on CPU and on requests per task. Settings
# come as environment variables (the same VINARAG_* a user sets locally); credentials come from
# Secrets Manager at task start and never appear in the task definition.

locals {
  qdrant_url = "http://qdrant.${aws_route53_zone.internal.name}:6333"
  vllm_url   = "http://vllm.${aws_service_discovery_private_dns_namespace.this.name}:8000/v1"
  langfuse   = var.langfuse_base_url != null && contains(keys(var.secret_arns), "langfuse")

  api_environment = merge(
    {
      QDRANT_URL                           = local.qdrant_url
      POSTGRES_URL                         = "postgresql://${var.postgres.username}@${var.postgres.address}:5432/${var.postgres.database}?sslmode=require"
      VINARAG_SERVER__WORKERS              = tostring(var.api_workers)
      VINARAG_SERVER__REQUIRE_KEY_FOR_READ = tostring(var.require_key_for_read)
      VINARAG_GENERATOR__KIND              = "openai"
      VINARAG_GENERATOR__BASE_URL          = local.vllm_url
      VINARAG_GENERATOR__MODEL             = "phogpt"
      VINARAG_LOG_LEVEL                    = "INFO"
      # uploads wait in S3 for the ingestion workers (workers.tf); originals are kept beside
      # them (jobs/originals/) for the page view
      VINARAG_INGEST__UPLOADS_URL = "s3://${var.uploads_bucket}/jobs"
      # Fargate bind mounts copy the image's VOLUME paths with their owner (/data is the app
      # user's); a bare /tmp mount may come up root-owned
      TMPDIR = "/data/tmp"
    },
    local.langfuse ? { LANGFUSE_BASE_URL = var.langfuse_base_url } : {},
  )
  api_secrets = merge(
    {
      REDIS_URL                  = "${var.redis_url_secret_arn}:REDIS_URL::"
      PGPASSWORD                 = "${var.postgres.password_secret_arn}:password::" # libpq reads it
      QDRANT_API_KEY             = "${var.secret_arns["qdrant"]}:QDRANT_API_KEY::"
      VINARAG_API_KEYS           = "${var.secret_arns["api-keys"]}:VINARAG_API_KEYS::"
      VINARAG_GENERATOR__API_KEY = "${var.secret_arns["vllm"]}:VLLM_API_KEY::"
      CELERY_BROKER_URL          = "${var.broker_url_secret_arn}:CELERY_BROKER_URL::"
    },
    local.langfuse ? {
      LANGFUSE_PUBLIC_KEY = "${var.secret_arns["langfuse"]}:LANGFUSE_PUBLIC_KEY::"
      LANGFUSE_SECRET_KEY = "${var.secret_arns["langfuse"]}:LANGFUSE_SECRET_KEY::"
    } : {},
  )
}

resource "aws_ecs_task_definition" "api" {
  family                   = "${var.name}-api"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.api_cpu
  memory                   = var.api_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.api.arn
  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }
  # the root filesystem is read-only: state and scratch space (TMPDIR) are on a task-local volume
  volume {
    name = "data"
  }
  container_definitions = jsonencode([{
    name                   = "api"
    image                  = "${aws_ecr_repository.api.repository_url}:${var.api_image_tag}"
    essential              = true
    user                   = "10001:10001"
    readonlyRootFilesystem = true
    portMappings           = [{ containerPort = 8000, protocol = "tcp" }]
    environment            = [for k in sort(keys(local.api_environment)) : { name = k, value = local.api_environment[k] }]
    secrets                = [for k in sort(keys(local.api_secrets)) : { name = k, valueFrom = local.api_secrets[k] }]
    mountPoints            = [{ sourceVolume = "data", containerPath = "/data", readOnly = false }]
    healthCheck = {
      command     = ["CMD", "python", "-c", format(local.http_ok, "http://127.0.0.1:8000/healthz")]
      interval    = 15
      timeout     = 5
      retries     = 3
      startPeriod = 60
    }
    logConfiguration = local.log_configuration["api"]
  }])
}

resource "aws_ecs_service" "api" {
  name                               = "api"
  cluster                            = aws_ecs_cluster.this.id
  task_definition                    = aws_ecs_task_definition.api.arn
  desired_count                      = var.api_min_count
  launch_type                        = "FARGATE"
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  health_check_grace_period_seconds  = 60
  propagate_tags                     = "SERVICE"
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
  network_configuration {
    subnets          = var.app_subnet_ids
    security_groups  = [var.security_group_ids["api"]]
    assign_public_ip = false
  }
  load_balancer {
    target_group_arn = aws_lb_target_group.api.arn
    container_name   = "api"
    container_port   = 8000
  }
  lifecycle {
    ignore_changes = [desired_count] # autoscaling owns it after creation
  }
  depends_on = [aws_lb_listener.https]
}

resource "aws_appautoscaling_target" "api" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.api.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.api_min_count
  max_capacity       = var.api_max_count
}

# Target tracking on CPU and on requests per task: whichever asks for more tasks wins.
locals {
  api_scaling = {
    cpu = {
      metric = "ECSServiceAverageCPUUtilization"
      target = var.api_cpu_target
      label  = null
    }
    requests = {
      metric = "ALBRequestCountPerTarget"
      target = var.api_requests_per_target
      label  = "${aws_lb.api.arn_suffix}/${aws_lb_target_group.api.arn_suffix}"
    }
  }
}

resource "aws_appautoscaling_policy" "api" {
  for_each           = local.api_scaling
  name               = "${var.name}-api-${each.key}"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.api.service_namespace
  resource_id        = aws_appautoscaling_target.api.resource_id
  scalable_dimension = aws_appautoscaling_target.api.scalable_dimension
  target_tracking_scaling_policy_configuration {
    target_value       = each.value.target
    scale_in_cooldown  = 300
    scale_out_cooldown = 60
    predefined_metric_specification {
      predefined_metric_type = each.value.metric
      resource_label         = each.value.label
    }
  }
}
