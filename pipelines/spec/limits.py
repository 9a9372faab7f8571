"""``watchdog:`` in a spec: the limits a watchdog enforces on a pipeline's runs.

```yaml
watchdog:
  run_timeout: 2h        # a run longer than this is stopped: timed_out
  stall_timeout: 10m     # no item moved for this long: stalled
  late_after: 4h         # a scheduled run not started this long after its time: late
```

Seconds or durations, from 1 s to a year. What they mean: docs/schedules.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import Problem
from .sections import seconds_at, unknown_keys

__all__ = ["MIN_STALL", "NO_LIMITS", "WatchdogSpec", "parse_watchdog"]

#: Shortest stall timeout: the store sees item moves about once a second.
MIN_STALL = 1.0
_MIN_LIMIT = 1.0
_WATCHDOG_KEYS = ("run_timeout", "stall_timeout", "late_after")


@dataclass(frozen=True, slots=True)
class WatchdogSpec:
    """A validated ``watchdog:``: limits a watchdog enforces (None: no limit)."""

    run_timeout: float | None = None
    stall_timeout: float | None = None
    late_after: float | None = None

    def or_else(self, defaults: WatchdogSpec) -> WatchdogSpec:
        """These limits, each missing one taken from ``defaults``."""
        return WatchdogSpec(
            self.run_timeout if self.run_timeout is not None else defaults.run_timeout,
            self.stall_timeout if self.stall_timeout is not None else defaults.stall_timeout,
            self.late_after if self.late_after is not None else defaults.late_after,
        )

    def as_dict(self) -> dict[str, float]:
        """The limits that are set."""
        return {
            name: value for name in _WATCHDOG_KEYS if (value := getattr(self, name)) is not None
        }


#: No watchdog limits.
NO_LIMITS = WatchdogSpec()


def parse_watchdog(
    raw: Any, problems: list[Problem], scheduled: bool | None = None
) -> WatchdogSpec:
    """``watchdog:`` -> :class:`WatchdogSpec`; problems go to ``problems``.

    ``scheduled`` False makes ``late_after`` a problem (only scheduled runs
    can be late); None does not check it (a stored spec read by a watchdog).
    """
    if raw is None:
        return NO_LIMITS
    where = "watchdog"
    if not isinstance(raw, Mapping):
        problems.append(
            Problem(where, f"must be a mapping of {', '.join(_WATCHDOG_KEYS)} (seconds)")
        )
        return NO_LIMITS
    found = unknown_keys(raw, _WATCHDOG_KEYS, where)
    limits = WatchdogSpec(
        run_timeout=seconds_at(raw, "run_timeout", where, found, _MIN_LIMIT),
        stall_timeout=seconds_at(raw, "stall_timeout", where, found, MIN_STALL),
        late_after=seconds_at(raw, "late_after", where, found, _MIN_LIMIT),
    )
    if scheduled is False and raw.get("late_after") is not None:
        found.append(
            Problem(
                f"{where}.late_after",
                "only scheduled runs can be late, and this spec has no schedule",
            )
        )
    problems.extend(found)
    return NO_LIMITS if found else limits
