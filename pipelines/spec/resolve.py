"""Turning a node's ``coro`` value into a callable (or an iterable source).

Three forms are accepted: a callable (or, for a source, an iterable), a name
that the user's ``coro_map`` turns into one, or an import string
``"package.module:function"`` / ``"module:Class.method"``. Import strings are
looked up first in the folder of the spec file they came from, so that a spec
and its functions can sit side by side.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import inspect
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["ResolveError", "import_string", "resolve_coro", "resolve_function"]

_path_lock = threading.Lock()


class ResolveError(Exception):
    """A ``coro`` value could not be turned into a callable; the message says why."""


def _suggest(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _local_file(base_dir: Path, module_name: str) -> Path | None:
    """The file in ``base_dir`` that the top-level package of ``module_name`` is, if any."""
    top = module_name.split(".")[0]
    for candidate in (base_dir / f"{top}.py", base_dir / top / "__init__.py"):
        if candidate.is_file():
            return candidate.resolve()
    return None


def _import_beside(base_dir: Path, module_name: str, local: Path) -> Any:
    """Import ``module_name`` from the file beside a spec, in ``base_dir``.

    The folder is on ``sys.path`` while the module runs (so its own imports of
    neighbouring modules work). If that top-level name is free, or already
    names this very file, the module is imported under its own name. If the
    name is taken by another module (another spec's folder, or a standard
    module such as ``json``), the local file is loaded under a private name
    instead: nothing already imported is replaced, and functions still pickle
    by reference (their module is registered in ``sys.modules``).
    """
    top, _, rest = module_name.partition(".")
    with _path_lock:
        sys.path.insert(0, str(base_dir))
        try:
            loaded = sys.modules.get(top)
            loaded_file = getattr(loaded, "__file__", None)
            if loaded is None or (loaded_file is not None and Path(loaded_file).resolve() == local):
                return importlib.import_module(module_name)
            digest = hashlib.sha1(str(local).encode()).hexdigest()[:10]
            private = f"_pipelines_local_{digest}_{top}"
            if private not in sys.modules:
                is_package = local.name == "__init__.py"
                spec = importlib.util.spec_from_file_location(
                    private,
                    local,
                    submodule_search_locations=[str(local.parent)] if is_package else None,
                )
                assert spec is not None and spec.loader is not None
                module = importlib.util.module_from_spec(spec)
                sys.modules[private] = module
                try:
                    spec.loader.exec_module(module)
                except BaseException:
                    del sys.modules[private]
                    raise
            return importlib.import_module(f"{private}.{rest}" if rest else private)
        finally:
            sys.path.remove(str(base_dir))


def import_string(target: str, base_dir: Path | None = None) -> Any:
    """Import ``"module:attr.path"``; ``base_dir`` is searched before ``sys.path``."""
    module_name, sep, attr_path = target.partition(":")
    if not sep or not module_name or not attr_path:
        raise ResolveError(f"cannot import {target!r}: expected 'module:function'")
    try:
        local = _local_file(base_dir, module_name) if base_dir is not None else None
        if base_dir is not None and local is not None:
            module = _import_beside(base_dir, module_name, local)
        else:
            module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ResolveError(f"cannot import {target!r}: no module named {exc.name!r}") from None
    except Exception as exc:
        raise ResolveError(
            f"cannot import {target!r}: importing {module_name!r} raised {type(exc).__name__}: {exc}"
        ) from None
    obj: Any = module
    walked = module_name
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            names = [n for n in dir(obj) if not n.startswith("_")]
            raise ResolveError(
                f"cannot import {target!r}: {walked!r} has no attribute {part!r}{_suggest(part, names)}"
            ) from None
        walked = f"{walked}.{part}" if walked != module_name else f"{module_name}:{part}"
    return obj


def resolve_coro(
    value: Any,
    coro_map: Callable[[Any], Any] | None,
    base_dir: Path | None = None,
) -> Any:
    """Resolve one ``coro`` value; raise :class:`ResolveError` with a clear message."""
    if coro_map is not None:
        # Upstream applied coro_map to every value, callables included.
        try:
            resolved = coro_map(value)
        except Exception as exc:
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise ResolveError(f"coro_map could not resolve {value!r} ({detail})") from None
        if resolved is None:
            raise ResolveError(f"coro_map returned None for {value!r}")
        return resolved
    if isinstance(value, str):
        if ":" in value:
            return import_string(value, base_dir)
        raise ResolveError(
            f"cannot resolve {value!r}: give a callable, an import string 'module:function', "
            "or a coro_map that knows this name"
        )
    if value is None:
        raise ResolveError("missing: every node needs a coro")
    return value


def resolve_function(
    value: Any,
    coro_map: Callable[[Any], Any] | None,
    base_dir: Path | None = None,
    *,
    may_be_async: bool = False,
) -> Callable[..., Any]:
    """Resolve a function an option names (``key``, ``window.time``, ``reduce.fn``, ``join.key``).

    A callable is used as it is; a string resolves exactly like a ``coro``
    value (through ``coro_map`` when given, else as an import string, beside
    the spec file first). Unless ``may_be_async``, the function is called on
    the event loop for every item, so an ``async def`` is refused.
    """
    fn = value if callable(value) else resolve_coro(value, coro_map, base_dir)
    if not callable(fn):
        raise ResolveError(f"{value!r} is not callable (got {type(fn).__name__})")
    if not may_be_async and (
        inspect.iscoroutinefunction(fn)
        or inspect.isasyncgenfunction(fn)
        or inspect.iscoroutinefunction(getattr(fn, "__call__", None))  # noqa: B004
    ):
        raise ResolveError(
            f"{value!r} must be a plain function: it is called on the event loop for every item"
        )
    return fn  # type: ignore[no-any-return]
