"""The public surface: names, re-exports, and a silent, inert import."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import textwrap

import pytest

import pipelines


def test_top_level_names_import():
    from pipelines import PipelineError, Plumber, Processor, SpecError

    assert inspect.isclass(Plumber)
    assert inspect.isclass(Processor)
    assert issubclass(SpecError, ValueError)
    assert issubclass(PipelineError, Exception)


def test_upstream_module_paths_keep_the_upstream_classes():
    from pipelines.plumber import Plumber
    from pipelines.processor import Processor

    # The upstream Plumber is a Plumber that starts when built in a running loop.
    assert issubclass(Plumber, pipelines.Plumber)
    assert Processor is pipelines.Processor


def test_dead_letter_and_problem_are_public():
    assert pipelines.DeadLetter.__name__ == "DeadLetter"
    assert pipelines.Problem("nodes.a.coro", "missing").path == "nodes.a.coro"


def test_all_lists_each_name_once_and_every_name_resolves():
    assert len(pipelines.__all__) == len(set(pipelines.__all__))
    for name in pipelines.__all__:
        assert hasattr(pipelines, name), name
    assert {"Plumber", "Processor", "SpecError", "PipelineError", "DeadLetter", "Problem"} <= set(
        pipelines.__all__
    )


def test_all_matches_what_the_package_exports():
    """Every public non-module attribute is in __all__, and nothing else is."""
    import __future__

    exported = {
        name
        for name, value in vars(pipelines).items()
        if not name.startswith("_")
        and not inspect.ismodule(value)
        and not isinstance(value, __future__._Feature)
    }
    assert exported == set(pipelines.__all__) - {"__version__"}


def test_star_import_gives_exactly_all():
    namespace: dict[str, object] = {}
    exec("from pipelines import *", namespace)
    namespace.pop("__builtins__")
    assert set(namespace) == set(pipelines.__all__)


_PROBE = textwrap.dedent(
    """
    import asyncio, json, logging, threading

    async def main():
        # importing takes a while; -X dev would report it as a slow callback
        asyncio.get_running_loop().slow_callback_duration = 60
        threads_before = {t.ident for t in threading.enumerate()}
        root_handlers = list(logging.getLogger().handlers)
        import pipelines  # noqa: F401
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        new_threads = [t.name for t in threading.enumerate() if t.ident not in threads_before]
        return {
            "tasks": len(others),
            "threads": new_threads,
            "root_handlers_added": len(logging.getLogger().handlers) - len(root_handlers),
        }

    result = asyncio.run(main())
    import sys
    sys.__stdout__.write("RESULT" + json.dumps(result))
    """
)


def test_import_prints_nothing_and_starts_nothing():
    proc = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error", "-c", _PROBE],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.startswith("RESULT"), proc.stdout  # nothing printed before it
    result = json.loads(proc.stdout.removeprefix("RESULT"))
    assert result == {"tasks": 0, "threads": [], "root_handlers_added": 0}


def test_bare_import_output_is_empty():
    proc = subprocess.run(
        [sys.executable, "-c", "import pipelines"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


async def test_pipelines_run_inside_a_running_loop_says_to_await_instead():
    spec = {"nodes": {"a": {"coro": [1]}, "b": {"coro": print}}, "graph": {"a": ["b"], "b": None}}
    with pytest.raises(RuntimeError, match=r"use `await Plumber\(spec\)\.run\(\)` there"):
        pipelines.run(spec)
