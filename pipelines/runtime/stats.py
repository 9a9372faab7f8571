"""Per-node statistics and the result of a run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["NodeStats", "RunResult", "format_seconds"]


def format_seconds(value: float | None) -> str:
    """A duration for people: ``0.4 ms``, ``12.3 ms``, ``2.35 s`` (empty for None)."""
    if value is None:
        return ""
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


@dataclass(slots=True)
class NodeStats:
    """Counters of one node, updated while the graph runs.

    ``received``: items taken from its input (a zip counts one per tuple);
    ``emitted``: results sent on (or kept, for a sink); ``failed``: items whose
    call failed after its retries; ``retried``: retry attempts made;
    ``dropped``: items discarded (the rest of a zip's longer inputs, items
    an input link's ``overflow`` policy dropped, late or unmatched items of
    an operator, what an operator held when the run was cancelled);
    ``link_dropped``: the overflow drops by input link name (also in
    ``dropped``); ``peak_depth``: highest depth reached by any of its input
    links; ``peak_in_flight``: most calls running at once. With call
    sampling on (``Plumber(sample_calls=True)``): ``busy``, seconds spent in
    calls (estimated: the mean sampled call times the calls made), and
    ``latency_p50``/``latency_p95``/``latency_max`` of the sampled calls, in
    seconds; all None without samples.
    """

    received: int = 0
    emitted: int = 0
    failed: int = 0
    retried: int = 0
    dropped: int = 0
    peak_depth: int = 0
    peak_in_flight: int = 0
    busy: float | None = None
    latency_p50: float | None = None
    latency_p95: float | None = None
    latency_max: float | None = None
    link_dropped: dict[str, int] = field(default_factory=dict)
    started: float | None = None
    finished: float | None = None

    @property
    def duration(self) -> float | None:
        """Seconds between the node's start and finish (None while it runs)."""
        if self.started is None or self.finished is None:
            return None
        return self.finished - self.started

    def as_dict(self) -> dict[str, Any]:
        """The counters as a plain dict (JSON friendly)."""
        data = asdict(self)
        data.pop("started")
        data.pop("finished")
        data["duration"] = self.duration
        return data

    def copy(self) -> NodeStats:
        """A snapshot of the counters."""
        snapshot = NodeStats(**{f: getattr(self, f) for f in self.__slots__})
        snapshot.link_dropped = dict(self.link_dropped)
        return snapshot


@dataclass(slots=True)
class RunResult:
    """What :meth:`Plumber.run` returns.

    ``status`` is ``"completed"`` (every node finished), ``"stopped"``
    (ended by :meth:`Plumber.stop`) or ``"failed"`` (the partial result a
    ``PipelineError`` carries as ``.result``); ``stats`` maps node name to
    :class:`NodeStats`; ``outputs`` maps each node with ``collect: true`` to
    the values it returned or yielded, in order; ``duration`` is in seconds.
    """

    status: str
    duration: float
    stats: dict[str, NodeStats]
    outputs: dict[str, list[Any]] = field(default_factory=dict)
    graph: Any = field(default=None, repr=False)  # the plan, for diagrams

    @property
    def stopped(self) -> bool:
        """True when the run was ended by ``stop()`` (or a signal in the CLI)."""
        return self.status == "stopped"

    def as_dict(self) -> dict[str, Any]:
        """Status, duration, per-node stats and outputs as plain data."""
        return {
            "status": self.status,
            "duration": self.duration,
            "stats": {name: s.as_dict() for name, s in self.stats.items()},
            "outputs": {name: list(values) for name, values in self.outputs.items()},
        }

    def render(self, path: str | Path, format: str | None = None) -> Path:
        """Draw the graph annotated with this run's figures (see :mod:`pipelines.diagram`)."""
        # A convenience that reaches up to a surface, lazily (see CONTRIBUTING.md).
        from ..diagram import render_result

        return render_result(self, path, format)
