"""IAM wildcard matching without a regular expression per pattern agrees with fnmatch."""
from __future__ import annotations

import fnmatch
import itertools
import random

import pytest

from analyzer.iam.globs import match


@pytest.mark.parametrize("text, pattern, expected", [
    ("arn:aws:s3:::photos/a/b.png", "arn:aws:s3:::photos/*", True),
    ("arn:aws:s3:::photos", "arn:aws:s3:::photos/*", False),
    ("arn:aws:s3:::photos/", "arn:aws:s3:::photos/*", True),
    ("users-dev-getUser", "users-*-getUser", True),
    ("users-dev-getUsers", "users-*-getUser", False),
    ("abab", "*ab*ab", True),
    ("aba", "*ab*ab", False),
    ("arn:aws:sqs:us-east-1:123:q", "arn:aws:sqs:*:*:q", True),
    ("a", "a", True), ("a", "b", False), ("", "*", True), ("x", "", False),
    ("arn:aws:s3:::b[1]", "arn:aws:s3:::b[1]", True),   # IAM has no character sets
    ("arn:aws:s3:::b1", "arn:aws:s3:::b[1]", False),
    ("table/t1", "table/t?", True), ("table/t12", "table/t?", False),
])
def test_iam_wildcards(text, pattern, expected):
    assert match(text, pattern) is expected


def test_agrees_with_fnmatch_on_every_small_case():
    """Exhaustive over short texts and `*`/`?` patterns from a small alphabet, plus random
    longer ones: the literal-pieces scan decides exactly what fnmatch's regex decides."""
    alphabet = "ab:/"
    texts = ["".join(p) for n in range(5) for p in itertools.product(alphabet, repeat=n)]
    patterns = ["".join(p) for n in range(4) for p in itertools.product(alphabet + "*?", repeat=n)]
    rng = random.Random(7)
    patterns += ["".join(rng.choice(alphabet + "**?") for _ in range(rng.randint(4, 9))) for _ in range(300)]
    for pattern in patterns:
        for text in texts:
            assert match(text, pattern) == fnmatch.fnmatchcase(text, pattern.replace("[", "[[]")), \
                (text, pattern)
