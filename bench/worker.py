"""Child process: run one implementation x workload once, print one JSON line.

    python bench/worker.py IMPL WORKLOAD N [--concurrency C]
    python bench/worker.py import-only LIBS 0     (LIBS: "python", "pipelines",
                                                   "networkx+yaml", ...)

Exit codes: 0 ok, 1 failed (exception or wrong result), 3 not installed,
4 workload not supported by this implementation.
"""

import argparse
import asyncio
import gc
import importlib
import inspect
import json
import os
import resource
import sys
import traceback

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    sys.path.pop(0)  # do not shadow libraries with bench/*
sys.path.insert(0, REPO)  # the working tree's pipelines/ and bench/

OK, FAILED, NOT_INSTALLED, UNSUPPORTED = 0, 1, 3, 4


def maxrss_kb():
    # kilobytes on Linux (bytes on macOS)
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb // 1024 if sys.platform == "darwin" else kb


def hwm_kb():
    """VmHWM of this process: unlike ru_maxrss, not inherited across exec."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def emit(code, **fields):
    fields.setdefault("maxrss_kb", maxrss_kb())
    fields.setdefault("hwm_kb", hwm_kb())
    print(json.dumps(fields), flush=True)
    sys.exit(code)


def import_only(libs):
    """Import the libraries (``+``-separated) and report the peak RSS."""
    import asyncio as _  # noqa: F401  every real run needs it anyway

    if libs != "python":
        for lib in libs.split("+"):
            try:
                importlib.import_module(lib)
            except ModuleNotFoundError as e:
                if e.name == lib:
                    emit(NOT_INSTALLED, status="not installed", error=str(e))
                raise
    emit(OK, status="ok")


def load(impl):
    from bench.impls import LIBRARY, MODULES

    if impl not in MODULES:
        emit(FAILED, status="failed", error=f"unknown implementation {impl!r}")
    try:
        return importlib.import_module(f"bench.impls.{MODULES[impl]}")
    except ModuleNotFoundError as e:
        lib = LIBRARY.get(impl)
        # only a missing library counts as "not installed"; a broken import
        # inside an installed library is a failure
        if lib and e.name == lib:
            emit(NOT_INSTALLED, status="not installed", error=str(e))
        raise


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("impl")
    ap.add_argument("workload")
    ap.add_argument("n", type=int)
    ap.add_argument("--concurrency", type=int, default=None)
    a = ap.parse_args()

    try:
        if a.impl == "import-only":
            import_only(a.workload)
        from bench import workloads as W

        mod = load(a.impl)
        fn = getattr(mod, W.FUNC_NAME.get(a.workload, a.workload), None)
        if fn is None:
            emit(UNSUPPORTED, status="unsupported")
        params = {} if a.concurrency is None else {"concurrency": a.concurrency}
        clock = W.Clock()
        gc.collect()
        if inspect.iscoroutinefunction(fn):
            result = asyncio.run(fn(a.n, clock, **params))
        else:
            result = fn(a.n, clock, **params)
        seconds = clock.seconds
        want = W.expected(a.workload, a.n)
        if result != want:
            emit(FAILED, status="failed", error=f"wrong result: got {result!r}, expected {want!r}")
        emit(OK, status="ok", seconds=seconds)
    except SystemExit:
        raise
    except BaseException as e:
        tb = traceback.format_exc(limit=-4)
        emit(FAILED, status="failed", error=f"{type(e).__name__}: {e}", traceback=tb)


if __name__ == "__main__":
    main()
