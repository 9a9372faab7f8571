"""Checks of one node that need its whole context: kind, shape, args and executor."""

from __future__ import annotations

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
    message = check_args(sig, node.args, node.is_source)
    if message:
        problems.append(Problem(f"{path}.args", message))
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
