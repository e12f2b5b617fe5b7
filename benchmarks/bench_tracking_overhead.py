"""The cost of ``--track mlflow`` on the README's main job, side by side in one run.

Runs the README's main job (``python -m skmlp run``: digits, the seed's six
architectures) ``--runs`` times without tracking and ``--runs`` times with
``--track mlflow`` (the output folder's own SQLite store), alternating the two so
that a change in the machine's load hits both, each run into a fresh output folder.
One untimed run first (``--warmup``) fills JAX's compilation cache. Records
each run's wall time and CPU time (user + system, less sensitive to the other
work of a shared machine than wall time), the median of each mode and their ratio, the seconds
the tracking took on the run's own path inside the tracked runs (waiting for the
thread that opens the store, ``MLflow: started in ... (waited ...)``, and the logging,
``logged ... in``; opening the store runs beside the search), the tracking's own CPU
seconds (its threads' ``time.thread_time``, which other work on the machine does not
inflate) against the plain run's CPU, and the load average
before and after (the machine may be shared). Writes
``benchmarks/results/tracking_overhead.{json,md}``.

    python benchmarks/bench_tracking_overhead.py --runs 3
    python benchmarks/bench_tracking_overhead.py --runs 1 -- --epochs 2  # a quick look
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _record import ROOT, portable_command, write_results

RESULTS = Path(__file__).parent / "results"
MODES = {"no tracking": [], "--track mlflow": ["--track", "mlflow"]}


def one_run(out: Path, mode: str, extra: list[str]) -> dict:
    """One whole ``skmlp run`` process: its wall time and what its tracking took.

    Not ``--quiet``: the tracking's timings are read from its progress lines.
    """
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("MLFLOW_TRACKING_URI", None)
    cmd = [sys.executable, "-m", "skmlp", "run", "--out", str(out), *MODES[mode], *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    started = re.search(
        r"MLflow: started in ([\d.]+)s \(([\d.]+)s CPU\) \(waited ([\d.]+)s", proc.stdout
    )
    logged = re.search(r"MLflow: logged run \w+ to .* in ([\d.]+)s \(([\d.]+)s CPU\)", proc.stdout)
    if MODES[mode] and not (started and logged):
        raise RuntimeError(f"{mode}: no tracking lines in the output:\n{proc.stdout[-2000:]}")
    best = re.search(r"best by CV accuracy: (\w[\w-]*)", proc.stdout)
    waited = float(started.group(3)) if started else 0
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),  # user + system, the process and its threads
        # on the run's own path: waiting for the start's thread, then the logging
        "tracking_s": round(waited + float(logged.group(1)), 2) if logged else 0,
        "start_s": float(started.group(1)) if started else 0,  # on a thread, beside the search
        "waited_s": waited,
        "log_s": float(logged.group(1)) if logged else 0,
        # the tracking's own CPU (its threads' time.thread_time): load-insensitive
        "tracking_cpu_s": round(float(started.group(2)) + float(logged.group(2)), 2)
        if logged
        else 0,
        "best": best.group(1) if best else None,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each mode (default: 3)")
    parser.add_argument("--tag", default="tracking_overhead")
    parser.add_argument(
        "--warmup",
        type=int,
        default=1,
        help="untimed runs first (JAX's compilation cache, the disk cache)",
    )
    parser.add_argument("extra", nargs="*", help="more arguments for skmlp run")
    args = parser.parse_args(argv)
    runs: dict = {mode: [] for mode in MODES}
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="skmlp-tracking-overhead-"))
    try:
        for i in range(args.warmup):
            print(f"warm-up {i + 1}: {one_run(work / f'warmup{i}', 'no tracking', args.extra)}")
        for i in range(args.runs):
            order = list(MODES) if i % 2 == 0 else list(MODES)[::-1]
            for j, mode in enumerate(order):
                result = one_run(work / f"run{i}-{j}", mode, args.extra)
                runs[mode].append(result)
                print(f"{mode} run {i + 1}: {result}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    plain, tracked = (statistics.median(r["wall_s"] for r in runs[m]) for m in MODES)
    cpu_plain, cpu_tracked = (statistics.median(r["cpu_s"] for r in runs[m]) for m in MODES)
    inside = statistics.median(r["tracking_s"] for r in runs["--track mlflow"])
    own_cpu = statistics.median(r["tracking_cpu_s"] for r in runs["--track mlflow"])
    rows = [
        {"mode": mode, "wall_s": [r["wall_s"] for r in rs],
         "median_wall_s": statistics.median(r["wall_s"] for r in rs),
         "cpu_s": [r["cpu_s"] for r in rs],
         "median_cpu_s": statistics.median(r["cpu_s"] for r in rs),
         "median_tracking_s": statistics.median(r["tracking_s"] for r in rs),
         "best": sorted({r["best"] for r in rs})}
        for mode, rs in runs.items()
    ]  # fmt: skip
    lines = ["| mode | wall s (each run) | median wall s | CPU s (each run) | median CPU s "
             "| tracking s on the run's path (median) | best |",
             "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for r in rows:
        lines.append(f"| {r['mode']} | {', '.join(f'{w:.2f}' for w in r['wall_s'])} | "
                     f"{r['median_wall_s']:.2f} | {', '.join(f'{w:.2f}' for w in r['cpu_s'])} | "
                     f"{r['median_cpu_s']:.2f} | {r['median_tracking_s']:.2f} | "
                     f"{', '.join(map(str, r['best']))} |")  # fmt: skip
    summary = {
        "wall_ratio_tracked_to_plain": round(tracked / plain, 4),
        "overhead_percent_wall": round(100 * (tracked / plain - 1), 2),
        "overhead_percent_cpu": round(100 * (cpu_tracked / cpu_plain - 1), 2),
        "overhead_percent_tracking_inside": round(100 * inside / plain, 2),
        "tracking_cpu_s_median": own_cpu,
        "overhead_percent_tracking_cpu": round(100 * own_cpu / cpu_plain, 2),
    }
    lines.append("")
    lines.append(f"tracked / plain median wall: {summary['wall_ratio_tracked_to_plain']:.3f} "
                 f"({summary['overhead_percent_wall']:+.1f}%); CPU: "
                 f"{summary['overhead_percent_cpu']:+.1f}%; the tracking's seconds on the path: "
                 f"{inside:.2f} s, {summary['overhead_percent_tracking_inside']:.1f}% of the "
                 f"plain run's median wall; the tracking's own CPU: {own_cpu:.2f} s, "
                 f"{summary['overhead_percent_tracking_cpu']:.1f}% of the plain run's median "
                 "CPU")  # fmt: skip
    table = "\n".join(lines)
    print(table)
    from importlib.metadata import version

    facts = {
        "command": portable_command(
            ["python", "benchmarks/bench_tracking_overhead.py", *(argv or sys.argv[1:])]
        ),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "loadavg_before": [round(v, 2) for v in load_before],
            "loadavg_after": [round(v, 2) for v in os.getloadavg()],
            "note": "shared with other workers: the load average says how busy it was",
        },
        "versions": {n: version(n) for n in ("keras", "jax", "mlflow", "scikit-learn")},
        "runs_each": args.runs,
        "warmup_runs": args.warmup,
        **summary,
        "rows": rows,
    }
    title = "`--track mlflow` (local SQLite store) against no tracking, the README's main job"
    write_results(RESULTS / args.tag, title, facts, table, detail="rows")


if __name__ == "__main__":
    main()
