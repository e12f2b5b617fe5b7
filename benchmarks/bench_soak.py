"""Soak test: many sequential fits in one process; does memory or time creep up?

A grid search is hundreds of fits in one process. This runs ``--fits`` fits
(after ``--warmup`` fits that are not counted) of ``MLPClassifier`` on 5,000
MNIST rows, alternating two architectures, (256, 64) plain and (256, 64) with
batch norm and dropout, 2 epochs each, a new seed per fit, nothing kept between
fits (as ``GridSearchCV`` does). After every fit it records the process' RSS,
the wall time and the process CPU time (``time.process_time``, which a
contended machine disturbs far less than the wall clock).

Each backend runs in its own subprocess. Reported per backend:

- RSS growth per fit: the least-squares slope of RSS over the counted fits
  (and the plain difference last - first, divided by the fits);
- time drift: median of the last ten fits over the median of the first ten,
  for CPU time and wall time;
- TensorFlow's "triggered tf.function retracing" warnings, counted from its
  Python logger (and the warnings module) during the counted fits.

Usage::

    python benchmarks/bench_soak.py --mnist DIR --fits 100
    python benchmarks/bench_soak.py --fits 20 --backends jax      # quicker look

Without ``--mnist`` (or when the folder lacks the files) it uses scikit-learn's
digits. Prints a table and writes ``benchmarks/results/soak.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

from _record import portable_command, write_results

RESULTS = Path(__file__).parent / "results"
TITLE = "Soak: memory and time over many fits in one process"
ARCHS = [
    {"hidden_layer_sizes": (256, 64)},
    {"hidden_layer_sizes": (256, 64), "batch_norm": True, "dropout": 0.2},
]


class _RetraceCounter(logging.Handler):
    """Counts log records and warnings that mention retracing."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.count = 0
        self.examples = []

    def emit(self, record):
        message = record.getMessage()
        if "retracing" in message.lower():
            self.count += 1
            if len(self.examples) < 3:
                self.examples.append(message[:300])


def _data(rows: int, mnist: str | None, seed: int = 0):
    import numpy as np

    if mnist:
        try:
            from skmlp.datasets import load_mnist

            d = load_mnist(mnist, download=False)
            rng = np.random.RandomState(seed)
            idx = rng.choice(len(d.y_train), size=min(rows, len(d.y_train)), replace=False)
            return (d.X_train[idx] / 255.0).astype(np.float32), d.y_train[idx], "mnist"
        except (FileNotFoundError, OSError) as exc:
            print(f"MNIST not available ({exc}); using digits", file=sys.stderr)
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y, "digits"


def worker(args) -> dict:
    """Run the fits in this process (``KERAS_BACKEND`` is already set); return the record."""
    import gc

    import psutil

    proc = psutil.Process()
    counter = _RetraceCounter()
    for name in ("tensorflow", "absl", ""):
        logging.getLogger(name).addHandler(counter)
    captured = []

    def showwarning(message, category, filename, lineno, file=None, line=None):
        captured.append(str(message))

    import keras
    import numpy as np

    from skmlp import MLPClassifier

    X, y, source = _data(args.rows, args.mnist)
    rss, wall, cpu = [], [], []
    warnings.showwarning = showwarning
    warnings.simplefilter("always")
    base = dict(max_iter=args.epochs, batch_size=args.batch_size)
    for i in range(args.warmup + args.fits):
        if i == args.warmup:
            counter.count, counter.examples, captured[:] = 0, [], []
        clf = MLPClassifier(**ARCHS[i % len(ARCHS)], random_state=i, **base)
        w0, c0 = time.perf_counter(), time.process_time()
        clf.fit(X, y)
        w1, c1 = time.perf_counter(), time.process_time()
        del clf
        if args.gc:
            gc.collect()
        if i >= args.warmup:
            wall.append(w1 - w0)
            cpu.append(c1 - c0)
            rss.append(proc.memory_info().rss / 2**20)
    retrace_warnings = [m for m in captured if "retracing" in m.lower()]
    x = np.arange(len(rss), dtype=float)
    slope = float(np.polyfit(x, rss, 1)[0]) if len(rss) > 1 else 0.0
    k = min(10, len(rss) // 2)
    return {
        "backend": keras.backend.backend(),
        "data": source,
        "rows": len(y),
        "fits": args.fits,
        "warmup": args.warmup,
        "rss_first_mb": round(rss[0], 1),
        "rss_last_mb": round(rss[-1], 1),
        "growth_slope_mb_per_fit": round(slope, 3),
        "growth_mean_mb_per_fit": round((rss[-1] - rss[0]) / max(len(rss) - 1, 1), 3),
        "cpu_s_first10": round(statistics.median(cpu[:k]), 3),
        "cpu_s_last10": round(statistics.median(cpu[-k:]), 3),
        "wall_s_first10": round(statistics.median(wall[:k]), 3),
        "wall_s_last10": round(statistics.median(wall[-k:]), 3),
        "retracing_logs": counter.count + len(retrace_warnings),
        "retracing_examples": counter.examples + retrace_warnings[:3],
        "per_fit": {"rss_mb": rss, "wall_s": wall, "cpu_s": cpu},
    }


def _run_backend(backend: str, argv: list[str]) -> dict:
    env = dict(os.environ, KERAS_BACKEND=backend)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    cmd = [sys.executable, __file__, "--worker", *argv]
    if args_global.taskset is not None:
        cmd = ["taskset", "-c", args_global.taskset, *cmd]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{backend} worker failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _table(rows: list[dict]) -> str:
    head = (
        "| backend | RSS after warm-up | after last fit | growth/fit (slope) | growth/fit (mean) "
        "| CPU s/fit first 10 | last 10 | drift | wall s/fit first 10 | last 10 | drift "
        "| retracing warnings |"
    )
    lines = [head, "|" + " --- |" * 12]
    for r in rows:
        cd = r["cpu_s_last10"] / r["cpu_s_first10"] - 1
        wd = r["wall_s_last10"] / r["wall_s_first10"] - 1
        lines.append(
            f"| {r['backend']} | {r['rss_first_mb']:.0f} MB | {r['rss_last_mb']:.0f} MB "
            f"| {r['growth_slope_mb_per_fit']:.2f} MB | {r['growth_mean_mb_per_fit']:.2f} MB "
            f"| {r['cpu_s_first10']:.2f} | {r['cpu_s_last10']:.2f} | {cd:+.0%} "
            f"| {r['wall_s_first10']:.2f} | {r['wall_s_last10']:.2f} | {wd:+.0%} "
            f"| {r['retracing_logs']} |"
        )
    return "\n".join(lines)


def main(argv=None):
    global args_global
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mnist", help="folder of MNIST's IDX files (default: digits)")
    p.add_argument("--rows", type=int, default=5000)
    p.add_argument("--fits", type=int, default=100, help="counted fits, after the warm-up")
    p.add_argument("--warmup", type=int, default=6)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--backends", default="tensorflow,jax")
    p.add_argument("--gc", action="store_true", help="gc.collect() after every fit")
    p.add_argument("--taskset", help="CPU list to pin each worker to, e.g. 0 or 0,1")
    p.add_argument("--tag", default="", help="suffix of the result files")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args_global = args
    if args.worker:
        print(json.dumps(worker(args)))
        return
    passed = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--worker"]
    rows = []
    load_before = os.getloadavg()
    for backend in args.backends.split(","):
        print(f"{backend}: {args.warmup} warm-up + {args.fits} fits ...", flush=True)
        rows.append(_run_backend(backend, passed))
        print(_table(rows[-1:]), flush=True)
    table = _table(rows)
    print(table)
    for r in rows:
        for ex in r["retracing_examples"]:
            print(f"{r['backend']} retracing: {ex}")
    from importlib.metadata import version

    facts = {
        "command": portable_command(
            ["python", "benchmarks/bench_soak.py", *passed], {"--mnist": "DIR"}
        ),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "loadavg_before": [round(v, 2) for v in load_before],
            "loadavg_after": [round(v, 2) for v in os.getloadavg()],
        },
        "versions": {
            name: version(name) for name in ("keras", "tensorflow", "jax", "scikit-learn")
        },
        "settings": {
            k: ("DIR" if k == "mnist" and v else v) for k, v in vars(args).items() if k != "worker"
        },
        "rows": rows,
    }
    stem = RESULTS / f"soak{('_' + args.tag) if args.tag else ''}"
    write_results(stem, TITLE, facts, table, detail="rows")


args_global = None

if __name__ == "__main__":
    main()
