"""Tools for testing pipelines, shipped with the package so users test their own graphs the same way.

:class:`VirtualClock` replaces the system clock in anything that takes a
``clock``: time moves only when the test says so, and sleepers wake in
deadline order, so time-dependent behaviour is asserted exactly.
"""

from __future__ import annotations

from .clock import VirtualClock

__all__ = ["VirtualClock"]
