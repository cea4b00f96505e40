"""The core family: problems with reading the project itself (SLS000-SLS005), its suppression
comments (SLS006) and its baseline (SLS007)."""
from __future__ import annotations

from analyzer.findings import Hit

from .base import DiagnosticRule, Rule


class InternalError(Rule):
    id = "SLS000"
    name = "internal-error"
    severity = "error"
    summary = "A rule or loader failed on this input; the run went on without it."
    tags = ("core",)
    what = """
A rule or a loader raised an unexpected error on this input. sls-audit records it here, with the
file it was working on, and goes on with everything else: one bad rule never hides the others.
"""
    why = """
A silent failure would make a clean report look complete when it is not. This finding tells you
that part of the analysis is missing, so please report it with the file that caused it.
"""
    example = """
# any input that makes a rule raise, e.g. a plugin rule with a bug
"""
    instead = """
# report the problem (sls-audit --version, the rule id and the file); until it is fixed,
# `--ignore` the failing rule so the rest of the report stays useful
"""

    def check(self, graph, context):
        for d in context.internal_errors:
            yield Hit(d.message, loc=d, names=d.names or (d.message,))


class ParseError(DiagnosticRule):
    id = "SLS001"
    name = "parse-error"
    severity = "error"
    summary = "A file cannot be read or parsed."
    tags = ("core",)
    what = """
A configuration file that cannot be read (binary, not UTF-8, too large, a symbolic link that
loops or leaves the repository) or parsed (broken YAML, a tag other than the CloudFormation short
tags, an alias bomb, nesting too deep, duplicated keys), or a value of the wrong type where the
framework needs a mapping or a list. The finding gives the line and column.
"""
    why = """
The framework refuses such a file, so it does not deploy, and nothing in it can be checked. The
other files of the repository are still analyzed.
"""
    example = """
functions:
  sendWelcomeEmail:
    events:
      - function:
          name: createUser
       - function:          # misindented: not valid YAML
          name: publicFunction
"""
    instead = """
functions:
  sendWelcomeEmail:
    events:
      - function:
          name: createUser
      - function:
          name: publicFunction
"""
    references = ("https://www.serverless.com/framework/docs/providers/aws/guide/serverless.yml",)


class UnresolvedReference(DiagnosticRule):
    id = "SLS002"
    name = "unresolved-reference"
    severity = "note"
    summary = "A variable cannot be resolved as written."
    tags = ("core", "discovery")
    what = """
A `${...}` variable that fails as written: references that form a cycle, a `${self:}` path or
`${file()}` that does not exist and has no fallback, a `${file()}` outside the repository root, an
unknown variable source. Values that are only unknown offline (`${ssm:}`, `${cf:}`,
`${aws:accountId}`) are not findings: they stay symbolic and the coverage summary counts them.
"""
    why = """
The framework stops on such a reference at deploy time, and every rule that needs the value
(names, ARNs, references between services) sees only a placeholder.
"""
    example = """
custom:
  a: ${self:custom.b}
  b: ${self:custom.a}     # a cycle
"""
    instead = """
custom:
  a: ${self:custom.b}
  b: orders-table
"""
    references = ("https://www.serverless.com/framework/docs/providers/aws/guide/variables",)


class NotStatic(DiagnosticRule):
    id = "SLS004"
    name = "not-static"
    severity = "note"
    summary = "A serverless.ts/js configuration was skipped: it cannot be read statically."
    tags = ("core",)
    what = """
`serverless.ts` and `serverless.js` are programs that compute the configuration. sls-audit never
runs code from the repository it analyzes, so it skips them and says so.
"""
    why = """
Without this note a service configured in TypeScript would silently be missing from the graph
and from every rule's view.
"""
    example = """
# services/api/serverless.ts
export default { service: "api", functions: { hello: { handler: "handler.hello" } } };
"""
    instead = """
# synthesize the template (`sls package`) and point sls-audit at it,
# or keep the configuration in serverless.yml
"""


class IgnoredByFramework(DiagnosticRule):
    id = "SLS005"
    name = "ignored-by-framework"
    severity = "warning"
    summary = "A key the chosen framework ignores: it will not deploy as written."
    tags = ("core", "iam")
    what = """
A key that the chosen framework (v3, v4 or osls) does not honour: a function-level `iam` block or
`provider.iam.role.mode` under v3 or osls, the per-function plugin's `iamRoleStatements` under a
function when the plugin is not loaded. The key is left out of the effective configuration that
every other rule sees.
"""
    why = """
The configuration reads as least privilege, but the deployed function gets the shared role
instead: the permissions you wrote are not the permissions you get.
"""
    example = """
frameworkVersion: '3'
functions:
  charge:
    handler: src/charge.handler
    iam:                      # ignored by v3: charge gets the shared role
      role:
        statements:
          - Effect: Allow
            Action: dynamodb:PutItem
            Resource: !GetAtt ChargesTable.Arn
"""
    instead = """
frameworkVersion: '3'
plugins:
  - serverless-iam-roles-per-function
functions:
  charge:
    handler: src/charge.handler
    iamRoleStatements:
      - Effect: Allow
        Action: dynamodb:PutItem
        Resource: !GetAtt ChargesTable.Arn
"""
    references = (
        "https://www.serverless.com/framework/docs/providers/aws/guide/iam",
        "https://github.com/functionalone/serverless-iam-roles-per-function",
    )


class UnusedSuppression(Rule):
    id = "SLS006"
    name = "unused-suppression"
    severity = "note"
    summary = "A suppression comment that suppresses nothing, has no reason, or is malformed."
    tags = ("core",)
    after = "suppressions"
    what = """
A `# sls-audit: ignore[...]` or `# sls-audit: ignore-file[...]` comment that:

- suppresses nothing: no finding of the rules it names starts on, or spans, the line it applies
  to (its own line for a comment after a value, the next line for a comment on a line of its
  own), or, for `ignore-file`, anywhere in the file. Rules left out of the run (`--select`,
  `--ignore`) never make a comment unused;
- gives no reason after the brackets (it still suppresses);
- names an id that no rule has (a typo), or is not a directive sls-audit knows.

The finding is on the comment's line. The same directives work as `#` comments in Python
handlers and `//` comments in JavaScript/TypeScript handlers, in the files that hold findings.
"""
    why = """
A suppression outlives the problem it hid: once the finding is fixed or moved, a forgotten comment
would silently hide the next real finding on that line. A reason is what a reviewer reads to judge
whether the exception is still right.
"""
    example = """
provider:
  iam:
    role:
      statements:
        # sls-audit: ignore[SLS201]
        - Effect: Allow
          Action: s3:GetObject      # narrow already: nothing to suppress
          Resource: arn:aws:s3:::reports/*
"""
    instead = """
provider:
  iam:
    role:
      statements:
        # sls-audit: ignore[SLS202] any tenant's bucket, named at run time (SEC-12)
        - Effect: Allow
          Action: s3:GetObject
          Resource: "*"
"""
    references = ("https://github.com/sls-audit/sls-audit#suppressions-and-baselines",)

    def check(self, graph, context):
        for p in context.suppression_problems:
            yield Hit(p.message, loc=p.loc, names=p.names)


class StaleBaseline(Rule):
    id = "SLS007"
    name = "stale-baseline"
    severity = "note"
    summary = "A baseline entry that matches no finding any more."
    tags = ("core",)
    after = "baseline"
    what = """
With `--baseline FILE`, an entry of the baseline that no current finding matches (same rule, file
and fingerprint): the finding was fixed, or its file was renamed. The finding is on the entry's
line in the baseline file.
"""
    why = """
A baseline should shrink as findings are fixed. A stale entry keeps a door open: if the same
problem comes back, it would be accepted silently instead of failing the build.
"""
    example = """
# sls-audit check --baseline .sls-audit-baseline.json
# .sls-audit-baseline.json still lists an SLS201 finding that was fixed
"""
    instead = """
# refresh the baseline after fixing findings:
# sls-audit check --write-baseline .sls-audit-baseline.json
"""
    references = ("https://github.com/sls-audit/sls-audit#suppressions-and-baselines",)

    def check(self, graph, context):
        for loc, entry in context.stale_baseline:
            yield Hit(f"baseline entry {entry.rule} in {entry.file} matches no finding any more"
                      + (f" ({entry.message})" if entry.message else "") + ": remove it or rewrite the baseline",
                      loc=loc, names=(entry.rule, entry.file, entry.fingerprint),
                      fix="rewrite the baseline with --write-baseline")


RULES = [InternalError, ParseError, UnresolvedReference, NotStatic, IgnoredByFramework,
         UnusedSuppression, StaleBaseline]
