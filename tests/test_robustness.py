"""Bad input never produces a traceback (DESIGN §6): end to end through the command line.

Each repository holds the bad file next to one good service, to prove the run goes on and
the good service is still analyzed. Every run is checked for: the exit code, JSON that
parses, the expected finding (rule, file, line, column), the coverage summary, and no
"Traceback" anywhere in stdout or stderr.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from analyzer.loaders.yamlmarks import MAX_DEPTH

GOOD = """\
service: good
provider:
  name: aws
  runtime: python3.12
functions:
  hello:
    handler: handler.main
"""
BAD_HEAD = "service: bad\nprovider:\n  name: aws\n"


def make_repo(tmp_path: Path, files: dict[str, str | bytes] | None = None) -> Path:
    root = tmp_path / "repo"
    (root / "good").mkdir(parents=True)
    (root / "good" / "serverless.yml").write_text(GOOD)
    for rel, content in (files or {}).items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")
    return root


def no_traceback(result) -> None:
    assert "Traceback" not in result.stdout
    assert "Traceback" not in result.stderr


def check(run, root: Path, *extra, expect: int):
    result = run(["check", root, "--format", "json", *extra])
    no_traceback(result)
    assert result.code == expect, (result.code, result.stderr, result.stdout[-2000:])
    return result.json()


def findings(report, rule: str, file: str) -> list[dict]:
    return [f for f in report["findings"] if f["rule"] == rule and f["file"] == file]


def the_finding(report, rule: str, file: str, line: int, column: int | None = None) -> dict:
    found = findings(report, rule, file)
    assert found, f"no {rule} on {file}; findings: {report['findings']}"
    at = [f for f in found if f["line"] == line and (column is None or f["column"] == column)]
    assert at, f"{rule} on {file} not at {line}:{column}: {[(f['line'], f['column']) for f in found]}"
    return at[0]


def good_analyzed(report, services: int = 1) -> None:
    cov = report["coverage"]
    assert cov["services"] == services
    assert cov["functions"] >= 1
    assert not findings(report, "SLS001", "good/serverless.yml")
    assert not [f for f in report["findings"] if f["rule"] == "SLS000"]


# ---- unreadable files: SLS001 and the good service still analyzed ------------------------------

def test_broken_yaml(run_cli, tmp_path):
    root = make_repo(tmp_path, {"bad/serverless.yml": BAD_HEAD + "   runtime: python3.12\n"})
    report = check(run_cli, root, expect=1)
    f = the_finding(report, "SLS001", "bad/serverless.yml", 4, 11)
    assert f["severity"] == "error"
    assert "mapping values are not allowed" in f["message"]
    good_analyzed(report)
    assert report["coverage"]["unreadable_files"] == 1


def test_non_utf8_file(run_cli, tmp_path):
    latin1 = (BAD_HEAD + "  description: café crème\n").encode("latin-1")
    root = make_repo(tmp_path, {"bad/serverless.yml": latin1})
    report = check(run_cli, root, expect=1)
    f = the_finding(report, "SLS001", "bad/serverless.yml", 4, 19)
    assert "UTF-8" in f["message"] and "0xe9" in f["message"]
    good_analyzed(report)


def test_binary_file_named_serverless_yml(run_cli, tmp_path):
    elf = b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4
    root = make_repo(tmp_path, {"bad/serverless.yml": elf})
    report = check(run_cli, root, expect=1)
    f = the_finding(report, "SLS001", "bad/serverless.yml", 1, 1)
    assert "binary" in f["message"]
    good_analyzed(report)


def test_control_character_is_located(run_cli, tmp_path):
    root = make_repo(tmp_path, {"bad/serverless.yml": BAD_HEAD + "  stage: d\x07v\n"})
    report = check(run_cli, root, expect=1)
    f = the_finding(report, "SLS001", "bad/serverless.yml", 4, 11)
    assert "control characters" in f["message"]
    good_analyzed(report)


def test_fifty_megabyte_file_is_refused_before_reading(run_cli, tmp_path):
    root = make_repo(tmp_path)
    big = root / "bad" / "serverless.yml"
    big.parent.mkdir()
    with open(big, "wb") as fh:  # sparse: 50 MB on disk costs nothing to write
        fh.write(b"service: big\ncustom:\n  pad: '")
        fh.truncate(50 * 1024 * 1024)
    report = check(run_cli, root, expect=1)
    f = the_finding(report, "SLS001", "bad/serverless.yml", 1, 1)
    assert "too large" in f["message"] and "50.0 MiB" in f["message"]
    good_analyzed(report)
    assert report["coverage"]["unreadable_files"] == 1


def billion_laughs(levels: int = 10) -> str:
    lines = ["  a0: &a0 [" + ", ".join(["lol"] * 10) + "]"]
    for i in range(1, levels):
        lines.append(f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "service: bad\ncustom:\n" + "\n".join(lines) + "\nfunctions:\n  f:\n    handler: h.main\n"


def test_alias_bomb(run_cli_subprocess, tmp_path):
    root = make_repo(tmp_path, {"bad/serverless.yml": billion_laughs(10)})
    report = check(run_cli_subprocess, root, expect=1)
    [f] = findings(report, "SLS001", "bad/serverless.yml")
    assert "alias" in f["message"]
    assert 3 <= f["line"] <= 12
    good_analyzed(report)


def test_alias_heavy_but_bounded_document_is_analyzed(run_cli, tmp_path):
    """A million expanded nodes behind aliases, referenced from the config: loaded, not expanded."""
    text = billion_laughs(6).replace(
        "    handler: h.main\n",
        "    handler: h.main\n    environment:\n      BIG: ${self:custom.a5}\n"
        "    events:\n      - http: {path: /x, method: get}\n",
    )
    root = make_repo(tmp_path, {"bad/serverless.yml": text})
    report = check(run_cli, root, expect=0)
    good_analyzed(report, services=2)


def test_ten_thousand_deep_nesting(run_cli_subprocess, tmp_path):
    """A real process: a recursive parser or walker would overflow the C stack and kill it."""
    n = 10_000
    cases = {  # folder: (document, line of the finding)
        "flow": ("custom:\n  x: " + "[" * n + "]" * n + "\n", 5),
        "flow-mapping": ("custom:\n  x: " + "{a: " * n + "1" + "}" * n + "\n", 5),
        "block": ("custom:\n  x:\n    " + "- " * n + "leaf\n", 6),
        "unclosed": ("custom:\n  x: " + "[" * n + "\n", 5),
    }
    root = make_repo(tmp_path, {f"{k}/serverless.yml": BAD_HEAD + v for k, (v, _) in cases.items()})
    report = check(run_cli_subprocess, root, expect=1)
    for folder, (_, line) in cases.items():
        f = the_finding(report, "SLS001", f"{folder}/serverless.yml", line)
        assert f"nesting deeper than {MAX_DEPTH}" in f["message"]
    good_analyzed(report)


def test_empty_file(run_cli, tmp_path):
    root = make_repo(tmp_path, {"bad/serverless.yml": ""})
    report = check(run_cli, root, expect=1)
    f = the_finding(report, "SLS001", "bad/serverless.yml", 1, 1)
    assert "empty" in f["message"]
    good_analyzed(report)


def test_comment_only_file_is_empty(run_cli, tmp_path):
    root = make_repo(tmp_path, {"bad/serverless.yml": "# nothing here yet\n"})
    report = check(run_cli, root, expect=1)
    assert "empty" in the_finding(report, "SLS001", "bad/serverless.yml", 1, 1)["message"]
    good_analyzed(report)


def test_top_level_list(run_cli, tmp_path):
    root = make_repo(tmp_path, {"bad/serverless.yml": "- service: bad\n- functions: {}\n"})
    report = check(run_cli, root, expect=1)
    f = the_finding(report, "SLS001", "bad/serverless.yml", 1, 1)
    assert "top level must be a mapping" in f["message"]
    good_analyzed(report)


def test_unknown_tag(run_cli, tmp_path):
    root = make_repo(tmp_path, {"bad/serverless.yml": BAD_HEAD + "custom:\n  x: !Include other.yml\n"})
    report = check(run_cli, root, expect=1)
    f = the_finding(report, "SLS001", "bad/serverless.yml", 5, 6)
    assert "!Include" in f["message"]
    good_analyzed(report)


def test_python_object_tag_is_refused(run_cli, tmp_path):
    text = BAD_HEAD + "custom:\n  x: !!python/object/apply:os.system ['touch pwned']\n"
    root = make_repo(tmp_path, {"bad/serverless.yml": text})
    report = check(run_cli, root, expect=1)
    f = the_finding(report, "SLS001", "bad/serverless.yml", 5, 6)
    assert "python/object" in f["message"]
    assert not (root / "pwned").exists() and not (Path.cwd() / "pwned").exists()
    good_analyzed(report)


def test_duplicated_key(run_cli, tmp_path):
    text = BAD_HEAD + "functions:\n  f:\n    handler: a.main\n  f:\n    handler: b.main\n"
    root = make_repo(tmp_path, {"bad/serverless.yml": text})
    report = check(run_cli, root, expect=1)
    f = the_finding(report, "SLS001", "bad/serverless.yml", 7, 3)
    assert "duplicated" in f["message"]
    good_analyzed(report, services=2)


def test_missing_service_name(run_cli, tmp_path):
    root = make_repo(tmp_path, {"bad/serverless.yml": "provider:\n  name: aws\nfunctions: {}\n"})
    report = check(run_cli, root, expect=1)
    assert "service" in the_finding(report, "SLS001", "bad/serverless.yml", 1, 1)["message"]
    good_analyzed(report)


# ---- wrong types where a mapping or list is expected -------------------------------------------

WRONG_TYPES = {
    "functions-is-a-list": (BAD_HEAD + "functions: [a, b]\n", 4, 1, "functions"),
    "provider-is-a-string": ("service: bad\nprovider: aws\nfunctions:\n  f:\n    handler: h.main\n",
                             2, 1, "provider"),
    "function-is-a-string": (BAD_HEAD + "functions:\n  f: x\n", 5, 3, "functions.f"),
    "resource-is-a-string": (BAD_HEAD + "resources:\n  Resources:\n    X: str\n", 6, 5,
                             "resources.Resources.X"),
    "events-is-a-mapping": (BAD_HEAD + "functions:\n  f:\n    handler: h.main\n    events:\n"
                            "      http: {path: /, method: get}\n", 7, 5, "functions.f.events"),
    "events-is-a-string": (BAD_HEAD + "functions:\n  f:\n    handler: h.main\n    events: nope\n",
                           7, 5, "functions.f.events"),
    "iam-statements-is-a-string": (BAD_HEAD + "  iam:\n    role:\n      statements: Allow everything\n"
                                   "functions:\n  f:\n    handler: h.main\n",
                                   6, 7, "provider.iam.role.statements"),
    "legacy-iam-statements-is-a-string": (BAD_HEAD + "  iamRoleStatements: nope\n"
                                          "functions:\n  f:\n    handler: h.main\n",
                                          4, 3, "provider.iamRoleStatements"),
}


@pytest.mark.parametrize("text, line, column, key_path", WRONG_TYPES.values(), ids=WRONG_TYPES.keys())
def test_wrong_type(run_cli, tmp_path, text, line, column, key_path):
    root = make_repo(tmp_path, {"bad/serverless.yml": text})
    report = check(run_cli, root, expect=1)
    f = the_finding(report, "SLS001", "bad/serverless.yml", line, column)
    assert f["key_path"] == key_path
    assert f"'{key_path}' must be" in f["message"]
    # the rest of the bad service is still modelled, next to the good one
    good_analyzed(report, services=2)


ODD_VALUES = {
    "events-items-are-scalars": "functions:\n  f:\n    handler: h.main\n    events: [1, null, true, [x]]\n",
    "event-bodies-are-odd": "functions:\n  f:\n    handler: h.main\n    events:\n"
                            "      - http: 5\n      - sqs: [1]\n      - s3: {}\n      - schedule: null\n"
                            "      - stream: {arn: !Ref 5}\n",
    "statements-are-odd": "  iam:\n    role:\n      statements: [1, x, null, {Effect: Allow, Action: 3, Resource: {}}]\n"
                          "functions:\n  f:\n    handler: [1]\n    environment: [a, b]\n    calling: 5\n",
    "keys-are-not-strings": "functions:\n  1: {handler: h.main}\n  null: {handler: h.main}\n"
                            "resources:\n  Resources:\n    true: {Type: AWS::SQS::Queue}\n",
    "intrinsics-are-malformed": "functions:\n  f:\n    handler: h.main\n    role: !GetAtt []\n"
                                "    environment:\n      A: !Join 5\n      B: !Sub [1, 2, 3]\n"
                                "resources:\n  Resources:\n    Q:\n      Type: [AWS::SQS::Queue]\n"
                                "      Properties: !Ref X\n",
}


@pytest.mark.parametrize("text", ODD_VALUES.values(), ids=ODD_VALUES.keys())
def test_odd_values_never_crash(run_cli, tmp_path, text):
    root = make_repo(tmp_path, {"bad/serverless.yml": BAD_HEAD + text})
    result = run_cli(["check", root, "--format", "json"])
    no_traceback(result)
    assert result.code in (0, 1)
    report = result.json()
    good_analyzed(report, services=2)


@pytest.mark.parametrize("event", ["- sns:\n", "- sns: {}\n", "- sns: ''\n", "- sns: {displayName: x}\n"])
def test_sns_event_without_topic(run_cli, tmp_path, event):
    # regression: the graph builder used to raise AttributeError (source None) on these
    text = BAD_HEAD + "functions:\n  f:\n    handler: h.main\n    events:\n      " + event
    root = make_repo(tmp_path, {"bad/serverless.yml": text})
    result = run_cli(["check", root, "--format", "json"])
    no_traceback(result)
    assert result.code in (0, 1)
    good_analyzed(result.json(), services=2)


# ---- the repository root is a boundary ---------------------------------------------------------

SECRET = "TOPSECRET-4f1d2c"


def test_file_variable_escaping_the_root(run_cli, tmp_path):
    (tmp_path / "outside.yml").write_text(f"secret: {SECRET}\nhandler: {SECRET}.main\n")
    text = BAD_HEAD + (
        "custom:\n"
        "  s: ${file(../../outside.yml):secret}\n"
        "functions:\n"
        "  f:\n"
        "    handler: ${file(../../outside.yml):handler}\n"
        "  g:\n"
        "    handler: ${file(./inside.yml):handler}\n"
    )
    root = make_repo(tmp_path, {"bad/serverless.yml": text, "bad/inside.yml": "handler: visible.main\n"})
    result = run_cli(["check", root, "--format", "json"])
    no_traceback(result)
    assert result.code == 0  # SLS002 is a note
    report = result.json()
    f = the_finding(report, "SLS002", "bad/serverless.yml", 5, 6)
    assert "../../outside.yml" in f["message"] and "outside the repository root" in f["message"]
    the_finding(report, "SLS002", "bad/serverless.yml", 8, 14)
    assert SECRET not in result.stdout
    good_analyzed(report, services=2)

    # the graph holds every resolved value: the inside file's shows, the outside file's never does
    graph = run_cli(["graph", root, "--format", "json"])
    no_traceback(graph)
    assert graph.code == 0
    assert "visible.main" in graph.stdout
    assert SECRET not in graph.stdout


def test_file_variable_through_a_symlink_or_absolute_path_out_of_the_root(run_cli, tmp_path):
    outside = tmp_path / "outside.yml"
    outside.write_text(f"secret: {SECRET}\n")
    text = BAD_HEAD + (
        "functions:\n"
        "  f:\n"
        "    handler: ${file(./link.yml):secret}\n"
        f"    description: ${{file({outside}):secret}}\n"
    )
    root = make_repo(tmp_path, {"bad/serverless.yml": text})
    os.symlink(outside, root / "bad" / "link.yml")
    result = run_cli(["check", root, "--format", "json"])
    no_traceback(result)
    report = result.json()
    assert "outside the repository root" in the_finding(report, "SLS002", "bad/serverless.yml", 6, 14)["message"]
    assert "outside the repository root" in the_finding(report, "SLS002", "bad/serverless.yml", 7, 18)["message"]
    assert SECRET not in result.stdout
    graph = run_cli(["graph", root, "--format", "json"])
    assert SECRET not in graph.stdout
    good_analyzed(report, services=2)


def test_file_variable_cycle_is_reported_as_a_cycle(run_cli_subprocess, tmp_path):
    text = BAD_HEAD + "custom: ${file(./a.yml)}\nfunctions:\n  f:\n    handler: h.main\n"
    root = make_repo(tmp_path, {"bad/serverless.yml": text,
                                "bad/a.yml": "x: ${file(./b.yml)}\n",
                                "bad/b.yml": "y: ${file(./a.yml)}\n"})
    report = check(run_cli_subprocess, root, expect=0)
    good_analyzed(report, services=2)
    messages = [f["message"] for f in report["findings"] if f["rule"] == "SLS002"]
    assert messages and all("symlink" not in m for m in messages), messages
    assert any("cycle" in m for m in messages), messages


def test_file_variable_cycle_through_addresses_and_self_include(run_cli, tmp_path):
    text = (BAD_HEAD + "custom:\n  x: 1\n  y: ${file(./serverless.yml):custom.x}\n  z: ${file(./a.yml):x}\n"
            "functions:\n  f:\n    handler: h.main\n    memorySize: ${self:custom.y}\n")
    root = make_repo(tmp_path, {"bad/serverless.yml": text,
                                "bad/a.yml": "x: ${file(./b.yml):y}\n",
                                "bad/b.yml": "y: ${file(./a.yml):x}\n"})
    report = check(run_cli, root, expect=0)
    good_analyzed(report, services=2)
    sls002 = [(f["file"], f["line"], f["message"]) for f in report["findings"] if f["rule"] == "SLS002"]
    assert len(sls002) == 1 and "cycle" in sls002[0][2], sls002   # the self-include is fine


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_file_variable_naming_a_fifo_does_not_hang(run_cli_subprocess, tmp_path):
    text = BAD_HEAD + "custom: ${file(./pipe.yml):x}\nfunctions:\n  f:\n    handler: h.main\n"
    root = make_repo(tmp_path, {"bad/serverless.yml": text})
    os.mkfifo(os.path.join(root, "bad", "pipe.yml"))
    report = check(run_cli_subprocess, root, expect=0)
    assert any("not a regular file" in f["message"] for f in report["findings"] if f["rule"] == "SLS002")
    good_analyzed(report, services=2)


def test_symlink_loop_to_itself(run_cli, tmp_path):
    root = make_repo(tmp_path)
    (root / "bad").mkdir()
    os.symlink("serverless.yml", root / "bad" / "serverless.yml")
    report = check(run_cli, root, expect=1)
    f = the_finding(report, "SLS001", "bad/serverless.yml", 1, 1)
    assert "symbolic link" in f["message"]
    good_analyzed(report)


def test_symlink_loop_between_two_files(run_cli, tmp_path):
    root = make_repo(tmp_path)
    (root / "bad").mkdir()
    os.symlink("serverless.yaml", root / "bad" / "serverless.yml")
    os.symlink("serverless.yml", root / "bad" / "serverless.yaml")
    report = check(run_cli, root, expect=1)
    the_finding(report, "SLS001", "bad/serverless.yml", 1, 1)
    the_finding(report, "SLS001", "bad/serverless.yaml", 1, 1)
    good_analyzed(report)


def test_directory_symlink_loop_is_not_followed(run_cli, tmp_path):
    root = make_repo(tmp_path)
    (root / "a").mkdir()
    os.symlink("..", root / "a" / "loop")
    os.symlink(".", root / "self")
    report = check(run_cli, root, expect=0)
    assert report["findings"] == []
    assert report["coverage"]["files"] == 1  # good/serverless.yml once, not once per loop
    good_analyzed(report)


def test_symlink_pointing_outside_the_root(run_cli, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "serverless.yml").write_text(
        "service: outsider\nprovider:\n  name: aws\nfunctions:\n  leak:\n    handler: h.main\n")
    root = make_repo(tmp_path)
    (root / "bad").mkdir()
    os.symlink(elsewhere / "serverless.yml", root / "bad" / "serverless.yml")
    os.symlink(elsewhere, root / "linked-dir")  # a directory link is never followed at all
    result = run_cli(["check", root, "--format", "json"])
    no_traceback(result)
    assert result.code == 1
    report = result.json()
    f = the_finding(report, "SLS001", "bad/serverless.yml", 1, 1)
    assert "outside the repository root" in f["message"]
    assert "outsider" not in result.stdout
    good_analyzed(report)


def test_symlink_inside_the_root_is_read(run_cli, tmp_path):
    root = make_repo(tmp_path, {"shared/serverless.yml": GOOD.replace("good", "shared")})
    (root / "alias").mkdir()
    os.symlink("../shared/serverless.yml", root / "alias" / "serverless.yml")
    result = run_cli(["check", root, "--format", "json"])
    no_traceback(result)
    report = result.json()
    assert report["coverage"]["services"] == 3  # good, shared, and shared again through the link


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_fifo_named_serverless_yml_does_not_block(run_cli_subprocess, tmp_path):
    root = make_repo(tmp_path)
    (root / "bad").mkdir()
    os.mkfifo(root / "bad" / "serverless.yml")
    result = run_cli_subprocess(["check", root, "--format", "json"], timeout=60)
    no_traceback(result)
    assert result.code == 1
    report = result.json()
    f = the_finding(report, "SLS001", "bad/serverless.yml", 1, 1)
    assert "not a regular file" in f["message"]
    good_analyzed(report)


# ---- what cannot be read statically ---------------------------------------------------------

def test_serverless_ts_is_a_note(run_cli, tmp_path):
    root = make_repo(tmp_path, {"bad/serverless.ts": "export default { service: 'bad' };\n"})
    report = check(run_cli, root, expect=0)
    f = the_finding(report, "SLS004", "bad/serverless.ts", 1, 1)
    assert f["severity"] == "note"
    assert report["coverage"]["skipped_not_static"] == 1
    good_analyzed(report)


def test_serverless_ts_fails_with_fail_on_note(run_cli, tmp_path):
    root = make_repo(tmp_path, {"bad/serverless.js": "module.exports = {};\n"})
    report = check(run_cli, root, "--fail-on", "note", expect=1)
    the_finding(report, "SLS004", "bad/serverless.js", 1, 1)


# ---- nothing to analyze: exit 2 ----------------------------------------------------------------

def test_path_that_does_not_exist(run_cli_subprocess, tmp_path):
    missing = tmp_path / "no-such-dir"
    result = run_cli_subprocess(["check", missing, "--format", "json"])
    no_traceback(result)
    assert result.code == 2
    assert result.stdout == ""
    assert "no such file or directory" in result.stderr
    assert str(missing) in result.stderr


def test_directory_without_config(run_cli, tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "handler.py").write_text("def main(e, c): pass\n")
    (tmp_path / "serverless.yml.bak").write_text(GOOD)
    result = run_cli(["check", tmp_path, "--format", "json"])
    no_traceback(result)
    assert result.code == 2
    assert "no serverless.yml" in result.stderr
    assert result.stdout == ""


def test_configs_only_in_skipped_folders_is_nothing_to_analyze(run_cli, tmp_path):
    for skipped in ("node_modules/pkg", ".serverless", ".git"):
        (tmp_path / skipped).mkdir(parents=True)
        (tmp_path / skipped / "serverless.yml").write_text(GOOD)
    result = run_cli(["check", tmp_path, "--format", "json"])
    no_traceback(result)
    assert result.code == 2


@pytest.mark.parametrize("target", ["dir", "file"])
def test_only_config_is_broken(run_cli, tmp_path, target):
    (tmp_path / "serverless.yml").write_text("service: [\n")
    path = tmp_path if target == "dir" else tmp_path / "serverless.yml"
    result = run_cli(["check", path, "--format", "json"])
    no_traceback(result)
    assert result.code == 2
    assert "nothing could be analyzed" in result.stderr
    report = result.json()
    f = the_finding(report, "SLS001", "serverless.yml", 2, 1)
    assert f["severity"] == "error"
    assert report["coverage"]["services"] == 0


def test_only_config_is_broken_even_with_exit_zero(run_cli, tmp_path):
    (tmp_path / "serverless.yml").write_bytes(b"\x00\x01")
    result = run_cli(["check", tmp_path, "--format", "json", "--exit-zero"])
    no_traceback(result)
    assert result.code == 2
    the_finding(result.json(), "SLS001", "serverless.yml", 1, 1)


def test_only_config_is_too_large_text_format(run_cli, tmp_path):
    with open(tmp_path / "serverless.yml", "wb") as fh:
        fh.truncate(11 * 1024 * 1024)
    result = run_cli(["check", tmp_path])
    no_traceback(result)
    assert result.code == 2
    assert "too large" in result.stdout
    assert "SLS001" in result.stdout


def test_everything_at_once(run_cli, tmp_path):
    """All the bad files in one repository: one finding each, the good service analyzed."""
    files = {
        "broken/serverless.yml": BAD_HEAD + "   runtime: python3.12\n",
        "latin1/serverless.yml": (BAD_HEAD + "# café\n").encode("latin-1"),
        "binary/serverless.yml": b"\x00\x01\x02",
        "empty/serverless.yml": "",
        "list/serverless.yml": "- a\n",
        "bomb/serverless.yml": billion_laughs(10),
        "deep/serverless.yml": "service: deep\ncustom: " + "[" * 5000 + "]" * 5000 + "\n",
        "ts/serverless.ts": "export default {};\n",
        "types/serverless.yml": BAD_HEAD + "functions: [a, b]\n",
    }
    root = make_repo(tmp_path, files)
    report = check(run_cli, root, expect=1)
    seen = {(f["rule"], f["file"]) for f in report["findings"]}
    for rel in files:
        rule = "SLS004" if rel.endswith(".ts") else "SLS001"
        assert (rule, rel) in seen, rel
    assert report["coverage"]["unreadable_files"] == 7
    good_analyzed(report, services=2)
    assert json.loads(run_cli(["check", root, "--format", "json"]).stdout) == report  # deterministic
