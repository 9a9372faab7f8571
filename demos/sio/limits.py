"""What one client may ask of the server, and what its graphs may produce.

Admission (:func:`check_limits`) looks at a message before anything parses
it: nesting depth, size, nodes, input strings. Production
(:class:`OutputMeter`) looks at every value a graph's functions return:
bytes per result and bytes per run. The transport's limits (bytes and
packets queued for a client that does not read, clients at once) are read
by :mod:`sio.transport`. Every limit hit is a clear ``pipeline_error`` (or,
for the transport, a closed connection), never a crash or a silent drop.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pipelines import Problem

from .registry import INPUT_CORO

__all__ = [
    "MAX_REPORTED_PROBLEMS",
    "Limits",
    "OutputLimitExceeded",
    "OutputMeter",
    "Refused",
    "check_limits",
    "json_size",
    "nesting_depth",
]

#: A refusal lists at most this many problems (the rest are counted).
MAX_REPORTED_PROBLEMS = 50


@dataclass(frozen=True, slots=True)
class Limits:
    """What one client may ask of, and cost, the server (defaults in docs/demos.md).

    Asking: ``max_nodes``, ``max_strings`` (input strings per graph),
    ``max_string_length``, ``max_payload_bytes`` (a message as JSON; larger
    ones are refused with a clear error, and the transport drops frames
    larger than ``transport_max_bytes``), ``max_depth`` (nesting of a
    message), ``max_graphs_per_client`` running at once, ``max_run_seconds``.

    Producing: ``max_result_bytes`` (one value a node returns, as JSON) and
    ``max_run_bytes`` (all values the nodes of one graph return): a graph
    over either is stopped.

    Transport: ``max_queued_bytes`` and ``max_queued_packets`` bound what
    waits to be sent to one client; a client that falls that far behind is
    disconnected. ``max_clients`` connections at once; ``bad_frames_logged``
    log lines about bad frames per ``bad_frame_log_seconds``.

    ``concurrency`` and ``queue_size`` are set by the server on every node.
    """

    max_nodes: int = 16
    max_strings: int = 50
    max_string_length: int = 1000
    max_payload_bytes: int = 64 * 1024
    max_depth: int = 32
    max_graphs_per_client: int = 2
    max_run_seconds: float = 120.0
    max_result_bytes: int = 256 * 1024
    max_run_bytes: int = 4 * 1024 * 1024
    max_queued_bytes: int = 1024 * 1024
    max_queued_packets: int = 1024
    max_clients: int = 32
    bad_frames_logged: int = 10
    bad_frame_log_seconds: float = 60.0
    concurrency: int = 8
    queue_size: int = 64

    def __post_init__(self) -> None:
        # One result must always fit in a client's queue, or a client that
        # reads would be dropped for a result the server allowed.
        if self.max_queued_bytes < self.max_result_bytes + 1024:
            raise ValueError(
                f"max_queued_bytes ({self.max_queued_bytes}) must exceed max_result_bytes "
                f"({self.max_result_bytes}) by at least 1024 (one result must fit)"
            )

    @property
    def transport_max_bytes(self) -> int:
        """Largest frame the transport reads (larger ones close the connection)."""
        return max(4 * self.max_payload_bytes, 1_000_000)


_REFUSAL_HEADS = {"spec": "invalid graph", "limit": "limit exceeded", "server": "graph not started"}


class Refused(Exception):
    """A client's message is refused before it runs.

    ``kind`` is ``spec`` (invalid graph), ``limit`` or ``server``;
    ``problems`` lists what is wrong, each with its key path.
    """

    def __init__(self, kind: str, problems: list[Problem]) -> None:
        self.kind = kind
        self.problems = problems
        count = len(problems)
        shown = problems[:MAX_REPORTED_PROBLEMS]
        lines = [f"{_REFUSAL_HEADS[kind]} ({count} problem{'s' if count != 1 else ''})"]
        lines += [f"  - {p}" for p in shown]
        if count > len(shown):
            lines.append(f"  ... and {count - len(shown)} more")
        super().__init__("\n".join(lines))


def nesting_depth(data: Any, limit: int) -> int:
    """How deeply ``data`` nests lists and mappings, counting up to ``limit + 1`` at most.

    Iterative, so a hostile message cannot exhaust the stack; it stops as
    soon as the depth passes ``limit``.
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, Mapping):
            children: Any = value.values()
        elif isinstance(value, list | tuple):
            children = value
        else:
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                return deepest
        stack.extend((child, depth) for child in children)
    return deepest


def json_size(value: Any) -> int:
    """Bytes ``value`` takes as JSON on the wire (binary counts by its length)."""

    def measure(obj: Any) -> Any:
        if isinstance(obj, bytes | bytearray | memoryview):
            return "x" * len(obj)
        return repr(obj)

    return len(json.dumps(value, separators=(",", ":"), default=measure).encode())


def _limit(message: str) -> Refused:
    return Refused("limit", [Problem("", message)])


def check_limits(data: Any, limits: Limits) -> None:
    """Refuse a message that asks for more than ``limits`` allow (before any parsing)."""
    if nesting_depth(data, limits.max_depth) > limits.max_depth:
        raise _limit(f"message is nested too deeply: more than {limits.max_depth} levels")
    size = json_size(data)
    if size > limits.max_payload_bytes:
        raise _limit(f"message is {size} bytes; at most {limits.max_payload_bytes} are accepted")
    if not isinstance(data, Mapping) or not isinstance(data.get("nodes"), Mapping):
        return  # shape problems are reported by sanitize()
    nodes = data["nodes"]
    problems: list[Problem] = []
    if len(nodes) > limits.max_nodes:
        problems.append(
            Problem("nodes", f"{len(nodes)} nodes; at most {limits.max_nodes} per graph")
        )
    total = 0
    for name, node in nodes.items():
        if not isinstance(node, Mapping) or node.get("coro") != INPUT_CORO:
            continue
        args = node.get("args")
        strings = args.get("strings_from_client") if isinstance(args, Mapping) else None
        if not isinstance(strings, list):
            continue
        total += len(strings)
        for i, s in enumerate(strings):
            if isinstance(s, str) and len(s) > limits.max_string_length:
                problems.append(
                    Problem(
                        f"nodes.{name}.args.strings_from_client.{i}",
                        f"{len(s)} characters; at most {limits.max_string_length}",
                    )
                )
    if total > limits.max_strings:
        problems.append(
            Problem("nodes", f"{total} input strings; at most {limits.max_strings} per graph")
        )
    if problems:
        raise Refused("limit", problems)


class OutputLimitExceeded(Exception):
    """A graph produced more than its :class:`Limits` allow (per result or per run)."""


class OutputMeter:
    """Counts the bytes one run's functions return; raises when a limit is passed.

    :meth:`wrap` puts the meter around a registry function. The error makes
    the node fail, and since clients cannot set ``on_error`` the run stops
    (the server reports it as ``pipeline_error`` of kind ``limit``). A value
    is measured after it was made, so the memory a run holds is bounded by
    ``max_run_bytes`` plus one result.
    """

    def __init__(self, max_result_bytes: int, max_run_bytes: int) -> None:
        self.max_result_bytes = max_result_bytes
        self.max_run_bytes = max_run_bytes
        self.total = 0

    def charge(self, value: Any) -> None:
        """Count ``value``; raise :class:`OutputLimitExceeded` past a limit."""
        if value is None:
            return
        size = json_size(value)
        if size > self.max_result_bytes:
            raise OutputLimitExceeded(
                f"produced a result of {size:,} bytes; at most {self.max_result_bytes:,} per result"
            )
        self.total += size
        if self.total > self.max_run_bytes:
            raise OutputLimitExceeded(
                f"took the graph's results to {self.total:,} bytes; "
                f"at most {self.max_run_bytes:,} per run"
            )

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` (a coroutine function) with every result it returns charged to this meter.

        ``functools.wraps`` keeps its name and signature, so the engine sees
        the same calling style (upstream ``self`` first) as for ``fn``.
        """

        @functools.wraps(fn)
        async def metered(*args: Any, **kwargs: Any) -> Any:
            result = await fn(*args, **kwargs)
            self.charge(result)
            return result

        return metered
