"""The workflow demo (demos/workflows): subgraph, hooks, resource and context in one spec."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
from pathlib import Path

from pipelines import Plumber
from pipelines.spec import load_file

DEMO = Path(__file__).resolve().parents[2] / "demos" / "workflows"


async def test_the_orders_demo_prices_saves_counts_and_logs(tmp_path, caplog):
    data = load_file(DEMO / "orders.yaml")
    db_path = tmp_path / "orders.db"
    data["resources"]["db"]["args"]["path"] = str(db_path)
    plumber = Plumber(data, base_dir=DEMO, source=str(DEMO / "orders.yaml"))
    with caplog.at_level(logging.INFO, logger="pipelines.run"):
        result = await plumber.run()
    assert result.outputs["save"] == list(range(1, 13))
    assert list(result.stats) == ["orders", "price/net", "price/tax", "save"]
    assert plumber["save"].context["saved"] == 12
    with sqlite3.connect(db_path) as db:
        totals = dict(db.execute("SELECT id, total FROM orders").fetchall())
    # order 1: cake x1 at 4.25, +20% tax
    assert totals[1] == 5.1
    assert len(totals) == 12
    messages = [r.getMessage() for r in caplog.records if r.name == "pipelines.run"]
    assert messages[0] == "[save] saved order 1 (5.10)"
    assert messages[-1].startswith("12 orders saved in ")


def test_the_demo_runs_from_the_command():
    done = subprocess.run(
        [sys.executable, "-m", "pipelines", "run", DEMO / "orders.yaml", "--no-progress"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "info: [save] saved order 12 (16.80)" in done.stderr
    assert "completed in" in done.stdout
