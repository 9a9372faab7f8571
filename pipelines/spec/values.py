"""Checks and conversions of option values: ranges, types, and messages that show the value.

Used by the rows of :data:`pipelines.spec.options.OPTIONS`. A check returns
the problem's message, or None for a valid value; it never raises, whatever
the value (``10**400``, ``None``, a list...).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

__all__ = [
    "EXECUTORS",
    "MAX_BACKOFF",
    "MAX_CONCURRENCY",
    "MAX_QUEUE_SIZE",
    "MAX_RETRIES",
    "MAX_SECONDS",
    "check_backoff",
    "check_bool",
    "check_executor",
    "check_on_error",
    "finite",
    "int_between",
    "is_int",
    "note",
    "same",
    "seconds",
    "shown",
    "to_float",
]

#: Upper bounds: beyond them a value is a mistake, not a configuration (a
#: link of 10**30 items, or 10**12 workers, would exhaust memory long before
#: it was reached). Documented in docs/options.md.
MAX_CONCURRENCY = 10_000
MAX_QUEUE_SIZE = 10_000_000
MAX_RETRIES = 1_000
MAX_SECONDS = 365 * 24 * 3600.0
MAX_BACKOFF = 1_000.0

EXECUTORS = ("async", "thread", "process")

#: A check: the problem's message for an invalid value, None for a valid one;
#: a mapping value's check may give ``(sub-path, message)`` pairs instead, one
#: per problem (``nodes.agg.window.slide: ...``, see ``spec/operators.py``).
Check = Callable[[Any], "str | list[tuple[str, str]] | None"]  # a type alias, not exported


def same(value: Any) -> Any:
    return value


def to_float(value: Any) -> Any:
    return None if value is None else float(value)


def is_int(v: Any) -> bool:
    """An ``int`` and not a ``bool``."""
    return isinstance(v, int) and not isinstance(v, bool)


def finite(v: Any) -> float | None:
    """``v`` as a finite float, or None (also for ints too large for a float)."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    try:
        number = float(v)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def int_between(low: int, high: int) -> Check:
    def check(v: Any) -> str | None:
        if not is_int(v) or not low <= v <= high:
            return f"must be an integer from {low} to {high:,}, got {shown(v)}"
        return None

    return check


def seconds(
    *, low: float, strict: bool, nullable: bool, what: str = "a number of seconds"
) -> Check:
    def check(v: Any) -> str | None:
        if v is None and nullable:
            return None
        number = finite(v)
        too_low = number is None or (number <= low if strict else number < low)
        if too_low or number is None or number > MAX_SECONDS:
            bound = f"> {low:g}" if strict else f">= {low:g}"
            null = " or null" if nullable else ""
            return f"must be {what} {bound} and at most {MAX_SECONDS:,.0f}{null}, got {shown(v)}"
        return None

    return check


def check_backoff(v: Any) -> str | None:
    number = finite(v)
    if number is None or not 1 <= number <= MAX_BACKOFF:
        return (
            f"must be a multiplier from 1 to {MAX_BACKOFF:g} (1 = fixed delay, 2 = doubling), "
            f"got {shown(v)}"
        )
    return None


def check_bool(v: Any) -> str | None:
    return None if isinstance(v, bool) else f"must be true or false, got {shown(v)}"


def check_on_error(v: Any) -> str | None:
    if not isinstance(v, str) or not v:
        return f"must be 'raise', 'skip' or the name of a dead-letter node, got {shown(v)}"
    return None


def check_executor(v: Any) -> str | None:
    if v is not None and v not in EXECUTORS:
        return f"must be one of {', '.join(EXECUTORS)}, got {shown(v)}"
    return None


def shown(v: Any) -> str:
    """A value in a message: short, whatever its size (10**400 has 401 digits)."""
    text = (
        repr(v) if not is_int(v) or abs(v) < 10**30 else f"an integer of {len(str(abs(v)))} digits"
    )
    return text if len(text) <= 60 else text[:57] + "..."


def note(label: str) -> Callable[[Any], str]:
    def note(value: Any) -> str:
        return f"{label} {value:g}" if isinstance(value, float) else f"{label} {value}"

    return note
