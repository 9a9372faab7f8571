"""Parsing node options with the one table (:data:`pipelines.spec.options.OPTIONS`).

:func:`parse_options` builds a node's :class:`~pipelines.spec.options.NodeOptions`
from its mapping, :func:`parse_defaults` the spec's ``defaults`` section, both
appending every problem with its key path; :func:`markdown_table` writes the
options table of ``docs/options.md`` from the same rows.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from ..errors import Problem
from .options import (
    _BY_NAME,
    DEFAULTS,
    NODE,
    OPTION_NAMES,
    OPTIONS,
    PROPERTIES,
    NodeOptions,
)

__all__ = ["markdown_table", "parse_defaults", "parse_options", "unknown_key"]


def unknown_key(name: str, extra: tuple[str, ...] = ("coro", "args", "properties")) -> str:
    """The message for a key that is not an option, with a close match if there is one."""
    close = difflib.get_close_matches(name, (*OPTION_NAMES, *extra), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown option{hint}"


def _take(name: str, value: Any, where: str, good: dict[str, Any], problems: list[Problem]) -> None:
    option = _BY_NAME[name]
    message = option.check(value)
    if isinstance(message, str):
        problems.append(Problem(where, message))
    elif message:
        problems.extend(Problem(f"{where}.{sub}" if sub else where, text) for sub, text in message)
    else:
        good[name] = option.convert(value)


def parse_defaults(raw: Any, problems: list[Problem]) -> dict[str, Any]:
    """Validate a spec's ``defaults`` section (options applied to every node)."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        problems.append(Problem("defaults", "must be a mapping of node options"))
        return {}
    good: dict[str, Any] = {}
    for key, value in raw.items():
        where = f"defaults.{key}"
        option = _BY_NAME.get(key) if isinstance(key, str) else None
        if option is None:
            problems.append(Problem(where, unknown_key(str(key))))
            continue
        if DEFAULTS not in option.where:
            problems.append(Problem(where, "cannot be set in defaults: set it on each node"))
            continue
        _take(key, value, where, good, problems)
    return good


def parse_options(
    raw: Mapping[str, Any], path: str, defaults: Mapping[str, Any], problems: list[Problem]
) -> NodeOptions:
    """Build the :class:`NodeOptions` of one node from its spec mapping.

    ``raw`` is the node's mapping; ``defaults`` the validated ``defaults``
    section. Problems are appended (with their key path) instead of raised, so
    that all of a spec's problems are reported together. Keys of ``raw`` that
    are not options are left to the caller.
    """
    good: dict[str, Any] = dict(defaults)
    for option in OPTIONS:
        if NODE in option.where and option.name in raw:
            _take(option.name, raw[option.name], f"{path}.{option.name}", good, problems)
    props = raw.get("properties")
    if props is not None:
        if not isinstance(props, Mapping):
            problems.append(Problem(f"{path}.properties", "must be a mapping"))
        else:
            known = ", ".join(o.name for o in OPTIONS if PROPERTIES in o.where)
            for key, value in props.items():
                where = f"{path}.properties.{key}"
                prop = _BY_NAME.get(key) if isinstance(key, str) else None
                if prop is None or PROPERTIES not in prop.where:
                    problems.append(Problem(where, f"unknown property (known: {known})"))
                else:
                    _take(key, value, where, good, problems)
    return NodeOptions(**good)


def markdown_table() -> str:
    """The options table of ``docs/options.md``, made from :data:`OPTIONS`."""
    rows = [
        "| option | type | default | set in | remote | what it does | drawn |",
        "|---|---|---|---|---|---|---|",
    ]
    for o in OPTIONS:
        default = (
            "null"
            if o.default is None
            else str(o.default).lower()
            if isinstance(o.default, bool)
            else str(o.default)
        )
        where = ", ".join(w for w in (NODE, DEFAULTS, PROPERTIES) if w in o.where)
        drawn = o.drawn or ("in the node's label when not the default" if o.note else "")
        kind, doc, drawn = (text.replace("|", "\\|") for text in (o.kind, o.doc, drawn))
        rows.append(
            f"| `{o.name}` | {kind} | `{default}` | {where} | {'yes' if o.remote else 'no'} "
            f"| {doc} | {drawn} |"
        )
    return "\n".join(rows) + "\n"
