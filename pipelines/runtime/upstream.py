"""The original ``pipelines`` API on this engine: a Processor built by hand, and an auto-starting Plumber.

Code written for the original project builds a :class:`~pipelines.Processor`
itself, inside a running event loop, on ``asyncio.Queue`` objects::

    Processor(coro=StringFunc.reverse, input_srcs=[q1], output_dests=[q_out])

and expects it to start at once: take one item from each input queue (a
zip), call ``coro(processor, q_elt, **kwargs)`` with the tuple, and put the
result on every output queue; an :class:`InputProcessor` (no inputs) calls
``coro(processor, output_queue, **kwargs)`` once. Calls overlap, as they
did in the original (which made a task per item), but at most
:data:`~pipelines.spec.options.UPSTREAM_CONCURRENCY` at once. Such a
processor runs until its queues stop feeding it; :meth:`UpstreamProcessor.close`
(or ``await aclose()``) ends it cleanly.

The original Plumber started its graph when it was built; the Plumber of
the upstream import path (``from pipelines.plumber import Plumber``) does
the same inside a running loop (:class:`UpstreamPlumber`). The Plumber of
``from pipelines import Plumber`` never starts on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from ..errors import short_repr
from ..spec.options import UPSTREAM_CONCURRENCY
from .plumber import Plumber
from .processor import Processor
from .stats import NodeStats, RunResult

__all__ = ["InputProcessor", "UpstreamPlumber", "UpstreamProcessor"]

log = logging.getLogger("pipelines")


class UpstreamProcessor(Processor):
    """A Processor built by hand with the original keywords (see the module doc).

    ``Processor(coro=..., input_srcs=[...], output_dests=[...])`` makes one
    of these: ``name``, ``env_vars``, ``queue_size`` (of the internal input
    and output queues, 0 = unbounded), ``input_queue``/``output_queue`` (use
    these queues instead), and any other keyword argument is passed to
    ``coro`` on every call. Must be built inside a running event loop.
    """

    __slots__ = (
        "_coro",
        "_env_vars",
        "_input_queue",
        "_input_srcs",
        "_kwargs",
        "_name",
        "_output_dests",
        "_output_queue",
        "_stats",
        "_tasks",
    )

    def __init__(
        self,
        name: str | None = None,
        input_queue: asyncio.Queue[Any] | None = None,
        output_queue: asyncio.Queue[Any] | None = None,
        coro: Callable[..., Any] | None = None,
        input_srcs: list[asyncio.Queue[Any]] | None = None,
        output_dests: list[asyncio.Queue[Any]] | None = None,
        *args: Any,
        env_vars: dict[str, Any] | None = None,
        queue_size: int = 0,
        **kwargs: Any,
    ) -> None:
        if coro is None or not callable(coro):
            raise TypeError("Processor(coro=...) needs the coroutine function to run")
        if args:
            raise TypeError("Processor() takes the coroutine's arguments as keywords only")
        loop = asyncio.get_running_loop()  # RuntimeError outside a loop, as in the original
        self._node = None  # type: ignore[assignment]  # not part of a Plumber's run
        self._uuid = str(uuid.uuid4())
        self._name = str(name)
        self._coro = coro
        self._env_vars = env_vars if env_vars is not None else {}
        self._kwargs = kwargs
        self._input_srcs = list(input_srcs) if input_srcs is not None else None
        self._output_dests = list(output_dests) if output_dests is not None else None
        self._input_queue = input_queue if input_queue is not None else asyncio.Queue(queue_size)
        self._output_queue = output_queue if output_queue is not None else asyncio.Queue(queue_size)
        self._stats = NodeStats()
        self._tasks: set[asyncio.Task[None]] = set()
        for job, role in self._jobs():
            task = loop.create_task(job, name=f"pipelines:{self._name}:{role}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _jobs(self) -> list[tuple[Any, str]]:
        jobs = [(self._process(), "processor")]
        if self._input_srcs:
            jobs.insert(0, (self._take_inputs(), "input"))
        if self._output_dests:
            jobs.append((self._deliver_outputs(), "output"))
        return jobs

    async def _take_inputs(self) -> None:
        """One item from each input source, in order, as a tuple into the input queue (a zip)."""
        assert self._input_srcs is not None
        while True:
            values = [await src.get() for src in self._input_srcs]
            await self._input_queue.put(tuple(values))

    async def _process(self) -> None:
        """Call ``coro`` for each tuple, up to UPSTREAM_CONCURRENCY calls at once."""
        async with asyncio.TaskGroup() as calls:
            slots = asyncio.Semaphore(UPSTREAM_CONCURRENCY)
            while True:
                item = await self._input_queue.get()
                await slots.acquire()
                self._stats.received += 1
                calls.create_task(self._call(item, slots))

    async def _call(self, item: Any, slots: asyncio.Semaphore) -> None:
        try:
            result = await self._coro(self, item, **self._kwargs)
        except Exception as exc:
            # The original logged a failed call and went on; so does this.
            self._stats.failed += 1
            log.warning(
                "pipelines: processor %r failed on item %s (%s: %s)",
                self._name,
                short_repr(item),
                type(exc).__name__,
                exc,
            )
        else:
            await self._output_queue.put(result)
            self._stats.emitted += 1
        finally:
            slots.release()

    async def _deliver_outputs(self) -> None:
        """Each result from the output queue to every output destination."""
        assert self._output_dests is not None
        while True:
            result = await self._output_queue.get()
            for dest in self._output_dests:
                await dest.put(result)

    def close(self) -> None:
        """Stop this processor's tasks (calls in flight are cancelled)."""
        for task in list(self._tasks):
            task.cancel()

    async def aclose(self) -> None:
        """Stop this processor's tasks and wait until they have ended."""
        tasks = list(self._tasks)
        self.close()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- the handle's views, for a processor outside any run -----------------------------

    @property
    def name(self) -> str:
        """The name given (``"None"`` without one, as in the original)."""
        return self._name

    @property
    def env_vars(self) -> dict[str, Any]:
        """The ``env_vars`` given (an empty dict without them)."""
        return self._env_vars

    @property
    def stats(self) -> NodeStats:
        """Items received, results emitted and failed calls so far."""
        return self._stats

    @property
    def kind(self) -> str:
        """``source`` for an InputProcessor, else ``transform``."""
        return "transform"

    @property
    def processor_coro(self) -> Any:
        """The coroutine function given."""
        return self._coro

    @property
    def context(self) -> Any:
        """None: a hand-built processor is not part of a run."""
        return None

    @property
    def liason_queues(self) -> tuple[Any, Any]:
        """``(input_srcs, output_dests)``, as given."""
        return (self._input_srcs, self._output_dests)

    @property
    def input_queue(self) -> asyncio.Queue[Any]:
        """The queue the zipped inputs wait in before a call."""
        return self._input_queue

    @property
    def output_queue(self) -> asyncio.Queue[Any]:
        """The queue results wait in before they go to every output destination."""
        return self._output_queue

    @property
    def collected(self) -> list[Any] | None:
        """Nothing is collected outside a Plumber's run."""
        return None

    @property
    def stop_requested(self) -> bool:
        """False: only a Plumber's drain asks sources to stop."""
        return False

    @property
    def depth(self) -> int:
        """Tuples waiting for a call."""
        return self._input_queue.qsize()

    def __repr__(self) -> str:
        return f"<Processor:{self._uuid}, coro:{getattr(self._coro, '__qualname__', self._coro)}>"

    def __str__(self) -> str:
        return f"<Processor:{self._uuid};{self._name}>"


class InputProcessor(UpstreamProcessor):
    """An upstream source built by hand: ``coro(processor, output_queue, **kwargs)`` is called once."""

    __slots__ = ()

    def _jobs(self) -> list[tuple[Any, str]]:
        jobs: list[tuple[Any, str]] = [(self._produce(), "input rig")]
        if self._output_dests:
            jobs.append((self._deliver_outputs(), "output"))
        return jobs

    async def _produce(self) -> None:
        try:
            await self._coro(self, self._output_queue, **self._kwargs)
        except Exception as exc:
            self._stats.failed += 1
            log.warning(
                "pipelines: input processor %r failed (%s: %s)", self._name, type(exc).__name__, exc
            )

    @property
    def kind(self) -> str:
        """``source``."""
        return "source"


#: Runs started by upstream Plumbers: the event loop keeps only weak references
#: to tasks, and the original code drops the Plumber right after building it.
_STARTED: set[asyncio.Task[RunResult]] = set()


class UpstreamPlumber(Plumber):
    """The Plumber of ``from pipelines.plumber import Plumber``: built inside a running loop, it starts.

    That is what the original did (its Processors started in the
    constructor), and what code written for it relies on, such as its demo
    server's ``Plumber(input_d, coro_map=getcoro, env_vars={'sid': sid})``.
    Outside a running loop it is a plain Plumber. ``create_pipeline()``
    returns the run already started; ``await plumber.run()`` or ``wait()``
    waits for it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: True while the run started on construction has not been claimed by run().
        self._unclaimed = False
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        task = self.create_pipeline()
        _STARTED.add(task)
        task.add_done_callback(_STARTED.discard)
        self._unclaimed = True

    def run(self) -> Coroutine[Any, Any, RunResult]:
        """Wait for the run started on construction (once), else run again."""
        if self._unclaimed and self._background is not None:
            self._unclaimed = False
            return self.wait()
        return super().run()
