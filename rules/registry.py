"""All rules: the built-in families plus those installed under `sls_audit.rules`."""
from __future__ import annotations

from importlib.metadata import entry_points

from . import communication, core, discovery, exposure, iam

BUILTIN_FAMILIES = (core, communication, iam, exposure, discovery)


def builtin_rules() -> list:
    out = []
    for family in BUILTIN_FAMILIES:
        out.extend(family.RULES)
    return out


def load_rules(errors: list | None = None) -> list:
    """Built-in rules and third-party ones (an entry point names a Rule class or a module with RULES)."""
    rules = {r.id: r for r in builtin_rules()}
    for ep in sorted(entry_points(group="sls_audit.rules"), key=lambda e: e.name):
        try:
            obj = ep.load()
        except Exception as e:  # a broken plugin must not stop the run
            if errors is not None:
                errors.append(f"rule plugin '{ep.name}' failed to load: {e}")
            continue
        found = getattr(obj, "RULES", None) or [obj]
        for r in found:
            if isinstance(r, type) and getattr(r, "id", None):
                rules.setdefault(r.id, r)
    return [rules[k] for k in sorted(rules)]
