"""A run's diagram for the page: Graphviz's SVG, and the key to update it live."""

from __future__ import annotations

from conftest import needs_dot

from pipelines import Plumber
from pipelines.store import Recorder


async def words():
    for word in ("a", "b"):
        yield word


async def keep(x):
    return x


XSS = "<img src=x onerror=alert(1)>"


@needs_dot
async def test_the_diagram_is_graphviz_svg_with_a_key_to_its_nodes_and_edges(store, serve):
    spec = {
        "nodes": {XSS: {"coro": words}, "out": {"coro": keep, "concurrency": 2}},
        "graph": {XSS: ["out"], "out": None},
    }
    with Recorder(store, keep=0) as recorder:
        plumber = Plumber(spec)
        recording = recorder.record(plumber)
        await plumber.run()
    _, session = await serve()
    async with session.get(f"/api/runs/{recording.id}/diagram") as response:
        assert response.status == 200
        drawn = await response.json()
    assert drawn["nodes"] == {"n0": {"name": XSS, "line": 2}, "out": {"name": "out", "line": 3}}
    assert drawn["edges"] == {"n0->out": [XSS, "out"]}
    assert drawn["name"] is None
    svg = drawn["svg"]
    assert "<svg" in svg and "<title>n0</title>" in svg
    assert XSS not in svg  # escaped by Graphviz: &lt;img ...
    assert "&lt;img src=x onerror=alert(1)&gt;" in svg
    assert "in 2, out 2" in svg


async def test_a_run_without_a_recorded_graph_has_no_diagram(store, serve):
    with Recorder(store, keep=0) as recorder:
        plumber = Plumber({"nodes": {"w": {"coro": words}}, "graph": {"w": None}})
        recording = recorder.record(plumber)
        await plumber.run()
    store.connection().execute("UPDATE runs SET graph = NULL")
    _, session = await serve()
    async with session.get(f"/api/runs/{recording.id}/diagram") as response:
        assert (response.status, await response.json()) == (
            503,
            {"error": f"run {recording.id} has no recorded graph (it was too large to draw)"},
        )
