"""The terminal report as a user reads it: findings grouped by file, a code frame of the
offending lines, a summary by rule and severity, the coverage summary; plain text without a
terminal or with NO_COLOR; a progress bar on stderr only for large repositories on a terminal."""
from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import pytest

try:
    from samples import V3_IAM, cli, write
except ImportError:  # tests/ collected as a package
    from tests.samples import V3_IAM, cli, write
from analyzer.api import SOURCE_CAP, audit
from analyzer.cli import main
from analyzer.findings import Finding
from analyzer.report import text as text_report
from analyzer.report.progress import THRESHOLD, LoadProgress

ANSI = re.compile(r"\x1b\[")
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

SDK_CALL = """\
service: mail
frameworkVersion: '3'
provider:
  name: aws
  runtime: nodejs18.x
functions:
  send:
    handler: handler.send
"""
HANDLER = """\
const { SESv2Client, SendEmailCommand } = require("@aws-sdk/client-sesv2");
const ses = new SESv2Client({});
exports.send = async () => {
  await ses.send(new SendEmailCommand({ Destination: {} }));
};
"""


class _TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def _finding(file="a.yml", line=1, column=1, end_line=None, end_column=None, severity="error"):
    return Finding(rule="SLS201", name="wildcard-action", severity=severity, message="m", file=file,
                   line=line, column=column, end_line=end_line or line,
                   end_column=end_column if end_column is not None else column)


@pytest.fixture
def no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)


def test_frame_marks_the_span_with_context_and_elides_long_blocks(capsys, tmp_path, no_color):
    repo = write(tmp_path / "repo", {"svc/serverless.yml": V3_IAM})
    r = cli(capsys, repo)
    assert r.rc == 0
    lines = r.out.splitlines()
    start = next(i for i, ln in enumerate(lines) if "SLS005" in ln)
    assert lines[start - 1] == "svc/serverless.yml"
    assert lines[start].startswith("  9:5     warning SLS005 'functions.createUser.iam' is ignored")
    assert lines[start + 1:start + 9] == [
        "       7 │   createUser:",
        "       8 │     handler: src/create.handler",
        "    >  9 │     iam:",
        "         │     ^^^^",
        "    > 10 │       role:",
        "    > 11 │         statements:",
        "         ⋮ 3 more lines",
        "          fix: set frameworkVersion: '4', or load serverless-iam-roles-per-function and move "
        "the statements to iamRoleStatements",
    ]


def test_frame_of_a_point_in_handler_code_underlines_the_call(capsys, tmp_path, no_color):
    repo = write(tmp_path / "repo", {"serverless.yml": SDK_CALL, "handler.js": HANDLER})
    r = cli(capsys, repo, "--no-cache")
    lines = r.out.splitlines()
    start = lines.index("handler.js") + 1
    assert "SLS210" in lines[start] and lines[start].lstrip().startswith("4:13")
    assert lines[start + 1:start + 6] == [
        "      2 │ const ses = new SESv2Client({});",
        "      3 │ exports.send = async () => {",
        "    > 4 │   await ses.send(new SendEmailCommand({ Destination: {} }));",
        "        │             ^^^^",
        "      5 │ };",
    ]


def test_findings_are_grouped_by_file_in_order_with_one_header_each(capsys, no_color):
    r = cli(capsys, FIXTURES / "post")
    headers = [ln for ln in r.out.splitlines() if ln and not ln.startswith(" ") and ln.endswith((".yml", ".js"))]
    assert headers == ["services/hello/serverless.yml", "services/subscriber/handler.js",
                       "services/subscriber/serverless.yml"]
    ids = re.findall(r"^  \d+:\d+\s+\w+\s+(SLS\d{3}) ", r.out, re.M)
    assert ids == ["SLS301", "SLS210", "SLS005"]
    # a multi-line block: every line of it marked, the block's end mark (next line, column 1) is not
    assert "    > 25 │       - httpApi:" in r.out
    assert "    > 27 │           path: /hello" in r.out
    assert "      24 │     events:" in r.out


def test_summary_by_rule_and_severity_then_coverage(capsys, no_color):
    r = cli(capsys, FIXTURES / "post")
    tail = r.out.rstrip("\n").splitlines()[-9:]
    assert tail == [
        "rule    name                  findings",
        "SLS005  ignored-by-framework  1 warning",
        "SLS210  missing-permission    1 warning",
        "SLS301  public-endpoint       1 warning",
        "",
        "errors  warnings  notes  suppressed",
        "     0         3      0           0",
        "Analyzed 4 services, 5 functions from 5 files (0 unreadable, 0 skipped as not static).",
        "Handlers: 5 found, 5 scanned. Roles: 4 (0 opaque). Symbolic values: AccountId 1. "
        "Unresolved: 0. Templates: 0. Placeholders: 0.",
    ]


def test_clean_repository_has_no_rule_table_but_keeps_totals_and_coverage(capsys, tmp_path, no_color):
    repo = write(tmp_path / "repo", {"svc/serverless.yml": V3_IAM})
    r = cli(capsys, repo, "--ignore", "SLS005")
    assert "rule    name" not in r.out
    assert r.out.splitlines()[0] == "errors  warnings  notes  suppressed"
    assert "Analyzed 1 service, 1 function from 1 file" in r.out


def test_plain_output_has_no_escape_codes_no_trailing_blanks_and_is_stable(capsys, no_color):
    first = cli(capsys, FIXTURES / "post").out
    second = cli(capsys, FIXTURES / "post").out
    assert first == second
    assert not ANSI.search(first)
    assert all(ln == ln.rstrip() for ln in first.splitlines())


def _tty_run(monkeypatch, *args) -> str:
    fake = _TTY()
    monkeypatch.setattr(sys, "stdout", fake)
    main([str(a) for a in args])
    monkeypatch.undo()
    return fake.getvalue()


def test_colour_on_a_terminal_highlights_the_span(monkeypatch, no_color):
    out = _tty_run(monkeypatch, FIXTURES / "post")
    assert ANSI.search(out)
    # the marked code is styled (bold yellow for a warning), the carets too
    assert re.search(r"\x1b\[1;33mhttpApi:\x1b\[0m", out)
    assert re.search(r"\x1b\[1;33m\^{8}\x1b\[0m", out)


def test_no_color_on_a_terminal_gives_the_plain_frame(monkeypatch, capsys):
    monkeypatch.delenv("NO_COLOR", raising=False)
    plain = cli(capsys, FIXTURES / "post").out
    monkeypatch.setenv("NO_COLOR", "1")
    out = _tty_run(monkeypatch, FIXTURES / "post")
    assert out == plain
    assert "    > 25 │       - httpApi:" in out


# --- frames on odd sources -------------------------------------------------------------------

def test_long_lines_are_clipped_around_the_span():
    line = "x" * 300 + "TARGET" + "y" * 300
    rows = [r.plain for r in text_report.frame([line], _finding(column=301, end_column=307))]
    code, caret = rows
    assert len(code) < 140 and "TARGET" in code and "…" in code
    assert code.index("TARGET") == caret.index("^") and caret.count("^") == 6


def test_control_characters_and_tabs_never_reach_the_terminal():
    rows = [r.plain for r in text_report.frame(["a:\t\x1b[31mred", "b: 1"], _finding(column=4, end_column=6))]
    assert "\x1b" not in "".join(rows)
    assert rows[0].endswith("a: ?[31mred")
    assert rows[1].index("^") == rows[0].index("?")


def test_a_finding_past_the_end_of_the_file_has_no_frame():
    assert text_report.frame(["only: line"], _finding(line=5)) == []


def test_source_lines_are_read_lazily_inside_the_root_only(tmp_path):
    repo = write(tmp_path / "repo", {"svc/serverless.yml": V3_IAM, "big/x.js": "a" * (SOURCE_CAP + 1),
                                     "bin/x.js": "a\0b"})
    (tmp_path / "outside.yml").write_text("secret: 1\n", encoding="utf-8")
    report = audit(repo)
    assert report._sources == {}          # nothing read until a reporter asks
    assert report.source_lines("svc/serverless.yml")[8] == "    iam:"
    assert report.source_lines("../outside.yml") is None
    assert report.source_lines(str(tmp_path / "outside.yml")) is None
    assert report.source_lines("big/x.js") is None
    assert report.source_lines("bin/x.js") is None
    assert report.source_lines("missing.yml") is None
    assert set(report._sources) == {"svc/serverless.yml", "../outside.yml", str(tmp_path / "outside.yml"),
                                    "big/x.js", "bin/x.js", "missing.yml"}


def test_line_numbers_count_crlf_and_cr_as_the_loader_does(capsys, tmp_path, no_color):
    repo = tmp_path / "repo"
    (repo / "svc").mkdir(parents=True)
    (repo / "svc" / "serverless.yml").write_bytes(V3_IAM.replace("\n", "\r\n").encode())
    r = cli(capsys, repo)
    assert "    >  9 │     iam:" in r.out


# --- progress --------------------------------------------------------------------------------

def test_no_progress_bar_without_a_terminal():
    assert LoadProgress.for_stream(io.StringIO()) is None
    assert LoadProgress.for_stream(_TTY()) is not None


def test_audit_reports_progress_file_by_file(tmp_path):
    repo = write(tmp_path / "repo", {f"s{i}/serverless.yml": V3_IAM.replace("users", f"users{i}")
                                     for i in range(3)})
    calls = []
    audit(repo, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]


def _many(tmp_path, n):
    return write(tmp_path / "repo", {f"s{i:03}/serverless.yml": V3_IAM.replace("users", f"users{i}")
                                     for i in range(n)})


def test_progress_bar_on_a_terminal_stderr_for_a_large_repository(tmp_path, monkeypatch, capsys):
    repo = _many(tmp_path, THRESHOLD + 10)
    err = _TTY()
    monkeypatch.setattr(sys, "stderr", err)
    rc = main([str(repo), "--format", "json", "--no-code"])
    monkeypatch.undo()
    out = capsys.readouterr().out
    assert rc == 0
    assert "loading configs" in err.getvalue() and f"{THRESHOLD + 10}/{THRESHOLD + 10}" in err.getvalue()
    data = json.loads(out)                # stdout stays pure JSON
    assert len(data["findings"]) == THRESHOLD + 10


def test_the_progress_bar_draws_without_a_thread_of_its_own():
    """Handler workers are forked while the bar is shown: no thread may hold stderr's lock then."""
    import threading

    before = threading.active_count()
    bar = LoadProgress(_TTY())
    for done in range(1, 201):
        bar(done, 200)
        assert threading.active_count() == before
    text = bar.stream.getvalue()
    bar.close()
    assert "200/200" in text


def test_no_progress_bar_for_a_small_repository_even_on_a_terminal(tmp_path, monkeypatch, capsys):
    repo = _many(tmp_path, THRESHOLD)
    err = _TTY()
    monkeypatch.setattr(sys, "stderr", err)
    main([str(repo), "--no-code"])
    monkeypatch.undo()
    assert err.getvalue() == ""
    assert "SLS005" in capsys.readouterr().out
