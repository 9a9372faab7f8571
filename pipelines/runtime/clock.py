"""Time as the runtime sees it: an injectable :class:`Clock`.

Everything time-dependent (batch timeouts, windows, rates, heartbeats,
schedules, watchdogs) asks a clock instead of calling :mod:`time` or
:func:`asyncio.sleep` directly, so tests run it on a
:class:`~pipelines.testing.VirtualClock` and assert exact schedules instead
of sleeping. :data:`SYSTEM_CLOCK` is the real one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

__all__ = ["SYSTEM_CLOCK", "Clock", "SystemClock", "Timer", "sleep_or_event"]


@runtime_checkable
class Timer(Protocol):
    """A callback scheduled by :meth:`Clock.call_at`; ``cancel()`` stops it (idempotent)."""

    def cancel(self) -> None:
        """Do not run the callback (no effect once it ran)."""
        ...


@runtime_checkable
class Clock(Protocol):
    """A source of time and of waiting.

    ``monotonic()`` measures durations and deadlines (seconds, arbitrary
    origin); ``time()`` is the wall clock (seconds since the epoch, UTC) for
    timestamps and calendar schedules. ``sleep(s)`` waits ``s`` seconds of
    this clock; ``sleep_until(t)`` until ``monotonic()`` reaches ``t``. Both
    are cancellable like :func:`asyncio.sleep`. ``call_at(t, callback)``
    runs ``callback()`` on the event loop once ``monotonic()`` reaches ``t``
    and returns a :class:`Timer` to cancel it: the engine races a wait for
    items against a deadline with it (a batch timeout, a window's end)
    without a task per wait.
    """

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        ...

    def time(self) -> float:
        """Seconds since the epoch (UTC)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (0 or less: yield once)."""
        ...

    async def sleep_until(self, deadline: float) -> None:
        """Wait until ``monotonic()`` reaches ``deadline``."""
        ...

    def call_at(self, deadline: float, callback: Callable[[], object]) -> Timer:
        """Run ``callback()`` (on the running event loop) once ``monotonic()`` reaches ``deadline``."""
        ...


class SystemClock:
    """The real clock: :func:`time.monotonic`, :func:`time.time`, :func:`asyncio.sleep`.

    ``call_at`` uses the running loop's timers (``loop.call_at``), whose time
    is :func:`time.monotonic` in the standard event loops; the deadline is
    converted through the difference of the two, so any loop works.
    """

    __slots__ = ()

    def monotonic(self) -> float:
        """:func:`time.monotonic`."""
        return time.monotonic()

    def time(self) -> float:
        """:func:`time.time`."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        """:func:`asyncio.sleep`."""
        await asyncio.sleep(max(0.0, seconds))

    async def sleep_until(self, deadline: float) -> None:
        """Sleep until ``time.monotonic()`` reaches ``deadline``."""
        await asyncio.sleep(max(0.0, deadline - time.monotonic()))

    def call_at(self, deadline: float, callback: Callable[[], object]) -> Timer:
        """``loop.call_at`` at ``deadline`` (a :func:`time.monotonic` value)."""
        loop = asyncio.get_running_loop()
        return loop.call_at(loop.time() + (deadline - time.monotonic()), callback)

    def __repr__(self) -> str:
        return "SystemClock()"


#: The clock every part of pipelines uses unless given another.
SYSTEM_CLOCK: Clock = SystemClock()


async def sleep_or_event(clock: Clock, seconds: float, event: asyncio.Event) -> None:
    """Wait ``seconds`` of ``clock``, or until ``event`` is set, whichever comes first.

    Then clear ``event``. (For loops that work every few seconds and can be
    woken early: a store's writer, a scheduler.)
    """
    sleeper = asyncio.ensure_future(clock.sleep(seconds))
    waker = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sleeper, waker):
            task.cancel()
        await asyncio.gather(sleeper, waker, return_exceptions=True)
    event.clear()
