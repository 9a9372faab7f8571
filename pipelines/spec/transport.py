"""The ``transport:`` section of a spec: where a distributed run keeps its links.

``transport: {redis: URL, ...}`` runs the graph with its links on Redis
Streams (see docs/distributed.md); without ``redis`` (and without the
command's ``--redis``) the graph runs in one process, as always, and the
other keys are kept for when it runs distributed. Every key is checked here,
with its key path, together with the other problems of the spec.

:func:`spec_fingerprint` names a spec for the workers: a coordinator and a
worker serve the same pipeline only if their spec files agree on everything
but the Redis URL, the nodes' ``args`` and ``env`` (which the run sends to
the workers as data).
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from ..errors import Problem
from .model import NodeSpec
from .values import MAX_SECONDS, finite

__all__ = [
    "DEFAULT_RECLAIM_AFTER",
    "LOCAL_ONLY_OPTIONS",
    "MAX_BATCH_SIZE",
    "MAX_DELIVERIES",
    "REDIS_SCHEMES",
    "SERIALIZERS",
    "TRANSPORT_KEYS",
    "TransportSpec",
    "check_distributable",
    "parse_transport",
    "spec_fingerprint",
]

SERIALIZERS = ("json", "pickle")
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
MAX_BATCH_SIZE = 100_000
MAX_DELIVERIES = 1_000
#: Idle seconds before a live worker takes over another's entry, unless a node's
#: ``timeout`` asks for more (twice the longest timeout).
DEFAULT_RECLAIM_AFTER = 30.0


@dataclass(frozen=True, slots=True)
class TransportSpec:
    """The validated ``transport:`` section.

    ``redis`` is the URL (None: in-process unless the command gives
    ``--redis``); ``batch_size`` items per stream entry at most (and never
    more than the capacity of the link it goes to); ``linger``
    seconds a source's batch waits to fill; ``serializer`` ``json`` (safe,
    default) or ``pickle`` (opt-in: anyone who can write to the Redis can run
    code on the workers); ``max_deliveries`` deliveries of an entry before its
    items fail; ``reclaim_after`` idle seconds before a live worker takes over
    a dead one's entries (longer than every node's ``timeout``);
    ``heartbeat`` seconds between heartbeats (a worker is dead after three
    missed); ``reconnect`` seconds a lost Redis connection is retried.
    """

    redis: str | None = None
    batch_size: int = 512
    linger: float = 0.002
    serializer: str = "json"
    max_deliveries: int = 5
    reclaim_after: float = DEFAULT_RECLAIM_AFTER
    heartbeat: float = 1.0
    reconnect: float = 30.0

    @property
    def ttl(self) -> float:
        """Seconds a heartbeat lives: three intervals."""
        return 3 * self.heartbeat


TRANSPORT_KEYS: tuple[str, ...] = tuple(f.name for f in fields(TransportSpec))


def _int_in(value: Any, low: int, high: int) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return f"must be an integer from {low} to {high:,}, got {value!r:.60}"
    return None


def _seconds_in(value: Any, low: float, high: float, strict: bool) -> str | None:
    number = finite(value)
    bad = number is None or number > high or (number <= low if strict else number < low)
    if bad:
        bound = f"> {low:g}" if strict else f">= {low:g}"
        return f"must be a number of seconds {bound} and at most {high:,.0f}, got {value!r:.60}"
    return None


def _check_url(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.startswith(REDIS_SCHEMES):
        return (
            "must be a Redis URL (redis://HOST:PORT/DB, rediss:// for TLS, unix:///path), "
            f"got {value!r:.60}"
        )
    return None


def _check_serializer(value: Any) -> str | None:
    if value not in SERIALIZERS:
        return f"must be one of {', '.join(SERIALIZERS)}, got {value!r:.60}"
    return None


_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "redis": _check_url,
    "batch_size": lambda v: _int_in(v, 1, MAX_BATCH_SIZE),
    "linger": lambda v: _seconds_in(v, 0, 60, strict=False),
    "serializer": _check_serializer,
    "max_deliveries": lambda v: _int_in(v, 1, MAX_DELIVERIES),
    "reclaim_after": lambda v: _seconds_in(v, 0, MAX_SECONDS, strict=True),
    "heartbeat": lambda v: _seconds_in(v, 0, 3600, strict=True),
    "reconnect": lambda v: _seconds_in(v, 0, 24 * 3600, strict=False),
}


def parse_transport(
    raw: Any, nodes: Mapping[str, NodeSpec], problems: list[Problem]
) -> TransportSpec | None:
    """Validate a spec's ``transport`` section (None when the spec has none).

    ``nodes`` are the valid nodes: ``reclaim_after`` must be longer than their
    ``timeout``, and a spec that names a Redis URL must name its functions
    with import strings (every worker resolves them from its own copy).
    """
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        problems.append(
            Problem("transport", "must be a mapping, e.g. {redis: redis://host:6379/0}")
        )
        return None
    good: dict[str, Any] = {}
    for key, value in raw.items():
        where = f"transport.{key}"
        check = _CHECKS.get(key) if isinstance(key, str) else None
        if check is None:
            close = difflib.get_close_matches(str(key), TRANSPORT_KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(Problem(where, f"unknown transport key{hint}"))
            continue
        message = check(value)
        if message:
            problems.append(Problem(where, message))
        elif key in ("linger", "reclaim_after", "heartbeat", "reconnect"):
            good[key] = float(value)
        else:
            good[key] = value
    timeouts = {n.name: n.options.timeout for n in nodes.values() if n.options.timeout is not None}
    longest = max(timeouts.values(), default=0.0)
    if "reclaim_after" in good:
        slow = [name for name, t in timeouts.items() if t >= good["reclaim_after"]]
        if slow:
            problems.append(
                Problem(
                    "transport.reclaim_after",
                    f"must be longer than every node's timeout, or a slow call's entry would be "
                    f"taken over while it runs: nodes.{slow[0]}.timeout is {timeouts[slow[0]]:g} s",
                )
            )
    elif "reclaim_after" not in raw:
        good["reclaim_after"] = max(DEFAULT_RECLAIM_AFTER, 2 * longest)
    if good.get("redis"):
        for node in nodes.values():
            for key, value in node.args.items():
                bad = _not_plain(value)
                if bad:
                    problems.append(
                        Problem(
                            f"nodes.{node.name}.args.{key}",
                            f"a distributed run sends args to its workers as JSON data; {bad}",
                        )
                    )
            if not isinstance(node.raw_coro, str) or ":" not in node.raw_coro:
                problems.append(
                    Problem(
                        f"nodes.{node.name}.coro",
                        "a distributed run (transport.redis) needs an import string "
                        "'module:function' that every worker resolves from its own copy of the "
                        f"spec, got {node.raw_coro!r:.60}",
                    )
                )
    return TransportSpec(**good)


_PLAIN = (type(None), bool, int, float, str, bytes)


#: Node options the distributed transport does not carry (yet): a spec with
#: them and ``transport.redis`` is refused rather than run differently.
LOCAL_ONLY_OPTIONS = ("batch", "window", "key", "reduce", "join", "overflow", "rate")


def check_distributable(
    nodes: Mapping[str, Any], run_level: Mapping[str, Any], problems: list[Problem]
) -> None:
    """Problems for what a run on Redis Streams would not honour.

    ``run_level`` maps ``hooks``/``resources``/``context`` to whether the spec
    sets them. Refused, with the key path, rather than silently ignored.
    """
    reason = "is not supported with transport.redis yet (docs/distributed.md); run it locally"
    for key, present in run_level.items():
        if present:
            problems.append(Problem(key, reason))
    for name, node in nodes.items():
        if node.hooks is not None:
            problems.append(Problem(f"nodes.{name}.hooks", reason))
        for option in LOCAL_ONLY_OPTIONS:
            if getattr(node.options, option, None) not in (None, "block"):
                problems.append(Problem(f"nodes.{name}.{option}", reason))
        for injected in node.inject:
            if injected != "processor":
                problems.append(Problem(f"nodes.{name}.coro", f"parameter {injected!r} {reason}"))


def _not_plain(value: Any, depth: int = 0) -> str | None:
    """Why ``value`` cannot travel as JSON data (None if it can)."""
    if depth > 50:
        return "it is nested too deeply"
    if type(value) in _PLAIN:
        return None
    if type(value) in (list, tuple, set, frozenset):
        return next((m for v in value if (m := _not_plain(v, depth + 1))), None)
    if type(value) is dict:
        for k, v in value.items():
            message = _not_plain(k, depth + 1) or _not_plain(v, depth + 1)
            if message:
                return message
        return None
    return f"{type(value).__name__} is not plain data (use a string or a number)"


def spec_fingerprint(data: Mapping[str, Any]) -> str:
    """A short hash naming a spec for the workers (raw data, as loaded from the file).

    Everything counts except ``transport.redis`` (each machine may reach Redis
    by another address), the nodes' ``args`` and ``env`` (a run sends its own
    to the workers, so ``--set`` works). Raises ``TypeError`` for data that is
    not plain (a callable): such a spec cannot be shared with workers.
    """
    plain: dict[str, Any] = {k: v for k, v in data.items() if k != "env"}
    transport = plain.pop("transport", None)
    if isinstance(transport, Mapping):
        transport = {k: v for k, v in transport.items() if k != "redis"}
    if transport:  # `transport: {redis: URL}` alone names the same spec as no transport
        plain["transport"] = transport
    nodes = plain.get("nodes")
    if isinstance(nodes, Mapping):
        plain["nodes"] = {
            name: {k: v for k, v in node.items() if k != "args"}
            if isinstance(node, Mapping)
            else node
            for name, node in nodes.items()
        }
    text = json.dumps(plain, sort_keys=True, separators=(",", ":"), default=_plain)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _plain(value: Any) -> Any:
    if isinstance(value, list | tuple | set):
        return list(value)
    if callable(value) or hasattr(value, "__iter__"):
        raise TypeError(f"a spec shared with workers holds only plain data, got {value!r:.60}")
    return str(value)  # dates and the like, as YAML loads them
