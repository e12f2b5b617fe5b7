"""Parallel grid search: does GridSearchCV(n_jobs=k) oversubscribe the CPU?

Runs the same small grid search (2 architectures x 2 folds on MNIST rows,
TensorFlow backend) three ways, each in a fresh process, and prints wall
times and their ratios to the first:

- ``n_jobs=1``: one fit at a time, TensorFlow using every core;
- ``n_jobs=k, unlimited``: ``k`` worker processes, each with TensorFlow's
  default thread pools (one thread per core each): what happens without skmlp's
  thread limit, forced by setting ``TF_NUM_INTRAOP_THREADS`` to the core count;
- ``n_jobs=k, skmlp``: the default, where skmlp maps joblib's
  ``OMP_NUM_THREADS=cores // k`` onto TensorFlow's pools (skmlp._backend).

Usage::

    python benchmarks/bench_threads.py --mnist DIR [--rows 12000 --n-jobs 2]

Writes ``benchmarks/results/threads_<backend>.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from _record import portable_command, write_results

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
RESULTS = Path(__file__).parent / "results"


def worker(rows, n_jobs, epochs, mnist):
    import warnings

    import numpy as np
    from sklearn.model_selection import GridSearchCV

    from skmlp import MLPClassifier
    from skmlp.datasets import load_mnist

    d = load_mnist(mnist, download=False)
    X = (d.X_train[:rows] / np.float32(255)).astype(np.float32)
    y = d.y_train[:rows]
    search = GridSearchCV(
        MLPClassifier(batch_size=100, max_iter=epochs, n_iter_no_change=epochs + 1,
                      random_state=0),
        {"hidden_layer_sizes": [(256, 64), (512, 256)]},
        cv=2,
        n_jobs=n_jobs,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        search.fit(X, y)
    print(json.dumps({"wall_s": time.perf_counter() - start,
                      "scores": search.cv_results_["mean_test_score"].tolist()}))  # fmt: skip


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mnist", required=True)
    parser.add_argument("--rows", type=int, default=12000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--worker", type=int, metavar="N_JOBS", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        return worker(args.rows, args.worker, args.epochs, args.mnist)

    cores = os.cpu_count()
    limits = ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
    clean = {k: v for k, v in os.environ.items() if k not in limits}
    runs = [
        ("n_jobs=1", 1, {}),
        (f"n_jobs={args.n_jobs}, unlimited TensorFlow threads", args.n_jobs,
         {"TF_NUM_INTRAOP_THREADS": str(cores), "TF_NUM_INTEROP_THREADS": str(cores)}),
        (f"n_jobs={args.n_jobs}, skmlp's limit", args.n_jobs, {}),
    ]  # fmt: skip
    results = []
    for label, n_jobs, extra in runs:
        cmd = [sys.executable, __file__, "--mnist", args.mnist, "--rows", str(args.rows),
               "--epochs", str(args.epochs), "--worker", str(n_jobs)]  # fmt: skip
        out = subprocess.run(cmd, env={**clean, **extra}, capture_output=True, text=True)
        if out.returncode:
            sys.exit(f"{label} failed:\n{out.stderr[-3000:]}")
        cell = json.loads(out.stdout.strip().splitlines()[-1])
        results.append({"run": label, **cell})
        print(f"  {label}: {cell['wall_s']:.1f} s", flush=True)
    base = results[0]["wall_s"]
    lines = ["| run | wall s | ratio to n_jobs=1 |", "| --- | --- | --- |"]
    lines += [f"| {r['run']} | {r['wall_s']:.1f} | {r['wall_s'] / base:.2f} |" for r in results]
    table = "\n".join(lines)
    print("\n" + table)
    import keras

    facts = {
        "command": portable_command(["bench_threads.py", *(argv or sys.argv[1:])],
                                    {"--mnist": "DIR"}),
        "backend": keras.backend.backend(), "rows": args.rows, "epochs": args.epochs,
        "grid": "hidden_layer_sizes (256, 64), (512, 256); cv=2",
        "machine": platform.platform(), "cpu_count": cores, "results": results,
    }  # fmt: skip
    title = "Parallel grid search and thread pools"
    write_results(RESULTS / f"threads_{facts['backend']}", title, facts, table, detail="results")


if __name__ == "__main__":
    main()
