"""What a client may send: the keys of a message, of a node, and the node options.

The options a client may set come from the engine's one table of options
(:data:`pipelines.spec.options.OPTIONS`): exactly the rows whose ``remote``
is true, in the places of :data:`CLIENT_PLACES` their ``where`` allows. A new
option marked ``remote`` in that table is accepted here with no change.
Everything else a client sends is reported with its key path and never
passed on; the server sets ``concurrency`` and ``queue_size`` itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pipelines import Problem
from pipelines.spec.options import OPTIONS, PROPERTIES, Option

from .limits import Limits
from .registry import INPUT_CORO

__all__ = [
    "CLIENT_NODE_KEYS",
    "CLIENT_PLACES",
    "CLIENT_TOP_KEYS",
    "client_options",
    "sanitize",
]

#: What a client may put at the top of its message and in each node.
CLIENT_TOP_KEYS = ("nodes", "graph")
CLIENT_NODE_KEYS = ("coro", "args", "properties")

#: Where a client may set node options. The wire format is the upstream one,
#: where a node's options live under ``properties``; a spec's ``defaults``
#: belong to the server (it sets concurrency and queue sizes there).
CLIENT_PLACES: frozenset[str] = frozenset({PROPERTIES})


def client_options(table: Iterable[Option] = OPTIONS) -> dict[str, Option]:
    """The options a remote client may set: ``remote`` rows allowed in :data:`CLIENT_PLACES`."""
    return {o.name: o for o in table if o.remote and o.where & CLIENT_PLACES}


def _clean_properties(
    props: Any, path: str, accepted: Mapping[str, Option], problems: list[Problem]
) -> Any:
    if not isinstance(props, Mapping):
        return props  # the engine reports the wrong type
    known = ", ".join(sorted(accepted)) or "none"
    clean: dict[Any, Any] = {}
    for key, value in props.items():
        if isinstance(key, str) and key in accepted:
            clean[key] = value  # the engine checks the value against the table
        else:
            problems.append(
                Problem(
                    f"{path}.properties.{key}",
                    f"not accepted from clients (a client may set: {known})",
                )
            )
    return clean


def sanitize(
    data: Any, limits: Limits, table: Iterable[Option] = OPTIONS
) -> tuple[dict[str, Any], list[Problem]]:
    """Keep what a client may send; return (spec for the engine, problems found).

    The spec gets the server's ``defaults`` (concurrency, queue size). Keys a
    client may not send are reported, never passed on. ``table`` is the
    options table (the engine's unless a test passes another).
    """
    if not isinstance(data, Mapping):
        got = type(data).__name__
        return {}, [Problem("", f"a graph must be a mapping with 'nodes' and 'graph', got {got}")]
    accepted = client_options(table)
    problems: list[Problem] = []
    for key in data:
        if key not in CLIENT_TOP_KEYS:
            problems.append(
                Problem(str(key), "not accepted from clients (send only 'nodes' and 'graph')")
            )
    spec: dict[str, Any] = {
        "defaults": {"concurrency": limits.concurrency, "queue_size": limits.queue_size},
    }
    if "graph" in data:
        spec["graph"] = data["graph"]
    nodes = data.get("nodes")
    if not isinstance(nodes, Mapping):
        if "nodes" in data:
            spec["nodes"] = nodes  # the engine reports the wrong type
        return spec, problems
    in_props = ", ".join(f"properties.{name}" for name in sorted(accepted)) or "no option"
    clean: dict[str, Any] = {}
    for name, node in nodes.items():
        if not isinstance(node, Mapping):
            clean[name] = node  # the engine reports the wrong type
            continue
        for key in node:
            if key not in CLIENT_NODE_KEYS:
                problems.append(
                    Problem(
                        f"nodes.{name}.{key}",
                        "not accepted from clients (a node has only 'coro', 'args', 'properties'; "
                        f"a client may set {in_props}; the server runs every node with "
                        f"concurrency {limits.concurrency})",
                    )
                )
        clean[name] = {key: node[key] for key in CLIENT_NODE_KEYS if key in node}
        if "properties" in node:
            clean[name]["properties"] = _clean_properties(
                node["properties"], f"nodes.{name}", accepted, problems
            )
        if node.get("coro") == INPUT_CORO:
            args = node.get("args")
            strings = args.get("strings_from_client") if isinstance(args, Mapping) else None
            if not isinstance(strings, list) or not all(isinstance(s, str) for s in strings):
                problems.append(
                    Problem(f"nodes.{name}.args.strings_from_client", "must be a list of strings")
                )
    spec["nodes"] = clean
    return spec, problems
