"""Instructions per item under callgrind: a figure that does not move with machine load.

    python bench/instructions.py [--impl pipelines,raw-queue] [--workload chain5]
                                 [--n 20000] [--repo DIR]

Runs ``bench/worker.py IMPL WORKLOAD N`` and ``... 2N`` under
``valgrind --tool=callgrind`` and prints (instructions at 2N - at N) / N, so
start-up and imports cancel out. ``--repo`` measures another checkout of the
project (its ``bench/worker.py`` and ``pipelines/``), for before/after
comparisons of the same workload on a busy machine. Needs valgrind.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def instructions(repo, impl, workload, n):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        cmd = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            sys.executable,
            os.path.join(repo, "bench", "worker.py"),
            impl,
            workload,
            str(n),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=repo)
        if done.returncode != 0:
            raise SystemExit(f"{impl} {workload} {n} failed:\n{done.stderr[-2000:]}")
        match = re.search(r"Collected\s*:\s*(\d+)", done.stderr)
        if match is None:
            raise SystemExit(f"no instruction count in valgrind's output:\n{done.stderr[-2000:]}")
        return int(match.group(1))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--impl", default="pipelines,raw-queue")
    ap.add_argument("--workload", default="chain5")
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--repo", default=HERE, help="the checkout to measure (default: this one)")
    args = ap.parse_args(argv)
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    print(f"| workload | implementation | repo | instructions per item (N = {args.n:,}) |")
    print("|---|---|---|--:|")
    for impl in args.impl.split(","):
        low = instructions(args.repo, impl, args.workload, args.n)
        high = instructions(args.repo, impl, args.workload, 2 * args.n)
        per_item = (high - low) / args.n
        print(f"| {args.workload} | {impl} | {args.repo} | {per_item:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
