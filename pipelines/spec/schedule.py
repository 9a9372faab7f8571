"""Schedules, cycles and watchdog limits in a spec, validated with key paths.

```yaml
schedule:                      # when `pipelines serve` starts runs by itself
  interval: 60                 # seconds (or "1m"); or, instead:
  cron: "30 1,13,17 * * *"     # five fields (or @hourly, @daily...), wall-clock time in
  timezone: Europe/Madrid      # an IANA time zone (default UTC)
  overlap: skip                # skip | queue | allow: when the previous run still runs
  max_active: 3                # allow only: runs at once (default: the server's limit)
  max_queued: 10               # queue only: occurrences waiting (default 10)
  catchup: latest              # none | latest | all: occurrences missed while no server ran
  parameters: {load.db_path: /tmp/etl.db}    # NODE.ARG values, as `--set` gives them
  enabled: true
cycle: once                    # once | forever | {times: N, until: "mod:fn", pause: SECONDS}
watchdog:
  run_timeout: 2h              # a run longer than this is stopped: timed_out
  stall_timeout: 10m           # no item moved for this long: stalled
  late_after: 4h               # a scheduled run not started this long after its time: late
```

Each problem is reported with its key path (``schedule.cron: ...``), with
every other problem of the spec. ``cycle:`` is read by :mod:`.cycle`,
``watchdog:`` by :mod:`.limits`. What the values mean: docs/schedules.md.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import Problem
from .sections import int_in, seconds_at, unknown_keys
from .values import shown

__all__ = [
    "CATCHUPS",
    "CRON_ALIASES",
    "DEFAULT_MAX_QUEUED",
    "MAX_PARALLEL",
    "MAX_QUEUED",
    "MIN_INTERVAL",
    "OVERLAPS",
    "ScheduleSpec",
    "parse_schedule",
]

OVERLAPS = ("skip", "queue", "allow")
CATCHUPS = ("none", "latest", "all")
#: The ``@`` names a cron expression may be instead of five fields.
CRON_ALIASES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
#: Shortest interval between two occurrences (seconds).
MIN_INTERVAL = 1.0
DEFAULT_MAX_QUEUED = 10
MAX_QUEUED = 1000
MAX_PARALLEL = 1000

_SCHEDULE_KEYS = (
    "interval",
    "cron",
    "timezone",
    "overlap",
    "max_active",
    "max_queued",
    "catchup",
    "parameters",
    "enabled",
)


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    """A validated ``schedule:``: when runs start, and what happens when they cannot."""

    interval: float | None = None
    cron: str | None = None
    timezone: str = "UTC"
    overlap: str = "skip"
    #: ``overlap: allow``: runs of this schedule's pipeline at once (None: the server's limit).
    max_active: int | None = None
    #: ``overlap: queue``: occurrences that may wait for the previous run.
    max_queued: int = DEFAULT_MAX_QUEUED
    catchup: str = "latest"
    parameters: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True

    def describe(self) -> str:
        """``every 60 s`` or ``cron 30 1 * * * (Europe/Madrid)``."""
        if self.interval is not None:
            return f"every {self.interval:g} s"
        return f"cron {self.cron} ({self.timezone})"

    def as_dict(self) -> dict[str, Any]:
        """Plain data (what the store keeps of a schedule)."""
        data: dict[str, Any] = {
            "overlap": self.overlap,
            "catchup": self.catchup,
            "enabled": self.enabled,
            "parameters": dict(self.parameters),
        }
        if self.interval is not None:
            data["interval"] = self.interval
        else:
            data["cron"] = self.cron
            data["timezone"] = self.timezone
        if self.overlap == "allow":
            data["max_active"] = self.max_active
        if self.overlap == "queue":
            data["max_queued"] = self.max_queued
        return data


def _check_cron(expr: Any) -> str | None:
    if not isinstance(expr, str) or not expr.strip():
        return f"must be a cron expression such as '30 1,13,17 * * *', got {shown(expr)}"
    text = expr.strip()
    if text.startswith("@"):
        if text.lower() not in CRON_ALIASES:
            return f"{text!r} is not a cron alias (known: {', '.join(CRON_ALIASES)})"
    elif len(text.split()) != 5:
        return (
            f"{text!r} is not a cron expression: give 5 fields "
            "(minute hour day-of-month month day-of-week), e.g. '30 1,13,17 * * *'"
        )
    # Imported here: croniter (and dateutil) cost memory and import time that
    # `import pipelines` must not pay when no spec has a cron schedule.
    from croniter import CroniterBadDateError, croniter

    try:
        croniter(text, dt.datetime(2000, 1, 1)).get_next(dt.datetime)
    except CroniterBadDateError:
        return f"{text!r} never occurs"
    except (ValueError, KeyError, TypeError) as exc:  # croniter's errors are ValueErrors
        return f"{text!r} is not a cron expression: {exc}"
    return None


def _check_timezone(name: Any) -> str | None:
    if not isinstance(name, str) or not name:
        return f"must be a time zone name such as 'Europe/Madrid', got {shown(name)}"
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {name!r} (an IANA name such as 'Europe/Madrid' or 'UTC')"
    return None


def _parameters(
    raw: Any, nodes: Collection[str], resources: Collection[str], problems: list[Problem]
) -> dict[str, Any]:
    where = "schedule.parameters"
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        problems.append(Problem(where, "must be a mapping of NODE.ARG -> value (as --set)"))
        return {}
    found: dict[str, Any] = {}
    for key, value in raw.items():
        path = f"{where}.{key}"
        target, dot, arg = str(key).rpartition(".") if isinstance(key, str) else ("", "", "")
        if not dot or not target or not arg:
            problems.append(Problem(path, "expected NODE.ARG (or resources.NAME.ARG)"))
            continue
        if target.startswith("resources."):
            name = target.removeprefix("resources.")
            if name not in resources:
                known = ", ".join(sorted(resources)) or "none"
                problems.append(Problem(path, f"no resource named {name!r} (resources: {known})"))
                continue
        elif target not in nodes:
            known = ", ".join(sorted(nodes)) or "none"
            problems.append(Problem(path, f"no node named {target!r} (nodes: {known})"))
            continue
        found[key] = value
    return found


def parse_schedule(
    raw: Any,
    problems: list[Problem],
    nodes: Collection[str] = (),
    resources: Collection[str] = (),
) -> ScheduleSpec | None:
    """``schedule:`` -> :class:`ScheduleSpec` (None when absent); problems go to ``problems``.

    ``nodes`` and ``resources`` are the names ``parameters`` may set.
    """
    if raw is None:
        return None
    where = "schedule"
    if not isinstance(raw, Mapping):
        problems.append(
            Problem(where, "must be a mapping with interval or cron, e.g. {interval: 60}")
        )
        return None
    found: list[Problem] = unknown_keys(raw, _SCHEDULE_KEYS, where)
    interval = cron = None
    if ("interval" in raw) == ("cron" in raw):
        found.append(Problem(where, "give exactly one of interval (seconds) or cron"))
    elif "interval" in raw:
        interval = seconds_at(raw, "interval", where, found, MIN_INTERVAL)
        if raw.get("interval") is None:
            found.append(Problem(f"{where}.interval", "must be a number of seconds, got None"))
        if "timezone" in raw:
            found.append(Problem(f"{where}.timezone", "applies to cron only (an interval is UTC)"))
    else:
        message = _check_cron(raw["cron"])
        if message:
            found.append(Problem(f"{where}.cron", message))
        else:
            cron = str(raw["cron"]).strip()
    timezone = raw.get("timezone", "UTC")
    if "timezone" in raw and (message := _check_timezone(timezone)):
        found.append(Problem(f"{where}.timezone", message))
    overlap = raw.get("overlap", "skip")
    if overlap not in OVERLAPS:
        found.append(
            Problem(
                f"{where}.overlap", f"must be one of {', '.join(OVERLAPS)}, got {shown(overlap)}"
            )
        )
    catchup = raw.get("catchup", "latest")
    if catchup is False:  # YAML reads `catchup: no`/`off` as false
        catchup = "none"
    if catchup not in CATCHUPS:
        found.append(
            Problem(
                f"{where}.catchup", f"must be one of {', '.join(CATCHUPS)}, got {shown(catchup)}"
            )
        )
    max_active = raw.get("max_active")
    if max_active is not None:
        if overlap != "allow":
            found.append(Problem(f"{where}.max_active", "applies to overlap: allow only"))
        elif not int_in(max_active, 1, MAX_PARALLEL):
            found.append(
                Problem(
                    f"{where}.max_active",
                    f"must be an integer from 1 to {MAX_PARALLEL:,}, got {shown(max_active)}",
                )
            )
    max_queued = raw.get("max_queued", DEFAULT_MAX_QUEUED)
    if "max_queued" in raw:
        if overlap != "queue":
            found.append(Problem(f"{where}.max_queued", "applies to overlap: queue only"))
        elif not int_in(max_queued, 1, MAX_QUEUED):
            found.append(
                Problem(
                    f"{where}.max_queued",
                    f"must be an integer from 1 to {MAX_QUEUED:,}, got {shown(max_queued)}",
                )
            )
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        found.append(Problem(f"{where}.enabled", f"must be true or false, got {shown(enabled)}"))
    parameters = _parameters(raw.get("parameters"), nodes, resources, found)
    problems.extend(found)
    if found:
        return None
    return ScheduleSpec(
        interval=interval,
        cron=cron,
        timezone=str(timezone),
        overlap=str(overlap),
        max_active=max_active,
        max_queued=int(max_queued),
        catchup=str(catchup),
        parameters=parameters,
        enabled=enabled,
    )
