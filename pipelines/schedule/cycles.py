"""Cycles: one run repeats its graph, ``cycle: {times: N}``, ``{until: "mod:fn"}`` or ``forever``.

Each cycle is a full run of the Plumber (fresh nodes and links; recorded as
its own run, linked to the first by the caller's ``before_cycle``). The
next cycle starts only after a cycle that **completed**: a failed or stopped
cycle ends them. ``until(result)`` is called with each completed cycle's
:class:`~pipelines.runtime.stats.RunResult` (sync or async); a true answer
ends the cycles. :meth:`Cycles.stop` (the first Ctrl-C, ``stop()``) lets the
current cycle drain and starts no other; ``stop(drain=False)`` cancels it.
Only the last result is kept, so ``forever`` runs in bounded memory.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..runtime.clock import SYSTEM_CLOCK, Clock
from ..spec.cycle import ONCE, CycleSpec

if TYPE_CHECKING:
    from ..runtime.plumber import Plumber
    from ..runtime.stats import RunResult

__all__ = ["Cycles", "UntilFailed"]


class UntilFailed(RuntimeError):
    """The ``cycle.until`` predicate raised: the cycles end, and this carries why
    (its cause is the predicate's exception)."""


class Cycles:
    """Runs ``plumber`` cycle after cycle, as ``cycle`` says (default: the spec's ``cycle:``).

    ``before_cycle(n)`` is awaited before cycle ``n`` for ``n >= 2`` (the
    caller prepares the first: records it, typically); ``after_cycle(n,
    result, error)`` is called after each cycle. ``index`` is the current
    cycle (from 1), ``completed`` how many completed.
    """

    def __init__(
        self,
        plumber: Plumber,
        cycle: CycleSpec | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
        before_cycle: Callable[[int], Awaitable[None]] | None = None,
        after_cycle: Callable[[int, RunResult | None, BaseException | None], None] | None = None,
    ) -> None:
        self.plumber = plumber
        self.cycle = cycle if cycle is not None else plumber.plan.spec.cycle
        self.clock = clock
        self.before_cycle = before_cycle
        self.after_cycle = after_cycle
        self.index = 0
        self.completed = 0
        self.stopping = False
        self._pause: asyncio.Event | None = None

    @property
    def once(self) -> bool:
        """True when the graph runs a single time."""
        return self.cycle == ONCE or self.cycle.once

    async def run(self) -> RunResult:
        """Run the cycles; return the last one's result.

        Raises what a cycle raised (:class:`~pipelines.PipelineError`...),
        or :class:`UntilFailed`; the cycles end there.
        """
        index = 1
        while True:
            self.index = index
            try:
                result = await self.plumber.run()
            except BaseException as exc:
                if self.after_cycle is not None:
                    self.after_cycle(index, None, exc)
                raise
            if result.status == "completed":
                self.completed += 1
            if self.after_cycle is not None:
                self.after_cycle(index, result, None)
            if not await self._again(index, result):
                return result
            index += 1
            if self.before_cycle is not None:
                await self.before_cycle(index)
            if self.stopping:  # stopped while the next cycle was being prepared
                return result

    async def _again(self, index: int, result: RunResult) -> bool:
        cycle = self.cycle
        if self.stopping or result.status != "completed":
            return False
        if cycle.times is not None and index >= cycle.times:
            return False
        if cycle.until is not None:
            try:
                answer: Any = cycle.until(result)
                if inspect.isawaitable(answer):
                    answer = await answer
            except Exception as exc:
                raise UntilFailed(
                    f"cycle.until {cycle.until_name} raised {type(exc).__name__}: {exc}"
                ) from exc
            if answer:
                return False
        if cycle.pause > 0:
            await self._wait(cycle.pause)
        return not self.stopping

    async def _wait(self, seconds: float) -> None:
        self._pause = asyncio.Event()
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        stopper = asyncio.ensure_future(self._pause.wait())
        try:
            await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, stopper):
                task.cancel()
            await asyncio.gather(sleeper, stopper, return_exceptions=True)
            self._pause = None

    def stop(self, drain: bool = True) -> None:
        """No more cycles; the current one drains (``drain=False``: is cancelled)."""
        self.stopping = True
        if self._pause is not None:
            self._pause.set()
        self.plumber.request_stop(drain=drain)
