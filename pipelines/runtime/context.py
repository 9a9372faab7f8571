"""The context shared by every node of a run (dynapipeline's lockable and protected contexts).

``context:`` in a spec (or ``Plumber(context=...)``) is the initial mapping.
A node reaches it as ``processor.context`` or by declaring a parameter named
``context``. In ``lockable`` mode (the default) ``async with context as ctx:``
holds the context's asyncio lock for a read-modify-write across awaits
(``with context:`` does the same from a thread); single reads and writes are
atomic anyway. In ``protected`` mode the context is read-only for the whole
run: any attempt to change it raises :class:`ContextProtected`. A node in a
worker process (``executor: process``) receives a read-only copy.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

__all__ = ["Context", "ContextProtected", "ReadOnlyContext"]


class ContextProtected(TypeError):
    """The shared context is read-only (``context_mode: protected``, or a copy in a worker process)."""


class Context(MutableMapping[str, Any]):
    """A mapping shared by the nodes of one run, with a lock for read-modify-write."""

    def __init__(self, initial: Mapping[str, Any] | None = None, protected: bool = False) -> None:
        self._data: dict[str, Any] = dict(initial or {})
        self._protected = protected
        self._threads = threading.RLock()
        self._lock: asyncio.Lock | None = None

    @property
    def protected(self) -> bool:
        """True when the context is read-only for the run."""
        return self._protected

    def _check(self) -> None:
        if self._protected:
            raise ContextProtected(
                "the context is protected (context_mode: protected): it is read-only for the whole run"
            )

    def __getitem__(self, key: str) -> Any:
        with self._threads:
            return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._check()
        with self._threads:
            self._data[key] = value

    def __delitem__(self, key: str) -> None:
        self._check()
        with self._threads:
            del self._data[key]

    def __iter__(self) -> Iterator[str]:
        with self._threads:
            return iter(list(self._data))

    def __len__(self) -> int:
        return len(self._data)

    def snapshot(self) -> dict[str, Any]:
        """A plain copy of the current values."""
        with self._threads:
            return dict(self._data)

    async def __aenter__(self) -> Context:
        """Hold the context's lock until the block ends (other ``async with`` blocks wait)."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        await self._lock.acquire()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._lock is not None
        self._lock.release()

    def __enter__(self) -> Context:
        """Hold the context's thread lock (for plain ``def`` nodes running in threads)."""
        self._threads.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self._threads.release()

    def __reduce__(self) -> tuple[Any, ...]:
        # What a worker process receives: a read-only copy.
        return (ReadOnlyContext, (self.snapshot(),))

    def __repr__(self) -> str:
        mode = "protected" if self._protected else "lockable"
        return f"<Context {mode} {self.snapshot()!r}>"


class ReadOnlyContext(Context):
    """A read-only copy of a run's context (what a worker process sees)."""

    def __init__(self, initial: Mapping[str, Any] | None = None) -> None:
        super().__init__(initial, protected=True)

    def _check(self) -> None:
        raise ContextProtected(
            "this is a read-only copy of the run's context (a node in a worker process cannot "
            "change it)"
        )
