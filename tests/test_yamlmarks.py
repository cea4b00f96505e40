"""The mark-keeping YAML loader: CloudFormation tags, js-yaml scalar typing, spans, and refusals.

Every span is (line, column, end_line, end_column), 1-based, columns in code points.
"""
from __future__ import annotations

import math

import pytest

from analyzer.loaders import yamlmarks
from analyzer.loaders.yamlmarks import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MDict,
    MList,
    ParseError,
    decode,
    load_bytes,
    load_text,
)


def load(text: str):
    value, warnings = load_text(text)
    assert warnings == []
    return value


def refused(text: str) -> ParseError:
    with pytest.raises(ParseError) as info:
        load_text(text)
    return info.value


def refused_bytes(data: bytes) -> ParseError:
    with pytest.raises(ParseError) as info:
        load_bytes(data)
    return info.value


# ---- CloudFormation short tags ---------------------------------------------------------------

SHORT_TAGS = [
    ("!Ref MyTable", {"Ref": "MyTable"}),
    ("!Ref 'AWS::Region'", {"Ref": "AWS::Region"}),
    ("!GetAtt Queue.Arn", {"Fn::GetAtt": ["Queue", "Arn"]}),
    # CloudFormation splits on the first dot only (nested attributes keep theirs)
    ("!GetAtt Db.Endpoint.Address", {"Fn::GetAtt": ["Db", "Endpoint.Address"]}),
    ("!GetAtt [Queue, Arn]", {"Fn::GetAtt": ["Queue", "Arn"]}),
    ("!Sub 'arn:aws:s3:::${Bucket}/*'", {"Fn::Sub": "arn:aws:s3:::${Bucket}/*"}),
    ("!Sub ['${A}-x', {A: !Ref B}]", {"Fn::Sub": ["${A}-x", {"A": {"Ref": "B"}}]}),
    ("!ImportValue users-dev-TopicArn", {"Fn::ImportValue": "users-dev-TopicArn"}),
    ("!ImportValue {'Fn::Sub': '${Stack}-Arn'}", {"Fn::ImportValue": {"Fn::Sub": "${Stack}-Arn"}}),
    ("!Join [':', [a, b]]", {"Fn::Join": [":", ["a", "b"]]}),
    ("!Select [0, [x, y]]", {"Fn::Select": [0, ["x", "y"]]}),
    ("!Split [',', 'a,b']", {"Fn::Split": [",", "a,b"]}),
    ("!If [IsProd, 1, 2]", {"Fn::If": ["IsProd", 1, 2]}),
    ("!FindInMap [Map, Key, Value]", {"Fn::FindInMap": ["Map", "Key", "Value"]}),
    ("!GetAZs eu-west-1", {"Fn::GetAZs": "eu-west-1"}),
    ("!GetAZs ''", {"Fn::GetAZs": ""}),
    ("!Base64 hello", {"Fn::Base64": "hello"}),
    ("!Equals [a, b]", {"Fn::Equals": ["a", "b"]}),
    ("!Not [IsProd]", {"Fn::Not": ["IsProd"]}),
    ("!And [A, B]", {"Fn::And": ["A", "B"]}),
    ("!Or [A, B]", {"Fn::Or": ["A", "B"]}),
    ("!Condition IsProd", {"Condition": "IsProd"}),
]


@pytest.mark.parametrize("tagged, expected", SHORT_TAGS, ids=[t for t, _ in SHORT_TAGS])
def test_short_tag_becomes_long_form(tagged, expected):
    doc = load(f"value: {tagged}\n")
    assert doc["value"] == expected
    assert isinstance(doc["value"], MDict)


def test_nested_tags_in_flow_sequences():
    doc = load(
        "a: !Join ['', [!Ref 'AWS::Partition', ':', !GetAtt Fn.Arn, !Select [0, !GetAZs '']]]\n"
        "b: !If [C, !Ref X, !Ref 'AWS::NoValue']\n"
        "c: !Equals [!Ref Stage, prod]\n"
        "d: !Not [!Equals [!Ref Stage, prod]]\n"
        "e: !And [!Condition A, !Or [!Condition B, !Condition C]]\n"
        "f: !Split [',', !ImportValue shared-Subnets]\n"
        "g: !Base64 {'Fn::Sub': 'echo ${AWS::Region}'}\n"
    )
    assert doc["a"] == {"Fn::Join": ["", [
        {"Ref": "AWS::Partition"}, ":", {"Fn::GetAtt": ["Fn", "Arn"]},
        {"Fn::Select": [0, {"Fn::GetAZs": ""}]},
    ]]}
    assert doc["b"] == {"Fn::If": ["C", {"Ref": "X"}, {"Ref": "AWS::NoValue"}]}
    assert doc["c"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}
    assert doc["d"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "Stage"}, "prod"]}]}
    assert doc["e"] == {"Fn::And": [{"Condition": "A"}, {"Fn::Or": [{"Condition": "B"}, {"Condition": "C"}]}]}
    assert doc["f"] == {"Fn::Split": [",", {"Fn::ImportValue": "shared-Subnets"}]}
    assert doc["g"] == {"Fn::Base64": {"Fn::Sub": "echo ${AWS::Region}"}}


def test_tags_on_block_collections():
    doc = load(
        "Value: !Join\n"
        "  - ''\n"
        "  - - 'arn:aws:s3:::'\n"
        "    - !Ref Bucket\n"
        "Sub: !Sub\n"
        "  - '${Name}-queue'\n"
        "  - Name: !Ref 'AWS::StackName'\n"
    )
    assert doc["Value"] == {"Fn::Join": ["", ["arn:aws:s3:::", {"Ref": "Bucket"}]]}
    assert doc["Sub"] == {"Fn::Sub": ["${Name}-queue", {"Name": {"Ref": "AWS::StackName"}}]}


def test_tagged_value_keeps_the_span_of_the_tagged_node():
    doc = load("Resources:\n  Fn:\n    Role: !GetAtt Role.Arn\n")
    fn = doc["Resources"]["Fn"]
    assert fn.vspans["Role"] == (3, 11, 3, 27)
    assert fn["Role"].span == (3, 11, 3, 27)
    assert fn["Role"].kspans["Fn::GetAtt"][:2] == (3, 11)


@pytest.mark.parametrize("text, line, column", [
    ("a: 1\nb: !Foo bar\n", 2, 4),
    ("a:\n  - x\n  - !Foo [1, 2]\n", 3, 5),
    ("a: {b: !Foo {c: 1}}\n", 1, 8),
    ("é: [1, !Foo x]\n", 1, 8),   # columns count code points, not bytes
])
def test_unknown_tag_is_refused_with_its_position(text, line, column):
    err = refused(text)
    assert "!Foo" in err.message
    assert (err.line, err.column) == (line, column)


@pytest.mark.parametrize("text", [
    "a: !!python/object/apply:os.system ['echo pwned']\n",
    "a: !!python/name:os.system x\n",
    "a: !!binary aGVsbG8=\n",
    "a: !!python/object:os.Popen {args: [ls]}\n",
    "a: !!str [1, 2]\n",
])
def test_unsafe_and_unsupported_standard_tags_are_refused(text):
    err = refused(text)
    assert err.line == 1 and err.column == 4
    assert "tag" in err.message


def test_standard_collection_tags_are_accepted():
    doc = load("a: !!map {x: 1}\nb: !!seq [1]\n")
    assert doc == {"a": {"x": 1}, "b": [1]}


def test_standard_scalar_tags_are_honoured():
    doc = load("a: !!str 12\nb: !!int '12'\nc: !!bool 'true'\nd: !!null ''\ne: ! 12\n")
    assert doc == {"a": "12", "b": 12, "c": True, "d": None, "e": "12"}


# ---- scalars: YAML 1.2 core schema, as js-yaml types them ---------------------------------------

PLAIN_SCALARS = [
    ("yes", "yes"), ("no", "no"), ("on", "on"), ("off", "off"), ("Yes", "Yes"), ("y", "y"),
    ("true", True), ("True", True), ("TRUE", True), ("false", False), ("FALSE", False),
    ("null", None), ("Null", None), ("~", None), ("", None),
    ("0", 0), ("42", 42), ("-17", -17), ("+3", 3), ("012", 12),
    ("0x1F", 31), ("0xff", 255), ("0o17", 15),
    ("1.5", 1.5), ("-0.25", -0.25), ("1e3", 1000.0), ("6.02E+23", 6.02e23), (".5", 0.5),
    ("2001-12-14", "2001-12-14"), ("1.2.3", "1.2.3"), ("0x", "0x"), ("0o9", "0o9"),
    ("python3.12", "python3.12"), ("rate(1 minute)", "rate(1 minute)"),
]


@pytest.mark.parametrize("text, expected", PLAIN_SCALARS, ids=[repr(t) for t, _ in PLAIN_SCALARS])
def test_plain_scalars_follow_the_core_schema(text, expected):
    value = load(f"v: {text}\n")["v"]
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize("text, sign", [(".inf", 1), (".Inf", 1), ("+.inf", 1), ("-.inf", -1), ("-.INF", -1)])
def test_infinities(text, sign):
    value = load(f"v: {text}\n")["v"]
    assert math.isinf(value) and value * sign > 0


def test_nan():
    assert math.isnan(load("v: .nan\n")["v"])


@pytest.mark.parametrize("text", ["'12'", '"true"', "'null'", '"~"', "'0x1F'", '".inf"', "'yes'", '""'])
def test_quoted_scalars_stay_strings(text):
    value = load(f"v: {text}\n")["v"]
    assert isinstance(value, str)
    assert value == text[1:-1]


def test_block_scalars_stay_strings():
    doc = load("a: |\n  12\nb: >-\n  true\n")
    assert doc == {"a": "12\n", "b": "true"}


# ---- merge keys ------------------------------------------------------------------------------

def test_merge_key_copies_and_explicit_keys_win_in_any_order():
    doc = load(
        "base: &base\n"
        "  runtime: python3.12\n"
        "  timeout: 6\n"
        "before:\n"
        "  <<: *base\n"
        "  timeout: 30\n"
        "after:\n"
        "  timeout: 30\n"
        "  <<: *base\n"
    )
    assert doc["before"] == {"runtime": "python3.12", "timeout": 30}
    assert doc["after"] == {"runtime": "python3.12", "timeout": 30}
    assert "<<" not in doc["before"]
    # an explicit key keeps its own position; a merged key points where it was written
    assert doc["before"].kspans["timeout"][:2] == (6, 3)
    assert doc["before"].vspans["runtime"][:2] == (2, 12)


def test_merge_of_several_mappings_first_wins():
    doc = load("a: &a {x: 1}\nb: &b {x: 2, y: 2}\nc:\n  <<: [*a, *b]\n  z: 3\n")
    assert doc["c"] == {"x": 1, "y": 2, "z": 3}


def test_quoted_merge_key_is_an_ordinary_key():
    # js-yaml only treats a plain `<<` as a merge key
    doc = load("a: &a {x: 1}\nb:\n  '<<': *a\n")
    assert doc["b"] == {"<<": {"x": 1}}


def test_plain_double_less_than_as_a_value_is_a_string():
    assert load("a: <<\n") == {"a": "<<"}


# ---- spans -----------------------------------------------------------------------------------

DOC = """\
service: users
provider:
  name: aws
functions:
  create:
    handler: src/create.handler
    events:
      - http: {path: /users, method: post}
      - sqs: !GetAtt Queue.Arn
"""


def test_spans_of_keys_and_values():
    doc = load(DOC)
    assert isinstance(doc, MDict)
    assert doc.span == (1, 1, 10, 1)
    assert doc.kspans["service"] == (1, 1, 1, 8)
    assert doc.vspans["service"] == (1, 10, 1, 15)
    assert doc.kspans["functions"] == (4, 1, 4, 10)
    create = doc["functions"]["create"]
    assert create.kspans["handler"] == (6, 5, 6, 12)
    assert create.vspans["handler"] == (6, 14, 6, 32)


def test_spans_of_sequence_items_and_flow_mappings():
    events = load(DOC)["functions"]["create"]["events"]
    assert isinstance(events, MList)
    assert [s[:2] for s in events.ispans] == [(8, 9), (9, 9)]
    http = events[0]["http"]
    assert http.kspans["path"] == (8, 16, 8, 20)
    assert http.vspans["path"] == (8, 22, 8, 28)
    assert http.vspans["method"] == (8, 38, 8, 42)
    assert events[1].vspans["sqs"][:2] == (9, 14)


def test_columns_count_code_points():
    doc = load("naïve: {ñ: 1, z: 2}\n")
    inner = doc["naïve"]
    assert inner.kspans["z"][:2] == (1, 15)
    assert load_bytes("naïve: {ñ: 1, z: 2}\n".encode("utf-8"))[0]["naïve"].kspans["z"][:2] == (1, 15)


def test_json_documents_keep_spans_too():
    doc = load('{\n  "service": "api",\n  "functions": {"f": {"handler": "h.main"}}\n}\n')
    assert doc == {"service": "api", "functions": {"f": {"handler": "h.main"}}}
    assert doc.vspans["service"][:2] == (2, 14)
    assert doc["functions"]["f"].vspans["handler"][:2] == (3, 34)


def test_aliases_are_shared_not_copied():
    doc = load("a: &x {k: [1, 2]}\nb: *x\n")
    assert doc["b"] is doc["a"]
    assert doc.vspans["b"][:2] == (2, 4)


# ---- warnings and refusals -------------------------------------------------------------------

def test_duplicated_key_is_a_warning_with_its_position():
    value, warnings = load_text("service: a\nfunctions:\n  f: {handler: x}\n  f: {handler: y}\n")
    assert value["functions"]["f"] == {"handler": "y"}
    assert len(warnings) == 1
    message, line, column = warnings[0]
    assert "'f'" in message and "duplicate" in message
    assert (line, column) == (4, 3)


def test_recursive_alias_is_refused():
    err = refused("a: &loop\n  b: *loop\n")
    assert "recursive alias" in err.message and "loop" in err.message
    assert (err.line, err.column) == (2, 6)


def test_recursive_alias_in_sequence_is_refused():
    err = refused("a: &x [1, *x]\n")
    assert "recursive" in err.message
    assert (err.line, err.column) == (1, 11)


def test_undefined_alias_is_refused():
    err = refused("a: 1\nb: *nowhere\n")
    assert "undefined alias" in err.message and "nowhere" in err.message
    assert (err.line, err.column) == (2, 4)


def test_two_documents_are_refused():
    err = refused("service: a\n---\nservice: b\n")
    assert "more than one" in err.message
    assert err.line == 2


def test_one_explicit_document_is_accepted():
    assert load("---\nservice: a\n...\n") == {"service": "a"}


def test_collection_as_key_is_refused():
    err = refused("? [a, b]\n: 1\n")
    assert "key" in err.message
    assert err.line == 1


def test_syntax_error_has_line_and_column():
    err = refused("service: bad\nprovider:\n  name: aws\n   runtime: python3.12\n")
    assert (err.line, err.column) == (4, 11)
    assert "mapping values" in err.message


def test_control_character_is_refused_with_its_position():
    err = refused("a: b\nc: dé\x01x\n")
    assert "control characters" in err.message
    assert (err.line, err.column) == (2, 6)


def test_lone_surrogate_in_text_is_a_parse_error():
    err = refused("a: é\nb: x\ud800y\n")
    assert (err.line, err.column) == (2, 5)


@pytest.mark.parametrize("text", ["", "# just a comment\n", "---\n"])
def test_empty_documents_load_as_none(text):
    assert load_text(text) == (None, [])


def test_top_level_sequence_and_scalar_load():
    assert load("- a\n- b\n") == ["a", "b"]
    assert load("hello\n") == "hello"


def test_parse_error_is_an_exception_with_its_message():
    err = ParseError("boom", 3, 7)
    assert str(err) == "boom"
    assert isinstance(err, Exception)
    assert (err.line, err.column) == (3, 7)


# ---- depth and alias-expansion limits --------------------------------------------------------

def test_nesting_at_the_limit_is_accepted():
    doc = load("a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n")
    depth = 0
    node = doc["a"]
    while node:
        node = node[0]
        depth += 1
    assert depth == MAX_DEPTH - 2


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 10_000, 200_000])
def test_deep_flow_nesting_is_refused(depth):
    err = refused("[" * depth + "]" * depth)
    assert "nesting deeper than" in err.message
    assert (err.line, err.column) == (1, MAX_DEPTH + 1)


def test_deep_unclosed_flow_nesting_is_refused_before_the_syntax_error():
    err = refused("a: " + "[" * 100_000)
    assert "nesting deeper than" in err.message


def test_deep_block_nesting_is_refused():
    err = refused("x:\n  " + "- " * 10_000 + "leaf\n")
    assert "nesting deeper than" in err.message
    assert err.line == 2


def test_deep_block_mappings_are_refused():
    text = "".join(" " * i + f"k{i}:\n" for i in range(MAX_DEPTH + 5))
    err = refused(text)
    assert "nesting deeper than" in err.message
    # PyYAML >= 6.0.4 bundles a libyaml that stops one level earlier than our own check
    assert err.line in (MAX_DEPTH, MAX_DEPTH + 1)


def billion_laughs(levels: int = 10, width: int = 10) -> str:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("levels", [9, 10])
def test_alias_bomb_is_refused(levels):
    err = refused(billion_laughs(levels))
    assert "alias" in err.message
    assert err.line > 1


def test_alias_bomb_through_merge_keys_is_refused():
    lines = ["m0: &m0 {" + ", ".join(f"k{j}: [x, x, x, x, x, x, x, x, x, x]" for j in range(10)) + "}"]
    for i in range(1, 9):
        lines.append(f"m{i}: &m{i} [" + ", ".join([f"*m{i - 1}"] * 10) + "]")
    err = refused("\n".join(lines) + "\nz:\n  <<: *m0\n")
    assert "alias" in err.message


def test_moderate_alias_use_is_fine():
    doc = load(billion_laughs(levels=4))
    assert len(doc["a3"]) == 10 and doc["a3"][0] is doc["a2"]


def test_expansion_limit_counts_each_node_once(monkeypatch):
    """Nodes nested deeply without any alias are not mistaken for an alias bomb."""
    monkeypatch.setattr(yamlmarks, "MAX_EXPANDED_NODES", 1_000)
    text = "functions:\n" + "".join(
        f"  f{i}:\n    events:\n      - http:\n          path: /p{i}\n" for i in range(100)
    )  # about 700 nodes, most of them 4-6 levels deep
    assert len(load(text)["functions"]) == 100
    err = refused(billion_laughs(levels=4))  # 10 + 100 + 1000 + 10000 expanded nodes
    assert "alias" in err.message


# ---- bytes: size, binary, encoding -----------------------------------------------------------

def test_nul_bytes_mean_binary():
    err = refused_bytes(b"service: x\nfunctions:\n  f\x00\x01\x02")
    assert "binary" in err.message
    assert err.line == 3


def test_nul_far_into_the_file_is_still_binary():
    err = refused_bytes(b"a: b\n" * 5000 + b"\x00")
    assert "binary" in err.message
    assert err.line == 5001


def test_invalid_utf8_reports_line_and_column_of_the_bad_byte():
    err = refused_bytes(b"service: x\ndescription: caf\xe9 au lait\n")
    assert "UTF-8" in err.message and "0xe9" in err.message
    assert (err.line, err.column) == (2, 17)


def test_invalid_utf8_column_counts_code_points_before_it():
    err = refused_bytes("a: é".encode("utf-8") + b"\xff\n")
    assert (err.line, err.column) == (1, 5)


def test_utf8_bom_is_accepted_and_does_not_shift_columns():
    doc, warnings = load_bytes(b"\xef\xbb\xbfservice: x\nname: !Ref Y\n")
    assert doc == {"service": "x", "name": {"Ref": "Y"}}
    assert doc.kspans["service"] == (1, 1, 1, 8)
    assert doc.vspans["service"][:2] == (1, 10)
    assert warnings == []


def test_decode_strips_bom_and_keeps_text():
    assert decode("\ufeffé: 1\n".encode("utf-8")) == "é: 1\n"


def test_too_large_file_is_refused_without_parsing():
    data = b"#" * (MAX_FILE_BYTES + 1)
    with pytest.raises(ParseError) as info:
        decode(data)
    assert "too large" in info.value.message
    assert "10 MiB" in info.value.message


def test_file_at_the_size_limit_is_decoded():
    assert len(decode(b" " * MAX_FILE_BYTES)) == MAX_FILE_BYTES


def test_utf16_text_is_refused_as_binary():
    err = refused_bytes("service: x\n".encode("utf-16"))
    assert "binary" in err.message


SAMPLE = "a: 1\nb: !Ref x\nc: &k [1, 's']\nd: *k\n<<: {e: 2}\nf: !!str 3\ng:\n  - {h: i}\n"


@pytest.mark.parametrize("text", [SAMPLE, "a: !Foo x\n", "a: [b\n"])
def test_other_yaml_users_see_libyaml_events_again_after_a_load(text):
    """The loader swaps libyaml's event constructors while it parses: nothing else may notice."""
    import yaml

    try:
        load_text(text)
    except ParseError:
        pass
    events = list(yaml.parse("k: [v]\n", Loader=yaml.CSafeLoader))
    assert [type(e).__name__ for e in events[2:8]] == [
        "MappingStartEvent", "ScalarEvent", "SequenceStartEvent", "ScalarEvent",
        "SequenceEndEvent", "MappingEndEvent"]
    assert yaml.load("k: [v, 1]\n", Loader=yaml.CSafeLoader) == {"k": ["v", 1]}


def test_the_pure_python_parser_builds_the_same_values_and_spans():
    """Without libyaml (a fallback, 11x slower) the loader must read files identically."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "if sys.argv[1] == 'pure': sys.modules['yaml._yaml'] = None\n"
        "from analyzer.loaders import yamlmarks as Y\n"
        "assert Y.HAVE_LIBYAML == (sys.argv[1] != 'pure')\n"
        "v, w = Y.load_text(sys.stdin.read())\n"
        "print(v, v.span, v.kspans, v.vspans, v['g'].ispans, v['g'][0].kspans, w)\n"
        "try:\n    Y.load_text('a: !Foo x')\n"
        "except Y.ParseError as e:\n    print(e, e.line, e.column)\n"
    )
    out = {mode: subprocess.run([sys.executable, "-c", probe, mode], input=SAMPLE, text=True,
                                capture_output=True, check=True).stdout for mode in ("pure", "libyaml")}
    assert out["pure"] == out["libyaml"]
    assert out["pure"].endswith("unknown tag !Foo 1 4\n")
