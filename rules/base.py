"""The shape every rule has: metadata, one documentation shape, and `check`."""
from __future__ import annotations

from typing import ClassVar, Iterable

from analyzer.findings import Hit

DOCS_BASE = "https://github.com/sls-audit/sls-audit/blob/main/docs/rules/"


class Rule:
    """Subclass, set the metadata, implement `check(graph, context)`.

    The documentation fields are the single source for `sls-audit explain`,
    SARIF help and `docs/rules/`: what it finds, why it matters, an example
    (bad), what to use instead (good), references.
    """

    id: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[str]
    summary: ClassVar[str]
    what: ClassVar[str] = ""
    why: ClassVar[str] = ""
    example: ClassVar[str] = ""
    instead: ClassVar[str] = ""
    references: ClassVar[tuple] = ()
    tags: ClassVar[tuple] = ()
    # "" for a rule on the graph; "suppressions" or "baseline" for a rule whose hits come from
    # that pipeline step (SLS006, SLS007): the engine runs it after that step, not with the others
    after: ClassVar[str] = ""

    def check(self, graph, context) -> Iterable[Hit]:  # pragma: no cover - interface
        raise NotImplementedError

    @classmethod
    def security_severity(cls) -> float | None:
        """From the one table in rules/security.py; None for rules that are not about security."""
        from .security import SECURITY_SEVERITY

        return SECURITY_SEVERITY.get(cls.id)

    @classmethod
    def help_uri(cls) -> str:
        return f"{DOCS_BASE}{cls.id}.md"

    @classmethod
    def documentation(cls) -> str:
        """The rule's documentation as Markdown, in the one shape all rules share."""
        from .security import rating

        score = cls.security_severity()
        parts = [f"# {cls.id} {cls.name}", "", f"{cls.summary}", "",
                 f"Default severity: **{cls.severity}**."
                 + (f" Security severity: **{score:.1f}** ({rating(score)})." if score is not None else "")
                 + (f" Tags: {', '.join(cls.tags)}." if cls.tags else ""),
                 "", "## What it finds", "", cls.what.strip(), "", "## Why it matters", "", cls.why.strip()]
        if cls.example.strip():
            parts += ["", "## Example", "", "```yaml", cls.example.strip("\n"), "```"]
        if cls.instead.strip():
            parts += ["", "## Use instead", "", "```yaml", cls.instead.strip("\n"), "```"]
        if cls.references:
            parts += ["", "## References", ""] + [f"- {r}" for r in cls.references]
        return "\n".join(parts).rstrip() + "\n"


class DiagnosticRule(Rule):
    """A rule whose findings the loaders recorded (parse errors, skipped files...)."""

    def check(self, graph, context):
        for d in context.diagnostics:
            if d.rule == self.id:
                yield Hit(d.message, loc=d, names=d.names or (d.message,), key_path=d.key_path or None,
                          nodes=(d.node,) if d.node else (), fix=d.fix)
