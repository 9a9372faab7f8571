"""The demo server's parts on their own: sanitiser (reads the options table), limits,
output meter, send queue, rate-limited log, and the size of its modules."""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from sio.frames import RateLimitedLog, engineio_frame_problem
from sio.limits import Limits, OutputLimitExceeded, OutputMeter, nesting_depth
from sio.registry import REGISTRY, check_registry
from sio.sanitize import client_options, sanitize
from sio.transport import LibraryLog, QueueStats, SendQueue
from sio_harness import DEMOS, original_graph

from pipelines.spec.options import NODE, OPTIONS, PROPERTIES

# -- what a client may set: read from the options table -----------------------------------------


def test_client_options_are_the_remote_rows_of_the_table_allowed_in_properties():
    expected = {o.name for o in OPTIONS if o.remote and PROPERTIES in o.where}

    assert set(client_options()) == expected == {"aggregate_inputs"}


def _with_properties(props: dict[str, Any]) -> dict[str, Any]:
    graph = original_graph(["a"])
    graph["nodes"]["coro1"]["properties"] = props
    return graph


def test_sanitize_keeps_remote_options_and_refuses_the_others_with_their_path():
    spec, problems = sanitize(
        _with_properties({"aggregate_inputs": False, "ordered": False, 7: 1}), Limits()
    )

    assert spec["nodes"]["coro1"]["properties"] == {"aggregate_inputs": False}
    assert [p.path for p in problems] == [
        "nodes.coro1.properties.ordered",
        "nodes.coro1.properties.7",
    ]
    assert all("a client may set: aggregate_inputs" in p.message for p in problems)


def test_an_option_marked_remote_in_the_table_is_accepted_with_no_other_change():
    ordered = next(o for o in OPTIONS if o.name == "ordered")
    table = [
        *OPTIONS,
        dataclasses.replace(ordered, remote=True, where=frozenset({NODE, PROPERTIES})),
    ]

    spec, problems = sanitize(_with_properties({"ordered": False}), Limits(), table)

    assert problems == []
    assert spec["nodes"]["coro1"]["properties"] == {"ordered": False}


def test_a_remote_option_not_allowed_in_properties_is_refused():
    aggregate = next(o for o in OPTIONS if o.name == "aggregate_inputs")
    table = [dataclasses.replace(aggregate, where=frozenset({NODE}))]

    _, problems = sanitize(_with_properties({"aggregate_inputs": False}), Limits(), table)

    assert [p.path for p in problems] == [
        "nodes.coro1.properties.aggregate_inputs",
        "nodes.out.properties.aggregate_inputs",
    ]
    assert all("a client may set: none" in p.message for p in problems)


def test_node_level_options_are_refused_even_remote_ones():
    graph = original_graph(["a"])
    graph["nodes"]["out"]["aggregate_inputs"] = False

    _, problems = sanitize(graph, Limits())

    assert [p.path for p in problems] == ["nodes.out.aggregate_inputs"]
    assert "a client may set properties.aggregate_inputs" in problems[0].message


def test_the_server_sets_concurrency_and_queue_size_in_defaults():
    spec, _ = sanitize(original_graph(["a"]), Limits(concurrency=3, queue_size=5))

    assert spec["defaults"] == {"concurrency": 3, "queue_size": 5}


# -- limits ---------------------------------------------------------------------------------------


def test_nesting_depth_is_measured_without_recursion_and_stops_past_the_limit():
    deep: list[Any] = []
    inner = deep
    for _ in range(100_000):  # far past Python's recursion limit
        inner.append([])
        inner = inner[0]

    assert nesting_depth(deep, 32) == 33
    assert nesting_depth({"a": [1, {"b": 2}]}, 32) == 3
    assert nesting_depth("flat", 32) == 0


def test_limits_refuse_a_queue_bound_smaller_than_one_result():
    with pytest.raises(ValueError, match="one result must fit"):
        Limits(max_result_bytes=1000, max_queued_bytes=1500)


async def test_output_meter_counts_results_and_stops_past_each_limit():
    meter = OutputMeter(max_result_bytes=100, max_run_bytes=250)

    async def make(size: int) -> str:
        return "x" * size

    metered = meter.wrap(make)
    assert await metered(98) == "x" * 98  # 100 bytes as JSON (the quotes count)
    assert meter.total == 100
    with pytest.raises(
        OutputLimitExceeded, match=r"^produced a result of 101 bytes; at most 100 per result$"
    ):
        await metered(99)
    await metered(98)
    with pytest.raises(
        OutputLimitExceeded, match=r"^took the graph's results to 300 bytes; at most 250 per run$"
    ):
        await metered(98)
    assert metered.__wrapped__ is make  # the engine sees make's signature


async def test_output_meter_ignores_none_results():
    meter = OutputMeter(10, 10)
    meter.charge(None)
    assert meter.total == 0


def test_registry_holds_coroutine_functions_only():
    assert check_registry(REGISTRY) == REGISTRY

    def plain(x: Any) -> Any:
        return x

    with pytest.raises(TypeError, match="'plain'"):
        check_registry({**REGISTRY, "plain": plain})


# -- the send queue -------------------------------------------------------------------------------


@dataclasses.dataclass
class _Packet:
    data: Any


async def test_send_queue_refuses_past_its_bounds_and_reports_once():
    overflows: list[SendQueue] = []
    stats = QueueStats()
    queue = SendQueue(100, 3, stats, overflows.append)

    queue.put_nowait(_Packet("a" * 60))
    await queue.put(_Packet("b" * 30))
    assert (queue.bytes, queue.qsize()) == (90, 2)
    queue.put_nowait(_Packet("c" * 20))  # 110 bytes: over
    queue.put_nowait(_Packet("d"))  # ignored once overflowed
    queue.put_nowait(None)  # engine.io's end signal always passes

    assert overflows == [queue]
    assert queue.qsize() == 3
    assert (stats.peak_bytes, stats.peak_packets) == (90, 2)
    assert queue.get_nowait().data == "a" * 60
    assert (await queue.get()).data == "b" * 30
    assert queue.bytes == 0
    assert queue.get_nowait() is None


async def test_send_queue_bounds_packets_too():
    overflows: list[SendQueue] = []
    queue = SendQueue(10_000, 2, QueueStats(), overflows.append)

    for _ in range(3):
        queue.put_nowait(_Packet("x"))

    assert queue.qsize() == 2 and overflows == [queue]


async def test_send_queue_is_the_queue_engineio_uses():
    from sio.app import create_app

    _, sio = create_app(Limits(max_queued_bytes=5000, max_queued_packets=7, max_result_bytes=100))
    queue = sio.eio.create_queue()

    assert isinstance(queue, SendQueue) and isinstance(queue, asyncio.Queue)
    assert (queue.max_bytes, queue.max_packets) == (5000, 7)


# -- the rate-limited log -------------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_rate_limited_log_lets_a_burst_through_per_period_and_counts_the_rest(caplog):
    caplog.set_level(logging.WARNING)
    clock = _Clock()
    limited = RateLimitedLog(logging.getLogger("test.limited"), burst=3, period=10.0, clock=clock)

    logged = [limited.warning(f"bad frame {i}") for i in range(5)]
    clock.now = 9.9
    logged.append(limited.warning("bad frame 5"))
    clock.now = 10.0
    logged.append(limited.warning("bad frame 6"))

    assert logged == [True, True, True, False, False, False, True]
    assert [r.getMessage() for r in caplog.records] == [
        "bad frame 0",
        "bad frame 1",
        "bad frame 2",
        "demo server: 3 more warning line(s) left out in the last 10 s",
        "bad frame 6",
    ]
    assert limited.total_suppressed == 3


def test_rate_limited_log_writes_one_short_line(caplog):
    caplog.set_level(logging.WARNING)
    limited = RateLimitedLog(logging.getLogger("test.limited"), burst=5, period=10.0)

    limited.warning("first\nsecond\r\n" + "x" * 500)

    (record,) = caplog.records
    assert record.getMessage() == ("first second " + "x" * 500)[:157] + "..."
    assert record.exc_info is None


# -- the package's shape ----------------------------------------------------------------------------


def test_demo_server_modules_and_classes_stay_small():
    """No module of the demo server over 400 lines, no class over 300 (CONTRIBUTING.md)."""
    too_long = []
    for path in [*sorted((DEMOS / "sio").glob("*.py")), DEMOS / "server.py"]:
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > 400:
            too_long.append(f"{path.name}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > 300:
                too_long.append(f"{path.name}: class {node.name}")
    assert too_long == []
    assert (DEMOS / "server.py").read_text().count("\n") < 40  # a thin script


def test_every_demo_server_module_lists_what_it_defines():
    for path in sorted((DEMOS / "sio").glob("*.py")):
        if path.name == "__init__.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defined = {
            node.name
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and not node.name.startswith("_")
        }
        exported = next(
            ast.literal_eval(node.value)
            for node in tree.body
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "__all__"
        )
        assert defined <= set(exported), (path.name, defined - set(exported))
        assert Path(path).stem  # every module has an __all__ (next() raised otherwise)


# -- the docs ---------------------------------------------------------------------------------------


def test_docs_demos_install_command_is_the_readme_one():
    readme = (DEMOS.parent / "README.md").read_text(encoding="utf-8")
    page = (DEMOS.parent / "docs" / "demos.md").read_text(encoding="utf-8")
    command = re.compile(r"`(pip install [^`]*\[demo\][^`]*)`")

    assert command.findall(page) == command.findall(readme) == ['pip install ".[demo]"']


def test_docs_demos_lists_every_limit_with_its_default():
    page = (DEMOS.parent / "docs" / "demos.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(\w+)`[^|]*\| ([^|]+) \|", page, flags=re.MULTILINE))
    limits = Limits()

    for field in dataclasses.fields(Limits):
        if field.name in ("concurrency", "queue_size"):
            assert f"`{field.name}`" in page
            continue
        assert f"`{field.name}`" in page, field.name
        if field.name in rows:
            value = getattr(limits, field.name)
            shown = rows[field.name]
            number = f"{value:g}" if isinstance(value, float) else str(value)
            kib = f"{value // 1024} KiB" if isinstance(value, int) and value % 1024 == 0 else None
            mib = (
                f"{value // 1024**2} MiB"
                if isinstance(value, int) and value % 1024**2 == 0
                else None
            )
            assert any(text and text in shown for text in (number, kib, mib)), (field.name, shown)


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        ('42["process_msg",{}]', None),
        ("2", None),
        (b"\x00\x01binary", None),
        ("", "not an engine.io packet (ValueError)"),
        ("x{}", "not an engine.io packet (ValueError)"),
        ("9abc", "not an engine.io packet (unknown type)"),
        ("4" + "[" * 5000, "nested too deeply"),
    ],
)
def test_engineio_frames_are_checked_before_engineio_decodes_them(frame, problem):
    assert engineio_frame_problem(frame) == problem


def test_library_log_turns_errors_into_short_lines_and_drops_info(caplog):
    caplog.set_level(logging.DEBUG)
    log = LibraryLog("engine.io", RateLimitedLog(logging.getLogger("test.lib"), 10, 60.0))

    log.info("%s: Sending packet %s data %s", "sid", "MESSAGE", "x" * 1000)
    try:
        raise ValueError("Unknown packet type.")
    except ValueError:
        log.exception("message async handler error")
    log.warning("Cannot send to sid %s", "abc")

    assert [(r.getMessage(), r.exc_info) for r in caplog.records] == [
        ("engine.io: message async handler error (ValueError: Unknown packet type.)", None),
        ("engine.io: Cannot send to sid abc", None),
    ]
