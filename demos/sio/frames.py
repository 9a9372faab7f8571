"""Bad frames: recognising them, and logging them without flooding the log.

A frame a client sends can be garbage (not engine.io, not socket.io), nested
too deeply for the JSON decoder, or a socket.io event whose name the
protocol reserves. Each is reported as at most one short line (no
traceback), through a :class:`RateLimitedLog` that lets ``burst`` lines
through per ``period`` seconds and counts the rest.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from engineio import packet as eio_packet

__all__ = ["RESERVED_EVENTS", "RateLimitedLog", "engineio_frame_problem", "shown_frame"]

#: Event names socket.io keeps for the connection's life cycle: a client
#: emitting one must not run the server's handler for it.
RESERVED_EVENTS = frozenset({"connect", "disconnect", "connect_error"})

#: Longest log line about a bad frame (the frame itself is cut to fit).
MAX_LINE = 160


def shown_frame(data: Any, width: int = 24) -> str:
    """A frame in a log line: its size and a short, escaped start."""
    if isinstance(data, bytes | bytearray):
        return f"{len(data)} bytes of binary"
    text = str(data)
    head = repr(text[:width]) + ("..." if len(text) > width else "")
    return f"{len(text)} chars {head}"


def engineio_frame_problem(data: Any) -> str | None:
    """What is wrong with a websocket frame as an engine.io packet, or None.

    engine.io decodes a frame outside any error handling of its own (a bad
    one ends the request with a traceback), so frames are checked here
    first. A socket.io frame (``4`` then a digit) costs a few character
    tests: engine.io leaves its payload to socket.io.
    """
    try:
        packet = eio_packet.Packet(encoded_packet=data)
    except RecursionError:
        return "nested too deeply"
    except Exception as exc:
        return f"not an engine.io packet ({type(exc).__name__})"
    if not 0 <= packet.packet_type < len(eio_packet.packet_names):
        return "not an engine.io packet (unknown type)"
    return None


class RateLimitedLog:
    """Log lines of one kind, at most ``burst`` per ``period`` seconds.

    Lines past the burst are counted, and the first line of the next period
    says how many were left out. Each line is cut to :data:`MAX_LINE`
    characters and never carries a traceback. ``clock`` is injectable
    (tests drive it by hand).
    """

    def __init__(
        self,
        logger: logging.Logger,
        burst: int,
        period: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.burst = burst
        self.period = period
        self.clock = clock
        self._window_start: float | None = None
        self._in_window = 0
        self.suppressed = 0  # left out in the current window
        self.total_suppressed = 0

    def warning(self, message: str) -> bool:
        """Log ``message`` unless the burst is spent; return whether it was logged."""
        now = self.clock()
        if self._window_start is None or now - self._window_start >= self.period:
            if self.suppressed:
                self.logger.warning(
                    "demo server: %d more warning line(s) left out in the last %g s",
                    self.suppressed,
                    self.period,
                )
            self._window_start, self._in_window, self.suppressed = now, 0, 0
        if self._in_window >= self.burst:
            self.suppressed += 1
            self.total_suppressed += 1
            return False
        self._in_window += 1
        line = " ".join(message.split())  # one line, whatever the frame held
        if len(line) > MAX_LINE:
            line = line[: MAX_LINE - 3] + "..."
        self.logger.warning("%s", line)
        return True
