"""Shared test helpers: run the command line in-process or as a real process."""
from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self):
        import json

        return json.loads(self.stdout)


def _run_in_process(args, cwd=None) -> CliResult:
    from analyzer.cli import main

    out, err = io.StringIO(), io.StringIO()
    old = Path.cwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as e:  # argparse usage errors
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    finally:
        os.chdir(old)
    return CliResult(code, out.getvalue(), err.getvalue())


def _run_subprocess(args, cwd=None, timeout=120) -> CliResult:
    env = dict(os.environ, NO_COLOR="1", PYTHONPATH=os.pathsep.join(
        [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    proc = subprocess.run(
        [sys.executable, "-m", "analyzer", *[str(a) for a in args]],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def run_cli():
    """`run_cli(args, cwd=None) -> CliResult`: `analyzer.cli.main` in-process."""
    return _run_in_process


@pytest.fixture
def run_cli_subprocess():
    """`run_cli_subprocess(args, cwd=None) -> CliResult`: `python -m analyzer` as a real process."""
    return _run_subprocess
