"""The ``pipelines`` command in a subprocess, as a user runs it: to its end, or started in the
background (for signals and servers). Shared by the command tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _command(args: tuple[object, ...]) -> list[str]:
    return [sys.executable, "-m", "pipelines", *map(str, args)]


def _environment(env: dict[str, str] | None) -> dict[str, str] | None:
    # ``env``: variables set over this process's environment (None: it as it is).
    return None if env is None else {**os.environ, **env}


def pipelines(
    *args: str | Path, env: dict[str, str] | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """Run ``pipelines ARGS`` to its end and capture its output."""
    return subprocess.run(
        _command(args), capture_output=True, text=True, timeout=timeout, env=_environment(env)
    )


def start(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start ``pipelines ARGS`` in the background, its stdout and stderr on pipes."""
    return subprocess.Popen(
        _command(args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_environment(env),
    )
