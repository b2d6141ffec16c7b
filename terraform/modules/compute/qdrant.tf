# Qdrant as a 3-node (odd) Raft cluster: one EC2 instance per data subnet, each with its own
# encrypted gp3 data volume that outlives the instance. Node 0 starts the cluster, the others join
# it; the API reaches any node through the `qdrant` name of a private zone. Snapshots are synced
# hourly to the snapshots bucket.

data "aws_ssm_parameter" "al2023_ami" {
  name = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
}

resource "aws_route53_zone" "internal" {
  #checkov:skip=CKV2_AWS_38:DNSSEC signing applies to public zones; this zone is private to the VPC
  #checkov:skip=CKV2_AWS_39:query logging for a private zone of three A records adds cost, not insight
  name = "${var.name}.internal"
  vpc {
    vpc_id = var.vpc_id
  }
}

resource "aws_iam_role" "qdrant" {
  name               = "${var.name}-qdrant"
  assume_role_policy = local.ec2_trust
}

resource "aws_iam_role_policy_attachment" "qdrant_ssm" {
  role       = aws_iam_role.qdrant.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_role_policy" "qdrant" {
  name = "key-and-snapshots"
  role = aws_iam_role.qdrant.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = "secretsmanager:GetSecretValue"
        Resource = var.secret_arns["qdrant"]
      },
      {
        Effect   = "Allow"
        Action   = ["s3:ListBucket", "s3:GetObject", "s3:PutObject"]
        Resource = [var.bucket_arns["qdrant_snapshots"], "${var.bucket_arns["qdrant_snapshots"]}/*"]
      },
      {
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = var.kms_key_arn
      },
    ]
  })
}

resource "aws_iam_instance_profile" "qdrant" {
  name = "${var.name}-qdrant"
  role = aws_iam_role.qdrant.name
}

locals {
  qdrant_hosts = [for i in range(var.qdrant_node_count) : "qdrant-${i}.${aws_route53_zone.internal.name}"]
}

resource "aws_instance" "qdrant" {
  count                       = var.qdrant_node_count
  ami                         = data.aws_ssm_parameter.al2023_ami.value
  instance_type               = var.qdrant_instance_type
  subnet_id                   = var.data_subnet_ids[count.index % length(var.data_subnet_ids)]
  vpc_security_group_ids      = [var.security_group_ids["qdrant"]]
  iam_instance_profile        = aws_iam_instance_profile.qdrant.name
  associate_public_ip_address = false
  ebs_optimized               = true
  monitoring                  = true
  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required"
  }
  root_block_device {
    volume_size = 30
    volume_type = "gp3"
    encrypted   = true
    kms_key_id  = var.kms_key_arn
  }
  user_data = templatefile("${path.module}/qdrant-user-data.sh.tftpl", {
    index       = count.index
    self_host   = local.qdrant_hosts[count.index]
    first_host  = local.qdrant_hosts[0]
    image       = var.qdrant_image
    secret_arn  = var.secret_arns["qdrant"]
    bucket_arn  = var.bucket_arns["qdrant_snapshots"]
    kms_key_arn = var.kms_key_arn
    region      = local.region
  })
  user_data_replace_on_change = false # the data volume outlives a node; a new script needs a new node
  tags                        = { Name = "${var.name}-qdrant-${count.index}" }
  lifecycle {
    ignore_changes = [ami] # a new AMI comes with a planned node replacement, not every apply
  }
}

resource "aws_ebs_volume" "qdrant" {
  count             = var.qdrant_node_count
  availability_zone = aws_instance.qdrant[count.index].availability_zone
  size              = var.qdrant_volume_gb
  type              = "gp3"
  encrypted         = true
  kms_key_id        = var.kms_key_arn
  tags              = { Name = "${var.name}-qdrant-${count.index}-data" }
}

resource "aws_volume_attachment" "qdrant" {
  count       = var.qdrant_node_count
  device_name = "/dev/sdf"
  volume_id   = aws_ebs_volume.qdrant[count.index].id
  instance_id = aws_instance.qdrant[count.index].id
}

resource "aws_route53_record" "qdrant_node" {
  count   = var.qdrant_node_count
  zone_id = aws_route53_zone.internal.zone_id
  name    = local.qdrant_hosts[count.index]
  type    = "A"
  ttl     = 60
  records = [aws_instance.qdrant[count.index].private_ip]
}

resource "aws_route53_record" "qdrant" {
  zone_id = aws_route53_zone.internal.zone_id
  name    = "qdrant.${aws_route53_zone.internal.name}"
  type    = "A"
  ttl     = 60
  records = aws_instance.qdrant[*].private_ip
}
