"""Upstream import path: ``from pipelines.plumber import Plumber`` keeps working."""

from __future__ import annotations

from .runtime.plumber import Plumber

__all__ = ["Plumber"]
