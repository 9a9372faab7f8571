"""Helpers for the top-level sections of a spec that take a fixed set of keys
(``schedule:``, ``cycle:``, ``watchdog:``): unknown keys, durations, bounded integers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import Problem
from .durations import seconds_value

__all__ = ["int_in", "seconds_at", "unknown_keys"]


def seconds_at(
    raw: Mapping[Any, Any], key: str, where: str, problems: list[Problem], minimum: float
) -> float | None:
    """``raw[key]`` as seconds (a number or a duration) from ``minimum`` to a year; None when
    absent or wrong (then a problem at ``where.key``)."""
    value = raw.get(key)
    if value is None:
        return None
    try:
        return seconds_value(value, minimum=minimum)
    except ValueError as exc:
        problems.append(Problem(f"{where}.{key}", str(exc)))
        return None


def unknown_keys(raw: Mapping[Any, Any], known: tuple[str, ...], where: str) -> list[Problem]:
    """One problem per key of ``raw`` that is not in ``known``."""
    return [
        Problem(f"{where}.{key}", f"unknown key (known: {', '.join(known)})")
        for key in raw
        if key not in known
    ]


def int_in(value: Any, low: int, high: int) -> bool:
    """True for an integer (not a bool) from ``low`` to ``high``."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
