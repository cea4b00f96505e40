"""The least-privilege policy each function needs (DESIGN §4), with the evidence for each grant.

Sources: declared `calling` targets, being subscribed to (lifecycle topic),
destinations, polled event sources, and the AWS SDK calls found in handler code
with resources bound through environment variables. Logs, which the framework
grants itself, are left out. When a function's code is unknown (no handler file,
scanning off, or calls that cannot be resolved statically) the policy is marked
incomplete and the rules that compare against it stay silent.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from ..frameworks import lambda_logical_id
from ..graph import queries as Q
from ..loaders import symbols as S
from ..loaders.service import _dest_arn, _destination_actions, _event_permissions
from ..loaders.yamlmarks import MDict
from ..model import Loc
from .resources import resource_key

_MARKER = re.compile(r"\{res:([^}]+)\}")
# resource type -> how to write its ARN from the logical id (`!Ref` gives the ARN for these)
_REF_IS_ARN = {"AWS::SNS::Topic", "AWS::SecretsManager::Secret", "AWS::StepFunctions::StateMachine",
               "AWS::IAM::ManagedPolicy"}


@dataclass
class Need:
    sid: str
    actions: tuple
    resources: tuple           # values ready for a policy (strings or CloudFormation intrinsics)
    keys: tuple                # comparable resource keys (analyzer.iam.resources)
    evidence: str
    loc: object = None         # model.Loc of the evidence
    from_code: bool = False


@dataclass
class MinimalPolicy:
    function: str
    needs: list = field(default_factory=list)
    known: bool = True
    why_unknown: str = ""
    _pairs: frozenset | None = field(default=None, repr=False, compare=False)

    def pairs(self) -> frozenset:
        """(action, resource key) pairs the policy needs; made once (rules compare them per
        role, and policies do not change once computed)."""
        if self._pairs is None:
            self._pairs = frozenset({(a, k) for n in self.needs for a in n.actions for k in n.keys})
        return self._pairs

    def actions(self) -> set[str]:
        return {a for n in self.needs for a in n.actions}

    def merged(self) -> list[tuple[Need, list[str]]]:
        """Needs for output: one covered by an earlier one (a code invoke of a declared
        `calling` target) folds into it, its evidence kept."""
        out: list[tuple[Need, list[str]]] = []
        for n in self.needs:
            for kept, evidence in out:
                if set(n.actions) <= set(kept.actions) and set(n.keys) <= set(kept.keys):
                    evidence.append(n.evidence)
                    break
            else:
                out.append((n, [n.evidence]))
        return out


class MinimalPolicies:
    """Computes and caches every function's minimal policy for one graph."""

    def __init__(self, graph, index, catalog=None):
        self.g = graph
        self.index = index
        self._cache: dict[str, MinimalPolicy] = {}
        self._catalog = catalog
        self._declared: dict[str, list] | None = None   # caller -> [(target, edge)], by target
        self._subscribed: set[str] = set()              # functions others subscribe to
        self._knowable: set[str] | None = None          # functions whose code was fully read
        # an SDK call's actions -> (its actions with their dependent ones, sorted; whether any
        # acts on S3 objects): thousands of calls share a few dozen action lists
        self._call_actions: dict[tuple, tuple[tuple, bool]] = {}

    @property
    def catalog(self):
        if self._catalog is None:
            from .catalog import catalog

            self._catalog = catalog()
        return self._catalog

    def knowable(self, fn: str) -> bool:
        """Cheap: whether `of(fn)` will be complete (its handler code was fully read)."""
        if self._knowable is None:  # rules ask this of every function, several times
            self._knowable = {n for n, d in Q.nodes_of_kind(self.g, "function")
                              if (d.get("code") or {}).get("status") == "scanned"}
        return fn in self._knowable

    def of(self, fn: str) -> MinimalPolicy:
        if fn not in self._cache:
            self._cache[fn] = self._compute(fn)
        return self._cache[fn]

    def _read_edges(self) -> None:
        """Declared calls by caller and subscribed functions, read once from the graph's edge
        groups (listing each function's own edges cost more than the rest of its policy)."""
        declared: dict[str, list] = {}
        for u, v, e in Q.edges_of_kind(self.g, "calls"):  # sorted by caller, then target
            if e.get("declared"):
                declared.setdefault(u, []).append((v, e))
        self._subscribed = {v for _, v, _ in Q.edges_of_kind(self.g, "subscribes")}
        self._declared = declared

    # ---------------------------------------------------------------------
    def _compute(self, fn_id: str) -> MinimalPolicy:
        g, index = self.g, self.index
        d = g.nodes[fn_id]
        fn = index.functions.get(fn_id)
        svc = _service_of(index, fn)
        pol = MinimalPolicy(fn_id)
        code = d.get("code") or {}
        status = code.get("status", "off")
        if status != "scanned":
            pol.known = False
            pol.why_unknown = {
                "off": "handler code was not scanned (--no-code)",
                "missing": "its handler file was not found",
                "dynamic": "its handler makes AWS calls that cannot be resolved statically",
                "error": f"its handler could not be parsed ({code.get('error', '')})",
                "unsupported": "its runtime's handler code is not read yet",
            }.get(status, "its handler code is unknown")
        seen: set = set()

        def add(actions, resources, keys, evidence, loc, from_code=False):
            """`actions`: sorted, each once (`_sorted_actions`)."""
            sig = (actions, tuple(keys))
            if sig in seen:
                return
            seen.add(sig)
            sid = _sid(actions, len(pol.needs))
            pol.needs.append(Need(sid, actions, tuple(resources), tuple(keys), evidence, loc, from_code))

        if self._declared is None:
            self._read_edges()
        for target, e in self._declared.get(fn_id, ()):
            if g.nodes[target]["kind"] == "function":
                t = index.functions[target]
                value = self._function_arn_value(t, svc)
                add(("lambda:InvokeFunction",), (value, _qualified(value)), (t.arn, t.arn + ":*"),
                    f"calling {e.get('target')}", e.get("loc"))
        if fn is not None and fn_id in self._subscribed:
            topic = f"{svc.name}-{svc.stage}-{fn.name}-lifecycle"
            arn = f"arn:aws:sns:{svc.region}:{S.ACCOUNT_TOKEN}:{topic}"
            add(("sns:Publish",), ({"Fn::Sub": f"arn:${{AWS::Partition}}:sns:${{AWS::Region}}:${{AWS::AccountId}}:{topic}"},),
                (arn,), f"other functions subscribe to {fn.name}'s lifecycle events", fn.loc)
        if fn is not None:
            for kind, target in sorted(fn.destinations.items()) if fn.destinations else ():
                acts, value, key = self._destination(target, svc)
                if acts:
                    add(_sorted_actions(acts), (value,), (key,), f"destinations.{kind}", fn.loc)
            for ev in fn.events:
                acts = _poll_actions(ev)
                if acts:
                    arn = ev.arn
                    key = resource_key(arn, svc, index)
                    add(_sorted_actions(acts), (self._value(arn, svc, key),), (key,), f"{ev.type} event source",
                        ev.loc)
        file = code.get("file")
        for call in code.get("calls", ()):
            if not call.get("actions"):
                continue
            service = call.get("service")
            actions, object_level = self._actions_of(call["actions"])
            values, keys = self._bind(call.get("resource"), service, fn, svc, object_level)
            add(actions, values, keys, f"{service}.{call.get('operation')} in {file}:{call.get('line')}",
                _code_loc(file, call), from_code=True)
        return pol

    # ---- resources ---------------------------------------------------------
    def _function_arn_value(self, target, svc):
        if svc is not None and target.service == svc.id:
            return {"Fn::GetAtt": [lambda_logical_id(target.name), "Arn"]}
        return {"Fn::Sub": f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:{target.deployed_name}"}

    def _destination(self, target, svc):
        acts = _destination_actions(target)
        value = _dest_arn(target)
        if isinstance(value, str) and not value.startswith("arn:") and svc is not None:
            t = self.index.fn_by_name.get((svc.name, value))
            if t is not None:
                return acts, self._function_arn_value(t, svc), t.arn
        key = resource_key(value, svc, self.index)
        return acts, self._value(value, svc, key), key

    def _value(self, value, svc, key: str | None = None):
        """A policy-ready value for a config value (local references become ARN intrinsics).

        `key`: the value's resource key when the caller already has it (saves computing it twice)."""
        if isinstance(value, MDict):
            if key is None:
                key = resource_key(value, svc, self.index)
            m = _MARKER.fullmatch(key)
            if m:
                return self._arn_of(m.group(1), svc) or S.plain(value)
            return S.plain(value)
        if isinstance(value, (S.Symbolic, S.SymStr)):
            return value.display()
        return value

    def _arn_of(self, res_id: str, svc):
        sid, _, logical = res_id.partition(".")
        r = self.index.resources.get((f"svc:{sid}", logical))
        if r is None:
            return None
        if svc is None or f"svc:{sid}" != svc.id:
            return None  # another stack's resource: no GetAtt across stacks
        if r.type in _REF_IS_ARN:
            return {"Ref": logical}
        if r.type == "AWS::SSM::Parameter":
            return {"Fn::Sub": f"arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter${{{logical}}}"}
        return {"Fn::GetAtt": [logical, "Arn"]}

    def _actions_of(self, call_actions) -> tuple[tuple, bool]:
        """A call's actions with the ones they depend on (sorted, as `add` keeps them), and
        whether any of them acts on S3 objects (the resource is then `bucket/*`)."""
        asked = tuple(call_actions)
        found = self._call_actions.get(asked)
        if found is None:
            actions = list(asked)
            for a in asked:
                actions.extend(self.catalog.dependent_actions(a))
            object_level = any("object" in {t for t, _ in self.catalog.resource_types(a)}
                               for a in actions if a.startswith("s3:"))
            found = self._call_actions[asked] = (tuple(sorted(set(actions))), object_level)
        return found

    def _bind(self, ref, service, fn, svc, object_level: bool):
        """Resource values and keys a call of `service` touches through `ref` (its resource
        argument), shaped for the actions' resource types (`object_level`: S3 object actions)."""
        key, value = "*", "*"
        if ref and fn is not None:
            kind, text = ref.get("kind"), ref.get("value", "")
            if kind == "env" and text in fn.environment:
                raw = fn.environment[text]
                if isinstance(raw, str) and not raw.startswith("arn:"):
                    key, value = self._named(service, raw, svc)
                else:
                    key = resource_key(raw, svc, self.index)
                    value = self._value(raw, svc, key)
            elif kind == "literal":
                key, value = self._named(service, text, svc)
            elif kind == "template":
                filled = _fill_template(text, fn.environment)
                if filled is not None:
                    key, value = self._named(service, filled, svc)
        if key == "*":
            return ("*",), ("*",)
        if object_level and service == "s3" and not key.endswith("*"):
            key = key + "/*"
            value = _object_value(value)
        return (value,), (key,)


    def _named(self, service: str | None, name: str, svc) -> tuple[str, object]:
        """A resource given by name or ARN in code: a function of the repository by its ARN."""
        if service == "lambda":
            short = name.rsplit(":function:", 1)[-1].split(":")[0] if name.startswith("arn:") else name.split(":")[0]
            targets = self.index.functions_matching_name(short)
            if len(targets) == 1:
                return targets[0].arn, self._function_arn_value(targets[0], svc)
        arn = _literal_arn(service, name, svc)
        return arn, _sub_account(arn)


def _sub_account(arn: str):
    """A literal ARN with the unknown account, as CloudFormation writes it."""
    if S.ACCOUNT_TOKEN in arn:
        return {"Fn::Sub": arn.replace(S.ACCOUNT_TOKEN, "${AWS::AccountId}")}
    return arn


_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")


def _sid(actions: tuple, n: int) -> str:
    """`dynamodb:PutItem` -> `DynamodbPutItem1`: readable, unique in the policy, IAM-valid."""
    return (_sid_head(actions[0]) if actions else "Grant") + str(n)


@lru_cache(maxsize=4096)
def _sorted_actions(actions: tuple) -> tuple:
    """Actions sorted, each once, as a need keeps them (a few distinct lists in a repository)."""
    return tuple(sorted(set(actions)))


@lru_cache(maxsize=4096)
def _sid_head(action: str) -> str:
    """`dynamodb:PutItem` -> `DynamodbPutItem` (a few hundred distinct actions: made once each)."""
    prefix, _, name = action.partition(":")
    return _NOT_ALNUM.sub("", prefix[:1].upper() + prefix[1:] + name)


def _qualified(value):
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return {"Fn::Sub": "${" + value["Fn::GetAtt"][0] + ".Arn}:*"}
    if isinstance(value, dict) and "Fn::Sub" in value:
        return {"Fn::Sub": value["Fn::Sub"] + ":*"}
    return f"{value}:*"


def _object_value(value):
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return {"Fn::Sub": "${" + value["Fn::GetAtt"][0] + ".Arn}/*"}
    if isinstance(value, dict) and "Fn::Sub" in value:
        return {"Fn::Sub": value["Fn::Sub"] + "/*"}
    if isinstance(value, str):
        return value + "/*"
    return value


def _literal_arn(service: str | None, name: str, svc) -> str:
    if name.startswith("arn:"):
        return name
    region = svc.region if svc is not None else "*"
    acct = S.ACCOUNT_TOKEN
    if service == "s3":
        return f"arn:aws:s3:::{name}"
    if service == "dynamodb":
        return f"arn:aws:dynamodb:{region}:{acct}:table/{name}"
    if service == "sqs":
        m = re.match(r"https://sqs\.([^.]+)\.amazonaws\.com/(\d+|[^/]+)/(.+)$", name)
        return f"arn:aws:sqs:{m.group(1)}:{acct}:{m.group(3)}" if m else f"arn:aws:sqs:{region}:{acct}:{name}"
    if service == "lambda":
        return f"arn:aws:lambda:{region}:{acct}:function:{name.split(':')[0]}"
    if service == "sns":
        return f"arn:aws:sns:{region}:{acct}:{name}"
    if service == "secretsmanager":
        return f"arn:aws:secretsmanager:{region}:{acct}:secret:{name}-*"
    if service == "ssm":
        return f"arn:aws:ssm:{region}:{acct}:parameter/{name.lstrip('/')}"
    if service == "states":
        return f"arn:aws:states:{region}:{acct}:stateMachine:{name}"
    return "*"


def _fill_template(text: str, environment: dict) -> str | None:
    """`users-${STAGE}-getUser` with STAGE bound in serverless.yml; None when a part is unknown."""
    missing = False

    def sub(m):
        nonlocal missing
        v = environment.get(m.group(1))
        if isinstance(v, (str, int)) and not isinstance(v, bool):
            return str(v)
        missing = True
        return "*"

    out = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", sub, text)
    return None if missing and out.replace("*", "") == "" else out


def _poll_actions(ev) -> tuple:
    if ev.type not in ("sqs", "stream"):
        return ()
    return _event_permissions(ev)[0]


def _service_of(index, fn):
    return index.services_by_id.get(fn.service) if fn is not None else None


def _code_loc(file, call):
    if not file:
        return None
    line, col = call.get("line", 1), call.get("column", 1)
    return Loc(file, line, col, line, col)




def role_functions_known(g, policies: MinimalPolicies, role: str) -> tuple[list[str], bool]:
    fns = Q.functions_of_role(g, role)
    return fns, all(policies.of(f).known for f in fns)
