"""Fixtures of the schedule tests: a real store file on a virtual clock starting at DAY0."""

from __future__ import annotations

import pytest
from schedule_harness import DAY0
from store_harness import recorders, store

from pipelines.testing import VirtualClock


@pytest.fixture
def clock():
    return VirtualClock(start=DAY0)


__all__ = ["clock", "recorders", "store"]
