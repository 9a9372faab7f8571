"""The socket.io demo server: clients send a graph, results stream back as they are made.

Wire-compatible with clients written for the original ``pipelines`` demo:

* the client emits ``process_msg`` with a graph in the upstream format, whose
  ``coro`` values name the demo functions (``ProcessFunc.inputcoro`` ...
  ``ProcessFunc.outputcoro``) and whose source takes
  ``args: {strings_from_client: [...]}``;
* every value that reaches ``ProcessFunc.outputcoro`` is emitted back to that
  client only, as event ``recv``.

Beyond the original, the server emits ``pipeline_done`` (per-node stats) when
a graph finishes and ``pipeline_error`` (a message, plus the key paths of
spec problems) when a graph is refused or fails; original clients ignore both.

What a client sends is never trusted: coroutine names resolve only through
:data:`REGISTRY` (a dict; no attribute lookup, no import), only ``nodes`` /
``graph`` and per node only ``coro`` / ``args`` / ``properties`` are accepted,
the server sets concurrency and queue sizes, and :class:`Limits` bounds what
one client can ask for. A client that disconnects has its graphs stopped.

Run it with ``python demos/server.py [--host 127.0.0.1] [--port 8080] [--delay-scale 1]``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import engineio
import socketio
from aiohttp import web

from pipelines import PipelineError, Plumber, Problem, Processor, RunResult, SpecError

__all__ = [
    "REGISTRY",
    "SERVER_KEY",
    "DemoServer",
    "Limits",
    "ProcessFunc",
    "RunEvent",
    "SocketServer",
    "create_app",
    "main",
    "serve",
]

log = logging.getLogger("pipelines.demo.server")

#: What a client may put in its message and in each node; everything else is refused.
CLIENT_TOP_KEYS = ("nodes", "graph")
CLIENT_NODE_KEYS = ("coro", "args", "properties")
INPUT_CORO = "ProcessFunc.inputcoro"
MAX_REPORTED_PROBLEMS = 50


# -- the demo's functions ----------------------------------------------------------


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
        return q_elt[0][::-1]

    @classmethod
    async def coro2(cls, self: Processor, q_elt: tuple[Any, ...]) -> str:
        await asyncio.sleep(2 * self.env_vars["delay_scale"])
        return q_elt[0].upper()

    @classmethod
    async def coro3(cls, self: Processor, q_elt: tuple[Any, ...]) -> str:
        await asyncio.sleep(1 * self.env_vars["delay_scale"])
        return q_elt[0] + "-" + q_elt[0][::-1]

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


def registry_lookup(
    registry: Mapping[str, Callable[..., Any]],
) -> Callable[[Any], Callable[..., Any]]:
    """A ``coro_map`` that knows exactly the names of ``registry``."""
    known = ", ".join(sorted(registry))

    def lookup(name: Any) -> Callable[..., Any]:
        if not isinstance(name, str):
            raise TypeError(f"a coroutine is named by a string, got {type(name).__name__}")
        try:
            return registry[name]
        except KeyError:
            raise LookupError(f"not a demo coroutine; known: {known}") from None

    return lookup


# -- limits and client input -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limits:
    """What one client may ask of the server.

    ``concurrency`` and ``queue_size`` are set by the server on every node
    (clients cannot set node options). ``max_run_seconds`` stops a graph that
    runs longer. Payloads larger than ``max_payload_bytes`` (as JSON) are
    refused with a clear error; the transport itself drops messages larger
    than ``transport_max_bytes``.
    """

    max_nodes: int = 16
    max_strings: int = 50
    max_string_length: int = 1000
    max_payload_bytes: int = 64 * 1024
    max_graphs_per_client: int = 2
    max_run_seconds: float = 120.0
    concurrency: int = 8
    queue_size: int = 64

    @property
    def transport_max_bytes(self) -> int:
        return max(4 * self.max_payload_bytes, 1_000_000)


_REFUSAL_HEADS = {"spec": "invalid graph", "limit": "limit exceeded", "server": "graph not started"}


class Refused(Exception):
    """A client's message is refused before it runs.

    ``kind`` is ``spec`` (invalid graph), ``limit`` or ``server``;
    ``problems`` lists what is wrong, each with its key path.
    """

    def __init__(self, kind: str, problems: list[Problem]) -> None:
        self.kind = kind
        self.problems = problems
        count = len(problems)
        shown = problems[:MAX_REPORTED_PROBLEMS]
        lines = [f"{_REFUSAL_HEADS[kind]} ({count} problem{'s' if count != 1 else ''})"]
        lines += [f"  - {p}" for p in shown]
        if count > len(shown):
            lines.append(f"  ... and {count - len(shown)} more")
        super().__init__("\n".join(lines))


def _payload_size(data: Any) -> int:
    def measure(obj: Any) -> Any:  # binary attachments count by their length
        if isinstance(obj, bytes | bytearray | memoryview):
            return "x" * len(obj)
        return repr(obj)

    return len(json.dumps(data, separators=(",", ":"), default=measure).encode())


def check_limits(data: Any, limits: Limits) -> None:
    """Refuse a message that asks for more than ``limits`` allow (before any parsing)."""
    try:
        size = _payload_size(data)
    except RecursionError:
        raise Refused("limit", [Problem("", "message is nested too deeply")]) from None
    if size > limits.max_payload_bytes:
        raise Refused(
            "limit",
            [
                Problem(
                    "", f"message is {size} bytes; at most {limits.max_payload_bytes} are accepted"
                )
            ],
        )
    if not isinstance(data, Mapping) or not isinstance(data.get("nodes"), Mapping):
        return  # shape problems are reported by sanitize()
    nodes = data["nodes"]
    problems: list[Problem] = []
    if len(nodes) > limits.max_nodes:
        problems.append(
            Problem("nodes", f"{len(nodes)} nodes; at most {limits.max_nodes} per graph")
        )
    total = 0
    for name, node in nodes.items():
        if not isinstance(node, Mapping) or node.get("coro") != INPUT_CORO:
            continue
        args = node.get("args")
        strings = args.get("strings_from_client") if isinstance(args, Mapping) else None
        if not isinstance(strings, list):
            continue
        total += len(strings)
        for i, s in enumerate(strings):
            if isinstance(s, str) and len(s) > limits.max_string_length:
                problems.append(
                    Problem(
                        f"nodes.{name}.args.strings_from_client.{i}",
                        f"{len(s)} characters; at most {limits.max_string_length}",
                    )
                )
    if total > limits.max_strings:
        problems.append(
            Problem("nodes", f"{total} input strings; at most {limits.max_strings} per graph")
        )
    if problems:
        raise Refused("limit", problems)


def sanitize(data: Any, limits: Limits) -> tuple[dict[str, Any], list[Problem]]:
    """Keep what a client may send; return (spec for the engine, problems found).

    The spec gets the server's ``defaults`` (concurrency, queue size). Keys a
    client may not send are reported, never passed on.
    """
    if not isinstance(data, Mapping):
        got = type(data).__name__
        return {}, [Problem("", f"a graph must be a mapping with 'nodes' and 'graph', got {got}")]
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
                        f"the server runs every node with concurrency {limits.concurrency})",
                    )
                )
        clean[name] = {key: node[key] for key in CLIENT_NODE_KEYS if key in node}
        if node.get("coro") == INPUT_CORO:
            args = node.get("args")
            strings = args.get("strings_from_client") if isinstance(args, Mapping) else None
            if not isinstance(strings, list) or not all(isinstance(s, str) for s in strings):
                problems.append(
                    Problem(f"nodes.{name}.args.strings_from_client", "must be a list of strings")
                )
    spec["nodes"] = clean
    return spec, problems


def build_plumber(
    data: Any,
    limits: Limits,
    env_vars: dict[str, Any],
    registry: Mapping[str, Callable[..., Any]] = REGISTRY,
) -> Plumber:
    """Check, sanitise, validate a client's message; return a Plumber or raise :class:`Refused`."""
    check_limits(data, limits)
    spec, problems = sanitize(data, limits)
    if not isinstance(data, Mapping):
        raise Refused("spec", problems)
    try:
        plumber = Plumber(spec, coro_map=registry_lookup(registry), env_vars=env_vars)
    except SpecError as exc:
        problems.extend(exc.problems)
    if problems:
        raise Refused("spec", problems)
    return plumber


# -- the server -----------------------------------------------------------------------


class _TrackedEngineIO(engineio.AsyncServer):
    """engine.io server that keeps the background tasks it starts.

    engine.io starts fire-and-forget tasks (a ping per client, socket.io
    event handlers) that can outlive the web app; keeping them lets
    :meth:`DemoServer.shutdown` cancel and await what is left.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.background: set[asyncio.Task[Any]] = set()

    def start_background_task(self, target: Any, *args: Any, **kwargs: Any) -> asyncio.Task[Any]:
        task = super().start_background_task(target, *args, **kwargs)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task


class SocketServer(socketio.AsyncServer):
    """socket.io server on :class:`_TrackedEngineIO` (see :meth:`DemoServer.shutdown`)."""

    eio: _TrackedEngineIO

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return _TrackedEngineIO


@dataclass(frozen=True, slots=True)
class RunEvent:
    """What :meth:`DemoServer.subscribe` callbacks receive.

    ``kind`` is ``started`` or ``finished``; for ``finished``, ``outcome`` is
    ``completed``, ``stopped`` (client gone or server shutting down),
    ``failed``, ``timeout`` or ``cancelled`` (stopped before it started), and
    ``result`` the :class:`~pipelines.RunResult` when ``run()`` returned one.
    """

    kind: str
    sid: str
    run_id: int
    outcome: str | None = None
    result: RunResult | None = None


@dataclass(eq=False)
class _Run:
    sid: str
    run_id: int
    plumber: Plumber
    task: asyncio.Task[None] | None = None
    stop_reason: str | None = None
    outcome: str | None = None
    result: RunResult | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class DemoServer:
    """Runs the graphs clients send: one :class:`~pipelines.Plumber` per message.

    ``running(sid=None)`` lists the Plumbers running now (of one client or
    all); ``subscribe(callback)`` calls ``callback(RunEvent)`` when a graph
    starts or finishes (tests and dashboards watch the server through it).
    """

    #: Seconds :meth:`shutdown` waits for clients to close their connections.
    CLOSE_TIMEOUT = 2.0

    def __init__(
        self,
        sio: SocketServer,
        limits: Limits,
        delay_scale: float,
        registry: Mapping[str, Callable[..., Any]] = REGISTRY,
    ) -> None:
        self.sio = sio
        self.limits = limits
        self.delay_scale = delay_scale
        self.registry = dict(registry)
        self._clients: set[str] = set()
        self._runs: dict[str, dict[int, _Run]] = {}
        self._ids = itertools.count(1)
        self._listeners: list[Callable[[RunEvent], Any]] = []
        self._closing = False
        self._shutdown_lock = asyncio.Lock()
        self._shut_down = False
        self._requests = 0  # HTTP requests in progress (a websocket is one long request)
        self._no_requests = asyncio.Event()
        self._no_requests.set()
        sio.on("connect", self._on_connect)
        sio.on("disconnect", self._on_disconnect)
        sio.on("process_msg", self._on_process_msg)

    # -- views --------------------------------------------------------------------

    def running(self, sid: str | None = None) -> list[Plumber]:
        """The Plumbers of the graphs running now, for one client or for all."""
        groups = [self._runs.get(sid, {})] if sid is not None else list(self._runs.values())
        return [run.plumber for group in groups for run in group.values()]

    @property
    def clients(self) -> frozenset[str]:
        """The sids of the clients connected now."""
        return frozenset(self._clients)

    def subscribe(self, callback: Callable[[RunEvent], Any]) -> Callable[[], None]:
        """Call ``callback(event)`` when a graph starts or finishes; returns an unsubscriber."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def _notify(self, event: RunEvent) -> None:
        for callback in list(self._listeners):
            try:
                callback(event)
            except Exception:
                log.exception("demo server: a run listener failed")

    # -- socket.io handlers ----------------------------------------------------------

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        if self._closing:
            return False
        self._clients.add(sid)
        log.info("client connected: %s", sid)
        return True

    async def _on_disconnect(self, sid: str, reason: Any = None) -> None:
        self._clients.discard(sid)
        runs = list(self._runs.get(sid, {}).values())
        log.info("client disconnected: %s (stopping %d running graph(s))", sid, len(runs))
        await asyncio.gather(*(self._stop(run, "disconnect") for run in runs))

    async def _on_process_msg(self, sid: str, *args: Any) -> None:
        if len(args) != 1:
            await self._error(
                sid, None, "spec", f"process_msg takes one argument (the graph), got {len(args)}"
            )
            return
        try:
            self._submit(sid, args[0])
        except Refused as exc:
            await self._error(sid, None, exc.kind, str(exc), problems=exc.problems)
        except Exception:
            log.exception("demo server: cannot start a graph for %s", sid)
            await self._error(sid, None, "server", "internal error while starting the graph")

    # -- runs ------------------------------------------------------------------------

    def _submit(self, sid: str, data: Any) -> None:
        env = {"sid": sid, "sio": self.sio, "delay_scale": self.delay_scale}
        plumber = build_plumber(data, self.limits, env, self.registry)
        # No await from here to the registration: a disconnect or a shutdown
        # cannot slip in between the checks and the run being registered.
        if self._closing or sid not in self._clients:
            raise Refused("server", [Problem("", "the server is shutting down")])
        runs = self._runs.setdefault(sid, {})
        if len(runs) >= self.limits.max_graphs_per_client:
            raise Refused(
                "limit",
                [
                    Problem(
                        "",
                        f"{len(runs)} graphs running for this client; "
                        f"at most {self.limits.max_graphs_per_client} at once",
                    )
                ],
            )
        run = _Run(sid, next(self._ids), plumber)
        runs[run.run_id] = run
        run.task = asyncio.get_running_loop().create_task(
            self._execute(run), name=f"demo:{sid}:{run.run_id}"
        )
        run.task.add_done_callback(lambda _: self._finished(run))
        self._notify(RunEvent("started", sid, run.run_id))

    async def _execute(self, run: _Run) -> None:
        sid = run.sid
        try:
            async with asyncio.timeout(self.limits.max_run_seconds):
                result = await run.plumber.run()
        except PipelineError as exc:
            run.outcome = "failed"
            await self._error(sid, run.run_id, "failed", str(exc), node=exc.node, item=exc.item)
            return
        except TimeoutError:
            run.outcome = "timeout"
            await self._error(
                sid,
                run.run_id,
                "timeout",
                f"graph stopped: it ran longer than {self.limits.max_run_seconds:g} s",
            )
            return
        run.result = result
        if result.status == "completed":
            run.outcome = "completed"
            await self._safe_emit(
                "pipeline_done",
                {
                    "run": run.run_id,
                    "status": result.status,
                    "duration": result.duration,
                    "stats": {name: stats.as_dict() for name, stats in result.stats.items()},
                },
                sid,
            )
        else:
            run.outcome = "stopped"
            if run.stop_reason == "shutdown":
                await self._error(
                    sid, run.run_id, "server", "graph stopped: the server is shutting down"
                )

    def _finished(self, run: _Run) -> None:
        group = self._runs.get(run.sid)
        if group is not None:
            group.pop(run.run_id, None)
            if not group:
                del self._runs[run.sid]
        if run.outcome is None:
            run.outcome = "cancelled"
        run.done.set()
        self._notify(RunEvent("finished", run.sid, run.run_id, run.outcome, run.result))

    async def _stop(self, run: _Run, reason: str) -> None:
        """Stop one run and return when its task has ended."""
        run.stop_reason = reason
        if run.plumber.running:
            await run.plumber.stop(drain=False)
        elif run.task is not None and not run.task.done():
            run.task.cancel()  # not started yet, or past run() and emitting
        await run.done.wait()

    @web.middleware
    async def track_requests(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """aiohttp middleware counting requests in progress (:meth:`shutdown` waits for them)."""
        self._requests += 1
        self._no_requests.clear()
        try:
            return await handler(request)
        finally:
            self._requests -= 1
            if not self._requests:
                self._no_requests.set()

    async def shutdown(self, app: web.Application | None = None) -> None:
        """Stop every graph, disconnect every client, end every socket.io background task.

        Idempotent. Also an ``on_shutdown`` handler of the app.
        """
        self._closing = True
        async with self._shutdown_lock:
            if self._shut_down:
                return
            runs = [run for group in self._runs.values() for run in group.values()]
            await asyncio.gather(*(self._stop(run, "shutdown") for run in runs))
            for sid in list(self._clients):
                await self.sio.disconnect(sid)
            if self.sio.eio.sockets:  # close the engine.io transports too
                await self.sio.eio.disconnect()
            # Let the clients close their websockets while aiohttp still reads
            # from them (it stops once its own shutdown starts).
            try:
                async with asyncio.timeout(self.CLOSE_TIMEOUT):
                    await self._no_requests.wait()
            except TimeoutError:
                log.warning(
                    "demo server: %d connection(s) still open after %g s",
                    self._requests,
                    self.CLOSE_TIMEOUT,
                )
            await self.sio.shutdown()
            current = asyncio.current_task()
            left = [task for task in self.sio.eio.background if task is not current]
            for task in left:
                task.cancel()
            await asyncio.gather(*left, return_exceptions=True)
            self._shut_down = True

    # -- sending -------------------------------------------------------------------------

    async def _error(
        self,
        sid: str,
        run_id: int | None,
        kind: str,
        message: str,
        *,
        problems: list[Problem] | None = None,
        node: str | None = None,
        item: str | None = None,
    ) -> None:
        payload: dict[str, Any] = {"run": run_id, "kind": kind, "message": message}
        if problems is not None:
            shown = problems[:MAX_REPORTED_PROBLEMS]
            payload["problems"] = [{"path": p.path, "message": p.message} for p in shown]
            if len(problems) > len(shown):
                payload["problems_left_off"] = len(problems) - len(shown)
        if node is not None:
            payload["node"] = node
            payload["item"] = item
        await self._safe_emit("pipeline_error", payload, sid)

    async def _safe_emit(self, event: str, data: Any, sid: str) -> None:
        if sid not in self._clients:
            return
        try:
            await self.sio.emit(event, data=data, to=sid)
        except Exception:  # a client that just left must not take the server down
            log.exception("demo server: cannot send %r to %s", event, sid)


SERVER_KEY = web.AppKey("pipelines_demo_server", DemoServer)


def create_app(
    limits: Limits | None = None,
    delay_scale: float = 1.0,
    registry: Mapping[str, Callable[..., Any]] = REGISTRY,
) -> tuple[web.Application, SocketServer]:
    """Build the aiohttp application and its socket.io server.

    ``delay_scale`` multiplies the demo's simulated I/O sleeps (tests use a
    small one). The :class:`DemoServer` is ``app[SERVER_KEY]``.

    To stop, await ``app[SERVER_KEY].shutdown()`` *before*
    ``runner.cleanup()``: aiohttp stops reading from every connection before
    it calls ``on_shutdown`` handlers, so a websocket closed from there only
    ends when the runner's ``shutdown_timeout`` expires. (``shutdown`` is
    also an ``on_shutdown`` handler, so ``web.run_app`` still ends cleanly,
    only slower.)
    """
    limits = limits or Limits()
    sio = SocketServer(async_mode="aiohttp", max_http_buffer_size=limits.transport_max_bytes)
    server = DemoServer(sio, limits, delay_scale, registry)
    app = web.Application(middlewares=[server.track_requests])
    sio.attach(app)
    app[SERVER_KEY] = server
    app.on_shutdown.append(server.shutdown)
    return app, sio


async def serve(
    host: str, port: int, *, limits: Limits | None = None, delay_scale: float = 1.0
) -> None:
    """Serve until SIGINT or SIGTERM, then stop every graph and client and return."""
    app, _ = create_app(limits, delay_scale)
    runner = web.AppRunner(app, shutdown_timeout=5.0)
    await runner.setup()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        for address in runner.addresses:
            print(
                f"serving socket.io on http://{address[0]}:{address[1]} (Ctrl-C to stop)",
                flush=True,
            )
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
    finally:
        await app[SERVER_KEY].shutdown()
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="pipelines socket.io demo server")
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to listen on (default: loopback only)"
    )
    parser.add_argument("--port", type=int, default=8080, help="port (0: any free port)")
    parser.add_argument(
        "--delay-scale",
        type=float,
        default=1.0,
        help="factor on the simulated I/O sleeps of coro1/2/3 (default 1: 3 s, 2 s, 1 s)",
    )
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    asyncio.run(serve(options.host, options.port, delay_scale=options.delay_scale))


if __name__ == "__main__":
    main()
