"""Checks and conversions of the stream operator options (``batch``, ``window``, ...).

Each check returns every problem of a value as ``(sub-path, message)`` pairs,
so that a spec reports ``nodes.agg.window.slide: ...``; each conversion
turns a valid value into its typed option (:mod:`pipelines.spec.operators`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .operators import (
    DEFAULT_JOIN_PENDING,
    DEFAULT_WINDOW_PENDING,
    MAX_BATCH,
    MAX_BURST,
    MAX_OVERLAP,
    MAX_PENDING,
    MAX_RATE,
    MAX_WINDOW_COUNT,
    OVERFLOW_POLICIES,
    RATE_UNITS,
    BatchOption,
    Issues,
    JoinOption,
    RateOption,
    ReduceOption,
    WindowOption,
)
from .values import finite, int_between, is_int, seconds, shown

__all__ = [
    "check_batch",
    "check_function",
    "check_join",
    "check_overflow",
    "check_rate",
    "check_reduce",
    "check_window",
    "convert_batch",
    "convert_join",
    "convert_rate",
    "convert_reduce",
    "convert_window",
]


def _int_in(v: Any, low: int, high: int) -> str | None:
    return int_between(low, high)(v)  # type: ignore[return-value]


def _seconds(v: Any, *, zero: bool = False, null: bool = False) -> str | None:
    return seconds(low=0, strict=not zero, nullable=null)(v)  # type: ignore[return-value]


def check_function(v: Any) -> str | None:
    """A function reference: an import string ``"module:function"`` (or a name a coro_map knows) or a callable."""
    if callable(v) or (isinstance(v, str) and v.strip()):
        return None
    return f"must be an import string 'module:function' or a callable, got {shown(v)}"


def _mapping(v: Any, known: tuple[str, ...], what: str) -> Issues | Mapping[str, Any]:
    if not isinstance(v, Mapping):
        return [("", f"must be a mapping ({what}), got {shown(v)}")]
    issues: Issues = [
        (str(key), f"unknown key (known: {', '.join(known)})") for key in v if key not in known
    ]
    return issues or v


def _add(issues: Issues, sub: str, message: str | None) -> None:
    if message:
        issues.append((sub, message))


# -- batch ---------------------------------------------------------------------------------

_BATCH_KEYS = ("size", "timeout")


def check_batch(v: Any) -> Issues | None:
    """``{size: N, timeout: SECONDS}``; size is required."""
    if v is None:
        return None
    got = _mapping(v, _BATCH_KEYS, "size and optionally timeout")
    if isinstance(got, list):
        return got
    issues: Issues = []
    if "size" not in got:
        issues.append(("size", "missing: a batch needs a size (items per call)"))
    else:
        _add(issues, "size", _int_in(got["size"], 1, MAX_BATCH))
    _add(issues, "timeout", _seconds(got.get("timeout"), null=True))
    return issues or None


def convert_batch(v: Any) -> BatchOption | None:
    """The checked mapping as a :class:`BatchOption`."""
    if v is None:
        return None
    timeout = v.get("timeout")
    return BatchOption(int(v["size"]), None if timeout is None else float(timeout))


# -- window --------------------------------------------------------------------------------

_WINDOW_KEYS = ("count", "seconds", "gap", "slide", "time", "lateness", "max_pending")


def check_window(v: Any) -> Issues | None:
    """Exactly one of count, seconds, gap; slide, time, lateness where they apply."""
    if v is None:
        return None
    got = _mapping(v, _WINDOW_KEYS, "count, seconds or gap, and options")
    if isinstance(got, list):
        return got
    issues: Issues = []
    kinds = [k for k in ("count", "seconds", "gap") if k in got]
    if len(kinds) != 1:
        issues.append(
            (
                "",
                "needs exactly one of count (items), seconds (time) or gap (sessions), got "
                + (", ".join(kinds) if kinds else "none"),
            )
        )
    if "count" in got:
        _add(issues, "count", _int_in(got["count"], 1, MAX_WINDOW_COUNT))
    for key in ("seconds", "gap"):
        if key in got:
            _add(issues, key, _seconds(got[key]))
    if "slide" in got:
        slide = got["slide"]
        if "gap" in got:
            issues.append(("slide", "session windows (gap) do not slide"))
        elif "count" in got and is_int(got["count"]):
            count = got["count"]
            if not is_int(slide) or not 1 <= slide <= count:
                issues.append(
                    ("slide", f"must be an integer from 1 to count ({count}), got {shown(slide)}")
                )
            elif count / slide > MAX_OVERLAP:
                issues.append(("slide", _overlap(count / slide)))
        elif "seconds" in got and finite(got["seconds"]) is not None:
            message = _seconds(slide)
            if message is None and float(slide) > float(got["seconds"]):
                message = (
                    f"must be at most seconds ({got['seconds']}): every item falls in a window"
                )
            elif message is None and float(got["seconds"]) / float(slide) > MAX_OVERLAP:
                message = _overlap(float(got["seconds"]) / float(slide))
            _add(issues, "slide", message)
    if "time" in got:
        if "count" in got:
            issues.append(
                ("time", "count windows do not use time; time applies to seconds or gap windows")
            )
        else:
            _add(issues, "time", check_function(got["time"]))
    if "lateness" in got:
        if "time" not in got:
            issues.append(
                ("lateness", "lateness needs time (a function giving each item's event time)")
            )
        else:
            _add(issues, "lateness", _seconds(got["lateness"], zero=True))
    if "max_pending" in got:
        _add(issues, "max_pending", _int_in(got["max_pending"], 1, MAX_PENDING))
    return issues or None


def _overlap(ratio: float) -> str:
    return (
        f"puts each item in {ratio:,.0f} windows; at most {MAX_OVERLAP:,} "
        "(make slide larger, or the window shorter)"
    )


def convert_window(v: Any) -> WindowOption | None:
    """The checked mapping as a :class:`WindowOption`."""
    if v is None:
        return None

    def num(key: str) -> float | None:
        return None if v.get(key) is None else float(v[key])

    slide = v.get("slide")
    return WindowOption(
        count=v.get("count"),
        seconds=num("seconds"),
        gap=num("gap"),
        slide=None if slide is None else (slide if "count" in v else float(slide)),
        time=v.get("time"),
        lateness=float(v.get("lateness", 0.0)),
        max_pending=v.get("max_pending", DEFAULT_WINDOW_PENDING),
    )


# -- reduce --------------------------------------------------------------------------------

_REDUCE_KEYS = ("fn", "initial")


def check_reduce(v: Any) -> Issues | None:
    """``{fn: "mod:fn", initial: VALUE}``; fn is required."""
    if v is None:
        return None
    got = _mapping(v, _REDUCE_KEYS, "fn and optionally initial")
    if isinstance(got, list):
        return got
    if "fn" not in got:
        return [("fn", "missing: reduce needs fn, called as fn(accumulator, item)")]
    message = check_function(got["fn"])
    return [("fn", message)] if message else None


def convert_reduce(v: Any) -> ReduceOption | None:
    """The checked mapping as a :class:`ReduceOption`."""
    if v is None:
        return None
    return ReduceOption(v["fn"], v.get("initial"), "initial" in v)


# -- join ----------------------------------------------------------------------------------

_JOIN_KEYS = ("key", "within", "max_pending")


def check_join(v: Any) -> Issues | None:
    """``{key: "mod:fn", within: SECONDS, max_pending: N}``; key is required."""
    if v is None:
        return None
    got = _mapping(v, _JOIN_KEYS, "key and optionally within, max_pending")
    if isinstance(got, list):
        return got
    issues: Issues = []
    if "key" not in got:
        issues.append(("key", "missing: a join needs key, a function of an item of either input"))
    else:
        _add(issues, "key", check_function(got["key"]))
    _add(issues, "within", _seconds(got.get("within"), null=True))
    if "max_pending" in got:
        _add(issues, "max_pending", _int_in(got["max_pending"], 1, MAX_PENDING))
    return issues or None


def convert_join(v: Any) -> JoinOption | None:
    """The checked mapping as a :class:`JoinOption`."""
    if v is None:
        return None
    within = v.get("within")
    return JoinOption(
        v["key"],
        None if within is None else float(within),
        v.get("max_pending", DEFAULT_JOIN_PENDING),
    )


# -- overflow and rate ---------------------------------------------------------------------


def check_overflow(v: Any) -> str | None:
    """One of :data:`OVERFLOW_POLICIES`."""
    if v not in OVERFLOW_POLICIES:
        return f"must be one of {', '.join(OVERFLOW_POLICIES)}, got {shown(v)}"
    return None


_RATE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*/\s*([a-z]+)\s*$")
_RATE_KEYS = ("limit", "burst")


def _parse_rate(text: Any) -> tuple[float, float] | str:
    if not isinstance(text, str):
        return f"must be a rate like '100/s', '30/min' or '5/h', got {shown(text)}"
    match = _RATE.match(text)
    if not match or match.group(2) not in RATE_UNITS:
        return f"must be a rate like '100/s', '30/min' or '5/h', got {shown(text)}"
    calls = float(match.group(1))
    if not 0 < calls <= MAX_RATE:
        return f"the number of calls must be > 0 and at most {MAX_RATE:,.0f}, got {shown(text)}"
    return calls, RATE_UNITS[match.group(2)]


def check_rate(v: Any) -> Issues | None:
    """``"N/s"`` (also ``/min``, ``/h``) or ``{limit: "N/s", burst: B}``."""
    if v is None:
        return None
    if isinstance(v, Mapping):
        got = _mapping(v, _RATE_KEYS, "limit and optionally burst")
        if isinstance(got, list):
            return got
        issues: Issues = []
        if "limit" not in got:
            issues.append(("limit", "missing: a rate like '100/s'"))
        else:
            parsed = _parse_rate(got["limit"])
            if isinstance(parsed, str):
                issues.append(("limit", parsed))
        if "burst" in got:
            _add(issues, "burst", _int_in(got["burst"], 1, MAX_BURST))
        return issues or None
    parsed = _parse_rate(v)
    return [("", parsed)] if isinstance(parsed, str) else None


def convert_rate(v: Any) -> RateOption | None:
    """The checked value as a :class:`RateOption`."""
    if v is None:
        return None
    text, burst = (v["limit"], v.get("burst", 1)) if isinstance(v, Mapping) else (v, 1)
    parsed = _parse_rate(text)
    assert not isinstance(parsed, str), "checked before"
    calls, per = parsed
    return RateOption(calls, per, burst, text.strip())
