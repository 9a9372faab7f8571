"""Hooks in a spec: per node (``hooks: {before, after, around, on_error}``) and per run.

Each hook is a callable or an import string ``"module:function"`` (resolved
like ``coro``, in the spec's folder first), sync or async. Its signature is
checked against how it will be called, with the key path of the hook.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import Problem
from .calling import callable_name
from .model import NodeHooks, RunHooks
from .resolve import ResolveError, import_string

__all__ = ["NODE_HOOKS", "RUN_HOOKS", "parse_node_hooks", "parse_run_hooks"]

#: Each node hook and how it is called.
NODE_HOOKS: dict[str, str] = {
    "before": "before(item)",
    "after": "after(item, result)",
    "around": "around(call, item)",
    "on_error": "on_error(item, error)",
}
#: Each run hook and how it is called.
RUN_HOOKS: dict[str, str] = {
    "before_run": "before_run()",
    "after_run": "after_run(result)",
    "on_error": "on_error(error)",
}


def _resolve(value: Any, base_dir: Path | None) -> Any:
    if isinstance(value, str):
        if ":" not in value:
            raise ResolveError(f"cannot resolve {value!r}: give a callable or 'module:function'")
        return import_string(value, base_dir)
    return value


def _arity(how: str) -> int:
    inside = how[how.index("(") + 1 : -1]
    return len([part for part in inside.split(",") if part.strip()])


def _check(fn: Any, how: str) -> str | None:
    """A message when ``fn`` cannot be called the way ``how`` shows."""
    if not callable(fn):
        return f"must be a callable or 'module:function', got {type(fn).__name__}"
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None  # some builtins have no signature: trust them
    try:
        signature.bind(*([None] * _arity(how)))
    except TypeError as exc:
        return f"{callable_name(fn)}{signature} cannot be called as {how}: {exc}"
    return None


def _parse(
    raw: Any,
    path: str,
    known: dict[str, str],
    base_dir: Path | None,
    problems: list[Problem],
) -> dict[str, Callable[..., Any]] | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        problems.append(Problem(path, f"must be a mapping of hooks ({', '.join(known)})"))
        return None
    found: dict[str, Callable[..., Any]] = {}
    for key, value in raw.items():
        where = f"{path}.{key}"
        if key not in known:
            problems.append(Problem(where, f"unknown hook (known: {', '.join(known)})"))
            continue
        try:
            fn = _resolve(value, base_dir)
        except ResolveError as exc:
            problems.append(Problem(where, str(exc)))
            continue
        message = _check(fn, known[key])
        if message:
            problems.append(Problem(where, message))
        else:
            found[key] = fn
    return found or None


def parse_node_hooks(
    raw: Any, path: str, base_dir: Path | None, problems: list[Problem]
) -> NodeHooks | None:
    """A node's ``hooks`` mapping -> :class:`NodeHooks` (problems appended with key paths)."""
    found = _parse(raw, path, NODE_HOOKS, base_dir, problems)
    return NodeHooks(**found) if found else None


def parse_run_hooks(raw: Any, base_dir: Path | None, problems: list[Problem]) -> RunHooks | None:
    """The top-level ``hooks`` mapping -> :class:`RunHooks`."""
    found = _parse(raw, "hooks", RUN_HOOKS, base_dir, problems)
    return RunHooks(**found) if found else None
