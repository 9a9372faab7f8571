"""Shared test fixtures: every test must leave no engine thread, process or task behind."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import shutil
import threading

import pytest

# Drawing images needs Graphviz's `dot` program. `.ci/run` installs it, so in
# CI (CI set) a missing `dot` fails those tests; elsewhere they are skipped
# with the reason, and DOT/Mermaid text tests still run.
needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None and not os.environ.get("CI"),
    reason="Graphviz `dot` is not installed (apt-get install graphviz)",
)


@pytest.fixture(autouse=True)
def pipelines_home(tmp_path_factory, monkeypatch):
    """``pipelines run`` records into $PIPELINES_HOME: a fresh folder per test, never the real home.

    Set in the environment, so subprocesses (``python -m pipelines ...``) inherit it.
    """
    home = tmp_path_factory.mktemp("pipelines-home")
    monkeypatch.setenv("PIPELINES_HOME", str(home))
    monkeypatch.delenv("PIPELINES_STORE", raising=False)
    monkeypatch.delenv("PIPELINES_TOKEN", raising=False)
    monkeypatch.delenv("PIPELINES_HEARTBEAT", raising=False)
    monkeypatch.delenv("PIPELINES_KEEP_RUNS", raising=False)
    return home


@pytest.fixture(autouse=True)
def no_leftover_threads():
    """Fail a test that leaves a pipelines worker thread running."""
    before = {t.ident for t in threading.enumerate()}
    yield
    leftover = [
        t.name
        for t in threading.enumerate()
        if t.ident not in before and t.name.startswith("pipelines") and t.is_alive()
    ]
    assert not leftover, f"threads left running: {leftover}"
    children = multiprocessing.active_children()  # also reaps finished ones
    assert not children, f"processes left running: {children}"


@pytest.fixture
def no_pending_tasks():
    """Call inside an async test, after the run, to assert no task of the run outlives it."""

    def check() -> None:
        current = asyncio.current_task()
        others = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        assert not others, f"tasks left pending: {others}"

    return check
