"""How a diagram looks: formats, node and edge styles as data, and the diagram errors."""

from __future__ import annotations

__all__ = [
    "ALIASES",
    "CLUSTER_ATTRS",
    "EDGE_ATTRS",
    "EDGE_STYLES",
    "EDGE_TAGS",
    "FAILED_STYLE",
    "FORMATS",
    "GRAPH_ATTRS",
    "IMAGE_FORMATS",
    "JOIN_SIDES",
    "MERMAID_SHAPES",
    "MODE_STYLES",
    "MODE_TAGS",
    "NODE_ATTRS",
    "NODE_STYLES",
    "SUFFIXES",
    "DiagramError",
    "GraphvizNotFound",
]

#: Every output format, and the ones drawn by Graphviz's ``dot`` program.
IMAGE_FORMATS = ("svg", "png", "pdf")
FORMATS = (*IMAGE_FORMATS, "dot", "mermaid")

ALIASES = {"gv": "dot", "mmd": "mermaid"}
SUFFIXES = {
    ".svg": "svg",
    ".png": "png",
    ".pdf": "pdf",
    ".dot": "dot",
    ".gv": "dot",
    ".mmd": "mermaid",
    ".mermaid": "mermaid",
}

#: Look of each node kind. ``color`` is the border, ``fillcolor`` the inside;
#: Mermaid uses the same two colours.
NODE_STYLES: dict[str, dict[str, str]] = {
    "source": {"shape": "cds", "style": "filled", "fillcolor": "#dff3e4", "color": "#2e7d32"},
    "transform": {
        "shape": "box",
        "style": "rounded,filled",
        "fillcolor": "#e3edf9",
        "color": "#1f5fa8",
    },
    "sink": {"shape": "cylinder", "style": "filled", "fillcolor": "#fdf0d5", "color": "#b26a00"},
}

#: Mermaid node brackets per kind: stadium, rounded box, cylinder.
MERMAID_SHAPES: dict[str, tuple[str, str]] = {
    "source": ('(["', '"])'),
    "transform": ('("', '")'),
    "sink": ('[("', '")]'),
}

#: Extra attributes and the label tag of a multi-input node.
MODE_STYLES: dict[str, dict[str, str]] = {
    "single": {},
    "zip": {"peripheries": "2"},
    "merge": {"peripheries": "2"},
    "join": {"peripheries": "2"},
}
MODE_TAGS: dict[str, str] = {
    "zip": "zip of {n} inputs",
    "merge": "merge of {n} inputs",
    "join": "join of {n} inputs",
}
#: The head label of each input edge of a join (by position in graph order).
JOIN_SIDES = ("left", "right")

#: Look of each edge kind (a dead-letter edge carries failed items).
EDGE_STYLES: dict[str, dict[str, str]] = {
    "data": {"color": "#4a4a4a"},
    "dead_letter": {"style": "dashed", "color": "#c62828", "fontcolor": "#c62828"},
}
EDGE_TAGS: dict[str, str] = {"data": "", "dead_letter": "dead letter"}

#: Look of the box drawn around the nodes of a subgraph.
CLUSTER_ATTRS: dict[str, str] = {
    "style": "rounded,dashed",
    "color": "#7a7a7a",
    "fontcolor": "#4a4a4a",
    "fontname": "Helvetica",
    "fontsize": "11",
}

#: What a node that had failures looks like after a run.
FAILED_STYLE: dict[str, str] = {"color": "#c62828", "fillcolor": "#fde2e2", "penwidth": "2.5"}

GRAPH_ATTRS = {
    "rankdir": "LR",
    "fontname": "Helvetica",
    "fontsize": "12",
    "nodesep": "0.4",
    "ranksep": "0.6",
}
NODE_ATTRS = {"fontname": "Helvetica", "fontsize": "11", "margin": "0.15,0.06"}
EDGE_ATTRS = {"fontname": "Helvetica", "fontsize": "9", "arrowsize": "0.7"}

_INSTALL_HINT = (
    "Graphviz's 'dot' program is needed to draw {fmt} images but was not found on PATH: "
    "install Graphviz (apt-get install graphviz, or brew install graphviz on macOS), "
    "or write DOT (.dot) or Mermaid (.mmd) text, which need no Graphviz"
)


class DiagramError(Exception):
    """A diagram could not be drawn (unknown format, Graphviz failed); the message says why."""


class GraphvizNotFound(DiagramError):
    """Graphviz's ``dot`` program, needed for svg/png/pdf, is not installed."""

    def __init__(self, fmt: str = "svg") -> None:
        super().__init__(_INSTALL_HINT.format(fmt=fmt))
        self.format = fmt
