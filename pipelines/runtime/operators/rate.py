"""``rate``: a token bucket shared by a node's workers, on the node's clock.

``rate: "N/s"`` spaces calls ``1/N`` seconds apart; ``burst: B`` lets up to B
calls through at once after an idle spell (the bucket holds B tokens and
refills one every ``1/N`` seconds). So in any interval of the rate's length
(a second for ``/s``) at most ``N + B - 1`` calls start: exactly N with the
default burst of 1.

It is the "generic cell rate algorithm" form of a token bucket: one number,
the time the next call may start (``tat``), which each caller advances by
one interval when it takes its turn. Callers are served in the order they
ask, and a waiting caller sleeps on the clock (a :class:`VirtualClock` in
tests) until its turn; no task, no lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ...spec.operators import RateOption
    from ..clock import Clock

__all__ = ["TokenBucket"]


class TokenBucket:
    """At most ``calls`` calls per ``per`` seconds, ``burst`` at once (see the module docstring)."""

    __slots__ = ("clock", "interval", "tat", "tolerance")

    def __init__(self, rate: RateOption, clock: Clock) -> None:
        self.clock = clock
        self.interval = rate.interval
        self.tolerance = (rate.burst - 1) * self.interval
        self.tat: float | None = None  # when the bucket is full again (theoretical arrival time)

    def reserve(self) -> float:
        """Take the next turn; return the clock time (``monotonic``) it may start at."""
        now = self.clock.monotonic()
        tat = now if self.tat is None or self.tat < now else self.tat
        self.tat = tat + self.interval
        start = tat - self.tolerance
        return now if start < now else start

    async def acquire(self) -> None:
        """Wait for this caller's turn (cancellable; a cancelled turn is not given back)."""
        start = self.reserve()
        if start > self.clock.monotonic():
            await self.clock.sleep_until(start)
