"""Pictures of a graph: Graphviz DOT (and images drawn from it) and Mermaid.

The plan's ``networkx.DiGraph`` is the only input: node attributes ``kind``
(source / transform / sink), ``mode`` (single / zip / merge / join) and
``spec``; edge attributes ``kind`` (data / dead_letter), ``capacity``,
``overflow`` and ``link`` (its name in the run's stats). How each kind looks
is data (:data:`NODE_STYLES`, :data:`EDGE_STYLES`), not a chain of ifs.

After a run, the same diagram can carry the run's figures: items received and
emitted per node, failures (red border and count) and the peak depth reached
on each edge. A :class:`~pipelines.RunResult` holds per-node stats only, so an
edge shows the peak input depth of the node it feeds, and the items its
link's ``overflow`` policy dropped.

The ``graphviz`` package is imported only when DOT is built. Images (svg, png,
pdf) need Graphviz's ``dot`` program; DOT and Mermaid text do not. A missing
``dot`` raises :class:`GraphvizNotFound` with one sentence saying how to
install it.
"""

from __future__ import annotations

from .dot import to_digraph, to_dot
from .files import draw, ensure_dot, format_for, render, render_result
from .mermaid import to_mermaid
from .styles import (
    EDGE_STYLES,
    FORMATS,
    IMAGE_FORMATS,
    NODE_STYLES,
    DiagramError,
    GraphvizNotFound,
)

__all__ = [
    "EDGE_STYLES",
    "FORMATS",
    "IMAGE_FORMATS",
    "NODE_STYLES",
    "DiagramError",
    "GraphvizNotFound",
    "draw",
    "ensure_dot",
    "format_for",
    "render",
    "render_result",
    "to_digraph",
    "to_dot",
    "to_mermaid",
]
