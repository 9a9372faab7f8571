"""Distributed benchmark: chain5 over Redis Streams, next to the same chain in one process.

    python bench/distributed.py                 # N = 200,000, 3 runs each, median
    python bench/distributed.py --n 50000 --repeat 1
    python bench/distributed.py --smoke         # tiny N, checks results (CI)

Starts a private ``redis-server`` (loopback, free port, temporary folder,
``appendonly yes`` + ``appendfsync everysec``), three ``pipelines worker``
processes sharing the five maps and the sink (``inc1,inc2`` / ``inc3,inc4`` /
``inc5,sink``), and runs from this process (where the source runs):

- ``chain5``: source 0..N-1, five maps ``x + 1``, a sink; items/s over the
  whole run (from ``run()`` to its result), in one process and on Redis;
- ``latency``: one item at a time (a source yielding every 5 ms), default
  batching; end-to-end seconds from the source's yield to the sink's call,
  p50 and p99 (wall clock, one machine).

Everything is killed at the end. Needs ``redis-server`` on PATH. Not a test:
figures depend on the machine and what else runs on it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if sys.path and Path(sys.path[0]).resolve() == HERE:
    sys.path.pop(0)
sys.path.insert(0, str(REPO))

FUNCS = """
import time

async def source(n):
    for i in range(n):
        yield i

async def inc(x):
    return x + 1

async def sink(x):
    return None

async def paced(n, pause=0.005):
    import asyncio
    for i in range(n):
        yield (i, time.time())
        await asyncio.sleep(pause)

async def tag(x):
    return x

async def latency(x):
    return time.time() - x[1]
"""

CHAIN = """
name: bench-chain5
nodes:
  source: {coro: "benchfuncs:source", args: {n: N}}
  inc1: {coro: "benchfuncs:inc"}
  inc2: {coro: "benchfuncs:inc"}
  inc3: {coro: "benchfuncs:inc"}
  inc4: {coro: "benchfuncs:inc"}
  inc5: {coro: "benchfuncs:inc"}
  sink: {coro: "benchfuncs:sink"}
graph:
  source: [inc1]
  inc1: [inc2]
  inc2: [inc3]
  inc3: [inc4]
  inc4: [inc5]
  inc5: [sink]
  sink: null
"""

LATENCY = """
name: bench-latency
nodes:
  source: {coro: "benchfuncs:paced", args: {n: N}}
  inc1: {coro: "benchfuncs:tag"}
  inc2: {coro: "benchfuncs:tag"}
  inc3: {coro: "benchfuncs:tag"}
  inc4: {coro: "benchfuncs:tag"}
  inc5: {coro: "benchfuncs:tag"}
  sink: {coro: "benchfuncs:latency", collect: true}
graph:
  source: [inc1]
  inc1: [inc2]
  inc2: [inc3]
  inc3: [inc4]
  inc4: [inc5]
  inc5: [sink]
  sink: null
"""

SPREAD = ("inc1,inc2", "inc3,inc4", "inc5,sink")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(folder),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--logfile",
            str(folder / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(500):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return process, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.02)
    process.kill()
    sys.exit("redis-server did not start")


def start_workers(spec: Path, url: str, folder: Path) -> list[subprocess.Popen[bytes]]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = []
    for i, nodes in enumerate(SPREAD):
        log = open(folder / f"worker{i}.log", "wb")  # noqa: SIM115 (closed below)
        out.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "pipelines",
                    "worker",
                    str(spec),
                    "--redis",
                    url,
                    "--nodes",
                    nodes,
                    "--name",
                    f"bench-{i}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        )
        log.close()
    return out


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for p in processes:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
    for p in processes:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


async def wait_workers(url: str, count: int) -> None:
    from pipelines.runtime.distributed import list_workers
    from pipelines.runtime.distributed.connection import connect

    redis = connect(url)
    try:
        for _ in range(1000):
            if len(await list_workers(redis.client)) >= count:
                return
            await asyncio.sleep(0.02)
        sys.exit("the workers did not start")
    finally:
        await redis.close()


async def timed_run(spec: Path, url: str | None) -> tuple[float, object]:
    from pipelines import Plumber
    from pipelines.spec.loader import load_file

    data = load_file(spec)
    if url is not None:
        data["transport"] = {"redis": url}
    plumber = Plumber(data, base_dir=spec.parent)
    started = time.perf_counter()
    result = await plumber.run()
    return time.perf_counter() - started, result


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="pipelines-bench-"))
    (folder / "benchfuncs.py").write_text(FUNCS)
    chain = folder / "chain5.yaml"
    chain.write_text(CHAIN.replace("N", str(args.n)))
    lat = folder / "latency.yaml"
    lat.write_text(LATENCY.replace("N", str(args.latency_items)))
    redis_process, url = start_redis(folder)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        workers = start_workers(chain, url, folder) + start_workers(lat, url, folder)
        await wait_workers(url, 6)
        local, remote = [], []
        for _ in range(args.repeat):
            seconds, result = await timed_run(chain, None)
            assert result.stats["sink"].received == args.n, result  # type: ignore[attr-defined]
            local.append(seconds)
            seconds, result = await timed_run(chain, url)
            assert result.status == "completed", result  # type: ignore[attr-defined]
            assert result.stats["sink"].received == args.n, result  # type: ignore[attr-defined]
            remote.append(seconds)
        _, result = await timed_run(lat, url)
        delays = result.outputs["sink"]  # type: ignore[attr-defined]
        assert len(delays) == args.latency_items
    finally:
        stop(workers)
        stop([redis_process])
        shutil.rmtree(folder, ignore_errors=True)
    local_rate = args.n / statistics.median(local)
    remote_rate = args.n / statistics.median(remote)
    print(
        f"chain5, N = {args.n:,}, median of {args.repeat}; Redis {url.split('//')[1]} "
        f"(appendfsync everysec), 3 worker processes ({' / '.join(SPREAD)}), source here"
    )
    print()

    def spread(seconds: list[float]) -> str:
        rates = sorted(args.n / s for s in seconds)
        return f"{rates[0]:,.0f} - {rates[-1]:,.0f}"

    print("| run | items/s (median) | vs in-process | runs (min - max) |")
    print("|---|--:|--:|--:|")
    print(f"| in one process | {local_rate:,.0f} | 1.00x | {spread(local)} |")
    print(
        f"| on Redis, 3 workers | {remote_rate:,.0f} | {remote_rate / local_rate:.2f}x "
        f"| {spread(remote)} |"
    )
    print()
    print(
        f"end-to-end latency of one item (default batching, {args.latency_items} items, "
        f"one every 5 ms): p50 {percentile(delays, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(delays, 0.99) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--latency-items", type=int, default=400)
    parser.add_argument(
        "--smoke", action="store_true", help="N = 2,000, one run: a check, not a figure"
    )
    options = parser.parse_args()
    if options.smoke:
        options.n, options.repeat, options.latency_items = 2_000, 1, 20
    asyncio.run(main(options))
