"""Benchmark driver: python bench/run.py [--quick] [--only W,..] [--impl I,..]

Runs every workload x implementation in a fresh subprocess (bench/worker.py),
``--repeat`` times, and prints a markdown table of the medians. Progress goes
to stderr, the report to stdout (and to ``--markdown FILE``).
"""

import argparse
import ast
import datetime
import importlib.util
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
WORKER = os.path.join(HERE, "worker.py")
if sys.path and os.path.abspath(sys.path[0]) == HERE:
    sys.path.pop(0)
sys.path.insert(0, REPO)

# keep the driver small: a child's ru_maxrss includes the RSS of the process
# that spawned it (Linux keeps the maximum across exec)
from bench import workloads as W  # noqa: E402  (stdlib only)
from bench.impls import LIBRARY, MODULES  # noqa: E402

WORKLOADS = [
    "chain5",
    "chain5-batch",
    "diamond",
    "io50",
    "mem1m",
    "wide",
    "long",
    "cpu",
    "build-chain",
    "build-dag",
]
IMPLS = list(MODULES)
BASELINE = "raw-queue"
PEERS = {"pypeln", "aiostream", "streamz"}
# the peers are 5-30x slower than the baseline: by default they run these
# workloads with N / PEER_SCALE (throughput is steady long before that)
PEER_SCALE = 10
PEER_SCALED = {"chain5", "chain5-batch", "diamond", "wide", "long"}
# mem1m is about the engine's memory: peers only when named with --impl
MEM_IMPLS = {"direct", "raw-queue", "raw-queue-batched", "pipelines"}
IMPORT_ONLY = ["asyncio", "pipelines", "networkx+yaml", "pypeln", "aiostream", "streamz"]
CPU_CONCURRENCY = (1, 2)

TERMINAL = {"failed", "timeout", "not installed", "unsupported"}


# --- planning -------------------------------------------------------------------


def functions_of(impl):
    """Public function names of an impl module, read without importing it."""
    path = os.path.join(HERE, "impls", MODULES[impl] + ".py")
    with open(path) as f:
        tree = ast.parse(f.read())
    return {
        node.name
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and not node.name.startswith("_")
    }


def installed(impl):
    lib = LIBRARY.get(impl)
    return lib is None or importlib.util.find_spec(lib) is not None


class Cell:
    """One row: an implementation x workload (x params), and its runs."""

    def __init__(self, workload, impl, label, n, params=None, status=None):
        self.workload, self.impl, self.label, self.n = workload, impl, label, n
        self.params = params or {}
        self.status = status  # None while runs are to be made
        self.runs = []
        self.error = None

    def argv(self):
        argv = [sys.executable, WORKER, self.impl, self.workload, str(self.n)]
        for key, value in self.params.items():
            argv += [f"--{key}", str(value)]
        return argv


#: ``--smoke``: N divided by this, and the implementations run (no peers).
SMOKE_SCALE = 100
SMOKE_IMPLS = "direct,raw-queue,raw-queue-batched,pipelines,pipelines-recorded"


def plan(workload, impls, explicit_impls, args):
    """The cells of one workload, in table order."""
    if args.n is not None:
        sizes = [args.n]
    else:
        base = W.DEFAULT_N[workload]
        sizes = list(base) if isinstance(base, tuple) else [base]
        if args.smoke:
            sizes = [max(1, s // SMOKE_SCALE) for s in sizes[:1]]
        elif args.quick:
            sizes = [max(1, s // 10) for s in sizes]
    cells = []
    for impl in impls:
        if workload == "mem1m" and impl not in MEM_IMPLS and impl not in explicit_impls:
            continue
        label = impl
        if W.FUNC_NAME[workload] not in functions_of(impl):
            cells.append(Cell(workload, impl, label, None, status="unsupported"))
            continue
        if not installed(impl):
            cells.append(Cell(workload, impl, label, None, status="not installed"))
            continue
        for n in sizes:
            if impl in PEERS and workload in PEER_SCALED and args.n is None and not args.full_peers:
                n = max(1, n // PEER_SCALE)
            if workload == "cpu":
                for c in CPU_CONCURRENCY:
                    cells.append(Cell(workload, impl, f"{impl} c={c}", n, {"concurrency": c}))
            else:
                cells.append(Cell(workload, impl, label, n))
    if workload == "mem1m":
        for lib in IMPORT_ONLY:
            if lib in PEERS and lib not in impls:
                continue
            cells.append(Cell(lib, "import-only", f"import-only {lib}", 0))
    return cells


# --- running ----------------------------------------------------------------------


def run_child(cell, timeout):
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cell.argv(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the child and its pool workers
        proc.communicate()
        return {"status": "timeout", "error": f"killed after {timeout:g} s"}
    wall = time.perf_counter() - t0
    result = None
    for line in reversed(out.splitlines()):
        if line.startswith("{"):
            try:
                result = json.loads(line)
                break
            except ValueError:
                pass
    if result is None:
        tail = (err.strip().splitlines() or ["no output"])[-1]
        result = {"status": "failed", "error": f"exit {proc.returncode}: {tail}"}
    elif proc.returncode != 0 and result.get("status") == "ok":
        result = {"status": "failed", "error": f"exit {proc.returncode} after ok"}
    result["wall"] = wall
    return result


def run_cells(cells, repeat, timeout):
    for r in range(repeat):  # interleaved, so drift hits all alike
        for cell in cells:
            if cell.status in TERMINAL:
                continue
            res = run_child(cell, timeout)
            status = res.get("status")
            what = f"{cell.workload:12} {cell.label:28} run {r + 1}/{repeat}"
            if status == "ok":
                cell.runs.append(res)
                secs = res.get("seconds")
                shown = f"{secs:.3f} s" if secs is not None else "ok"
                print(f"  {what}: {shown}", file=sys.stderr, flush=True)
            else:
                cell.status, cell.error = status, res.get("error")
                print(f"  {what}: {status.upper()} {cell.error or ''}", file=sys.stderr, flush=True)
    for cell in cells:
        if cell.status is None:
            cell.status = "ok"


# --- reporting --------------------------------------------------------------------


def median_seconds(cell):
    return statistics.median(r["seconds"] for r in cell.runs)


def rss_mb(cell):
    kbs = [r["maxrss_kb"] for r in cell.runs if r.get("maxrss_kb")]
    return max(kbs) / 1024 if kbs else None


def rate(cell):
    if cell.status != "ok" or cell.n is None or not cell.runs:
        return None
    if "seconds" not in cell.runs[0]:
        return None
    return cell.n / median_seconds(cell)


def fmt(value, spec, suffix=""):
    return "" if value is None else format(value, spec) + suffix


def status_text(cell):
    return {
        "failed": "FAILED",
        "timeout": "TIMEOUT",
        "unsupported": "-",
        "not installed": "not installed",
    }.get(cell.status, "")


def main_rows(cells):
    by_key = {(c.workload, c.impl, tuple(sorted(c.params.items()))): c for c in cells}
    rows = []
    for c in cells:
        if c.impl == "import-only":  # mem1m's reference rows: RSS only
            rss = fmt(rss_mb(c), ".1f") if c.status == "ok" else status_text(c)
            rows.append(["mem1m", c.label, "", "", "", "", "", "", rss])
            continue
        key = tuple(sorted(c.params.items()))
        r = rate(c)
        if r is None:
            text = status_text(c)
            rss = fmt(rss_mb(c), ".1f") if c.status == "ok" else ""
            rows.append([c.workload, c.label, fmt(c.n, ","), text, "", "", "", "", rss])
            continue
        secs = median_seconds(c)
        base = by_key.get((c.workload, BASELINE, key))
        base_rate = rate(base) if base else None
        ratio = fmt(r / base_rate, ".2f", "x") if base_rate else ""
        hops = W.HOPS.get(c.workload)
        us_hop = fmt(secs / (c.n * hops) * 1e6, ".2f") if hops else ""
        eff = ""
        if c.workload == "io50":
            ideal = c.n * W.IO_SLEEP / W.IO_CONCURRENCY
            eff = fmt(100 * ideal / secs, ".0f", "%")
        speedup = ""
        if c.workload == "cpu" and c.params.get("concurrency", 1) > 1:
            one = by_key.get((c.workload, c.impl, (("concurrency", 1),)))
            if one and rate(one):
                speedup = fmt(r / rate(one), ".2f", "x")
        rows.append(
            [
                c.workload,
                c.label,
                fmt(c.n, ","),
                fmt(r, ",.0f"),
                ratio,
                us_hop,
                eff,
                speedup,
                fmt(rss_mb(c), ".1f"),
            ]
        )
    return rows


def batch_rows(cells):
    """chain5-batch against the batched hand-written chain and direct calls, same run."""
    cells = [c for c in cells if c.workload == "chain5-batch"]
    rates = {c.impl: rate(c) for c in cells}
    rows = []
    for c in cells:
        r = rates.get(c.impl)
        if r is None:
            continue
        ratios = [
            fmt(r / rates[other], ".2f", "x") if rates.get(other) else ""
            for other in ("raw-queue-batched", "direct")
        ]
        rows.append([c.label, fmt(c.n, ","), fmt(r, ",.0f"), *ratios])
    return rows


def build_rows(cells):
    rows = []
    for c in cells:
        if c.status in ("unsupported", "not installed"):
            continue  # pipelines-only workloads
        shape = c.workload.split("-", 1)[1]
        if c.status != "ok" or not c.runs:
            rows.append([shape, c.label, fmt(c.n, ","), status_text(c), "", ""])
            continue
        secs = median_seconds(c)
        rows.append(
            [
                shape,
                c.label,
                fmt(c.n, ","),
                fmt(secs, ".4f"),
                fmt(secs / c.n * 1e6, ".1f"),
                fmt(rss_mb(c), ".1f"),
            ]
        )
    return rows


def table(header, rows, right=()):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]

    def line(cells):
        out = []
        for i, (x, w) in enumerate(zip(cells, widths, strict=True)):
            out.append(str(x).rjust(w) if i in right else str(x).ljust(w))
        return "| " + " | ".join(out) + " |"

    sep = (
        "|"
        + "|".join(
            ("-" * (w + 1) + ":") if i in right else ("-" * (w + 2)) for i, w in enumerate(widths)
        )
        + "|"
    )
    return "\n".join([line(header), sep] + [line(r) for r in rows])


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def git_rev():
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        rev = ""
    return rev or "no commit"


def options_text(args):
    text = f"repeat {args.repeat} (median), {'quick (N / 10)' if args.quick else 'full N'}"
    if args.n is not None:
        text += f", N = {args.n}"
    elif not args.full_peers:
        text += f", peers at N / {PEER_SCALE} on {'/'.join(sorted(PEER_SCALED))}"
    return text


def report(all_cells, args, elapsed):
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# pipelines benchmark",
        "",
        f"- date: {now}, git {git_rev()}, total {elapsed:.0f} s",
        f"- machine: {platform.platform()}, {cpu_model()}, {os.cpu_count()} CPUs",
        f"- python: {platform.python_implementation()} {platform.python_version()}",
        f"- options: {options_text(args)}",
        "",
    ]
    main = [c for c in all_cells if not c.workload.startswith("build-")]
    build = [c for c in all_cells if c.workload.startswith("build-")]
    if main:
        header = [
            "workload",
            "implementation",
            "N",
            "items/s",
            "vs raw-queue",
            "us/hop",
            "io eff.",
            "speed-up",
            "peak RSS MB",
        ]
        rows = main_rows(main)
        lines += [table(header, rows, right={2, 3, 4, 5, 6, 7, 8}), ""]
        lines += [
            "items/s: N / median run time (wide: source items, each seen by 50 "
            "branches); us/hop: run time / (N x edges an item crosses); io eff.: "
            "(N x 10 ms / 50) / run time; speed-up: c=2 vs c=1 of the same "
            "implementation; peak RSS: ru_maxrss of the child at the end (max "
            "over runs).",
            "",
        ]
    batch = batch_rows(main)
    if batch:
        header = ["implementation", "N", "items/s", "vs raw-queue-batched", "vs direct"]
        lines += [
            "## Batch chain (`chain5-batch`)",
            "",
            "pipelines: five batch maps and a batch sink (lists of "
            f"{W.BATCH}); the others: their chain5.",
            "",
            table(header, batch, right={1, 2, 3, 4}),
            "",
        ]
    if build:
        header = ["graph", "implementation", "nodes", "Plumber(spec) s", "us/node", "peak RSS MB"]
        lines += [
            "## Graph build (`Plumber(spec)` only)",
            "",
            table(header, build_rows(build), right={2, 3, 4, 5}),
            "",
        ]
    problems = [c for c in all_cells if c.status in ("failed", "timeout")]
    if problems:
        lines += ["## Failures", ""]
        for c in problems:
            n = f" N={c.n}" if c.n is not None else ""
            lines.append(f"- {c.workload} / {c.label}{n}: {c.status.upper()}: {c.error}")
        lines.append("")
    return "\n".join(lines)


def split(value, known, what):
    names = [x.strip() for x in value.split(",") if x.strip()]
    bad = [x for x in names if x not in known]
    if bad:
        sys.exit(f"unknown {what}: {', '.join(bad)} (known: {', '.join(known)})")
    return names


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="workloads, comma-separated: " + ",".join(WORKLOADS))
    ap.add_argument(
        "--impl",
        help="implementations, comma-separated: "
        + ",".join(IMPLS)
        + f" ({BASELINE} is always added as the baseline)",
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="runs per cell, median reported (default 3, 1 with --quick)",
    )
    ap.add_argument("--quick", action="store_true", help="N / 10: a quick run")
    ap.add_argument(
        "--smoke",
        action="store_true",
        help=f"CI check: every workload once at N / {SMOKE_SCALE}, the engine and the baselines; "
        "exits 1 if any result is wrong (no timing is judged)",
    )
    ap.add_argument("--n", type=int, default=None, help="override N for every workload")
    ap.add_argument(
        "--full-peers",
        action="store_true",
        help=f"run the peers with the full N (default N / {PEER_SCALE})",
    )
    ap.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds before a child is killed (default 600, 60 with --quick)",
    )
    ap.add_argument("--markdown", metavar="FILE", help="also write the report to FILE")
    args = ap.parse_args(argv)
    if args.smoke and not args.impl:
        args.impl = SMOKE_IMPLS
    if args.repeat is None:
        args.repeat = 1 if args.quick or args.smoke else 3
    if args.timeout is None:
        args.timeout = 60.0 if args.quick or args.smoke else 600.0
    workloads = split(args.only, WORKLOADS, "workload") if args.only else WORKLOADS
    explicit = split(args.impl, IMPLS, "implementation") if args.impl else []
    impls = [i for i in IMPLS if not explicit or i in explicit or i == BASELINE]

    t0 = time.perf_counter()
    cells = []
    for workload in workloads:
        wcells = plan(workload, impls, explicit, args)
        print(f"{workload}:", file=sys.stderr, flush=True)
        run_cells(wcells, args.repeat, args.timeout)
        cells += wcells
    text = report(cells, args, time.perf_counter() - t0)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text + "\n")
    return 1 if any(c.status in ("failed", "timeout") for c in cells) else 0


if __name__ == "__main__":
    sys.exit(main())
