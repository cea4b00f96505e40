#!/usr/bin/env python3
"""Generate a deterministic, realistic Serverless Framework monorepo for benchmarks.

    python benchmarks/gen_monorepo.py N OUTDIR [--seed S]

writes ``OUTDIR/services/<svc>/serverless.yml`` (about 7 KB each, 8-12 functions) with handler
files under ``src/``, and ``OUTDIR/serverless-compose.yml`` listing every service.

Why it looks the way it does: DESIGN.md section 6 sets speed targets on "a generated monorepo of
1,000 services / 10,000 functions (about 7 MB of YAML)", so the input has to exercise what the
analyzer really resolves (variables, CloudFormation short tags, IAM statements, cross-service
calls, lifecycle subscriptions, Compose params) rather than being padded filler.

Determinism: every service draws from its own RNG seeded with ``(seed, index)`` and only refers to
lower-numbered services, so the dependency graph has no cycle and the repository of N services is
a prefix of any larger one (apart from the compose file; names widen past 10,000 services).

Standard library only.
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path

# (service domain, entity) pairs; the entity names the table, paths and functions.
DOMAINS = [
    ("users", "User"),
    ("orders", "Order"),
    ("billing", "Invoice"),
    ("payments", "Payment"),
    ("inventory", "Item"),
    ("shipping", "Shipment"),
    ("catalog", "Product"),
    ("notifications", "Notification"),
    ("search", "Document"),
    ("reviews", "Review"),
    ("auth", "Session"),
    ("analytics", "Metric"),
    ("media", "Asset"),
    ("messaging", "Message"),
    ("pricing", "Price"),
    ("loyalty", "Reward"),
    ("support", "Ticket"),
    ("reports", "Report"),
    ("accounts", "Account"),
    ("subscriptions", "Plan"),
]

# (function name pattern, event kind, http method, http path pattern); {E} entity, {p} plural path.
FUNCTION_TEMPLATES = [
    ("create{E}", "http", "post", "{p}"),
    ("get{E}", "http", "get", "{p}/{{id}}"),
    ("list{E}s", "http", "get", "{p}"),
    ("update{E}", "http", "put", "{p}/{{id}}"),
    ("delete{E}", "http", "delete", "{p}/{{id}}"),
    ("search{E}s", "http", "get", "{p}/search"),
    ("validate{E}", "http", "post", "{p}/validate"),
    ("process{E}Queue", "sqs", "", ""),
    ("on{E}Event", "sns", "", ""),
    ("sync{E}s", "schedule", "", ""),
    ("cleanup{E}s", "schedule", "", ""),
    ("export{E}s", "schedule", "", ""),
    ("audit{E}Changes", "lifecycle", "", ""),
    ("notify{E}Owners", "lifecycle", "", ""),
    ("reconcile{E}s", "sqs", "", ""),
]

REGIONS = ["us-east-1", "us-east-1", "us-west-2", "eu-west-1", "eu-central-1"]
TEAMS = ["platform", "checkout", "growth", "core", "data", "identity", "fulfilment"]
SCHEDULES = [
    "rate(5 minutes)",
    "rate(1 hour)",
    "rate(1 day)",
    "cron(0 3 * * ? *)",
    "cron(15 */6 * * ? *)",
]
LIFECYCLE_TYPES = ["success", "failed", "start", "success"]

# Which SDK call a handler makes, by the verb its function name starts with. The table name comes
# straight from the environment, as the analyzer must follow it: TABLE -> !Ref <Entity>Table.
PY_TABLE = 'TableName=os.environ["TABLE"]'
PY_KEY = 'Key={"pk": {"S": key}, "sk": {"S": "v0"}}'
PY_TABLE_CALLS = {
    "create": f'put_item({PY_TABLE}, Item={{"pk": {{"S": key}}, "sk": {{"S": "v0"}}}})',
    "get": f"get_item({PY_TABLE}, {PY_KEY})",
    "list": f'query({PY_TABLE}, KeyConditionExpression="pk = :pk", '
    'ExpressionAttributeValues={":pk": {"S": key}})',
    "update": f'update_item({PY_TABLE}, {PY_KEY}, UpdateExpression="SET body = :b", '
    'ExpressionAttributeValues={":b": {"S": json.dumps(body)}})',
    "delete": f"delete_item({PY_TABLE}, {PY_KEY})",
    "search": f"scan({PY_TABLE}, Limit=50)",
}
JS_TABLE = "TableName: process.env.TABLE"
JS_KEY = 'Key: { pk: { S: key }, sk: { S: "v0" } }'
JS_TABLE_CALLS = {
    "create": (
        "PutItemCommand",
        f'{{ {JS_TABLE}, Item: {{ pk: {{ S: key }}, sk: {{ S: "v0" }} }} }}',
    ),
    "get": ("GetItemCommand", f"{{ {JS_TABLE}, {JS_KEY} }}"),
    "list": (
        "QueryCommand",
        f'{{ {JS_TABLE}, KeyConditionExpression: "pk = :pk", '
        'ExpressionAttributeValues: { ":pk": { S: key } } }',
    ),
    "update": (
        "UpdateItemCommand",
        f'{{ {JS_TABLE}, {JS_KEY}, UpdateExpression: "SET body = :b", '
        'ExpressionAttributeValues: { ":b": { S: JSON.stringify(body) } } }',
    ),
    "delete": ("DeleteItemCommand", f"{{ {JS_TABLE}, {JS_KEY} }}"),
    "search": ("ScanCommand", f"{{ {JS_TABLE}, Limit: 50 }}"),
}


@dataclass
class Function:
    name: str
    kind: str
    method: str
    path: str
    subscribable: bool


@dataclass
class Service:
    """What other services may refer to: decided before any file is written."""

    index: int
    name: str
    key: str  # identifier-safe form, used in Compose param names
    entity: str
    runtime: str
    region: str
    team: str
    deps: list[int]
    param_deps: list[int]  # deps whose TopicArn is passed in as a Compose param
    functions: list[Function] = field(default_factory=list)


@dataclass
class Stats:
    services: int = 0
    functions: int = 0
    yaml_files: int = 0
    yaml_bytes: int = 0
    handler_files: int = 0
    handler_bytes: int = 0


def plan_service(index: int, seed: int, width: int) -> Service:
    """Decide a service's name, runtime, dependencies and functions (not its rendering)."""
    rng = random.Random(f"{seed}:{index}:plan")
    domain, entity = DOMAINS[index % len(DOMAINS)]
    name = f"{domain}-{index:0{width}d}"
    deps: set[int] = set()
    for _ in range(rng.randint(0, min(3, index))):
        # Half the edges go to the first few "hub" services, as in real monorepos.
        deps.add(rng.randrange(min(index, 10)) if rng.random() < 0.5 else rng.randrange(index))
    dep_list = sorted(deps)
    param_deps = [d for d in dep_list if rng.random() < 0.6]
    svc = Service(
        index=index,
        name=name,
        key=name.replace("-", ""),
        entity=entity,
        runtime="python3.11" if rng.random() < 0.7 else "nodejs18.x",
        region=rng.choice(REGIONS),
        team=rng.choice(TEAMS),
        deps=dep_list,
        param_deps=param_deps,
    )
    chosen = sorted(rng.sample(range(len(FUNCTION_TEMPLATES)), rng.randint(8, 12)))
    plural = entity.lower() + "s"
    for t in chosen:
        pattern, kind, method, path = FUNCTION_TEMPLATES[t]
        svc.functions.append(
            Function(
                name=pattern.format(E=entity),
                kind=kind,
                method=method,
                path=path.format(p=plural),
                subscribable=rng.random() < 0.25,
            )
        )
    if not any(f.subscribable for f in svc.functions):
        svc.functions[0].subscribable = True
    return svc


def plan(n: int, seed: int) -> list[Service]:
    width = max(4, len(str(n - 1)))
    return [plan_service(i, seed, width) for i in range(n)]


def render_service(svc: Service, services: list[Service], seed: int) -> tuple[str, dict[str, str]]:
    """Return the serverless.yml text and {relative handler path: source} for one service."""
    rng = random.Random(f"{seed}:{svc.index}:render")
    deps = [services[d] for d in svc.deps]
    is_py = svc.runtime.startswith("python")
    table = f"{svc.entity}Table"
    fn_names = [f.name for f in svc.functions]

    # Decide cross-function wiring first: the IAM statements must cover the calls.
    calling: dict[str, list[str]] = {}
    invoke_arns: list[str] = []
    same_invoke: list[str] = []
    for f in svc.functions:
        if rng.random() >= 0.2:
            continue
        targets = []
        if deps:
            dep = rng.choice(deps)
            target = rng.choice(dep.functions)
            targets.append(f"{dep.name}:{target.name}")
            arn = (
                "arn:aws:lambda:${aws:region}:${aws:accountId}:function:"
                f"{dep.name}-${{sls:stage}}-{target.name}"
            )
            if arn not in invoke_arns:
                invoke_arns.append(arn)
        sibling = rng.choice([n for n in fn_names if n != f.name])
        targets.append(sibling)
        if sibling not in same_invoke:
            same_invoke.append(sibling)
        calling[f.name] = targets
    own_wildcard = rng.random() < 0.3

    out: list[str] = []
    w = out.append
    w(f"service: {svc.name}\n")
    w("frameworkVersion: '3'\n")
    w("configValidationMode: warn\n\n")

    w("custom:\n")
    w("  tableName: ${self:service}-${sls:stage}-" + svc.entity.lower() + "s\n")
    w("  topicName: ${self:service}-${sls:stage}-events\n")
    w("  queueName: ${self:service}-${sls:stage}-work\n")
    w(f"  memorySize: {rng.choice([256, 512, 1024])}\n")
    w(f"  timeout: {rng.choice([6, 10, 15, 30])}\n")
    w(f"  logRetentionInDays: {rng.choice([7, 14, 30, 90])}\n")
    w("  schedulesEnabled: ${strToBool(${env:SCHEDULES_ENABLED, 'true'})}\n")
    w("  userPoolArn: ${ssm:/shared/${sls:stage}/cognito/userPoolArn}\n")
    w("\n")

    w("provider:\n")
    w("  name: aws\n")
    w(f"  runtime: {svc.runtime}\n")
    w("  stage: ${opt:stage, 'dev'}\n")
    w(f"  region: {svc.region}\n")
    w("  memorySize: ${self:custom.memorySize}\n")
    w("  timeout: ${self:custom.timeout}\n")
    w("  logRetentionInDays: ${self:custom.logRetentionInDays}\n")
    w("  tags:\n")
    w(f"    team: {svc.team}\n")
    w("    service: ${self:service}\n")
    w("  environment:\n")
    w("    STAGE: ${sls:stage}\n")
    w("    SERVICE_NAME: ${self:service}\n")
    w("    LOG_LEVEL: ${env:LOG_LEVEL, 'info'}\n")
    w("    TABLE_NAME: ${self:custom.tableName}\n")
    w("  iam:\n    role:\n      statements:\n")
    w("        - Effect: Allow\n          Action:\n")
    for action in _table_actions(svc):
        w(f"            - dynamodb:{action}\n")
    w(f"          Resource:\n            - !GetAtt {table}.Arn\n")
    w(f"            - !Join ['/', [!GetAtt {table}.Arn, 'index/*']]\n")
    w("        - Effect: Allow\n          Action: sns:Publish\n          Resource: !Ref Topic\n")
    w(
        "        - Effect: Allow\n          Action:\n            - sqs:SendMessage\n"
        "            - sqs:GetQueueAttributes\n          Resource: !GetAtt Queue.Arn\n"
    )
    if invoke_arns or same_invoke:
        w("        - Effect: Allow\n          Action: lambda:InvokeFunction\n          Resource:\n")
        for arn in invoke_arns:
            w(f"            - {arn}\n")
        if own_wildcard:
            w(
                "            - arn:aws:lambda:${aws:region}:${aws:accountId}:function:"
                "${self:service}-${sls:stage}-*\n"
            )
        else:
            for name in same_invoke:
                w(
                    "            - arn:aws:lambda:${aws:region}:${aws:accountId}:function:"
                    f"${{self:service}}-${{sls:stage}}-{name}\n"
                )
    w(
        "        - Effect: Allow\n          Action: ssm:GetParameter\n"
        "          Resource: !Sub 'arn:aws:ssm:${AWS::Region}:${AWS::AccountId}:parameter"
        "/${self:service}/${sls:stage}/*'\n"
    )
    if rng.random() < 0.1:  # the occasional over-broad grant real repositories carry
        w("        - Effect: Allow\n          Action: s3:*\n          Resource: '*'\n")
    w("\n")

    w("functions:\n")
    handlers: dict[str, str] = {}
    ext = "py" if is_py else "js"
    for f in svc.functions:
        env: list[tuple[str, str]] = []
        uses_table = f.kind in ("http", "sqs") or f.name.startswith(("sync", "export", "cleanup"))
        if uses_table:
            env.append(("TABLE", f"!Ref {table}"))
        publishes = f.name.startswith(("create", "update", "delete", "process", "reconcile"))
        if publishes:
            env.append(("TOPIC_ARN", "!Ref Topic"))
        if f.kind == "http" and f.method != "get":
            env.append(("QUEUE_URL", "!Ref Queue"))
        if deps and rng.random() < 0.25:
            dep = rng.choice(deps)
            if dep.index in svc.param_deps and rng.random() < 0.5:
                env.append(("UPSTREAM_TOPIC_ARN", f"${{param:{dep.key}TopicArn}}"))
            elif rng.random() < 0.5:
                env.append(("UPSTREAM_TOPIC_ARN", f"${{cf:{dep.name}-${{sls:stage}}.TopicArn}}"))
            else:
                env.append(("UPSTREAM_TABLE", f"!ImportValue {dep.name}-${{sls:stage}}-TableName"))
        call_env: list[tuple[str, str]] = []
        for target in calling.get(f.name, []):
            svc_name, _, fn = target.rpartition(":")
            var = _env_name(fn) + "_FUNCTION"
            if any(var == k for k, _ in call_env):  # same function name in two services
                var = _env_name(svc_name.replace("-", "_")) + "_" + var
            value = (
                f"{svc_name}-${{sls:stage}}-{fn}"
                if svc_name
                else f"${{self:service}}-${{sls:stage}}-{fn}"
            )
            call_env.append((var, value))
        env.extend(call_env)

        w(f"  {f.name}:\n")
        w(f"    handler: src/{f.name}.handler\n")
        if rng.random() < 0.2:
            w(f"    memorySize: {rng.choice([512, 1024, 2048])}\n")
        if f.kind in ("sqs", "schedule"):
            w(f"    timeout: {rng.choice([30, 60, 120])}\n")
        if env:
            w("    environment:\n")
            for k, v in env:
                w(f"      {k}: {v}\n")
        if f.name in calling:
            w("    calling:\n")
            for target in calling[f.name]:
                w(f'      - "{target}"\n')
        if f.subscribable:
            w("    subscribable: true\n")
        w("    events:\n")
        _render_events(w, rng, svc, f, deps)

        handlers[f"src/{f.name}.{ext}"] = (
            _python_handler(svc, f, uses_table, publishes, call_env)
            if is_py
            else _node_handler(svc, f, uses_table, publishes, call_env)
        )
    w("\n")

    _render_resources(w, table)
    return "".join(out), handlers


def _render_events(w, rng: random.Random, svc: Service, f: Function, deps: list[Service]) -> None:
    if f.kind == "http":
        w("      - http:\n")
        w(f"          method: {f.method}\n")
        w(f"          path: {f.path}\n")
        if rng.random() < 0.5:
            w("          cors: true\n")
        roll = rng.random()
        if roll < 0.4:
            w(
                "          authorizer:\n            type: COGNITO_USER_POOLS\n"
                "            arn: ${self:custom.userPoolArn}\n"
            )
        elif roll < 0.75:
            w("          authorizer: aws_iam\n")
        # else: a public endpoint, on purpose
    elif f.kind == "sqs":
        w("      - sqs:\n          arn: !GetAtt Queue.Arn\n")
        w(f"          batchSize: {rng.choice([1, 5, 10])}\n")
        if rng.random() < 0.5:
            w("          functionResponseType: ReportBatchItemFailures\n")
    elif f.kind == "sns":
        if deps and rng.random() < 0.5:
            dep = rng.choice(deps)
            w(f"      - sns:\n          arn: ${{cf:{dep.name}-${{sls:stage}}.TopicArn}}\n")
        else:
            w("      - sns:\n          arn: !Ref Topic\n")
            w("          topicName: ${self:custom.topicName}\n")
    elif f.kind == "schedule":
        w(f"      - schedule:\n          rate: {rng.choice(SCHEDULES)}\n")
        if rng.random() < 0.5:
            w("          enabled: ${self:custom.schedulesEnabled}\n")
    elif f.kind == "lifecycle":
        for _ in range(rng.randint(1, 2)):
            candidates = [(d, g) for d in deps for g in d.functions if g.subscribable]
            if candidates and rng.random() < 0.7:
                dep, target = rng.choice(candidates)
                w(f"      - function:\n          name: {target.name}\n")
                w(f"          service: {dep.name}\n          type: {rng.choice(LIFECYCLE_TYPES)}\n")
            else:
                target = rng.choice([g for g in svc.functions if g.name != f.name])
                w(
                    f"      - function:\n          name: {target.name}\n"
                    f"          type: {rng.choice(LIFECYCLE_TYPES)}\n"
                )


def _render_resources(w, table: str) -> None:
    w("resources:\n  Resources:\n")
    w(f"    {table}:\n      Type: AWS::DynamoDB::Table\n")
    w(
        "      Properties:\n        TableName: ${self:custom.tableName}\n"
        "        BillingMode: PAY_PER_REQUEST\n        AttributeDefinitions:\n"
    )
    for attr in ("pk", "sk", "gsi1pk"):
        w(f"          - AttributeName: {attr}\n            AttributeType: S\n")
    w(
        "        KeySchema:\n          - AttributeName: pk\n            KeyType: HASH\n"
        "          - AttributeName: sk\n            KeyType: RANGE\n"
    )
    w(
        "        GlobalSecondaryIndexes:\n          - IndexName: gsi1\n            KeySchema:\n"
        "              - AttributeName: gsi1pk\n                KeyType: HASH\n"
        "            Projection:\n              ProjectionType: ALL\n"
    )
    w("        StreamSpecification:\n          StreamViewType: NEW_AND_OLD_IMAGES\n")
    w(
        "    Topic:\n      Type: AWS::SNS::Topic\n      Properties:\n"
        "        TopicName: ${self:custom.topicName}\n        KmsMasterKeyId: alias/aws/sns\n"
    )
    w(
        "    Queue:\n      Type: AWS::SQS::Queue\n      Properties:\n"
        "        QueueName: ${self:custom.queueName}\n        VisibilityTimeout: 180\n"
        "        RedrivePolicy:\n          deadLetterTargetArn: !GetAtt DeadLetterQueue.Arn\n"
        "          maxReceiveCount: 5\n"
    )
    w(
        "    DeadLetterQueue:\n      Type: AWS::SQS::Queue\n      Properties:\n"
        "        QueueName: ${self:custom.queueName}-dlq\n        MessageRetentionPeriod: 1209600\n"
    )
    w(
        "    QueueSubscription:\n      Type: AWS::SNS::Subscription\n      Properties:\n"
        "        TopicArn: !Ref Topic\n        Protocol: sqs\n        Endpoint: !GetAtt Queue.Arn\n"
        "        RawMessageDelivery: true\n"
    )
    w(
        "    QueuePolicy:\n      Type: AWS::SQS::QueuePolicy\n      Properties:\n"
        "        Queues:\n          - !Ref Queue\n        PolicyDocument:\n"
        "          Version: '2012-10-17'\n          Statement:\n            - Effect: Allow\n"
        "              Principal:\n                Service: sns.amazonaws.com\n"
        "              Action: sqs:SendMessage\n              Resource: !GetAtt Queue.Arn\n"
        "              Condition:\n                ArnEquals:\n"
        "                  aws:SourceArn: !Ref Topic\n"
    )
    w("  Outputs:\n")
    for output, value in (
        ("TopicArn", "!Ref Topic"),
        ("TableName", f"!Ref {table}"),
        ("QueueUrl", "!Ref Queue"),
    ):
        w(
            f"    {output}:\n      Value: {value}\n      Export:\n"
            f"        Name: ${{self:service}}-${{sls:stage}}-{output}\n"
        )


def _python_handler(
    svc: Service, f: Function, uses_table: bool, publishes: bool, call_env: list[tuple[str, str]]
) -> str:
    verb = _verb(f.name)
    clients = []
    body = []
    if uses_table:
        clients.append('dynamodb = boto3.client("dynamodb")')
        call = PY_TABLE_CALLS.get(verb, PY_TABLE_CALLS["create"])
        body.append(f"    result = dynamodb.{call}")
    if publishes:
        clients.append('sns = boto3.client("sns")')
        body.append('    sns.publish(TopicArn=os.environ["TOPIC_ARN"], Message=json.dumps(body))')
    if f.kind == "http" and f.method != "get":
        clients.append('sqs = boto3.client("sqs")')
        body.append(
            '    sqs.send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=json.dumps(body))'
        )
    if call_env:
        clients.append('lambda_client = boto3.client("lambda")')
        for var, _ in call_env:
            body.append(
                f'    lambda_client.invoke(FunctionName=os.environ["{var}"], '
                "Payload=json.dumps(body).encode())"
            )
    if not body:
        body.append("    result = {}")
    clients_src = "\n".join(clients) + "\n" if clients else ""
    return (
        f'"""{_words(f.name)} ({svc.name})."""\n'
        "import json\nimport logging\nimport os\n\nimport boto3\n\n"
        "logger = logging.getLogger(__name__)\n"
        f"{clients_src}\n\n"
        "def handler(event, context):\n"
        '    body = json.loads(event.get("body") or "{}") if isinstance(event, dict) else {}\n'
        '    key = str(body.get("id", "default"))\n'
        f'    logger.info("{f.name} %s", key)\n' + "\n".join(body) + "\n"
        '    return {"statusCode": 200, "body": json.dumps({"ok": True})}\n'
    )


def _node_handler(
    svc: Service, f: Function, uses_table: bool, publishes: bool, call_env: list[tuple[str, str]]
) -> str:
    verb = _verb(f.name)
    imports = []
    clients = []
    body = []
    if uses_table:
        command, args = JS_TABLE_CALLS.get(verb, JS_TABLE_CALLS["create"])
        imports.append(
            f'const {{ DynamoDBClient, {command} }} = require("@aws-sdk/client-dynamodb");'
        )
        clients.append("const ddb = new DynamoDBClient({});")
        body.append(f"  const result = await ddb.send(new {command}({args}));")
    if publishes:
        imports.append('const { SNSClient, PublishCommand } = require("@aws-sdk/client-sns");')
        clients.append("const sns = new SNSClient({});")
        body.append(
            "  await sns.send(new PublishCommand({ TopicArn: process.env.TOPIC_ARN, "
            "Message: JSON.stringify(body) }));"
        )
    if f.kind == "http" and f.method != "get":
        imports.append('const { SQSClient, SendMessageCommand } = require("@aws-sdk/client-sqs");')
        clients.append("const sqs = new SQSClient({});")
        body.append(
            "  await sqs.send(new SendMessageCommand({ QueueUrl: process.env.QUEUE_URL, "
            "MessageBody: JSON.stringify(body) }));"
        )
    if call_env:
        imports.append('const { LambdaClient, InvokeCommand } = require("@aws-sdk/client-lambda");')
        clients.append("const lambda = new LambdaClient({});")
        for var, _ in call_env:
            body.append(
                f"  await lambda.send(new InvokeCommand({{ FunctionName: process.env.{var}, "
                "Payload: Buffer.from(JSON.stringify(body)) }));"
            )
    return (
        f"// {_words(f.name)} ({svc.name}).\n"
        + "\n".join(imports)
        + ("\n" if imports else "")
        + "\n"
        + "\n".join(clients)
        + ("\n" if clients else "")
        + "\nexports.handler = async (event) => {\n"
        "  const body = event && event.body ? JSON.parse(event.body) : {};\n"
        '  const key = String(body.id || "default");\n'
        + "\n".join(body)
        + ("\n" if body else "")
        + "  return { statusCode: 200, body: JSON.stringify({ ok: true }) };\n};\n"
    )


def render_compose(services: list[Service]) -> str:
    out = ["# Generated by benchmarks/gen_monorepo.py\nservices:\n"]
    for svc in services:
        out.append(f"  {svc.name}:\n    path: services/{svc.name}\n")
        if svc.param_deps:
            out.append("    params:\n")
            for d in svc.param_deps:
                dep = services[d]
                out.append(f"      {dep.key}TopicArn: ${{{dep.name}.TopicArn}}\n")
        explicit = [d for d in svc.deps if d not in svc.param_deps]
        if explicit:
            out.append("    dependsOn:\n")
            for d in explicit:
                out.append(f"      - {services[d].name}\n")
    return "".join(out)


def generate(n: int, outdir: Path, seed: int = 0) -> Stats:
    """Write the monorepo of ``n`` services into ``outdir``; return what was written."""
    if n < 1:
        raise ValueError("N must be at least 1")
    services = plan(n, seed)
    stats = Stats(services=n)
    for svc in services:
        yml, handlers = render_service(svc, services, seed)
        svc_dir = outdir / "services" / svc.name
        (svc_dir / "src").mkdir(parents=True, exist_ok=True)
        data = yml.encode()
        (svc_dir / "serverless.yml").write_bytes(data)
        stats.yaml_files += 1
        stats.yaml_bytes += len(data)
        stats.functions += len(svc.functions)
        for rel, src in handlers.items():
            blob = src.encode()
            (svc_dir / rel).write_bytes(blob)
            stats.handler_files += 1
            stats.handler_bytes += len(blob)
    compose = render_compose(services).encode()
    (outdir / "serverless-compose.yml").write_bytes(compose)
    stats.yaml_files += 1
    stats.yaml_bytes += len(compose)
    return stats


TABLE_ACTIONS = {
    "create": "PutItem",
    "get": "GetItem",
    "list": "Query",
    "update": "UpdateItem",
    "delete": "DeleteItem",
    "search": "Scan",
}


def _table_actions(svc: Service) -> list[str]:
    """The DynamoDB actions the service's handlers use: real policies track the code."""
    used = {TABLE_ACTIONS.get(_verb(f.name), "PutItem") for f in svc.functions}
    return [
        a
        for a in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan")
        if a in used or a == "Query"
    ]


def _verb(name: str) -> str:
    for i, ch in enumerate(name):
        if ch.isupper():
            return name[:i]
    return name


def _words(name: str) -> str:
    words = []
    for ch in name:
        if ch.isupper() and words:
            words.append(" ")
        words.append(ch.lower())
    text = "".join(words)
    return text[0].upper() + text[1:]


def _env_name(name: str) -> str:
    return "".join("_" + ch if ch.isupper() else ch.upper() for ch in name).lstrip("_").upper()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, metavar="N", help="number of services")
    parser.add_argument("outdir", type=Path, metavar="OUTDIR", help="new or empty directory")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("N must be at least 1")
    # Refuse to mix with an older tree: its stale services would be analyzed, yet not composed.
    if args.outdir.exists() and any(args.outdir.iterdir()):
        parser.error(f"{args.outdir} is not empty; choose a new or empty directory")
    args.outdir.mkdir(parents=True, exist_ok=True)
    stats = generate(args.n, args.outdir, args.seed)
    print(
        f"{stats.services} services, {stats.functions} functions, "
        f"{stats.yaml_files} YAML files ({stats.yaml_bytes / 1e6:.2f} MB), "
        f"{stats.handler_files} handler files ({stats.handler_bytes / 1e6:.2f} MB) "
        f"in {args.outdir}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
