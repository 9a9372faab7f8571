"""Node options: names, defaults and validation.

The option names are part of the public contract (see docs/semantics.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

from .errors import Problem

__all__ = [
    "DEFAULT_QUEUE_SIZE",
    "OPTION_NAMES",
    "NodeOptions",
    "parse_defaults",
    "parse_options",
    "unknown_key",
]

#: Capacity of every input link unless a node sets ``queue_size``. Deep links
#: let one wake-up of a consumer move many items (the main lever on throughput,
#: see bench/RESULTS.md) while still bounding memory per edge.
DEFAULT_QUEUE_SIZE = 1024

EXECUTORS = ("async", "thread", "process")


@dataclass(frozen=True, slots=True)
class NodeOptions:
    """Validated options of one node (everything in a node spec besides ``coro`` and ``args``)."""

    aggregate_inputs: bool = True
    concurrency: int = 1
    queue_size: int = DEFAULT_QUEUE_SIZE
    ordered: bool = True
    retries: int = 0
    retry_delay: float = 0.0
    backoff: float = 1.0
    timeout: float | None = None
    on_error: str = "raise"
    executor: str | None = None  # None: async functions on the loop, plain def in threads
    collect: bool = False

    @property
    def capacity(self) -> int:
        """Link capacity as an int; 0 (unbounded) becomes a practically infinite bound."""
        return self.queue_size if self.queue_size > 0 else 2**62


OPTION_NAMES = tuple(f.name for f in fields(NodeOptions) if f.name != "aggregate_inputs")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return (isinstance(v, int | float) and not isinstance(v, bool)) and math.isfinite(v)


def _check(name: str, value: Any) -> str | None:
    """Return a message when ``value`` is not valid for option ``name``."""
    if name in ("concurrency",):
        if not _is_int(value) or value < 1:
            return f"must be an integer >= 1, got {value!r}"
    elif name in ("queue_size", "retries"):
        if not _is_int(value) or value < 0:
            return f"must be an integer >= 0, got {value!r}"
    elif name == "retry_delay":
        if not _is_number(value) or value < 0:
            return f"must be a number of seconds >= 0, got {value!r}"
    elif name == "backoff":
        if not _is_number(value) or value < 1:
            return f"must be a multiplier >= 1 (1 = fixed delay, 2 = doubling), got {value!r}"
    elif name == "timeout":
        if value is not None and (not _is_number(value) or value <= 0):
            return f"must be a number of seconds > 0 or null, got {value!r}"
    elif name in ("ordered", "collect", "aggregate_inputs"):
        if not isinstance(value, bool):
            return f"must be true or false, got {value!r}"
    elif name == "on_error":
        if not isinstance(value, str) or not value:
            return f"must be 'raise', 'skip' or the name of a dead-letter node, got {value!r}"
    elif name == "executor" and value is not None and value not in EXECUTORS:
        return f"must be one of {', '.join(EXECUTORS)}, got {value!r}"
    return None


def _convert(name: str, value: Any) -> Any:
    if name in ("retry_delay", "backoff", "timeout") and value is not None:
        return float(value)
    return value


def parse_defaults(raw: Any, problems: list[Problem]) -> dict[str, Any]:
    """Validate a spec's ``defaults`` section (options applied to every node)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(Problem("defaults", "must be a mapping of node options"))
        return {}
    good: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in OPTION_NAMES:
            problems.append(Problem(f"defaults.{name}", unknown_key(name)))
            continue
        message = _check(name, value)
        if message:
            problems.append(Problem(f"defaults.{name}", message))
        else:
            good[name] = _convert(name, value)
    return good


def unknown_key(name: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, (*OPTION_NAMES, "coro", "args", "properties"), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown option{hint}"


def parse_options(
    raw: dict[str, Any], path: str, defaults: dict[str, Any], problems: list[Problem]
) -> NodeOptions:
    """Build the :class:`NodeOptions` of one node from its spec mapping.

    ``raw`` is the node's mapping; ``defaults`` the validated ``defaults``
    section. Problems are appended (with their key path) instead of raised, so
    that all of a spec's problems are reported together.
    """
    good: dict[str, Any] = dict(defaults)
    given: list[tuple[str, str, Any]] = [
        (name, f"{path}.{name}", raw[name]) for name in OPTION_NAMES if name in raw
    ]
    props = raw.get("properties")
    if props is not None:
        if not isinstance(props, dict):
            problems.append(Problem(f"{path}.properties", "must be a mapping"))
        else:
            for key, value in props.items():
                if key == "aggregate_inputs":
                    given.append((key, f"{path}.properties.{key}", value))
                else:
                    problems.append(
                        Problem(
                            f"{path}.properties.{key}", "unknown property (known: aggregate_inputs)"
                        )
                    )
    for name, where, value in given:
        message = _check(name, value)
        if message:
            problems.append(Problem(where, message))
        else:
            good[name] = _convert(name, value)
    return NodeOptions(**good)
