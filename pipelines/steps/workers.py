"""The workers of a steps pipeline: wpipe's ``worker_register``, ``set_worker_id`` and
``healthcheck_worker`` on the run store's worker registry.

With a store, registering a worker registers this process in the store
under that name and version (a :class:`~pipelines.store.Recorder`, whose
``pipelines-store`` thread heartbeats on its own every period); its runs are
recorded under it. A worker id given again (read back from a file, as wpipe's
README suggests) registers this process under that id once more. Without a
store, workers exist only in this object: the same calls work and return
the same shapes, and nothing is recorded.

The shapes are wpipe's: ``worker_register`` returns a dict with the
worker's ``id`` (``worker.get("id")``); ``set_worker_id`` and
``healthcheck_worker`` take that dict or its id.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

from ..store import Recorder, Store
from ..store.encoding import iso
from ..store.status import ONLINE

__all__ = ["WorkerRegistry", "worker_id_of"]


def worker_id_of(worker: Any) -> str:
    """The id in ``worker``: a dict from ``worker_register`` or the id itself."""
    if isinstance(worker, Mapping):
        worker = worker.get("id")
    if not isinstance(worker, str) or not worker:
        raise TypeError(
            "a worker is the dict worker_register() returned, or its 'id' (a string);"
            f" got {worker!r}"
        )
    return worker


class WorkerRegistry:
    """The workers one steps pipeline registered; ``current`` records its runs.

    Thread-safe: a healthcheck thread may beat while a run goes on.
    """

    def __init__(self, store: Store | None, worker_name: str | None = None) -> None:
        self.store = store
        self.worker_name = worker_name
        self.current: str | None = None
        self._infos: dict[str, dict[str, Any]] = {}
        self._recorders: dict[str, Recorder] = {}
        self._implicit: set[str] = set()  # registered because a run needed a worker
        self._lock = threading.Lock()
        self._closed = False

    def register(
        self, name: str, version: str | None, tasks: list[dict[str, str]]
    ) -> dict[str, Any]:
        """A new worker named ``name``; returns ``{"id", "name", "version", "tasks"}``."""
        if not isinstance(name, str) or not name:
            raise TypeError(f"a worker's name is a non-empty string, got {name!r}")
        version = None if version is None else str(version)
        worker_id = self._start(name, version, None)
        info = {"id": worker_id, "name": name, "version": version, "tasks": tasks}
        with self._lock:
            self._infos[worker_id] = info
        return dict(info)

    def use(self, worker: Any) -> str:
        """Record the next runs under ``worker`` (registered here, or found in the store)."""
        worker_id = worker_id_of(worker)
        with self._lock:
            known = worker_id in self._infos
        if not known:
            row = self.store.worker(worker_id) if self.store is not None else None
            if self.store is not None and row is None:
                raise ValueError(
                    f"no worker {worker_id!r} in the run store {self.store.path}:"
                    " register one with worker_register(name=..., version=...)"
                )
            name = row.name if row is not None else (self.worker_name or "worker")
            version = row.version if row is not None else None
            self._start(name, version, worker_id)
            with self._lock:
                self._infos[worker_id] = {"id": worker_id, "name": name, "version": version}
        with self._lock:
            self.current = worker_id
        return worker_id

    def beat(self, worker: Any) -> dict[str, Any]:
        """A heartbeat of ``worker`` now; returns ``{"id", "name", "version", "status",
        "last_heartbeat"}`` as the store has it."""
        worker_id = worker_id_of(worker)
        with self._lock:
            if self._closed:
                raise RuntimeError("this steps Pipeline is closed: its workers are offline")
            info = self._infos.get(worker_id)
            recorder = self._recorders.get(worker_id)
        if info is None:
            raise ValueError(
                f"worker {worker_id!r} is not registered here: worker_register() or"
                " set_worker_id() it first"
            )
        status, last = ONLINE, time.time()
        if recorder is not None and self.store is not None:
            recorder.beat()
            row = self.store.worker(worker_id)
            if row is not None:
                status, last = row.status, row.last_heartbeat
        return {
            "id": worker_id,
            "name": info["name"],
            "version": info["version"],
            "status": status,
            "last_heartbeat": iso(last),
        }

    def name_of(self, worker_id: str | None) -> str | None:
        """The name of a worker registered here by the user (not one a run needed)."""
        info = self._chosen(worker_id)
        return None if info is None else info["name"]

    def version_of(self, worker_id: str | None) -> str | None:
        """The version of a worker registered here by the user."""
        info = self._chosen(worker_id)
        return None if info is None else info["version"]

    def _chosen(self, worker_id: str | None) -> dict[str, Any] | None:
        with self._lock:
            if worker_id is None or worker_id in self._implicit:
                return None
            return self._infos.get(worker_id)

    def recorder(self) -> Recorder | None:
        """The recorder of the current worker (one is registered if none is); None without a store."""
        if self.store is None:
            return None
        with self._lock:
            current = self.current
            if self._closed:
                raise RuntimeError("this steps Pipeline is closed: make a new one to record runs")
        if current is None:
            info = self.register(self.worker_name or _default_name(), None, [])
            with self._lock:
                self._implicit.add(info["id"])
            current = self.use(info)
        with self._lock:
            return self._recorders[current]

    def _start(self, name: str, version: str | None, worker_id: str | None) -> str:
        if self.store is None:
            return worker_id or uuid.uuid4().hex
        with self._lock:
            if self._closed:
                raise RuntimeError("this steps Pipeline is closed")
        recorder = Recorder(
            self.store, worker_name=name, version=version, kind="python", worker_id=worker_id
        ).start()
        with self._lock:
            old = self._recorders.get(recorder.worker.id)
            self._recorders[recorder.worker.id] = recorder
        if old is not None:
            old.close()
        return recorder.worker.id

    def close(self) -> None:
        """Stop every worker's recorder (each goes offline); idempotent."""
        with self._lock:
            self._closed = True
            recorders, self._recorders = list(self._recorders.values()), {}
        for recorder in recorders:
            recorder.close()


def _default_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"
