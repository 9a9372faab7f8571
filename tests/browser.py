"""A real headless Chromium for dashboard tests: Debian's ``chromium`` driven by Playwright
(never ``playwright install``). Outside CI the tests skip, saying why, when either is
missing; under ``CI=true`` they fail instead."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

try:
    from playwright.async_api import async_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    async_playwright = None

#: Mark a test module (``pytestmark = needs_browser``).
needs_browser = pytest.mark.skipif(
    (CHROMIUM is None or async_playwright is None) and not os.environ.get("CI"),
    reason="needs Debian's chromium (apt-get install chromium) and Playwright (pip install playwright)",
)


@contextlib.asynccontextmanager
async def launched() -> AsyncIterator[Any]:
    """A headless Chromium, closed at the end."""
    assert CHROMIUM is not None, "chromium is not installed (apt-get install chromium)"
    assert async_playwright is not None, "playwright is not installed"
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield browser
        finally:
            await browser.close()


async def open_page(browser: Any, url: str) -> Any:
    """A page that records dialogs and script errors (``page.dialogs``, ``page.errors``)."""
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    page.dialogs = []
    page.errors = []
    page.on(
        "dialog",
        lambda dialog: (
            page.dialogs.append(dialog.message),
            asyncio.ensure_future(dialog.dismiss()),
        ),
    )
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    await page.goto(url)
    return page
