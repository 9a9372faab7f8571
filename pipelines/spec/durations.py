"""Durations in specs and commands: seconds as a number, or text like ``90s``, ``30m``, ``1d12h``.

Schedules, cycles and watchdog limits take either form (``interval: 60`` or
``interval: 1m``); ``pipelines runs prune --older-than`` and ``pipelines
watchdog`` read the text form.
"""

from __future__ import annotations

import math
import re
from typing import Any

from .values import MAX_SECONDS, shown

__all__ = ["parse_duration", "seconds_value"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


def parse_duration(text: str) -> float:
    """Seconds in ``90s``, ``30m``, ``12h``, ``7d``, ``2w`` or combinations (``1d12h``).

    Raises ValueError with the accepted forms for anything else.
    """
    cleaned = text.strip().lower()
    pos, total = 0, 0.0
    for match in _DURATION.finditer(cleaned):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not cleaned or pos != len(cleaned):
        raise ValueError(
            f"{text!r} is not a duration: use a number with a unit s, m, h, d or w "
            "(90s, 30m, 12h, 7d, 1d12h)"
        )
    return total


def seconds_value(value: Any, *, minimum: float, allow_zero: bool = False) -> float:
    """``value`` (a number of seconds, or a duration text) as seconds within bounds.

    Raises ValueError saying what is accepted: ``minimum`` (or 0 with
    ``allow_zero``) to one year.
    """
    number: float | None = None
    if isinstance(value, str):
        try:
            number = parse_duration(value)
        except ValueError:
            number = None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:
            number = None
    ok = (
        number is not None
        and math.isfinite(number)
        and (number >= minimum or (allow_zero and number == 0))
        and number <= MAX_SECONDS
    )
    if not ok or number is None:
        low = f"0 or from {minimum:g}" if allow_zero else f"from {minimum:g}"
        raise ValueError(
            f"must be a number of seconds {low} to {MAX_SECONDS:,.0f}, or a duration like "
            f"30s, 5m, 1h30m, got {shown(value)}"
        )
    return number
