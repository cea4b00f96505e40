"""ARN helpers shared by the IAM code: parsing and IAM-style ARN matching.

policyuniverse's `ARN` is not used here: it rejects the `<accountId>` placeholder and
partly wildcarded accounts, and importing it loads its whole 2023 data file (~0.17 s).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

ACCOUNT_TOKEN = "<accountId>"  # the repository's own, unknown account (loaders/symbols.py)
_ACCOUNT_SENTINEL = "\x00" * 12  # "some 12-digit account" that only wildcards match
_TWELVE_DIGITS = re.compile(r"(?<!\d)\d{12}(?!\d)")


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"

    @property
    def is_pattern(self) -> bool:
        return is_pattern(str(self))


def parse(arn) -> Arn | None:
    """The six parts of an ARN (or ARN pattern); None for anything that is not one."""
    if not isinstance(arn, str):
        return None
    parts = arn.strip().split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[2]:
        return None
    return Arn(*parts[1:])


def service_of(arn) -> str | None:
    """Service prefix of an ARN, also of a short pattern such as `arn:aws:logs:*`."""
    if not isinstance(arn, str):
        return None
    parts = arn.strip().split(":", 3)
    if len(parts) < 3 or parts[0] != "arn" or not parts[2] or "*" in parts[2] or "?" in parts[2]:
        return None
    return parts[2].lower()


def is_pattern(value: str) -> bool:
    return "*" in value or "?" in value


@lru_cache(maxsize=8192)
def _pattern_regex(pattern: str) -> re.Pattern:
    # IAM: wildcards work within colon-separated segments, but a `*` that ends a segment
    # may run on past colons. Partition, service and region compare case-insensitively.
    out = []
    for index, segment in enumerate(pattern.split(":")):
        pieces = re.split(r"(<accountId>|\*|\?)", segment)
        last = max((k for k, p in enumerate(pieces) if p), default=-1)
        rx = []
        for k, piece in enumerate(pieces):
            if piece == "*":
                rx.append(".*" if k == last else "[^:]*")
            elif piece == "?":
                rx.append("[^:]")
            elif piece == ACCOUNT_TOKEN:
                rx.append(r"(?:<accountId>|\d{12})")
            elif piece:
                rx.append(re.escape(piece))
        text = "".join(rx)
        out.append(f"(?i:{text})" if 1 <= index <= 3 else text)
    return re.compile(":".join(out), re.DOTALL)


def arn_matches(pattern: str, arn: str) -> bool:
    """Whether an IAM `Resource` pattern covers an ARN.

    `<accountId>` on either side stands for the repository's own account: it matches
    itself, any literal 12-digit account, and wildcards. Wildcards in `arn` are taken
    literally (so a pattern covers an ARN pattern only if it covers it as text).
    """
    if not isinstance(pattern, str) or not isinstance(arn, str):
        return False
    pattern, arn = pattern.strip(), arn.strip()
    if pattern == "*":
        return True
    if pattern == arn:
        return True
    rx = _pattern_regex(pattern)
    if ACCOUNT_TOKEN not in arn:
        return rx.fullmatch(arn) is not None
    # the placeholder account could be any account the pattern names, or one only a wildcard covers
    candidates = [ACCOUNT_TOKEN, _ACCOUNT_SENTINEL, *_TWELVE_DIGITS.findall(pattern)]
    parsed = parse(pattern)
    if parsed is not None and (digits := _account_like(parsed.account)):
        candidates.append(digits)
    return any(rx.fullmatch(arn.replace(ACCOUNT_TOKEN, c)) is not None for c in dict.fromkeys(candidates))


def _account_like(glob: str) -> str | None:
    """A 12-digit account an account glob such as `1234*` or `12345678901?` matches."""
    if not glob or not re.fullmatch(r"[0-9?*]+", glob) or glob == ACCOUNT_TOKEN:
        return None
    fixed = glob.replace("?", "0")
    if "*" in fixed:
        head, _, tail = fixed.partition("*")
        tail = tail.replace("*", "")
        fill = 12 - len(head) - len(tail)
        fixed = head + "0" * fill + tail if fill >= 0 else ""
    return fixed if len(fixed) == 12 else None
