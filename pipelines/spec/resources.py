"""Run resources and the shared context in a spec.

``resources: {db: "mod:open_db", http: {factory: "mod:session", args: {...}}}``
names factories of context managers (sync or async) the run enters before
any node starts and exits after the last one ends; a function receives a
resource by declaring a parameter with its name. ``context:`` is the initial
mapping of the context shared by all nodes, ``context_mode: lockable``
(default) or ``protected`` (read-only for the whole run).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import Problem
from .calling import INJECTABLE
from .resolve import ResolveError, import_string

__all__ = ["CONTEXT_MODES", "parse_context", "parse_resources"]

CONTEXT_MODES = ("lockable", "protected")


def parse_resources(raw: Any, base_dir: Path | None, problems: list[Problem]) -> dict[str, Any]:
    """``resources`` -> name -> factory (a callable of no arguments)."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        problems.append(Problem("resources", "must be a mapping of name -> factory"))
        return {}
    found: dict[str, Any] = {}
    for name, value in raw.items():
        where = f"resources.{name}"
        if not isinstance(name, str) or not name.isidentifier():
            problems.append(Problem(where, "a resource name must be a Python identifier"))
            continue
        if name in INJECTABLE:
            problems.append(Problem(where, f"{name!r} is reserved (the run passes its own)"))
            continue
        args: Any = {}
        factory = value
        if isinstance(value, Mapping):
            unknown = set(value) - {"factory", "args"}
            if unknown or "factory" not in value:
                problems.append(
                    Problem(where, "a mapping needs 'factory' and may have 'args', nothing else")
                )
                continue
            factory, args = value["factory"], value.get("args") or {}
            if not isinstance(args, Mapping) or not all(isinstance(k, str) for k in args):
                problems.append(Problem(f"{where}.args", "must be a mapping of keyword arguments"))
                continue
        try:
            if isinstance(factory, str):
                if ":" not in factory:
                    raise ResolveError(
                        f"cannot resolve {factory!r}: give a callable or 'module:function'"
                    )
                factory = import_string(factory, base_dir)
        except ResolveError as exc:
            problems.append(Problem(where, str(exc)))
            continue
        if not callable(factory):
            problems.append(
                Problem(
                    where, f"must be a factory of a context manager, got {type(factory).__name__}"
                )
            )
            continue
        found[name] = functools.partial(factory, **args) if args else factory
    return found


def parse_context(raw: Any, mode: Any, problems: list[Problem]) -> tuple[dict[str, Any], str]:
    """``context`` and ``context_mode`` -> (initial mapping, mode)."""
    context: dict[str, Any] = {}
    if raw is not None:
        if not isinstance(raw, Mapping) or not all(isinstance(k, str) for k in raw):
            problems.append(Problem("context", "must be a mapping with string keys"))
        else:
            context = dict(raw)
    if mode is None:
        mode = "lockable"
    if mode not in CONTEXT_MODES:
        problems.append(
            Problem("context_mode", f"must be one of {', '.join(CONTEXT_MODES)}, got {mode!r}")
        )
        mode = "lockable"
    return context, mode
