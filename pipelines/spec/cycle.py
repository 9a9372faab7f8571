"""``cycle:`` in a spec: how many times one run repeats its graph.

```yaml
cycle: once                                   # the default: one run
cycle: forever                                # until stopped
cycle: {times: 3}
cycle: {until: "preds:done", times: 100, pause: 5s}   # until done(result) is true
```

What they mean: docs/schedules.md (Cycles).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import Problem
from .durations import seconds_value
from .resolve import ResolveError, resolve_function
from .sections import int_in, unknown_keys
from .values import shown

__all__ = ["MAX_CYCLES", "ONCE", "CycleSpec", "parse_cycle"]

MAX_CYCLES = 1_000_000
_CYCLE_KEYS = ("times", "until", "pause")


@dataclass(frozen=True, slots=True)
class CycleSpec:
    """A validated ``cycle:``: how many times one run repeats its graph.

    ``times`` bounds the cycles (None: no bound); ``until(result)``, called
    with the last cycle's :class:`~pipelines.runtime.stats.RunResult`, ends
    them when it returns true; ``pause`` is the wait between two cycles.
    ``once`` (the default) is ``times == 1``; ``forever`` has neither bound.
    """

    times: int | None = 1
    until: Callable[[Any], Any] | None = None
    until_name: str | None = None
    pause: float = 0.0

    @property
    def once(self) -> bool:
        """True for a single cycle (a plain run)."""
        return self.times == 1

    @property
    def forever(self) -> bool:
        """True when only a stop ends the cycles."""
        return self.times is None and self.until is None

    def describe(self) -> str:
        """``once``, ``forever``, ``3 times``, ``until mod:fn (at most 10 times)``..."""
        if self.once:
            return "once"
        if self.forever:
            text = "forever"
        elif self.until is not None:
            text = f"until {self.until_name}"
            if self.times is not None:
                text += f" (at most {self.times} times)"
        else:
            text = f"{self.times} times"
        return text + (f", {self.pause:g} s apart" if self.pause else "")


#: One cycle: a plain run.
ONCE = CycleSpec()


def _check_until(fn: Callable[..., Any]) -> str | None:
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None  # a builtin without a signature: trust it
    try:
        signature.bind(None)
    except TypeError:
        return f"{getattr(fn, '__name__', fn)}{signature} cannot be called as until(result)"
    return None


def parse_cycle(
    raw: Any,
    problems: list[Problem],
    coro_map: Callable[[Any], Any] | None = None,
    base_dir: Path | None = None,
) -> CycleSpec:
    """``cycle:`` -> :class:`CycleSpec` (``once`` when absent); problems go to ``problems``."""
    where = "cycle"
    if raw is None or raw == "once":
        return ONCE
    if raw == "forever":
        return CycleSpec(times=None)
    if not isinstance(raw, Mapping):
        problems.append(
            Problem(
                where,
                "must be once, forever, or a mapping with times, until and/or pause, "
                f"got {shown(raw)}",
            )
        )
        return ONCE
    found = unknown_keys(raw, _CYCLE_KEYS, where)
    if not raw:
        found.append(Problem(where, "an empty mapping: give times, until and/or pause"))
    times = raw.get("times")
    if times is not None and not int_in(times, 1, MAX_CYCLES):
        found.append(
            Problem(
                f"{where}.times", f"must be an integer from 1 to {MAX_CYCLES:,}, got {shown(times)}"
            )
        )
    pause = 0.0
    if raw.get("pause") is not None:
        try:
            pause = seconds_value(raw["pause"], minimum=0.0)
        except ValueError as exc:
            found.append(Problem(f"{where}.pause", str(exc)))
    until = None
    until_name = None
    if raw.get("until") is not None:
        value = raw["until"]
        until_name = value if isinstance(value, str) else getattr(value, "__name__", repr(value))
        try:
            until = resolve_function(value, coro_map, base_dir, may_be_async=True)
        except ResolveError as exc:
            found.append(Problem(f"{where}.until", str(exc)))
        else:
            if message := _check_until(until):
                found.append(Problem(f"{where}.until", message))
    problems.extend(found)
    if found:
        return ONCE
    return CycleSpec(times=times, until=until, until_name=until_name, pause=pause)
