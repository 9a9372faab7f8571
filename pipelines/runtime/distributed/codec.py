"""Items on the wire: the ``json`` (default) and ``pickle`` serializers.

A stream entry carries a batch of items as one blob. **json** is safe by
construction: loading it builds only plain data (``None``, bools, numbers,
strings, lists, dicts) plus a few tagged forms this module defines (tuples,
bytes, sets, dicts with non-string keys, :class:`~pipelines.DeadLetter`
records), so nothing read from Redis can run code. A value of any other type
is refused when it is sent, as a failure of the node that produced it, with
a message that says which type. **pickle** carries any picklable value but
runs code when it loads: only a spec may ask for it (``transport:
{serializer: pickle}``), and then anyone who can write to the Redis can run
code on the workers (docs/distributed.md).

Exceptions inside a DeadLetter cross as their type name and message and come
back as :func:`~pipelines.errors.remote_error` instances.
"""

from __future__ import annotations

import base64
import json
import pickle
from collections.abc import Callable
from typing import Any

from ...errors import remote_error
from ..policy import DeadLetter

__all__ = ["MAX_BLOB_BYTES", "Codec", "EncodeError", "JsonCodec", "PickleCodec", "make_codec"]

#: Largest blob one stream entry may carry; a batch beyond it is split, and a
#: single item beyond it fails (Redis itself refuses bulk strings over 512 MB).
MAX_BLOB_BYTES = 64 * 1024 * 1024

_FLAT = frozenset({int, str, float, bool, type(None)})
_dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=True).encode


class EncodeError(TypeError):
    """A value cannot be sent with the run's serializer; the message names its type."""


class Codec:
    """Turns batches of items into blobs and back. Subclasses: :class:`JsonCodec`, :class:`PickleCodec`."""

    name = ""

    def dumps_many(self, items: list[Any]) -> bytes:
        """One blob for ``items``; raises if one of them cannot be sent."""
        raise NotImplementedError

    def loads_many(self, blob: bytes) -> list[Any]:
        """The items of a blob made by :meth:`dumps_many`."""
        raise NotImplementedError

    def encode(
        self, items: list[Any]
    ) -> tuple[list[tuple[list[int], bytes]], dict[int, Exception]]:
        """Blobs for ``items`` and the failures: ``([(indices, blob), ...], {index: error})``.

        Each blob holds the items at its ``indices`` (in order) and is at most
        :data:`MAX_BLOB_BYTES`. The fast path encodes the whole list at once;
        if that fails, items are encoded one by one so that only those that
        cannot be sent fail.
        """
        return self._encode(items, list(range(len(items))))

    def _encode(
        self, items: list[Any], indices: list[int]
    ) -> tuple[list[tuple[list[int], bytes]], dict[int, Exception]]:
        try:
            blob = self.dumps_many(items)
        except Exception:
            return self._one_by_one(items, indices)
        if len(blob) <= MAX_BLOB_BYTES:
            return [(indices, blob)], {}
        if len(items) == 1:
            return [], {indices[0]: _too_large(len(blob))}
        half = len(items) // 2
        left, failed = self._encode(items[:half], indices[:half])
        right, more = self._encode(items[half:], indices[half:])
        failed.update(more)
        return left + right, failed

    def _one_by_one(
        self, items: list[Any], indices: list[int]
    ) -> tuple[list[tuple[list[int], bytes]], dict[int, Exception]]:
        good: list[Any] = []
        kept: list[int] = []
        failed: dict[int, Exception] = {}
        for index, item in zip(indices, items, strict=True):
            try:
                self.dumps_many([item])
            except Exception as exc:
                failed[index] = exc if isinstance(exc, EncodeError) else EncodeError(str(exc))
            else:
                good.append(item)
                kept.append(index)
        if not good:
            return [], failed
        blobs, more = self._encode(good, kept)
        failed.update(more)
        return blobs, failed


def _too_large(size: int) -> EncodeError:
    return EncodeError(
        f"an item of {size:,} bytes is larger than the transport carries "
        f"({MAX_BLOB_BYTES:,} bytes per stream entry)"
    )


# -- json ------------------------------------------------------------------------------


def _to_wire(value: Any) -> Any:
    """``value`` as plain JSON data, with tags for the types JSON lacks."""
    kind = type(value)
    if kind in _FLAT:
        return value
    if kind is list:
        return [_to_wire(v) for v in value]
    if kind is tuple:
        return {"$t": [_to_wire(v) for v in value]}
    if kind is dict:
        if all(type(k) is str and not k.startswith("$") for k in value):
            return {k: _to_wire(v) for k, v in value.items()}
        return {"$m": [[_to_wire(k), _to_wire(v)] for k, v in value.items()]}
    if kind is bytes:
        return {"$b": base64.b64encode(value).decode("ascii")}
    if kind is set or kind is frozenset:
        return {"$s" if kind is set else "$f": [_to_wire(v) for v in value]}
    if kind is DeadLetter:
        error = value.error
        return {
            "$dl": [
                value.node,
                _to_wire(value.item),
                getattr(error, "type_name", type(error).__name__),
                str(error),
                value.attempts,
            ]
        }
    raise EncodeError(
        f"a value of type {kind.__module__}.{kind.__qualname__} cannot be sent with the json "
        "serializer (it carries None, bool, int, float, str, list, tuple, dict, bytes, set); "
        "convert it, or opt in to `transport: {serializer: pickle}` (see docs/distributed.md)"
    )


def _hashable(value: Any) -> Any:
    return tuple(value) if type(value) is list else value


def _tagged(obj: dict[str, Any]) -> Any:
    if len(obj) != 1:
        return obj
    ((key, value),) = obj.items()
    if not key.startswith("$"):
        return obj
    decode = _TAGS.get(key)
    if decode is None:
        raise ValueError(f"unknown tag {key!r} in a json item")
    return decode(value)


def _dead_letter(value: list[Any]) -> DeadLetter:
    node, item, type_name, message, attempts = value
    return DeadLetter(str(node), item, remote_error(str(type_name), str(message)), int(attempts))


_TAGS: dict[str, Callable[[Any], Any]] = {
    "$t": tuple,
    "$m": lambda pairs: {_hashable(k): v for k, v in pairs},
    "$b": lambda text: base64.b64decode(text),
    "$s": lambda values: {_hashable(v) for v in values},
    "$f": lambda values: frozenset(_hashable(v) for v in values),
    "$dl": _dead_letter,
}


class JsonCodec(Codec):
    """JSON with tags for tuples, bytes, sets, non-string keys and DeadLetters. Never runs code."""

    name = "json"

    def dumps_many(self, items: list[Any]) -> bytes:
        """One JSON array; plain scalars take a fast path."""
        for item in items:
            if type(item) not in _FLAT:
                return _dumps([_to_wire(v) for v in items]).encode()
        return _dumps(items).encode()

    def loads_many(self, blob: bytes) -> list[Any]:
        """Plain data only (tags become tuples, bytes, sets...)."""
        values = json.loads(blob, object_hook=_tagged)
        if not isinstance(values, list):
            raise ValueError("a json batch must be an array")
        return values


# -- pickle ----------------------------------------------------------------------------


class _WireDeadLetter:
    """A DeadLetter on its way through pickle: its error as a name and a message."""

    __slots__ = ("attempts", "item", "message", "node", "type_name")

    def __init__(self, dead: DeadLetter) -> None:
        self.node, self.item, self.attempts = dead.node, dead.item, dead.attempts
        self.type_name = getattr(dead.error, "type_name", type(dead.error).__name__)
        self.message = str(dead.error)

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_dead_letter,
            (self.node, self.item, self.type_name, self.message, self.attempts),
        )


def _rebuild_dead_letter(
    node: str, item: Any, type_name: str, message: str, attempts: int
) -> DeadLetter:
    return DeadLetter(node, item, remote_error(type_name, message), attempts)


class PickleCodec(Codec):
    """pickle (protocol 5): any picklable value. Loading runs code: opt-in only."""

    name = "pickle"

    def dumps_many(self, items: list[Any]) -> bytes:
        """One pickle of the list (DeadLetter errors as name and message)."""
        wire = [_WireDeadLetter(v) if type(v) is DeadLetter else v for v in items]
        return pickle.dumps(wire, protocol=5)

    def loads_many(self, blob: bytes) -> list[Any]:
        """Unpickle a batch: runs whatever the blob names, which is why it is opt-in."""
        values = pickle.loads(blob)
        if not isinstance(values, list):
            raise ValueError("a pickled batch must be a list")
        return values


def make_codec(name: str) -> Codec:
    """The codec of a ``transport.serializer`` value."""
    if name == "json":
        return JsonCodec()
    if name == "pickle":
        return PickleCodec()
    raise ValueError(f"unknown serializer {name!r}")
