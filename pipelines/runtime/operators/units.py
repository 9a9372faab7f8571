"""What a windowed node's function receives: a :class:`Window`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Window"]


@dataclass(frozen=True, slots=True)
class Window:
    """One closed window of one key.

    ``key`` is what the node's ``key`` function gave (None without one).
    ``start`` and ``end`` bound the window, ``end`` excluded: positions in
    the key's stream for count windows (items ``start`` to ``end - 1``),
    seconds for time and session windows (wall-clock seconds of the run's
    clock in processing time, the ``time`` function's values in event time;
    a session ends ``gap`` seconds after its last item). ``items`` are the
    window's items in arrival order; with ``reduce`` they are not kept and
    ``value`` is the folded value instead.
    """

    key: Any
    start: float
    end: float
    items: list[Any] = field(default_factory=list)
    value: Any = None
