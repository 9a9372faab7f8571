"""What ``pipelines run`` records: the store, the worker, the run's record, its ``/metrics``."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..store import Recorder, Recording, Store, StoreError
from ..store.recorder import new_run_id
from .output import EXIT_USAGE, fail

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from ..runtime.plumber import Plumber
    from ..runtime.stats import RunResult

__all__ = ["STORE_OPTION", "WRITE_TIMEOUT", "RunRecording", "open_store"]

#: Seconds to wait for a run's first record before giving up on the store.
WRITE_TIMEOUT = 30.0

#: ``--store PATH``, shared by the commands that read or write the store.
STORE_OPTION = click.option(
    "--store",
    "store_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="PATH",
    envvar="PIPELINES_STORE",
    help="The run store, a SQLite file [default: $PIPELINES_HOME/pipelines.db, "
    "PIPELINES_HOME defaults to ~/.pipelines].",
)


def open_store(path: Path | None) -> Store:
    """Open the store (created if missing) or exit 2 with one line saying why."""
    try:
        return Store.open(path)
    except StoreError as exc:
        fail(str(exc), EXIT_USAGE)


class RunRecording:
    """Around one ``pipelines run``: records it (unless ``store`` is False) and serves its metrics.

    Entering opens the store, registers this process as a worker, writes the
    run's record and starts the ``/metrics`` server, each failing with one
    clear line before anything runs. ``finish()`` ends the record with what
    the run gave; leaving closes everything (the worker goes offline).
    """

    def __init__(
        self,
        plumber: Plumber,
        data: dict[str, Any],
        spec_path: Path,
        sets: tuple[str, ...],
        *,
        store: bool,
        store_path: Path | None,
        worker_name: str | None,
        metrics_port: int | None,
    ) -> None:
        self.plumber = plumber
        self.data = data
        self.spec_path = spec_path
        self.sets = sets
        self.wanted = store
        self.store_path = store_path
        self.worker_name = worker_name
        self.metrics_port = metrics_port
        self.store: Store | None = None
        self.recorder: Recorder | None = None
        self.recording: Recording | None = None
        self.first_id: str | None = None
        self._metrics: tuple[WSGIServer, threading.Thread] | None = None

    @property
    def store_path_shown(self) -> str:
        """The store's file, as given or found."""
        return str(self.store.path) if self.store is not None else ""

    @property
    def halted_by(self) -> str | None:
        """The status a watchdog gave the run (its current cycle) in the store, if it did."""
        return self.recording.halted_by if self.recording is not None else None

    @property
    def run_id(self) -> str | None:
        """The recorded run's id (None with ``--no-store``)."""
        return self.recording.id if self.recording is not None else None

    def __enter__(self) -> RunRecording:
        plan = self.plumber.plan
        pipeline = plan.spec.name or self.spec_path.stem
        run_id = new_run_id()
        try:
            if self.wanted:
                self.store = Store.open(self.store_path)
                self.recorder = Recorder(
                    self.store, worker_name=self.worker_name, version=plan.spec.version, kind="run"
                ).start()
            if self.metrics_port is not None:  # before the run is recorded: it may fail
                self._serve_metrics(pipeline, run_id)
            if self.recorder is not None:
                recording = self._record(run_id, 1)
                # In the store before the run starts (and before its id is printed).
                try:
                    recording.written.result(timeout=WRITE_TIMEOUT)
                except concurrent.futures.TimeoutError:
                    raise StoreError(
                        f"the run store {self.store_path_shown} stayed busy for {WRITE_TIMEOUT:.0f} s"
                    ) from None
        except (StoreError, ValueError) as exc:
            self.close()
            fail(f"{exc} (--no-store runs without recording)", EXIT_USAGE)
        except BaseException:
            self.close()
            raise
        return self

    def _record(self, run_id: str | None, cycle: int) -> Recording:
        assert self.recorder is not None
        plan = self.plumber.plan
        cycles = not plan.spec.cycle.once
        if cycle == 1:
            self.first_id = run_id
        self.recording = self.recorder.record(
            self.plumber,
            pipeline=plan.spec.name or self.spec_path.stem,
            spec=self.data,
            parameters=_parameters(self.sets),
            spec_path=str(self.spec_path.resolve()),
            trigger="cli",
            run_id=run_id,
            cycle_of=self.first_id if cycles else None,
            cycle=cycle if cycles else None,
        )
        return self.recording

    async def next_cycle(self, cycle: int) -> None:
        """Record cycle number ``cycle`` (from 2) of the run, linked to the first; return once
        its record is written. Raises StoreError if it cannot be."""
        if self.recorder is None:
            return
        if self.recording is not None and not self.recording.finished:
            self.recording.finish()
        await asyncio.wrap_future(self._record(None, cycle).written)

    def _serve_metrics(self, pipeline: str, run_id: str) -> None:
        from prometheus_client import start_http_server

        from ..server.metrics import RunFeed

        feed = RunFeed(self.plumber, pipeline, run_id)
        try:
            server, thread = start_http_server(
                self.metrics_port or 0, addr="127.0.0.1", registry=feed.metrics.registry
            )
        except OSError as exc:
            self.close()
            fail(
                f"cannot serve metrics on 127.0.0.1:{self.metrics_port}: {exc.strerror or exc}",
                EXIT_USAGE,
            )
        thread.name = "pipelines-metrics"
        self._metrics = (server, thread)
        click.echo(f"metrics on http://127.0.0.1:{server.server_port}/metrics", err=True)

    def finish(self, result: RunResult, failure: BaseException | None) -> None:
        """End the record with the run's outcome (if its own events did not already)."""
        if self.recording is not None and not self.recording.finished:
            self.recording.finish(result if failure is None else None, failure)

    def close(self) -> None:
        """Stop the metrics server, flush the record, mark the worker offline."""
        if self._metrics is not None:
            server, thread = self._metrics
            server.shutdown()
            server.server_close()
            thread.join()
            self._metrics = None
        if self.recorder is not None:
            self.recorder.close()
            self.recorder = None
        if self.store is not None:
            self.store.close()
            self.store = None

    def __exit__(self, *exc: object) -> None:
        self.close()


def _parameters(sets: tuple[str, ...]) -> dict[str, Any]:
    from ..spec.overrides import parse_override

    values: dict[str, Any] = {}
    for text in sets:
        node, arg, value = parse_override(text)
        values[f"{node}.{arg}"] = value
    return values
