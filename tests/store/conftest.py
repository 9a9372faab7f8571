"""Fixtures of the store tests: a real SQLite file in a temporary folder, a virtual clock."""

from __future__ import annotations

import pytest
from store_harness import recorders, store

from pipelines.testing import VirtualClock


@pytest.fixture
def clock():
    return VirtualClock()


__all__ = ["clock", "recorders", "store"]
