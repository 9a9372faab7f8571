"""The text of a diagram: node identifiers, node and edge labels, the title."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..runtime.stats import format_seconds
from ..spec.calling import Shape
from ..spec.operators import OVERFLOW_POLICIES
from .styles import EDGE_TAGS, JOIN_SIDES, MODE_TAGS

if TYPE_CHECKING:
    from ..plan import Plan
    from ..runtime.stats import NodeStats, RunResult

__all__ = [
    "DOT_SAFE",
    "MERMAID_RESERVED",
    "MERMAID_SAFE",
    "Clusters",
    "edge_lines",
    "function_label",
    "node_ids",
    "node_lines",
    "stats_of",
    "title",
    "zip_position",
]


def node_ids(
    names: list[str], safe: re.Pattern[str], reserved: frozenset[str] = frozenset()
) -> dict[str, str]:
    """Node name -> identifier: the name itself when plain, else ``n<index>`` (the label keeps the name)."""
    ids: dict[str, str] = {}
    taken = set(names)
    for i, name in enumerate(names):
        if safe.fullmatch(name) and name.lower() not in reserved:
            ids[name] = name
            continue
        alias = f"n{i}"
        while alias in taken:
            alias = "_" + alias
        taken.add(alias)
        ids[name] = alias
    return ids


# ':' would be read as a port by DOT edge statements; '<...>' as an HTML label.
DOT_SAFE = re.compile(r"[\w.\-]+")
MERMAID_SAFE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MERMAID_RESERVED = frozenset(
    {
        "end",
        "graph",
        "subgraph",
        "flowchart",
        "style",
        "class",
        "classdef",
        "click",
        "linkstyle",
        "direction",
        "default",
    }
)


def function_label(spec: Any) -> str:
    """The function's name as a label: ``name()``, or the bare name of an iterable source."""
    sig = spec.signature
    if sig.shape in (Shape.ITERABLE, Shape.ASYNC_ITERABLE):
        return str(sig.name)
    return f"{sig.name}()"


def _option_notes(spec: Any) -> str:
    # Which options show, and how, is the options table's ``note`` column.
    return ", ".join(spec.options.notes())


def _capacity(capacity: int) -> str:
    return "unbounded" if capacity == 0 else f"cap {capacity}"


def node_lines(name: str, attrs: dict[str, Any], stats: NodeStats | None) -> list[str]:
    spec = attrs["spec"]
    lines = [name, function_label(spec)]
    tag = MODE_TAGS.get(attrs["mode"])
    if tag:
        lines.append(tag.format(n=len(spec.inputs) + len(spec.dead_letter_from)))
    notes = _option_notes(spec)
    if notes:
        lines.append(notes)
    if stats is not None:
        if attrs["kind"] == "source":
            lines.append(f"out {stats.emitted}")
        else:
            lines.append(f"in {stats.received}, out {stats.emitted}")
        extra = [
            f"{label} {getattr(stats, field)}"
            for field, label in (
                ("failed", "failed"),
                ("retried", "retried"),
                ("dropped", "dropped"),
            )
            if getattr(stats, field)
        ]
        if extra:
            lines.append(", ".join(extra))
    return lines


def edge_lines(attrs: dict[str, Any], stats: NodeStats | None) -> list[str]:
    """An edge's label: its kind, capacity and overflow policy; after a run, peak and drops."""
    capacity = _capacity(attrs["capacity"])
    overflow = attrs.get("overflow", OVERFLOW_POLICIES[0])
    if overflow != OVERFLOW_POLICIES[0]:  # block, the default, goes unsaid
        capacity = f"{capacity}, {overflow}"
    lines = [line for line in (EDGE_TAGS[attrs["kind"]], capacity) if line]
    if stats is not None:
        lines.append(f"peak {stats.peak_depth}")
        dropped = stats.link_dropped.get(attrs.get("link", ""), 0)
        if dropped:
            lines.append(f"dropped {dropped}")
    return lines


def zip_position(graph: Any, source: str, target: str) -> str | None:
    """Where ``source`` sits among a zip's inputs (1-based), or a join's (left, right).

    The position fixes the order of a zip's tuples and a join's pairs.
    """
    mode = graph.nodes[target]["mode"]
    if mode not in ("zip", "join"):
        return None
    inputs = graph.nodes[target]["spec"].inputs
    if source not in inputs:
        return None
    position = inputs.index(source)
    return JOIN_SIDES[position] if mode == "join" else str(position + 1)


def stats_of(result: RunResult | None) -> dict[str, NodeStats]:
    return dict(result.stats) if result is not None else {}


def title(plan: Plan, result: RunResult | None) -> str:
    parts = [plan.spec.name] if plan.spec.name else []
    if result is not None:
        parts.append(f"{result.status} in {format_seconds(result.duration)}")
    return ": ".join(parts)


class Clusters:
    """Nodes by the subgraph they sit in, to draw each subgraph as a box (a cluster).

    ``members[group]`` are the nodes directly in ``group`` (a tuple of
    qualified subgraph names, outermost first; ``()`` is the top level) and
    ``children[group]`` the subgraphs directly inside it.
    """

    def __init__(self, graph: Any) -> None:
        self.members: dict[tuple[str, ...], list[str]] = {(): []}
        self.children: dict[tuple[str, ...], list[tuple[str, ...]]] = {(): []}
        for name, attrs in graph.nodes(data=True):
            group = tuple(attrs.get("group") or ())
            for depth in range(1, len(group) + 1):
                path = group[:depth]
                if path not in self.members:
                    self.members[path] = []
                    self.children[path] = []
                    self.children[path[:-1]].append(path)
            self.members[group].append(name)

    @property
    def any(self) -> bool:
        """True when the graph has at least one subgraph."""
        return bool(self.children[()])
