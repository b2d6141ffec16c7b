# Offline: the AWS provider is mocked; these runs check what the plan would build.
mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  name               = "vinarag-test"
  availability_zones = ["ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"]
  kms_key_arn        = "arn:aws:kms:ap-southeast-1:111122223333:key/test"
}

run "app_and_data_subnets_are_private" {
  command = apply

  assert {
    condition     = length(aws_subnet.app) == 3 && length(aws_subnet.data) == 3
    error_message = "one app and one data subnet per zone"
  }
  assert {
    condition     = alltrue([for s in concat(aws_subnet.app, aws_subnet.data, aws_subnet.public) : s.map_public_ip_on_launch == false])
    error_message = "no subnet hands out public addresses"
  }
  assert {
    condition     = alltrue([for t in aws_route_table.private : alltrue([for r in t.route : (r.gateway_id == null || r.gateway_id == "") && r.nat_gateway_id == aws_nat_gateway.this[index(aws_route_table.private, t)].id])])
    error_message = "private subnets route out only through NAT, never the internet gateway"
  }
  assert {
    condition     = length(aws_nat_gateway.this) == 3
    error_message = "one NAT gateway per zone by default"
  }
  assert {
    condition     = length(aws_default_security_group.this.ingress) == 0 && length(aws_default_security_group.this.egress) == 0
    error_message = "the default security group must deny everything"
  }
  assert {
    condition     = aws_flow_log.this.traffic_type == "ALL"
    error_message = "VPC flow logs record all traffic"
  }
}

run "least_privilege_security_groups" {
  command = apply

  assert {
    condition     = alltrue([for r in aws_vpc_security_group_ingress_rule.https_in : r.security_group_id == aws_security_group.this["alb"].id && r.from_port == 443])
    error_message = "only the load balancer admits client addresses, on 443"
  }
  assert {
    condition     = alltrue([for r in aws_vpc_security_group_egress_rule.https_out : r.cidr_ipv4 == "0.0.0.0/0" && r.from_port == 443 && r.to_port == 443])
    error_message = "egress to the internet is HTTPS only"
  }
  assert {
    condition     = alltrue([for r in aws_vpc_security_group_ingress_rule.internal : r.referenced_security_group_id != null && r.cidr_ipv4 == null])
    error_message = "tier-to-tier rules name a security group, never an address range"
  }
  assert {
    condition     = toset([for r in aws_vpc_security_group_ingress_rule.internal : r.security_group_id if r.from_port == 6379]) == toset([aws_security_group.this["redis"].id]) && aws_vpc_security_group_ingress_rule.internal["api_to_redis"].referenced_security_group_id == aws_security_group.this["api"].id
    error_message = "Redis is reachable from the API only"
  }
  assert {
    condition     = length([for k, r in aws_vpc_security_group_egress_rule.https_out : k if contains(["redis", "postgres", "alb"], k)]) == 0
    error_message = "the data stores and the load balancer have no way out"
  }
}

run "dev_shares_one_nat_gateway" {
  command = apply
  variables {
    single_nat_gateway = true
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 1 && alltrue([for t in aws_route_table.private : one(t.route).nat_gateway_id == aws_nat_gateway.this[0].id])
    error_message = "single_nat_gateway routes every zone through one NAT"
  }
}

run "one_zone_is_refused" {
  command = plan
  variables {
    availability_zones = ["ap-southeast-1a"]
  }
  expect_failures = [var.availability_zones]
}
