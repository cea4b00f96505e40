"""Framework flavours (v3, v4, osls) and the naming conventions they share.

The effective configuration depends on the flavour: osls and v3 ignore a
function-level `iam` block and `mode: perFunction`, v4 honours them.
"""
from __future__ import annotations

import re

FLAVOURS = ("v3", "v4", "osls")
PER_FUNCTION_PLUGIN = "serverless-iam-roles-per-function"


def flavour(setting: str | None, framework_version) -> str:
    """The `framework` setting wins; else frameworkVersion with major 4 means v4."""
    if setting in FLAVOURS:
        return setting
    text = str(framework_version or "").strip()
    m = re.search(r"\d+", text)
    if m and m.group(0) == "4" and not text.startswith("<"):
        return "v4"
    return "v3"


def honours_function_iam(fw: str) -> bool:
    return fw == "v4"


def normalized_function_name(name: str) -> str:
    """The framework's logical-id form of a function name (`create-user` -> `CreateDashuser`)."""
    n = str(name).replace("-", "Dash").replace("_", "Underscore")
    return n[:1].upper() + n[1:]


def alnum_name(name: str) -> str:
    n = re.sub(r"[^0-9A-Za-z]", "", str(name))
    return n[:1].upper() + n[1:]


def lambda_logical_id(fn: str) -> str:
    return normalized_function_name(fn) + "LambdaFunction"


def function_role_logical_id(fn: str) -> str:
    return normalized_function_name(fn) + "IamRoleLambdaExecution"


SHARED_ROLE = "IamRoleLambdaExecution"


def topic_logical_id(topic: str) -> str:
    return "SNSTopic" + alnum_name(topic)


def bucket_logical_id(bucket: str) -> str:
    return "S3Bucket" + alnum_name(bucket)


def schedule_logical_id(fn: str, index: int) -> str:
    return f"{normalized_function_name(fn)}EventsRuleSchedule{index}"


EVENT_API_IDS = {"http": "ApiGatewayRestApi", "httpApi": "HttpApi", "websocket": "WebsocketsApi"}


def plugins_of(doc) -> tuple:
    p = doc.get("plugins") if isinstance(doc, dict) else None
    if isinstance(p, dict):
        p = p.get("modules")
    if isinstance(p, list):
        return tuple(str(x) for x in p if isinstance(x, str))
    return ()
