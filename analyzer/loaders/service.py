"""One resolved `serverless.yml` document -> a `Service` model, under its framework's rules.

Every IAM form of DESIGN §1.3 lands in roles and statements here, and what the
chosen framework ignores is reported (SLS005) and left out, so graph builders
and rules see only the effective configuration.
"""
from __future__ import annotations

import re

from ..frameworks import (
    EVENT_API_IDS, PER_FUNCTION_PLUGIN, SHARED_ROLE, flavour, function_role_logical_id,
    honours_function_iam, lambda_logical_id, plugins_of,
)
from ..model import Event, Function, Loc, Output, Resource, Role, Service, Statement, entry_loc
from . import symbols as S
from .variables import Diagnostic
from .yamlmarks import MDict, MList

_INDEX = re.compile(r"\[\d+\]")

IDENTITY_POLICY_TYPES = ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
RESOURCE_POLICY_TYPES = {
    "AWS::SNS::TopicPolicy": "Topics",
    "AWS::SQS::QueuePolicy": "Queues",
    "AWS::S3::BucketPolicy": "Bucket",
}


class ServiceBuilder:
    """Builds one Service; `diagnostics` collects SLS001/SLS005 problems found on the way."""

    def __init__(self, doc: MDict, rel: str, framework_setting: str | None, options, service_id: str):
        self.doc = doc
        self.rel = rel
        self.options = options
        self.diagnostics: list[Diagnostic] = []
        self.fw = flavour(framework_setting, doc.get("frameworkVersion"))
        self.sid = service_id
        self.plugins = plugins_of(doc)
        self.per_function_mode = False
        self._pending_fw: list = []
        self._policy_attachments: list = []
        self._opaque_reported: set = set()

    # ---- locations ----------------------------------------------------------
    def loc(self, path: str, container=None, key=None) -> Loc:
        if container is not None:
            return entry_loc(container, key, self._file(container), path)
        return Loc(self.rel, 1, 1, 1, 1, path)

    def _file(self, container) -> str:
        return getattr(container, "source", None) or self.rel

    def _diag(self, rule: str, message: str, loc: Loc, names=(), node: str | None = None,
              fix: str | None = None):
        if not names:  # the fingerprint's names: never list positions (`events[2]` -> `events[]`)
            names = (_INDEX.sub("[]", message),)
        self.diagnostics.append(Diagnostic(
            rule, message, loc.file, loc.line, loc.column, loc.end_line, loc.end_column,
            loc.key_path, tuple(names), node, fix,
        ))

    def _bad_type(self, value, message: str, loc: Loc) -> None:
        """A wrong type is SLS001, unless the value is unknown (symbolic): then nothing is known."""
        if not S.is_symbolic(value):
            self._diag("SLS001", message, loc, names=(_INDEX.sub("[]", message), repr(S.plain(value))[:200]))

    def _mapping(self, parent, key, path) -> MDict | None:
        """A child that must be a mapping: wrong types are reported, never fatal."""
        v = parent.get(key) if isinstance(parent, dict) else None
        if v is None:
            return None
        if isinstance(v, MDict):
            return v
        self._bad_type(v, f"'{path}' must be a mapping, found {_type_name(v)}",
                   self.loc(path, parent, key))
        return None

    # ---- the service --------------------------------------------------------
    def build(self, name: str, stage: str, region: str) -> Service:
        doc = self.doc
        provider = self._mapping(doc, "provider", "provider") or MDict()
        prov_name = provider.get("name") if isinstance(provider.get("name"), str) else "aws"
        stack_name = provider.get("stackName")
        stack = S.text_of(stack_name) if stack_name else f"{name}-{stage}"
        svc = Service(
            id=self.sid, name=name, file=self.rel, provider=prov_name, stage=stage, region=region,
            stack_name=stack, framework=self.fw,
            runtime=provider.get("runtime") if isinstance(provider.get("runtime"), str) else None,
            plugins=self.plugins, loc=self.loc("service", doc, "service"), doc=doc,
        )
        self.svc = svc
        self.provider = provider
        self._resources(svc)
        if prov_name == "aws":
            shared = self._provider_role(svc, provider)
        else:
            shared = None
        functions = self._mapping(doc, "functions", "functions")
        if functions:
            for fname in functions:
                fcfg = functions[fname]
                path = f"functions.{fname}"
                if fcfg is None:
                    fcfg = MDict()
                if not isinstance(fcfg, MDict):
                    self._bad_type(fcfg, f"'{path}' must be a mapping, found {_type_name(fcfg)}",
                               self.loc(path, functions, fname))
                    continue
                fn = self._function(svc, str(fname), fcfg, path, functions, shared)
                svc.functions.append(fn)
        if shared is not None and shared not in svc.roles:
            if any(f.role == shared.id for f in svc.functions):
                svc.roles.insert(0, shared)
        self.attach_policies(svc)
        self.add_event_permissions(svc)
        return svc

    # ---- functions ----------------------------------------------------------
    def _function(self, svc: Service, fname: str, cfg: MDict, path: str, parent, shared: Role | None):
        stage = svc.stage
        deployed = cfg.get("name")
        deployed = S.text_of(deployed) if deployed else f"{svc.name}-{stage}-{fname}"
        arn = f"arn:aws:lambda:{svc.region}:{S.ACCOUNT_TOKEN}:function:{deployed}"
        runtime = cfg.get("runtime") if isinstance(cfg.get("runtime"), str) else svc.runtime
        handler = cfg.get("handler")
        fn = Function(
            id=f"fn:{svc.id[4:]}.{fname}", service=svc.id, name=fname,
            handler=handler if isinstance(handler, str) else None, runtime=runtime,
            deployed_name=deployed, arn=arn, logical_id=lambda_logical_id(fname),
            subscribable=cfg.get("subscribable") is True, config=cfg,
            loc=self.loc(path, parent, fname),
        )
        calling = cfg.get("calling")
        if isinstance(calling, MList):
            for i, entry in enumerate(calling):
                fn.calling.append((entry, self.loc(f"{path}.calling[{i}]", calling, i)))
        env = cfg.get("environment")
        penv = self.provider.get("environment")
        merged = {}
        if isinstance(penv, MDict):
            merged.update(penv)
        if isinstance(env, MDict):
            merged.update(env)
        fn.environment = merged
        events = cfg.get("events")
        if isinstance(events, MList):
            for i, ev in enumerate(events):
                epath = f"{path}.events[{i}]"
                if isinstance(ev, MDict) and len(ev) >= 1:
                    etype = next(iter(ev))
                    fn.events.append(Event(str(etype), i, ev[etype], self.loc(epath, events, i)))
                elif isinstance(ev, str):
                    fn.events.append(Event(ev, i, None, self.loc(epath, events, i)))
                else:
                    self._diag("SLS001", f"'{epath}' must be a mapping with one event type",
                               self.loc(epath, events, i), names=(f"{path}.events[]", repr(S.plain(ev))[:200]))
        elif events is not None:
            self._bad_type(events, f"'{path}.events' must be a list, found {_type_name(events)}",
                       self.loc(f"{path}.events", cfg, "events"))
        url = cfg.get("url")
        if url:
            fn.events.append(Event("url", -1, url, self.loc(f"{path}.url", cfg, "url")))
        dest = cfg.get("destinations")
        if isinstance(dest, MDict):
            fn.destinations = {k: v for k, v in dest.items() if k in ("onSuccess", "onFailure")}
        if svc.provider == "aws":
            fn.role = self._function_role(svc, fn, cfg, path, shared)
        return fn

    # ---- IAM ----------------------------------------------------------------
    def _provider_role(self, svc: Service, provider: MDict) -> Role:
        """The shared execution role and everything that feeds it."""
        shared = Role(id=f"role:{svc.id[4:]}.{SHARED_ROLE}", logical_id=SHARED_ROLE, kind="shared",
                      loc=self.loc("provider", self.doc, "provider"))
        iam = self._mapping(provider, "iam", "provider.iam")
        role_cfg = iam.get("role") if iam else None
        legacy_role = provider.get("role")
        given = role_cfg if role_cfg is not None and not isinstance(role_cfg, MDict) else legacy_role
        if given is not None and not isinstance(given, MDict):
            key = "provider.iam.role" if role_cfg is not None else "provider.role"
            container, k = (iam, "role") if role_cfg is not None else (provider, "role")
            return self._named_role(svc, given, self.loc(key, container, k))
        if isinstance(role_cfg, MDict):
            base = "provider.iam.role"
            stmts = role_cfg.get("statements")
            self._statements(shared, stmts, f"{base}.statements", "provider.iam", role_cfg, "statements")
            mp = role_cfg.get("managedPolicies")
            if isinstance(mp, MList):
                shared.managed_policies.extend(mp)
            shared.permissions_boundary = role_cfg.get("permissionsBoundary")
            if role_cfg.get("mode") is not None and not honours_function_iam(self.fw):
                self._diag("SLS005", f"'{base}.mode' is ignored by framework {self.fw}: "
                           "every function shares one role", self.loc(f"{base}.mode", role_cfg, "mode"),
                           names=("provider.iam.role.mode",), node=svc.id)
            self.per_function_mode = role_cfg.get("mode") == "perFunction" and honours_function_iam(self.fw)
        legacy = provider.get("iamRoleStatements")
        if legacy is not None:
            self._statements(shared, legacy, "provider.iamRoleStatements", "legacy", provider, "iamRoleStatements")
        lmp = provider.get("iamManagedPolicies")
        if isinstance(lmp, MList):
            shared.managed_policies.extend(lmp)
        if iam and iam.get("permissionsBoundary") is not None:
            shared.permissions_boundary = iam.get("permissionsBoundary")
        self._framework_statements(shared, svc, None)
        return shared

    def _named_role(self, svc: Service, given, loc: Loc) -> Role:
        """`role: arn:...` is opaque; `role: MyRole` / `!GetAtt MyRole.Arn` is a resource role."""
        logical = _logical_of(given)
        if logical is not None:
            for role in svc.roles:
                if role.logical_id == logical:
                    return role
            role = Role(id=f"role:{svc.id[4:]}.{logical}", logical_id=logical, kind="resource",
                        opaque=True, loc=loc)
            return role
        text = S.text_of(given)
        name = text.rsplit("/", 1)[-1] if text else "unknown"
        role_id = f"role:{svc.id[4:]}.{name}"
        if role_id not in self._opaque_reported:
            self._opaque_reported.add(role_id)
            self._diag("SLS002", f"role {text} is given only as an ARN: its permissions cannot be "
                       "known, so IAM rules cannot judge the functions that use it", loc, names=(text,))
        return Role(id=role_id, logical_id=name, kind="arn", arn=given, opaque=True, loc=loc)

    def _function_role(self, svc, fn: Function, cfg: MDict, path: str, shared: Role) -> str:
        if cfg.get("role") is not None:
            role = self._named_role(svc, cfg.get("role"), self.loc(f"{path}.role", cfg, "role"))
            if role not in svc.roles and role is not shared:
                svc.roles.append(role)
            return role.id
        iam = cfg.get("iam")
        plugin_keys = [k for k in ("iamRoleStatements", "iamRoleStatementsInherit", "iamRoleStatementsName")
                       if k in cfg]
        own: Role | None = None
        inherit = False
        if iam is not None:
            if honours_function_iam(self.fw):
                own = self._own_role(svc, fn)
                role_cfg = iam.get("role") if isinstance(iam, MDict) else None
                if isinstance(role_cfg, MDict):
                    self._statements(own, role_cfg.get("statements"), f"{path}.iam.role.statements", "function",
                                        role_cfg, "statements")
                    mp = role_cfg.get("managedPolicies")
                    if isinstance(mp, MList):
                        own.managed_policies.extend(mp)
                inherit = isinstance(iam, MDict) and iam.get("inheritStatements") is True
            else:
                self._diag("SLS005", f"'{path}.iam' is ignored by framework {self.fw}: function "
                           f"'{fn.name}' gets the shared role instead (function-level iam needs v4)",
                           self.loc(f"{path}.iam", cfg, "iam"), names=(fn.name, "iam"), node=fn.id,
                           fix=f"set frameworkVersion: '4', or load {PER_FUNCTION_PLUGIN} and move the "
                               "statements to iamRoleStatements")
        if plugin_keys:
            if PER_FUNCTION_PLUGIN in self.plugins:
                if own is None:
                    own = self._own_role(svc, fn)
                self._statements(own, cfg.get("iamRoleStatements"), f"{path}.iamRoleStatements", "plugin",
                                cfg, "iamRoleStatements")
                inherit = inherit or cfg.get("iamRoleStatementsInherit") is True or _plugin_default_inherit(self.doc)
            else:
                for k in plugin_keys:
                    self._diag("SLS005", f"'{path}.{k}' is ignored: it needs the "
                               f"{PER_FUNCTION_PLUGIN} plugin, which this service does not load",
                               self.loc(f"{path}.{k}", cfg, k), names=(fn.name, k), node=fn.id,
                               fix=f"add {PER_FUNCTION_PLUGIN} to plugins")
        if own is None and self.per_function_mode:
            own = self._own_role(svc, fn)
            inherit = True
        if own is None:
            return shared.id
        if inherit:
            own.statements[:0] = [s for s in shared.statements if not s.framework]
            own.managed_policies[:0] = list(shared.managed_policies)
        self._framework_statements(own, svc, fn)
        svc.roles.append(own)
        return own.id

    def _own_role(self, svc, fn: Function) -> Role:
        logical = function_role_logical_id(fn.name)
        return Role(id=f"role:{svc.id[4:]}.{logical}", logical_id=logical, kind="per-function", loc=fn.loc)

    def _statements(self, role: Role, stmts, path: str, origin: str, parent=None, key=None) -> None:
        if stmts is None:
            return
        if not isinstance(stmts, MList):
            self._bad_type(stmts, f"'{path}' must be a list of statements, found {_type_name(stmts)}",
                       self.loc(path, parent, key))
            return
        for i, st in enumerate(stmts):
            spath = f"{path}[{i}]"
            if not isinstance(st, MDict):
                self._bad_type(st, f"'{spath}' must be a mapping, found {_type_name(st)}",
                           self.loc(spath, stmts, i))
                continue
            role.statements.append(statement_from(st, f"{role.id.replace('role:', 'stmt:')}.{len(role.statements)}",
                                                  origin, self.loc(spath, stmts, i)))

    def _framework_statements(self, role: Role, svc: Service, fn: Function | None) -> None:
        """Permissions the framework adds by itself: counted, never reported."""
        fns = [fn] if fn is not None else None
        base = role.id.replace("role:", "stmt:")
        group = f"arn:aws:logs:{svc.region}:{S.ACCOUNT_TOKEN}:log-group:/aws/lambda/{svc.name}-{svc.stage}*"
        role.statements.append(Statement(
            id=f"{base}.fw-logs", effect="Allow",
            actions=("logs:CreateLogStream", "logs:CreateLogGroup", "logs:TagResource", "logs:PutLogEvents"),
            resources=(group + ":*", group + ":*:*"), origin="framework", framework=True, loc=role.loc,
        ))
        self._pending_fw.append((role, fns))

    def add_event_permissions(self, svc: Service) -> None:
        """sqs/stream pollers, DLQs and destinations, once every function is known."""
        for role, fns in self._pending_fw:
            targets = fns if fns is not None else [f for f in svc.functions if f.role == role.id]
            base = role.id.replace("role:", "stmt:")
            n = 0
            for f in targets:
                for ev in f.events:
                    acts, res = _event_permissions(ev)
                    if acts:
                        role.statements.append(Statement(
                            id=f"{base}.fw-{n}", effect="Allow", actions=acts, resources=res,
                            origin="framework", framework=True, loc=ev.loc))
                        n += 1
                for kind, target in f.destinations.items():
                    acts = _destination_actions(target)
                    if acts:
                        role.statements.append(Statement(
                            id=f"{base}.fw-{n}", effect="Allow", actions=acts,
                            resources=(_dest_arn(target),), origin="framework", framework=True,
                            loc=f.loc))
                        n += 1
                on_error = f.config.get("onError") if isinstance(f.config, MDict) else None
                if on_error:
                    role.statements.append(Statement(
                        id=f"{base}.fw-{n}", effect="Allow",
                        actions=("sqs:SendMessage",) if "sqs" in S.text_of(on_error) else ("sns:Publish",),
                        resources=(on_error,), origin="framework", framework=True, loc=f.loc))
                    n += 1

    # ---- resources, outputs, identity policies --------------------------------
    def _resources(self, svc: Service) -> None:
        res = self.doc.get("resources")
        blocks = res if isinstance(res, MList) else [res] if res is not None else []
        for bi, block in enumerate(blocks):
            bpath = "resources" if not isinstance(res, MList) else f"resources[{bi}]"
            if block is None:
                continue
            if not isinstance(block, MDict):
                self._bad_type(block, f"'{bpath}' must be a mapping, found {_type_name(block)}",
                           self.loc(bpath, res if isinstance(res, MList) else self.doc,
                                    bi if isinstance(res, MList) else "resources"))
                continue
            resources = self._mapping(block, "Resources", f"{bpath}.Resources")
            for lid, body in (resources or {}).items():
                rpath = f"{bpath}.Resources.{lid}"
                if not isinstance(body, MDict):
                    self._bad_type(body, f"'{rpath}' must be a mapping, found {_type_name(body)}",
                               self.loc(rpath, resources, lid))
                    continue
                rtype = body.get("Type")
                props = body.get("Properties") if isinstance(body.get("Properties"), MDict) else MDict()
                r = Resource(id=f"res:{svc.id[4:]}.{lid}", logical_id=str(lid), type=S.text_of(rtype),
                             properties=props, loc=self.loc(rpath, resources, lid))
                svc.resources.append(r)
                self._resource_iam(svc, r, props, rpath)
            outputs = self._mapping(block, "Outputs", f"{bpath}.Outputs")
            for key, body in (outputs or {}).items():
                opath = f"{bpath}.Outputs.{key}"
                value = body.get("Value") if isinstance(body, MDict) else body
                export = body.get("Export") if isinstance(body, MDict) else None
                ename = export.get("Name") if isinstance(export, MDict) else None
                ename = _export_name(ename, svc)
                oid = f"export:{S.text_of(ename)}" if ename is not None else f"export:{svc.stack_name}.{key}"
                svc.outputs.append(Output(id=oid, key=str(key), value=value, export_name=ename,
                                          loc=self.loc(opath, outputs, key)))

    def _resource_iam(self, svc: Service, r: Resource, props: MDict, rpath: str) -> None:
        if r.type == "AWS::IAM::Role":
            role = Role(id=f"role:{svc.id[4:]}.{r.logical_id}", logical_id=r.logical_id, kind="resource",
                        loc=r.loc)
            pols = props.get("Policies")
            if isinstance(pols, MList):
                for i, pol in enumerate(pols):
                    doc = pol.get("PolicyDocument") if isinstance(pol, MDict) else None
                    stmts = doc.get("Statement") if isinstance(doc, MDict) else None
                    if isinstance(stmts, MDict):
                        stmts = MList([stmts], span=stmts.span)
                        stmts.ispans = [stmts[0].span]
                    self._statements(role, stmts, f"{rpath}.Properties.Policies[{i}].PolicyDocument.Statement",
                                     "resource")
            mp = props.get("ManagedPolicyArns")
            if isinstance(mp, MList):
                role.managed_policies.extend(mp)
            role.permissions_boundary = props.get("PermissionsBoundary")
            svc.roles.append(role)
        elif r.type in IDENTITY_POLICY_TYPES:
            doc = props.get("PolicyDocument")
            stmts = doc.get("Statement") if isinstance(doc, MDict) else None
            if isinstance(stmts, MDict):
                stmts = MList([stmts], span=stmts.span)
                stmts.ispans = [stmts[0].span]
            holder = Role(id=f"policy:{svc.id[4:]}.{r.logical_id}", logical_id=r.logical_id, kind="policy", loc=r.loc)
            self._statements(holder, stmts, f"{rpath}.Properties.PolicyDocument.Statement", "policy")
            attached = props.get("Roles")
            roles = [_logical_of(x) or S.text_of(x) for x in attached] if isinstance(attached, MList) else []
            self._policy_attachments.append((holder, roles))
        elif r.type in RESOURCE_POLICY_TYPES or r.type == "AWS::Lambda::Permission":
            if r.type == "AWS::Lambda::Permission":
                st = Statement(id=f"stmt:{svc.id[4:]}.{r.logical_id}.0", effect="Allow",
                               actions=(S.text_of(props.get("Action")),),
                               resources=(props.get("FunctionName"),),
                               principals=props.get("Principal"),
                               conditions={k: props.get(k) for k in ("SourceArn", "SourceAccount", "PrincipalOrgID")
                                           if props.get(k) is not None} or None,
                               origin="resource-policy", loc=r.loc)
                svc.resource_policies.append((r.id, st))
                return
            doc = props.get("PolicyDocument")
            stmts = doc.get("Statement") if isinstance(doc, MDict) else None
            if isinstance(stmts, MList):
                for i, st in enumerate(stmts):
                    if isinstance(st, MDict):
                        svc.resource_policies.append((r.id, statement_from(
                            st, f"stmt:{svc.id[4:]}.{r.logical_id}.{i}", "resource-policy",
                            self.loc(f"{rpath}.Properties.PolicyDocument.Statement[{i}]", stmts, i))))

    def attach_policies(self, svc: Service) -> None:
        for holder, role_names in self._policy_attachments:
            for role in svc.roles:
                if role.logical_id in role_names or role.id.split(".", 1)[-1] in role_names:
                    role.statements.extend(holder.statements)


def statement_from(st: MDict, sid: str, origin: str, loc: Loc) -> Statement:
    def tup(key):
        v = st.get(key)
        if v is None:
            return ()
        return tuple(v) if isinstance(v, list) else (v,)
    return Statement(
        id=sid, effect=S.text_of(st.get("Effect")) or "Allow",
        actions=tuple(S.text_of(a) for a in tup("Action")),
        not_actions=tuple(S.text_of(a) for a in tup("NotAction")),
        resources=tup("Resource"), not_resources=tup("NotResource"),
        principals=st.get("Principal"), conditions=st.get("Condition"),
        sid=st.get("Sid") if isinstance(st.get("Sid"), str) else None, origin=origin, loc=loc,
    )


def _event_permissions(ev: Event) -> tuple[tuple, tuple]:
    arn = ev.arn
    if ev.type == "sqs" and arn is not None:
        return ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"), (arn,)
    if ev.type == "stream" and arn is not None:
        kind = ev.config.get("type") if isinstance(ev.config, MDict) else None
        text = S.text_of(arn)
        if kind == "kinesis" or ":kinesis:" in text:
            return ("kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:DescribeStream",
                    "kinesis:DescribeStreamSummary", "kinesis:ListShards", "kinesis:ListStreams"), (arn,)
        return ("dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:DescribeStream",
                "dynamodb:ListStreams"), (arn,)
    return (), ()


def _dest_arn(target):
    if isinstance(target, MDict) and "arn" in target:
        return target["arn"]
    return target


def _destination_actions(target) -> tuple:
    if isinstance(target, MDict):
        t = target.get("type")
        return {"function": ("lambda:InvokeFunction",), "sns": ("sns:Publish",),
                "sqs": ("sqs:SendMessage",), "eventBus": ("events:PutEvents",)}.get(t, ())
    text = S.text_of(target)
    if ":sns:" in text:
        return ("sns:Publish",)
    if ":sqs:" in text:
        return ("sqs:SendMessage",)
    if ":events:" in text:
        return ("events:PutEvents",)
    return ("lambda:InvokeFunction",)


def _export_name(name, svc):
    """`!Sub '${AWS::StackName}-TopicArn'`, the usual way to name an export, as its text."""
    if isinstance(name, MDict) and isinstance(name.get("Fn::Sub"), str):
        text = name["Fn::Sub"]
        for var, value in (("AWS::StackName", svc.stack_name), ("AWS::Region", svc.region),
                           ("AWS::AccountId", S.ACCOUNT_TOKEN), ("AWS::Partition", "aws")):
            text = text.replace("${" + var + "}", value)
        return text if "${" not in text else name
    return name


def _logical_of(value) -> str | None:
    """`MyRole`, `!Ref MyRole` or `!GetAtt MyRole.Arn` name a role of this stack."""
    if isinstance(value, MDict):
        return S.referenced_logical_id(value)
    if isinstance(value, str) and not value.startswith("arn:") and ":" not in value and "/" not in value:
        return value
    return None


def _plugin_default_inherit(doc: MDict) -> bool:
    custom = doc.get("custom")
    if isinstance(custom, MDict):
        cfg = custom.get(PER_FUNCTION_PLUGIN)
        if isinstance(cfg, MDict):
            return cfg.get("defaultInherit") is True
    return False


def _type_name(v) -> str:
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    if v is None:
        return "nothing"
    return "a string"


__all__ = ["ServiceBuilder", "statement_from", "EVENT_API_IDS"]
