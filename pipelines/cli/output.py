"""What the command prints: consoles, error lines, exit codes, JSON, engine log records."""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
from collections.abc import Iterator
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.markup import escape

from ..errors import SpecError
from ..runtime.runlog import RUN_LOGGER

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "ConsoleHandler",
    "console",
    "error",
    "fail",
    "jsonable",
    "logging_to_console",
    "spec_failure",
    "stdout_to_stderr",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

#: Width of rich output when it does not go to a terminal (files, pipes, tests).
_PLAIN_WIDTH = 160

log = logging.getLogger("pipelines")


# -- output helpers ------------------------------------------------------------------


def console(stderr: bool = False) -> Console:
    """A rich console on stdout (or stderr), plain and wide when not a terminal."""
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else _PLAIN_WIDTH
    return Console(file=stream, width=width, highlight=False)


def error(message: str) -> None:
    """One message on stderr, starting with ``error:``."""
    click.echo(f"{click.style('error:', fg='red', bold=True)} {message}", err=True)


def fail(message: str, code: int) -> NoReturn:
    """Print one error line and exit with ``code``."""
    error(message)
    raise SystemExit(code)


def spec_failure(exc: SpecError) -> NoReturn:
    """Print every problem of an invalid spec and exit 2."""
    fail(str(exc), EXIT_USAGE)


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data; anything JSON cannot hold becomes its repr."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k if isinstance(k, str) else repr(k): jsonable(v) for k, v in value.items()}
    return repr(value)


class ConsoleHandler(logging.Handler):
    """Log records of the ``pipelines`` logger, printed through a rich console.

    While the live view is on, its console is used so that messages appear
    above the table instead of tearing it.
    """

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        """Print one record, coloured by level."""
        try:
            style = (
                "red"
                if record.levelno >= logging.ERROR
                else "yellow"
                if record.levelno >= logging.WARNING
                else "dim"
            )
            self.console.print(
                f"[{style}]{record.levelname.lower()}:[/] {escape(record.getMessage())}"
            )
        except Exception:  # logging must never break the run
            self.handleError(record)


@contextlib.contextmanager
def logging_to_console(verbose: bool) -> Iterator[ConsoleHandler]:
    """Show the ``pipelines`` logger's records (DEBUG with ``verbose``, else WARNING) on stderr.

    Run logs (``get_run_logger()`` in nodes, the ``pipelines.run`` logger)
    show from INFO up.
    """
    handler = ConsoleHandler(console(stderr=True))
    logger = logging.getLogger("pipelines")
    run_logger = logging.getLogger(RUN_LOGGER)
    level, run_level = logger.level, run_logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.WARNING)
    run_logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        run_logger.setLevel(run_level)


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send everything written to file descriptor 1 to 2 (stderr) until the block ends.

    At the descriptor level, so that prints from threads, C code and forked
    worker processes are redirected too; ``sys.stdout`` is flushed on both sides.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
