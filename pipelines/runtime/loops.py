"""The serial loops of a node with ``concurrency: 1``: take, call, put.

The loops below repeat the same take / call / put steps on purpose: each is
specialised for one shape (one output, a sink, a zip of two, the general
case, an async generator) so that the per-item path carries no branch,
helper call or attribute load it does not need. Everything a loop uses is
bound to a local before it starts. Measured in bench/RESULTS.md; keep them in
step when changing one (tests/runtime/test_loop_variants.py runs every
variant through success, each error policy, retries and cancellation), and
run ``python bench/run.py`` before and after.
"""

from __future__ import annotations

import contextlib
import functools
from typing import TYPE_CHECKING

from .calls import make_invoke
from .hooks import node_invoke
from .policy import handle_failure
from .signals import is_failure
from .taking import END, send, take_one, take_zip

if TYPE_CHECKING:
    from .node import Node

__all__ = ["loop_general", "loop_one", "loop_serial", "loop_sink", "loop_stream", "loop_zip2"]


async def loop_serial(node: Node, many: bool) -> None:
    """``concurrency: 1``: pick the tightest loop for this node's shape."""
    if len(node.inputs) == 2 and not many:
        await loop_zip2(node)
    elif len(node.inputs) > 1:
        await loop_general(node, many, zipped=True)
    elif not node.outs and not many:
        await loop_sink(node)
    elif len(node.outs) == 1 and not many:
        await loop_one(node)
    else:
        await loop_general(node, many, zipped=False)


async def loop_one(node: Node) -> None:
    """The hot loop: one input link, one output, one result per call.

    Everything is inline. One local counter per item: every item taken
    either succeeds (``done``) or fails (counted on the failure path), so
    ``received`` is derived. Counters are published whenever the loop
    waits or wakes a neighbour, so an idle or slow node's stats are
    current while a busy one pays nothing per item.
    """
    invoke = node_invoke(node, False)
    failed = functools.partial(handle_failure, node)
    stats = node.stats
    link = node.inputs[0]
    buf = link.buf
    popleft = buf.popleft
    out = node.outs[0]
    ob = out.buf
    append = ob.append
    mark = 0  # take out.reserve() when the output depth reaches this
    done = 0
    node.use_invoke(invoke, (out, "getters"))
    try:
        while True:
            if not buf:
                stats.received += done
                stats.emitted += done
                done = 0
                if link.closed:
                    break
                await link.wait_items()
                continue
            item = popleft()
            if link.putters:
                link.wake_putters()
            try:
                result = await invoke(item)
            except BaseException as exc:
                stats.received += 1  # taken: failed, or cancelled while in flight
                if not is_failure(exc):
                    raise
                await failed(item, exc)
                continue
            if len(ob) >= mark:
                stats.received += done
                stats.emitted += done
                done = 0
                mark = await out.reserve()
            append(result)
            done += 1
            if out.getters:
                out.wake_getters()
                stats.received += done
                stats.emitted += done
                done = 0
                invoke = node.invoke or invoke
    finally:
        stats.received += done
        stats.emitted += done


async def loop_sink(node: Node) -> None:
    """A sink: one input link, results discarded (counted like :func:`loop_one`)."""
    invoke = node_invoke(node, False)
    failed = functools.partial(handle_failure, node)
    stats = node.stats
    link = node.inputs[0]
    buf = link.buf
    popleft = buf.popleft
    done = 0
    node.use_invoke(invoke, (link, "putters"))
    try:
        while True:
            if not buf:
                stats.received += done
                stats.emitted += done
                done = 0
                if link.closed:
                    break
                await link.wait_items()
                continue
            item = popleft()
            if link.putters:
                link.wake_putters()
                stats.received += done
                stats.emitted += done
                done = 0
                invoke = node.invoke or invoke
            try:
                await invoke(item)
            except BaseException as exc:
                stats.received += 1  # taken: failed, or cancelled while in flight
                if not is_failure(exc):
                    raise
                await failed(item, exc)
                continue
            done += 1
    finally:
        stats.received += done
        stats.emitted += done


async def loop_zip2(node: Node) -> None:
    """A zip of two inputs (the common case), one result per call."""
    invoke = node_invoke(node, False)
    failed = functools.partial(handle_failure, node)
    outs = node.outs
    stats = node.stats
    link0, link1 = node.inputs
    buf0, buf1 = link0.buf, link1.buf
    pop0, pop1 = buf0.popleft, buf1.popleft
    take_tuple = functools.partial(take_zip, node)
    done = 0
    node.use_invoke(invoke, (link0, "putters"))
    try:
        while True:
            if buf0 and buf1:
                item = (pop0(), pop1())
                if link0.putters or link1.putters:
                    link0.wake_putters()
                    link1.wake_putters()
                    stats.received += done
                    stats.emitted += done
                    done = 0
                    invoke = node.invoke or invoke
            else:
                stats.received += done
                stats.emitted += done
                done = 0
                item = await take_tuple()
                if item is END:
                    break
            try:
                result = await invoke(item)
            except BaseException as exc:
                stats.received += 1  # taken: failed, or cancelled while in flight
                if not is_failure(exc):
                    raise
                await failed(item, exc)
                continue
            for out in outs:
                ob = out.buf
                if len(ob) >= out.mark:
                    await out.reserve()
                ob.append(result)
                if out.getters:
                    out.wake_getters()
            done += 1
    finally:
        stats.received += done
        stats.emitted += done


async def loop_general(node: Node, many: bool, zipped: bool) -> None:
    """Fan-out, zip, generator functions: still inline, slightly more general."""
    invoke = node_invoke(node, many)
    failed = functools.partial(handle_failure, node)
    outs = node.outs
    stats = node.stats
    link = node.inputs[0]
    buf = link.buf
    popleft = buf.popleft
    # A one-result zip of two has its own loop (loop_zip2).
    take_tuple = functools.partial(take_zip, node)
    received = emitted = 0
    # A zip publishes before every take; a single input when it wakes a producer.
    node.use_invoke(invoke, None if zipped else (link, "putters"))
    try:
        while True:
            if zipped:
                stats.received += received
                stats.emitted += emitted
                received = emitted = 0
                invoke = node.invoke or invoke
                item = await take_tuple()
                if item is END:
                    break
            else:
                if not buf:
                    stats.received += received
                    stats.emitted += emitted
                    received = emitted = 0
                    if link.closed:
                        break
                    await link.wait_items()
                    continue
                item = popleft()
                if link.putters:
                    link.wake_putters()
                    stats.received += received
                    stats.emitted += emitted
                    received = emitted = 0
                    invoke = node.invoke or invoke
            received += 1
            try:
                result = await invoke(item)
            except BaseException as exc:
                if not is_failure(exc):
                    raise
                await failed(item, exc)
                continue
            if many:
                for value in result:
                    for out in outs:
                        ob = out.buf
                        if len(ob) >= out.mark:
                            await out.reserve()
                        ob.append(value)
                        if out.getters:
                            out.wake_getters()
                emitted += len(result)
                continue
            for out in outs:
                ob = out.buf
                if len(ob) >= out.mark:
                    await out.reserve()
                ob.append(result)
                if out.getters:
                    out.wake_getters()
            emitted += 1
    finally:
        stats.received += received
        stats.emitted += emitted


async def loop_stream(node: Node) -> None:
    """One call at a time of an async generator; results flow as they are yielded."""
    invoke = make_invoke(node, False)
    stats = node.stats
    take = functools.partial(take_zip if len(node.inputs) > 1 else take_one, node)
    put = functools.partial(send, node)
    while True:
        item = await take()
        if item is END:
            break
        stats.received += 1
        try:
            async with contextlib.aclosing(invoke(item)) as agen:
                async for value in agen:
                    await put(value)
                    stats.emitted += 1
        except BaseException as exc:
            if not is_failure(exc):
                raise
            await handle_failure(node, item, exc)
