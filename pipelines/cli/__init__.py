"""The ``pipelines`` command (a surface): ``cli`` is the click group, ``main`` the entry point."""

from __future__ import annotations

from .app import cli, main

__all__ = ["cli", "main"]
