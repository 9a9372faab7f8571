"""The demo server against hostile clients (issue 9): each test is one defect found from outside.

Output amplification, clients that never read, deeply nested payloads, a
client emitting ``disconnect``, log flooding, and shutdown with clients that
never read. Each test failed on the server before the fix (see the closing
note of issue 9); the decisions are in docs/demos.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import signal
import sys
from collections import Counter
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
import socketio
from sio.limits import Limits
from sio_harness import (
    DEMOS,
    STRINGS,
    RawClient,
    SilentClient,
    doubling_graph,
    event_frame,
    expected_results,
    original_graph,
)


async def until(condition: Callable[[], bool]) -> None:
    """Wait until ``condition()`` holds (the per-test timeout bounds the wait)."""
    while not condition():
        await asyncio.sleep(0.01)


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Log records that carry a traceback (exc_info) or print one."""
    return [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.exc_info or "Traceback" in r.getMessage()
    ]


# -- output amplification ---------------------------------------------------------------------------


async def test_a_result_over_the_result_limit_stops_the_graph(start_server, connect):
    # 1,000 characters doubled 13 times would be an 8 MB result (the issue's
    # 51 KB message took the server from 56 MB to 421 MB).
    served = await start_server(delay_scale=0)
    client = await connect(served)
    finished = served.watch("finished")

    error = await client.refused(doubling_graph(["x" * 1000], 13))

    # c_k returns 1001 * 2**(k+1) - 1 characters; c8's is the first over 256 KiB.
    assert error["kind"] == "limit"
    assert error["node"] == "c8"
    assert error["message"] == (
        "graph stopped: node 'c8' produced a result of 512,513 bytes; at most 262,144 per result"
    )
    assert client.results == []
    event = await finished
    assert event.outcome == "limit"
    assert event.result.status == "failed"
    assert event.result.stats["c9"].received == 0
    assert served.server.running() == []
    await client.done(original_graph(["after"]))  # the connection stays usable


async def test_results_over_the_run_limit_stop_the_graph(start_server, connect):
    # 50 strings doubled 6 times: each result fits (64 KB), all of them do not (6.3 MB).
    limits = Limits()
    served = await start_server(limits, delay_scale=0)
    client = await connect(served)
    finished = served.watch("finished")

    error = await client.refused(doubling_graph(["y" * 1000] * 50, 6))

    assert error["kind"] == "limit"
    assert re.fullmatch(
        r"graph stopped: node 'c[0-5]' took the graph's results to [\d,]+ bytes; "
        r"at most 4,194,304 per run",
        error["message"],
    ), error["message"]
    event = await finished
    assert event.outcome == "limit"
    made = sum(stats.emitted for name, stats in event.result.stats.items() if name != "inp")
    assert made < 6 * 50  # stopped before every node made every result
    sent = sum(len(json.dumps(r)) for r in client.results)
    assert sent <= limits.max_run_bytes
    assert served.server.running() == []


# -- clients that never read ----------------------------------------------------------------------


async def test_clients_that_never_read_are_dropped_and_their_queues_stay_bounded(start_server):
    limits = Limits(
        max_strings=200,
        max_payload_bytes=512 * 1024,
        max_result_bytes=128 * 1024,
        max_run_bytes=64 * 1024 * 1024,
        max_queued_bytes=256 * 1024,
        max_queued_packets=1024,
    )
    served = await start_server(limits, delay_scale=0)
    started: list[Any] = []
    finished: list[Any] = []
    served.server.subscribe(lambda e: (started if e.kind == "started" else finished).append(e))
    # Each graph sends 200 results of 64 KB (12.8 MB) to a client that reads nothing.
    message = event_frame("process_msg", doubling_graph(["z" * 1000] * 200, 6))
    clients = [await SilentClient.connect(served.port) for _ in range(5)]
    try:
        for client in clients:
            for _ in range(3):
                await client.send(message)
        await until(lambda: len({e.sid for e in started}) == 5)
        await until(lambda: len(finished) == len(started) and not served.server.running())

        assert Counter(e.outcome for e in finished) == {"stopped": len(started)}
        stats = served.server.queue_stats
        assert len(stats.dropped) == 5
        assert 0 < stats.peak_bytes <= limits.max_queued_bytes
        assert stats.peak_packets <= limits.max_queued_packets
        assert served.server.clients == frozenset()
    finally:
        for client in clients:
            client.close()


async def test_a_polling_client_that_never_polls_is_dropped_too(start_server):
    limits = Limits(max_result_bytes=64 * 1024, max_queued_bytes=128 * 1024)
    served = await start_server(limits, delay_scale=0)
    finished = served.watch("finished")
    endpoint = f"{served.url}/socket.io/?EIO=4&transport=polling"
    async with aiohttp.ClientSession() as session:
        async with session.get(endpoint) as response:
            opened = await response.text()
        sid = json.loads(opened[1:])["sid"]
        for body in ("40", event_frame("process_msg", doubling_graph(["p" * 1000] * 50, 5))):
            async with session.post(f"{endpoint}&sid={sid}", data=body) as response:
                assert response.status == 200
        # ... and never sends the GET that would take the results.

        event = await finished

    assert event.outcome == "stopped"
    assert served.server.queue_stats.dropped == [sid]
    assert served.server.queue_stats.peak_bytes <= limits.max_queued_bytes
    assert served.server.clients == frozenset()


# -- deeply nested payloads -----------------------------------------------------------------------


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    ("depth", "shown"), [(5000, "more than 32 levels"), (100, "more than 32 levels")]
)
async def test_deeply_nested_message_is_answered_and_nothing_is_logged_with_a_traceback(
    start_server, caplog, depth, shown
):
    # 5,000 levels make the JSON decoder raise RecursionError inside socket.io;
    # 100 levels decode, and the server's own depth limit answers.
    served = await start_server()
    client = await RawClient.connect(served)
    try:
        await client.send(f'42["process_msg",{nested(depth)}]')
        await client.send(event_frame("process_msg", original_graph(["still", "here"])))

        # Answers come in order: the refusal first, then the next graph's results.
        name, error = await client.event()
        assert name == "pipeline_error", error
        assert error["kind"] == "limit"
        assert error["run"] is None
        assert f"message is nested too deeply: {shown}" in error["message"]
        results = []
        while (answer := await client.event())[0] == "recv":
            results.append(answer[1])
        assert answer[0] == "pipeline_done"
        assert Counter(results) == expected_results(["still", "here"])
    finally:
        await client.close()
    assert tracebacks(caplog) == []


async def test_deeply_nested_engineio_frame_closes_the_connection_without_traceback(
    start_server, connect, caplog
):
    served = await start_server()
    client = await RawClient.connect(served)
    try:
        await client.send("4" + nested(5000))  # engine.io decodes this one itself

        assert await client.frame() is None  # closed
    finally:
        await client.close()
    assert tracebacks(caplog) == []
    other = await connect(served)  # the server keeps serving
    await other.done(original_graph(["next"]))


# -- a client that emits 'disconnect' -------------------------------------------------------------


@pytest.mark.parametrize("name", ["disconnect", "connect", "connect_error"])
async def test_client_emitting_a_reserved_event_keeps_its_connection_and_answers(
    start_server, connect, caplog, name
):
    served = await start_server()
    client = await connect(served)
    sid = client.sio.get_sid()

    await client.sio.emit(name)
    # call() returns once the server has handled process_msg (its ack):
    # by then the reserved event, sent first, has been handled too.
    await client.sio.call("process_msg", (original_graph(STRINGS),), timeout=30)

    assert sid in served.server.clients
    event, done = await client.answer()
    assert event == "pipeline_done", done
    assert Counter(client.results) == expected_results(STRINGS)
    lines = [r.getMessage() for r in caplog.records if "reserved event" in r.getMessage()]
    assert len(lines) == 1 and repr(name) in lines[0]
    assert tracebacks(caplog) == []


# -- log flooding -----------------------------------------------------------------------------------


def garbage_frames() -> list[str]:
    """22 frames of about 60 bytes that are not what socket.io clients send."""
    rng = random.Random(9)
    made = [
        "".join(chr(rng.randrange(32, 127)) for _ in range(60)) for _ in range(8)
    ]  # random printable text (engine.io rejects most of it)
    made += [
        "x" * 60,
        "9" + "a" * 59,
        "4" + "[" * 59,  # engine.io parses this JSON itself
        "42" + '{"nodes":' * 6 + "1",  # not an event list
        "42" + json.dumps({"event": "process_msg", "data": "x" * 30}),
        "42" + json.dumps([5, "x" * 50]),  # event name not a string
        "42[" + "1," * 28 + "1",  # broken JSON
        "44" + json.dumps({"message": "x" * 40}),  # CONNECT_ERROR from a client
        "47" + "x" * 58,  # unknown socket.io packet type
        "45-" + json.dumps(["x" * 50]),  # bad binary header
        "40" + "{" * 58,  # CONNECT with broken JSON
        "2" + "[" * 59,  # PING with broken JSON
        "0" + json.dumps({"sid": "x" * 45}),  # OPEN from a client
        "42" + "]" * 58,
    ]
    assert len(made) == 22
    return made


async def test_garbage_frames_give_at_most_one_short_line_each_rate_limited(start_server, caplog):
    caplog.set_level(logging.INFO)
    served = await start_server(Limits(bad_frames_logged=10))

    for frame in garbage_frames():
        client = await RawClient.connect(served)
        try:
            await client.send(frame)
            # A frame after it: answered if the garbage left the connection open.
            await client.send('42["process_msg",null]')
            answer = await client.event()
            assert answer is None or answer[0] == "pipeline_error"
        finally:
            await client.close()

    assert tracebacks(caplog) == []
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert all("\n" not in r.getMessage() and len(r.getMessage()) <= 160 for r in warnings)
    assert len(warnings) == 10  # the burst; the other bad frames are counted, not logged
    assert served.server.sio.frame_log.total_suppressed >= 5


# -- shutdown whatever the clients do ---------------------------------------------------------------


@pytest.mark.parametrize(
    "signals",
    [[signal.SIGINT], [signal.SIGTERM], [signal.SIGINT, signal.SIGINT]],
    ids=["SIGINT", "SIGTERM", "SIGINT twice"],
)
async def test_signal_ends_the_server_within_5_s_with_clients_that_never_read(signals):
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(DEMOS / "server.py"),
        "--port",
        "0",
        "--delay-scale",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    log_lines: list[str] = []

    async def read_log() -> None:
        assert proc.stderr is not None
        async for line in proc.stderr:
            log_lines.append(line.decode())

    reader = asyncio.ensure_future(read_log())
    clients: list[SilentClient] = []
    try:
        line = (await proc.stdout.readline()).decode()
        match = re.search(r"http://\S+:(\d+)", line)
        assert match, line
        port = int(match.group(1))
        # Each graph sends 50 results of 16 KB; each client reads its first
        # result, then nothing more.
        message = event_frame("process_msg", doubling_graph(["w" * 1000] * 50, 4))
        for _ in range(3):
            client = await SilentClient.connect(port)
            clients.append(client)
            await client.send(message)
            await client.read_until(b'"recv"')
        # And one that never finishes its HTTP request.
        half = await SilentClient.connect(port)
        clients.append(half)

        proc.send_signal(signals[0])
        for sig in signals[1:]:  # once the shutdown is under way (graphs stopping)
            await until(lambda: any("stopped" in line for line in log_lines))
            proc.send_signal(sig)
        await asyncio.wait_for(proc.wait(), 5.0)

        assert proc.returncode == 0
        await reader
        assert not [line for line in log_lines if "Traceback" in line], "".join(log_lines)
    finally:
        for client in clients:
            client.close()
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)


# -- clients at once ---------------------------------------------------------------------------------


async def test_clients_past_max_clients_are_refused_and_the_others_are_served(
    start_server, connect
):
    served = await start_server(Limits(max_clients=2))
    first, second = await connect(served), await connect(served)

    with pytest.raises(socketio.exceptions.ConnectionError, match="503"):
        await connect(served)

    await first.done(original_graph(["one"]))
    await second.done(original_graph(["two"]))
