"""Plain data for the store: JSON values, bounded text, hashes and ISO 8601 times."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from typing import Any

__all__ = [
    "MAX_TEXT",
    "bounded",
    "canonical",
    "iso",
    "plain",
    "spec_hash",
]

#: Longest error message, item repr or last error kept in the store (characters).
MAX_TEXT = 2000


def plain(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON data; what JSON cannot hold (functions, sets, objects) becomes its repr."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if depth > 50:  # a self-referencing structure
        return "..."
    if isinstance(value, list | tuple):
        return [plain(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {
            (k if isinstance(k, str) else repr(k)): plain(v, depth + 1) for k, v in value.items()
        }
    return bounded(repr(value), 200)


def canonical(value: Any) -> str:
    """Compact JSON with sorted keys: the same data always gives the same text."""
    return json.dumps(plain(value), sort_keys=True, separators=(",", ":"), allow_nan=False)


def spec_hash(value: Any) -> str:
    """The SHA-256 (hex) of a spec's canonical JSON."""
    return hashlib.sha256(canonical(value).encode()).hexdigest()


def bounded(text: str | None, limit: int = MAX_TEXT) -> str | None:
    """``text`` cut to ``limit`` characters (ending with ``...`` when cut)."""
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 3] + "..."


def iso(seconds: float | None) -> str | None:
    """Epoch seconds as ISO 8601 in UTC (``2024-05-01T12:00:00.123Z``), None stays None."""
    if seconds is None:
        return None
    moment = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
