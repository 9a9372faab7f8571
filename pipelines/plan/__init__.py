"""The plan layer: a validated spec as a ``networkx.DiGraph`` ready to run.

Knows the spec layer, nothing above it.
"""

from __future__ import annotations

from .build import Plan, find_cycles, input_link_name, make_plan, to_digraph

__all__ = ["Plan", "find_cycles", "input_link_name", "make_plan", "to_digraph"]
