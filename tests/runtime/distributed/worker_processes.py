"""Worker processes for tests: ``python -m pipelines worker`` children, always killed at the end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

__all__ = ["REPO", "WorkerProcesses"]

REPO = Path(__file__).resolve().parents[3]


class WorkerProcesses:
    """Starts ``pipelines worker`` processes; :meth:`kill_all` (in a finally) ends every one."""

    def __init__(self, spec: Path, url: str, folder: Path) -> None:
        self.spec = spec
        self.url = url
        self.folder = folder
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *extra: str) -> subprocess.Popen[bytes]:
        """One more worker named ``name`` (its output goes to FOLDER/NAME.log)."""
        env = dict(os.environ, PYTHONPATH=str(REPO))
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pipelines",
                "worker",
                str(self.spec),
                "--redis",
                self.url,
                "--name",
                name,
                *extra,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.folder,
        )
        log.close()
        self.processes[name] = process
        return process

    def log(self, name: str) -> str:
        """What a worker printed."""
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def kill_all(self) -> None:
        """SIGKILL every worker still running and reap them all."""
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
        for process in self.processes.values():
            process.wait(10)
