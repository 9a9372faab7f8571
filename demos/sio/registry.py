"""The demo's functions and the only names a client can use.

A client names a function by a string; :func:`registry_lookup` turns the
string into a function by a dict lookup and nothing else (no attribute
lookup, no import), so ``os.system`` or ``ProcessFunc.__init__`` resolve to
nothing.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import socketio

from pipelines import Processor

__all__ = ["INPUT_CORO", "REGISTRY", "ProcessFunc", "check_registry", "registry_lookup"]

#: The source of the original demo: its ``args.strings_from_client`` are what
#: a graph starts from (and what the admission limits count).
INPUT_CORO = "ProcessFunc.inputcoro"


class ProcessFunc:
    """The functions a client can name, in the upstream style ``(cls, self, q_elt)``.

    ``self`` is the node's :class:`~pipelines.Processor`; its ``env_vars``
    hold the client's ``sid``, the server's ``sio`` and ``delay_scale`` (the
    factor applied to the simulated I/O sleeps; 1.0 in the real demo).
    """

    @classmethod
    async def inputcoro(cls, self: Processor, q_out: Any, strings_from_client: list[str]) -> None:
        for string in strings_from_client:
            await q_out.put(string)

    @classmethod
    async def coro1(cls, self: Processor, q_elt: tuple[Any, ...]) -> str:
        await asyncio.sleep(3 * self.env_vars["delay_scale"])  # simulated I/O
        text: str = q_elt[0]
        return text[::-1]

    @classmethod
    async def coro2(cls, self: Processor, q_elt: tuple[Any, ...]) -> str:
        await asyncio.sleep(2 * self.env_vars["delay_scale"])
        text: str = q_elt[0]
        return text.upper()

    @classmethod
    async def coro3(cls, self: Processor, q_elt: tuple[Any, ...]) -> str:
        await asyncio.sleep(1 * self.env_vars["delay_scale"])
        text: str = q_elt[0]
        return text + "-" + text[::-1]

    @classmethod
    async def outputcoro(cls, self: Processor, q_elt: tuple[Any, ...]) -> None:
        sio: socketio.AsyncServer = self.env_vars["sio"]
        await sio.emit("recv", data=q_elt[0], to=self.env_vars["sid"])


#: The only names a client can use. Resolution is a dict lookup and nothing else.
REGISTRY: dict[str, Callable[..., Any]] = {
    "ProcessFunc.inputcoro": ProcessFunc.inputcoro,
    "ProcessFunc.coro1": ProcessFunc.coro1,
    "ProcessFunc.coro2": ProcessFunc.coro2,
    "ProcessFunc.coro3": ProcessFunc.coro3,
    "ProcessFunc.outputcoro": ProcessFunc.outputcoro,
}


def check_registry(registry: Mapping[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """A copy of ``registry``; raise TypeError unless it maps strings to coroutine functions.

    Only coroutine functions: the server measures what each call returns (see
    :class:`~sio.limits.OutputMeter`), which it does by awaiting the call.
    """
    bad = [
        repr(name)
        for name, fn in registry.items()
        if not isinstance(name, str) or not inspect.iscoroutinefunction(fn)
    ]
    if bad:
        raise TypeError(
            "a demo registry maps names to coroutine functions (async def); not: " + ", ".join(bad)
        )
    return dict(registry)


def registry_lookup(
    registry: Mapping[str, Callable[..., Any]],
    wrap: Callable[[Callable[..., Any]], Callable[..., Any]] | None = None,
) -> Callable[[Any], Callable[..., Any]]:
    """A ``coro_map`` that knows exactly the names of ``registry``.

    ``wrap`` (the run's output meter) is applied to each function found.
    """
    known = ", ".join(sorted(registry))

    def lookup(name: Any) -> Callable[..., Any]:
        if not isinstance(name, str):
            raise TypeError(f"a coroutine is named by a string, got {type(name).__name__}")
        try:
            fn = registry[name]
        except KeyError:
            raise LookupError(f"not a demo coroutine; known: {known}") from None
        return wrap(fn) if wrap is not None else fn

    return lookup
