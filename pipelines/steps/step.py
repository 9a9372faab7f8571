"""One step of a steps pipeline: its function, name and version; checking a list of steps.

``set_steps`` takes wpipe's forms: ``(function, "name", "version")``,
``(function, "name")`` and a bare function (named after itself). A function
is anything callable on one dict (a ``def``, an ``async def``, an object
with ``__call__``, a ``functools.partial``, another steps ``Pipeline``).
Every problem of the list is reported together, as a
:class:`~pipelines.SpecError` with the path of the step (``steps[2].name``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import PipelineError, Problem, SpecError, short_repr
from ..spec.calling import Shape, callable_name, classify

__all__ = ["NAME_SEPARATOR", "Step", "StepError", "merge", "parse_steps"]

#: What a ``/`` in a step's name becomes in its node's name (``/`` joins subgraph names).
NAME_SEPARATOR = "\u2215"


@dataclass(frozen=True, slots=True)
class Step:
    """A step: ``func(data) -> dict`` (or a coroutine of one when ``is_async``), its ``name``
    and ``version`` as given, the ``node`` that runs it (its name, made unique) and the
    name of its ``function``."""

    func: Callable[[dict[str, Any]], Any]
    name: str
    version: str
    is_async: bool
    node: str
    function: str

    @property
    def label(self) -> str:
        """``name version`` (or the name alone when the version is empty)."""
        return f"{self.name} {self.version}" if self.version else self.name


class StepError(PipelineError):
    """A step failed (raised, or returned something that is not a dict).

    ``step`` and ``version`` name it, ``position`` is its place (from 1),
    ``node`` is the node that ran it; ``data`` is the dict the steps had
    accumulated when it was called (the input and everything earlier steps
    returned: the partial result); the original exception is chained as
    ``__cause__``. ``result`` is the engine's :class:`~pipelines.RunResult`
    of the run so far when the failure happened in ``run()`` (None when the
    pipeline was called as a function, as a graph's node).
    """

    def __init__(
        self, step: Step, position: int, data: dict[str, Any], error: BaseException
    ) -> None:
        self.step = step.name
        self.version = step.version
        self.position = position
        self.data = data
        self.node = step.node
        self.item = short_repr(data)
        self.attempts = 1
        RuntimeError.__init__(
            self, f"step {step.name!r}{_version(step)} failed: {type(error).__name__}: {error}"
        )


def _version(step: Step) -> str:
    return f" {step.version}" if step.version else ""


def merge(step: Step, data: dict[str, Any], result: Any) -> None:
    """Add what a step returned to the accumulated ``data`` (a dict's keys; None adds nothing).

    Raises TypeError for anything else, naming the step.
    """
    if result is None:
        return
    if not isinstance(result, Mapping):
        raise TypeError(
            f"step {step.name!r}{_version(step)} returned {type(result).__name__}, not a dict"
            " (return a dict of the keys it adds, or None)"
        )
    if result is not data:  # a step may return the dict it was given
        data.update(result)


def parse_steps(steps: Any) -> list[Step]:
    """Check ``steps`` (wpipe's forms, see the module doc); raise SpecError listing every problem."""
    if isinstance(steps, str | bytes | Mapping) or not isinstance(steps, Sequence):
        raise SpecError([Problem("steps", f"must be a list of steps, got {type(steps).__name__}")])
    problems: list[Problem] = []
    parsed: list[tuple[Callable[..., Any], str, str, bool, str]] = []
    if not steps:
        problems.append(Problem("steps", "must name at least one step"))
    for i, raw in enumerate(steps):
        found = _one(raw, f"steps[{i}]", problems)
        if found is not None:
            parsed.append(found)
    if problems:
        raise SpecError(problems)
    nodes = _node_names([(name, version) for _, name, version, _, _ in parsed])
    return [
        Step(func, name, version, is_async, node, function)
        for (func, name, version, is_async, function), node in zip(parsed, nodes, strict=True)
    ]


def _one(
    raw: Any, path: str, problems: list[Problem]
) -> tuple[Callable[..., Any], str, str, bool, str] | None:
    if isinstance(raw, tuple):
        if len(raw) not in (2, 3):
            problems.append(
                Problem(path, f"a step is (function, name, version), got {len(raw)} values")
            )
            return None
        func, name, version = (*raw, "") if len(raw) == 2 else raw
    elif callable(raw):
        func, name, version = raw, callable_name(raw), ""
    else:
        problems.append(
            Problem(path, f"a step is (function, name, version), got {type(raw).__name__}")
        )
        return None
    before = len(problems)
    if not isinstance(name, str) or not name.strip():
        problems.append(Problem(f"{path}.name", f"must be a non-empty string, got {name!r}"))
    if version is None:
        version = ""
    elif isinstance(version, int | float) and not isinstance(version, bool):
        version = str(version)
    elif not isinstance(version, str):
        problems.append(Problem(f"{path}.version", f"must be a string, got {version!r}"))
    is_async = _check_function(func, f"{path}.function", problems)
    if len(problems) > before or is_async is None:
        return None
    return func, name, version, is_async, callable_name(func)


def _check_function(func: Any, path: str, problems: list[Problem]) -> bool | None:
    """True for an async step, False for a plain one; None (and a problem) if unusable."""
    if not callable(func):
        problems.append(Problem(path, f"is not callable (got {type(func).__name__})"))
        return None
    sig = classify(func)
    if sig.shape in (Shape.ASYNC_GEN, Shape.SYNC_GEN):
        problems.append(
            Problem(path, f"{sig.name} is a generator: a step returns one dict (return it)")
        )
        return None
    if sig.signature is not None:
        try:
            sig.signature.bind({})
        except TypeError as exc:
            problems.append(
                Problem(path, f"{sig.name}{sig.signature} cannot be called as step(data): {exc}")
            )
            return None
    # An object whose __call__ is async (a steps Pipeline used as a step) counts as async.
    return sig.shape is Shape.COROUTINE


def _node_names(steps: list[tuple[str, str]]) -> list[str]:
    """A unique node name per step: its name; ``name version`` where names repeat; then ``#k``."""
    base = [name.replace("/", NAME_SEPARATOR) for name, _ in steps]
    counts = {name: base.count(name) for name in base}
    names = [
        f"{name} {version}".rstrip() if counts[name] > 1 else name
        for name, (_, version) in zip(base, steps, strict=True)
    ]
    used: set[str] = set()
    unique = []
    for name in names:
        candidate, k = name, 1
        while candidate in used:
            k += 1
            candidate = f"{name} #{k}"
        used.add(candidate)
        unique.append(candidate)
    return unique
