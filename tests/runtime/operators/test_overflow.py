"""overflow: a full link drops its oldest or the newest item instead of blocking; counted per link."""

from __future__ import annotations

import io

import pytest
from engine_funcs import run_spec
from rich.console import Console

from pipelines import Plumber
from pipelines.progress import LiveView
from pipelines.runtime.link import Link


async def keep(x):
    return x


def _spec(policy, n=10, queue_size=3):
    return {
        "nodes": {
            "src": {"coro": list(range(n))},
            "c": {"coro": keep, "collect": True, "queue_size": queue_size, "overflow": policy},
        },
        "graph": {"src": ["c"], "c": None},
    }


# The source never waits on a link that drops: it pushes all ten items before the
# consumer runs, so what is kept is exact.


async def test_drop_oldest_keeps_the_newest_items():
    result = await run_spec(_spec("drop_oldest"))
    assert result.outputs["c"] == [7, 8, 9]
    stats = result.stats["c"]
    assert (stats.received, stats.dropped, stats.peak_depth) == (3, 7, 3)
    assert stats.link_dropped == {"src->c": 7}
    assert result.stats["src"].emitted == 10


async def test_drop_newest_keeps_the_oldest_items():
    result = await run_spec(_spec("drop_newest"))
    assert result.outputs["c"] == [0, 1, 2]
    assert (result.stats["c"].dropped, result.stats["c"].link_dropped) == (7, {"src->c": 7})


async def test_block_is_the_default_and_loses_nothing():
    result = await run_spec(_spec("block"))
    assert result.outputs["c"] == list(range(10))
    assert (result.stats["c"].dropped, result.stats["c"].link_dropped) == (0, {})


async def test_each_input_link_of_a_zip_counts_its_own_drops():
    spec = {
        "nodes": {
            "a": {"coro": list(range(6))},
            "b": {"coro": list(range(10, 14))},
            "z": {"coro": keep, "collect": True, "queue_size": 2, "overflow": "drop_newest"},
        },
        "graph": {"a": ["z"], "b": ["z"], "z": None},
    }
    result = await run_spec(spec)
    assert result.outputs["z"] == [(0, 10), (1, 11)]
    assert result.stats["z"].link_dropped == {"a->z": 4, "b->z": 2}
    assert result.stats["z"].dropped == 6


async def test_an_upstream_put_nowait_drops_instead_of_raising_queue_full():
    class Rig:
        @classmethod
        async def produce(cls, self, output_q):
            for i in range(5):
                output_q.put_nowait(i)

    spec = _spec("drop_oldest", queue_size=2)
    spec["nodes"]["src"]["coro"] = Rig.produce
    result = await run_spec(spec)
    assert result.outputs["c"] == [3, 4]
    assert result.stats["c"].link_dropped == {"src->c": 3}


async def test_the_live_view_and_the_diagram_show_the_drops():
    plumber = Plumber(_spec("drop_oldest"))
    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    view = LiveView(plumber, console)
    with view:
        result = await plumber.run()
    out = Console(file=io.StringIO(), width=120)
    out.print(view.renderable())
    header, *rows = [line.split() for line in out.file.getvalue().splitlines()[1:] if line.strip()]
    assert header[:7] == ["node", "state", "in", "out", "rate/s", "failed", "dropped"]
    assert [row[:6] for row in rows if row[0] == "c"] == [["c", "done", "3", "3", "0", "7"]]
    assert "cap 3, drop_oldest" in plumber.to_dot()
    assert "cap 3, drop_oldest\\npeak 3\\ndropped 7" in _dot(result)
    assert "dropped 7" in _mermaid(result)


def _dot(result):
    from pipelines.diagram import to_dot

    return to_dot(result.graph, result)


def _mermaid(result):
    from pipelines.diagram import to_mermaid

    return to_mermaid(result.graph, result)


def test_a_link_refuses_an_unknown_policy():
    with pytest.raises(ValueError, match="unknown overflow policy 'drop_all'"):
        Link("a->b", 3, overflow="drop_all")


async def test_stats_events_give_each_edge_s_drops():
    plumber = Plumber(_spec("drop_newest"))
    result = await plumber.run()
    assert plumber.link_figures() == [
        {
            "source": "src",
            "target": "c",
            "kind": "data",
            "capacity": 3,
            "depth": 0,
            "peak_depth": 3,
            "dropped": 7,
        }
    ]
    assert result.stats["c"].dropped == 7
