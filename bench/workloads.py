"""Workload definitions shared by the driver, the worker and the implementations.

Everything here is cheap to import (no third-party imports), because the
driver imports it too and we do not want to inflate anything it measures.
"""

import asyncio
import time

# --- shapes of the workloads -------------------------------------------------

CHAIN_MAPS = 5  # chain5: five "x + 1" maps
WIDE_BRANCHES = 50  # wide: source fanned out to 50 maps, merged in one sink
LONG_MAPS = 200  # long: a chain of 200 "x + 1" maps
IO_CONCURRENCY = 50  # io50: one node, concurrency 50
IO_SLEEP = 0.01  # io50: seconds awaited per item
CPU_LOOP = 200_000  # cpu: inner loop length (~10-20 ms of pure Python)
QUEUE_SIZE = 1024  # raw-queue: maxsize of every asyncio.Queue
BATCH = 256  # raw-queue-batched: items per queue operation

# default N per workload (``--quick`` divides by 10, ``--n`` overrides)
DEFAULT_N = {
    "chain5": 200_000,
    "chain5-batch": 200_000,
    "diamond": 100_000,
    "io50": 2_000,
    "mem1m": 1_000_000,
    "wide": 20_000,
    "long": 20_000,
    "cpu": 200,
    "build-chain": (500, 5_000, 50_000),
    "build-dag": (500, 5_000, 50_000),
}

# edges crossed by each source item: used for the "us/hop" column
HOPS = {
    "chain5": CHAIN_MAPS + 1,
    "chain5-batch": CHAIN_MAPS + 1,
    "mem1m": CHAIN_MAPS + 1,
    "diamond": 4,
    "wide": 2 * WIDE_BRANCHES,
    "long": LONG_MAPS + 1,
}

# workload name -> name of the function each implementation module exposes
FUNC_NAME = {
    "chain5": "chain5",
    "chain5-batch": "chain5_batch",
    "mem1m": "chain5",
    "diamond": "diamond",
    "io50": "io50",
    "wide": "wide",
    "long": "long",
    "cpu": "cpu",
    "build-chain": "build_chain",
    "build-dag": "build_dag",
}

# --- the user functions every implementation runs ----------------------------


async def source(n):
    """Async generator source: 0 .. n-1."""
    for i in range(n):
        yield i


async def inc(x):
    return x + 1


async def double(x):
    return x * 2


async def sleepy(x):
    await asyncio.sleep(IO_SLEEP)
    return x


def cpu_task(x):
    """CPU-bound, module level so it pickles for process pools."""
    s = 0
    for i in range(CPU_LOOP):
        s += i * i
    return s + x


async def noop(x):
    return x


async def inc_batch(xs):
    """chain5-batch: ``inc`` on a list, awaited per item like raw-queue-batched's maps."""
    return [await inc(x) for x in xs]


# --- expected results (what the worker checks) --------------------------------


def _s(n):
    return n * (n - 1) // 2


_SQUARES = (CPU_LOOP - 1) * CPU_LOOP * (2 * CPU_LOOP - 1) // 6


def expected(workload, n):
    """The value the implementation's function must return."""
    if workload in ("chain5", "chain5-batch", "mem1m"):
        return _s(n) + CHAIN_MAPS * n
    if workload == "diamond":
        # (sum of a, sum of b): a + b summed, each side apart to check the
        # zip order (a = x + 1 first, b = 2 * x second)
        return (_s(n) + n, 2 * _s(n))
    if workload == "io50":
        return _s(n)
    if workload == "wide":
        return WIDE_BRANCHES * (_s(n) + n)
    if workload == "long":
        return _s(n) + LONG_MAPS * n
    if workload == "cpu":
        return _s(n) + n * _SQUARES
    if workload in ("build-chain", "build-dag"):
        return n  # number of nodes built
    raise KeyError(workload)


# --- timing -------------------------------------------------------------------


class Clock:
    """Times only the part an implementation wraps in ``with clock:``."""

    def __init__(self):
        self.t0 = self.t1 = None

    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.t1 = time.perf_counter()
        return False

    @property
    def seconds(self):
        if self.t0 is None or self.t1 is None:
            raise RuntimeError("implementation never ran its timed section")
        return self.t1 - self.t0
