"""The pre-commit hook as a user installs it: a project's `.pre-commit-config.yaml` names this
repository (`repo:` a snapshot of it, `rev:` its commit), `pre-commit install` puts the hook in
git, and `git commit` runs the real pre-commit, which reads this repository's
`.pre-commit-hooks.yaml`, builds its own virtualenv, pip-installs sls-audit into it and runs it.

Building that environment takes about a minute (measured: 62 s on the 2-core machine, PyPI
reachable); it is built once per module (`try-repo` would rebuild it on every call: it uses a
throwaway store). Everything pre-commit, pip, virtualenv and sls-audit write goes below
tmp_path (HOME, PRE_COMMIT_HOME and XDG_CACHE_HOME point there).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
HOOKS = ROOT / ".pre-commit-hooks.yaml"

BAD = """\
service: users
frameworkVersion: '3'
provider:
  name: aws
  runtime: nodejs18.x
functions:
  createUser:
    handler: src/create.handler
    url: true
"""
GOOD = BAD.replace("    url: true\n", "    url:\n      authorizer: aws_iam\n")


def _hook() -> dict:
    hooks = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    return next(h for h in hooks if h["id"] == "sls-audit")


def test_hook_definition():
    hook = _hook()
    assert hook["entry"] == "sls-audit check"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False


@pytest.mark.parametrize("path, runs", [
    ("serverless.yml", True), ("services/users/serverless.yaml", True), ("api/serverless.json", True),
    ("serverless-compose.yml", True), ("serverless-compose.yaml", True), (".sls-audit.yml", True),
    ("pyproject.toml", True), ("src/handler.py", True), ("src/h.js", True), ("src/h.mjs", True),
    ("src/h.cjs", True), ("src/h.ts", True),
    ("README.md", False), ("docs/serverless.yml.md", False), ("myserverless.yml", False),
    ("package.json", False), ("serverless.ts.bak", False),
])
def test_hook_runs_for_configs_and_handlers_only(path, runs):
    # pre-commit matches `files` with re.search on the repository-relative path
    assert bool(re.search(_hook()["files"], path)) is runs


def _run(cmd, cwd, env, timeout=600):
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """An isolated HOME and a snapshot of this repository (its working tree, uncommitted edits
    to tracked files included, as `try-repo` takes them) committed once, so pre-commit builds
    the hook's environment once for every test here."""
    base = tmp_path_factory.mktemp("precommit")
    env = {**os.environ, "HOME": str(base / "home"), "PRE_COMMIT_HOME": str(base / "pre-commit"),
           "XDG_CACHE_HOME": str(base / "cache"), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    env.pop("NO_COLOR", None)
    (base / "home").mkdir()
    snapshot = base / "sls-audit"
    assert _run(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(snapshot)], base, env).returncode == 0
    diff = subprocess.run(["git", "diff", "HEAD", "--binary"], cwd=ROOT, capture_output=True, timeout=60).stdout
    if diff:
        applied = subprocess.run(["git", "apply", "--whitespace=nowarn"], cwd=snapshot, input=diff,
                                 capture_output=True, timeout=60)
        assert applied.returncode == 0, applied.stderr
        assert _run(["git", "commit", "-qam", "working tree"], snapshot, env).returncode == 0
    return base, snapshot, env


def _project(sandbox, name: str, files: dict[str, str]) -> Path:
    """A git repository with the hook installed and `files` staged (not yet committed)."""
    base, snapshot, env = sandbox
    repo = base / name
    repo.mkdir()
    rev = _run(["git", "rev-parse", "HEAD"], snapshot, env).stdout.strip()
    files = {".pre-commit-config.yaml": f"repos:\n  - repo: {snapshot.as_posix()}\n    rev: {rev}\n"
                                        "    hooks:\n      - id: sls-audit\n", **files}
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(textwrap.dedent(text), encoding="utf-8")
    assert _run(["git", "init", "-q"], repo, env).returncode == 0
    installed = _run([sys.executable, "-m", "pre_commit", "install"], repo, env)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert _run(["git", "add", "-A"], repo, env).returncode == 0
    return repo


def _commit(sandbox, repo: Path):
    base, snapshot, env = sandbox
    r = _run(["git", "commit", "-m", "change"], repo, {**env, "PRE_COMMIT_COLOR": "never"})
    return r, r.stdout + r.stderr


def _committed(sandbox, repo: Path) -> bool:
    return _run(["git", "rev-parse", "--verify", "-q", "HEAD"], repo, sandbox[2]).returncode == 0


def test_bad_config_fails_the_commit_and_the_fixed_one_passes(sandbox):
    repo = _project(sandbox, "bad", {"serverless.yml": BAD, "src/create.js": "exports.handler = async () => 1;\n"})
    r, out = _commit(sandbox, repo)
    assert r.returncode != 0, out
    assert not _committed(sandbox, repo)
    assert re.search(r"^sls-audit\.+Failed$", out, re.M), out
    assert "- exit code: 1" in out
    assert "SLS302" in out and "public-function-url" in out
    assert "serverless.yml" in out and "9:5" in out

    (repo / "serverless.yml").write_text(GOOD, encoding="utf-8")
    _run(["git", "add", "-A"], repo, sandbox[2])
    r, out = _commit(sandbox, repo)
    assert r.returncode == 0, out
    assert re.search(r"^sls-audit\.+Passed$", out, re.M), out
    assert _committed(sandbox, repo)


def test_hook_is_skipped_when_no_config_or_handler_changes(sandbox):
    repo = _project(sandbox, "docs-only", {"README.md": "# notes\n", "docs/serverless.yml.md": "x\n"})
    r, out = _commit(sandbox, repo)
    assert r.returncode == 0, out
    assert re.search(r"^sls-audit\.+\(no files to check\)Skipped$", out, re.M), out
