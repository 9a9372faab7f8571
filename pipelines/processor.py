"""Upstream import path: ``from pipelines.processor import Processor`` keeps working."""

from __future__ import annotations

from .runtime.policy import DeadLetter
from .runtime.processor import Processor
from .runtime.sources import OutputQueue

__all__ = ["DeadLetter", "OutputQueue", "Processor"]
