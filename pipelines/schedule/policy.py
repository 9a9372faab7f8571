"""What a schedule does with its due occurrences: pure decisions, no clock, no I/O.

Given the occurrences that fell due since the schedule's cursor (a
:class:`~pipelines.schedule.timing.Window`), the occurrences waiting in its
queue and the pipeline's live runs, :func:`plan` says for each one: start
it, queue it, skip it (with a reason) or declare it late. The rules
(docs/schedules.md):

1. Queued occurrences first, oldest first: late if ``late_after`` has
   passed since their time, else the oldest starts once no run is live.
2. Disabled (``enabled: false``) or paused (``pipelines schedules pause``):
   every new occurrence is skipped (``disabled``, ``paused``), and so are
   queued ones; nothing is ever caught up for a disabled or paused time.
3. Missed occurrences are those that fell due before the server started
   watching the schedule (it was down). ``catchup: none`` skips them all,
   ``latest`` (the default) keeps only the most recent, ``all`` keeps every
   one (at most ``keep`` of them one by one; older ones are skipped,
   ``catchup_limit``). Skipped ones say ``catchup``.
4. Every occurrence kept, in order: late if ``late_after`` has passed since
   its time; else by ``overlap``: ``skip`` starts it only when no run of the
   pipeline is live (else ``overlap``); ``allow`` starts it while fewer than
   ``max_active`` runs are live (else ``max_active``); ``queue`` starts it
   when nothing is live or waiting, else queues it (at most ``max_queued``
   waiting, else ``queue_full``).

There is no grace period: an occurrence is never dropped for being a little
(or a lot) late; only ``late_after``, when set, bounds how late a run may start.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..spec.schedule import ScheduleSpec
from .timing import Window

__all__ = [
    "BUSY",
    "CATCHUP",
    "CATCHUP_LIMIT",
    "CRASHED",
    "DISABLED",
    "ERROR",
    "LATE",
    "MAX_ACTIVE",
    "OVERLAP",
    "PAUSED",
    "QUEUE",
    "QUEUE_FULL",
    "REASONS",
    "SKIP",
    "START",
    "Decision",
    "Situation",
    "plan",
]

# What happens to an occurrence.
START = "start"
QUEUE = "queue"
SKIP = "skip"
LATE = "late"

# Why an occurrence was skipped.
OVERLAP = "overlap"  #: overlap: skip, and a run of the pipeline was live
MAX_ACTIVE = "max_active"  #: overlap: allow, and max_active runs were live
QUEUE_FULL = "queue_full"  #: overlap: queue, and max_queued occurrences were waiting
CATCHUP = "catchup"  #: missed while no server ran, and the catchup policy drops it
CATCHUP_LIMIT = "catchup_limit"  #: catchup: all, beyond what one tick takes one by one
DISABLED = "disabled"  #: enabled: false
PAUSED = "paused"  #: paused (pipelines schedules pause), until resumed
BUSY = "busy"  #: the server runs as many hosted runs as it may
ERROR = "error"  #: the run could not be started (its record could not be written...)
CRASHED = "crashed"  #: the server that claimed it died before starting it
REASONS = (
    OVERLAP, MAX_ACTIVE, QUEUE_FULL, CATCHUP, CATCHUP_LIMIT, DISABLED, PAUSED, BUSY, ERROR, CRASHED,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with the occurrence at ``due`` (or, for a skip, the range ``due`` ..
    ``last``, ``count`` occurrences, None: too many to count). ``queued``: it was
    waiting in the queue (its row exists already)."""

    due: float
    action: str
    reason: str | None = None
    queued: bool = False
    last: float | None = None
    count: int | None = 1

    @property
    def until(self) -> float:
        """The last occurrence this decision covers."""
        return self.last if self.last is not None else self.due


@dataclass(frozen=True, slots=True)
class Situation:
    """What the decisions depend on besides the schedule itself.

    ``now``: the time of the decision; ``watching_since``: when this server
    started watching the schedule (what fell due before was missed);
    ``active``: live runs of the pipeline; ``queued``: the times of the
    occurrences waiting, oldest first; ``limit``: the most runs the server
    runs at once (``overlap: allow`` without ``max_active``); ``paused``: the
    schedule is paused.
    """

    now: float
    watching_since: float
    active: int = 0
    queued: tuple[float, ...] = ()
    limit: int = 8
    paused: bool = False


def plan(
    spec: ScheduleSpec, late_after: float | None, due: Window, situation: Situation
) -> list[Decision]:
    """The decisions for the queued occurrences, then for the ``due`` ones, in order."""
    now = situation.now
    active = situation.active
    waiting: list[float] = []
    decisions: list[Decision] = []

    def late(moment: float) -> bool:
        return late_after is not None and now - moment > late_after

    # Off: disabled in the spec (which says so first), or paused.
    off = DISABLED if not spec.enabled else PAUSED if situation.paused else None

    # 1. The queue.
    for moment in situation.queued:
        if off:
            decisions.append(Decision(moment, SKIP, off, queued=True))
        elif late(moment):
            decisions.append(Decision(moment, LATE, queued=True))
        elif spec.overlap == "queue" and active == 0:
            decisions.append(Decision(moment, START, queued=True))
            active += 1
        else:
            waiting.append(moment)

    # 2. Beyond what is taken one by one.
    if due.dropped_first is not None:
        reason = off or (CATCHUP_LIMIT if spec.catchup == "all" else CATCHUP)
        decisions.append(
            Decision(due.dropped_first, SKIP, reason, last=due.dropped_last, count=due.dropped)
        )
    if off:
        decisions.extend(Decision(moment, SKIP, off) for moment in due.kept)
        return decisions

    # 3. Missed occurrences: the catch-up policy.
    missed = [moment for moment in due.kept if moment < situation.watching_since]
    kept = list(due.kept)
    if missed:
        dropped = missed if spec.catchup == "none" else missed[:-1]
        if spec.catchup == "all":
            dropped = []
        decisions.extend(Decision(moment, SKIP, CATCHUP) for moment in dropped)
        kept = kept[len(dropped) :]

    # 4. Each occurrence kept, by the overlap policy.
    limit = spec.max_active if spec.max_active is not None else situation.limit
    for moment in kept:
        if late(moment):
            decisions.append(Decision(moment, LATE))
        elif spec.overlap == "skip":
            if active:
                decisions.append(Decision(moment, SKIP, OVERLAP))
            else:
                decisions.append(Decision(moment, START))
                active += 1
        elif spec.overlap == "allow":
            if active >= limit:
                decisions.append(Decision(moment, SKIP, MAX_ACTIVE))
            else:
                decisions.append(Decision(moment, START))
                active += 1
        elif active == 0 and not waiting:
            decisions.append(Decision(moment, START))
            active += 1
        elif len(waiting) < spec.max_queued:
            decisions.append(Decision(moment, QUEUE))
            waiting.append(moment)
        else:
            decisions.append(Decision(moment, SKIP, QUEUE_FULL))
    return decisions
