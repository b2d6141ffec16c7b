# vLLM serving PhoGPT on GPU instances: an Auto Scaling group of ECS GPU-optimised hosts in the
# private app subnets, used through an ECS capacity provider; the API finds it by Cloud Map DNS.
# Weights are fetched from the hub at start (through NAT) into a host cache, never baked in.

data "aws_ssm_parameter" "ecs_gpu_ami" {
  name = "/aws/service/ecs/optimized-ami/amazon-linux-2/gpu/recommended/image_id"
}

resource "aws_iam_role" "gpu_host" {
  name               = "${var.name}-gpu-host"
  assume_role_policy = local.ec2_trust
}

resource "aws_iam_role_policy_attachment" "gpu_host" {
  for_each = toset([
    "service-role/AmazonEC2ContainerServiceforEC2Role",
    "AmazonSSMManagedInstanceCore", # shell through Session Manager, no SSH
  ])
  role       = aws_iam_role.gpu_host.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/${each.value}"
}

resource "aws_iam_instance_profile" "gpu_host" {
  name = "${var.name}-gpu-host"
  role = aws_iam_role.gpu_host.name
}

resource "aws_launch_template" "gpu" {
  name_prefix            = "${var.name}-gpu-"
  image_id               = data.aws_ssm_parameter.ecs_gpu_ami.value
  instance_type          = var.gpu_instance_type
  ebs_optimized          = true
  vpc_security_group_ids = [var.security_group_ids["vllm"]]
  iam_instance_profile {
    arn = aws_iam_instance_profile.gpu_host.arn
  }
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
  monitoring {
    enabled = true
  }
  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size           = 200 # image layers + the model cache
      volume_type           = "gp3"
      encrypted             = true
      kms_key_id            = var.kms_key_arn
      delete_on_termination = true
    }
  }
  user_data = base64encode(<<-EOT
    #!/bin/bash
    cat >> /etc/ecs/ecs.config <<EOF
    ECS_CLUSTER=${aws_ecs_cluster.this.name}
    ECS_ENABLE_GPU_SUPPORT=true
    ECS_AWSVPC_BLOCK_IMDS=true
    EOF
    mkdir -p /opt/vinarag/models
  EOT
  )
  tag_specifications {
    resource_type = "instance"
    tags          = { Name = "${var.name}-gpu" }
  }
}

resource "aws_autoscaling_group" "gpu" {
  name                  = "${var.name}-gpu"
  vpc_zone_identifier   = var.app_subnet_ids
  min_size              = var.gpu_min_count
  max_size              = var.gpu_max_count
  protect_from_scale_in = true # ECS managed termination protection decides
  launch_template {
    id      = aws_launch_template.gpu.id
    version = aws_launch_template.gpu.latest_version
  }
  tag {
    key                 = "AmazonECSManaged"
    value               = "true"
    propagate_at_launch = true
  }
  lifecycle {
    ignore_changes = [desired_capacity]
  }
}

resource "aws_ecs_capacity_provider" "gpu" {
  name = "${var.name}-gpu"
  auto_scaling_group_provider {
    auto_scaling_group_arn         = aws_autoscaling_group.gpu.arn
    managed_termination_protection = "ENABLED"
    managed_scaling {
      status          = "ENABLED"
      target_capacity = 100
    }
  }
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE", aws_ecs_capacity_provider.gpu.name]
}

resource "aws_service_discovery_private_dns_namespace" "this" {
  name = "${var.name}.local"
  vpc  = var.vpc_id
}

resource "aws_service_discovery_service" "vllm" {
  name = "vllm"
  dns_config {
    namespace_id   = aws_service_discovery_private_dns_namespace.this.id
    routing_policy = "MULTIVALUE"
    dns_records {
      type = "A"
      ttl  = 10
    }
  }
  health_check_custom_config {
    failure_threshold = 1
  }
}

resource "aws_iam_role" "vllm" {
  name               = "${var.name}-vllm"
  assume_role_policy = local.ecs_trust
}

resource "aws_iam_role_policy" "vllm" {
  name = "read-adapters"
  role = aws_iam_role.vllm.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["s3:ListBucket", "s3:GetObject"]
        Resource = [var.bucket_arns["adapters"], "${var.bucket_arns["adapters"]}/*"]
      },
      {
        Effect   = "Allow"
        Action   = "kms:Decrypt"
        Resource = var.kms_key_arn
      },
    ]
  })
}

resource "aws_ecs_task_definition" "vllm" {
  family                   = "${var.name}-vllm"
  requires_compatibilities = ["EC2"]
  network_mode             = "awsvpc"
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.vllm.arn
  volume {
    name      = "models"
    host_path = "/opt/vinarag/models"
  }
  container_definitions = jsonencode([{
    #checkov:skip=CKV_AWS_336:vLLM and Triton write compiled-kernel caches under HOME at start
    name      = "vllm"
    image     = var.vllm_image
    essential = true
    cpu       = var.vllm_cpu
    memory    = var.vllm_memory
    command = [
      "--model=${var.vllm_model}", "--served-model-name=phogpt", "--trust-remote-code",
      "--dtype=bfloat16", "--max-model-len=${var.vllm_max_model_len}", "--port=8000",
    ]
    environment          = [{ name = "HF_HOME", value = "/models" }]
    secrets              = [{ name = "VLLM_API_KEY", valueFrom = "${var.secret_arns["vllm"]}:VLLM_API_KEY::" }]
    resourceRequirements = [{ type = "GPU", value = "1" }]
    portMappings         = [{ containerPort = 8000, protocol = "tcp" }]
    mountPoints          = [{ sourceVolume = "models", containerPath = "/models", readOnly = false }]
    linuxParameters      = { sharedMemorySize = 8192 }
    healthCheck = {
      command     = ["CMD", "python3", "-c", format(local.http_ok, "http://127.0.0.1:8000/health")]
      interval    = 30
      timeout     = 5
      retries     = 3
      startPeriod = 600 # the first start downloads ~7.4 GB of weights
    }
    logConfiguration = local.log_configuration["vllm"]
  }])
}

resource "aws_ecs_service" "vllm" {
  name            = "vllm"
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.vllm.arn
  desired_count   = var.vllm_count
  # one GPU per task and no spare GPU: with one task a deployment stops it first
  deployment_minimum_healthy_percent = var.vllm_count > 1 ? 50 : 0
  deployment_maximum_percent         = 100
  capacity_provider_strategy {
    capacity_provider = aws_ecs_capacity_provider.gpu.name
    weight            = 1
  }
  network_configuration {
    subnets         = var.app_subnet_ids
    security_groups = [var.security_group_ids["vllm"]]
  }
  service_registries {
    registry_arn = aws_service_discovery_service.vllm.arn
  }
  depends_on = [aws_ecs_cluster_capacity_providers.this]
}
