"""Node options: the one table every part of pipelines reads.

Each :class:`Option` row holds an option's name, default, validation,
conversion, where a spec may set it, how a diagram shows it, whether a remote
client (the socket.io demo) may set it, and its documentation. Validation
(:mod:`pipelines.spec.option_parsing`), the options table in
``docs/options.md`` (generated there, checked by a test), the diagram
labels and the demo server's sanitiser all read :data:`OPTIONS`; adding an
option means adding a row here, a typed field on :class:`NodeOptions` and the
runtime code that honours it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from .operator_checks import (
    check_batch,
    check_function,
    check_join,
    check_overflow,
    check_rate,
    check_reduce,
    check_window,
    convert_batch,
    convert_join,
    convert_rate,
    convert_reduce,
    convert_window,
)
from .operators import (
    OVERFLOW_POLICIES,
    BatchOption,
    JoinOption,
    RateOption,
    ReduceOption,
    WindowOption,
    function_label,
)
from .values import (
    MAX_BACKOFF,
    MAX_CONCURRENCY,
    MAX_QUEUE_SIZE,
    MAX_RETRIES,
    Check,
    check_backoff,
    check_bool,
    check_executor,
    check_on_error,
    int_between,
    note,
    same,
    seconds,
    to_float,
)

__all__ = [
    "DEFAULTS",
    "DEFAULT_QUEUE_SIZE",
    "NODE",
    "NODE_OPTION_NAMES",
    "OPTIONS",
    "OPTION_NAMES",
    "PROPERTIES",
    "UPSTREAM_CONCURRENCY",
    "NodeOptions",
    "Option",
]

#: Capacity of every input link unless a node sets ``queue_size``. Deep links
#: let one wake-up of a consumer move many items (the main lever on throughput,
#: see bench/RESULTS.md) while still bounding memory per edge.
DEFAULT_QUEUE_SIZE = 1024


#: Default ``concurrency`` of a transform written in the original calling
#: style (first parameter ``self``) when the spec does not set it: the
#: original overlapped every call (a task per item); this bounds that.
UPSTREAM_CONCURRENCY = 64

#: Places a spec can set an option: in a node, in ``defaults``, or (upstream
#: style) in a node's ``properties``.
NODE = "node"
DEFAULTS = "defaults"
PROPERTIES = "properties"


def _g(value: float) -> str:
    return f"{value:g} s"


def _batch_note(value: BatchOption) -> str:
    return f"batch {value.size}" + (f", timeout {_g(value.timeout)}" if value.timeout else "")


def _window_note(value: WindowOption) -> str:
    if value.count is not None:
        text = f"window {value.count} items"
        slide = f", slide {value.slide}" if value.slide not in (None, value.count) else ""
    elif value.seconds is not None:
        text = f"window {_g(value.seconds)}"
        slide = f", slide {_g(value.slide)}" if value.slide not in (None, value.seconds) else ""
    else:
        text, slide = f"session gap {_g(value.gap or 0)}", ""
    if value.time is not None:
        slide += f", event time {function_label(value.time)}"
        if value.lateness:
            slide += f", lateness {_g(value.lateness)}"
    return text + slide


def _join_note(value: JoinOption) -> str:
    within = f" within {_g(value.within)}" if value.within is not None else ""
    return f"join on {function_label(value.key)}{within}"


def _rate_note(value: RateOption) -> str:
    return f"rate {value.text}" + (f", burst {value.burst}" if value.burst > 1 else "")


@dataclass(frozen=True, slots=True)
class Option:
    """One node option: everything pipelines knows about it.

    ``check(value)`` returns a message when the value is invalid (or, for a
    mapping value, ``(sub-path, message)`` pairs, one per problem); ``convert``
    turns a valid value into its stored form; ``where`` lists the places a
    spec may set it (``node``, ``defaults``, ``properties``); ``note`` makes
    the text a diagram label shows when the value is not the default (None:
    not shown in labels; ``drawn`` says how it is shown instead); ``remote``
    says whether a remote client (the socket.io demo) may set it.
    """

    name: str
    default: Any
    kind: str
    doc: str
    check: Check
    convert: Callable[[Any], Any] = same
    where: frozenset[str] = frozenset({NODE, DEFAULTS})
    note: Callable[[Any], str] | None = None
    drawn: str = ""
    remote: bool = False


#: Every node option, in the order the docs list them.
OPTIONS: tuple[Option, ...] = (
    Option(
        "aggregate_inputs",
        True,
        "bool",
        "several inputs: true = zip (one item from each, in graph order), false = merge (arrival order)",
        check_bool,
        where=frozenset({NODE, DEFAULTS, PROPERTIES}),
        drawn="the node's tag: 'zip of N inputs' or 'merge of N inputs'",
        remote=True,
    ),
    Option(
        "concurrency",
        1,
        f"integer 1..{MAX_CONCURRENCY:,}",
        "calls in flight at once (up to N workers, started as items arrive); default 1, "
        f"but {UPSTREAM_CONCURRENCY} for a transform written in the original style (self first)",
        int_between(1, MAX_CONCURRENCY),
        note=note("concurrency"),
    ),
    Option(
        "queue_size",
        DEFAULT_QUEUE_SIZE,
        f"integer 0..{MAX_QUEUE_SIZE:,}",
        "capacity of each input link; 0 = unbounded (warns)",
        int_between(0, MAX_QUEUE_SIZE),
        drawn="on each input edge: 'cap N' or 'unbounded'",
    ),
    Option(
        "ordered",
        True,
        "bool",
        "keep input order when concurrency > 1",
        check_bool,
    ),
    Option(
        "retries",
        0,
        f"integer 0..{MAX_RETRIES:,}",
        "calls made again after a failure before it counts",
        int_between(0, MAX_RETRIES),
        note=note("retries"),
    ),
    Option(
        "retry_delay",
        0.0,
        "seconds >= 0",
        "pause before the first retry",
        seconds(low=0, strict=False, nullable=False),
        to_float,
    ),
    Option(
        "backoff",
        1.0,
        f"number 1..{MAX_BACKOFF:g}",
        "multiplier of the pause after each retry (1 = fixed, 2 = doubling)",
        check_backoff,
        to_float,
    ),
    Option(
        "timeout",
        None,
        "seconds > 0 or null",
        "a call longer than this fails (with TimeoutError)",
        seconds(low=0, strict=True, nullable=True),
        to_float,
        note=note("timeout"),
    ),
    Option(
        "on_error",
        "raise",
        "raise | skip | node name",
        "after the retries: stop the run, count and go on, or send a DeadLetter to that node",
        check_on_error,
        note=lambda v: "on_error skip" if v == "skip" else "",
        drawn="'on_error skip' in the label; a dead-letter node: a dashed red edge to it",
    ),
    Option(
        "executor",
        None,
        "async | thread | process",
        "where the function runs; plain def: thread (default) or process",
        check_executor,
        note=note("executor"),
    ),
    Option(
        "collect",
        False,
        "bool",
        "keep the node's results in result.outputs[name]",
        check_bool,
    ),
    Option(
        "batch",
        None,
        "mapping: size, timeout",
        "the function gets a list of up to size items (fewer after timeout seconds, or at the end) "
        "and returns an iterable of results, each sent on as one item",
        check_batch,
        convert_batch,
        where=frozenset({NODE}),
        note=_batch_note,
    ),
    Option(
        "window",
        None,
        "mapping: count | seconds | gap; slide, time, lateness, max_pending",
        "the function gets a Window (key, start, end, items): tumbling or sliding by count or "
        "seconds, or sessions; event time with time; open windows flush at the end",
        check_window,
        convert_window,
        where=frozenset({NODE}),
        note=_window_note,
    ),
    Option(
        "key",
        None,
        "import string or callable",
        "partitions the input by key(item): windows and reduce per key; with concurrency N, "
        "one key's items are called in order by one worker",
        check_function,
        where=frozenset({NODE}),
        note=lambda v: f"key {function_label(v)}",
    ),
    Option(
        "reduce",
        None,
        "mapping: fn, initial",
        "folds items per key with fn(accumulator, item); emits (key, value) per key at the end "
        "or when its window closes (coro may be left out)",
        check_reduce,
        convert_reduce,
        where=frozenset({NODE}),
        note=lambda v: f"reduce {function_label(v.fn)}",
    ),
    Option(
        "join",
        None,
        "mapping: key, within, max_pending",
        "pairs (left, right) of the two inputs whose keys match, in either arrival order; "
        "unmatched items are kept within seconds (or to the end), then counted as dropped",
        check_join,
        convert_join,
        where=frozenset({NODE}),
        note=_join_note,
        drawn="the node's tag: 'join of 2 inputs'; the note in its label",
    ),
    Option(
        "overflow",
        OVERFLOW_POLICIES[0],
        " | ".join(OVERFLOW_POLICIES),
        "a full input link: block the producer (backpressure), drop its oldest item, or drop the "
        "new one; dropped items are counted per link",
        check_overflow,
        drawn="on each input edge when not block; after a run, 'dropped N' on the edge",
    ),
    Option(
        "rate",
        None,
        "'N/s', 'N/min', 'N/h' or mapping: limit, burst",
        "at most N calls of the function per interval, shared by its workers "
        "(a token bucket; burst calls at once, default 1)",
        check_rate,
        convert_rate,
        where=frozenset({NODE}),
        note=_rate_note,
    ),
)

OPTION_NAMES: tuple[str, ...] = tuple(option.name for option in OPTIONS)
#: The options a node's own mapping may set.
NODE_OPTION_NAMES: tuple[str, ...] = tuple(o.name for o in OPTIONS if NODE in o.where)
_BY_NAME: dict[str, Option] = {option.name: option for option in OPTIONS}
_DEFAULT: dict[str, Any] = {option.name: option.default for option in OPTIONS}


@dataclass(frozen=True, slots=True)
class NodeOptions:
    """Validated options of one node; field names and defaults are :data:`OPTIONS`' rows."""

    aggregate_inputs: bool = _DEFAULT["aggregate_inputs"]
    concurrency: int = _DEFAULT["concurrency"]
    queue_size: int = _DEFAULT["queue_size"]
    ordered: bool = _DEFAULT["ordered"]
    retries: int = _DEFAULT["retries"]
    retry_delay: float = _DEFAULT["retry_delay"]
    backoff: float = _DEFAULT["backoff"]
    timeout: float | None = _DEFAULT["timeout"]
    on_error: str = _DEFAULT["on_error"]
    executor: str | None = _DEFAULT["executor"]  # None: async on the loop, plain def in threads
    collect: bool = _DEFAULT["collect"]
    batch: BatchOption | None = _DEFAULT["batch"]
    window: WindowOption | None = _DEFAULT["window"]
    key: Any = _DEFAULT["key"]  # an import string or a callable; resolved into NodeSpec.functions
    reduce: ReduceOption | None = _DEFAULT["reduce"]
    join: JoinOption | None = _DEFAULT["join"]
    overflow: str = _DEFAULT["overflow"]
    rate: RateOption | None = _DEFAULT["rate"]

    @property
    def operated(self) -> bool:
        """True when a stream operator shapes this node's loop (docs/operators.md).

        ``key`` alone only matters with ``concurrency`` > 1 (calls routed by key).
        """
        return (
            self.batch is not None
            or self.window is not None
            or self.reduce is not None
            or self.join is not None
            or self.rate is not None
            or (self.key is not None and self.concurrency > 1)
        )

    @property
    def capacity(self) -> int:
        """Link capacity as an int; 0 (unbounded) becomes a practically infinite bound."""
        return self.queue_size if self.queue_size > 0 else 2**62

    def notes(self) -> list[str]:
        """What a diagram label says about the options that differ from their default."""
        notes = [
            option.note(getattr(self, option.name))
            for option in OPTIONS
            if option.note is not None and getattr(self, option.name) != option.default
        ]
        return [note for note in notes if note]


assert tuple(f.name for f in fields(NodeOptions)) == OPTION_NAMES, "NodeOptions must follow OPTIONS"
