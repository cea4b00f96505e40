"""The networkx graph of a project: every rule reads only this."""
from .build import build_graph

__all__ = ["build_graph"]
