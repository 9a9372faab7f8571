"""``NODE.ARG=VALUE`` overrides of a loaded spec (the command's ``--set``, schedules' parameters).

``resources.NAME.ARG=VALUE`` sets an argument of a run resource's factory.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

__all__ = ["OverrideError", "apply_overrides", "apply_parameters", "parse_override"]


class OverrideError(ValueError):
    """An override is malformed or names no node of the spec; the message says which."""


def parse_override(text: str) -> tuple[str, str, Any]:
    """Split ``NODE.ARG=VALUE`` into (node, arg, value); VALUE is read as a YAML scalar."""
    key, eq, raw = text.partition("=")
    node, dot, arg = key.rpartition(".")
    if not eq or not dot or not node or not arg:
        raise OverrideError(f"{text!r}: expected NODE.ARG=VALUE")
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or exc
        raise OverrideError(f"{text!r}: the value is not valid YAML ({problem})") from None
    return node, arg, value


def apply_overrides(data: Mapping[str, Any], sets: Iterable[str]) -> dict[str, Any]:
    """Return a copy of the spec ``data`` with each ``NODE.ARG=VALUE`` applied to the node's args.

    Raises :class:`OverrideError` for a malformed override or an unknown node;
    ``data`` itself is never changed.
    """
    values = [(repr(text), *parse_override(text)) for text in sets]
    return _apply(data, values)


def apply_parameters(data: Mapping[str, Any], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Like :func:`apply_overrides`, with values already read: ``{"node.arg": value}`` (a
    schedule's ``parameters``). Raises :class:`OverrideError` for a key that fits no node."""
    values = []
    for key, value in parameters.items():
        node, dot, arg = str(key).rpartition(".")
        if not dot or not node or not arg:
            raise OverrideError(f"parameter {key!r}: expected NODE.ARG")
        values.append((f"parameter {key!r}", node, arg, value))
    return _apply(data, values)


def _apply(data: Mapping[str, Any], values: list[tuple[str, str, str, Any]]) -> dict[str, Any]:
    result = copy.copy(dict(data))
    nodes = result.get("nodes")
    nodes = dict(nodes) if isinstance(nodes, Mapping) else {}
    result["nodes"] = nodes
    for label, node, arg, value in values:
        if node.startswith("resources."):
            result["resources"] = _set_resource_arg(
                result.get("resources"), node, arg, value, label
            )
            continue
        if node not in nodes:
            known = ", ".join(str(name) for name in nodes) or "none"
            raise OverrideError(f"{label}: no node named {node!r} (nodes: {known})")
        spec = nodes[node]
        if not isinstance(spec, Mapping):
            raise OverrideError(f"{label}: node {node!r} is not a mapping in the spec")
        spec = nodes[node] = dict(spec)
        args = spec.get("args")
        if args is None:
            args = {}
        if not isinstance(args, Mapping):
            raise OverrideError(f"{label}: the args of node {node!r} are not a mapping")
        spec["args"] = {**args, arg: value}
    return result


def _set_resource_arg(
    resources: Any, target: str, arg: str, value: Any, text: str
) -> dict[str, Any]:
    """``resources.NAME.ARG=VALUE``: a copy of ``resources`` with that factory argument set."""
    name = target.removeprefix("resources.")
    found = dict(resources) if isinstance(resources, Mapping) else {}
    if name not in found:
        known = ", ".join(str(n) for n in found) or "none"
        raise OverrideError(f"{text}: no resource named {name!r} (resources: {known})")
    entry = found[name]
    if not isinstance(entry, Mapping):
        entry = {"factory": entry}
    args = entry.get("args") or {}
    if not isinstance(args, Mapping):
        raise OverrideError(f"{text}: the args of resource {name!r} are not a mapping")
    found[name] = {**entry, "args": {**args, arg: value}}
    return found
