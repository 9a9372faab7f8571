"""Exceptions raised by pipelines: spec problems and run failures."""

from __future__ import annotations

import builtins
import reprlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DeliveryError",
    "GraphStalled",
    "PipelineError",
    "Problem",
    "RemoteError",
    "SpecError",
    "SubscriberWarning",
    "UnboundedQueueWarning",
    "remote_error",
    "short_repr",
]

_repr = reprlib.Repr()
_repr.maxstring = 80
_repr.maxother = 80
_repr.maxlong = 40
_repr.maxlevel = 3

_MAX_REPR = 200


def short_repr(value: object) -> str:
    """Return a repr of ``value`` bounded to a few hundred characters."""
    try:
        text = _repr.repr(value)
    except Exception as exc:  # a broken __repr__ must not hide the real error
        text = f"<unreprable {type(value).__name__}: {exc!r}>"
    if len(text) > _MAX_REPR:
        text = text[: _MAX_REPR - 3] + "..."
    return text


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem found in a spec: the dotted path of the key and what is wrong."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class SpecError(ValueError):
    """A graph spec (dict or file) is invalid.

    ``problems`` lists every problem found, each a :class:`Problem` with the
    key path (``nodes.rev.coro``) and a message. The exception's message lists
    them all, one per line.
    """

    def __init__(self, problems: Iterable[Problem], source: str | None = None) -> None:
        self.problems: list[Problem] = list(problems)
        self.source = source
        where = f" in {source}" if source else ""
        count = len(self.problems)
        head = f"invalid pipeline spec{where} ({count} problem{'s' if count != 1 else ''})"
        super().__init__(head + "".join(f"\n  - {p}" for p in self.problems))


class PipelineError(RuntimeError):
    """A node failed while the graph ran.

    ``node`` names the node, ``item`` is a shortened repr of the item it was
    processing (``None`` for a source), ``attempts`` counts the calls made, and
    the original exception is chained as ``__cause__``. When raised by
    ``run()``, ``result`` is the run's :class:`~pipelines.RunResult` so far
    (``status == "failed"``: the stats and collected outputs up to the failure).
    """

    result: Any = None

    def __init__(self, node: str, item: str | None, exc: BaseException, attempts: int = 1) -> None:
        self.node = node
        self.item = item
        self.attempts = attempts
        on = f" on item {item}" if item is not None else ""
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        super().__init__(f"node {node!r} failed{on}{tries}: {type(exc).__name__}: {exc}")


class SubscriberWarning(UserWarning):
    """An event subscriber raised; the run goes on. Issued once per subscriber, so the
    mistake is visible even where logging is not configured (it is also logged)."""


class UnboundedQueueWarning(UserWarning):
    """A node has ``queue_size: 0``: its input links are unbounded, so memory is
    no longer bounded by the link capacities (a fast producer can fill it)."""


class GraphStalled(PipelineError):
    """Every node of a running graph waits for another, so the run can never end.

    Raised by ``run()`` instead of hanging. ``waits`` lists what each waiting
    node waits for. The usual cause is a zip whose inputs carry different
    numbers of items (a filter on one branch): its other inputs fill up.
    ``node`` and ``item`` are ``None``.
    """

    def __init__(self, waits: list[str]) -> None:
        self.node = None  # type: ignore[assignment]
        self.item = None
        self.attempts = 0
        self.waits = list(waits)
        RuntimeError.__init__(
            self,
            "the graph is stalled: every node waits for another, so the run can never end:"
            + "".join(f"\n  - {w}" for w in self.waits)
            + "\nA zip pairs items by position, so its inputs must carry the same number of"
            " items; if one branch drops or adds items, merge instead"
            " (aggregate_inputs: false) or compute both values in one node.",
        )


class RemoteError(Exception):
    """An exception raised on another machine (a worker of a distributed run), as data.

    Only its type's name and its message cross the wire (never code), so the
    coordinator re-creates it as an instance of a class named like the
    original (``type(error).__name__ == "ValueError"``) that derives from
    ``RemoteError`` and, for Python's built-in exceptions, from that built-in
    too: ``except ValueError`` still catches it. ``type_name`` is the original
    type's name; ``str(error)`` is its message.
    """

    type_name: str = "RemoteError"

    def __str__(self) -> str:
        # The original's str(), as sent: a built-in base must not re-format it
        # (KeyError would quote it again).
        return str(self.args[0]) if self.args else ""


_remote_classes: dict[str, type[RemoteError]] = {}
_MAX_REMOTE_CLASSES = 256  # type names come from the wire: keep the cache bounded


def remote_error(type_name: str, message: str) -> RemoteError:
    """A :class:`RemoteError` standing for an exception of type ``type_name`` raised elsewhere.

    Only Python's built-in exceptions and pipelines' own (:class:`DeliveryError`)
    are mixed in, by name, from a fixed list: a name read from Redis never
    imports anything.
    """
    name = type_name if type_name.isidentifier() else "RemoteError"
    cls = _remote_classes.get(name)
    if cls is None:
        base = _OWN_ERRORS.get(name) or getattr(builtins, name, None)
        bases: tuple[type, ...] = (RemoteError,)
        if isinstance(base, type) and issubclass(base, Exception) and base is not Exception:
            bases = (RemoteError, base)
        try:
            cls = type(name, bases, {"type_name": name, "__module__": "pipelines.remote"})
        except TypeError:  # a built-in whose layout cannot be mixed in
            cls = type(name, (RemoteError,), {"type_name": name, "__module__": "pipelines.remote"})
        if len(_remote_classes) < _MAX_REMOTE_CLASSES:
            _remote_classes[name] = cls
    return cls(message)


class DeliveryError(RuntimeError):
    """An entry of a distributed run was delivered more than ``max_deliveries`` times.

    Each delivery ended without the entry being acknowledged (the worker
    processing it died, or it was taken over), so a worker probably crashes
    on one of its items. Its items fail with this error: they go to the
    node's dead-letter route, are skipped, or fail the run (``on_error``).
    """


#: pipelines' exceptions a remote error may stand for (see :func:`remote_error`).
_OWN_ERRORS: dict[str, type[Exception]] = {"DeliveryError": DeliveryError}
