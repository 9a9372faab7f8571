"""A recorded run's graph: enough of its plan to draw it again, without its functions.

At record time :func:`describe` keeps, per node, what a diagram shows (kind,
zip/merge, the function's name and shape, the options, the neighbours);
:func:`rebuild` turns that back into a :class:`~pipelines.plan.Plan` whose
nodes have no callable, which :mod:`pipelines.diagram` draws exactly as
``pipelines render`` does. Nothing of the user's code is imported to draw a
recorded run (it may have changed, or be a server's untrusted input).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from ..plan import Plan, to_digraph
from ..runtime.stats import NodeStats, RunResult
from ..spec.calling import Shape, Signature
from ..spec.model import GraphSpec, NodeSpec
from ..spec.options import NodeOptions
from .encoding import plain
from .records import RunRecord

__all__ = ["MAX_DRAWN_NODES", "describe", "rebuild", "result_of"]

#: Graphs with more nodes are recorded without a diagram (Graphviz could not
#: lay them out usefully anyway).
MAX_DRAWN_NODES = 2000

_OPTION_NAMES = tuple(f.name for f in fields(NodeOptions))
#: How an option whose value is not plain data is recorded.
_SET = "<set>"


def describe(plan: Plan) -> dict[str, Any] | None:
    """What :func:`rebuild` needs, as JSON data; None for a graph too large to draw.

    Options whose values are plain data are kept as they are; the others
    (operator settings such as a window) only as set or not: a diagram
    shows them through the label notes, kept as text.
    """
    spec = plan.spec
    if len(spec.nodes) > MAX_DRAWN_NODES:
        return None
    nodes = []
    for node in spec.nodes.values():
        sig = node.signature
        options = {}
        for name in _OPTION_NAMES:
            value = getattr(node.options, name)
            options[name] = value if _plain(value) else _SET
        nodes.append(
            {
                "name": node.name,
                "function": sig.name,
                "shape": sig.shape.value,
                "upstream": sig.upstream,
                "raw": node.raw_coro if isinstance(node.raw_coro, str) else None,
                "options": options,
                "notes": node.options.notes(),
                "inputs": list(node.inputs),
                "outputs": list(node.outputs),
                "dead_letter_from": list(node.dead_letter_from),
                "group": list(node.group),  # the subgraphs it sits in (drawn as boxes)
            }
        )
    return {"name": spec.name, "version": plain(spec.version), "nodes": nodes}


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


@dataclass(frozen=True, slots=True)
class _DrawnOptions(NodeOptions):
    """A recorded node's options: the plain ones, and the label notes as they were drawn."""

    drawn_notes: tuple[str, ...] = ()

    def notes(self) -> list[str]:
        """The notes recorded with the run."""
        return list(self.drawn_notes)


def rebuild(description: dict[str, Any]) -> Plan:
    """A drawable :class:`Plan` from :func:`describe`'s data (its nodes cannot run)."""
    nodes: dict[str, NodeSpec] = {}
    for item in description["nodes"]:
        # An option recorded only as set stands as a marker: drawing asks whether it is set.
        options: dict[str, Any] = {
            k: (object() if v == _SET else v)
            for k, v in item["options"].items()
            if k in _OPTION_NAMES
        }
        signature = Signature(
            Shape(item["shape"]), bool(item["upstream"]), False, item["function"], None
        )
        nodes[item["name"]] = NodeSpec(
            name=item["name"],
            coro=None,
            raw_coro=item["raw"],
            args={},
            options=_DrawnOptions(**options, drawn_notes=tuple(item.get("notes") or ())),
            signature=signature,
            outputs=tuple(item["outputs"]),
            inputs=tuple(item["inputs"]),
            dead_letter_from=tuple(item["dead_letter_from"]),
            group=tuple(item.get("group") or ()),
        )
    spec = GraphSpec(nodes=nodes, name=description.get("name"), version=description.get("version"))
    return Plan(spec, to_digraph(spec))


def result_of(run: RunRecord, plan: Plan) -> RunResult:
    """A :class:`RunResult` carrying a recorded run's figures, for an annotated diagram."""
    stats = {}
    for name, node in (run.nodes or {}).items():
        stats[name] = NodeStats(
            received=node.received,
            emitted=node.emitted,
            failed=node.failed,
            retried=node.retried,
            dropped=node.dropped,
            peak_depth=node.peak_depth,
            peak_in_flight=node.peak_in_flight,
            busy=node.busy,
            latency_p50=node.latency_p50,
            latency_p95=node.latency_p95,
            latency_max=node.latency_max,
        )
    graph = plan.graph
    for edge in run.edges or []:
        target = stats.get(edge.target)
        if edge.dropped and target is not None and graph.has_edge(edge.source, edge.target):
            target.link_dropped[graph.edges[edge.source, edge.target]["link"]] = edge.dropped
    return RunResult(status=run.status, duration=run.duration or 0.0, stats=stats, graph=plan)
