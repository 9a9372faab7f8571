"""The ETL demo (demos/etl/), end to end: flaky HTTP API -> transform -> SQLite."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import pytest
import yaml

from pipelines import PipelineError, Plumber

ETL_DIR = Path(__file__).resolve().parents[2] / "demos" / "etl"
ETL_YAML = ETL_DIR / "etl.yaml"
COUNT = 40  # customers served by the API in etl.yaml


def etl_plumber(db_path: Path, **api_args: Any) -> Plumber:
    """The demo's graph from etl.yaml, loading into ``db_path`` (like ``--set load.db_path=``)."""
    spec = yaml.safe_load(ETL_YAML.read_text())
    spec["nodes"]["load"]["args"]["db_path"] = str(db_path)
    spec["resources"]["api"]["args"].update(api_args)
    return Plumber(spec, base_dir=ETL_DIR, source=str(ETL_YAML))


@pytest.fixture
def apis(monkeypatch):
    """The CustomerApi objects the runs start (the run resource ``api``), in order."""
    started: list[Any] = []

    def watch(plumber: Plumber) -> list[Any]:
        api_class = api_module(plumber).CustomerApi
        start = api_class.start

        async def start_and_keep(self: Any) -> None:
            await start(self)
            started.append(self)

        monkeypatch.setattr(api_class, "start", start_and_keep)
        return started

    return watch


def rows(db_path: Path) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(db_path)
    try:
        return db.execute(
            "SELECT id, name, email, country, balance, signup_year FROM customers ORDER BY id"
        ).fetchall()
    finally:
        db.close()


def api_module(plumber: Plumber) -> ModuleType:
    """The demo's API module (etl_api.py), as the spec's functions imported it."""
    steps = sys.modules[plumber["customers"].spec.coro.__module__]
    return sys.modules[steps.CustomerApi.__module__]


async def test_every_record_is_loaded_exactly_once_despite_injected_failures(
    tmp_path, no_pending_tasks, apis
):
    db = tmp_path / "etl.db"
    plumber = etl_plumber(db)
    started = apis(plumber)

    result = await plumber.run()

    assert result.status == "completed"
    loaded = rows(db)
    # Each id once (the primary key would have failed the run on a second insert).
    assert [row[0] for row in loaded] == list(range(1, COUNT + 1))
    stats = result.stats
    assert stats["extract"].retried > 0
    assert stats["extract"].failed == 0
    assert stats["load"].received == COUNT
    (api,) = started
    assert api.stats.failures > 0
    assert stats["extract"].retried == api.stats.failures  # every 503 was retried
    assert api.stats.served == COUNT
    assert stats["extract"].peak_in_flight > 1  # extraction ran concurrently
    no_pending_tasks()


async def test_records_are_transformed(tmp_path):
    db = tmp_path / "etl.db"

    plumber = etl_plumber(db)
    await plumber.run()

    loaded = rows(db)
    # Record 1 with seed 7 is served as name ' ADA  TORVALDS ', country 'nl', 419940 cents, 2019-...
    assert loaded[0] == (1, "Ada Torvalds", "ada.torvalds1@mail.test", "NL", 4199.4, 2019)
    make_record = api_module(plumber).make_record
    for customer_id, name, email, country, balance, year in loaded:
        raw = make_record(7, customer_id)
        assert name == " ".join(w.capitalize() for w in raw["name"].split())
        assert email == raw["email"].strip().lower() and email == email.strip()
        assert country == raw["country"].strip().upper() and len(country) == 2
        assert balance == pytest.approx(raw["balance_cents"] / 100)
        assert year == int(raw["signup"][:4])


async def test_api_is_stopped_when_the_run_ends(tmp_path, no_pending_tasks, apis):
    plumber = etl_plumber(tmp_path / "etl.db")
    started = apis(plumber)

    await plumber.run()

    (api,) = started
    assert not api.running
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(f"{api.url}/customers")
    no_pending_tasks()


async def test_same_seed_gives_the_same_run_and_a_rerun_replaces_the_table(tmp_path):
    db = tmp_path / "etl.db"

    first = await etl_plumber(db).run()
    first_rows = rows(db)
    second = await etl_plumber(db).run()

    assert rows(db) == first_rows
    assert second.stats["extract"].retried == first.stats["extract"].retried


async def test_api_that_keeps_failing_fails_the_run_and_is_stopped(
    tmp_path, no_pending_tasks, apis
):
    plumber = etl_plumber(tmp_path / "etl.db", failure_rate=1.0)
    started = apis(plumber)

    with pytest.raises(PipelineError) as info:
        await plumber.run()

    assert info.value.node == "extract"
    assert "503" in str(info.value)
    assert not started[0].running
    no_pending_tasks()


async def test_cancelling_the_run_stops_the_api(tmp_path, monkeypatch, no_pending_tasks):
    plumber = etl_plumber(tmp_path / "etl.db", latency=0.5)
    api_class = api_module(plumber).CustomerApi
    started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    start = api_class.start

    started_api: list[Any] = []

    async def start_and_tell(self: Any) -> None:
        await start(self)
        started_api.append(self)
        started.set_result(None)

    monkeypatch.setattr(api_class, "start", start_and_tell)
    task = asyncio.ensure_future(plumber.run())
    await started  # the API is serving, requests are slow: the run is mid-way

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert not started_api[0].running
    no_pending_tasks()


async def test_a_graceful_stop_keeps_the_api_up_for_records_in_flight(tmp_path, monkeypatch, apis):
    plumber = etl_plumber(tmp_path / "etl.db", latency=0.05)
    started = apis(plumber)
    api_class = api_module(plumber).CustomerApi
    fetching: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    get_customer = api_class.get_customer

    async def get_and_tell(self: Any, customer_id: int) -> Any:
        if not fetching.done():
            fetching.set_result(None)
        return await get_customer(self, customer_id)

    monkeypatch.setattr(api_class, "get_customer", get_and_tell)
    task = asyncio.ensure_future(plumber.run())
    async with asyncio.timeout(30):
        await fetching  # every id is sent on; extraction is under way
        await plumber.stop(drain=True)
        result = await task
    assert result.status == "stopped"
    assert result.stats["extract"].failed == 0
    assert result.stats["load"].emitted == COUNT
    assert [row[0] for row in rows(tmp_path / "etl.db")] == list(range(1, COUNT + 1))
    assert not started[0].running


async def test_cli_runs_the_demo(tmp_path):
    db = tmp_path / "cli.db"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pipelines",
        "run",
        str(ETL_YAML),
        "--set",
        f"load.db_path={db}",
        "--no-progress",
        "--json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()

    assert proc.returncode == 0, err.decode()
    summary = json.loads(out)
    assert summary["status"] == "completed"
    assert summary["stats"]["extract"]["retried"] > 0
    assert len(rows(db)) == COUNT
