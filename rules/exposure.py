"""The exposure family: what is reachable from the internet (SLS301-SLS303).

SLS301 and SLS302 read the `triggers` edges of the API and function-URL events;
SLS303 reads the resolved `environment` blocks of the provider and the functions.
All three honour the `public:` allowlist of the configuration where it applies.
"""
from __future__ import annotations

import fnmatch
import functools
import math
import re
from collections import Counter
from dataclasses import replace
from itertools import pairwise

from analyzer.findings import Hit
from analyzer.graph.template import ADDED
from analyzer.graph import queries as Q
from analyzer.loaders.yamlmarks import MDict
from analyzer.model import Loc, entry_loc

from .base import Rule

API_EVENTS = ("http", "httpApi", "websocket")


# ---- the `public:` allowlist ------------------------------------------------------------------

def _norm_path(path: str) -> str:
    """`users/{id}/` and `/users/{id}` are the same REST path; `*` and `$connect` stay as written."""
    path = (path or "").strip()
    if not path or path.startswith(("$", "*")):
        return path or "/"
    path = "/" + path.lstrip("/")
    return path.rstrip("/") or "/"


def _parse_public(entry: str) -> dict | None:
    """One `public:` entry -> what it matches: service, function, method, path (globs, None = any).

    Forms: `GET /health`, `/health`, `$connect`, `users:getHealth`, `users:*`,
    `users:GET /health`, `users:/health`.
    """
    text = entry.strip()
    if not text:
        return None
    service = None
    head, _, rest = text.partition(" ")
    rest = rest.strip()
    if rest:                                     # `[service:]METHOD path`
        if ":" in head:
            service, head = head.split(":", 1)
        method = head.upper()
        return {"service": service, "function": None,
                "method": None if method in ("*", "ANY") else method, "path": _norm_path(rest)}
    if text.startswith(("/", "$")) or ":" not in text:   # a path or websocket route
        return {"service": None, "function": None, "method": None, "path": _norm_path(text)}
    service, _, what = text.partition(":")
    if what.startswith(("/", "$")):
        return {"service": service, "function": None, "method": None, "path": _norm_path(what)}
    return {"service": service, "function": what or "*", "method": None, "path": None}


def _glob(pattern: str | None, value: str | None) -> bool:
    return pattern is None or fnmatch.fnmatchcase(value or "", pattern)


def allowed_public(config, service: str, function: str, method: str | None = None,
                   path: str | None = None) -> bool:
    """True when a `public:` entry of the configuration names this endpoint or function.

    A `METHOD path` entry needs the event's method to match (`ANY` and `*` in an entry match
    every method; an event for every method is matched only by such an entry).
    A path entry needs an event with a path (a function URL has none: name its function).
    """
    for entry in getattr(config, "public", None) or []:
        spec = _parse_public(str(entry))
        if spec is None:
            continue
        if spec["service"] is not None and not _glob(spec["service"], service):
            continue
        if spec["function"] is not None and not _glob(spec["function"], function):
            continue
        if spec["path"] is not None and (path is None or not _glob(spec["path"], _norm_path(path))):
            continue
        if spec["method"] is not None and not _glob(spec["method"], (method or "ANY").upper()):
            continue
        return True
    return False


# ---- shared helpers ---------------------------------------------------------------------------

def _service_of(graph, context, fn: str):
    """(service node id, service model or None) of a function node."""
    model = context.index.functions.get(fn) if context.index is not None else None
    sid = getattr(model, "service", None)
    if sid is None:
        owners = Q.in_by_kind(graph, fn, "contains")
        sid = owners[0] if owners else None
    svc = context.index.services_by_id.get(sid) if (context.index is not None and sid) else None
    return sid, svc


def _provider_of(graph, sid: str | None) -> str:
    if sid is None or sid not in graph:
        return "aws"
    return str(graph.nodes[sid].get("provider") or "aws")


def _no_authorizer(auth) -> bool:
    return auth is None or str(auth).strip().lower() in ("", "none", "false")


def _display_path(event: str, path) -> str:
    if event == "websocket":
        return str(path or "$default")
    return _norm_path(str(path)) if path else "/"


def _provider_cfg(svc) -> MDict | None:
    doc = getattr(svc, "doc", None)
    prov = doc.get("provider") if isinstance(doc, MDict) else None
    return prov if isinstance(prov, MDict) else None


_RESTRICTING_KEYS = ("aws:sourceip", "aws:sourcevpc", "aws:sourcevpce", "aws:principalorgid",
                     "aws:principalaccount", "aws:sourceaccount", "aws:principalarn")


def _rest_api_restricted(svc) -> bool:
    """A REST API the network or a resource policy closes: `endpointType: PRIVATE` (reachable only
    through VPC endpoints) or `apiGateway.resourcePolicy` with a source IP/VPC/account condition."""
    prov = _provider_cfg(svc)
    if prov is None:
        return False
    endpoint = prov.get("endpointType")
    gw = prov.get("apiGateway")
    if isinstance(gw, MDict) and gw.get("endpointType") is not None:
        endpoint = gw.get("endpointType")
    if isinstance(endpoint, str) and endpoint.strip().upper() == "PRIVATE":
        return True
    policy = gw.get("resourcePolicy") if isinstance(gw, MDict) else None
    if policy is None:
        policy = prov.get("resourcePolicy")  # the pre-v2 place
    statements = [st for st in policy if isinstance(st, dict)] if isinstance(policy, list) else []
    allows = [st for st in statements if str(st.get("Effect", "")).lower() == "allow"]
    denies = [st for st in statements if str(st.get("Effect", "")).lower() == "deny"]
    # closed when a Deny limits the callers (`NotIpAddress`), or when every Allow does
    return any(_restricting(st) for st in denies) or (bool(allows) and all(_restricting(st) for st in allows))


def _restricting(statement: dict) -> bool:
    cond = statement.get("Condition")
    return isinstance(cond, dict) and any(
        isinstance(block, dict) and any(str(k).lower() in _RESTRICTING_KEYS for k in block)
        for block in cond.values())


class PublicEndpoint(Rule):
    id = "SLS301"
    name = "public-endpoint"
    severity = "warning"
    summary = "An http, httpApi or websocket event with no authorizer (and, for REST, not `private: true`)."
    tags = ("exposure", "security")
    what = """
An API Gateway event that anyone on the internet can call:

- `http` (REST API): no `authorizer` (a Lambda authorizer, Cognito, or `aws_iam`) and not
  `private: true` (API key required, keys listed under `provider.apiGateway.apiKeys`). Silent for
  the whole REST API when it is not internet-facing: `endpointType: PRIVATE` (VPC endpoints only),
  or an `apiGateway.resourcePolicy` that restricts the caller by `aws:SourceIp`, `aws:SourceVpc`,
  `aws:SourceVpce` or an account/organization condition (in a Deny, or in every Allow).
- `httpApi` (HTTP API): no `authorizer` on the route (authorizers are defined once under
  `provider.httpApi.authorizers` and named per route; `type: aws_iam` counts). `private` does not
  exist for HTTP APIs and is ignored.
- `websocket`: authorization happens only on `$connect` (other routes run on the authorized
  connection), so a websocket API is reported once, on its `$connect` route, when that route has
  no authorizer; or on its first route when it has no `$connect` route at all (every connection is
  then accepted).

Explicit `OPTIONS` routes are not reported (CORS preflight requests carry no credentials).
Services of other providers are left to SLS501-SLS503.

Endpoints meant to be public are listed under `public:` in `.sls-audit.yml`; each entry is a glob
(`fnmatch`: `*` also crosses `/`) in one of these forms:

- `GET /health`: a method and a path (`ANY` or `*` as the method matches every method; an event
  for every method, `method: any`, is only matched by such an entry);
- `/health`, `/public/*`: a path, any method (REST paths match with or without the leading `/`);
- `$connect`: a websocket route;
- `users:getHealth`, `users:*`, `*:health*`: `<service>:<function>`, every API event of the
  function (the service is the `service:` value);
- `users:GET /health`, `users:/health`: a method and/or path in one service only.
"""
    why = """
An endpoint without an authorizer runs your function, and whatever its role allows, for every
anonymous request: data exposure when it reads, abuse and cost when it writes or calls paid
services. Authorization written inside the handler is easy to forget on the next route, and is
invisible to reviewers of the configuration. Endpoints that must be public (health checks,
webhooks verified by signature, login) are then declared once, under `public:`, where a reviewer
sees them.
"""
    example = """
functions:
  getOrder:
    handler: orders.get
    events:
      - http:
          path: orders/{id}
          method: get
"""
    instead = """
functions:
  getOrder:
    handler: orders.get
    events:
      - http:
          path: orders/{id}
          method: get
          authorizer:
            type: COGNITO_USER_POOLS
            arn: !GetAtt UserPool.Arn
# or, for an endpoint that is public on purpose, in .sls-audit.yml:
# public:
#   - "GET /health"
"""
    references = (
        "https://www.serverless.com/framework/docs/providers/aws/events/apigateway#http-endpoints-with-custom-authorizers",
        "https://www.serverless.com/framework/docs/providers/aws/events/http-api#jwt-authorizers",
        "https://www.serverless.com/framework/docs/providers/aws/events/websocket#using-authorizers",
        "https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-control-access-to-api.html",
    )

    def check(self, graph, context):
        websockets: dict = {}
        for src, fn, d in _triggers(graph, lambda event: event in API_EVENTS):
            sid, svc = _service_of(graph, context, fn)
            if _provider_of(graph, sid) != "aws":
                continue  # SLS501-SLS503
            if d["event"] == "websocket":
                websockets.setdefault(src, []).append((fn, d, sid))
                continue
            method = (d.get("method") or "ANY").upper()
            if method == "OPTIONS" or not _no_authorizer(d.get("authorizer")):
                continue
            if d["event"] == "http" and (d.get("private") or (svc is not None and _rest_api_restricted(svc))):
                continue
            yield from self._report(graph, context, fn, d, method)
        for src, routes in websockets.items():
            connect = [r for r in routes if (r[1].get("path") or "") == "$connect"]
            if any(not _no_authorizer(d.get("authorizer")) for _, d, _ in connect):
                continue
            if connect:
                for fn, d, _ in connect:
                    yield from self._report(graph, context, fn, d, None)
            else:
                fn, d, _ = routes[0]
                yield from self._report(graph, context, fn, d, None, no_connect=routes)

    def _report(self, graph, context, fn, d, method, no_connect=None):
        fd = graph.nodes[fn]
        service, name = fd.get("service"), fd.get("name")
        event = d["event"]
        path = _display_path(event, d.get("path"))
        if event == "websocket":
            if no_connect:
                routes = sorted({_display_path(event, r[1].get("path")) for r in no_connect})
                fns = sorted({r[0] for r in no_connect})
                # the API is open as a whole: silenced by `$connect` (or the service) in `public:`,
                # or when every route is listed there
                if allowed_public(context.config, service, "", None, "$connect") or all(
                        allowed_public(context.config, graph.nodes[f].get("service"), graph.nodes[f].get("name"),
                                       None, _display_path(event, r.get("path")))
                        for f, r, _ in no_connect):
                    return
                message = (f"public websocket API: it has no $connect route, so every connection is "
                           f"accepted and reaches {', '.join(routes)} ({Q.function_names(graph, fns)}) "
                           f"unauthenticated")
                names = (service, "websocket", "no-$connect")
            else:
                if allowed_public(context.config, service, name, None, path):
                    return
                message = (f"public websocket API: route $connect ({service}.{name}) has no authorizer, "
                           f"so every route of the API is open to anyone")
                names = (service, "websocket", "$connect")
            yield Hit(message, loc=d.get("loc"), names=names,
                      nodes=tuple(sorted({r[0] for r in no_connect})) if no_connect else (fn,),
                      fix="add an authorizer to the $connect route, or list it under `public:`")
            return
        if allowed_public(context.config, service, name, method, path):
            return
        api = "REST API" if event == "http" else "HTTP API"
        extra = " and is not `private: true`" if event == "http" else ""
        yield Hit(f"public endpoint: {method} {path} ({api}) invokes {service}.{name} with no "
                  f"authorizer{extra}", loc=d.get("loc"), names=(service, name, event, method, path),
                  nodes=(fn,), fix="add an authorizer, or list the endpoint under `public:` in .sls-audit.yml")


def _triggers(graph, wanted):
    """`triggers` edges whose event is wanted, in source order (filtered before sorting)."""
    from analyzer.graph.queries import edges_of_kind

    edges = [e for e in edges_of_kind(graph, "triggers") if wanted(e[2].get("event"))]
    return sorted(edges, key=_edge_order)


def _edge_order(e):
    loc = e[2].get("loc")
    return (getattr(loc, "file", ""), getattr(loc, "line", 0), getattr(loc, "column", 0), e[0], e[1])


class PublicFunctionUrl(Rule):
    id = "SLS302"
    name = "public-function-url"
    severity = "error"
    summary = "A function URL without `authorizer: aws_iam`: anyone can invoke the function."
    tags = ("exposure", "security")
    what = """
A function with `url: true`, or `url:` with an `authorizer` other than `aws_iam` (absent or
`none`): the framework creates the URL with `AuthType: NONE` and a public `lambda:InvokeFunctionUrl`
permission. Functions meant to be public are listed under `public:` in `.sls-audit.yml` as
`<service>:<function>` (globs allowed: `webhooks:*`).
"""
    why = """
A function URL has no throttling, no authorizer, no WAF and no API keys in front of it: every
request on the internet runs the function with its role. Unlike an API Gateway endpoint it is easy
to add (one line) and easy to overlook in review.
"""
    example = """
functions:
  export:
    handler: export.handler
    url: true
"""
    instead = """
functions:
  export:
    handler: export.handler
    url:
      authorizer: aws_iam   # callers sign requests with SigV4
# or put it behind API Gateway with an authorizer (SLS301)
"""
    references = (
        "https://www.serverless.com/framework/docs/providers/aws/guide/functions#lambda-function-urls",
        "https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html",
    )

    def check(self, graph, context):
        for src, fn, d in _triggers(graph, lambda event: event == "url"):
            sid, _ = _service_of(graph, context, fn)
            if _provider_of(graph, sid) != "aws":
                continue
            auth = d.get("authorizer")
            if not _no_authorizer(auth) and str(auth).strip().lower() == "aws_iam":
                continue
            fd = graph.nodes[fn]
            service, name = fd.get("service"), fd.get("name")
            if allowed_public(context.config, service, name):
                continue
            how = "no authorizer" if _no_authorizer(auth) else f"authorizer `{auth}`, not aws_iam"
            yield Hit(f"public function URL: {service}.{name} has a URL with {how}, so anyone can "
                      f"invoke it", loc=d.get("loc"), names=(service, name, "url"), nodes=(fn,),
                      fix="set `url.authorizer: aws_iam`, or list the function under `public:`")


# ---- SLS303 plaintext secrets -----------------------------------------------------------------

# (kind, pattern): formats whose shape alone says "credential", wherever they occur in the value
_TOKEN_FORMATS = (
    ("private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")),
    ("AWS access key id", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])")),
    ("Stripe secret key", re.compile(r"(?<![A-Za-z0-9])(?:sk|rk)_(?:live|test|prod)_[A-Za-z0-9]{16,}")),
    ("GitHub token", re.compile(r"(?<![A-Za-z0-9])(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})")),
    ("GitLab token", re.compile(r"(?<![A-Za-z0-9])glpat-[A-Za-z0-9_-]{20,}")),
    ("Slack token", re.compile(r"(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,}")),
    ("Slack webhook URL", re.compile(r"https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9]+/[A-Za-z0-9]+/[A-Za-z0-9]{8,}")),
    ("SendGrid API key", re.compile(r"(?<![A-Za-z0-9])SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{30,50}")),
    ("Google API key", re.compile(r"(?<![A-Za-z0-9])AIza[0-9A-Za-z_-]{35}")),
    ("Twilio API key", re.compile(r"(?<![A-Za-z0-9])SK[0-9a-f]{32}(?![0-9a-f])")),
    ("OpenAI API key", re.compile(r"(?<![A-Za-z0-9])sk-(?:proj-[A-Za-z0-9_-]{20,}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})")),
    ("Anthropic API key", re.compile(r"(?<![A-Za-z0-9])sk-ant-[a-z0-9]+-[A-Za-z0-9_-]{20,}")),
    ("npm token", re.compile(r"(?<![A-Za-z0-9])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])")),
    ("Mailgun API key", re.compile(r"(?<![A-Za-z0-9])key-[0-9a-f]{32}(?![0-9a-f])")),
    ("Shopify access token", re.compile(r"(?<![A-Za-z0-9])shp(?:at|ca|pa|ss)_[0-9a-fA-F]{32}")),
    ("Telegram bot token", re.compile(r"(?<![0-9])[0-9]{8,10}:AA[A-Za-z0-9_-]{33}(?![A-Za-z0-9_-])")),
    ("JSON Web Token", re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")),
)
_AWS_SECRET = re.compile(r"[A-Za-z0-9/+]{40}")
_CREDENTIAL_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://([^/\s:@]+):([^/\s@]+)@([^/\s:?#]+)")
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "0.0.0.0", "host.docker.internal", "::1", "db", "postgres",
                "mysql", "redis", "mongo", "mongodb")

# words of a variable name that make it secret-looking (the name is split on `_`, `-`, `.` and camelCase)
_SECRET_WORDS = {"password", "passwd", "pwd", "pass", "passphrase", "secret", "secrets", "token",
                 "credential", "credentials", "creds", "apikey", "privatekey", "auth", "signature"}
# pairs of adjacent words that do the same (API_KEY, PRIVATE_KEY, ...)
_SECRET_PAIRS = {("api", "key"), ("private", "key"), ("access", "key"), ("secret", "key"),
                 ("signing", "key"), ("encryption", "key"), ("master", "key"), ("app", "key"),
                 ("client", "key"), ("license", "key"), ("account", "key"), ("service", "key"),
                 ("webhook", "key"), ("hmac", "key"), ("session", "key"), ("jwt", "key")}
_PASSWORD_WORDS = {"password", "passwd", "pwd", "pass", "passphrase"}
# a name ending in one of these names a thing about the secret, not the secret itself
_NOT_SECRET_TAILS = {"arn", "name", "names", "id", "url", "uri", "path", "param", "parameter", "table",
                     "bucket", "queue", "topic", "region", "ttl", "expiry", "expiration", "expires",
                     "length", "header", "field", "type", "endpoint", "host", "port", "file", "enabled",
                     "version", "ref", "prefix", "stage", "env", "algorithm", "alg", "issuer", "audience",
                     "duration", "seconds", "minutes", "hours", "days", "timeout", "policy", "location",
                     "store", "key_id", "format", "mode", "size", "count", "user", "username", "email"}
_PUBLIC_WORDS = {"public", "publishable", "pub"}
_PLACEHOLDER_WORDS = ("changeme", "change_me", "change-me", "changeit", "replace", "your", "example",
                      "placeholder", "dummy", "todo", "fixme", "xxxx", "****", "redacted", "insert",
                      "fake", "sample", "notasecret", "not-a-secret", "secret-here")

ENTROPY_BITS = 3.5      # bits per character a random-looking value has at least
ENTROPY_MIN_LENGTH = 16
HEX_ENTROPY_BITS = 3.0  # hex digits carry at most 4 bits
PASSWORD_MIN_LENGTH = 8


def shannon_entropy(text: str) -> float:
    """Bits per character of `text`'s own character distribution."""
    if not text:
        return 0.0
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NOT_WORD = re.compile(r"[^A-Za-z0-9]+")


def _name_words(name: str) -> list[str]:
    spaced = _CAMEL_HUMP.sub("_", name)
    return [w for w in _NOT_WORD.split(spaced.lower()) if w]


@functools.lru_cache(maxsize=4096)
def secret_name(name: str) -> str | None:
    """'password' or 'secret' when a variable name says it holds one, None otherwise.

    Cached: a repository repeats a few hundred variable names across thousands of values."""
    words = _name_words(name)
    unique = set(words)
    if not words or _PUBLIC_WORDS & unique:
        return None
    if words[-1] in _NOT_SECRET_TAILS or "_".join(words[-2:]) in _NOT_SECRET_TAILS:
        return None
    if words[-1] in ("id", "ids") or (len(words) >= 2 and words[-2:] == ["key", "id"]):
        return None
    if _PASSWORD_WORDS & unique:
        return "password"
    if _SECRET_WORDS & unique or any(p in _SECRET_PAIRS for p in pairwise(words)):
        return "secret"
    joined = "".join(words)
    if any(w in joined for w in ("apikey", "secretkey", "privatekey", "accesskey", "password", "secret",
                                 "token")):
        return "secret"
    return None


def is_placeholder(value: str) -> bool:
    low = value.strip().lower()
    if not low:
        return True
    if (low.startswith("<") and low.endswith(">")) or "{{" in low or "${" in low:
        return True
    if len(set(low)) <= 2:
        return True
    return any(w in low for w in _PLACEHOLDER_WORDS)


_SLUG = re.compile(r"^[a-z][a-z0-9]*(?:[-_.:/][a-z0-9]+)+$")
_HOSTNAME = re.compile(r"^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")


def _slug(value: str) -> bool:
    """A lowercase name made of words (`orders-prod-v2-events`), such as a table or queue name."""
    if not _SLUG.match(value):
        return False
    return all(p.isalpha() or p.isdigit() or len(p) <= 4 for p in re.split(r"[-_.:/]", value))


def _classes(value: str) -> int:
    return sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]"))


def _random_looking(value: str) -> bool:
    """A value a person did not type as words: long enough, high entropy, not a name or address."""
    if len(value) < ENTROPY_MIN_LENGTH or re.search(r"\s", value):
        return False
    if value.lower().startswith("arn:") or "://" in value or value.startswith("/"):
        return False
    if _slug(value) or _HOSTNAME.match(value) or _EMAIL.match(value):
        return False
    if _HEX.match(value):
        return (re.search(r"[a-fA-F]", value) is not None and re.search(r"[0-9]", value) is not None
                and shannon_entropy(value.lower()) >= HEX_ENTROPY_BITS)
    return _classes(value) >= 2 and shannon_entropy(value) >= ENTROPY_BITS


def classify_secret(name: str, value) -> str | None:
    """The kind of secret a plain-string environment value holds, or None.

    Only plain `str` values are judged: numbers, CloudFormation intrinsics (`!Ref`, `!GetAtt`...)
    and symbolic values (`${ssm:}`, `${cf:}`, `${env:X}` without a default...) never are.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    for kind, pattern in _TOKEN_FORMATS:
        m = pattern.search(text)
        if m and not is_placeholder(m.group(0)):
            return kind
    m = _CREDENTIAL_URL.match(text)
    if m:
        _, password, host = m.groups()
        if (host.lower() not in _LOCAL_HOSTS and not is_placeholder(password)
                and password.lower() not in ("password", "pass", "secret", "pwd")):
            return "password in a connection URL"
        return None
    named = secret_name(str(name))
    if named is None or is_placeholder(text):
        return None
    words = _name_words(str(name))
    if _AWS_SECRET.fullmatch(text) and ("secret" in words or "aws" in words) and shannon_entropy(text) >= 4.0:
        return "AWS secret access key"
    if _random_looking(text):
        return "high-entropy " + ("password" if named == "password" else "secret")
    if (named == "password" and len(text) >= PASSWORD_MIN_LENGTH and not re.search(r"\s", text)
            and _classes(text) >= 3):
        return "password"
    return None


def _preview(value: str) -> str:
    """At most the first 4 characters (fewer for short values), never the secret itself."""
    n = min(4, len(value) // 4)
    return (value[:n] + "…") if n else "…"


def _within(inner, outer) -> bool:
    return bool(inner and outer) and (inner[0], inner[1]) >= (outer[0], outer[1]) \
        and (inner[2], inner[3]) <= (outer[2], outer[3])


def _loc(file: str, container: MDict, key, key_path: str) -> Loc:
    return entry_loc(container, key, file, key_path)


def _entry_loc(svc, steps: tuple, env: MDict, key, key_path: str) -> Loc:
    """Where `env[key]` was written.

    Spans are kept per value, but only the root of a `${file()}` document knows its file: walking
    down from the service document, the file is the last `source` met. A mapping brought in by a
    reference to a part of another document (`${file(./env.yml):prod}`, `${self:custom.env}`) has
    spans of a place the walk cannot name; the finding is then located at the entry holding that
    reference, in the file that holds it.
    """
    file = getattr(svc.doc, "source", None) or svc.file
    container = svc.doc
    path = ""
    for step in steps:
        child = container.get(step) if isinstance(container, MDict) else None
        path = f"{path}.{step}" if path else str(step)
        if not isinstance(child, MDict):
            break
        source = getattr(child, "source", None)
        if source:
            file = source
        elif not _within(child.span, container.vspans.get(step)):
            return _loc(file, container, step, path)
        container = child
    return _loc(file, env, key, key_path)


class PlaintextSecret(Rule):
    id = "SLS303"
    name = "plaintext-secret"
    severity = "error"
    summary = "A secret-looking value written in `environment` (use an SSM or Secrets Manager reference)."
    tags = ("exposure", "security", "secrets")
    what = """
A plain-string value in `provider.environment` or `functions.<f>.environment` (after variables are
resolved: a `${self:custom.x}` or `${file()}` that yields a literal counts, as does the default of
`${env:X, 'default'}`) that is a credential:

- a known token format, anywhere in the value: AWS access key ids (`AKIA…`, `ASIA…`), Stripe keys
  (`sk_live_`, `rk_live_`, `sk_test_`), GitHub (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`,
  `github_pat_`), GitLab (`glpat-`), Slack tokens (`xoxb-`, `xoxp-`, …) and webhook URLs,
  private keys (`-----BEGIN … PRIVATE KEY-----`), JSON Web Tokens (`eyJ….eyJ….…`), Google API keys
  (`AIza…`), Twilio API keys (`SK` + 32 hex), SendGrid (`SG.….…`), Telegram bot tokens, OpenAI,
  Anthropic, npm, Mailgun and Shopify tokens;
- a URL with a password in it (`postgres://app:s3cr3t@db.internal/app`), except for local hosts
  (`localhost`, `127.0.0.1`, docker service names such as `db`) and placeholder passwords
  (`password`, `pass`, `secret`);
- under a secret-looking name (words such as PASSWORD, SECRET, TOKEN, CREDENTIALS, AUTH, or
  API_KEY, PRIVATE_KEY, ACCESS_KEY, SIGNING_KEY…, but not names ending in ARN, NAME, ID, URL,
  PATH, TABLE, TTL… which name something about the secret, nor names with PUBLIC/PUBLISHABLE): an
  AWS secret access key (40 base64 characters), a random-looking value (at least 16 characters,
  at least 3.5 bits of Shannon entropy per character, 3.0 for hexadecimal, no spaces, not an ARN,
  path, URL, host name, e-mail address or lowercase slug such as a table name), or, under a
  password name, a value of 8 characters or more mixing three character classes (`Tr0ub4dor&3`).

Never reported: `${ssm:…}` and `${ssm:/aws/reference/secretsmanager/…}` references, `!Ref`,
`!GetAtt` and other intrinsics, `${cf:}` and other values that stay symbolic, numbers and
booleans, low-entropy words (`password`, `abc123`, `dev`), and placeholders: values containing
`changeme`, `replace`, `your`, `example` (AWS's documented `AKIAIOSFODNN7EXAMPLE`), `dummy`,
`placeholder`, `xxxx`, `todo`, or written as `<…>` or `{{…}}`. A provider-level secret is
reported once, not once per function. The finding is located at the variable (in the included
file for `environment: ${file(./env.yml)}`; at the `environment` entry when the whole block comes
from a part of another document, `${self:custom.env}` or `${file(./env.yml):prod}`). The message
names the variable and the kind of secret and shows at most its first four characters.
"""
    why = """
Whatever is written in `environment` is committed to the repository, copied into every clone, CI
log and CloudFormation template, and readable by anyone who can read the function's
configuration (`lambda:GetFunctionConfiguration`, the console). Rotating it means a deploy. A
reference to SSM Parameter Store (SecureString) or Secrets Manager keeps the secret out of the
repository and lets it be rotated and audited; reading it at run time (with the AWS Parameters
and Secrets Lambda Extension, or an SDK call) also keeps it out of the function configuration.
"""
    example = """
provider:
  environment:
    STRIPE_SECRET_KEY: sk_live_4eC39HqLyjWDarjtT1zdp7dc
functions:
  sync:
    handler: sync.handler
    environment:
      DB_PASSWORD: Zq8#vT2!pLr6
"""
    instead = """
provider:
  environment:
    STRIPE_SECRET_KEY: ${ssm:/billing/prod/stripe-secret-key}
functions:
  sync:
    handler: sync.handler
    environment:
      DB_PASSWORD: ${ssm:/aws/reference/secretsmanager/prod/db-password}
      # or pass only the name and read it at run time:
      DB_SECRET_ID: prod/db-password
"""
    references = (
        "https://www.serverless.com/framework/docs/providers/aws/guide/variables#reference-variables-using-the-ssm-parameter-store",
        "https://docs.aws.amazon.com/secretsmanager/latest/userguide/retrieving-secrets_lambda.html",
        "https://cwe.mitre.org/data/definitions/798.html",
    )

    def check(self, graph, context):
        index = context.index
        if index is None:
            return
        verdicts: dict = {}

        def classify(key, value):
            """classify_secret, once per distinct name and text (`STAGE: dev` is in every service)."""
            if not isinstance(value, str):
                return None
            seen = (str(key), value)
            if seen not in verdicts:
                verdicts[seen] = classify_secret(key, value)
            return verdicts[seen]

        for svc in sorted(index.services_by_id.values(), key=lambda s: s.id):
            prov = _provider_cfg(svc)
            env = prov.get("environment") if prov is not None else None
            if isinstance(env, MDict):
                for key in env:
                    kind = classify(key, env[key])
                    if kind:
                        yield self._hit(svc, None, ("provider", "environment"), env, key, kind)
            for fn in svc.functions:
                cfg = fn.config
                fenv = cfg.get("environment") if isinstance(cfg, MDict) else None
                if isinstance(fenv, MDict):
                    for key in fenv:
                        kind = classify(key, fenv[key])
                        if kind:
                            yield self._hit(svc, fn, ("functions", fn.name, "environment"), fenv, key, kind)
                yield from self._deployed_only(svc, fn, env, fenv, classify)

    def _deployed_only(self, svc, fn, penv, fenv, classify):
        """Variables only the synthesized template sets (a plugin injected them): reported on the
        function in serverless.yml, the template entry as related location."""
        deployed = fn.deployed_environment
        if not isinstance(deployed, MDict) or fn.loc is None:
            return
        for key in deployed:
            if (isinstance(fenv, MDict) and key in fenv) or (isinstance(penv, MDict) and key in penv):
                continue
            kind = classify(key, deployed[key])
            if not kind:
                continue
            where = entry_loc(deployed, key, getattr(deployed, "source", "") or fn.loc.file, f"Environment.Variables.{key}")
            loc = where if fn.loc.file == where.file else replace(  # a template analysed alone: itself
                fn.loc, deployed=where, note=ADDED.format(what="environment variable"))
            yield Hit(f"environment variable {key} of {svc.name}.{fn.name} holds a plaintext {kind} "
                      f"({_preview(str(deployed[key]).strip())!s})", loc=loc,
                      names=(svc.name, fn.name, str(key), kind, "template"), nodes=(fn.id,),
                      fix="reference it from SSM Parameter Store or Secrets Manager (`${ssm:/path}`)")

    def _hit(self, svc, fn, steps, env, key, kind):
        key_path = ".".join(steps) + f".{key}"
        value = str(env[key]).strip()
        where = f"of {svc.name}.{fn.name}" if fn is not None else \
            f"of service {svc.name} (provider level: every function gets it)"
        return Hit(f"environment variable {key} {where} holds a plaintext {kind} ({_preview(value)!s})",
                   loc=_entry_loc(svc, steps, env, key, key_path), key_path=key_path,
                   names=(svc.name, fn.name if fn is not None else "provider", str(key), kind),
                   nodes=(fn.id,) if fn is not None else (svc.id,),
                   fix="reference it from SSM Parameter Store or Secrets Manager (`${ssm:/path}`)")


RULES = [PublicEndpoint, PublicFunctionUrl, PlaintextSecret]
