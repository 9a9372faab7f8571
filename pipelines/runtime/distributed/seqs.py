"""Sequence numbers: where each item stands in its stream, whichever replica made it.

A source numbers what it yields 0, 1, 2...; a transform's result keeps the
number of its item (the ``j``-th result of a generator adds ``j``: ``(5, j)``);
a merge link puts the producer's place among the node's feeders in front
(``(feeder, ...)``) so numbers stay unique; a zip pairs the items of its
inputs that carry the same number. Numbers are tuples of ints, compared in
order, so sorting by them gives the order of a run in one process. With the
run's id they are also each item's stable id (:func:`item_id`), the same on
every delivery, for sinks that de-duplicate.

A batch's numbers are a :class:`Seqs`: most batches hold consecutive numbers,
kept as a start and a count (no tuple per item); others as a list.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

__all__ = ["Seqs", "seq_from_text", "seq_text"]

Seq = tuple[int, ...]


def seq_text(seq: Seq) -> str:
    """``(3, 1)`` -> ``"3.1"``."""
    return ".".join(map(str, seq))


def seq_from_text(text: str) -> Seq:
    """``"3.1"`` -> ``(3, 1)``."""
    return tuple(int(part) for part in text.split(".")) if text else ()


class Seqs:
    """The sequence numbers of one batch: a run ``prefix + (start + i,)`` or a list."""

    __slots__ = ("_n", "_prefix", "_seqs", "_start")

    def __init__(
        self, prefix: Seq = (), start: int = 0, n: int = 0, seqs: list[Seq] | None = None
    ) -> None:
        self._prefix = prefix
        self._start = start
        self._seqs = seqs
        self._n = len(seqs) if seqs is not None else n

    @classmethod
    def of(cls, seqs: list[Seq]) -> Seqs:
        """Numbers given one by one."""
        return cls(seqs=seqs)

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: int) -> Seq:
        if self._seqs is not None:
            return self._seqs[i]
        if not 0 <= i < self._n:
            raise IndexError(i)
        return (*self._prefix, self._start + i)

    def __iter__(self) -> Iterator[Seq]:
        if self._seqs is not None:
            return iter(self._seqs)
        return ((*self._prefix, self._start + i) for i in range(self._n))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Seqs) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"Seqs({self.encode()!r})"

    def select(self, indices: Sequence[int]) -> Seqs:
        """The numbers at ``indices`` (in that order)."""
        if (
            self._seqs is None
            and indices
            and indices[-1] - indices[0] == len(indices) - 1
            and list(indices) == list(range(indices[0], indices[-1] + 1))
        ):
            return Seqs(self._prefix, self._start + indices[0], len(indices))
        return Seqs.of([self[i] for i in indices])

    def prefixed(self, head: int) -> Seqs:
        """The same numbers with ``head`` in front (a merge link's producer)."""
        if self._seqs is None:
            return Seqs((head, *self._prefix), self._start, self._n)
        return Seqs.of([(head, *seq) for seq in self._seqs])

    def encode(self) -> str:
        """Text for a stream entry: ``"prefix:start"`` for a run, ``"a.b,c"`` for a list."""
        if self._seqs is None:
            return f"{seq_text(self._prefix)}:{self._start}"
        return ",".join(seq_text(seq) for seq in self._seqs)

    @classmethod
    def decode(cls, text: str, n: int) -> Seqs:
        """The numbers of an entry holding ``n`` items (the text of :meth:`encode`)."""
        head, colon, start = text.partition(":")
        if colon:
            return cls(seq_from_text(head), int(start), n)
        seqs = [seq_from_text(part) for part in text.split(",")] if text else []
        if len(seqs) != n:
            raise ValueError(f"an entry of {n} items carries {len(seqs)} sequence numbers")
        return cls.of(seqs)
