"""How recorded runs look on a terminal: the runs table and one run's detail tables."""

from __future__ import annotations

import datetime as dt

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from ..store import RunRecord, WorkerRecord

__all__ = [
    "RUN_STATUS_STYLES",
    "run_detail",
    "runs_table",
    "seconds",
    "when",
    "workers_table",
]

#: Colour of each run status.
RUN_STATUS_STYLES: dict[str, str] = {
    "running": "bold cyan",
    "completed": "green",
    "failed": "bold red",
    "stopped": "yellow",
    "crashed": "bold magenta",
    "timed_out": "bold red",
    "stalled": "bold red",
    "late": "magenta",
}


def when(seconds: float | None) -> str:
    """Epoch seconds as local time, to the second."""
    if seconds is None:
        return ""
    return dt.datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M:%S")


def seconds(value: float | None) -> str:
    """A duration for people: ``12.3 ms``, ``4.56 s``, ``3m 05s``, ``2h 03m``."""
    if value is None:
        return ""
    if value < 1:
        return f"{value * 1000:.1f} ms"
    if value < 60:
        return f"{value:.2f} s"
    minutes, secs = divmod(int(value), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def _status(status: str) -> Text:
    return Text(status, style=RUN_STATUS_STYLES.get(status, ""))


def runs_table(runs: list[RunRecord]) -> Table:
    """One row per run, newest first: id, pipeline, status, start, duration, items in/out, worker."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, collapse_padding=True)
    for heading, justify in (
        ("id", "left"),
        ("pipeline", "left"),
        ("status", "left"),
        ("started", "left"),
        ("duration", "right"),
        ("in", "right"),
        ("out", "right"),
        ("worker", "left"),
    ):
        table.add_column(heading, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for run in runs:
        # Text() everywhere: names come from specs and must not be read as rich markup.
        table.add_row(
            Text(run.id),
            Text(run.pipeline),
            _status(run.status),
            Text(when(run.started_at)),
            Text(seconds(run.duration)),
            Text(str(run.items_in)),
            Text(str(run.items_out)),
            Text(run.worker or ""),
        )
    return table


def _fields(run: RunRecord) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    rows: list[tuple[str, Text]] = [
        ("run", Text(run.id)),
        ("pipeline", Text(run.pipeline + (f" (version {run.version})" if run.version else ""))),
        ("status", _status(run.status)),
        ("started", Text(when(run.started_at))),
        ("ended", Text(when(run.ended_at))),
        ("duration", Text(seconds(run.duration))),
        ("items", Text(f"{run.items_in} in, {run.items_out} out")),
        ("worker", Text(run.worker or "")),
        ("spec", Text(f"{run.spec_path or '(from Python)'}  sha256 {run.spec_hash[:12]}")),
    ]
    if run.cycle is not None:
        first = "this run" if run.cycle_of == run.id else f"run {run.cycle_of}"
        rows.append(("cycle", Text(f"{run.cycle} (the first cycle is {first})")))
    if run.parameters:
        rows.append(("parameters", Text(" ".join(f"{k}={v!r}" for k, v in run.parameters.items()))))
    if run.noticed_at is not None:
        rows.append(("noticed", Text(f"{when(run.noticed_at)} (its worker stopped heartbeating)")))
    if run.error is not None:
        error = run.error
        if run.status in ("timed_out", "stalled", "late"):  # a watchdog's verdict
            text = f"{error.type}: {error.message}" if error.type else str(error.message)
        else:
            where = f"node {error.node!r}" if error.node else "the run"
            item = f" on item {error.item}" if error.item is not None else ""
            text = f"{where} failed{item}: {error.type}: {error.message}"
        rows.append(("error", Text(text, "red")))
    for name, value in rows:
        table.add_row(name, value)
    return table


def _nodes(run: RunRecord) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, collapse_padding=True)
    table.add_column("node", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("state", no_wrap=True)
    headings = ("in", "out", "failed", "retried", "dropped", "peak", "busy", "p50", "p95", "max")
    for heading in headings:
        table.add_column(heading, justify="right", no_wrap=True)
    table.add_column("last error", overflow="ellipsis", no_wrap=True, max_width=40)
    for name, node in (run.nodes or {}).items():
        table.add_row(
            Text(name),
            Text(node.kind),
            Text(node.state),
            *(
                Text(str(v), style="red" if h == "failed" and v else "")
                for h, v in zip(
                    headings,
                    (
                        node.received,
                        node.emitted,
                        node.failed,
                        node.retried,
                        node.dropped,
                        node.peak_depth,
                    ),
                    strict=False,
                )
            ),
            Text(seconds(node.busy)),
            Text(seconds(node.latency_p50)),
            Text(seconds(node.latency_p95)),
            Text(seconds(node.latency_max)),
            Text(node.last_error or "", style="red"),
        )
    return table


def _edges(run: RunRecord) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, collapse_padding=True)
    table.add_column("edge", no_wrap=True)
    for heading in ("capacity", "depth", "peak", "dropped"):
        table.add_column(heading, justify="right")
    for edge in run.edges or []:
        arrow = " -dead letter-> " if edge.kind == "dead_letter" else " -> "
        table.add_row(
            Text(edge.source + arrow + edge.target),
            Text(str(edge.capacity) if edge.capacity else "unbounded"),
            Text(str(edge.depth)),
            Text(str(edge.peak_depth)),
            Text(str(edge.dropped), style="red" if edge.dropped else ""),
        )
    return table


def run_detail(run: RunRecord) -> Group:
    """A run's fields, its per-node table and its edges."""
    return Group(_fields(run), Text(""), _nodes(run), Text(""), _edges(run))


def workers_table(workers: list[WorkerRecord]) -> Table:
    """One row per worker: name, status, version, host, pid, last heartbeat."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, collapse_padding=True)
    for heading in ("worker", "status", "version", "host", "pid", "last heartbeat"):
        table.add_column(heading, no_wrap=True)
    for worker in workers:
        table.add_row(
            Text(worker.name),
            Text(worker.status, style="green" if worker.status == "online" else "dim"),
            Text(worker.version or ""),
            Text(worker.host),
            Text(str(worker.pid)),
            Text(when(worker.last_heartbeat)),
        )
    return table
