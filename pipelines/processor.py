"""Upstream import path: ``from pipelines.processor import Processor`` keeps working.

``Processor(coro=..., input_srcs=[...], output_dests=[...])`` built by hand
inside a running loop starts at once, as in the original; so does an
``InputProcessor`` (see :mod:`pipelines.runtime.upstream`).
"""

from __future__ import annotations

from .runtime.policy import DeadLetter
from .runtime.processor import Processor
from .runtime.sources import OutputQueue
from .runtime.upstream import InputProcessor

__all__ = ["DeadLetter", "InputProcessor", "OutputQueue", "Processor"]
