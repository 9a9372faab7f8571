"""A recorded run's diagram for the page: the SVG ``pipelines render`` draws, and a key to it.

The page shows the SVG inline and updates its text live from the event
stream. To find its way in the SVG it gets, per Graphviz node id (the
``<title>`` of each node group), the node's name and the index of the
label line that carries its counts; per edge title (``a->b``), the edge.
Drawing runs Graphviz in a thread; results are cached per run (the layout
does not change while a run goes on; the page rewrites the figures).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
from typing import Any

from ..diagram import DiagramError, draw
from ..diagram.labels import DOT_SAFE, node_ids, node_lines
from ..store.graph import rebuild, result_of
from ..store.records import RunRecord

__all__ = ["CACHED", "Diagrams", "NoDiagram", "diagram_of"]

#: Diagrams kept in memory.
CACHED = 64


class NoDiagram(Exception):
    """The run cannot be drawn (no recorded graph, or Graphviz failed): the message says why."""


def diagram_of(run: RunRecord) -> dict[str, Any]:
    """``{"svg", "nodes": {dot_id: {"name", "line"}}, "edges": {"a->b": [source, target]},
    "name"}`` (``name``: the spec's name, which the diagram's title starts with).

    Raises :class:`NoDiagram`.
    """
    if run.graph is None:
        raise NoDiagram(f"run {run.id} has no recorded graph (it was too large to draw)")
    plan = rebuild(run.graph)
    try:
        svg = draw(plan, "svg", result_of(run, plan))
    except DiagramError as exc:
        raise NoDiagram(str(exc)) from None
    graph = plan.graph
    ids = node_ids(list(graph.nodes), DOT_SAFE)
    nodes = {
        ids[name]: {"name": name, "line": len(node_lines(name, attrs, None))}
        for name, attrs in graph.nodes(data=True)
    }
    edges = {f"{ids[s]}->{ids[t]}": [s, t] for s, t in graph.edges}
    text = svg.decode() if isinstance(svg, bytes) else svg
    return {"svg": text, "nodes": nodes, "edges": edges, "name": plan.spec.name}


class Diagrams:
    """Draws diagrams on ``executor`` (at most ``parallel`` at once); keeps the latest ``CACHED``.

    A run is drawn once per status (a finished run's title says how it ended).
    """

    def __init__(self, executor: concurrent.futures.Executor, parallel: int = 2) -> None:
        self._executor = executor
        self._cache: collections.OrderedDict[tuple[str, str], dict[str, Any]] = (
            collections.OrderedDict()
        )
        self._drawing = asyncio.Semaphore(parallel)

    async def get(self, run: RunRecord) -> dict[str, Any]:
        """The diagram of ``run`` (raises :class:`NoDiagram`)."""
        key = (run.id, run.status)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        async with self._drawing:
            loop = asyncio.get_running_loop()
            drawn = await loop.run_in_executor(self._executor, diagram_of, run)
        self._cache[key] = drawn
        while len(self._cache) > CACHED:
            self._cache.popitem(last=False)
        return drawn
