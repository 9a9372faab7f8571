"""Executors of plain ``def`` functions: one thread pool per run, a process pool per process node.

Made when a run starts and shut down when it ends: calls already running are
waited for (a thread cannot be interrupted), calls not started never start,
and a cancelled run terminates its worker processes instead of waiting for
CPU-bound calls.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import multiprocessing.context
import os
from collections.abc import Iterable

from ..spec.calling import Shape
from .calls import Offload
from .node import Node

__all__ = ["MAX_PROCESSES", "close_executors", "make_executors", "process_context"]

#: Worker processes of one ``executor: process`` node, at most: a process pool
#: starts all its processes at the first call, so ``concurrency: 10000``
#: must not fork 10,000 of them. More calls in flight wait in the pool.
MAX_PROCESSES = max(4, 2 * (os.cpu_count() or 1))


def _runs_off_loop(node: Node) -> bool:
    sig = node.spec.signature
    return not sig.is_async and sig.shape is not Shape.ITERABLE


def make_executors(nodes: Iterable[Node]) -> list[concurrent.futures.Executor]:
    """Give every node that runs plain ``def`` code its executor; return the pools made."""
    executors: list[concurrent.futures.Executor] = []
    threaded: list[Node] = []
    for node in nodes:
        node.offload = None
        if not _runs_off_loop(node):
            continue
        if node.spec.options.executor == "process":
            processes = min(node.spec.options.concurrency, MAX_PROCESSES)
            pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=processes, mp_context=process_context()
            )
            executors.append(pool)
            node.offload = Offload(pool)
        else:
            threaded.append(node)
    if threaded:
        workers = sum(node.spec.options.concurrency for node in threaded)
        threads = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="pipelines")
        executors.append(threads)
        for node in threaded:
            node.offload = Offload(threads)
    return executors


async def close_executors(
    nodes: Iterable[Node], executors: list[concurrent.futures.Executor], clean: bool
) -> None:
    """Let calls already running in threads/processes end, then shut the pools down."""
    offloads = [node.offload for node in nodes if node.offload is not None]
    for offload in offloads:
        offload.cancel_queued()
    for executor in executors:
        if isinstance(executor, concurrent.futures.ProcessPoolExecutor) and not clean:
            # A cancelled run does not wait for CPU-bound calls to finish.
            for process in list(getattr(executor, "_processes", {}).values()):
                with contextlib.suppress(Exception):
                    process.terminate()
    for offload in offloads:
        await offload.wait_running()
    for executor in executors:
        executor.shutdown(wait=True, cancel_futures=True)


def process_context() -> multiprocessing.context.BaseContext:
    """The start method of process pools: fork where the platform has it.

    Forked workers inherit every module the parent imported, including
    functions loaded from beside a spec file under a private module name,
    so any function a spec resolved can be pickled by reference. (Python
    3.14 makes forkserver the default on Linux; it would re-import instead.)
    """
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()
