"""A distributed run emits the events of a local run (what observers, the run store, rely on)."""

from __future__ import annotations

import asyncio
import io

from redis_runs import plumber, workers
from rich.console import Console

from pipelines import RemoteError
from pipelines.progress import LiveView


async def test_the_standard_events_in_order_with_links_and_replicas(redis_url):
    p = plumber("deadletter.yaml", redis_url)
    p.stats_interval = 0.05
    events = []
    p.subscribe(events.append)
    async with workers("deadletter.yaml", redis_url, 2):
        result = await p.run()
    kinds = [e.kind for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    started = events[0].data
    assert started["transport"] == "redis" and started["graph"] is p.plan
    assert len(started["run_id"]) == 12 and started["redis"] == redis_url
    for node in ("numbers", "check", "skipper", "out", "rejects"):
        assert [e.node for e in events if e.kind == "node_started"].count(node) == 1
        assert [e.node for e in events if e.kind == "node_finished"].count(node) == 1
        first = next(i for i, e in enumerate(events) if e.node == node)
        assert events[first].kind == "node_started"
    finished = {e.node: e.data["stats"] for e in events if e.kind == "node_finished"}
    assert finished["out"].received == result.stats["out"].received
    failures = [e for e in events if e.kind == "node_failed"]
    assert len(failures) == result.stats["check"].failed + result.stats["skipper"].failed
    seven = next(e for e in failures if e.node == "check" and e.data["item"] == "7")
    assert seven.data["action"] == "rejects" and seven.data["attempts"] == 2
    assert (
        isinstance(seven.data["error"], RemoteError)
        and str(seven.data["error"]) == "7 is a multiple of 7"
    )
    assert {e.data["action"] for e in failures if e.node == "skipper"} == {"skip"}
    stats = [e for e in events if e.kind == "stats"]
    assert stats, "stats events while subscribed"
    assert set(stats[-1].data) == {"stats", "depths", "links", "replicas"}
    assert set(stats[-1].data["links"]) == {
        "numbers->check",
        "check->skipper",
        "skipper->out",
        "check->rejects",
    }
    assert set(stats[-1].data["replicas"]) == {"numbers", "check", "skipper", "out", "rejects"}
    assert events[-1].data["result"] is result


async def test_two_runs_of_a_spec_at_once_share_the_workers(redis_url):
    async with workers("chain.yaml", redis_url, 2):
        first, second = await asyncio.gather(
            plumber("chain.yaml", redis_url).run(), plumber("chain.yaml", redis_url).run()
        )
    expected = first.outputs["out"]
    assert len(expected) == 1400 and second.outputs["out"] == expected


async def test_the_live_view_ends_on_the_figures_counted_across_the_workers(redis_url):
    p = plumber("chain.yaml", redis_url)
    out = io.StringIO()
    view = LiveView(p, Console(file=out, width=200, force_terminal=False))
    async with workers("chain.yaml", redis_url, 2):
        with view:
            await p.run()
    printer = Console(file=io.StringIO(), width=200)
    printer.print(view.renderable())
    lines = [line.split() for line in printer.file.getvalue().splitlines()]
    rows = {cells[0]: cells[1:] for cells in lines if cells and cells[0] in p.plan.nodes}
    assert rows["out"][:3] == ["done", "1400", "1400"]  # not the local placeholders' zeros
    assert rows["numbers"][:2] == ["done", "700"]
