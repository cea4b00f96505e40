"""The discovery family: how services find each other, and whether they can deploy (SLS401-SLS406)."""
from __future__ import annotations

RULES: list = []
