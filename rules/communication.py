"""The communication family: who may call and subscribe to whom (SLS003, SLS102-SLS104, SLS106).

Closed by default (DESIGN §1.1): a function calls only what its `calling` list
names and subscribes only to functions of other services marked `subscribable`.
"""
from __future__ import annotations

import difflib
import fnmatch

from analyzer.findings import Hit
from analyzer.graph import queries as Q
from analyzer.loaders.symbols import plain as _plain
from analyzer.loaders.yamlmarks import MDict, MList
from analyzer.model import Loc, entry_loc

from .base import Rule

_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
CALLING_SCHEMA = {"type": "array", "items": {"type": "string", "pattern": f"^({_NAME}:)?{_NAME}$"}}
SUBSCRIBABLE_SCHEMA = {"type": "boolean"}
FUNCTION_EVENT_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": f"^{_NAME}$"},
        "service": {"type": "string", "pattern": f"^{_NAME}$"},
        "type": {"enum": ["start", "success", "failed"]},
    },
}
_QUOTES = "\u201c\u201d\u2018\u2019"


class InvalidExtension(Rule):
    id = "SLS003"
    name = "invalid-extension"
    severity = "error"
    summary = "A malformed `calling`, `subscribable` or `function` event."
    tags = ("communication",)
    what = """
The service-communication keys checked against their JSON Schema: `calling` must be a list of
`"service:function"` or same-service `"function"` names, `subscribable` a boolean, and a
`function` event a mapping with `name`, an optional `service` and an optional `type` of `start`,
`success` or `failed`. Each violation is reported at its exact line; a name written with curly
quotes (copied from a blog post or a word processor) gets a hint.
"""
    why = """
A malformed entry is silently ignored by every tool that reads the keys, so the call or the
subscription you meant to declare does not exist: the function is closed off, or worse, the
check that should catch an undeclared call sees nothing to compare with.
"""
    example = """
functions:
  hello:
    calling:
      - “otherService:someFunction”
    subscribable: "yes"
"""
    instead = """
functions:
  hello:
    calling:
      - "otherService:someFunction"
    subscribable: true
"""
    references = ("https://json-schema.org/understanding-json-schema/",)

    def check(self, graph, context):
        validators: dict = {}
        memo: dict = {}

        def validator(schema_key: str):
            """Built on first use: a repository without the extensions never imports jsonschema
            (0.07 s of a one-service run)."""
            if not validators:
                import jsonschema

                validators.update({key: jsonschema.Draft202012Validator(schema) for key, schema in (
                    ("calling", CALLING_SCHEMA), ("calling[]", CALLING_SCHEMA["items"]),
                    ("subscribable", SUBSCRIBABLE_SCHEMA), ("function", FUNCTION_EVENT_SCHEMA))})
            return validators[schema_key]

        def errors_of(schema_key: str, plain) -> list:
            """(path, error) pairs; a value seen before is not run through jsonschema again
            (`subscribable: true` and the same `calling` entries repeat across functions)."""
            if schema_key == "calling" and isinstance(plain, list):
                return [([i, *path], err) for i, item in enumerate(plain)
                        for path, err in errors_of("calling[]", item)]
            seen = (schema_key, repr(plain))
            if seen not in memo:
                memo[seen] = [(list(e.absolute_path), e) for e in sorted(
                    validator(schema_key).iter_errors(plain), key=lambda e: list(e.path))]
            return memo[seen]

        for fn_id, d in Q.nodes_of_kind(graph, "function"):
            fn = context.index.functions.get(fn_id)
            cfg = fn.config if fn is not None else None
            if not isinstance(cfg, MDict):
                continue
            checks = [(key, cfg, key, cfg.get(key)) for key in ("calling", "subscribable") if key in cfg]
            events = cfg.get("events")
            if isinstance(events, MList):
                for ev in events:
                    if isinstance(ev, MDict) and "function" in ev:
                        checks.append(("function", ev, "function", ev["function"]))
            for schema_key, container, key, value in checks:
                for err_path, err in errors_of(schema_key, _plain(value)):
                    path = list(err_path)
                    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
                        path += sorted(set(err.instance) - set(err.schema.get("properties", {})))[:1]
                    where, holder, hkey = _locate(container, key, path)
                    svc = context.index.services_by_id.get(fn.service)  # only for the rare errors
                    loc = _loc(svc, holder, hkey, f"functions.{fn.name}.{key}" + "".join(
                        f"[{p}]" if isinstance(p, int) else f".{p}" for p in err_path))
                    bad = err.instance
                    hint = ""
                    if isinstance(bad, str) and any(q in bad for q in _QUOTES):
                        hint = " (curly quotes: write straight quotes \"...\")"
                    yield Hit(f"{fn.name}: `{key}` {_message(err)}{hint}", loc=loc,
                              names=(svc.name if svc else "", fn.name, key, str(bad)), nodes=(fn_id,))


def _message(err) -> str:
    if err.validator == "pattern":
        return f"entry {err.instance!r} is not a `service:function` or `function` name"
    if err.validator == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        return f"has unknown key {', '.join(extra)} (allowed: name, service, type)"
    if err.validator == "enum":
        return f"type {err.instance!r} must be one of start, success, failed"
    if err.validator == "required":
        return "needs a `name`"
    if err.validator == "type":
        return f"must be {err.validator_value if isinstance(err.validator_value, str) else err.validator_value[0]}, " \
               f"not {type(err.instance).__name__}"
    return err.message




def _locate(container, key, path):
    """The deepest (container, key) along a jsonschema error path, for its span."""
    holder, hkey = container, key
    cur = container.get(key) if isinstance(container, MDict) else None
    for part in path:
        if isinstance(cur, MDict) and part in cur:
            holder, hkey, cur = cur, part, cur[part]
        elif isinstance(cur, MList) and isinstance(part, int) and part < len(cur):
            holder, hkey, cur = cur, part, cur[part]
        else:
            break
    return cur, holder, hkey


def _loc(svc, holder, key, key_path: str) -> Loc:
    return entry_loc(holder, key, getattr(holder, "source", None) or (svc.file if svc else ""), key_path)


def _external(context, service: str) -> bool:
    return any(fnmatch.fnmatchcase(service, p) for p in (context.config.external or {}).get("services", []))


class UnknownCallTarget(Rule):
    id = "SLS102"
    name = "unknown-call-target"
    severity = "error"
    summary = "`calling` or a function event names a service or function that does not exist."
    tags = ("communication",)
    what = """
A `calling` entry or a `function` event that names a service or function no `serverless.yml` of
the repository defines, and that `external: services:` in the configuration does not list as
living elsewhere. The message suggests the closest existing name.
"""
    why = """
The call or subscription can never work: the name is a typo, the target was renamed or removed,
or it lives in another repository and should be declared as external so reviewers know.
"""
    example = """
functions:
  charge:
    calling:
      - "users:getUsr"
"""
    instead = """
functions:
  charge:
    calling:
      - "users:getUser"
# or, for a service deployed from another repository, in .sls-audit.yml:
# external:
#   services: [users]
"""

    def check(self, graph, context):
        known: list = []  # every function's name, for suggestions: listed at the first unknown target
        services = {d.get("name") for _, d in Q.nodes_of_kind(graph, "service")}
        for u, v, d in Q.edges_of_kind(graph, "calls") + Q.edges_of_kind(graph, "subscribes"):
            if not v.startswith("ext:function:"):
                continue
            if d["kind"] == "calls" and d.get("evidence") != "calling":
                continue
            service, function = graph.nodes[v].get("service"), graph.nodes[v].get("function")
            if _external(context, service):
                continue
            if not known:
                known = sorted(f"{fd.get('service')}:{fd.get('name')}" for _, fd in Q.nodes_of_kind(graph, "function"))
            what = "calling" if d["kind"] == "calls" else "subscribes to"
            if service not in services:
                problem = f"service {service} does not exist in this repository"
            else:
                problem = f"service {service} has no function {function}"
            close = difflib.get_close_matches(f"{service}:{function}", known, n=1, cutoff=0.75)
            hint = f" (did you mean {close[0]}?)" if close else ""
            yield Hit(f"{graph.nodes[u]['name']} {what} {service}:{function}, but {problem}{hint}",
                      loc=d.get("loc"), names=(graph.nodes[u].get("service"), graph.nodes[u].get("name"),
                                               d["kind"], f"{service}:{function}"), nodes=(u,),
                      fix=f"use {close[0]}" if close else "declare the service under `external: services:`")


class NotSubscribable(Rule):
    id = "SLS103"
    name = "not-subscribable"
    severity = "error"
    summary = "A subscription to another service's function that is not `subscribable`."
    tags = ("communication",)
    what = """
A `function` event subscribing to a function of another service that does not set
`subscribable: true`. Subscriptions within one service need no opt-in.
"""
    why = """
Closed by default: a service decides which of its functions' lifecycle events others may depend
on. Without the opt-in, the publisher can change or remove the function without knowing that
another team's service breaks.
"""
    example = """
# users/serverless.yml
functions:
  createUser:
    handler: src/create.handler
# notifications/serverless.yml
functions:
  welcome:
    events:
      - function: {name: createUser, service: users, type: success}
"""
    instead = """
# users/serverless.yml
functions:
  createUser:
    handler: src/create.handler
    subscribable: true
"""

    def check(self, graph, context):
        for u, v, d in Q.edges_of_kind(graph, "subscribes"):
            if graph.nodes[v].get("kind") != "function":
                continue
            su, sv = graph.nodes[u].get("service"), graph.nodes[v].get("service")
            if su == sv or graph.nodes[v].get("subscribable"):
                continue
            yield Hit(f"{graph.nodes[u]['name']} subscribes to {sv}:{graph.nodes[v]['name']}, which is not "
                      "`subscribable`", loc=d.get("loc"), names=(su, graph.nodes[u]["name"], f"{sv}:{graph.nodes[v]['name']}"),
                      nodes=(u, v), related=((v, f"{sv}:{graph.nodes[v]['name']} is defined here"),),
                      fix=f"set `subscribable: true` on {sv}:{graph.nodes[v]['name']}, if its owners agree")


class InvalidSubscription(Rule):
    id = "SLS104"
    name = "invalid-subscription"
    severity = "error"
    summary = "A function subscribing to its own lifecycle, or the same subscription twice."
    tags = ("communication",)
    what = """
A `function` event naming the function itself (its own start, success or failure would invoke it
again), or two `function` events of one function with the same target and type.
"""
    why = """
A self-subscription is an invocation loop; a duplicate subscription invokes the function twice
for every event, doubling side effects such as e-mails and charges.
"""
    example = """
functions:
  audit:
    events:
      - function: {name: audit, type: failed}
      - function: {name: charge, type: start}
      - function: {name: charge, type: start}
"""
    instead = """
functions:
  audit:
    events:
      - function: {name: charge, type: start}
"""

    def check(self, graph, context):
        # most functions subscribe to nothing: only subscribers' edges are listed, in their order
        subscribers = {u for u, _, _ in Q.edges_of_kind(graph, "subscribes")}
        for fn, d in Q.nodes_of_kind(graph, "function"):
            if fn not in subscribers:
                continue
            seen: dict = {}
            subscriptions = [t for t in Q.out_edges(graph, fn) if t[2]["kind"] == "subscribes"]
            for _, v, e in sorted(subscriptions, key=lambda t: (t[2]["loc"].line if t[2].get("loc") else 0)):
                if v == fn:
                    yield Hit(f"{d['name']} subscribes to its own lifecycle ({e.get('type') or 'any'} events): "
                              "an invocation loop", loc=e.get("loc"), names=(d.get("service"), d["name"], "self"),
                              nodes=(fn,), fix="remove the subscription")
                    continue
                key = (v, e.get("type"))
                if key in seen:
                    target = v.split(":", 1)[-1]
                    yield Hit(f"{d['name']} subscribes to {target} ({e.get('type') or 'any'}) twice",
                              loc=e.get("loc"), names=(d.get("service"), d["name"], v, e.get("type")),
                              nodes=(fn, v), related=((seen[key], "first subscription"),),
                              fix="remove the duplicate")
                else:
                    seen[key] = e.get("loc")


class UngrantedCall(Rule):
    id = "SLS106"
    name = "ungranted-call"
    severity = "warning"
    summary = "A declared call that the caller's role cannot make: it fails at run time."
    tags = ("communication", "iam")
    what = """
A `calling` entry naming a function of the repository that the caller's effective policy does not
allow it to invoke (`lambda:InvokeFunction` on the target's ARN; conditional grants do not count
here). Silent for opaque roles.
"""
    why = """
The declaration says the call is intended, but the first real invocation fails with
AccessDenied. `sls-audit policy` writes the statement the caller needs.
"""
    example = """
functions:
  charge:
    calling: ["users:getUser"]
# and no statement allows lambda:InvokeFunction on users-dev-getUser
"""
    instead = """
provider:
  iam:
    role:
      statements:
        - Effect: Allow
          Action: lambda:InvokeFunction
          Resource:
            - !ImportValue users-${sls:stage}-GetUserFunctionArn
"""

    def check(self, graph, context):
        from analyzer.iam.effective import effective_policy

        policies: dict = {}
        for u, v, d in Q.edges_of_kind(graph, "calls"):
            if d.get("evidence") != "calling" or graph.nodes[v].get("kind") != "function":
                continue
            if u not in policies:
                policies[u] = effective_policy(graph, u)
            pol = policies[u]
            if pol.opaque or pol.role is None:
                continue
            arn = graph.nodes[v]["arn"]
            if pol.allows("lambda:InvokeFunction", arn, count_conditional=False):
                continue
            target = f"{graph.nodes[v]['service']}:{graph.nodes[v]['name']}"
            yield Hit(f"{graph.nodes[u]['name']} declares a call to {target}, but its role does not allow "
                      f"lambda:InvokeFunction on it", loc=d.get("loc"),
                      names=(graph.nodes[u].get("service"), graph.nodes[u]["name"], target), nodes=(u, v),
                      fix="add the statement `sls-audit policy` proposes")


class UndeclaredCall(Rule):
    id = "SLS101"
    name = "undeclared-call"
    severity = "error"
    summary = "A function can or does invoke a function its `calling` list does not name."
    tags = ("communication", "security")
    what = """
A function whose role allows `lambda:InvokeFunction`, `lambda:InvokeAsync` or
`lambda:InvokeFunctionUrl` on another function (wildcards included: `Resource: "*"` reaches every
function), whose handler code invokes one (boto3, AWS SDK v2/v3, `sdk.invoke`), or whose
destinations name one, when its `calling` list does not name that function. One finding per
caller and evidence site, listing every undeclared target it reaches: at the IAM statement for
IAM evidence, at the `calling` list (or the function) for code and destinations, with the
evidence as related locations.
"""
    why = """
Closed by default: the `calling` list is the reviewed contract of who talks to whom. A grant or a
call outside it is an unreviewed dependency, and for IAM evidence an open door: any code running
as the caller can invoke those functions.
"""
    example = """
functions:
  charge:
    calling: ["users:getUser"]
provider:
  iam:
    role:
      statements:
        - Effect: Allow
          Action: lambda:InvokeFunction
          Resource: arn:aws:lambda:*:*:function:users-${sls:stage}-*   # also reaches users:deleteUser
"""
    instead = """
        - Effect: Allow
          Action: lambda:InvokeFunction
          Resource: !ImportValue users-${sls:stage}-GetUserFunctionArn
"""

    def check(self, graph, context):
        functions = Q.nodes_of_kind(graph, "function")
        # every function is named once here, not once per caller that reaches it
        function_names = {fn: f"{d.get('service')}:{d.get('name')}" for fn, d in functions}
        for fn, d in functions:
            sites: dict = {}
            for _, v, e in Q.out_edges(graph, fn):
                if e["kind"] != "calls" or e.get("declared") or e.get("evidence") in (None, "calling"):
                    continue
                site = (e["evidence"], e.get("stmt") or e.get("site") or "")
                found = sites.get(site)
                if found is None:
                    found = sites[site] = (e.get("loc"), set())
                found[1].add(v)
            for (evidence, where), (loc, targets) in sorted(sites.items()):
                names = sorted(function_names.get(t) or _target_name(graph, t) for t in targets)
                listed = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
                caller = d["name"]
                if evidence == "iam":
                    what = ("every function (`Resource: \"*\"`)" if "ext:*" in targets else listed)
                    yield Hit(f"{caller}'s role can invoke {what}, which its `calling` list does not name",
                              node=where, names=(d.get("service"), caller, "iam", tuple(names)),
                              related=((fn, f"function {caller}"),), nodes=(fn, *sorted(targets)),
                              fix="name the targets in `calling`, or narrow the statement to the declared targets")
                else:
                    via = f"handler code invokes {listed} ({where})" if evidence == "code" else f"{where} names {listed}"
                    yield Hit(f"{caller}'s {via}, which its `calling` list does not name",
                              loc=_calling_loc(graph, context, fn), names=(d.get("service"), caller, evidence, tuple(names)),
                              related=((loc, f"{evidence} evidence ({where})"),) if loc is not None else (),
                              nodes=(fn, *sorted(targets)), fix=f"add {names[0]} to `calling`")


def _target_name(graph, node: str) -> str:
    d = graph.nodes[node]
    if d.get("kind") == "function":
        return f"{d.get('service')}:{d.get('name')}"
    return node.split(":", 1)[-1]


def _calling_loc(graph, context, fn_id):
    """The `calling` key of the function (where a fix goes), or the function's own key."""
    fn = context.index.functions.get(fn_id)
    svc = context.index.services_by_id.get(fn.service) if fn else None
    cfg = fn.config if fn is not None else None
    if isinstance(cfg, MDict) and "calling" in cfg:
        return _loc(svc, cfg, "calling", f"functions.{fn.name}.calling")
    return graph.nodes[fn_id].get("loc")


_WRITES = {"s3:PutObject", "sns:Publish", "sqs:SendMessage", "sqs:SendMessageBatch", "kinesis:PutRecord",
           "kinesis:PutRecords", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
           "dynamodb:BatchWriteItem", "events:PutEvents"}


class CallCycle(Rule):
    id = "SLS105"
    name = "call-cycle"
    severity = "warning"
    summary = "A recursive invocation loop through calls, subscriptions or a resource that triggers its writer."
    tags = ("communication", "reliability")
    what = """
A cycle of invocations: declared or code calls, lifecycle subscriptions (the publisher's events
invoke the subscriber), or a function writing to a bucket, topic, queue, stream or table whose
events trigger it (or another function of the loop) again. Found with strongly connected
components, one finding per cycle, naming the functions in order.
"""
    why = """
A loop with no exit condition runs until throttled, costing money with every turn; AWS stops some
recursive loops through SQS, SNS and S3 after a few turns, but not loops through direct calls.
"""
    example = """
functions:
  resize:
    handler: resize.handler      # writes the thumbnail back to the same bucket
    events:
      - s3: {bucket: photos, event: "s3:ObjectCreated:*"}
"""
    instead = """
functions:
  resize:
    handler: resize.handler      # writes to a separate bucket, or filters by prefix
    events:
      - s3: {bucket: photos, event: "s3:ObjectCreated:*", rules: [{prefix: uploads/}]}
"""

    def check(self, graph, context):
        import networkx as nx

        functions = Q.nodes_of_kind(graph, "function")
        function_ids = {fn for fn, _ in functions}
        edges: list = []  # (from, to) of the invocation flow, added to it at once
        why: dict = {}
        for u, v, d in Q.edges_of_kind(graph, "calls"):
            if d.get("evidence") in ("calling", "code") and v in function_ids:
                edges.append((u, v))
                why.setdefault((u, v), (d.get("loc"), "calls"))
        for u, v, d in Q.edges_of_kind(graph, "subscribes"):
            if v in function_ids:
                edges.append((v, u))  # the publisher's lifecycle invokes the subscriber
                why.setdefault((v, u), (d.get("loc"), f"{graph.nodes[v]['name']} {d.get('type') or ''} events"))
        triggered: dict = {}
        for src, fn, d in Q.edges_of_kind(graph, "triggers"):
            triggered.setdefault(src, []).append(fn)
        for fn, _ in functions:
            if not context.minimal.knowable(fn):
                continue
            for need in context.minimal.of(fn).needs:
                if not need.from_code or not _WRITES.intersection(need.actions):
                    continue
                for key in need.keys:
                    res = _resource_of_key(key)
                    for target in triggered.get(res, ()):
                        edges.append((fn, target))
                        why.setdefault((fn, target), (need.loc, f"writes {res.split(':', 1)[-1]}"))
        flow = nx.DiGraph(edges)
        # loops only: a component of several functions, or one calling itself
        loops = [sorted(c) for c in nx.strongly_connected_components(flow)
                 if len(c) > 1 or any(flow.has_edge(n, n) for n in c)]
        for comp in sorted(loops, key=lambda c: c[0]):
            order = _cycle_order(flow, comp)
            names = [f"{graph.nodes[n].get('service')}:{graph.nodes[n].get('name')}" for n in order]
            first = (order[0], order[1] if len(order) > 1 else order[0])
            loc, reason = why.get(first, (None, ""))
            path = " -> ".join(names + [names[0]])
            related = tuple((why[(a, b)][0], why[(a, b)][1]) for a, b in zip(order, order[1:] + order[:1])
                            if (a, b) in why and why[(a, b)][0] is not None)
            yield Hit(f"invocation loop: {path}", loc=loc, node=None if loc else order[0],
                      names=tuple(sorted(names)), related=related, nodes=tuple(order),
                      fix="break the loop: separate the resource, filter the event, or remove a call")


def _resource_of_key(key: str) -> str:
    if key.startswith("{res:"):
        return "res:" + key[5:].split("}", 1)[0]
    return ""


def _cycle_order(flow, comp: list) -> list:
    """One cycle through a strongly connected component, in call order (stable)."""
    members = set(comp)
    start = comp[0]
    order, seen, cur = [start], {start}, start
    while True:
        nxt = sorted(v for v in flow.successors(cur) if v in members)
        step = next((v for v in nxt if v not in seen), None)
        if step is None:
            return order
        order.append(step)
        seen.add(step)
        cur = step


RULES = [InvalidExtension, UndeclaredCall, UnknownCallTarget, NotSubscribable, InvalidSubscription,
         CallCycle, UngrantedCall]
