"""Graphviz DOT: the graph as a ``graphviz.Digraph`` (the package is imported when called)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .labels import (
    DOT_SAFE,
    Clusters,
    edge_lines,
    function_label,
    node_ids,
    node_lines,
    stats_of,
    title,
    zip_position,
)
from .styles import (
    CLUSTER_ATTRS,
    EDGE_ATTRS,
    EDGE_STYLES,
    FAILED_STYLE,
    GRAPH_ATTRS,
    MODE_STYLES,
    NODE_ATTRS,
    NODE_STYLES,
    DiagramError,
)

if TYPE_CHECKING:
    import graphviz

    from ..plan import Plan
    from ..runtime.stats import RunResult

__all__ = ["to_digraph", "to_dot"]


def _dot_text(lines: list[str]) -> str:
    # Backslashes are escapes in DOT labels; lines are centred (\n).
    return "\\n".join(line.replace("\\", "\\\\") for line in lines)


def to_digraph(plan: Plan, result: RunResult | None = None) -> graphviz.Digraph:
    """The graph as a ``graphviz.Digraph`` (annotated with ``result``'s figures when given)."""
    try:
        import graphviz
    except ImportError:  # pragma: no cover - a declared dependency
        raise DiagramError(
            "the 'graphviz' Python package is needed for DOT diagrams: pip install graphviz"
        ) from None

    g = plan.graph
    stats = stats_of(result)
    ids = node_ids(list(g.nodes), DOT_SAFE)
    # nohtml: a name like "<b>x</b>" is a quoted string, not an HTML label Graphviz rejects
    dot = graphviz.Digraph(name=graphviz.nohtml(plan.spec.name or "pipeline"))
    dot.attr("graph", **GRAPH_ATTRS)
    heading = title(plan, result)
    if heading:
        dot.attr("graph", label=graphviz.nohtml(_dot_text([heading])), labelloc="t")
    dot.attr("node", **NODE_ATTRS)
    dot.attr("edge", **EDGE_ATTRS)

    def add_node(container: Any, name: str) -> None:
        attrs = g.nodes[name]
        node_stats = stats.get(name)
        style = {**NODE_STYLES[attrs["kind"]], **MODE_STYLES[attrs["mode"]]}
        if node_stats is not None and node_stats.failed:
            style.update(FAILED_STYLE)
        raw = attrs["spec"].raw_coro
        tooltip = (
            f"{name}: {raw}" if isinstance(raw, str) else f"{name}: {function_label(attrs['spec'])}"
        )
        container.node(
            ids[name],
            label=graphviz.nohtml(_dot_text(node_lines(name, attrs, node_stats))),
            tooltip=graphviz.nohtml(_dot_text([tooltip])),
            **style,
        )

    clusters = Clusters(g)
    numbers = {group: i for i, group in enumerate(clusters.members) if group}

    def add_group(container: Any, group: tuple[str, ...]) -> None:
        for name in clusters.members[group]:
            add_node(container, name)
        for child in clusters.children[group]:
            # A subgraph node is drawn as a dashed box around its nodes.
            with container.subgraph(name=f"cluster_{numbers[child]}") as box:
                box.attr(label=graphviz.nohtml(_dot_text([child[-1]])), **CLUSTER_ATTRS)
                add_group(box, child)

    add_group(dot, ())
    for source, target, attrs in g.edges(data=True):
        extra = {}
        position = zip_position(g, source, target)
        if position is not None and attrs["kind"] == "data":
            extra["headlabel"] = position
        dot.edge(
            ids[source],
            ids[target],
            label=graphviz.nohtml(_dot_text(edge_lines(attrs, stats.get(target)))),
            **EDGE_STYLES[attrs["kind"]],
            **extra,
        )
    return dot


def to_dot(plan: Plan, result: RunResult | None = None) -> str:
    """The graph in Graphviz DOT, left to right; with ``result``, annotated with that run's figures."""
    source: str = to_digraph(plan, result).source
    return source
