"""A steps pipeline's run on the dashboard, like any graph: its steps as nodes, its logs."""

from __future__ import annotations

import pytest
from browser import launched, needs_browser, open_page
from conftest import needs_dot

from pipelines import get_run_logger
from pipelines.steps import Pipeline

pytestmark = needs_browser


@pytest.fixture
async def browser():
    async with launched() as chromium:
        yield chromium


def limpiar(data):
    get_run_logger().info("limpiando %r", data["raw_data"])
    return {"datos_limpios": data["raw_data"].strip()}


async def procesar(data):
    return {"datos_procesados": data["datos_limpios"].upper()}


@needs_dot  # the run page's diagram
async def test_a_steps_run_shows_its_steps_as_nodes_and_its_logs(browser, store, serve):
    with Pipeline(store=store, name="limpieza") as pipeline:
        pipeline.set_steps([(limpiar, "Limpiar Datos", "v1.0"), (procesar, "Procesar", "v2")])
        await pipeline.run({"raw_data": "  crudo  "})
        run_id = pipeline.last_run_id
    server, session = await serve()
    async with session.get(f"/api/runs/{run_id}") as response:
        run = await response.json()
    assert (run["pipeline"], run["status"], list(run["nodes"])) == (
        "limpieza",
        "completed",
        ["Limpiar Datos", "Procesar"],
    )
    page = await open_page(browser, f"{server.url}/runs/{run_id}")
    await page.locator("#nodes tr[data-node='Procesar']").wait_for()
    names = await page.locator("#nodes tbody tr td:first-child").all_text_contents()
    assert names == ["Limpiar Datos", "Procesar"]
    await page.locator("#diagram svg g.node").first.wait_for()
    drawn = await page.locator("#diagram svg g.node title").all_text_contents()
    assert len(drawn) == 2
    await page.wait_for_function("() => document.querySelectorAll('#logs tbody tr').length === 1")
    cells = await page.locator("#logs tbody tr td").all_text_contents()
    assert cells[1:] == ["INFO", "Limpiar Datos", "limpiando '  crudo  '"]
    assert page.dialogs == [] and page.errors == []
