"""Schedules, cycles and the watchdog (a surface): runs that start themselves and never get stuck.

* :mod:`.timing` and :mod:`.policy`: when occurrences fall and what a
  schedule does with them, as pure functions (tested on exact times);
* :class:`Scheduler`: the scheduler of ``pipelines serve``, which claims
  each occurrence in the run store and starts its run;
* :class:`Watchdog`: runs that run too long, stall or never start are
  ended, conditionally;
* :class:`Cycles`: one run repeating its graph (``cycle:``).

See docs/schedules.md.
"""

from __future__ import annotations

from .cycles import Cycles, UntilFailed
from .policy import Decision, Situation, plan
from .scheduler import Scheduled, Scheduler
from .timing import CronTiming, IntervalTiming, Window, timing_of, window
from .watchdog import Report, Verdict, Watchdog

__all__ = [
    "CronTiming",
    "Cycles",
    "Decision",
    "IntervalTiming",
    "Report",
    "Scheduled",
    "Scheduler",
    "Situation",
    "UntilFailed",
    "Verdict",
    "Watchdog",
    "Window",
    "plan",
    "timing_of",
    "window",
]
