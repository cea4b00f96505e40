"""AWS managed policies judged by name, since their documents are not at hand offline.

Only what the name makes certain is claimed: `AdministratorAccess` is `*` on `*`,
`<Service>FullAccess` is `<service>:*`. Anything else is left unknown.
"""
from __future__ import annotations

import re

from ..loaders import symbols as S

# name -> (actions, not_actions)
_KNOWN = {
    "AdministratorAccess": (("*",), ()),
    "PowerUserAccess": ((), ("iam:*", "organizations:*", "account:*")),
    "IAMFullAccess": (("iam:*",), ()),
}
# `Amazon<X>FullAccess` / `AWS<X>FullAccess` -> service prefix
_FULL_ACCESS = {
    "S3": "s3", "DynamoDB": "dynamodb", "SQS": "sqs", "SNS": "sns", "Lambda": "lambda",
    "Kinesis": "kinesis", "EC2": "ec2", "RDS": "rds", "SES": "ses", "SSM": "ssm",
    "CloudWatch": "cloudwatch", "CloudFormation": "cloudformation", "StepFunctions": "states",
    "SecretsManagerReadWrite": "secretsmanager", "EventBridge": "events", "Cognito": "cognito-idp",
    "APIGateway": "apigateway", "ECS": "ecs", "KMS": "kms", "Athena": "athena",
}
_NAME = re.compile(r"policy/(?:service-role/|job-function/)?([A-Za-z0-9+=,.@_-]+)$")


def policy_name(value) -> str | None:
    """`arn:aws:iam::aws:policy/AdministratorAccess` -> AdministratorAccess (AWS-owned only)."""
    text = S.text_of(value)
    if ":iam::aws:policy/" not in text:
        return None
    m = _NAME.search(text)
    return m.group(1) if m else None


def grants(value) -> tuple[tuple, tuple] | None:
    """(actions, not_actions) an AWS managed policy certainly grants on `*`, or None when unknown."""
    name = policy_name(value)
    if name is None:
        return None
    if name in _KNOWN:
        return _KNOWN[name]
    m = re.match(r"(?:Amazon|AWS)?([A-Za-z0-9]+?)FullAccess(?:V2)?$", name)
    if m and m.group(1) in _FULL_ACCESS:
        return ((_FULL_ACCESS[m.group(1)] + ":*",), ())
    return None
