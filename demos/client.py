"""The socket.io demo client: send the original demo's graph, print results as they arrive.

``python demos/client.py [--url http://127.0.0.1:8080] [--count 5]`` sends
``count`` random strings through ``inp -> coro1 -> (coro2, coro3) -> out``,
prints each result the server emits (event ``recv``) and exits when the
server reports ``pipeline_done`` (exit 0) or ``pipeline_error`` (exit 1).
Exit 2 means the server could not be reached or did not answer in time.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import socketio

__all__ = ["ClientRun", "ServerError", "original_graph", "random_strings", "run_client"]


def random_strings(count: int, seed: int | None = None) -> list[str]:
    """``count`` random 128-bit hex strings, like the original client sent."""
    rng = random.Random(seed)
    return [hex(rng.getrandbits(128)) for _ in range(count)]


def original_graph(strings: list[str]) -> dict[str, Any]:
    """The graph the original client sent, in the upstream format."""
    return {
        "nodes": {
            "inp": {"coro": "ProcessFunc.inputcoro", "args": {"strings_from_client": strings}},
            "coro1": {"coro": "ProcessFunc.coro1"},
            "coro2": {"coro": "ProcessFunc.coro2"},
            "coro3": {"coro": "ProcessFunc.coro3"},
            "out": {"coro": "ProcessFunc.outputcoro", "properties": {"aggregate_inputs": False}},
        },
        "graph": {
            "inp": ("coro1",),
            "coro1": ("coro2", "coro3"),
            "coro2": ("out",),
            "coro3": ("out",),
            "out": None,
        },
    }


class ServerError(Exception):
    """The server answered ``pipeline_error``; ``payload`` is what it sent."""

    def __init__(self, payload: Any) -> None:
        self.payload = payload
        message = payload.get("message") if isinstance(payload, dict) else None
        super().__init__(message or repr(payload))


@dataclass
class ClientRun:
    """One exchange: the results in arrival order, the server's summary, the time taken."""

    results: list[Any] = field(default_factory=list)
    done: dict[str, Any] = field(default_factory=dict)
    elapsed: float = 0.0


async def run_client(
    url: str,
    graph: dict[str, Any],
    *,
    on_result: Callable[[Any], None] | None = None,
    timeout: float | None = 60.0,
) -> ClientRun:
    """Send ``graph`` as ``process_msg``; collect ``recv`` values until ``pipeline_done``.

    Raises :class:`ServerError` on ``pipeline_error``, ``ConnectionError``
    when the server closes the connection first, ``TimeoutError`` after
    ``timeout`` seconds and ``socketio.exceptions.ConnectionError`` when the
    server cannot be reached. ``elapsed`` runs from sending to ``pipeline_done``.
    """
    run = ClientRun()
    loop = asyncio.get_running_loop()
    finished: asyncio.Future[dict[str, Any]] = loop.create_future()
    sio = socketio.AsyncClient(reconnection=False)

    async def recv(data: Any) -> None:
        run.results.append(data)
        if on_result is not None:
            on_result(data)

    async def pipeline_done(data: Any) -> None:
        if not finished.done():
            finished.set_result(data)

    async def pipeline_error(data: Any) -> None:
        if not finished.done():
            finished.set_exception(ServerError(data))

    async def disconnect(reason: Any = None) -> None:
        if not finished.done():
            finished.set_exception(ConnectionError("the server closed the connection"))

    sio.on("recv", recv)
    sio.on("pipeline_done", pipeline_done)
    sio.on("pipeline_error", pipeline_error)
    sio.on("disconnect", disconnect)
    await sio.connect(url, wait_timeout=10)
    try:
        started = time.monotonic()
        await sio.emit("process_msg", graph)
        async with asyncio.timeout(timeout):
            run.done = await finished
        run.elapsed = time.monotonic() - started
    finally:
        await sio.disconnect()
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="pipelines socket.io demo client")
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--count", type=int, default=5, help="how many random strings to send")
    parser.add_argument("--seed", type=int, default=None, help="seed of the random strings")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the graph")
    options = parser.parse_args(argv)

    strings = random_strings(options.count, options.seed)
    print(f"sending {len(strings)} strings: {strings}", flush=True)

    def show(value: Any) -> None:
        print(f"received: {value}", flush=True)

    try:
        run = asyncio.run(
            run_client(
                options.url, original_graph(strings), on_result=show, timeout=options.timeout
            )
        )
    except ServerError as exc:
        print(f"pipeline_error: {exc}", file=sys.stderr)
        return 1
    except (socketio.exceptions.ConnectionError, ConnectionError, TimeoutError) as exc:
        print(f"error: {type(exc).__name__}: {exc or 'no answer in time'}", file=sys.stderr)
        return 2
    done = run.done
    print(
        f"pipeline_done: {len(run.results)} results in {run.elapsed:.2f} s "
        f"(server run {done.get('duration', 0):.2f} s)",
        flush=True,
    )
    for name, stats in done.get("stats", {}).items():
        print(
            f"  {name:8} received={stats['received']} emitted={stats['emitted']} "
            f"peak_in_flight={stats['peak_in_flight']}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
