"""Mark-keeping YAML/JSON loader on libyaml's C parser.

Values are built straight from the parser's event stream, iteratively, so that
depth is bounded by a limit rather than by the C stack (libyaml's own composer
segfaults near 100,000 levels), aliases are shared rather than expanded, and
every mapping and sequence remembers where each of its entries came from.
Scalars stay plain Python values; their positions live in the parent container.
Scalar typing follows the YAML 1.2 core schema, as js-yaml (the framework's
parser) does: `yes`/`no`/`on`/`off` are strings.
"""
from __future__ import annotations

import re
import types
from dataclasses import dataclass

import yaml
from yaml.reader import ReaderError

try:  # libyaml is required for speed; the pure-Python parser is the fallback.
    from yaml import _yaml as _cyaml
    from yaml._yaml import CParser as _Parser

    HAVE_LIBYAML = True
except ImportError:  # pragma: no cover - exercised only without libyaml
    from yaml.parser import Parser as _PyParser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, _PyParser):  # type: ignore[no-redef]
        def __init__(self, stream):
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            _PyParser.__init__(self)

    HAVE_LIBYAML = False
    _cyaml = types.SimpleNamespace()  # nothing to patch: _fast_events converts instead


from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)


def _scalar_event(*fields):
    """(anchor, tag, implicit, value, start_mark, end_mark, style): what the parser hands the
    builder for a scalar, about 60% of all events. libyaml's binding builds its events by
    calling the names in its module; a tuple is cheaper to make and read than an instance of
    yaml.events.ScalarEvent."""
    return fields


def _end_event(start_mark, end_mark):
    """A mapping or sequence ends: the builder needs only where (the frame knows which)."""
    return end_mark


def _mapping_start(anchor, tag, implicit, start_mark, end_mark, flow_style):
    """A mapping opens: the builder's frame for it, its container made here rather than from
    an event object read back attribute by attribute (a third of all events open a container).
    The frame: [container, start mark, anchor, tag, pending key, key span, size, merges]."""
    container = _new_dict(MDict)  # what MDict() does, without running __init__
    container.kspans = {}
    container.vspans = {}
    container.span = _OPEN_SPAN
    container.hot = False
    return [container, start_mark, anchor, tag, _NOKEY, None, 1, None]


def _sequence_start(anchor, tag, implicit, start_mark, end_mark, flow_style):
    """A sequence opens: its frame, as _mapping_start."""
    container = _new_list(MList)
    container.ispans = []
    container.span = _OPEN_SPAN
    container.hot = False
    return [container, start_mark, anchor, tag, _NOKEY, None, 1, None]


_new_dict, _new_list = dict.__new__, list.__new__
_OPEN_SPAN = (0, 0, 0, 0)  # a container's span until it closes

# what load_text puts in libyaml's module while it parses, and what it puts back after
_FAST_EVENTS = {"ScalarEvent": _scalar_event, "MappingEndEvent": _end_event,
                "SequenceEndEvent": _end_event, "MappingStartEvent": _mapping_start,
                "SequenceStartEvent": _sequence_start}
_EVENTS = {name: getattr(yaml.events, name) for name in _FAST_EVENTS}
_MARK = _cyaml.Mark if HAVE_LIBYAML else yaml.error.Mark


MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 1000
MAX_EXPANDED_NODES = 2_000_000

# (line, column, end_line, end_column), all 1-based, columns in code points.
Span = tuple[int, int, int, int]


class MDict(dict):
    """A mapping that knows its own span and the spans of its keys and values.

    `hot` is False only when the builder saw that nothing below holds a variable, an ARN, an
    AWS host name or an `environment` block: rules that look for those skip the subtree.
    """

    __slots__ = ("span", "kspans", "vspans", "source", "hot")

    def __init__(self, *args, span: Span = (0, 0, 0, 0)):
        super().__init__(*args)
        self.span = span
        self.kspans: dict = {}
        self.vspans: dict = {}
        self.hot = True


class MList(list):
    """A sequence that knows its own span and the span of each item (and `hot`, as MDict)."""

    __slots__ = ("span", "ispans", "source", "hot")

    def __init__(self, *args, span: Span = (0, 0, 0, 0)):
        super().__init__(*args)
        self.span = span
        self.ispans: list = []
        self.hot = True


@dataclass
class ParseError(Exception):
    """A file that cannot be read; line and column are 1-based (0 when unknown)."""

    message: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        return self.message


# CloudFormation short tags and the long forms they stand for.
_CFN_TAGS = {
    "!Ref": "Ref",
    "!Condition": "Condition",
    "!GetAtt": "Fn::GetAtt",
}
for _name in (
    "Sub", "ImportValue", "Join", "Select", "Split", "If", "FindInMap", "GetAZs",
    "Base64", "Equals", "Not", "And", "Or", "Cidr", "Transform", "Length",
    "ToJsonString",
):
    _CFN_TAGS["!" + _name] = "Fn::" + _name

_STD_TAG = "tag:yaml.org,2002:"
# the standard tags a mapping or sequence may carry; anything else (`!!python/...`) is refused
_STD_COLLECTION_TAGS = frozenset(_STD_TAG + k for k in ("map", "seq", "omap", "pairs", "set"))

_NULLS = {"", "~", "null", "Null", "NULL"}
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT_RE = re.compile(r"[-+]?[0-9]+$")
_OCT_RE = re.compile(r"0o[0-7]+$")
_HEX_RE = re.compile(r"0x[0-9a-fA-F]+$")
_FLOAT_RE = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_SPECIAL_FLOATS = {
    ".inf": float("inf"), ".Inf": float("inf"), ".INF": float("inf"),
    "+.inf": float("inf"), "+.Inf": float("inf"), "+.INF": float("inf"),
    "-.inf": float("-inf"), "-.Inf": float("-inf"), "-.INF": float("-inf"),
    ".nan": float("nan"), ".NaN": float("nan"), ".NAN": float("nan"),
}
_NUMERIC_START = frozenset("0123456789+-.")
# first characters of plain scalars that may be typed (null, bool, number): others stay text
_PLAIN_MAYBE_TYPED = frozenset("0123456789+-.~nNtTfF")


def _plain(value: str):
    """Type a plain scalar by the YAML 1.2 core schema."""
    if value in _NULLS:
        return None
    b = _BOOLS.get(value)
    if b is not None:
        return b
    if value[0] not in _NUMERIC_START:
        return value
    if _INT_RE.match(value):
        return int(value)
    if _OCT_RE.match(value):
        return int(value[2:], 8)
    if _HEX_RE.match(value):
        return int(value[2:], 16)
    if _FLOAT_RE.match(value):
        return float(value)
    f = _SPECIAL_FLOATS.get(value)
    if f is not None:
        return f
    return value


def _scalar(tag, value: str, implicit, mark) -> object:
    if tag is None or tag == "!":
        if tag is None and implicit[0]:
            return _plain(value)
        return value
    if tag.startswith(_STD_TAG):
        kind = tag[len(_STD_TAG):]
        if kind == "str":
            return value
        if kind in ("int", "float", "bool", "null"):
            return _plain(value)
        raise _error(f"unsupported tag !!{kind}", mark)
    raise _error(f"unknown tag {tag}", mark)


def _error(message: str, where) -> ParseError:
    """`where` is an event, a scalar tuple or a mark."""
    m = where[4] if type(where) is tuple else getattr(where, "start_mark", where)
    return ParseError(message, m.line + 1, m.column + 1)


def _span(ev_start, ev_end) -> Span:
    s, e = ev_start.start_mark, ev_end.end_mark
    return (s.line + 1, s.column + 1, e.line + 1, e.column + 1)


def names_aws(text: str) -> bool:
    """Text that may name an AWS thing: what SLS401's literal scan reads, and (with a `${`) what
    makes a subtree `hot`. The builder's loop repeats this test inline."""
    return "arn:" in text or "amazonaws.com" in text


def _wrap_tag(tag: str, value, span: Span, where, sites: Sites) -> MDict:
    long = _CFN_TAGS.get(tag)
    if long is None:
        raise _error(f"unknown tag {tag} (only CloudFormation short tags are allowed)", where)
    if long == "Fn::GetAtt" and isinstance(value, str):
        head, _, tail = value.partition(".")
        value = MList([head, tail] if tail else [head], span=span)
        value.ispans = [span] * len(value)
        for i, part in enumerate(value):
            if "${" in part:
                sites.vars.append((value, i))
    out = MDict(span=span)
    out[long] = value
    out.kspans[long] = span
    out.vspans[long] = span
    if type(value) is str:
        out.hot = "${" in value or names_aws(value)
    elif isinstance(value, (MDict, MList)):
        out.hot = value.hot
    if isinstance(value, MList) and long == "Fn::GetAtt":
        value.hot = out.hot = any(type(p) is str and "${" in p for p in value)
    if type(value) is str and "${" in value:
        sites.vars.append((out, long))
    if long == "Fn::ImportValue":
        sites.imports.append(out)
    return out


def decode(data: bytes) -> str:
    """Bytes to text, refusing what the framework would refuse: binary, non-UTF-8."""
    if len(data) > MAX_FILE_BYTES:
        raise ParseError(
            f"file is too large ({len(data) / 1048576:.1f} MiB; the limit is "
            f"{MAX_FILE_BYTES // 1048576} MiB)"
        )
    if b"\x00" in data[:8192] or b"\x00" in data:
        pos = data.index(b"\x00")
        line = data.count(b"\n", 0, pos) + 1
        raise ParseError("binary file (contains NUL bytes)", line, 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        line_start = data.rfind(b"\n", 0, e.start) + 1
        # columns count code points; everything before the first bad byte is valid UTF-8
        col = len(data[line_start:e.start].decode("utf-8")) + 1
        raise ParseError(f"not valid UTF-8 (byte 0x{data[e.start]:02x})", line, col) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text


def load_text(text: str, sites: Sites | None = None):
    """Parse one YAML/JSON document into MDict/MList/scalars, or raise ParseError.

    Returns (value, warnings) where warnings are (message, line, column) tuples
    for problems the framework also rejects but that leave the data usable,
    such as duplicated keys. `sites`, when given, collects where variables are.
    """
    warnings: list[tuple[str, int, int]] = []
    parser = None
    try:
        parser = _Parser(text)
        if not HAVE_LIBYAML:  # pragma: no cover - exercised only without libyaml
            parser.get_event = _fast_events(parser.get_event)
        vars(_cyaml).update(_FAST_EVENTS)  # loading runs on one thread; restored below
        return _build(parser, warnings, sites if sites is not None else Sites()), warnings
    except UnicodeEncodeError as e:  # lone surrogates: not text any YAML parser accepts
        line, col = _position(text, e.start)
        raise ParseError("not valid Unicode text (a lone surrogate)", line, col) from None
    except ReaderError as e:
        line, col = _byte_position(text, e.position)
        char = e.character
        what = f"#x{char:04x}" if isinstance(char, int) else repr(char)
        raise ParseError(f"unacceptable character {what}: {e.reason}", line, col) from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        msg = e.problem or str(e)
        if "maximum nesting depth" in msg:  # newer libyaml enforces our limit itself
            msg = f"nesting deeper than {MAX_DEPTH} levels"
        elif e.context:
            msg = f"{msg} ({e.context})"
        if mark is not None:
            raise ParseError(msg, mark.line + 1, mark.column + 1) from None
        raise ParseError(msg) from None
    except yaml.YAMLError as e:
        raise ParseError(str(e).splitlines()[0] if str(e) else "invalid YAML") from None
    finally:
        vars(_cyaml).update(_EVENTS)
        if parser is not None:
            try:
                parser.dispose()
            except Exception:  # pragma: no cover
                pass


def _fast_events(get_event):  # pragma: no cover - exercised only without libyaml
    """The pure-Python parser's events in the shapes _FAST_EVENTS gives libyaml's."""
    def get():
        ev = get_event()
        if type(ev) is ScalarEvent:
            return (ev.anchor, ev.tag, ev.implicit, ev.value, ev.start_mark, ev.end_mark, ev.style)
        if type(ev) is MappingEndEvent or type(ev) is SequenceEndEvent:
            return ev.end_mark
        if type(ev) is MappingStartEvent:
            return _mapping_start(ev.anchor, ev.tag, ev.implicit, ev.start_mark, ev.end_mark, ev.flow_style)
        if type(ev) is SequenceStartEvent:
            return _sequence_start(ev.anchor, ev.tag, ev.implicit, ev.start_mark, ev.end_mark, ev.flow_style)
        return ev
    return get


def _position(text: str, index: int) -> tuple[int, int]:
    """1-based line and column (in code points) of a character index."""
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _byte_position(text: str, offset: int) -> tuple[int, int]:
    """The same for a byte offset into the UTF-8 encoding (libyaml's reader reports those)."""
    if not isinstance(offset, int) or offset < 0:
        return 0, 0
    prefix = text.encode("utf-8", "surrogatepass")[:offset].decode("utf-8", "ignore")
    return _position(prefix, len(prefix))


def _build(parser, warnings, sites: Sites):
    """The iterative builder: one frame per open container (the hot loop of loading)."""
    anchors: dict[str, tuple[object, int]] = {}
    open_anchors: set[str] = set()
    # frame: [container, start_mark, anchor, tag, pending_key, key_span, size, merges], made by
    # _mapping_start / _sequence_start as the parser reports the container opening
    stack: list[list] = []
    root = None
    docs = 0
    expanded = 0
    get_event = parser.get_event
    var_sites = sites.vars
    plain_start = _PLAIN_MAYBE_TYPED
    mark = _MARK

    while True:
        ev = get_event()
        if ev is None:
            break
        cls = type(ev)
        if cls is tuple:  # a scalar, as _scalar_event makes it
            anchor, tag, implicit, value, sm, em, _ = ev
            span = (sm.line + 1, sm.column + 1, em.line + 1, em.column + 1)
            if tag is None:
                if implicit[0] and (not value or value[0] in plain_start):
                    value = _plain(value)
            elif tag in _CFN_TAGS:
                value = _wrap_tag(tag, value, span, sm, sites)
            else:
                value = _scalar(tag, value, implicit, sm)
            if anchor is not None:
                anchors[anchor] = (value, 1)
            elif stack and tag is None:
                frame = stack[-1]
                if frame[4] is _NOKEY and type(frame[0]) is MDict:
                    # a plain mapping key, nearly half of all events: the short way
                    if value == "<<" and implicit[0]:
                        value = _MERGE
                    frame[4] = value
                    frame[5] = span
                    frame[6] += 1
                    expanded += 1
                    continue
            size = cost = 1
        elif cls is list:  # a mapping or sequence opens: its frame (_mapping_start)
            if len(stack) >= MAX_DEPTH:
                raise _error(f"nesting deeper than {MAX_DEPTH} levels", ev[1])
            if ev[2] is not None:
                open_anchors.add(ev[2])
            stack.append(ev)
            continue
        elif cls is mark:  # a mapping or sequence ends here (_end_event)
            frame = stack.pop()
            value, sm, anchor, tag, _, _, size, merges = frame
            value.span = span = (sm.line + 1, sm.column + 1, ev.line + 1, ev.column + 1)
            cost = 1  # the container itself; its entries were counted as they came
            if merges:
                _apply_merges(value, merges, sites)
            if tag is not None and tag != "!":
                if tag.startswith(_STD_TAG):
                    if tag not in _STD_COLLECTION_TAGS:
                        raise _error(f"unsupported tag !!{tag[len(_STD_TAG):]}", sm)
                else:
                    value = _wrap_tag(tag, value, span, sm, sites)
            if anchor is not None:
                open_anchors.discard(anchor)
                anchors[anchor] = (value, size)
        elif cls is AliasEvent:
            if ev.anchor in open_anchors:
                raise _error(f"recursive alias *{ev.anchor}", ev)
            try:
                value, size = anchors[ev.anchor]
            except KeyError:
                raise _error(f"undefined alias *{ev.anchor}", ev) from None
            span = _span(ev, ev)
            cost = size  # what a naive traversal would walk through
        else:
            if type(ev).__name__ == "DocumentStartEvent":
                docs += 1
                if docs > 1:
                    raise _error("more than one YAML document in the file", ev)
            continue

        expanded += cost
        if expanded > MAX_EXPANDED_NODES:
            raise _error(
                f"alias expansion exceeds {MAX_EXPANDED_NODES:,} nodes (an alias bomb?)", ev
            )
        if not stack:
            root = value
            continue
        frame = stack[-1]
        frame[6] += size
        container = frame[0]
        vt = type(value)
        var = False  # a string holding a variable
        if vt is str:
            if "${" in value:
                container.hot = var = True
            elif not container.hot and ("arn:" in value or "amazonaws.com" in value):  # names_aws
                container.hot = True
        elif (vt is MDict or vt is MList) and value.hot:
            container.hot = True
        if type(container) is MList:
            if var:
                var_sites.append((container, len(container)))
            container.append(value)
            container.ispans.append(span)
            continue
        key = frame[4]
        if key is _NOKEY:
            if isinstance(value, (dict, list)):
                raise _error("a mapping or sequence cannot be used as a key", ev)
            if value == "<<" and cls is tuple and ev[1] is None and ev[2][0]:
                value = _MERGE
            frame[4] = value
            frame[5] = span
            continue
        frame[4] = _NOKEY
        if key is _MERGE:
            frame[7] = (frame[7] or []) + ([value] if not isinstance(value, list) else list(value))
            continue
        if key in container:
            warnings.append((f"duplicated mapping key '{key}'", frame[5][0], frame[5][1]))
        if var:
            var_sites.append((container, key))
        elif key == "environment" and (vt is MDict or vt is MList):
            value.hot = container.hot = True
        elif key == "Fn::ImportValue":
            sites.imports.append(container)
        container[key] = value
        container.kspans[key] = frame[5]
        container.vspans[key] = span
    return root


def _apply_merges(target: MDict, merges: list, sites: Sites) -> None:
    """YAML merge keys (`<<: *defaults`): explicit keys win."""
    for src in merges:
        if not isinstance(src, MDict):
            continue
        if src.hot:
            target.hot = True
        for k, v in src.items():
            if k not in target:
                target[k] = v
                target.kspans[k] = src.kspans.get(k, src.span)
                target.vspans[k] = src.vspans.get(k, src.span)
                if type(v) is str and "${" in v:
                    sites.vars.append((target, k))


class Sites:
    """Where a later pass must look, recorded while building so it need not walk everything:
    strings holding `${` (variables) and `Fn::ImportValue` mappings."""

    __slots__ = ("vars", "imports")

    def __init__(self):
        self.vars: list = []      # (container, key or index)
        self.imports: list = []   # MDicts holding Fn::ImportValue


class _NoKey:
    __slots__ = ()

    def __repr__(self) -> str:  # pragma: no cover
        return "<no key>"


_NOKEY = _NoKey()
_MERGE = _NoKey()  # a plain `<<` key


def load_bytes(data: bytes, sites: Sites | None = None):
    return load_text(decode(data), sites)
