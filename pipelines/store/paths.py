"""Where the run store lives: ``$PIPELINES_HOME/pipelines.db``, ``~/.pipelines`` by default."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DB_NAME", "HOME_ENV", "default_path", "home"]

HOME_ENV = "PIPELINES_HOME"
DB_NAME = "pipelines.db"


def home() -> Path:
    """``$PIPELINES_HOME``, or ``~/.pipelines``."""
    value = os.environ.get(HOME_ENV)
    return Path(value).expanduser() if value else Path.home() / ".pipelines"


def default_path() -> Path:
    """The default store file: ``home() / "pipelines.db"``."""
    return home() / DB_NAME
