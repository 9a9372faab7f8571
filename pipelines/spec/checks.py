"""Checks of one node that need its whole context: kind, shape, args and executor."""

from __future__ import annotations

import pickle

from ..errors import Problem
from .calling import Shape, check_args
from .model import NodeSpec

__all__ = ["check_node"]


def check_node(node: NodeSpec, problems: list[Problem]) -> None:
    """Append a problem for each way ``node`` cannot be called as the graph would call it."""
    path = f"nodes.{node.name}"
    sig = node.signature
    shape = sig.shape
    _check_operators(node, problems)
    if shape in (Shape.ITERABLE, Shape.ASYNC_ITERABLE):
        if not node.is_source:
            problems.append(
                Problem(
                    f"{path}.coro",
                    f"a {shape.value} can only feed a source node; this node has inputs",
                )
            )
        elif node.args:
            problems.append(Problem(f"{path}.args", f"a {shape.value} source takes no args"))
        return
    message = check_args(sig, node.args, node.is_source, node.inject)
    if message:
        problems.append(Problem(f"{path}.args", message))
    if node.is_source and node.hooks is not None:
        for hook in ("before", "after", "around"):
            if getattr(node.hooks, hook) is not None:
                problems.append(
                    Problem(
                        f"{path}.hooks.{hook}",
                        "a source is not called per item: only on_error applies to it",
                    )
                )
    if node.is_source and sig.upstream and shape is not Shape.COROUTINE:
        problems.append(
            Problem(
                f"{path}.coro",
                f"an upstream-style source {sig.name}(self, output_q) must be an async def coroutine function",
            )
        )
    _check_executor(node, problems)


#: The stream operator options, in the order problems about them are reported.
_OPERATORS = ("batch", "window", "key", "reduce", "join", "rate")


def _check_operators(node: NodeSpec, problems: list[Problem]) -> None:
    """Operators need inputs, and some cannot be combined (docs/operators.md)."""
    opts = node.options
    path = f"nodes.{node.name}"
    used = [name for name in _OPERATORS if getattr(opts, name) is not None]
    if not used:
        return
    if node.is_source:
        for name in used:
            problems.append(
                Problem(
                    f"{path}.{name}", f"a source has no input; {name} applies to nodes with inputs"
                )
            )
        return
    if opts.batch is not None:
        for other in ("window", "key", "reduce", "join"):
            if getattr(opts, other) is not None:
                problems.append(
                    Problem(
                        f"{path}.batch",
                        f"cannot be combined with {other} (for groups per key, use "
                        "window: {count: N} with key)",
                    )
                )
    if opts.join is not None:
        for other in ("window", "key", "reduce"):
            if getattr(opts, other) is not None:
                problems.append(
                    Problem(
                        f"{path}.join",
                        f"cannot be combined with {other} (a join takes its key in join.key)",
                    )
                )
        count = len(node.inputs) + len(node.dead_letter_from)
        if count != 2 or node.dead_letter_from:
            problems.append(
                Problem(
                    f"{path}.join",
                    "a join takes exactly two graph inputs (left and right, in the order their "
                    f"nodes appear as keys of graph); this node has {count}",
                )
            )
        elif not opts.aggregate_inputs:
            problems.append(
                Problem(
                    f"{path}.aggregate_inputs",
                    "a join takes its two inputs apart (left, right); leave aggregate_inputs true",
                )
            )


def _check_executor(node: NodeSpec, problems: list[Problem]) -> None:
    executor = node.options.executor
    if executor is None:
        return
    where = f"nodes.{node.name}.executor"
    sig = node.signature
    if sig.is_async and executor != "async":
        problems.append(
            Problem(
                where,
                f"{executor!r} runs plain def functions; {sig.name} is async (use 'async' or leave it out)",
            )
        )
    elif not sig.is_async and executor == "async":
        problems.append(
            Problem(
                where,
                f"{sig.name} is a plain def function; it runs in a 'thread' (default) or 'process', never on the event loop",
            )
        )
    if executor == "process" and (sig.upstream or sig.wants_processor):
        problems.append(
            Problem(where, "a function that takes its Processor cannot run in another process")
        )
    if executor == "process" and node.is_source:
        problems.append(Problem(where, "sources cannot use executor 'process'"))
    elif executor == "process" and not (sig.upstream or sig.wants_processor):
        for name in node.inject:
            if name != "context":  # a read-only copy of the context travels; resources do not
                problems.append(
                    Problem(
                        f"nodes.{node.name}.coro",
                        f"parameter {name!r} (a run resource) cannot be sent to a worker process",
                    )
                )
        _check_picklable(node, problems)


def _check_picklable(node: NodeSpec, problems: list[Problem]) -> None:
    """A process node's function and args travel to worker processes by pickle: check now."""
    path = f"nodes.{node.name}"
    try:
        pickle.dumps(node.coro)
    except Exception as exc:
        problems.append(
            Problem(
                f"{path}.coro",
                f"{node.signature.name} cannot be sent to a worker process "
                f"({type(exc).__name__}: {exc}); define it at module level of an importable "
                "module (or beside the spec file) and name it 'module:function'",
            )
        )
    try:
        pickle.dumps(node.args)
    except Exception as exc:
        problems.append(
            Problem(
                f"{path}.args",
                f"cannot be sent to a worker process ({type(exc).__name__}: {exc}); "
                "use plain values (numbers, strings, lists, dicts)",
            )
        )
