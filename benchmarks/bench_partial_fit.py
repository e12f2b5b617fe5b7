"""Seconds per ``partial_fit`` call after the first, with and without compile-once.

One estimator, ``--calls`` calls of ``partial_fit`` on the same ``--rows`` rows
(MNIST, or digits without ``--mnist``), (256, 64) by default. The first call
builds and compiles; the table reports the median wall and CPU time of the
calls after it. Each backend and mode runs in its own subprocess: ``reuse``
is skmlp's default (compiled functions shared per network structure,
:mod:`skmlp._training.reuse`), ``no-reuse`` sets ``SKMLP_REUSE_COMPILED=0``, which is
how skmlp trained before it (a fresh compile per call on JAX, ``Model.fit`` per
call on TensorFlow).

Usage::

    python benchmarks/bench_partial_fit.py --mnist DIR --calls 50

Prints a table and writes ``benchmarks/results/partial_fit.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
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
TITLE = "partial_fit: seconds per call after the first"


def worker(args) -> dict:
    import keras
    import numpy as np
    from bench_soak import _data

    from skmlp import MLPClassifier

    warnings.simplefilter("ignore")
    X, y, source = _data(args.rows, args.mnist)
    hidden = tuple(int(w) for w in args.hidden.split(","))
    clf = MLPClassifier(hidden, random_state=0)
    classes = np.unique(y)
    wall, cpu = [], []
    for _ in range(args.calls + 1):
        w0, c0 = time.perf_counter(), time.process_time()
        clf.partial_fit(X, y, classes=classes)
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return {
        "backend": keras.backend.backend(),
        "mode": "no-reuse" if os.environ.get("SKMLP_REUSE_COMPILED") == "0" else "reuse",
        "data": source,
        "rows": len(y),
        "hidden": hidden,
        "first_call_s": round(wall[0], 3),
        "median_wall_ms": round(1000 * statistics.median(wall[1:]), 1),
        "median_cpu_ms": round(1000 * statistics.median(cpu[1:]), 1),
        "max_wall_ms": round(1000 * max(wall[1:]), 1),
        "final_loss": float(clf.loss_curve_[-1]),
        "per_call_wall_s": wall,
        "per_call_cpu_s": cpu,
    }


def _table(rows):
    lines = [
        "| backend | mode | first call s | median wall ms / call | median CPU ms / call "
        "| max wall ms | loss after last call |",
        "|" + " --- |" * 7,
    ]
    for r in rows:
        lines.append(
            f"| {r['backend']} | {r['mode']} | {r['first_call_s']:.2f} | {r['median_wall_ms']:.1f} "
            f"| {r['median_cpu_ms']:.1f} | {r['max_wall_ms']:.1f} | {r['final_loss']:.4f} |"
        )
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mnist", help="folder of MNIST's IDX files (default: digits)")
    p.add_argument("--rows", type=int, default=1000)
    p.add_argument("--calls", type=int, default=50, help="calls after the first")
    p.add_argument("--hidden", default="256,64")
    p.add_argument("--backends", default="tensorflow,jax")
    p.add_argument("--modes", default="reuse,no-reuse")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args)))
        return
    passed = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--worker"]
    rows, load_before = [], os.getloadavg()
    for backend in args.backends.split(","):
        for mode in args.modes.split(","):
            env = dict(os.environ, KERAS_BACKEND=backend)
            env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
            env["SKMLP_REUSE_COMPILED"] = "0" if mode == "no-reuse" else "1"
            out = subprocess.run(
                [sys.executable, __file__, "--worker", *passed],
                env=env,
                capture_output=True,
                text=True,
            )
            if out.returncode != 0:
                raise RuntimeError(f"{backend}/{mode} failed:\n{out.stderr[-3000:]}")
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(_table(rows[-1:]).splitlines()[-1], flush=True)
    table = _table(rows)
    print(table)
    from importlib.metadata import version

    facts = {
        "command": portable_command(
            ["python", "benchmarks/bench_partial_fit.py", *passed], {"--mnist": "DIR"}
        ),
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "loadavg_before": [round(v, 2) for v in load_before],
            "loadavg_after": [round(v, 2) for v in os.getloadavg()],
        },
        "versions": {n: version(n) for n in ("keras", "tensorflow", "jax", "scikit-learn")},
        "rows": rows,
    }
    write_results(RESULTS / "partial_fit", TITLE, facts, table, detail="rows")


if __name__ == "__main__":
    main()
