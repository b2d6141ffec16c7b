# Least privilege between tiers: each rule names the one port and the one group it admits.
# Egress to 0.0.0.0/0 exists only on 443 (AWS APIs, image registries, the model hub via NAT).

locals {
  groups = {
    alb      = "the public load balancer"
    api      = "the API tasks"
    vllm     = "vLLM on the GPU hosts"
    qdrant   = "the Qdrant cluster nodes"
    redis    = "ElastiCache Redis"
    postgres = "RDS PostgreSQL"
    mq       = "Amazon MQ, the ingestion queue"
  }
  # from -> to on port: every path the application takes inside the VPC
  internal = {
    alb_to_api       = { from = "alb", to = "api", port = var.api_port }
    api_to_qdrant    = { from = "api", to = "qdrant", port = 6333 }
    api_to_redis     = { from = "api", to = "redis", port = 6379 }
    api_to_postgres  = { from = "api", to = "postgres", port = 5432 }
    api_to_vllm      = { from = "api", to = "vllm", port = var.vllm_port }
    api_to_mq        = { from = "api", to = "mq", port = 5671 } # the API and the ingestion workers
    qdrant_to_qdrant = { from = "qdrant", to = "qdrant", port = 6333 }
    qdrant_p2p       = { from = "qdrant", to = "qdrant", port = 6335 }
  }
  https_out = toset(["api", "vllm", "qdrant"])
}

resource "aws_security_group" "this" {
  #checkov:skip=CKV2_AWS_5:each group is attached in the compute or data module (ALB, ECS services, launch template, instances, ElastiCache, RDS); checkov does not follow module outputs
  for_each    = local.groups
  name        = "${var.name}-${each.key}"
  description = "VinaSmol RAG: ${each.value}"
  vpc_id      = aws_vpc.this.id
  tags        = { Name = "${var.name}-${each.key}" }
  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "internal" {
  for_each                     = local.internal
  security_group_id            = aws_security_group.this[each.value.to].id
  referenced_security_group_id = aws_security_group.this[each.value.from].id
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  description                  = "${each.value.from} to ${each.value.to} on ${each.value.port}"
}

resource "aws_vpc_security_group_egress_rule" "internal" {
  for_each                     = local.internal
  security_group_id            = aws_security_group.this[each.value.from].id
  referenced_security_group_id = aws_security_group.this[each.value.to].id
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
  description                  = "${each.value.from} to ${each.value.to} on ${each.value.port}"
}

resource "aws_vpc_security_group_ingress_rule" "https_in" {
  for_each          = toset(var.ingress_cidrs)
  security_group_id = aws_security_group.this["alb"].id
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  description       = "HTTPS from clients"
}

resource "aws_vpc_security_group_ingress_rule" "http_redirect" {
  #checkov:skip=CKV_AWS_260:port 80 answers only a redirect to 443 (the listener has no other action)
  for_each          = toset(var.ingress_cidrs)
  security_group_id = aws_security_group.this["alb"].id
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  description       = "HTTP from clients, redirected to HTTPS"
}

resource "aws_vpc_security_group_egress_rule" "https_out" {
  for_each          = local.https_out
  security_group_id = aws_security_group.this[each.key].id
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  description       = "HTTPS to AWS APIs and registries through NAT"
}
