# Amazon MQ for RabbitMQ: the ingestion queue's broker (`ingest.queue: celery`). Private, in the
# data subnets, TLS only (amqps on 5671), KMS at rest. The API and the workers get the whole
# CELERY_BROKER_URL (password included) from Secrets Manager, never from a task definition.

data "aws_secretsmanager_random_password" "mq" {
  password_length     = 32
  exclude_punctuation = true
}

resource "aws_mq_broker" "this" {
  #checkov:skip=CKV_AWS_48:RabbitMQ brokers have no audit log on Amazon MQ; general logs are on
  #checkov:skip=CKV_AWS_208:the engine version is pinned (mq_engine_version) and minor upgrades are automatic
  broker_name                = "${var.name}-ingest"
  engine_type                = "RabbitMQ"
  engine_version             = var.mq_engine_version
  host_instance_type         = var.mq_instance_type
  deployment_mode            = var.mq_cluster ? "CLUSTER_MULTI_AZ" : "SINGLE_INSTANCE"
  subnet_ids                 = var.mq_cluster ? var.data_subnet_ids : [var.data_subnet_ids[0]]
  security_groups            = [var.mq_security_group_id]
  publicly_accessible        = false
  auto_minor_version_upgrade = true
  apply_immediately          = false
  encryption_options {
    kms_key_id        = var.kms_key_arn
    use_aws_owned_key = false
  }
  logs {
    general = true
  }
  user {
    username = "vinarag"
    password = data.aws_secretsmanager_random_password.mq.random_password
  }
  lifecycle {
    # the password is generated once; rotate it on the broker and in the secret together
    ignore_changes = [user]
  }
}

resource "aws_secretsmanager_secret" "broker" {
  #checkov:skip=CKV2_AWS_57:the broker password rotates with the broker (README), not a rotation Lambda
  name                    = "${var.name}/broker"
  description             = "CELERY_BROKER_URL (amqps://, with the password) for the API and the ingestion workers"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "broker" {
  secret_id = aws_secretsmanager_secret.broker.id
  secret_string = jsonencode({
    CELERY_BROKER_URL = "${replace(aws_mq_broker.this.instances[0].endpoints[0], "amqps://", "amqps://vinarag:${data.aws_secretsmanager_random_password.mq.random_password}@")}//"
  })
  lifecycle {
    ignore_changes = [secret_string]
  }
}
