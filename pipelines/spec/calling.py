"""Calling conventions: how a node's function is called and what it returns.

Two styles (see docs/semantics.md):

* upstream style: the first parameter is named ``self``; a transform is called
  as ``coro(processor, q_elt, **args)`` with ``q_elt`` a tuple of inputs, a
  source as ``coro(processor, output_q, **args)``;
* plain style: anything else; a transform gets the item itself, a source is a
  generator, an iterable, or a function called once for one item. A plain
  function that declares a keyword parameter ``processor`` gets its Processor.
"""

from __future__ import annotations

import enum
import functools
import inspect
from collections.abc import AsyncIterable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "INJECTABLE",
    "Shape",
    "Signature",
    "callable_name",
    "check_args",
    "classify",
    "injected_names",
]


class Shape(enum.Enum):
    """What calling a node's function gives."""

    COROUTINE = "coroutine"  # async def: one awaited result
    ASYNC_GEN = "async generator"  # async def with yield: 0..n results
    SYNC = "function"  # def: one result, run off the loop
    SYNC_GEN = "generator"  # def with yield: 0..n results, run off the loop
    ITERABLE = "iterable"  # not callable: a source's data
    ASYNC_ITERABLE = "async iterable"


@dataclass(frozen=True, slots=True)
class Signature:
    """The classification of one node's ``coro``."""

    shape: Shape
    upstream: bool  # first parameter named ``self``
    wants_processor: bool  # plain style with a ``processor`` keyword parameter
    name: str
    signature: inspect.Signature | None

    @property
    def is_async(self) -> bool:
        return self.shape in (Shape.COROUTINE, Shape.ASYNC_GEN, Shape.ASYNC_ITERABLE)


def _unwrap(fn: Any) -> Any:
    while isinstance(fn, functools.partial):
        fn = fn.func
    return fn


def callable_name(fn: Any) -> str:
    """A short human name for a function, used in labels and messages."""
    inner = _unwrap(fn)
    name = getattr(inner, "__qualname__", None) or getattr(inner, "__name__", None)
    if name is None:
        name = type(inner).__name__
    return str(name)


def classify(fn: Any) -> Signature:
    """Classify a resolved ``coro`` value; raise TypeError if it is unusable."""
    if not callable(fn):
        if isinstance(fn, AsyncIterable):
            return Signature(Shape.ASYNC_ITERABLE, False, False, type(fn).__name__, None)
        if isinstance(fn, Iterable) and not isinstance(fn, str | bytes | dict):
            return Signature(Shape.ITERABLE, False, False, type(fn).__name__, None)
        raise TypeError(f"is not callable (got {type(fn).__name__})")
    inner = _unwrap(fn)
    # A callable object is async if its __call__ method is (inspect does not
    # look through instances on 3.11).
    call = (
        inner
        if inspect.isroutine(inner) or inspect.isclass(inner)
        else getattr(inner, "__call__", inner)  # noqa: B004
    )
    if inspect.isasyncgenfunction(call):
        shape = Shape.ASYNC_GEN
    elif inspect.iscoroutinefunction(call):
        shape = Shape.COROUTINE
    elif inspect.isgeneratorfunction(call):
        shape = Shape.SYNC_GEN
    else:
        shape = Shape.SYNC
    try:
        sig: inspect.Signature | None = inspect.signature(fn)
    except (TypeError, ValueError):  # some builtins have no signature
        sig = None
    params = list(sig.parameters.values()) if sig else []
    upstream = (
        bool(params)
        and params[0].name == "self"
        and params[0].kind
        in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
        )
    )
    wants_processor = (
        not upstream
        and sig is not None
        and "processor" in sig.parameters
        and sig.parameters["processor"].kind
        in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    )
    return Signature(shape, upstream, wants_processor, callable_name(fn), sig)


#: Names a plain-style function can declare to receive run objects instead of args.
INJECTABLE = ("processor", "context")


def injected_names(
    sig: Signature, args: Collection[str], available: Collection[str], is_source: bool
) -> tuple[str, ...]:
    """The parameters of a plain-style function the run fills in by name.

    ``available`` are the names the run offers (``processor``, ``context`` and
    the run's resources). A parameter is filled in when it can be passed by
    keyword, is not the item (a transform's first parameter) and is not given
    in ``args``.
    """
    if sig.upstream or sig.signature is None:
        return ()
    params = list(sig.signature.parameters.values())
    if not is_source and params and params[0].kind is not inspect.Parameter.KEYWORD_ONLY:
        params = params[1:]
    keyword = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return tuple(
        p.name for p in params if p.kind in keyword and p.name in available and p.name not in args
    )


def check_args(
    sig: Signature, args: dict[str, Any], is_source: bool, injected: Collection[str] = ()
) -> str | None:
    """Return a message if ``args`` do not fit how the function will be called."""
    if sig.signature is None:
        return None
    if sig.upstream:
        positional: tuple[Any, ...] = (None, None)  # (processor, q_elt or output_q)
    elif is_source:
        positional = ()
    else:
        positional = (None,)  # the item
    kwargs = dict(args)
    if sig.wants_processor:
        kwargs["processor"] = None
    for name in injected:
        kwargs[name] = None
    try:
        sig.signature.bind(*positional, **kwargs)
    except TypeError as exc:
        if sig.upstream:
            how = (
                "coro(processor, output_q, **args)"
                if is_source
                else "coro(processor, q_elt, **args)"
            )
        elif is_source:
            how = "coro(**args)"
        else:
            how = "coro(item, **args)"
        return f"args do not fit {sig.name}{sig.signature}: {exc} (called as {how})"
    return None
