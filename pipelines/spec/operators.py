"""The stream operator options: typed values, checks with key paths, diagram notes.

``batch``, ``window``, ``reduce``, ``join`` and ``rate`` are mappings (or, for
``rate``, a string); each check returns every problem of the value as
``(sub-path, message)`` pairs, so a spec reports ``nodes.agg.window.slide:
...`` rather than one message for the whole mapping. ``key``, ``window.time``,
``reduce.fn`` and ``join.key`` name functions: they are kept here as given
(an import string or a callable) and resolved by the parser like ``coro``
(:func:`function_refs` lists them).

Semantics: docs/operators.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_JOIN_PENDING",
    "DEFAULT_WINDOW_PENDING",
    "MAX_BATCH",
    "MAX_BURST",
    "MAX_OVERLAP",
    "MAX_PENDING",
    "MAX_RATE",
    "MAX_WINDOW_COUNT",
    "OVERFLOW_POLICIES",
    "RATE_UNITS",
    "BatchOption",
    "JoinOption",
    "RateOption",
    "ReduceOption",
    "WindowOption",
    "as_is",
    "function_label",
    "function_refs",
    "key_value",
]

#: Bounds (a larger value is a mistake, not a configuration; docs/options.md).
MAX_BATCH = 1_000_000
MAX_WINDOW_COUNT = 1_000_000
MAX_PENDING = 10_000_000
MAX_RATE = 1_000_000_000.0
MAX_BURST = 1_000_000
#: Windows one item may fall in (``count / slide`` or ``seconds / slide``) at most.
MAX_OVERLAP = 1_000

#: Items (or accumulators) a window node holds at most, unless ``max_pending`` says otherwise.
DEFAULT_WINDOW_PENDING = 1_000_000
#: Unmatched items a join holds at most, unless ``join.max_pending`` says otherwise.
DEFAULT_JOIN_PENDING = 100_000

OVERFLOW_POLICIES = ("block", "drop_oldest", "drop_newest")

#: Units of a ``rate`` and their length in seconds.
RATE_UNITS = {
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "min": 60.0,
    "minute": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
}

#: Problems of one option value: (path below the option, message); "" is the option itself.
Issues = list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class BatchOption:
    """``batch``: lists of up to ``size`` items; a shorter one ``timeout`` seconds after its first item."""

    size: int
    timeout: float | None = None


@dataclass(frozen=True, slots=True)
class WindowOption:
    """``window``: by ``count`` items, by ``seconds``, or sessions closed by a ``gap``.

    ``slide`` makes count and time windows overlap; ``time`` (a function of
    the item) switches time and session windows to event time, where items
    more than ``lateness`` seconds behind the latest time seen are dropped;
    ``max_pending`` bounds what the node holds.
    """

    count: int | None = None
    seconds: float | None = None
    gap: float | None = None
    slide: float | None = None
    time: Any = None
    lateness: float = 0.0
    max_pending: int = DEFAULT_WINDOW_PENDING


@dataclass(frozen=True, slots=True)
class ReduceOption:
    """``reduce``: ``fn(accumulator, item)`` per key, starting from ``initial`` (or the key's first item)."""

    fn: Any
    initial: Any = None
    has_initial: bool = False


@dataclass(frozen=True, slots=True)
class JoinOption:
    """``join``: pairs of the two inputs whose ``key`` matches, arriving less than ``within`` apart."""

    key: Any
    within: float | None = None
    max_pending: int = DEFAULT_JOIN_PENDING


@dataclass(frozen=True, slots=True)
class RateOption:
    """``rate``: at most ``calls`` calls per ``per`` seconds, ``burst`` of them at once."""

    calls: float
    per: float
    burst: int = 1
    text: str = ""

    @property
    def interval(self) -> float:
        """Seconds between two calls at the steady rate."""
        return self.per / self.calls


# -- small checks ------------------------------------------------------------------------


# -- functions named by options -------------------------------------------------------------


def function_refs(options: Any) -> list[tuple[str, Any, bool]]:
    """The functions a node's options name: ``(option path, value, may_be_async)``.

    ``key``, ``window.time`` and ``join.key`` are called on the event loop
    for every item, so they must be plain functions; ``reduce.fn`` may be
    ``async def`` (it is awaited, in arrival order).
    """
    refs: list[tuple[str, Any, bool]] = []
    if options.key is not None:
        refs.append(("key", options.key, False))
    if options.window is not None and options.window.time is not None:
        refs.append(("window.time", options.window.time, False))
    if options.reduce is not None:
        refs.append(("reduce.fn", options.reduce.fn, True))
    if options.join is not None:
        refs.append(("join.key", options.join.key, False))
    return refs


def function_label(value: Any) -> str:
    """A function reference as a diagram shows it: the import string, or the callable's name."""
    if isinstance(value, str):
        return value
    return str(getattr(value, "__qualname__", None) or getattr(value, "__name__", None) or value)


# -- the functions of nodes that leave out ``coro`` ----------------------------------------


async def as_is(unit: Any) -> Any:
    """The function of a reduce or join node without ``coro``: emit ``(key, value)`` / ``(left, right)``."""
    return unit


async def key_value(window: Any) -> Any:
    """The function of a windowed reduce node without ``coro``: emit ``(key, value)``."""
    return (window.key, window.value)
