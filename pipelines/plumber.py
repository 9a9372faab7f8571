"""Upstream import path: ``from pipelines.plumber import Plumber`` keeps working.

This is the Plumber code written for the original project expects: built
inside a running event loop, it starts its graph at once, as the original
did (:class:`~pipelines.runtime.upstream.UpstreamPlumber`).
``from pipelines import Plumber`` never starts on its own.
"""

from __future__ import annotations

from .runtime.upstream import UpstreamPlumber as Plumber

__all__ = ["Plumber"]
