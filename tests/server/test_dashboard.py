"""The dashboard in a real headless Chromium (Debian's, driven by Playwright; never
``playwright install``): the runs table, live counts without a reload, escaping, the token.

A screenshot of a live run's page is kept at ``artifacts/dashboard.png`` (docs/dashboard.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from pathlib import Path

import pytest
from browser import launched, needs_browser, open_page
from conftest import needs_dot

from pipelines import Plumber
from pipelines.store import Recorder

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
XSS = "<img src=x onerror=alert(1)>"
#: The counts line of a node of the diagram (Graphviz puts the node's id in its <title>).
SVG_COUNTS = """(name) => {
  for (const g of document.querySelectorAll('#diagram svg g.node')) {
    if (g.querySelector('title').textContent !== name) continue;
    for (const t of g.querySelectorAll('text')) {
      if (/^(in|out) \\d+/.test(t.textContent)) return t.textContent;
    }
  }
  return null;
}"""

# In CI (CI set) a missing browser or Playwright fails these tests; elsewhere they skip.
pytestmark = needs_browser


@pytest.fixture
async def browser():
    async with launched() as chromium:
        yield chromium


async def numbers():
    for i in range(1, 5):
        yield i


async def keep(x):
    return x


async def reject_html(x):
    if x == 2:
        raise ValueError("<script>alert('item')</script>")
    return x


async def record(store, spec, name="py-worker"):
    with Recorder(store, worker_name=name, keep=0) as recorder:
        plumber = Plumber(spec)
        recording = recorder.record(plumber)
        with contextlib.suppress(Exception):
            await plumber.run()
    return recording.id


async def test_the_runs_table_lists_a_finished_run(browser, store, serve):
    spec = {
        "name": "etl",
        "nodes": {"numbers": {"coro": numbers}, "out": {"coro": keep}},
        "graph": {"numbers": ["out"], "out": None},
    }
    run_id = await record(store, spec)
    server, _ = await serve()
    page = await open_page(browser, server.url + "/")
    row = page.locator(f'#runs tr[data-run="{run_id}"]')
    await row.wait_for()
    cells = await row.locator("td").all_text_contents()
    assert cells[0] == run_id
    assert cells[1:3] == ["etl", "completed"]
    assert cells[5:] == ["4", "4", "py-worker"]
    assert await row.locator(".status").get_attribute("class") == "status status-completed"
    workers = await page.locator("#workers tbody tr td:first-child").all_text_contents()
    assert "py-worker" in workers
    # A click opens the run's page.
    await row.locator("a").click()
    await page.wait_for_url(f"**/runs/{run_id}")
    await page.locator("#nodes tr[data-node=out]").wait_for()
    assert page.dialogs == [] and page.errors == []


@needs_dot  # the run page's diagram
async def test_a_live_run_s_counts_change_on_the_page_without_a_reload(browser, serve):
    server, session = await serve("dashboard.yaml")
    async with session.post("/api/pipelines/orders/runs") as response:
        run_id = (await response.json())["id"]
    page = await open_page(browser, f"{server.url}/runs/{run_id}")
    await page.evaluate("window.__same_page = true")
    cell = page.locator("#nodes tr[data-node=store] td:nth-child(4)")  # 'in'
    await page.wait_for_function(
        "() => Number(document.querySelector('#nodes tr[data-node=store] td:nth-child(4)')"
        "?.textContent) > 0"
    )
    first = int(await cell.text_content())
    await page.locator("#diagram svg g.node").first.wait_for()
    first_svg = await page.evaluate(SVG_COUNTS, "store")
    assert re.fullmatch(r"in \d+, out \d+", first_svg)
    await page.wait_for_function(
        f"() => Number(document.querySelector('#nodes tr[data-node=store] td:nth-child(4)')"
        f".textContent) > {first}"
    )
    await page.wait_for_function(f"(before) => ({SVG_COUNTS})('store') !== before", arg=first_svg)
    assert re.fullmatch(r"in \d+, out \d+", await page.evaluate(SVG_COUNTS, "check"))
    await page.locator("#diagram svg g.node.has-failures").wait_for()  # every 7th order fails
    assert await page.evaluate("window.__same_page") is True  # no reload happened
    assert await page.locator("#diagram svg g.node.state-running").count() == 5
    assert await page.locator("#status").text_content() == "running"
    title = await page.locator("#diagram svg g.graph > text").text_content()
    assert re.fullmatch(r"orders: running in \d+\.(\d\d s|\d ms)", title)
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    # The stop button drains the run; the page follows it to its end.
    await page.locator("#stop").click()
    await page.wait_for_function(
        "() => document.querySelector('#status').textContent === 'stopped'"
    )
    await page.wait_for_function(
        "() => document.querySelector('#live').textContent === 'ended: stopped'"
    )
    assert await page.locator("#stop").is_hidden()
    assert page.dialogs == [] and page.errors == []


@needs_dot
async def test_names_and_errors_from_specs_and_items_are_shown_as_text(browser, store, serve):
    spec = {
        "name": "<b>bold</b>",
        "nodes": {XSS: {"coro": numbers}, "out": {"coro": reject_html}},
        "graph": {XSS: ["out"], "out": None},
    }
    run_id = await record(store, spec, name="<i>worker</i>")
    server, _ = await serve()
    index = await open_page(browser, server.url + "/")
    row = index.locator(f'#runs tr[data-run="{run_id}"]')
    await row.wait_for()
    cells = await row.locator("td").all_text_contents()
    assert (cells[1], cells[-1]) == ("<b>bold</b>", "<i>worker</i>")
    assert await index.locator("b, i, img, script:not([src])").count() == 0
    page = await open_page(browser, f"{server.url}/runs/{run_id}")
    node_cell = page.locator("#nodes tbody tr td:first-child").first
    await node_cell.wait_for()
    assert await node_cell.text_content() == XSS
    await page.locator("#diagram svg").wait_for()
    svg_texts = await page.locator("#diagram svg text").all_text_contents()
    assert XSS in svg_texts
    assert await page.locator("#pipeline").text_content() == "<b>bold</b>"
    assert (
        "ValueError: <script>alert('item')</script>"
        in await page.locator("#error-text").text_content()
    )
    assert await page.locator("img, b, i, script:not([src])").count() == 0
    await asyncio.sleep(0.3)  # give an injected handler every chance to fire
    assert index.dialogs == [] and page.dialogs == []
    assert index.errors == [] and page.errors == []


async def test_with_a_token_the_page_asks_for_it_once(browser, store, serve):
    spec = {
        "name": "secret",
        "nodes": {"numbers": {"coro": numbers}, "out": {"coro": keep}},
        "graph": {"numbers": ["out"], "out": None},
    }
    run_id = await record(store, spec)
    token = "a-long-enough-token-123"
    server, _ = await serve(token=token)
    page = await open_page(browser, server.url + "/")
    form = page.locator("#auth")
    await form.wait_for()
    await page.fill("#token", token)
    await page.click("#auth button")
    await page.locator(f'#runs tr[data-run="{run_id}"]').wait_for()
    assert await form.is_hidden()
    # The run's page, in the same tab, does not ask again.
    await page.goto(f"{server.url}/runs/{run_id}")
    await page.locator("#nodes tr[data-node=out]").wait_for()
    assert await page.locator("#auth").is_hidden()
    assert page.dialogs == [] and page.errors == []


async def test_schedules_and_their_occurrences_are_shown_as_text(browser, store, serve):
    from schedule_harness import DAY0, FakeHost, register_worker

    from pipelines.schedule.scheduler import Scheduled, Scheduler
    from pipelines.spec.schedule import ScheduleSpec
    from pipelines.store import schedules as book
    from pipelines.testing import VirtualClock

    clock = VirtualClock(start=DAY0)  # a schedule's history, written on a virtual clock
    host = FakeHost(store, clock, register_worker(store, clock, "<i>server</i>"), duration=90)
    entry = Scheduled(XSS, ScheduleSpec(interval=60.0), spec_hash="h")
    scheduler = Scheduler(store, [entry], host.start, worker_id=host.worker_id, clock=clock)
    task = asyncio.create_task(scheduler.run())
    await clock.advance(240)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    server, _ = await serve()
    page = await open_page(browser, server.url + "/")
    row = page.locator("#schedules tbody tr").first
    await row.wait_for()
    cells = await row.locator("td").all_text_contents()
    assert cells[0] == XSS and cells[1] == "every 60 s"
    # (the server that wrote it, on its virtual clock in 2024, is long silent: offline)
    assert (cells[4], cells[5], cells[6]) == ("skipped: overlap", "0", "<i>server</i> (offline)")
    last_run = row.locator("td:nth-child(4) a")
    assert await last_run.get_attribute("href") == f"/runs/{host.started[-1][2]}"
    fates = await page.locator("#occurrences tbody tr td:nth-child(3)").all_text_contents()
    reasons = await page.locator("#occurrences tbody tr td:nth-child(4)").all_text_contents()
    assert (fates, reasons) == (
        ["skipped", "crashed", "skipped", "completed"],  # its server is gone: crashed
        ["overlap", "", "overlap", ""],
    )
    assert await page.locator("i, img, script:not([src])").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "schedules.png"), full_page=True)
    # Paused (in the store, as `pipelines schedules pause` does): the page says so.
    with store.transaction() as conn:
        book.set_paused(conn, XSS, True, clock.time())
    await page.reload()
    await page.wait_for_function(
        "() => document.querySelector('#schedules tbody tr td:nth-child(2)')"
        "?.textContent === 'every 60 s (paused)'"
    )
    assert await row.locator("td:nth-child(3)").text_content() == ""  # no next run
    assert page.dialogs == [] and page.errors == []
