# The ingestion queue's workers on Fargate (README, Deployment: scaling ingestion): the writers
# (`vinarag worker --role jobs`) run uploads, syncs and the dense backfill against the Qdrant
# cluster; the steps workers read, segment and embed, autoscaled on CPU. Same image, settings
# and secrets as the API (the broker's URL among them), the API's role and security group.

locals {
  ingest_workers = {
    ingest-writer = { role = "jobs", concurrency = 2 }
    ingest-steps  = { role = "steps", concurrency = 1 }
  }
}

resource "aws_ecs_task_definition" "worker" {
  for_each                 = local.ingest_workers
  family                   = "${var.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.ingest_worker_cpu
  memory                   = var.ingest_worker_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.api.arn
  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }
  volume {
    name = "data"
  }
  container_definitions = jsonencode([{
    name                   = each.key
    image                  = "${aws_ecr_repository.api.repository_url}:${var.api_image_tag}"
    essential              = true
    user                   = "10001:10001"
    readonlyRootFilesystem = true
    command = [
      "vinarag", "worker", "--role", each.value.role, "--concurrency", tostring(each.value.concurrency),
      "--metrics-port", "9101", "--metrics-host", "0.0.0.0",
    ]
    environment = [for k in sort(keys(local.api_environment)) : { name = k, value = local.api_environment[k] }]
    secrets     = [for k in sort(keys(local.api_secrets)) : { name = k, valueFrom = local.api_secrets[k] }]
    mountPoints = [{ sourceVolume = "data", containerPath = "/data", readOnly = false }]
    healthCheck = {
      command     = ["CMD", "python", "-c", format(local.http_ok, "http://127.0.0.1:9101/metrics")]
      interval    = 30
      timeout     = 5
      retries     = 3
      startPeriod = 60
    }
    # SIGTERM lets the tasks under way finish; one killed past this is redelivered
    stopTimeout      = 120
    logConfiguration = local.log_configuration[each.key]
  }])
}

resource "aws_ecs_service" "worker" {
  for_each                           = local.ingest_workers
  name                               = each.key
  cluster                            = aws_ecs_cluster.this.id
  task_definition                    = aws_ecs_task_definition.worker[each.key].arn
  desired_count                      = each.key == "ingest-writer" ? var.ingest_writers : var.ingest_steps_min_count
  launch_type                        = "FARGATE"
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
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
  lifecycle {
    ignore_changes = [desired_count] # autoscaling owns the steps workers' count
  }
}

resource "aws_appautoscaling_target" "steps" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.worker["ingest-steps"].name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.ingest_steps_min_count
  max_capacity       = var.ingest_steps_max_count
}

resource "aws_appautoscaling_policy" "steps" {
  name               = "${var.name}-ingest-steps-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.steps.service_namespace
  resource_id        = aws_appautoscaling_target.steps.resource_id
  scalable_dimension = aws_appautoscaling_target.steps.scalable_dimension
  target_tracking_scaling_policy_configuration {
    target_value       = 70
    scale_in_cooldown  = 300
    scale_out_cooldown = 60
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}
