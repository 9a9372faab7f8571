"""Run logs on the run's page, in a real headless Chromium: as text, live without a reload."""

from __future__ import annotations

import asyncio

import pytest
from browser import launched, needs_browser, open_page

from pipelines import Plumber, get_run_logger
from pipelines.store import Recorder

pytestmark = needs_browser

XSS = "<img src=x onerror=alert(1)>"
ROW_COUNT = "() => document.querySelectorAll('#logs tbody tr').length"


@pytest.fixture
async def browser():
    async with launched() as chromium:
        yield chromium


async def numbers():
    for i in range(1, 4):
        yield i


async def talk(x):
    log = get_run_logger()
    log.info("item %s", x)
    if x == 3:
        log.error("%s\nsecond line", XSS)
    return x


async def test_a_run_s_records_show_on_its_page_as_text(browser, store, serve):
    spec = {
        "name": "talky",
        "nodes": {"numbers": {"coro": numbers}, XSS: {"coro": talk}},
        "graph": {"numbers": [XSS], XSS: None},
    }
    with Recorder(store, keep=0) as recorder:
        plumber = Plumber(spec)
        recording = recorder.record(plumber)
        await plumber.run()
    server, _ = await serve()
    page = await open_page(browser, f"{server.url}/runs/{recording.id}")
    await page.wait_for_function(f"() => ({ROW_COUNT})() === 4")
    rows = []
    for row in await page.locator("#logs tbody tr").all():
        cells = await row.locator("td").all_text_contents()
        rows.append(cells[1:])  # the time is local, the rest exact
    assert rows == [
        ["INFO", XSS, "item 1"],
        ["INFO", XSS, "item 2"],
        ["INFO", XSS, "item 3"],
        ["ERROR", XSS, f"{XSS}\nsecond line"],
    ]
    level = page.locator("#logs tbody tr[data-seq='4'] td:nth-child(2)")
    assert await level.get_attribute("class") == "level-error"
    assert await page.locator("#logs-note").text_content() == "(4 records)"
    await asyncio.sleep(0.3)  # give an injected handler every chance to fire
    assert await page.locator("img").count() == 0
    assert page.dialogs == [] and page.errors == []


async def test_a_live_run_s_records_appear_without_a_reload(browser, serve):
    server, session = await serve("talking.yaml")
    async with session.post("/api/pipelines/talking/runs") as response:
        run_id = (await response.json())["id"]
    page = await open_page(browser, f"{server.url}/runs/{run_id}")
    await page.evaluate("window.__same_page = true")
    await page.wait_for_function(f"() => ({ROW_COUNT})() >= 3")
    first = await page.evaluate(ROW_COUNT)
    await page.wait_for_function(f"() => ({ROW_COUNT})() > {first}")
    assert await page.evaluate("window.__same_page") is True  # no reload happened
    messages = await page.locator("#logs tbody tr td:nth-child(4)").all_text_contents()
    assert messages[:5] == ["tick 1", "tick 2", "tick 3", "tick 4", "tick 5 <b>is</b> a fifth"]
    seqs = await page.locator("#logs tbody tr").evaluate_all(
        "rows => rows.map(r => Number(r.dataset.seq))"
    )
    assert seqs == list(range(1, len(seqs) + 1))  # each record once, in order
    warning = page.locator("#logs tbody tr[data-seq='5'] td:nth-child(2)")
    assert await warning.get_attribute("class") == "level-warning"
    # Stopped, the page takes the last records and says how many it has.
    async with session.post(f"/api/runs/{run_id}/stop") as response:
        assert response.status == 202
    await page.wait_for_function(
        "() => document.querySelector('#live').textContent === 'ended: stopped'"
    )
    async with session.get(f"/api/runs/{run_id}/logs") as response:
        total = len((await response.json())["logs"])
    await page.wait_for_function(f"() => ({ROW_COUNT})() === {total}")
    assert await page.locator("#logs-note").text_content() == f"({total} records)"
    assert await page.locator("b").count() == 0
    assert page.dialogs == [] and page.errors == []
