"""A steps run as a graph: one node per step, in a chain, run by the engine.

The first step is a source called once (it gets the input dict); every
other step is a transform that gets the dict the step before passed on.
Each node calls its step on that dict, adds what the step returned and
passes the same dict on, so a later step sees the input and everything
earlier steps returned. A plain ``def`` step is a plain ``def`` node (the
engine runs it in its thread pool, never on the event loop); an ``async
def`` step is an ``async def`` node. Each node times its one call and
leaves the time in its stats as ``busy`` and as its call latency, which is
what the run store keeps of the step's timing.

So a steps run is recorded, drawn, streamed and shown like any graph: a run
per ``run``, a node per step (its name the step's name), run logs per step.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from ..runtime.processor import Processor
from .step import Step, merge

__all__ = ["StepRun", "announce"]


def announce(position: int, total: int, step: Step, failure: BaseException | None = None) -> None:
    """What ``verbose`` prints: ``[2/3] name version`` as a step starts, and how it failed."""
    line = f"[{position}/{total}] {step.label}"
    if failure is not None:
        line += f" failed: {type(failure).__name__}: {failure}"
    print(line, flush=True)


class StepRun:
    """One run of ``steps`` on ``data`` (a fresh dict, filled in as the steps return)."""

    def __init__(self, steps: Sequence[Step], data: dict[str, Any], verbose: bool) -> None:
        self.steps = list(steps)
        self.data = data
        self.verbose = verbose
        self.by_node = {step.node: (i, step) for i, step in enumerate(self.steps, 1)}

    def spec(self, name: str, version: str | None) -> dict[str, Any]:
        """The graph of this run: a chain of one node per step."""
        steps = self.steps
        nodes = {step.node: {"coro": self._node(i, step)} for i, step in enumerate(steps, 1)}
        graph: dict[str, list[str] | None] = {
            step.node: [steps[i].node] if i < len(steps) else None
            for i, step in enumerate(steps, 1)
        }
        spec: dict[str, Any] = {"name": name, "nodes": nodes, "graph": graph}
        if version:
            spec["version"] = version
        return spec

    def describe(self, name: str, version: str | None) -> dict[str, Any]:
        """The spec as the run store keeps it: the steps and the chain, as plain data."""
        steps = self.steps
        return {
            "name": name,
            "version": version,
            "steps": [
                {"name": s.name, "version": s.version, "function": s.function, "node": s.node}
                for s in steps
            ],
            "nodes": {s.node: {"coro": s.function} for s in steps},
            "graph": {
                s.node: [steps[i].node] if i < len(steps) else None for i, s in enumerate(steps, 1)
            },
        }

    def _node(self, position: int, step: Step) -> Callable[..., Any]:
        total = len(self.steps)
        verbose = self.verbose
        func = step.func

        def before() -> float:
            if verbose:
                announce(position, total, step)
            return time.perf_counter()

        # The four shapes the engine calls differently: first or not, async or not.
        if position == 1:
            data = self.data
            if step.is_async:

                async def node(processor: Processor) -> dict[str, Any]:
                    started = before()
                    try:
                        result = await func(data)
                    finally:
                        _timed(processor, started)
                    merge(step, data, result)
                    return data

            else:

                def node(processor: Processor) -> dict[str, Any]:  # type: ignore[misc]
                    started = before()
                    try:
                        result = func(data)
                    finally:
                        _timed(processor, started)
                    merge(step, data, result)
                    return data

        elif step.is_async:

            async def node(  # type: ignore[misc]
                data: dict[str, Any], processor: Processor
            ) -> dict[str, Any]:
                started = before()
                try:
                    result = await func(data)
                finally:
                    _timed(processor, started)
                merge(step, data, result)
                return data

        else:

            def node(  # type: ignore[misc]
                data: dict[str, Any], processor: Processor
            ) -> dict[str, Any]:
                started = before()
                try:
                    result = func(data)
                finally:
                    _timed(processor, started)
                merge(step, data, result)
                return data

        # Diagrams and the store name a node's function: the step's, not this wrapper.
        node.__name__ = node.__qualname__ = step.function
        return node


def _timed(processor: Processor, started: float) -> None:
    """The step's one call is the node's busy time and its call latency."""
    seconds = time.perf_counter() - started
    stats = processor.stats
    stats.busy = seconds
    stats.latency_p50 = stats.latency_p95 = stats.latency_max = seconds
