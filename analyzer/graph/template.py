"""Synthesized templates refine what the graph is built from: what deploys wins.

A template names what serverless.yml produced through the framework's logical ids
(`<Fn>LambdaFunction`, `IamRoleLambdaExecution`, `<Fn>IamRoleLambdaExecution`,
`<Fn>LambdaPermission...`). Each template resource is merged into the model entry it
came from before the builders run, so every builder and rule reads the deployed truth
unchanged. Locations stay on serverless.yml (where the fix belongs); `Loc.deployed`
carries the template location, which the engine adds as a related location, and
`Loc.note` says why a finding exists when only the template shows its cause.

- Statements the template and serverless.yml share keep their serverless.yml location.
- Statements only the template has are the framework's boilerplate (logs, pollers,
  tracing: counted, never reported) or something a plugin or the framework added: those
  are reported on the serverless.yml entry that produced the role.
- Statements only serverless.yml has did not deploy (the framework dropped them): gone.
"""
from __future__ import annotations

import json
from dataclasses import replace

from ..frameworks import SHARED_ROLE, topic_logical_id
from ..loaders import symbols as S
from ..loaders.service import statement_from
from ..loaders.yamlmarks import MDict, MList
from ..model import Event, Function, Loc, Resource, Role, Statement, entry_loc

ADDED = "the deployed template adds this {what}, which serverless.yml does not show: a plugin or the framework added it"
_POLLERS = (
    {"sqs:receivemessage", "sqs:deletemessage", "sqs:getqueueattributes"},
    {"dynamodb:getrecords", "dynamodb:getsharditerator", "dynamodb:describestream", "dynamodb:liststreams"},
    {"kinesis:getrecords", "kinesis:getsharditerator", "kinesis:describestream", "kinesis:describestreamsummary",
     "kinesis:listshards", "kinesis:liststreams", "kinesis:subscribetoshard"},
)
_FRAMEWORK_HELPERS = ("CustomDashresourceDash",)   # CustomDashresourceDashexistingDashs3LambdaFunction
_TRACING = {"xray:puttracesegments", "xray:puttelemetryrecords"}


def refine(project) -> None:
    """Merge every template into the service it was synthesized from (each fails alone)."""
    by_file = {svc.file: svc for svc in project.services}
    for t in project.templates:
        svc = by_file.get(t.service_file) if t.service_file else None
        if svc is None:
            continue
        try:
            Merge(svc, t).run()
        except Exception as e:  # noqa: BLE001 - a template bug is SLS000, never a crash
            from .build import _internal

            project.diagnostics.append(_internal(f"template {t.file}", e))


class Merge:
    """One template into one service model."""

    def __init__(self, svc, template, alone: bool = False):
        self.svc = svc
        self.t = template
        self.alone = alone   # the template is the whole service (--template): nothing to disagree with
        self.prefix = svc.id[4:]
        self.fns = {f.logical_id: f for f in svc.functions}

    def run(self) -> None:
        self.functions()
        if not self.alone:
            self.roles()
            self.permissions()
        self.endpoints()
        self.event_sources()

    def _at(self, anchor: Loc, tloc: Loc, what: str | None) -> Loc:
        """Where something only the template has is reported: on serverless.yml with the
        template as related location and a note; in the template itself for a lone template."""
        if self.alone:
            return tloc
        return replace(anchor, deployed=tloc, note=ADDED.format(what=what) if what else anchor.note)

    # ---- functions ----------------------------------------------------------
    def functions(self) -> None:
        for tr in self.t.of_type("AWS::Lambda::Function"):
            fn = self.fns.get(tr.logical_id)
            if fn is None and tr.logical_id.startswith(_FRAMEWORK_HELPERS):
                continue  # the framework's own custom-resource helpers (existing S3 buckets, ...)
            if fn is None:
                fn = self._new_function(tr)
            if not self.alone:
                fn.loc = _deployed(fn.loc, tr.loc)
            props = tr.properties
            env = props.get("Environment")
            variables = env.get("Variables") if isinstance(env, MDict) else None
            if isinstance(variables, MDict):
                # the template wins on which keys deploy; serverless.yml keeps its (symbolic) values
                fn.environment = {k: fn.environment.get(k, v) for k, v in variables.items()}
                fn.deployed_environment = variables
            else:  # no variables deploy, whatever serverless.yml says
                fn.environment = {}
            lid = _logical(props.get("Role"))
            if lid is not None:
                before = fn.role
                fn.role = self._role_for(fn, lid)
                if before and before != fn.role and not self.alone:
                    fn.loc = replace(fn.loc, note=f"the deployed template gives it role {lid}, not "
                                     f"{before.split('.', 1)[-1]} as serverless.yml says: the framework "
                                     "dropped its own role")
        self._drop_undeployed_roles()

    def _drop_undeployed_roles(self) -> None:
        """Framework roles serverless.yml describes but the template does not deploy (a block the
        framework ignored): nothing assumes them, and their statements grant nothing."""
        used = {f.role for f in self.svc.functions}
        self.svc.roles = [r for r in self.svc.roles if r.id in used or r.kind not in ("shared", "per-function")
                          or r.logical_id in self.t.resources]

    def _new_function(self, tr) -> Function:
        """A function only the template has (a plugin added it): reported where it deploys."""
        props = tr.properties
        base = tr.logical_id[: -len("LambdaFunction")] if tr.logical_id.endswith("LambdaFunction") else tr.logical_id
        deployed = S.text_of(props.get("FunctionName")) if isinstance(props.get("FunctionName"), str) else ""
        stem = f"{self.svc.name}-{self.svc.stage}-"
        name = deployed[len(stem):] if deployed.startswith(stem) else (base[:1].lower() + base[1:])
        deployed = deployed or f"{stem}{name}"
        runtime = props.get("Runtime")
        fn = Function(
            id=f"fn:{self.prefix}.{name}", service=self.svc.id, name=name,
            handler=props.get("Handler") if isinstance(props.get("Handler"), str) else None,
            runtime=runtime if isinstance(runtime, str) else self.svc.runtime, deployed_name=deployed,
            arn=f"arn:aws:lambda:{self.svc.region}:{S.ACCOUNT_TOKEN}:function:{deployed}",
            logical_id=tr.logical_id, config=MDict(),
            loc=tr.loc if self.alone else replace(tr.loc, note=ADDED.format(what="function")),
        )
        self.svc.functions.append(fn)
        self.fns[tr.logical_id] = fn
        return fn

    def _role_for(self, fn, lid: str) -> str:
        role_id = f"role:{self.prefix}.{lid}"
        if any(r.id == role_id for r in self.svc.roles):
            return role_id
        tr = self.t.resources.get(lid)
        if tr is None or tr.type != "AWS::IAM::Role":
            return fn.role or role_id
        role = Role(id=role_id, logical_id=lid, kind="shared" if lid == SHARED_ROLE else "per-function",
                    loc=fn.loc)
        self.svc.roles.append(role)
        return role_id

    # ---- roles and their statements ----------------------------------------
    def roles(self) -> None:
        used = {f.role for f in self.svc.functions}
        by_lid = {r.logical_id: r for r in self.svc.roles}
        policies = self._policies_by_role()
        for tr in self.t.of_type("AWS::IAM::Role"):
            role = by_lid.get(tr.logical_id)
            if role is None or role.kind in ("arn", "policy") or (role.id not in used and role.kind != "resource"):
                continue
            deployed = self._deployed_statements(tr) + policies.get(tr.logical_id, [])
            self._merge_statements(role, deployed, self._anchor(role))
            self._merge_managed(role, tr)
            role.loc = _deployed(role.loc, tr.loc)

    def _deployed_statements(self, tr) -> list:
        out = []
        pols = tr.properties.get("Policies")
        for pi, pol in enumerate(pols if isinstance(pols, MList) else ()):
            doc = pol.get("PolicyDocument") if isinstance(pol, MDict) else None
            base = f"Resources.{tr.logical_id}.Properties.Policies[{pi}].PolicyDocument.Statement"
            out.extend(_statements_of(doc, base, self.t.file))
        return out

    def _policies_by_role(self) -> dict:
        """`AWS::IAM::Policy` resources only the template has (a plugin's), by the roles they attach to."""
        declared = {r.logical_id for r in self.svc.resources}
        out: dict = {}
        for tr in self.t.of_type("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            if tr.logical_id in declared:
                continue
            stmts = _statements_of(tr.properties.get("PolicyDocument"),
                                   f"Resources.{tr.logical_id}.Properties.PolicyDocument.Statement", self.t.file)
            roles = tr.properties.get("Roles")
            for r in roles if isinstance(roles, MList) else ():
                lid = _logical(r) or S.text_of(r)
                out.setdefault(lid, []).extend(stmts)
        return out

    def _anchor(self, role) -> Loc:
        """The serverless.yml entry that produced a role: where its statements are (or would be) written."""
        doc = self.svc.doc
        if role.kind == "shared" and isinstance(doc, MDict):
            prov = doc.get("provider")
            iam = prov.get("iam") if isinstance(prov, MDict) else None
            rcfg = iam.get("role") if isinstance(iam, MDict) else None
            if isinstance(rcfg, MDict) and "statements" in rcfg:
                return entry_loc(rcfg, "statements", self.svc.file, "provider.iam.role.statements")
            if isinstance(prov, MDict) and "iamRoleStatements" in prov:
                return entry_loc(prov, "iamRoleStatements", self.svc.file, "provider.iamRoleStatements")
        if role.kind == "per-function":
            for fn in self.svc.functions:
                if fn.role == role.id and isinstance(fn.config, MDict):
                    for key in ("iamRoleStatements", "iam"):
                        if key in fn.config:
                            return entry_loc(fn.config, key, self.svc.file, f"functions.{fn.name}.{key}")
        loc = role.loc or self.svc.loc
        return replace(loc, deployed=None, note="")

    def _merge_statements(self, role, deployed: list, anchor: Loc) -> None:
        model = list(role.statements)
        taken: set = set()
        base = role.id.replace("role:", "stmt:")
        out = []
        cands = [statement_from(st, f"{base}.t{n}", "template", tloc) for n, (st, tloc) in enumerate(deployed)]
        matched: dict = {}
        for with_resources in (True, False):  # exact matches first, for every statement, then loose ones
            for n, cand in enumerate(cands):
                if n not in matched:
                    found = _match(cand, model, taken, with_resources)
                    if found is not None:
                        taken.add(id(found))
                        matched[n] = found
        for n, cand in enumerate(cands):
            tloc = cand.loc
            found = matched.get(n)
            if found is not None:
                found.loc = _deployed(found.loc or anchor, tloc)
                out.append(found)
            elif _boilerplate(cand):
                cand.origin, cand.framework = "framework", True
                cand.loc = _deployed(anchor, tloc)
                out.append(cand)
            else:
                cand.loc = replace(anchor, deployed=tloc, note=ADDED.format(what="statement"))
                out.append(cand)
        dropped = [st for st in model if id(st) not in taken and not st.framework]
        role.statements = out
        if dropped:  # findings on its functions (a call that will fail) say why
            actions = sorted({a for st in dropped for a in st.actions})
            note = (f"the deployed role {role.logical_id} lacks {len(dropped)} statement(s) serverless.yml "
                    f"gives it ({', '.join(actions[:5])}{', ...' if len(actions) > 5 else ''})")
            for fn in self.svc.functions:
                if fn.role == role.id and fn.loc is not None and not fn.loc.note:
                    fn.loc = replace(fn.loc, note=note)

    def _merge_managed(self, role, tr) -> None:
        arns = tr.properties.get("ManagedPolicyArns")
        if not isinstance(arns, MList):
            arns = MList()
        written = {_text(m): m for m in role.managed_policies}
        role.managed_policies = [written.get(_text(m), m) for m in arns]
        added = [_text(m) for m in arns if _text(m) not in written]
        if added:
            role.loc = replace(role.loc or self.svc.loc,
                               note=ADDED.format(what="managed policy " + ", ".join(added)))

    # ---- resource policies: Lambda permissions ------------------------------
    def permissions(self) -> None:
        declared = {r.logical_id: r for r in self.svc.resources}
        for tr in self.t.of_type("AWS::Lambda::Permission"):
            if tr.logical_id in declared:  # written in `resources:`: same statement, deployed here
                res = declared[tr.logical_id]
                res.loc = _deployed(res.loc, tr.loc)
                for rid, st in self.svc.resource_policies:
                    if rid == res.id and st.loc is not None:
                        st.loc = _deployed(st.loc, tr.loc)
                continue
            props = tr.properties
            fn = self.fns.get(_logical(props.get("FunctionName")) or "")
            anchor = replace(fn.loc, note="") if fn is not None else replace(self.svc.loc, deployed=tr.loc)
            principal = props.get("Principal")
            conditions = {k: props.get(k) for k in ("SourceArn", "SourceAccount", "PrincipalOrgID")
                          if props.get(k) is not None} or None
            url = props.get("FunctionUrlAuthType") is not None or props.get("InvokedViaFunctionUrl") is True
            scoped = bool(conditions) and isinstance(principal, str) and principal.endswith(".amazonaws.com")
            framework = scoped or (url and fn is not None)   # URLs are judged by SLS302
            st = Statement(
                id=f"stmt:{self.prefix}.{tr.logical_id}.0", effect="Allow",
                actions=(S.text_of(props.get("Action")),), resources=(props.get("FunctionName"),),
                principals=principal, conditions=conditions, origin="framework" if framework else "template",
                framework=framework,
                loc=replace(anchor, deployed=tr.loc, note="" if framework else ADDED.format(what="permission")),
            )
            res = Resource(id=f"res:{self.prefix}.{tr.logical_id}", logical_id=tr.logical_id, type=tr.type,
                           properties=props, framework=True, loc=st.loc)
            self.svc.resources.append(res)
            self.svc.resource_policies.append((res.id, st))

    # ---- endpoints: API Gateway methods and function URLs --------------------
    def endpoints(self) -> None:
        methods: dict = {}
        for tr in self.t.of_type("AWS::ApiGateway::Method"):
            integ = tr.properties.get("Integration")
            lid = _function_in(integ.get("Uri") if isinstance(integ, MDict) else None)
            if lid in self.fns:
                methods.setdefault(lid, []).append(tr)
        for lid, trs in sorted(methods.items()):
            fn = self.fns[lid]
            events = [e for e in fn.events if e.type == "http"]
            for tr in sorted(trs, key=lambda r: r.logical_id):
                props = tr.properties
                method = S.text_of(props.get("HttpMethod")).upper()
                path = self._rest_path(props.get("ResourceId"))
                attrs = _method_auth(props)
                ev = _event_for(events, method, path)
                if ev is not None:
                    events.remove(ev)
                    note = ""
                    written = _written_authorizer(ev.config)
                    if written and attrs["authorizer"] is None:
                        note = "the deployed template sets AuthorizationType NONE for this endpoint"
                    ev.deployed = attrs
                    if not self.alone:
                        ev.loc = replace(ev.loc, deployed=tr.loc, note=note or ev.loc.note)
                else:
                    cfg = MDict({"method": method, "path": path})
                    fn.events.append(Event("http", -1, cfg, self._at(fn.loc, tr.loc, "endpoint"), deployed=attrs))
        self._routes()
        for tr in self.t.of_type("AWS::Lambda::Url"):
            fn = self.fns.get(_logical(tr.properties.get("TargetFunctionArn")) or "")
            if fn is None:
                continue
            auth = S.text_of(tr.properties.get("AuthType")).upper()
            attrs = {"authorizer": None if auth == "NONE" else auth.lower()}
            ev = next((e for e in fn.events if e.type == "url"), None)
            if ev is not None:
                ev.deployed = attrs
                if not self.alone:
                    ev.loc = _deployed(ev.loc, tr.loc)
            else:
                fn.events.append(Event("url", -1, MDict(), self._at(fn.loc, tr.loc, "function URL"),
                                       deployed=attrs))

    def _routes(self) -> None:
        """HTTP API routes (`RouteKey: GET /path`) and the function their integration targets."""
        for tr in sorted(self.t.of_type("AWS::ApiGatewayV2::Route"), key=lambda r: r.logical_id):
            props = tr.properties
            integ = self.t.resources.get(_function_in_target(props.get("Target")) or "")
            lid = _function_in(integ.properties.get("IntegrationUri")) if integ is not None else None
            fn = self.fns.get(lid or "")
            key = S.text_of(props.get("RouteKey"))
            if fn is None or key.startswith("$"):
                continue  # websocket routes ($connect...) are judged from serverless.yml
            method, _, path = key.partition(" ")
            method, path = (method.upper(), path) if path else ("ANY", method)
            attrs = _method_auth(props)
            events = [e for e in fn.events if e.type == "httpApi"]
            ev = _event_for(events, method, path)
            if ev is not None:
                written = _written_authorizer(ev.config)
                ev.deployed = {"authorizer": attrs["authorizer"]}
                if not self.alone:
                    note = ("the deployed template sets AuthorizationType NONE for this route"
                            if written and attrs["authorizer"] is None else ev.loc.note)
                    ev.loc = replace(ev.loc, deployed=tr.loc, note=note)
            else:
                cfg = MDict({"method": method, "path": path})
                fn.events.append(Event("httpApi", -1, cfg, self._at(fn.loc, tr.loc, "route"),
                                       deployed={"authorizer": attrs["authorizer"]}))

    def _rest_path(self, ref) -> str:
        parts: list = []
        seen: set = set()
        lid = _logical(ref)
        while lid and lid in self.t.resources and lid not in seen:
            seen.add(lid)
            props = self.t.resources[lid].properties
            parts.append(S.text_of(props.get("PathPart")))
            lid = _logical(props.get("ParentId"))
        return "/" + "/".join(reversed(parts))

    # ---- event sources only the template has ---------------------------------
    def event_sources(self) -> None:
        for fn in self.svc.functions:   # topics the framework creates for `sns: <name>` events
            for ev in fn.events:
                name = _topic_name(ev)
                tr = self.t.resources.get(topic_logical_id(name)) if name else None
                if tr is not None and not self.alone:
                    ev.loc = _deployed(ev.loc, tr.loc)
        for tr in self.t.of_type("AWS::Lambda::EventSourceMapping"):
            fn = self.fns.get(_logical(tr.properties.get("FunctionName")) or "")
            arn = tr.properties.get("EventSourceArn")
            if fn is None or arn is None:
                continue
            kind = self._source_kind(arn)
            known = next((e for e in fn.events if e.type in ("sqs", "stream") and _same(e.arn, arn)), None)
            if known is not None:
                if not self.alone:
                    known.loc = _deployed(known.loc, tr.loc)
                continue
            fn.events.append(Event(kind, -1, MDict({"arn": arn}), self._at(fn.loc, tr.loc, f"{kind} event source")))
        for tr in self.t.of_type("AWS::SNS::Subscription"):
            props = tr.properties
            fn = self.fns.get(_logical(props.get("Endpoint")) or "")
            if fn is None or S.text_of(props.get("Protocol")) != "lambda":
                continue
            arn = props.get("TopicArn")
            if any(e.type == "sns" and _same(e.arn, arn) for e in fn.events):
                continue
            fn.events.append(Event("sns", -1, MDict({"arn": arn}), self._at(fn.loc, tr.loc, "SNS subscription")))

    def _source_kind(self, arn) -> str:
        lid = _logical(arn)
        if lid is not None and lid in self.t.resources:
            return "sqs" if self.t.resources[lid].type == "AWS::SQS::Queue" else "stream"
        return "sqs" if ":sqs:" in _text(arn) else "stream"


# ---- a template analysed as a service of its own (--template) ---------------------
def service_of(t, project):
    """A plain CloudFormation or SAM template as a service: its resources, roles and resource
    policies read as `resources:` would be, its functions (SAM ones included) as functions."""
    from pathlib import PurePosixPath

    from ..loaders.service import ServiceBuilder
    from ..loaders.variables import Options

    path = PurePosixPath(t.file)
    generic = path.stem in ("template", "cloudformation-template-update-stack", "packaged", "stack")
    folder = path.parent.name if path.parent.name not in ("", ".") else PurePosixPath(project.root).name
    name = folder if generic and folder not in ("", ".serverless") else path.stem
    sid = f"svc:{name}"
    if any(s.id == sid for s in project.services):
        sid = f"svc:{name}@{t.file}"
    body = MDict({k: v for k, v in t.doc.items() if k in ("Resources", "Outputs")}, span=t.doc.span)
    body.kspans, body.vspans = t.doc.kspans, t.doc.vspans
    body.source = t.file
    doc = MDict({"service": name, "provider": MDict({"name": "aws"}), "resources": body}, span=t.doc.span)
    doc.kspans = {k: t.doc.span for k in doc}
    doc.vspans = dict(doc.kspans)
    builder = ServiceBuilder(doc, t.file, None, Options(), sid)
    svc = builder.build(name, "dev", "us-east-1")
    svc.framework = "cloudformation"
    svc.loc = Loc(t.file, 1, 1, 1, 1)
    svc.stack_name = name
    project.diagnostics.extend(d for d in builder.diagnostics if d.rule == "SLS001")
    functions = ("AWS::Lambda::Function", "AWS::Serverless::Function")
    svc.resources = [r for r in svc.resources if r.type not in functions]
    _sam(svc, t, project)
    Merge(svc, t, alone=True).run()
    return svc


def _sam(svc, t, project) -> None:
    from ..loaders.template import sam_functions
    from ..loaders.variables import Diagnostic

    prefix = svc.id[4:]
    for r, props in sam_functions(t):
        lid = r.logical_id
        name = props.get("FunctionName")
        deployed = S.text_of(name) if isinstance(name, str) else f"{svc.stack_name}-{lid}"
        fn = Function(id=f"fn:{prefix}.{lid}", service=svc.id, name=lid,
                      handler=props.get("Handler") if isinstance(props.get("Handler"), str) else None,
                      runtime=props.get("Runtime") if isinstance(props.get("Runtime"), str) else None,
                      deployed_name=deployed,
                      arn=f"arn:aws:lambda:{svc.region}:{S.ACCOUNT_TOKEN}:function:{deployed}",
                      logical_id=lid, config=props, loc=r.loc)
        env = props.get("Environment")
        variables = env.get("Variables") if isinstance(env, MDict) else None
        fn.environment = dict(variables) if isinstance(variables, MDict) else {}
        given = props.get("Role")
        if given is not None:
            glid = _logical(given)
            role = next((x for x in svc.roles if x.logical_id == glid), None) if glid else None
            if role is None:
                text = S.text_of(given) if not isinstance(given, MDict) else glid or "role"
                role = Role(id=f"role:{prefix}.{text.rsplit('/', 1)[-1]}", logical_id=text, kind="arn",
                            arn=given, opaque=True, loc=entry_loc(props, "Role", t.file, f"Resources.{lid}.Properties.Role"))
                svc.roles.append(role)
        else:
            role = Role(id=f"role:{prefix}.{lid}Role", logical_id=f"{lid}Role", kind="per-function",
                        loc=entry_loc(props, "Policies", t.file, f"Resources.{lid}.Properties.Policies")
                        if "Policies" in props else r.loc,
                        managed_policies=["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"])
            pols = props.get("Policies")
            pols = pols if isinstance(pols, MList) else MList([pols]) if pols is not None else MList()
            for i, pol in enumerate(pols):
                if isinstance(pol, str):
                    role.managed_policies.append(pol if pol.startswith("arn:") else f"arn:aws:iam::aws:policy/{pol}")
                elif isinstance(pol, MDict) and "Statement" in pol:
                    for st, loc in _statements_of(pol, f"Resources.{lid}.Properties.Policies[{i}].Statement", t.file):
                        role.statements.append(statement_from(st, f"stmt:{prefix}.{lid}Role.{len(role.statements)}",
                                                              "template", loc))
                elif isinstance(pol, MDict) and len(pol) == 1:   # a SAM policy template
                    name = str(next(iter(pol)))
                    loc = entry_loc(pols, i, t.file, f"Resources.{lid}.Properties.Policies[{i}]")
                    expanded = _sam_policy_template(name, pol[name], pols.ispans[i] if i < len(pols.ispans) else pol.span,
                                                    t.file)
                    if expanded is None:
                        project.diagnostics.append(Diagnostic(
                            "SLS002", f"SAM policy template {name} is unknown: the permissions it grants "
                            f"{lid} are not analysed", loc.file, loc.line, loc.column, loc.end_line,
                            loc.end_column, loc.key_path, (lid, name)))
                        role.opaque = True
                        continue
                    for st in expanded:
                        role.statements.append(statement_from(st, f"stmt:{prefix}.{lid}Role.{len(role.statements)}",
                                                              "template", loc))
            svc.roles.append(role)
        fn.role = role.id
        events = props.get("Events")
        for en, ev in (events.items() if isinstance(events, MDict) else ()):
            if not isinstance(ev, MDict):
                continue
            etype = S.text_of(ev.get("Type"))
            ep = ev.get("Properties") if isinstance(ev.get("Properties"), MDict) else MDict()
            loc = entry_loc(events, en, t.file, f"Resources.{lid}.Properties.Events.{en}")
            if etype in ("Api", "HttpApi"):
                auth = ep.get("Auth") if isinstance(ep.get("Auth"), MDict) else MDict()
                authorizer = S.text_of(auth.get("Authorizer")) if auth.get("Authorizer") else None
                cfg = MDict({"method": ep.get("Method") or "ANY", "path": ep.get("Path") or "/",
                             "authorizer": None if (authorizer or "").upper() == "NONE" else authorizer,
                             "private": auth.get("ApiKeyRequired") is True})
                fn.events.append(Event("http" if etype == "Api" else "httpApi", len(fn.events), cfg, loc))
            elif etype in ("SNS", "SQS", "Kinesis", "DynamoDB"):
                src = ep.get("Topic") or ep.get("Queue") or ep.get("Stream")
                kind = {"SNS": "sns", "SQS": "sqs"}.get(etype, "stream")
                fn.events.append(Event(kind, len(fn.events), MDict({"arn": src}), loc))
            else:
                fn.events.append(Event(etype[:1].lower() + etype[1:], len(fn.events), ep, loc))
        url = props.get("FunctionUrlConfig")
        if isinstance(url, MDict):
            auth = S.text_of(url.get("AuthType")).upper()
            fn.events.append(Event("url", -1, MDict({"authorizer": None if auth == "NONE" else "aws_iam"}),
                                   entry_loc(props, "FunctionUrlConfig", t.file,
                                             f"Resources.{lid}.Properties.FunctionUrlConfig")))
        svc.functions.append(fn)


_SAM_POLICIES: list = []


def _sam_policy_template(name: str, params, span, file: str) -> list | None:
    """The statements a SAM policy template (`DynamoDBCrudPolicy: {TableName: !Ref T}`) expands
    to, through aws-sam-translator's own table (a cfn-lint dependency); None when unknown."""
    try:
        if not _SAM_POLICIES:
            from samtranslator.policy_template_processor.processor import PolicyTemplatesProcessor

            _SAM_POLICIES.append(PolicyTemplatesProcessor(PolicyTemplatesProcessor.get_default_policy_templates_json()))
        proc = _SAM_POLICIES[0]
        if not proc.has(name):
            return None
        doc = proc.convert(name, S.plain(params) if isinstance(params, dict) else {})
    except Exception:  # noqa: BLE001 - missing parameters, or no aws-sam-translator: unknown
        return None
    stmts = doc.get("Statement") if isinstance(doc, dict) else None
    return [_marked(_bind_sub(st), span, file) for st in (stmts or []) if isinstance(st, dict)]


def _bind_sub(value):
    """`Fn::Sub: [template, {tableName: {Ref: T}}]` -> `Fn::Sub: template with ${T}`, so the
    resource it names is the stack's own resource."""
    if isinstance(value, list):
        return [_bind_sub(v) for v in value]
    if not isinstance(value, dict):
        return value
    sub = value.get("Fn::Sub")
    if len(value) == 1 and isinstance(sub, list) and len(sub) == 2 and isinstance(sub[0], str) and isinstance(sub[1], dict):
        text = sub[0]
        for var, v in sub[1].items():
            if isinstance(v, dict) and "Ref" in v:
                rep = "${" + str(v["Ref"]) + "}"
            elif isinstance(v, dict) and isinstance(v.get("Fn::GetAtt"), list):
                rep = "${" + ".".join(str(x) for x in v["Fn::GetAtt"]) + "}"
            elif isinstance(v, str):
                rep = v
            else:
                continue
            text = text.replace("${" + var + "}", rep)
        return {"Fn::Sub": text}
    return {k: _bind_sub(v) for k, v in value.items()}


def _marked(value, span, file: str):
    """Plain data -> MDict/MList spanning `span` (what the builders expect)."""
    if isinstance(value, dict):
        out = MDict(span=span)
        out.source = file
        for k, v in value.items():
            out[k] = _marked(v, span, file)
            out.kspans[k] = out.vspans[k] = span
        return out
    if isinstance(value, list):
        out = MList([_marked(v, span, file) for v in value], span=span)
        out.source = file
        out.ispans = [span] * len(value)
        return out
    return value


# ---- helpers ----------------------------------------------------------------
def _deployed(loc: Loc | None, tloc: Loc) -> Loc:
    return replace(loc, deployed=tloc) if loc is not None else tloc


def _statements_of(doc, base: str, file: str) -> list:
    stmts = doc.get("Statement") if isinstance(doc, MDict) else None
    if isinstance(stmts, MDict):
        return [(stmts, Loc(file, *stmts.span, base))]
    if not isinstance(stmts, MList):
        return []
    return [(st, entry_loc(stmts, i, file, f"{base}[{i}]")) for i, st in enumerate(stmts) if isinstance(st, MDict)]


def _text(value) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(S.plain(value), sort_keys=True)
    return S.text_of(value)


def _key(st: Statement, with_resources: bool) -> tuple:
    key = (st.effect, frozenset(a.lower() for a in st.actions), frozenset(a.lower() for a in st.not_actions))
    if with_resources:
        key += (tuple(sorted(_text(r) for r in st.resources)), tuple(sorted(_text(r) for r in st.not_resources)))
    return key


def _match(cand: Statement, model: list, taken: set, with_resources: bool):
    """The serverless.yml statement a deployed one came from: same effect, actions and
    resources; or (the loose pass) same effect and actions: a resource the framework resolved
    differently, such as a placeholder for `${ssm:}`."""
    want = _key(cand, with_resources)
    for st in model:
        if id(st) not in taken and _key(st, with_resources) == want:
            return st
    return None


def _boilerplate(st: Statement) -> bool:
    """What the framework adds to every role: logs, stream and queue pollers, tracing."""
    if st.effect != "Allow" or not st.actions or st.not_actions or st.not_resources:
        return False
    acts = {a.lower() for a in st.actions}
    texts = [_text(r) for r in st.resources]
    if all(a.startswith("logs:") for a in acts):
        return bool(texts) and all(":log-group:" in t for t in texts)
    if acts <= _TRACING:
        return True
    return any(acts <= p for p in _POLLERS) and "*" not in texts


_logical = S.referenced_logical_id


def _first_in(value, pick) -> str | None:
    """The first non-None `pick(v)` over a value and everything nested in it."""
    stack = [value]
    while stack:
        v = stack.pop()
        found = pick(v)
        if found is not None:
            return found
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return None


def _function_in(value) -> str | None:
    """The function logical id an integration URI (`Fn::Join` around `Fn::GetAtt`) names."""
    def pick(v):
        lid = _logical(v)
        return lid if lid is not None and lid.endswith("LambdaFunction") else None
    return _first_in(value, pick)


def _function_in_target(value) -> str | None:
    """`integrations/<Ref HttpApiIntegration...>` -> the integration's logical id."""
    return _first_in(value, lambda v: S.text_of(v["Ref"]) if isinstance(v, MDict) and "Ref" in v else None)


def _method_auth(props) -> dict:
    auth = S.text_of(props.get("AuthorizationType")).upper() or "NONE"
    return {"authorizer": None if auth == "NONE" else auth.lower(),
            "private": props.get("ApiKeyRequired") is True}


def _written_authorizer(cfg) -> bool:
    return isinstance(cfg, MDict) and bool(cfg.get("authorizer"))


def _event_for(events: list, method: str, path: str):
    def norm(p: str) -> str:
        return "/" + "/".join(x for x in str(p).split("/") if x)

    for ev in events:
        cfg = ev.config
        if isinstance(cfg, str):
            parts = cfg.split(None, 1)
            m, p = (parts[0], parts[1]) if len(parts) == 2 else ("ANY", cfg)
        elif isinstance(cfg, MDict):
            m, p = S.text_of(cfg.get("method") or "ANY"), S.text_of(cfg.get("path") or "/")
        else:
            continue
        m = "ANY" if m.strip() == "*" else m.upper()
        if m == method and norm(p) == norm(path):
            return ev
    return None


def _topic_name(ev) -> str | None:
    """The topic an `sns` event makes the framework create (`sns: name` or `topicName:`)."""
    if ev.type != "sns":
        return None
    cfg = ev.config
    if isinstance(cfg, str) and not cfg.startswith("arn:"):
        return cfg
    if isinstance(cfg, MDict):
        name = cfg.get("topicName") or (cfg.get("arn") if isinstance(cfg.get("arn"), str) else None)
        if isinstance(name, str) and not name.startswith("arn:"):
            return name
    return None


def _same(a, b) -> bool:
    return a is not None and b is not None and (_text(a) == _text(b) or (
        _logical(a) is not None and _logical(a) == _logical(b)))


__all__ = ["refine", "Merge", "service_of"]
