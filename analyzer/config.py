"""Find, validate (jsonschema) and merge configuration.

`.sls-audit.yml` is searched upward from the analyzed path, else
`[tool.sls-audit]` in a `pyproject.toml`. `extends:` names another config file
(relative to this one) whose settings this one overrides. Unknown or mistyped
keys are a configuration error (exit 2) that names the key.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

CONFIG_NAMES = (".sls-audit.yml", ".sls-audit.yaml")
SEVERITY = {"enum": ["note", "warning", "error"]}
_STR_LIST = {"type": "array", "items": {"type": "string"}}

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "extends": {"type": "string"},
        "framework": {"enum": ["v3", "v4", "osls"]},
        "stage": {"type": "string"},
        "region": {"type": "string"},
        "params": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
        "exclude": _STR_LIST,
        "external": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"services": _STR_LIST, "stacks": _STR_LIST, "arns": _STR_LIST,
                           "parameters": _STR_LIST},
        },
        "public": _STR_LIST,
        "suppress": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["rule", "reason"],
                "properties": {"rule": {"type": "string"}, "path": {"type": "string"},
                               "reason": {"type": "string", "minLength": 1}},
            },
        },
        "select": _STR_LIST,
        "ignore": _STR_LIST,
        "fail-on": SEVERITY,
        "rules": {
            "type": "object",
            "propertyNames": {"pattern": "^[A-Za-z][A-Za-z0-9_:-]*$"},  # cfn-lint:W3005 too
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"enabled": {"type": "boolean"}, "severity": SEVERITY,
                               "options": {"type": "object"}},
            },
        },
    },
}


class ConfigError(Exception):
    """A configuration problem: the CLI prints it and exits 2."""


@dataclass
class Config:
    file: str | None = None
    framework: str | None = None
    stage: str | None = None
    region: str | None = None
    params: dict = field(default_factory=dict)
    exclude: list = field(default_factory=list)
    external: dict = field(default_factory=dict)
    public: list = field(default_factory=list)
    suppress: list = field(default_factory=list)
    select: list = field(default_factory=list)
    ignore: list = field(default_factory=list)
    fail_on: str = "error"
    rules: dict = field(default_factory=dict)

    @property
    def base_dir(self) -> Path | None:
        """Path globs (`exclude`, `suppress[].path`) are relative to the config file's folder."""
        return Path(self.file).parent if self.file else None


def find_config(start: Path) -> Path | tuple[Path, dict] | None:
    """The nearest `.sls-audit.yml`, or a pyproject.toml with [tool.sls-audit], upward."""
    d = start if start.is_dir() else start.parent
    d = d.resolve()
    for folder in (d, *d.parents):
        for name in CONFIG_NAMES:
            p = folder / name
            if p.is_file():
                return p
        pp = folder / "pyproject.toml"
        if pp.is_file():
            try:
                data = tomllib.loads(pp.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
                raise ConfigError(f"{pp}: cannot read: {e}") from None
            section = data.get("tool", {}).get("sls-audit")
            if section is not None:
                return pp, section
    return None


def load_config(path: Path | None = None, start: Path | None = None) -> Config:
    """Load an explicit config file, or search upward from `start`; defaults when none."""
    if path is not None:
        return _from_file(path, seen=set())
    found = find_config(start or Path("."))
    if found is None:
        return Config()
    if isinstance(found, tuple):
        pp, section = found
        return _build(section, str(pp), base_dir=pp.parent, seen=set())
    return _from_file(found, seen=set())


def _from_file(path: Path, seen: set) -> Config:
    path = path.resolve()
    if path in seen:
        raise ConfigError(f"{path}: 'extends' forms a cycle")
    seen.add(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read: {e}") from None
    if path.suffix == ".toml":
        try:
            data = tomllib.loads(text).get("tool", {}).get("sls-audit", {})
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: {e}") from None
    else:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
            raise ConfigError(f"{path}{where}: invalid YAML: {getattr(e, 'problem', e)}") from None
    if data is None:
        data = {}
    return _build(data, str(path), base_dir=path.parent, seen=seen)


def _build(data, source: str, base_dir: Path, seen: set) -> Config:
    validate(data, source)
    base = Config()
    if "extends" in data:
        base = _from_file(base_dir / data["extends"], seen)
    cfg = Config(
        file=source,
        framework=data.get("framework", base.framework),
        stage=data.get("stage", base.stage),
        region=data.get("region", base.region),
        params={**base.params, **data.get("params", {})},
        exclude=base.exclude + data.get("exclude", []),
        external=_merge_external(base.external, data.get("external", {})),
        public=base.public + data.get("public", []),
        suppress=base.suppress + data.get("suppress", []),
        select=data.get("select", base.select),
        ignore=base.ignore + data.get("ignore", []),
        fail_on=data.get("fail-on", base.fail_on),
        rules=_merge_rules(base.rules, _rule_settings(data.get("rules", {}), source)),
    )
    return cfg


def validate(data, source: str) -> None:
    import jsonschema  # only when a configuration exists: importing it costs 0.1 s

    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the configuration must be a mapping of settings")
    errors = sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(data), key=lambda e: list(e.path))
    if not errors:
        return
    e = errors[0]
    where = ".".join(str(p) for p in e.absolute_path)
    if e.validator == "additionalProperties":
        extra = sorted(set(e.instance) - set(e.schema.get("properties", {})))
        key = ".".join(filter(None, [where, extra[0] if extra else ""]))
        raise ConfigError(f"{source}: unknown key '{key}'")
    raise ConfigError(f"{source}: '{where or '(top level)'}': {e.message}")


def _rule_settings(rules: dict, source: str) -> dict:
    """Per-rule settings keyed by rule id; a rule may be named by id or by name.

    A key that names no installed rule is a configuration error like any unknown key:
    a typo (`SLS05`) would otherwise silently leave the intended rule unconfigured.
    """
    if not rules:
        return {}
    from rules.registry import load_rules

    known = {}
    for r in load_rules():
        known[r.id] = r.id
        known[r.name] = r.id
    out: dict = {}
    for key, settings in rules.items():
        rid = known.get(key) or known.get(key.upper())
        if rid is None and re.fullmatch(r"cfn-lint:[EWI]\d{4}", key):
            rid = key   # cfn-lint's own rules (`--cfn-lint`), configured like any rule
        if rid is None:
            raise ConfigError(f"{source}: unknown key 'rules.{key}': no such rule (see `sls-audit rules`)")
        out[rid] = {**out.get(rid, {}), **settings}
    return out


def _merge_rules(base: dict, child: dict) -> dict:
    """A child config overrides a base one setting by setting, not rule by rule."""
    out = {k: dict(v) for k, v in base.items()}
    for rid, settings in child.items():
        out[rid] = {**out.get(rid, {}), **settings}
    return out


def _merge_external(a: dict, b: dict) -> dict:
    out = {k: list(v) for k, v in a.items()}
    for k, v in b.items():
        out[k] = out.get(k, []) + list(v)
    return out
