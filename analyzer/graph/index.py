"""Lookups the graph builders share: services by name, functions by name and ARN.

ARN patterns are matched through a sorted name index (prefix bisect, then a
glob only on the candidates) instead of testing every function against every
statement, which is what keeps 10,000 functions fast.
"""
from __future__ import annotations

import bisect
import re
from collections import defaultdict

from ..iam import globs
from ..loaders import symbols as S

_LAMBDA_ARN = re.compile(r"^arn:([^:]*):lambda:([^:]*):([^:]*):function:(.+)$")
_WILDCARDS = re.compile(r"[*?\[]")


class Index:
    def __init__(self, project):
        self.project = project
        self.services_by_name: dict[str, list] = defaultdict(list)
        self.functions: dict[str, object] = {}            # fn id -> Function
        self.fn_by_name: dict[tuple, object] = {}         # (service name, fn name) -> Function
        self.fn_by_deployed: dict[str, list] = defaultdict(list)
        self.fn_by_logical: dict[tuple, object] = {}      # (service id, logical id) -> Function
        self.resources: dict[tuple, object] = {}          # (service id, logical id) -> Resource
        self.exports: dict[str, object] = {}              # export id -> (service, Output)
        self.stacks: dict[str, object] = {}               # stack name -> service
        self.compose_services: dict[str, object] = {}     # compose key -> service
        self.services_by_id: dict[str, object] = {s.id: s for s in project.services}
        self.parameters: dict[str, tuple] = {}              # SSM parameter name -> (service, Resource)
        for svc in project.services:
            self.services_by_name[svc.name].append(svc)
            self.stacks[svc.stack_name] = svc
            if svc.compose_name:
                self.compose_services[svc.compose_name] = svc
            for fn in svc.functions:
                self.functions[fn.id] = fn
                self.fn_by_name.setdefault((svc.name, fn.name), fn)
                self.fn_by_deployed[fn.deployed_name].append(fn)
                self.fn_by_logical[(svc.id, fn.logical_id)] = fn
            for r in svc.resources:
                self.resources[(svc.id, r.logical_id)] = r
                if r.type == "AWS::SSM::Parameter" and isinstance(r.properties.get("Name"), str):
                    self.parameters.setdefault(r.properties["Name"], (svc, r))
            for o in svc.outputs:
                self.exports.setdefault(o.id, (svc, o))
        self._names = sorted(self.fn_by_deployed)

    def functions_matching_name(self, pattern: str) -> list:
        """Functions whose deployed name matches a glob (`users-dev-*`)."""
        m = _WILDCARDS.search(pattern)
        if m is None:
            return list(self.fn_by_deployed.get(pattern, ()))
        prefix = pattern[:m.start()]
        lo = bisect.bisect_left(self._names, prefix)
        out = []
        for i in range(lo, len(self._names)):
            name = self._names[i]
            if not name.startswith(prefix):
                break
            if globs.fnmatchcase(name, pattern):
                out.extend(self.fn_by_deployed[name])
        return out

    def functions_matching_arn(self, value) -> list | None:
        """Functions an ARN (or ARN pattern, with `*`) names; None when it is no Lambda ARN."""
        text = S.pattern_of(value)
        if text == "*":
            return None
        m = _LAMBDA_ARN.match(text)
        if not m:
            return None
        region, name = m.group(2), m.group(4)
        # `name:alias` / `name:*` qualify a function: the function is still the target
        name = name.split(":", 1)[0] if not name.endswith("*") or ":" in name else name
        found = self.functions_matching_name(name)
        if not region:  # any region
            return found
        return [fn for fn in found if globs.fnmatchcase(self._region_of(fn), region)]

    def output_of(self, value):
        """(service, Output) a `${cf:stack.Output}` or Compose `${service.Output}` value names."""
        if not isinstance(value, S.Symbolic):  # most values asked about are plain text or mappings
            return None
        if isinstance(value, S.ComposeOutput):
            svc = self.compose_services.get(value.service)
            key = value.output
        elif isinstance(value, S.CfOutput):
            svc = self.stacks.get(value.stack)
            key = value.output
        elif isinstance(value, S.SsmRef) and value.path in self.parameters:
            from ..model import Output

            svc, res = self.parameters[value.path]
            return svc, Output(f"export:ssm:{value.path}", value.path, res.properties.get("Value"), None, res.loc)
        else:
            return None
        if svc is None:
            return None
        for o in svc.outputs:
            if o.key == key:
                return svc, o
        return None

    def _region_of(self, fn) -> str:
        return fn.arn.split(":")[3]
