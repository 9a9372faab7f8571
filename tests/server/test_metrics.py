"""Prometheus metrics: names, labels and counting rules, in a registry of their own."""

from __future__ import annotations

import asyncio

from prometheus_client.parser import text_string_to_metric_families

from pipelines.server.metrics import MetricSet

LABELS = {
    "pipelines_items_in": {"pipeline", "node"},
    "pipelines_items_out": {"pipeline", "node"},
    "pipelines_items_failed": {"pipeline", "node"},
    "pipelines_items_retried": {"pipeline", "node"},
    "pipelines_queue_depth": {"pipeline", "source", "target"},
    "pipelines_runs": {"pipeline", "status"},
    "pipelines_run_duration_seconds": {"pipeline"},
    "pipelines_runs_active": {"pipeline"},
    "pipelines_workers_online": set(),
}


def samples(metrics: MetricSet) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """name, sorted labels -> value, without the ``_created`` series."""
    out = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for s in family.samples:
            if not s.name.endswith("_created"):
                out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def nodes(received, emitted, failed=0, retried=0):
    return {"mid": {"received": received, "emitted": emitted, "failed": failed, "retried": retried}}


EDGES = [{"source": "src", "target": "mid", "depth": 3}]


def test_the_metric_names_types_and_labels_follow_prometheus_rules():
    metrics = MetricSet()
    metrics.observe("r1", "etl", "running", nodes(5, 4, 1, 2), EDGES, None)
    metrics.observe("r1", "etl", "completed", nodes(5, 5, 1, 2), EDGES, 12.5)
    metrics.workers_online.set(2)
    families = {f.name: f for f in text_string_to_metric_families(metrics.render().decode())}
    types = {name: families[name].type for name in LABELS}
    assert types == {
        "pipelines_items_in": "counter",
        "pipelines_items_out": "counter",
        "pipelines_items_failed": "counter",
        "pipelines_items_retried": "counter",
        "pipelines_queue_depth": "gauge",
        "pipelines_runs": "counter",
        "pipelines_run_duration_seconds": "histogram",
        "pipelines_runs_active": "gauge",
        "pipelines_workers_online": "gauge",
    }
    text = metrics.render().decode()
    for name in ("items_in", "items_out", "items_failed", "items_retried", "runs"):
        assert f"\npipelines_{name}_total{{" in text  # counters end in _total
    for name, family in families.items():
        for s in family.samples:
            if not s.name.endswith(("_bucket", "_created")):
                assert set(s.labels) == LABELS[name], s
            assert "r1" not in s.labels.values()  # never a run id


def test_counters_grow_by_what_changed_and_a_run_ending_counts_once():
    metrics = MetricSet()
    metrics.observe("r1", "etl", "running", nodes(5, 4), EDGES, None)
    metrics.observe("r1", "etl", "running", nodes(5, 4), EDGES, None)  # the same figures again
    metrics.observe("r1", "etl", "running", nodes(8, 7, 1), EDGES, None)
    got = samples(metrics)
    assert got[("pipelines_items_in_total", (("node", "mid"), ("pipeline", "etl")))] == 8
    assert got[("pipelines_items_out_total", (("node", "mid"), ("pipeline", "etl")))] == 7
    assert got[("pipelines_items_failed_total", (("node", "mid"), ("pipeline", "etl")))] == 1
    depth = ("pipelines_queue_depth", (("pipeline", "etl"), ("source", "src"), ("target", "mid")))
    assert got[depth] == 3
    assert got[("pipelines_runs_active", (("pipeline", "etl"),))] == 1
    metrics.observe("r1", "etl", "completed", nodes(9, 9, 1), EDGES, 42.0)
    metrics.observe("r1", "etl", "completed", nodes(9, 9, 1), EDGES, 42.0)  # read again
    got = samples(metrics)
    assert got[("pipelines_items_in_total", (("node", "mid"), ("pipeline", "etl")))] == 9
    assert got[("pipelines_runs_total", (("pipeline", "etl"), ("status", "completed")))] == 1
    assert got[("pipelines_run_duration_seconds_count", (("pipeline", "etl"),))] == 1
    assert got[("pipelines_run_duration_seconds_sum", (("pipeline", "etl"),))] == 42.0
    assert depth not in got  # no live run: no depth
    assert ("pipelines_runs_active", (("pipeline", "etl"),)) not in got


def test_depths_of_live_runs_of_a_pipeline_add_up():
    metrics = MetricSet()
    metrics.observe("r1", "etl", "running", nodes(1, 1), EDGES, None)
    metrics.observe("r2", "etl", "running", nodes(1, 1), [{**EDGES[0], "depth": 4}], None)
    got = samples(metrics)
    assert (
        got[("pipelines_queue_depth", (("pipeline", "etl"), ("source", "src"), ("target", "mid")))]
        == 7
    )
    assert got[("pipelines_runs_active", (("pipeline", "etl"),))] == 2


def test_a_run_first_seen_mid_way_as_a_baseline_counts_only_what_follows():
    metrics = MetricSet()
    metrics.observe("r1", "etl", "running", nodes(100, 100), EDGES, None, baseline=True)
    metrics.observe("r1", "etl", "running", nodes(110, 105), EDGES, None)
    got = samples(metrics)
    assert got[("pipelines_items_in_total", (("node", "mid"), ("pipeline", "etl")))] == 10
    assert got[("pipelines_items_out_total", (("node", "mid"), ("pipeline", "etl")))] == 5


def test_two_metric_sets_do_not_share_a_registry():
    first, second = MetricSet(), MetricSet()
    first.observe("r1", "etl", "running", nodes(1, 1), EDGES, None)
    assert ("pipelines_items_in_total", (("node", "mid"), ("pipeline", "etl"))) not in samples(
        second
    )


async def test_metrics_endpoint_counts_the_runs_the_server_sees(serve):
    _, session = await serve("numbers.yaml", "failing.yaml")
    for name in ("numbers", "failing", "numbers"):
        async with session.post(f"/api/pipelines/{name}/runs") as response:
            assert response.status == 201
        await asyncio.sleep(0.3)
    for _ in range(100):  # until the three runs have ended
        async with session.get("/api/runs?status=running") as response:
            if not (await response.json())["runs"]:
                break
        await asyncio.sleep(0.05)
    async with session.get("/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        text = await response.text()
    got = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if not s.name.endswith("_created"):
                got[(s.name, tuple(sorted(s.labels.items())))] = s.value
    assert got[("pipelines_runs_total", (("pipeline", "numbers"), ("status", "completed")))] == 2
    assert got[("pipelines_runs_total", (("pipeline", "failing"), ("status", "failed")))] == 1
    assert got[("pipelines_items_in_total", (("node", "out"), ("pipeline", "numbers")))] == 10
    assert got[("pipelines_items_out_total", (("node", "numbers"), ("pipeline", "numbers")))] == 10
    assert got[("pipelines_items_failed_total", (("node", "check"), ("pipeline", "failing")))] == 1
    assert got[("pipelines_run_duration_seconds_count", (("pipeline", "numbers"),))] == 2
    assert got[("pipelines_workers_online", ())] == 1
