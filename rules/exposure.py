"""The exposure family: what is reachable from the internet (SLS301-SLS303)."""
from __future__ import annotations

RULES: list = []
