"""IAM wildcard matching (`*` any run of characters, `?` one character, nothing else special).

fnmatch compiles a regular expression for each distinct pattern: a 1,000-service repository
has thousands of distinct resource patterns, and compiling them took longer than all the
matching. Patterns with `*` only (nearly all IAM patterns) are matched by their literal pieces
instead; others still go through fnmatch, with `[` made literal as IAM has no character sets.
"""
from __future__ import annotations

import fnmatch
from functools import lru_cache


@lru_cache(maxsize=65536)
def _pieces(pattern: str) -> tuple | None:
    """The literal pieces between `*`s, or None when the pattern needs fnmatch (`?`)."""
    if "?" in pattern:
        return None
    return tuple(pattern.split("*"))


def match(text: str, pattern: str) -> bool:
    """Whether `text` matches the IAM wildcard `pattern` (case-sensitive)."""
    pieces = _pieces(pattern)
    if pieces is None:
        return fnmatch.fnmatchcase(text, pattern.replace("[", "[[]"))
    if len(pieces) == 1:
        return text == pattern
    first, last = pieces[0], pieces[-1]
    if not text.startswith(first) or len(text) < len(first) + len(last):
        return False
    # each middle piece at its leftmost place after the one before leaves the most room for
    # the rest, so a greedy scan decides `*`-only patterns exactly
    pos, end = len(first), len(text) - len(last)
    for piece in pieces[1:-1]:
        found = text.find(piece, pos, end)
        if found < 0:
            return False
        pos = found + len(piece)
    return text.endswith(last)


def fnmatchcase(text: str, pattern: str) -> bool:
    """`fnmatch.fnmatchcase`, with `[...]` sets as fnmatch has them; faster when there are none."""
    if "[" in pattern:
        return fnmatch.fnmatchcase(text, pattern)
    return match(text, pattern)
