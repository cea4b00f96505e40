"""Small repositories and a CLI runner shared by the command-line, config and SARIF tests."""
from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

from analyzer.cli import main

# A function-level `iam` block under frameworkVersion 3: SLS005 (warning) at line 9, column 5.
V3_IAM = """\
service: users
frameworkVersion: '3'
provider:
  name: aws
  runtime: nodejs18.x
functions:
  createUser:
    handler: src/create.handler
    iam:
      role:
        statements:
          - Effect: Allow
            Action: dynamodb:PutItem
            Resource: arn:aws:dynamodb:us-east-1:123456789012:table/users
"""
BROKEN = "service: broken\nfunctions:\n  a:\n    handler: x\n   b: [\n"          # SLS001 (error)
CYCLE = """\
service: cyc
frameworkVersion: '3'
provider:
  name: aws
custom:
  a: ${self:custom.b}
  b: ${self:custom.a}
functions:
  hello:
    handler: h.hello
    environment:
      A: ${self:custom.a}
"""                                                                                # SLS002 (note)
# `Action: "*"` on a statement starting at line 9: SLS201 (error), SLS204 (error), SLS101 (error)
# all start at 9:11; the `Resource: "*"` of s3:GetObject at line 12: SLS202 (warning) at 12:11.
WIDE_ROLE = """\
service: reports
frameworkVersion: '3'
provider:
  name: aws
  runtime: python3.11
  iam:
    role:
      statements:
        - Effect: Allow
          Action: "*"
          Resource: "*"
        - Effect: Allow
          Action: s3:GetObject
          Resource: "*"
functions:
  build:
    handler: handler.build
"""
TS = "export default { service: 'api' };\n"                                         # SLS004 (note)


@dataclass
class Run:
    rc: int
    out: str
    err: str

    @property
    def json(self):
        return json.loads(self.out)

    def rules(self) -> list[str]:
        return [f["rule"] for f in self.json["findings"]]


def cli(capsys, *args) -> Run:
    """Run the CLI in-process (fast) and capture what a user would see."""
    try:
        rc = main([str(a) for a in args])
    except SystemExit as e:  # argparse: --version, usage errors
        rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    out, err = capsys.readouterr()
    return Run(rc, out, err)


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text), encoding="utf-8")
    return root
