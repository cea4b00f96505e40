"""Handler facts per function: a file shared by several functions gives each only its own calls."""
from __future__ import annotations

from pathlib import Path

from analyzer.api import load
from analyzer.code.exports import export_ranges

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_export_ranges_of_javascript_and_python(tmp_path):
    assert export_ranges(FIXTURES / "post" / "services" / "subscriber" / "handler.js") == {
        "createUser": (7, 11), "sendWelcomeEmail": (13, 28)}
    (tmp_path / "h.py").write_text("import boto3\n\ndef a(e, c):\n    return 1\n\n\nasync def b(e, c):\n    pass\n")
    assert export_ranges(tmp_path / "h.py") == {"a": (3, 4), "b": (7, 8)}
    (tmp_path / "h.ts").write_text(
        "export const one = async () => {\n  return 1;\n};\nfunction two() {}\nexport { two };\n"
        "export async function three() {\n}\n")
    assert export_ranges(tmp_path / "h.ts") == {"one": (1, 3), "two": (4, 4), "three": (6, 7)}


def test_each_function_gets_the_calls_of_its_own_export():
    project, g, _ = load(FIXTURES / "post", cache=False)
    create = g.nodes["fn:subscriberService.createUser"]["code"]
    welcome = g.nodes["fn:subscriberService.sendWelcomeEmail"]["code"]
    assert create["status"] == welcome["status"] == "scanned"
    assert create["calls"] == []
    assert [(c["service"], c["operation"], c["line"]) for c in welcome["calls"]] == [("sesv2", "SendEmail", 18)] \
        or [(c["operation"], c["line"]) for c in welcome["calls"]] == [("SendEmail", 18)]
