"""Fingerprints survive unrelated edits: lines inserted above, lists and functions reordered.

Baselines and code scanning match findings by fingerprint, so a finding that moves must keep
it. Each fixture repository is copied, every file gets lines inserted at the top, and the
lists whose order means nothing (IAM statements, their actions and resources, events,
`calling`, functions, resources) are reversed in the YAML text itself; the set of
(rule, file, fingerprint) must not change, and at least some findings must have moved.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from analyzer.api import audit
from analyzer.loaders.yamlmarks import MDict, MList, ParseError, load_text

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CONFIG_NAMES = {"serverless.yml", "serverless.yaml", "serverless.json", "serverless-compose.yml",
                "serverless-compose.yaml", "serverless.ts", "serverless.js"}
# lists and mappings whose order carries no meaning for the framework
REVERSIBLE_LISTS = {"events", "statements", "iamRoleStatements", "Statement", "Action", "NotAction",
                    "Resource", "NotResource", "calling", "managedPolicies", "iamManagedPolicies",
                    "ManagedPolicyArns", "Policies", "subscribable"}
REVERSIBLE_MAPS = {"functions", "Resources", "Outputs", "environment"}


def _repos() -> list[Path]:
    """Every folder that holds a repository: the one with a config closest to the fixtures root."""
    out = []
    for cfg in sorted(FIXTURES.rglob("*")):
        if cfg.name not in CONFIG_NAMES or "good" in cfg.relative_to(FIXTURES).parts:
            continue
        parts = cfg.relative_to(FIXTURES).parts
        if parts[0] == "rules":
            root = FIXTURES.joinpath(*parts[:3])
            if len(parts) > 4 and not any((root / n).exists() for n in CONFIG_NAMES):
                root = root / parts[3]
        elif parts[0] in ("iam", "frameworks", "providers"):
            root = FIXTURES.joinpath(*parts[:2])
        else:
            root = FIXTURES / parts[0]
        if root not in out:
            out.append(root)
    return out


def _collections(node, out: list) -> None:
    """(kind, spans) of every reversible block collection, found iteratively."""
    stack = [(node, None)]
    seen = set()
    while stack:
        cur, key = stack.pop()
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        if isinstance(cur, MDict):
            if key in REVERSIBLE_MAPS and len(cur) > 1:
                out.append(("map", [cur.kspans[k] for k in cur], cur.span))
            stack.extend((v, k) for k, v in cur.items())
        elif isinstance(cur, MList):
            if key in REVERSIBLE_LISTS and len(cur) > 1:
                out.append(("list", list(cur.ispans), cur.span))
            stack.extend((v, key if isinstance(v, MList) else None) for v in cur)


def _chunks(lines: list[str], kind: str, starts: list, span) -> list[tuple[int, int]] | None:
    """Line ranges [a, b) of each entry, or None when the collection is not a plain block one."""
    first = [s[0] - 1 for s in starts]
    if first != sorted(set(first)):
        return None
    for (line, col, *_), idx in zip(starts, first):
        prefix = lines[idx][:col - 1]
        if kind == "list" and (prefix.strip() != "-" or not prefix.rstrip().endswith("-")):
            return None
        if kind == "map" and prefix.strip():
            return None
    indent = {len(lines[i]) - len(lines[i].lstrip()) for i in first}
    if len(indent) != 1:
        return None
    # libyaml ends a block collection where the next token starts: walk back to its last line
    end = min(span[2] - 1, len(lines) - 1)
    while end > first[-1] and (not lines[end].strip() or lines[end].lstrip().startswith("#")
                               or len(lines[end]) - len(lines[end].lstrip()) <= min(indent)):
        end -= 1
    # a comment on the lines right above an entry belongs to it (`# sls-audit: ignore[...]`)
    starts_at = []
    for n, idx in enumerate(first):
        floor = first[n - 1] + 1 if n else 0
        while idx - 1 >= floor and lines[idx - 1].lstrip().startswith("#"):
            idx -= 1
        starts_at.append(idx)
    bounds = starts_at + [end + 1]
    # every line of an entry is indented deeper than the entry itself (or blank/comment)
    for head, a, b in zip(first, bounds, bounds[1:]):
        for i in range(a, b):
            ln = lines[i]
            if i != head and ln.strip() and not ln.lstrip().startswith("#") \
                    and len(ln) - len(ln.lstrip()) <= min(indent):
                return None
    return list(zip(bounds, bounds[1:]))


def _flow_on_one_line(lines: list[str], starts: list, span) -> bool:
    if span[0] != span[2] or not all(s[0] == s[2] == span[0] for s in starts):
        return False
    line = lines[span[0] - 1]
    return line[span[1] - 1:span[1]] == "[" and all(line[s[1] - 1] not in "[{" for s in starts)


def reverse_lists(text: str) -> str:
    """The same YAML with the order of its reversible block collections reversed."""
    try:
        doc, _ = load_text(text)
    except ParseError:
        return text
    found: list = []
    _collections(doc, found)
    lines = text.split("\n")
    # flow lists first (`Action: [a, b]`): they change one line and keep the line count
    for kind, starts, span in found:
        if kind == "list" and _flow_on_one_line(lines, starts, span):
            line = lines[span[0] - 1]
            pieces = [line[s[1] - 1:s[3] - 1] for s in starts]
            out, last = [], 0
            for s, piece in zip(starts, reversed(pieces)):
                out += [line[last:s[1] - 1], piece]
                last = s[3] - 1
            lines[span[0] - 1] = "".join(out) + line[last:]
    ranges = []
    for kind, starts, span in found:
        chunks = _chunks(lines, kind, starts, span)
        if chunks:
            ranges.append(chunks)
    # inner collections first: a reversal only permutes lines inside its own range, and
    # YAML collections nest or are disjoint, so the outer ranges stay valid
    for chunks in sorted(ranges, key=lambda c: c[-1][1] - c[0][0]):
        block = [lines[a:b] for a, b in chunks]
        lo, hi = chunks[0][0], chunks[-1][1]
        lines[lo:hi] = [ln for part in reversed(block) for ln in part]
    return "\n".join(lines)


def edit_copy(src: Path, dst: Path) -> int:
    """Copy a repository, insert lines on top of every file, reverse lists; how many files changed order."""
    shutil.copytree(src, dst)
    reordered = 0
    for p in sorted(dst.rglob("*")):
        if not p.is_file() or p.suffix not in (".yml", ".yaml", ".json", ".py", ".js", ".mjs", ".ts"):
            continue
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if p.suffix in (".yml", ".yaml"):
            new = reverse_lists(text)
            reordered += new != text
            text = new
        p.write_text("\n\n\n" + text, encoding="utf-8")
    return reordered


def fingerprints(report) -> set[tuple[str, str, str]]:
    return {(f.rule, f.file, f.fingerprint) for f in report.findings}


REPOS = _repos()


@pytest.mark.parametrize("repo", REPOS, ids=lambda p: p.relative_to(FIXTURES).as_posix())
def test_fingerprints_survive_inserted_lines_and_reordered_lists(tmp_path, repo):
    before = audit(repo, cache=False)
    copy = tmp_path / "copy"
    edit_copy(repo, copy)
    after = audit(copy, cache=False)
    missing = fingerprints(before) - fingerprints(after)
    extra = fingerprints(after) - fingerprints(before)
    show = lambda fs, rep: sorted((f.rule, f.file, f.line, f.message[:90]) for f in rep.findings
                                  if (f.rule, f.file, f.fingerprint) in fs)
    assert not missing and not extra, f"changed:\n{show(missing, before)}\n->\n{show(extra, after)}"


def test_the_edits_really_move_and_reorder_things(tmp_path):
    """The test above would pass vacuously if the edits did nothing: check they do."""
    post = FIXTURES / "post"
    assert edit_copy(post, tmp_path / "post") >= 2
    before, after = audit(post, cache=False), audit(tmp_path / "post", cache=False)
    assert len(before.findings) >= 3
    moved = {(f.rule, f.fingerprint): f.line for f in after.findings}
    assert sum(moved[(f.rule, f.fingerprint)] != f.line for f in before.findings) >= 2
    text = (FIXTURES / "rules/SLS201/bad/serverless.yml").read_text()
    rev = reverse_lists(text)
    assert rev != text and sorted(rev.splitlines()) == sorted(text.splitlines())
    assert rev.index("logs:PutLogEvents") < rev.index('Action: "*"')
    assert rev.index("s3:GetObject") < rev.index("dynamodb:*")
    assert reverse_lists("Action: [a:B, 'c:D', e:F]\nx: [1, 2]\n") == "Action: [e:F, 'c:D', a:B]\nx: [1, 2]\n"


def test_shape_errors_in_lists_do_not_carry_their_index(tmp_path):
    """`functions.a.events[1] must be a mapping`: the message names the index, the fingerprint not."""
    text = ("service: s\nprovider:\n  name: aws\nfunctions:\n  a:\n    handler: h.a\n    events:\n"
            "      - schedule: rate(1 hour)\n      - 42\n      - sqs: arn:aws:sqs:us-east-1:123456789012:q\n")
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "serverless.yml").write_text(text)
    (tmp_path / "two").mkdir()
    (tmp_path / "two" / "serverless.yml").write_text(reverse_lists(text))
    one, two = audit(tmp_path / "one", cache=False), audit(tmp_path / "two", cache=False)
    [a] = [f for f in one.findings if f.rule == "SLS001"]
    [b] = [f for f in two.findings if f.rule == "SLS001"]
    assert "events[1]" in a.message and (a.line, b.line) == (9, 9)
    assert reverse_lists(text).index("- 42") > reverse_lists(text).index("- sqs")
    (tmp_path / "two" / "serverless.yml").write_text(text.replace("      - schedule: rate(1 hour)\n", ""))
    [c] = [f for f in audit(tmp_path / "two", cache=False).findings if f.rule == "SLS001"]
    assert "events[0]" in c.message
    assert a.fingerprint == b.fingerprint == c.fingerprint


def test_one_unresolved_variable_under_two_keys_gives_two_fingerprints(tmp_path):
    (tmp_path / "serverless.yml").write_text(
        "service: s\nprovider:\n  name: aws\n  environment:\n    A: ${self:custom.missing}\n"
        "    B: ${self:custom.missing}\nfunctions:\n  a:\n    handler: h.a\n")
    found = [f for f in audit(tmp_path, cache=False).findings if f.rule == "SLS002"]
    assert [f.line for f in found] == [5, 6]
    assert len({f.fingerprint for f in found}) == 2


def test_every_rule_with_a_bad_fixture_is_covered():
    """The edited repositories exercise every rule that has a `bad` fixture."""
    fired = {f.rule for repo in REPOS for f in audit(repo, cache=False).findings}
    wanted = {d.name for d in (FIXTURES / "rules").iterdir() if (d / "bad").is_dir()}
    assert wanted <= fired, sorted(wanted - fired)
