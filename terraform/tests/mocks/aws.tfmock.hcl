# Values the mocked AWS provider returns where the real one would: ARNs in ARN shape (the
# provider validates them when they feed another resource), one account, one region.

mock_data "aws_caller_identity" {
  defaults = { account_id = "111122223333", arn = "arn:aws:iam::111122223333:root" }
}

mock_data "aws_region" {
  defaults = { name = "ap-southeast-1" }
}

mock_data "aws_partition" {
  defaults = { partition = "aws" }
}

mock_data "aws_elb_service_account" {
  defaults = { arn = "arn:aws:iam::114774131450:root" }
}

mock_data "aws_ssm_parameter" {
  defaults = { value = "ami-0123456789abcdef0" }
}

mock_resource "aws_kms_key" {
  defaults = { arn = "arn:aws:kms:ap-southeast-1:111122223333:key/00000000-0000-0000-0000-000000000000" }
}

mock_resource "aws_iam_role" {
  defaults = { arn = "arn:aws:iam::111122223333:role/mock" }
}

mock_resource "aws_iam_instance_profile" {
  defaults = { arn = "arn:aws:iam::111122223333:instance-profile/mock" }
}

mock_resource "aws_cloudwatch_log_group" {
  defaults = { arn = "arn:aws:logs:ap-southeast-1:111122223333:log-group:mock" }
}

mock_resource "aws_s3_bucket" {
  defaults = { arn = "arn:aws:s3:::mock-bucket" }
}

mock_resource "aws_secretsmanager_secret" {
  defaults = { arn = "arn:aws:secretsmanager:ap-southeast-1:111122223333:secret:mock" }
}

mock_resource "aws_lb" {
  defaults = {
    arn        = "arn:aws:elasticloadbalancing:ap-southeast-1:111122223333:loadbalancer/app/mock/0123456789abcdef"
    arn_suffix = "app/mock/0123456789abcdef"
    dns_name   = "mock-123.ap-southeast-1.elb.amazonaws.com"
  }
}

mock_resource "aws_lb_target_group" {
  defaults = {
    arn        = "arn:aws:elasticloadbalancing:ap-southeast-1:111122223333:targetgroup/mock/0123456789abcdef"
    arn_suffix = "targetgroup/mock/0123456789abcdef"
  }
}

mock_resource "aws_wafv2_web_acl" {
  defaults = { arn = "arn:aws:wafv2:ap-southeast-1:111122223333:regional/webacl/mock/00000000-0000-0000-0000-000000000000" }
}

mock_resource "aws_ecs_task_definition" {
  defaults = { arn = "arn:aws:ecs:ap-southeast-1:111122223333:task-definition/mock:1" }
}

mock_resource "aws_ecs_cluster" {
  defaults = { arn = "arn:aws:ecs:ap-southeast-1:111122223333:cluster/mock" }
}

mock_resource "aws_autoscaling_group" {
  defaults = { arn = "arn:aws:autoscaling:ap-southeast-1:111122223333:autoScalingGroup:00000000-0000-0000-0000-000000000000:autoScalingGroupName/mock" }
}

mock_resource "aws_service_discovery_service" {
  defaults = { arn = "arn:aws:servicediscovery:ap-southeast-1:111122223333:service/srv-mock" }
}

mock_resource "aws_ecr_repository" {
  defaults = { repository_url = "111122223333.dkr.ecr.ap-southeast-1.amazonaws.com/mock" }
}

mock_resource "aws_instance" {
  defaults = { private_ip = "10.40.128.10", availability_zone = "ap-southeast-1a" }
}

mock_resource "aws_db_instance" {
  defaults = {
    address  = "mock.rds.amazonaws.com"
    endpoint = "mock.rds.amazonaws.com:5432"
    master_user_secret = [{
      secret_arn    = "arn:aws:secretsmanager:ap-southeast-1:111122223333:secret:rds-mock"
      kms_key_id    = "arn:aws:kms:ap-southeast-1:111122223333:key/00000000-0000-0000-0000-000000000000"
      secret_status = "active"
    }]
  }
}

mock_resource "aws_elasticache_replication_group" {
  defaults = { primary_endpoint_address = "mock.cache.amazonaws.com" }
}

mock_data "aws_secretsmanager_random_password" {
  defaults = { random_password = "MockPassword0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLmn" }
}

mock_resource "aws_launch_template" {
  defaults = { id = "lt-0123456789abcdef0", latest_version = 1 }
}

mock_resource "aws_lb_listener" {
  defaults = { arn = "arn:aws:elasticloadbalancing:ap-southeast-1:111122223333:listener/app/mock/0123456789abcdef/0123456789abcdef" }
}

mock_resource "aws_mq_broker" {
  defaults = {
    arn       = "arn:aws:mq:ap-southeast-1:111122223333:broker:vinarag:b-0000"
    instances = [{ console_url = "https://b-0000.mq.ap-southeast-1.amazonaws.com", ip_address = "", endpoints = ["amqps://b-0000.mq.ap-southeast-1.amazonaws.com:5671"] }]
  }
}
