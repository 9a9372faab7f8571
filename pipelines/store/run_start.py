"""A run's first record: who runs what, its spec, nodes and edges with nothing counted yet,
and what its diagram needs. Written before the run starts (:meth:`.Recorder.record`), and
for a scheduled run that never started (``late``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .encoding import bounded, canonical, plain, spec_hash
from .graph import describe
from .writes import RunStart

if TYPE_CHECKING:
    from ..plan import Plan
    from ..runtime.plumber import Plumber

__all__ = ["MAX_SPEC", "first_record", "spec_of"]

#: Largest spec (JSON characters) stored with a run; larger ones keep only their hash.
MAX_SPEC = 1_000_000


def spec_of(plan: Plan) -> dict[str, Any]:
    """A plan's spec as plain data (for runs recorded from Python, whose dict is not kept)."""
    spec = plan.spec
    nodes = {}
    for name, node in spec.nodes.items():
        entry: dict[str, Any] = {"coro": node.raw_coro if isinstance(node.raw_coro, str) else None}
        if entry["coro"] is None:
            entry["coro"] = node.signature.name
        if node.args:
            entry["args"] = plain(node.args)
        nodes[name] = entry
    data: dict[str, Any] = {
        "nodes": nodes,
        "graph": {name: list(node.outputs) or None for name, node in spec.nodes.items()},
    }
    if spec.name:
        data["name"] = spec.name
    if spec.version is not None:
        data["version"] = plain(spec.version)
    return data


def first_record(
    plumber: Plumber,
    *,
    run_id: str,
    worker_id: str | None,
    started_at: float,
    pipeline: str | None = None,
    spec: Any = None,
    parameters: dict[str, Any] | None = None,
    spec_path: str | None = None,
    trigger: str = "python",
    cycle_of: str | None = None,
    cycle: int | None = None,
) -> RunStart:
    """A run's first record for a run of ``plumber`` (see :meth:`Recorder.record`): who, what,
    its nodes and edges with nothing counted yet, what its diagram needs."""
    plan = plumber.plan
    name = pipeline or plan.spec.name or _stem(plan.spec.source) or "pipeline"
    data = spec if spec is not None else spec_of(plan)
    text = canonical(data)
    graph = describe(plan)
    return RunStart(
        run_id=run_id,
        pipeline=bounded(str(name), 200) or "pipeline",
        trigger=trigger,
        worker_id=worker_id,
        started_at=started_at,
        spec=text if len(text) <= MAX_SPEC else None,
        spec_hash=spec_hash(data),
        spec_path=spec_path if spec_path is not None else plan.spec.source,
        version=None if plan.spec.version is None else str(plan.spec.version),
        parameters=canonical(parameters or {}),
        graph=canonical(graph) if graph is not None else None,
        nodes=[(n, attrs["kind"]) for n, attrs in plumber.graph.nodes(data=True)],
        edges=[
            (s, t, attrs["kind"], attrs["capacity"])
            for s, t, attrs in plumber.graph.edges(data=True)
        ],
        cycle_of=cycle_of,
        cycle=cycle,
    )


def _stem(source: str | None) -> str | None:
    return Path(source).stem or None if source else None
