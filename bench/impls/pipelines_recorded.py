"""pipelines-recorded: the ``pipelines`` implementation with its run recorded, as
``pipelines run`` records it by default: a Recorder (worker registration,
heartbeat, batched writer on its own thread) into a store in a temporary
folder, and ``sample_calls=True`` for the latency figures.

Set-up (opening the store, registering the worker, writing the run's first
record, which `pipelines run` also does before the run starts) and tear-down
(the last flush, the worker going offline) are outside the timed part; the timed
``run()`` pays for everything recording does while a graph runs: the
subscriber's snapshot on each ``stats`` event, the sampled call timing, and
the writer thread's transactions competing for the interpreter. Compare with
the ``pipelines`` row of the same run for the overhead.
"""

import shutil
import tempfile
from pathlib import Path

from bench.impls.pipelines_impl import _chain_spec, _Sum
from bench.workloads import CHAIN_MAPS
from pipelines import Plumber
from pipelines.store import Recorder, Store


async def _recorded(clock, spec, acc):
    folder = tempfile.mkdtemp(prefix="pipelines-bench-")
    store = Store(Path(folder) / "pipelines.db")
    try:
        with Recorder(store, kind="run", keep=0) as recorder:
            plumber = Plumber(spec, sample_calls=True)
            recording = recorder.record(plumber, pipeline="bench")
            recording.written.result(30)  # as `pipelines run`: the record exists, then it runs
            with clock:
                await plumber.run()
    finally:
        store.close()
        shutil.rmtree(folder, ignore_errors=True)
    return acc.total


async def chain5(n, clock):
    acc = _Sum()
    return await _recorded(clock, _chain_spec(n, CHAIN_MAPS, acc), acc)
