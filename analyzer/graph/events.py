"""Events -> `triggers` edges from the resource or external thing that invokes a function."""
from __future__ import annotations

from ..frameworks import EVENT_API_IDS, alnum_name, bucket_logical_id, normalized_function_name, topic_logical_id
from ..loaders import symbols as S
from ..loaders.yamlmarks import MDict
from .iam import _logical

# the config key that names the source, per event type, for the generic case
_SOURCE_KEYS = ("arn", "eventBus", "logGroup", "pool", "listenerArn", "topic", "queue", "bucket",
                "eventSourceArn", "stream", "name", "appId", "skillId", "sql", "rule", "resource",
                "trigger", "eventType")


def add(g, project, index) -> None:
    from .build import add_edge, add_external, add_node

    for svc in project.services:
        prefix = svc.id[4:]
        for fn in svc.functions:
            schedules = 0
            for ev in fn.events:
                if ev.type == "function":
                    continue  # lifecycle subscriptions: calls.py
                attrs = {"event": ev.type, "index": ev.index}
                cfg = ev.config
                source = None
                framework_res = None
                if ev.type in EVENT_API_IDS and svc.provider != "aws":
                    framework_res = "HttpEndpoint"  # the provider's own HTTP front door
                    attrs.update(_api_attrs(ev.type, cfg))
                elif ev.type in EVENT_API_IDS:
                    framework_res = EVENT_API_IDS[ev.type]
                    attrs.update(_api_attrs(ev.type, cfg))
                elif ev.type in ("sns", "sqs", "stream"):
                    arn = ev.arn
                    if ev.type == "sns" and (arn is None or (isinstance(arn, str) and not arn.startswith("arn:"))):
                        name = cfg.get("topicName") if isinstance(cfg, MDict) else None
                        name = name or (arn if isinstance(arn, str) else None)
                        if name:
                            local = _local_topic(svc, index, name)
                            if local:
                                source = local
                            else:
                                framework_res = topic_logical_id(S.text_of(name))
                                attrs["topic_name"] = S.text_of(name)
                    else:
                        source = _source_of(arn, svc, index)
                        attrs["arn"] = S.text_of(arn)
                elif ev.type == "s3":
                    bucket = cfg.get("bucket") if isinstance(cfg, MDict) else cfg
                    existing = isinstance(cfg, MDict) and cfg.get("existing") is True
                    if _logical(bucket):
                        source = _source_of(bucket, svc, index)
                    elif existing or bucket is None:
                        source = "ext:s3:" + S.text_of(bucket)
                    else:
                        framework_res = bucket_logical_id(S.text_of(bucket))
                    attrs["bucket"] = S.text_of(bucket)
                elif ev.type == "schedule":
                    schedules += 1
                    framework_res = f"{normalized_function_name(fn.name)}EventsRuleSchedule{schedules}"
                elif ev.type == "url":
                    framework_res = f"{normalized_function_name(fn.name)}LambdaFunctionUrl"
                    auth = cfg.get("authorizer") if isinstance(cfg, MDict) else None
                    attrs["authorizer"] = S.text_of(auth) if auth else None
                elif ev.type == "cognitoUserPool" and isinstance(cfg, MDict) and not cfg.get("existing"):
                    framework_res = "CognitoUserPool" + alnum_name(S.text_of(cfg.get("pool")))
                else:
                    source = _generic(ev.type, cfg, svc, index)
                attrs.update(ev.deployed)  # what the synthesized template decides (an authorizer) wins
                if framework_res is None and source is None:
                    source = _generic(ev.type, cfg, svc, index)  # e.g. an sns event naming no topic
                if framework_res is not None:
                    source = f"res:{prefix}.{framework_res}"
                    if source not in g:
                        rtype = _FRAMEWORK_TYPES.get(ev.type, "") if svc.provider == "aws" else f"{svc.provider}:{ev.type}"
                        add_node(g, source, "resource", ev.loc, type=rtype,
                                 logical_id=framework_res, service=svc.name, framework=True)
                        add_edge(g, svc.id, source, "contains", ev.loc)
                if source.startswith("ext:"):
                    add_external(g, source, ev.loc)
                add_edge(g, source, fn.id, "triggers", ev.loc, **attrs)


_FRAMEWORK_TYPES = {
    "http": "AWS::ApiGateway::RestApi", "httpApi": "AWS::ApiGatewayV2::Api",
    "websocket": "AWS::ApiGatewayV2::Api", "sns": "AWS::SNS::Topic", "s3": "AWS::S3::Bucket",
    "schedule": "AWS::Events::Rule", "url": "AWS::Lambda::Url", "cognitoUserPool": "AWS::Cognito::UserPool",
}


def _api_attrs(etype: str, cfg) -> dict:
    out = {"method": None, "path": None, "authorizer": None, "private": False}
    if isinstance(cfg, str):
        parts = cfg.split(None, 1)
        if etype == "websocket":
            out["path"] = cfg
        elif len(parts) == 2:
            out["method"], out["path"] = parts[0].upper(), parts[1]
        else:
            out["path"] = cfg
        return out
    if isinstance(cfg, MDict):
        m = cfg.get("method")
        out["method"] = S.text_of(m).upper() if m is not None else None
        p = cfg.get("path") if etype != "websocket" else cfg.get("route")
        out["path"] = S.text_of(p) if p is not None else None
        auth = cfg.get("authorizer")
        if isinstance(auth, MDict):
            auth = auth.get("name") or auth.get("arn") or auth.get("type") or auth.get("id") or "custom"
        out["authorizer"] = S.text_of(auth) if auth else None
        out["private"] = cfg.get("private") is True
    return out


def _local_topic(svc, index, name) -> str | None:
    for r in svc.resources:
        if r.type == "AWS::SNS::Topic" and S.text_of(r.properties.get("TopicName")) == S.text_of(name):
            return r.id
    return None


def _source_of(value, svc, index) -> str:
    found = index.output_of(value)
    if found is not None:  # another service's output: follow it to the resource it names
        producer, output = found
        logical = _logical(output.value)
        if logical is not None and (producer.id, logical) in index.resources:
            return index.resources[(producer.id, logical)].id
        value = output.value if not isinstance(output.value, MDict) else value
    logical = _logical(value)
    if logical is not None and (svc.id, logical) in index.resources:
        return index.resources[(svc.id, logical)].id
    if logical is not None:
        return f"ext:{svc.name}.{logical}"
    text = S.text_of(value)
    return "ext:" + (text or "unknown")


def _generic(etype: str, cfg, svc, index) -> str:
    if isinstance(cfg, MDict):
        for key in _SOURCE_KEYS:
            v = cfg.get(key)
            if v is not None and not isinstance(v, (MDict, list)):
                return f"ext:{etype}:{S.text_of(v)}"
            if isinstance(v, MDict) and _logical(v):
                return _source_of(v, svc, index)
        return f"ext:{etype}"
    if cfg is None or cfg is True:
        return f"ext:{etype}"
    return f"ext:{etype}:{S.text_of(cfg)}"
