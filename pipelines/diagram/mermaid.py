"""Mermaid flowcharts: text any Markdown renderer draws, no Graphviz needed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .labels import (
    MERMAID_RESERVED,
    MERMAID_SAFE,
    Clusters,
    edge_lines,
    node_ids,
    node_lines,
    stats_of,
    title,
)
from .styles import EDGE_STYLES, FAILED_STYLE, MERMAID_SHAPES, NODE_STYLES

if TYPE_CHECKING:
    from ..plan import Plan
    from ..runtime.stats import RunResult

__all__ = ["to_mermaid"]


def _mermaid_text(lines: list[str]) -> str:
    escaped = [
        line.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
        for line in lines
    ]
    return "<br/>".join(escaped)


def to_mermaid(plan: Plan, result: RunResult | None = None) -> str:
    """The graph as a Mermaid flowchart (left to right); no Graphviz needed.

    With ``result``, labels carry that run's figures and failed nodes get the
    ``failed`` class.
    """
    g = plan.graph
    stats = stats_of(result)
    ids = node_ids(list(g.nodes), MERMAID_SAFE, MERMAID_RESERVED)
    out = []
    heading = title(plan, result)
    if heading:
        out += ["---", f"title: {heading}", "---"]
    out.append("flowchart LR")
    clusters = Clusters(g)
    box_ids = node_ids(
        [group[-1] for group in clusters.members if group], MERMAID_SAFE, MERMAID_RESERVED
    )

    def add_group(group: tuple[str, ...], indent: str) -> None:
        for name in clusters.members[group]:
            attrs = g.nodes[name]
            node_stats = stats.get(name)
            opening, closing = MERMAID_SHAPES[attrs["kind"]]
            label = _mermaid_text(node_lines(name, attrs, node_stats))
            cls = "failed" if node_stats is not None and node_stats.failed else attrs["kind"]
            out.append(f"{indent}{ids[name]}{opening}{label}{closing}:::{cls}")
        for child in clusters.children[group]:
            # A subgraph node is drawn as a box around its nodes.
            box = box_ids[child[-1]]
            out.append(f'{indent}subgraph {box}["{_mermaid_text([child[-1]])}"]')
            add_group(child, indent + "    ")
            out.append(f"{indent}end")

    add_group((), "    ")
    dead_links = []
    for index, (source, target, attrs) in enumerate(g.edges(data=True)):
        arrow = "-.->" if attrs["kind"] == "dead_letter" else "-->"
        if attrs["kind"] == "dead_letter":
            dead_links.append(str(index))
        label = _mermaid_text(edge_lines(attrs, stats.get(target)))
        out.append(f'    {ids[source]} {arrow}|"{label}"| {ids[target]}')
    for kind, style in NODE_STYLES.items():
        out.append(f"    classDef {kind} fill:{style['fillcolor']},stroke:{style['color']}")
    out.append(
        f"    classDef failed fill:{FAILED_STYLE['fillcolor']},stroke:{FAILED_STYLE['color']},stroke-width:3px"
    )
    if dead_links:
        out.append(
            f"    linkStyle {','.join(dead_links)} stroke:{EDGE_STYLES['dead_letter']['color']}"
        )
    return "\n".join(out) + "\n"
