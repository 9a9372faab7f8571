"""Stream entries as the workers see them: data batches and end markers.

Replies come raw (lists) from ``XREADGROUP``, ``XAUTOCLAIM`` and the
scripts: ``[[stream, [[id, [field, value, ...]], ...]], ...]``. A data entry
is ``s <seqs> n <count> i <blob>``; an end marker ``e <replica>``; a wake-up
``w <replica>`` (the node finished: a sibling replica waiting in a read can stop).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Entry", "parse_entries", "parse_read"]


@dataclass(slots=True)
class Entry:
    """One stream entry: a batch (``count`` items in ``blob``), an end marker or a wake-up."""

    id: bytes
    end: str | None = None
    wake: bool = False
    seqs: str = ""
    count: int = 0
    blob: bytes = b""
    deliveries: int = 1
    stream: bytes = b""


def parse_entries(raw: Any, stream: bytes = b"") -> list[Entry]:
    """Entries of one stream's reply (``[[id, fields], ...]``); deleted ones are skipped."""
    out: list[Entry] = []
    for entry_id, fields in raw or ():
        if not fields:
            continue  # deleted while pending: nothing to do
        if fields[0] == b"e":
            out.append(Entry(entry_id, end=fields[1].decode(), stream=stream))
        elif fields[0] == b"w":
            out.append(Entry(entry_id, wake=True, stream=stream))
        else:
            out.append(
                Entry(
                    entry_id,
                    seqs=fields[1].decode(),
                    count=int(fields[3]),
                    blob=fields[5],
                    stream=stream,
                )
            )
    return out


def parse_read(reply: Any) -> list[Entry]:
    """Entries of an ``XREADGROUP`` reply over one or more streams (None: nothing)."""
    out: list[Entry] = []
    for stream, raw in reply or ():
        out.extend(parse_entries(raw, stream))
    return out
