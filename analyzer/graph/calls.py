"""Declared `calling` lists and lifecycle subscriptions -> `calls` and `subscribes` edges."""
from __future__ import annotations

import re

from ..loaders import symbols as S

_CALL_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]*:)?[A-Za-z0-9][A-Za-z0-9_.-]*$")
from ..loaders.yamlmarks import MDict


def resolve_target(index, svc, text: str):
    """`users:getUser` or a bare same-service name -> (Function | None, service, function)."""
    if ":" in text:
        service, _, name = text.partition(":")
    else:
        service, name = svc.name, text
    return index.fn_by_name.get((service, name)), service, name


def add(g, project, index) -> None:
    from .build import add_edge, add_external

    for svc in project.services:
        for fn in svc.functions:
            for entry, loc in fn.calling:
                if not isinstance(entry, str) or not _CALL_NAME.match(entry.strip()):
                    continue  # shape errors are SLS003's
                target, service, name = resolve_target(index, svc, entry.strip())
                if target is not None:
                    dst = target.id
                else:
                    dst = add_external(g, f"ext:function:{service}:{name}", loc, service=service, function=name)
                add_edge(g, fn.id, dst, "calls", loc, declared=True, evidence=[], target=entry.strip())
            for ev in fn.events:
                if ev.type != "function" or not isinstance(ev.config, MDict):
                    continue
                name = ev.config.get("name")
                if not isinstance(name, str):
                    continue
                service = ev.config.get("service")
                service = S.text_of(service) if service is not None else svc.name
                target = index.fn_by_name.get((service, name))
                etype = ev.config.get("type")
                if target is not None:
                    dst = target.id
                else:
                    dst = add_external(g, f"ext:function:{service}:{name}", ev.loc, service=service, function=name)
                add_edge(g, fn.id, dst, "subscribes", ev.loc, type=S.text_of(etype) if etype else None)
