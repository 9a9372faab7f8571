"""The socket.io demo server (demos/sio/, run by demos/server.py) and client, end to end.

Each test starts the real aiohttp + socket.io server on a free loopback port
and talks to it with real ``socketio.AsyncClient`` instances. The demo's
simulated I/O sleeps are scaled down (``delay_scale``) except in the one test
that measures the original exchange with the real durations. The server's
hardening against hostile clients is in test_sio_hardening.py.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from sio.limits import Limits
from sio_harness import (
    DEMOS,
    STRINGS,
    Served,
    demo_client,
    expected_results,
    original_graph,
    paths,
)

# -- the original protocol ------------------------------------------------------------------------


async def test_original_client_graph_receives_all_ten_results(start_server, connect):
    served = await start_server()
    client = await connect(served)

    done = await client.done(original_graph(STRINGS))

    assert Counter(client.results) == expected_results(STRINGS)
    assert done["status"] == "completed"
    assert done["stats"]["inp"]["emitted"] == 5
    assert done["stats"]["out"]["received"] == 10
    assert served.server.running() == []


async def test_original_exchange_with_real_durations_takes_under_ten_seconds(start_server):
    served = await start_server(delay_scale=1.0)
    strings = demo_client.random_strings(5, seed=4)

    run = await demo_client.run_client(served.url, demo_client.original_graph(strings), timeout=30)

    assert Counter(run.results) == expected_results(strings)
    assert run.done["status"] == "completed"
    # coro1 (3 s) then coro2 (2 s) in parallel over the 5 strings: about 5 s.
    assert run.elapsed < 10, f"exchange took {run.elapsed:.2f} s"


async def test_server_sets_concurrency_within_its_limit(start_server, connect):
    served = await start_server(Limits(concurrency=3))
    client = await connect(served)

    done = await client.done(original_graph([f"s{i}" for i in range(7)]))

    assert done["stats"]["coro1"]["peak_in_flight"] == 3
    assert all(stats["peak_in_flight"] <= 3 for stats in done["stats"].values())


async def test_two_clients_receive_only_their_own_results(start_server, connect):
    served = await start_server(delay_scale=0.05)
    first, second = await connect(served), await connect(served)
    mine, theirs = ["one", "two", "three"], ["uno", "dos", "tres", "cuatro"]

    done_first, done_second = await asyncio.gather(
        first.done(original_graph(mine)), second.done(original_graph(theirs))
    )

    assert Counter(first.results) == expected_results(mine)
    assert Counter(second.results) == expected_results(theirs)
    assert done_first["run"] != done_second["run"]


async def test_client_can_send_graphs_one_after_another(start_server, connect):
    served = await start_server()
    client = await connect(served)

    await client.done(original_graph(["a1"]))
    await client.done(original_graph(["b2"]))

    assert Counter(client.results) == expected_results(["a1", "b2"])


async def test_failing_graph_is_reported_with_the_node(start_server, connect):
    served = await start_server()
    client = await connect(served)
    graph = {
        "nodes": {
            "inp": {"coro": "ProcessFunc.inputcoro", "args": {"strings_from_client": ["x"]}},
            "out": {"coro": "ProcessFunc.outputcoro"},
            "up": {"coro": "ProcessFunc.coro2"},  # gets out's None and fails
        },
        "graph": {"inp": ["out"], "out": ["up"], "up": None},
    }

    error = await client.refused(graph)

    assert error["kind"] == "failed"
    assert error["node"] == "up"
    assert "NoneType" in error["message"]
    await client.done(original_graph(["still-serving"]))


# -- disconnect and shutdown ----------------------------------------------------------------------


async def test_disconnect_mid_run_stops_that_clients_graph_only(start_server, connect):
    served = await start_server(Limits(max_strings=100), delay_scale=0.1)
    leaving, staying = await connect(served), await connect(served)
    stopped = served.watch("finished", "stopped")
    long_graph = original_graph([f"s{i}" for i in range(100)])  # about 4 s at this scale

    await leaving.sio.emit("process_msg", long_graph)
    await leaving.first_result  # the graph is mid-run
    staying_done = asyncio.ensure_future(staying.done(original_graph(STRINGS)))
    leaving_sid = leaving.sio.get_sid()
    await leaving.sio.disconnect()
    event = await stopped

    assert event.sid == leaving_sid
    assert event.result.status == "stopped"
    assert event.result.stats["out"].received < 200
    assert served.server.running(leaving_sid) == []
    await staying_done
    assert Counter(staying.results) == expected_results(STRINGS)


async def test_server_shutdown_stops_graphs_and_leaves_no_task(
    start_server, connect, no_pending_tasks
):
    served = await start_server(delay_scale=1.0)
    client = await connect(served)
    started = served.watch("started")
    finished = served.watch("finished")

    await client.sio.emit("process_msg", original_graph(STRINGS))
    await started
    await served.server.shutdown()
    await served.runner.cleanup()

    assert (await finished).outcome == "stopped"
    event, error = await client.answer()
    assert event == "pipeline_error"
    assert error["kind"] == "server"
    await client.disconnected
    await client.sio.disconnect()
    assert served.server.running() == []
    no_pending_tasks()


# -- what a client may name -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "coro",
    [
        "os.system",
        "__builtins__.eval",
        "ProcessFunc.__init__",
        "ProcessFunc.coro1.__globals__",
        "ProcessFunc",
        "pipelines_demo_server.ProcessFunc.coro1",
        "processfunc.coro1",
        "os:system",
        "this:s",  # an import string: importing 'this' would print the Zen of Python
        ["ProcessFunc.coro1"],
        {"name": "ProcessFunc.coro1"},
        42,
        True,
    ],
)
async def test_names_outside_the_registry_are_refused(start_server, connect, coro):
    served = await start_server()
    client = await connect(served)
    graph = original_graph(STRINGS)
    graph["nodes"]["coro1"]["coro"] = coro
    imported_before = "this" in sys.modules

    error = await client.refused(graph)

    assert error["kind"] == "spec"
    assert paths(error) == ["nodes.coro1.coro"]
    assert ("this" in sys.modules) == imported_before
    assert client.results == []


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("concurrency", 1000),
        ("queue_size", 0),
        ("executor", "process"),
        ("retries", 5),
        ("timeout", 1),
        ("on_error", "skip"),
        ("collect", True),
        ("ordered", False),
    ],
)
async def test_node_options_from_clients_are_refused(start_server, connect, option, value):
    served = await start_server()
    client = await connect(served)
    graph = original_graph(STRINGS)
    graph["nodes"]["coro1"][option] = value

    error = await client.refused(graph)

    assert error["kind"] == "spec"
    assert paths(error) == [f"nodes.coro1.{option}"]


@pytest.mark.parametrize("key", ["defaults", "env", "name", "version", "description", "extra"])
async def test_top_level_keys_other_than_nodes_and_graph_are_refused(start_server, connect, key):
    served = await start_server()
    client = await connect(served)
    graph = original_graph(STRINGS)
    graph[key] = {"concurrency": 1000} if key == "defaults" else {"sid": "someone-else"}

    error = await client.refused(graph)

    assert paths(error) == [key]


# -- limits ---------------------------------------------------------------------------------------


async def test_too_many_nodes_is_refused(start_server, connect):
    served = await start_server(Limits(max_nodes=4))
    client = await connect(served)

    error = await client.refused(original_graph(STRINGS))

    assert error["kind"] == "limit"
    assert paths(error) == ["nodes"]
    assert "at most 4" in error["message"]


async def test_too_many_strings_is_refused(start_server, connect):
    served = await start_server(Limits(max_strings=4))
    client = await connect(served)

    error = await client.refused(original_graph(STRINGS))

    assert error["kind"] == "limit"
    assert "5 input strings; at most 4" in error["message"]


async def test_too_long_string_is_refused(start_server, connect):
    served = await start_server(Limits(max_string_length=8))
    client = await connect(served)

    error = await client.refused(original_graph(["short", "far-too-long-string"]))

    assert error["kind"] == "limit"
    assert paths(error) == ["nodes.inp.args.strings_from_client.1"]


async def test_too_large_payload_is_refused(start_server, connect):
    served = await start_server(Limits(max_payload_bytes=2000))
    client = await connect(served)
    graph = original_graph(["x" * 900, "y" * 900, "z" * 900])
    size = len(json.dumps(graph, separators=(",", ":")))

    error = await client.refused(graph)

    assert error["kind"] == "limit"
    assert f"message is {size} bytes; at most 2000" in error["message"]


async def test_concurrent_graphs_per_client_are_limited(start_server, connect):
    served = await start_server(Limits(max_graphs_per_client=1), delay_scale=0.15)
    client = await connect(served)
    started = served.watch("started")

    await client.sio.emit("process_msg", original_graph(["first"]))
    await started
    event, error = await client.submit(original_graph(["second"]))
    assert event == "pipeline_error"
    assert error["kind"] == "limit"
    assert "at most 1 at once" in error["message"]

    event, _ = await client.answer()  # the first graph was not disturbed
    assert event == "pipeline_done"
    assert Counter(client.results) == expected_results(["first"])
    await client.done(original_graph(["third"]))  # the slot is free again


async def test_graph_running_too_long_is_stopped(start_server, connect):
    served = await start_server(Limits(max_run_seconds=0.2), delay_scale=1.0)
    client = await connect(served)
    finished = served.watch("finished")

    error = await client.refused(original_graph(STRINGS))

    assert error["kind"] == "timeout"
    assert (await finished).outcome == "timeout"
    assert served.server.running() == []


# -- malformed messages ---------------------------------------------------------------------------


def _with(change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    graph = original_graph(STRINGS)
    change(graph)
    return graph


MALFORMED = {
    "a string": "inp -> coro1",
    "a number": 42,
    "null": None,
    "a list": [original_graph(STRINGS)],
    "empty mapping": {},
    "no graph": {"nodes": original_graph(STRINGS)["nodes"]},
    "no nodes": {"graph": original_graph(STRINGS)["graph"]},
    "nodes is a list": {"nodes": ["inp"], "graph": {"inp": None}},
    "graph is a list": _with(lambda g: g.update(graph=["inp", "coro1"])),
    "node is a string": _with(lambda g: g["nodes"].update(coro2="ProcessFunc.coro2")),
    "node without coro": _with(lambda g: g["nodes"]["coro2"].pop("coro")),
    "null coro": _with(lambda g: g["nodes"]["coro2"].update(coro=None)),
    "args not a mapping": _with(lambda g: g["nodes"]["inp"].update(args=["a", "b"])),
    "strings not a list": _with(
        lambda g: g["nodes"]["inp"].update(args={"strings_from_client": "abc"})
    ),
    "strings not strings": _with(
        lambda g: g["nodes"]["inp"].update(args={"strings_from_client": [1, None]})
    ),
    "unknown arg": _with(lambda g: g["nodes"]["coro1"].update(args={"shell": "rm -rf /"})),
    "source without strings": _with(lambda g: g["nodes"]["inp"].pop("args")),
    "unknown property": _with(lambda g: g["nodes"]["out"].update(properties={"workers": 100})),
    "aggregate_inputs not a bool": _with(
        lambda g: g["nodes"]["out"].update(properties={"aggregate_inputs": "no"})
    ),
    "unknown output node": _with(lambda g: g["graph"].update(coro2=["nowhere"])),
    "node missing from graph": _with(lambda g: g["graph"].pop("out")),
    "outputs not a list": _with(lambda g: g["graph"].update(coro2=5)),
    "cycle": _with(lambda g: g["graph"].update(out=["coro1"])),
}


@pytest.mark.parametrize("payload", MALFORMED.values(), ids=MALFORMED.keys())
async def test_malformed_message_is_answered_and_server_keeps_serving(
    start_server, connect, payload
):
    served = await start_server()
    client = await connect(served)

    error = await client.refused(payload)

    assert error["kind"] == "spec"
    assert error["message"]
    assert error["problems"]
    await client.done(original_graph(["after"]))
    assert Counter(client.results) == expected_results(["after"])


@pytest.mark.parametrize("args", [(), ("one", "two")], ids=["no argument", "two arguments"])
async def test_process_msg_with_wrong_argument_count_is_answered(start_server, connect, args):
    served = await start_server()
    client = await connect(served)

    await client.sio.emit("process_msg", args if args else None)
    event, error = await client.answer()

    assert event == "pipeline_error"
    assert f"got {len(args)}" in error["message"]
    await client.done(original_graph(["after"]))


async def test_all_problems_of_a_message_are_reported_together(start_server, connect):
    served = await start_server()
    client = await connect(served)
    graph = original_graph(STRINGS)
    graph["env"] = {"sid": "x"}
    graph["nodes"]["coro1"]["concurrency"] = 500
    graph["nodes"]["coro2"]["coro"] = "os.system"

    error = await client.refused(graph)

    assert sorted(paths(error)) == ["env", "nodes.coro1.concurrency", "nodes.coro2.coro"]


# -- the client script ----------------------------------------------------------------------------


async def _client_script(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(DEMOS / "client.py"),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_client_script_prints_results_and_exits_on_pipeline_done(start_server):
    served = await start_server()

    code, out, err = await _client_script("--url", served.url, "--count", "3", "--seed", "1")

    assert code == 0, err
    assert out.count("received: ") == 6
    assert "pipeline_done: 6 results" in out


async def test_client_script_exits_non_zero_on_pipeline_error(start_server):
    served = await start_server(Limits(max_strings=2))

    code, _, err = await _client_script("--url", served.url, "--count", "3")

    assert code == 1
    assert "pipeline_error" in err and "at most 2" in err


async def test_client_script_exits_non_zero_when_no_server(start_server):
    served = await start_server()
    url = served.url
    await served.server.shutdown()
    await served.runner.cleanup()

    code, _, err = await _client_script("--url", url)

    assert code == 2
    assert "error" in err


async def test_server_script_serves_and_stops_promptly_on_sigint(connect):
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(DEMOS / "server.py"),
        "--port",
        "0",
        "--delay-scale",
        "0.05",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        line = (await proc.stdout.readline()).decode()
        match = re.search(r"http://\S+", line)
        assert match, line
        served = Served(match.group(0), None, None)  # a server in another process: no hooks
        run = await demo_client.run_client(
            served.url, demo_client.original_graph(STRINGS), timeout=20
        )
        assert Counter(run.results) == expected_results(STRINGS)

        client = await connect(served)
        await client.sio.emit("process_msg", original_graph([f"s{i}" for i in range(50)]))
        await client.first_result  # a graph is running
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        event, error = await client.answer()
        _, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        assert time.monotonic() - sent < 3
        assert (event, error["kind"]) == ("pipeline_error", "server")
        await client.disconnected
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.communicate()
