"""Terminal views of a run (rich): a live per-node table and the final summary.

:class:`LiveView` is an event subscriber (``plumber.subscribe``): it keeps the
latest stats snapshot of each node and redraws a table on each event, so the
engine's hot path never knows it is there. It draws only on events (the
plumber's periodic ``stats`` events pace it), so it starts no thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from .errors import short_repr
from .runtime.stats import NodeStats, format_seconds

if TYPE_CHECKING:
    from .plan import Plan
    from .runtime.events import Event
    from .runtime.plumber import Plumber

__all__ = [
    "SHOWN_OUTPUTS",
    "STATE_STYLES",
    "STATUS_STYLES",
    "LiveView",
    "render_outputs",
    "render_summary",
    "summary_table",
]

#: How each node state is shown in the live table.
STATE_STYLES: dict[str, str] = {
    "waiting": "dim",
    "running": "cyan",
    "done": "green",
    "stopped": "yellow",
    "failed": "bold red",
}

_KIND_STYLES: dict[str, str] = {"source": "green", "transform": "blue", "sink": "yellow"}


@dataclass(slots=True)
class _NodeView:
    state: str = "waiting"
    stats: NodeStats | None = None
    depth: int = 0
    rate: float = 0.0
    last_error: str = ""


def _count(kind: str, stats: NodeStats) -> int:
    """The figure a rate is computed on: items produced by a source, taken by the others."""
    return stats.emitted if kind == "source" else stats.received


class LiveView:
    """A rich Live table of a running graph: items in/out, rate, failures, drops, link depth.

    ``dropped`` counts what a node discarded: a zip's leftovers, late or
    unmatched items of an operator, and what its input links' ``overflow``
    policy dropped.

    Use as a context manager around the run; it subscribes to ``plumber`` on
    entry and unsubscribes on exit. ``console`` is where it draws (stdout by
    default); messages printed through ``console`` appear above the table.
    """

    def __init__(
        self, plumber: Plumber, console: Console | None = None, interval: float = 0.25
    ) -> None:
        self.plumber = plumber
        self.console = console or Console()
        self.interval = interval
        self._kinds = {name: attrs["kind"] for name, attrs in plumber.graph.nodes(data=True)}
        self._nodes = {name: _NodeView() for name in self._kinds}
        self._last: tuple[float, dict[str, int]] | None = None
        self._started: float | None = None
        self._now: float | None = None
        #: What the title says the user can do; :meth:`stopping` changes it.
        self.hint = "Ctrl-C to stop"
        self._live = Live(
            console=self.console, auto_refresh=False, transient=True, get_renderable=self.renderable
        )
        self._unsubscribe: Callable[[], None] | None = None

    def stopping(self, drain: bool) -> None:
        """The first Ctrl-C arrived: say what is happening and what a second one does."""
        self.hint = "draining, Ctrl-C again to stop now" if drain else "stopping now"
        self._live.refresh()

    def __enter__(self) -> LiveView:
        self.plumber.stats_interval = self.interval
        self._unsubscribe = self.plumber.subscribe(self.on_event)
        self._live.start(refresh=True)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._live.stop()

    def on_event(self, event: Event) -> None:
        """Record what ``event`` says and redraw."""
        self._now = event.time
        view = self._nodes.get(event.node) if event.node is not None else None
        if event.kind == "run_started":
            self._started = event.time
            self._last = (event.time, {})
        elif event.kind == "node_started" and view is not None:
            view.state = "running"
        elif event.kind == "node_finished" and view is not None:
            view.stats = event.data.get("stats", view.stats)
            view.depth = 0
            view.rate = 0.0
            if view.state != "failed":
                view.state = "done"
        elif event.kind == "node_failed" and view is not None:
            error = event.data.get("error")
            view.last_error = f"{type(error).__name__}: {error}" if error is not None else "failed"
            if event.data.get("action") == "raise":
                view.state = "failed"
        elif event.kind == "stats":
            self._take_stats(event)
        elif event.kind == "run_finished":
            # The last figures, also of nodes a failure cancelled before they finished:
            # the result's (a distributed run counts on the workers, not in local nodes).
            result = event.data.get("result") or getattr(event.data.get("error"), "result", None)
            final = (
                result.stats
                if result is not None
                else {proc.name: proc.stats for proc in self.plumber.nodes}
            )
            for name, stats in final.items():
                if name not in self._nodes:
                    continue
                self._nodes[name].stats = stats.copy()
                self._nodes[name].rate = 0.0
                if self._nodes[name].state == "running":
                    self._nodes[name].state = "stopped"
        self._live.refresh()

    def _take_stats(self, event: Event) -> None:
        snapshot: dict[str, NodeStats] = event.data.get("stats", {})
        depths: dict[str, int] = event.data.get("depths", {})
        counts = {
            name: _count(self._kinds[name], s)
            for name, s in snapshot.items()
            if name in self._kinds
        }
        if self._last is not None:
            then, before = self._last
            elapsed = event.time - then
            if elapsed > 0:
                for name, count in counts.items():
                    if self._nodes[name].state == "running":
                        self._nodes[name].rate = (count - before.get(name, 0)) / elapsed
        self._last = (event.time, counts)
        for name, stats in snapshot.items():
            view = self._nodes.get(name)
            if view is not None and view.state != "done":
                view.stats = stats
                view.depth = depths.get(name, 0)

    def renderable(self) -> Table:
        """The table as it stands now."""
        elapsed = (
            (self._now - self._started)
            if self._started is not None and self._now is not None
            else 0.0
        )
        title = self.plumber.plan.spec.name or self.plumber.plan.spec.source or "pipeline"
        table = Table(
            title=f"{title}  [dim]{elapsed:.1f} s, {self.hint}[/]",
            box=box.SIMPLE_HEAD,
            title_justify="left",
        )
        table.add_column("node")
        table.add_column("state")
        for heading in ("in", "out", "rate/s", "failed", "dropped", "depth"):
            table.add_column(heading, justify="right")
        table.add_column("last error", overflow="ellipsis", no_wrap=True, max_width=48)
        for name, view in self._nodes.items():
            stats = view.stats
            failed = stats.failed if stats else 0
            dropped = stats.dropped if stats else 0
            table.add_row(
                Text(name, style=_KIND_STYLES.get(self._kinds[name], "")),
                Text(view.state, style=STATE_STYLES[view.state]),
                "" if self._kinds[name] == "source" else str(stats.received if stats else 0),
                str(stats.emitted if stats else 0),
                f"{view.rate:,.0f}" if view.state == "running" else "",
                Text(str(failed), style="red" if failed else ""),
                Text(str(dropped), style="yellow" if dropped else ""),
                str(view.depth) if view.state == "running" else "",
                Text(view.last_error, style="red"),
            )
        return table


def summary_table(plan: Plan, stats: dict[str, NodeStats]) -> Table:
    """One row per node: kind, function, received, emitted, failed, retried, dropped, peak input depth, time."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, collapse_padding=True)
    table.add_column("node", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("function", no_wrap=True, overflow="ellipsis", max_width=32)
    columns: tuple[tuple[str, Callable[[NodeStats], Any]], ...] = (
        ("in", lambda s: s.received),
        ("out", lambda s: s.emitted),
        ("failed", lambda s: s.failed),
        ("retried", lambda s: s.retried),
        ("dropped", lambda s: s.dropped),
        ("peak", lambda s: s.peak_depth),
    )
    for heading, _ in columns:
        table.add_column(heading, justify="right")
    table.add_column("time", justify="right", no_wrap=True)
    for name, attrs in plan.graph.nodes(data=True):
        node_stats = stats.get(name)
        if node_stats is None:
            continue
        cells: list[Any] = [
            Text(name, style=_KIND_STYLES.get(attrs["kind"], "")),
            attrs["kind"],
            attrs["spec"].signature.name,
        ]
        for heading, get in columns:
            value = get(node_stats)
            style = "red" if heading == "failed" and value else ""
            cells.append(Text(str(value), style=style))
        cells.append(format_seconds(node_stats.duration))
        table.add_row(*cells)
    return table


#: Colour of the status word under the summary table.
STATUS_STYLES: dict[str, str] = {
    "completed": "bold green",
    "stopped": "bold yellow",
    "failed": "bold red",
}


#: How many collected values the text summary shows per node (``--json`` has them all).
SHOWN_OUTPUTS = 10


def render_outputs(outputs: dict[str, list[Any]]) -> Text:
    """One line per ``collect: true`` node: how many values, and the first few."""
    lines = []
    for name, values in outputs.items():
        shown = ", ".join(short_repr(v) for v in values[:SHOWN_OUTPUTS])
        more = f", ... ({len(values) - SHOWN_OUTPUTS} more)" if len(values) > SHOWN_OUTPUTS else ""
        lines.append(Text.assemble((name, "bold"), f" ({len(values)} collected): [{shown}{more}]"))
    return Text("\n").join(lines)


def render_summary(
    plan: Plan,
    stats: dict[str, NodeStats],
    status: str,
    duration: float,
    outputs: dict[str, list[Any]] | None = None,
) -> Group:
    """The summary table, the collected outputs (if any), then the status and duration."""
    line = Text.assemble((status, STATUS_STYLES.get(status, "")), f" in {format_seconds(duration)}")
    if outputs:
        return Group(summary_table(plan, stats), render_outputs(outputs), line)
    return Group(summary_table(plan, stats), line)
