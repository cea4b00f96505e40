"""One comparable text form for a policy resource, whatever way it was written.

`!GetAtt OrdersTable.Arn`, `!Ref OrdersTopic`, `${cf:orders-dev.TableArn}` and
`!Sub "${Bucket.Arn}/*"` all name resources of the repository; they become
`{res:orders.OrdersTable}`-style markers inside an ARN pattern, so a needed
resource and a granted one compare with plain glob matching. Literal ARNs stay
as written (`<accountId>` stands for the unknown account, other unknown parts
become `*`).
"""
from __future__ import annotations

import re

from ..loaders import symbols as S
from ..loaders.yamlmarks import MDict

_SUB_VAR = re.compile(r"\$\{([^}]+)\}")


def marker(res_id: str) -> str:
    return "{" + res_id + "}"


_ARN_AROUND_MARKER = re.compile(r"arn:[^{}\s]*?[:/](\{res:[^}]+\})")


def resource_key(value, svc, index) -> str:
    """The comparable pattern of one `Resource` entry (`*` where nothing is known).

    An ARN spelt around a marker (`arn:aws:s3:::{res:x.Bucket}` from `${Bucket}`) is the
    marker itself, so every spelling of one resource compares equal.
    """
    key = _key(value, svc, index)
    return _ARN_AROUND_MARKER.sub(r"\1", key) if "{res:" in key and "arn:" in key else key


def _key(value, svc, index) -> str:
    found = index.output_of(value) if index is not None else None
    if found is not None:
        producer, output = found
        return resource_key(output.value, producer, index)
    if isinstance(value, (S.Symbolic, S.SymStr)):
        if isinstance(value, S.SymStr) and value.parts and index is not None:
            head = value.parts[0]
            found = index.output_of(head)
            if found is not None:  # `${cf:users-dev.FnArn}:*`
                rest = S.SymStr(tuple(value.parts[1:])).pattern() if len(value.parts) > 1 else ""
                return resource_key(found[1].value, found[0], index) + rest
        return S.pattern_of(value)
    if isinstance(value, str):
        return value
    if isinstance(value, MDict):
        if "Ref" in value:
            return _local(S.text_of(value["Ref"]), svc, index, "Ref")
        if "Fn::GetAtt" in value:
            ga = value["Fn::GetAtt"]
            if isinstance(ga, list) and ga:
                attr = S.text_of(ga[1]) if len(ga) > 1 else "Arn"
                return _local(S.text_of(ga[0]), svc, index, attr)
        if "Fn::Sub" in value:
            sub = value["Fn::Sub"]
            text = sub[0] if isinstance(sub, list) and sub else sub
            if isinstance(text, str):
                return _SUB_VAR.sub(lambda m: _sub_part(m.group(1), svc, index), text)
        if "Fn::Join" in value:
            join = value["Fn::Join"]
            if isinstance(join, list) and len(join) == 2 and isinstance(join[1], list):
                sep = S.text_of(join[0])
                return sep.join(resource_key(p, svc, index) for p in join[1])
        if "Fn::ImportValue" in value and index is not None:
            target = f"export:{S.text_of(value['Fn::ImportValue'])}"
            if target in index.exports:
                producer, output = index.exports[target]
                return resource_key(output.value, producer, index)
    return "*"


_PSEUDO = {"AWS::AccountId": S.ACCOUNT_TOKEN, "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}


def _sub_part(name: str, svc, index) -> str:
    if name in _PSEUDO:
        return _PSEUDO[name]
    if name == "AWS::Region":
        return svc.region if svc is not None else "*"
    if name.startswith("AWS::"):
        return "*"
    logical, _, attr = name.partition(".")
    return _local(logical, svc, index, attr or "Ref")


def _local(logical: str, svc, index, attr: str) -> str:
    """A marker for a resource or function of the stack, `*` when the stack has no such thing."""
    if svc is None or index is None:
        return "*"
    fn = index.fn_by_logical.get((svc.id, logical))
    if fn is not None:
        return fn.arn
    res = index.resources.get((svc.id, logical))
    if res is None:
        return "*"
    return marker(res.id)


_MARKER_TEXT = re.compile(r"\{res:([^}]+)\}")


def display(key: str) -> str:
    """A resource key for people: `{res:orders.OrdersTable}/*` -> `orders.OrdersTable/*`."""
    return _MARKER_TEXT.sub(r"\1", key)
