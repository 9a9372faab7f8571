"""Pictures of a graph: Graphviz DOT (and images drawn from it) and Mermaid.

The plan's ``networkx.DiGraph`` is the only input: node attributes ``kind``
(source / transform / sink), ``mode`` (single / zip / merge) and ``spec``; edge
attributes ``kind`` (data / dead_letter) and ``capacity``. How each kind looks
is data (:data:`NODE_STYLES`, :data:`EDGE_STYLES`), not a chain of ifs.

After a run, the same diagram can carry the run's figures: items received and
emitted per node, failures (red border and count) and the peak depth reached
on each edge. A :class:`~pipelines.RunResult` holds per-node stats only, so an
edge shows the peak input depth of the node it feeds.

The ``graphviz`` package is imported only when DOT is built. Images (svg, png,
pdf) need Graphviz's ``dot`` program; DOT and Mermaid text do not. A missing
``dot`` raises :class:`GraphvizNotFound` with one sentence saying how to
install it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .calling import Shape
from .options import NodeOptions

if TYPE_CHECKING:
    import graphviz

    from .plan import Plan
    from .stats import NodeStats, RunResult

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
    "to_dot",
    "to_mermaid",
]

#: Every output format, and the ones drawn by Graphviz's ``dot`` program.
IMAGE_FORMATS = ("svg", "png", "pdf")
FORMATS = (*IMAGE_FORMATS, "dot", "mermaid")

_ALIASES = {"gv": "dot", "mmd": "mermaid"}
_SUFFIXES = {
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
}
MODE_TAGS: dict[str, str] = {
    "zip": "zip of {n} inputs",
    "merge": "merge of {n} inputs",
}

#: Look of each edge kind (a dead-letter edge carries failed items).
EDGE_STYLES: dict[str, dict[str, str]] = {
    "data": {"color": "#4a4a4a"},
    "dead_letter": {"style": "dashed", "color": "#c62828", "fontcolor": "#c62828"},
}
EDGE_TAGS: dict[str, str] = {"data": "", "dead_letter": "dead letter"}

#: What a node that had failures looks like after a run.
FAILED_STYLE: dict[str, str] = {"color": "#c62828", "fillcolor": "#fde2e2", "penwidth": "2.5"}

#: Node options shown in labels when they differ from the default.
_NOTED_OPTIONS = ("concurrency", "retries", "timeout", "executor")
_DEFAULT_OPTIONS = NodeOptions()

_GRAPH_ATTRS = {
    "rankdir": "LR",
    "fontname": "Helvetica",
    "fontsize": "12",
    "nodesep": "0.4",
    "ranksep": "0.6",
}
_NODE_ATTRS = {"fontname": "Helvetica", "fontsize": "11", "margin": "0.15,0.06"}
_EDGE_ATTRS = {"fontname": "Helvetica", "fontsize": "9", "arrowsize": "0.7"}

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


# -- formats -----------------------------------------------------------------------


def format_for(path: str | Path | None, format: str | None = None) -> str:
    """The output format: ``format`` if given (``gv`` and ``mmd`` are aliases), else from the suffix.

    Raises :class:`DiagramError` for an unknown format or suffix.
    """
    if format:
        fmt = _ALIASES.get(format.lower(), format.lower())
        if fmt not in FORMATS:
            raise DiagramError(f"unknown diagram format {format!r} (known: {', '.join(FORMATS)})")
        return fmt
    suffix = Path(path).suffix.lower() if path is not None else ""
    fmt = _SUFFIXES.get(suffix)
    if fmt is None:
        known = ", ".join(_SUFFIXES)
        raise DiagramError(
            f"cannot tell the diagram format from {str(path)!r}: name the file with one of {known}"
        )
    return fmt


def ensure_dot(fmt: str = "svg") -> None:
    """Raise :class:`GraphvizNotFound` unless ``dot`` is on PATH (only image formats need it)."""
    if fmt in IMAGE_FORMATS and shutil.which("dot") is None:
        raise GraphvizNotFound(fmt)


# -- labels ------------------------------------------------------------------------


def _node_ids(
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
_DOT_SAFE = re.compile(r"[\w.\-]+")
_MERMAID_SAFE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MERMAID_RESERVED = frozenset(
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


def _function(spec: Any) -> str:
    sig = spec.signature
    if sig.shape in (Shape.ITERABLE, Shape.ASYNC_ITERABLE):
        return sig.name
    return f"{sig.name}()"


def _option_notes(spec: Any) -> str:
    notes = []
    for name in _NOTED_OPTIONS:
        value = getattr(spec.options, name)
        if value != getattr(_DEFAULT_OPTIONS, name):
            notes.append(f"{name} {value:g}" if isinstance(value, float) else f"{name} {value}")
    return ", ".join(notes)


def _capacity(capacity: int) -> str:
    return "unbounded" if capacity == 0 else f"cap {capacity}"


def _node_lines(name: str, attrs: dict[str, Any], stats: NodeStats | None) -> list[str]:
    spec = attrs["spec"]
    lines = [name, _function(spec)]
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


def _edge_lines(attrs: dict[str, Any], stats: NodeStats | None) -> list[str]:
    lines = [line for line in (EDGE_TAGS[attrs["kind"]], _capacity(attrs["capacity"])) if line]
    if stats is not None:
        lines.append(f"peak {stats.peak_depth}")
    return lines


def _zip_position(graph: Any, source: str, target: str) -> str | None:
    """The 1-based input position of ``source`` on a zip node, which fixes the tuple order."""
    if graph.nodes[target]["mode"] != "zip":
        return None
    inputs = graph.nodes[target]["spec"].inputs
    return str(inputs.index(source) + 1) if source in inputs else None


def _stats_of(result: RunResult | None) -> dict[str, NodeStats]:
    return dict(result.stats) if result is not None else {}


def _title(plan: Plan, result: RunResult | None) -> str:
    parts = [plan.spec.name] if plan.spec.name else []
    if result is not None:
        parts.append(f"{result.status} in {result.duration:.2f} s")
    return ": ".join(parts)


# -- DOT ---------------------------------------------------------------------------


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
    stats = _stats_of(result)
    ids = _node_ids(list(g.nodes), _DOT_SAFE)
    dot = graphviz.Digraph(name=plan.spec.name or "pipeline")
    dot.attr("graph", **_GRAPH_ATTRS)
    title = _title(plan, result)
    if title:
        dot.attr("graph", label=graphviz.nohtml(_dot_text([title])), labelloc="t")
    dot.attr("node", **_NODE_ATTRS)
    dot.attr("edge", **_EDGE_ATTRS)
    for name, attrs in g.nodes(data=True):
        node_stats = stats.get(name)
        style = {**NODE_STYLES[attrs["kind"]], **MODE_STYLES[attrs["mode"]]}
        if node_stats is not None and node_stats.failed:
            style.update(FAILED_STYLE)
        raw = attrs["spec"].raw_coro
        tooltip = (
            f"{name}: {raw}" if isinstance(raw, str) else f"{name}: {_function(attrs['spec'])}"
        )
        dot.node(
            ids[name],
            label=graphviz.nohtml(_dot_text(_node_lines(name, attrs, node_stats))),
            tooltip=graphviz.nohtml(_dot_text([tooltip])),
            **style,
        )
    for source, target, attrs in g.edges(data=True):
        extra = {}
        position = _zip_position(g, source, target)
        if position is not None and attrs["kind"] == "data":
            extra["headlabel"] = position
        dot.edge(
            ids[source],
            ids[target],
            label=graphviz.nohtml(_dot_text(_edge_lines(attrs, stats.get(target)))),
            **EDGE_STYLES[attrs["kind"]],
            **extra,
        )
    return dot


def to_dot(plan: Plan, result: RunResult | None = None) -> str:
    """The graph in Graphviz DOT, left to right; with ``result``, annotated with that run's figures."""
    return to_digraph(plan, result).source


# -- Mermaid -----------------------------------------------------------------------


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
    stats = _stats_of(result)
    ids = _node_ids(list(g.nodes), _MERMAID_SAFE, _MERMAID_RESERVED)
    out = []
    title = _title(plan, result)
    if title:
        out += ["---", f"title: {title}", "---"]
    out.append("flowchart LR")
    for name, attrs in g.nodes(data=True):
        node_stats = stats.get(name)
        opening, closing = MERMAID_SHAPES[attrs["kind"]]
        label = _mermaid_text(_node_lines(name, attrs, node_stats))
        cls = "failed" if node_stats is not None and node_stats.failed else attrs["kind"]
        out.append(f"    {ids[name]}{opening}{label}{closing}:::{cls}")
    dead_links = []
    for index, (source, target, attrs) in enumerate(g.edges(data=True)):
        arrow = "-.->" if attrs["kind"] == "dead_letter" else "-->"
        if attrs["kind"] == "dead_letter":
            dead_links.append(str(index))
        label = _mermaid_text(_edge_lines(attrs, stats.get(target)))
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


# -- drawing and files -------------------------------------------------------------


def draw(plan: Plan, format: str, result: RunResult | None = None) -> str | bytes:
    """The diagram in ``format``: text for ``dot`` and ``mermaid``, bytes for images.

    Raises :class:`GraphvizNotFound` when an image is asked for and ``dot`` is
    missing, :class:`DiagramError` for an unknown format or a Graphviz failure.
    """
    fmt = format_for(None, format)
    if fmt == "mermaid":
        return to_mermaid(plan, result)
    source = to_dot(plan, result)
    if fmt == "dot":
        return source
    import graphviz

    try:
        return graphviz.Source(source).pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise GraphvizNotFound(fmt) from None
    except subprocess.CalledProcessError as exc:
        detail = (
            exc.stderr.decode(errors="replace").strip()
            if isinstance(exc.stderr, bytes)
            else exc.stderr
        )
        raise DiagramError(f"Graphviz could not draw the {fmt} image: {detail or exc}") from None


def _write(data: str | bytes, path: str | Path) -> Path:
    p = Path(path)
    try:
        if isinstance(data, bytes):
            p.write_bytes(data)
        else:
            p.write_text(data, encoding="utf-8")
    except OSError as exc:
        raise DiagramError(f"cannot write {str(p)!r}: {exc.strerror or exc}") from None
    return p


def render(
    plan: Plan, path: str | Path, format: str | None = None, result: RunResult | None = None
) -> Path:
    """Draw the graph to ``path`` and return it.

    The format is ``format`` (svg, png, pdf, dot or mermaid) or follows the
    suffix (``.gv`` is DOT, ``.mmd``/``.mermaid`` Mermaid). Raises
    :class:`GraphvizNotFound` for an image without Graphviz installed and
    :class:`DiagramError` for an unknown format or an unwritable path.
    """
    return _write(draw(plan, format_for(path, format), result), path)


def render_result(result: RunResult, path: str | Path, format: str | None = None) -> Path:
    """Draw the graph of a finished run to ``path``, annotated with its figures (see :func:`render`)."""
    if result.graph is None:
        raise DiagramError("this RunResult has no graph to draw (it was not made by Plumber.run)")
    return render(result.graph, path, format, result)
