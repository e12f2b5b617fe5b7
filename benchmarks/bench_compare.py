"""skmlp against raw Keras, scikeras and scikit-learn: epoch time, memory, prediction.

Every cell is measured in its own subprocess (so peak memory is that fit's own),
on the same data, batch size 100 and Adam, and the table gives each as a ratio to
skmlp from the same run. Seconds per epoch are a whole ``fit`` of ``--epochs``
epochs (building and compiling included) divided by the epochs; prediction is
``predict_proba`` on 10,000 rows and the median of 50 single-row calls.

Usage::

    python benchmarks/bench_compare.py --mnist DIR --archs mlp2,mlp3 --rows 20000
    KERAS_BACKEND=jax python benchmarks/bench_compare.py --archs all

Writes ``benchmarks/results/compare_<backend>.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
RESULTS = Path(__file__).parent / "results"
SIDES = ["skmlp", "keras", "scikeras", "sklearn"]


def _data(rows, mnist):
    import numpy as np

    if mnist:
        from skmlp.datasets import load_mnist

        d = load_mnist(mnist, download=False)
        X, y = d.X_train[:rows] / np.float32(255), d.y_train[:rows]
        return X.astype(np.float32), y, (d.X_test[:10000] / np.float32(255)).astype(np.float32)
    rng = np.random.default_rng(0)
    X = rng.random((rows, 784), dtype=np.float32)
    return X, rng.integers(0, 10, rows), rng.random((10000, 784), dtype=np.float32)


def _keras_model(widths, bn, rate):
    from bench_wrapper_overhead import build_raw_keras  # the same raw network

    return build_raw_keras(784, widths, bn, rate)


def worker(side, arch_name, rows, epochs, mnist):
    """Fit and time one side on one architecture; print one JSON line."""
    import numpy as np

    from skmlp.architectures import get_architecture

    arch = get_architecture(arch_name)
    widths, bn, rate = arch.hidden_layer_sizes, arch.batch_norm, arch.dropout
    X, y, X_pred = _data(rows, mnist)
    # import every side's libraries before any clock starts, so that no cell pays
    # for an import (Keras and its backend take seconds)
    import keras  # noqa: F401
    import scikeras.wrappers  # noqa: F401
    import sklearn.neural_network  # noqa: F401

    import skmlp._classifier  # noqa: F401

    if side == "sklearn" and (bn or rate):
        print(json.dumps({"side": side, "arch": arch_name, "na": True}))
        return
    if side == "skmlp":
        from skmlp import MLPClassifier

        est = MLPClassifier(
            widths, batch_norm=bn, dropout=rate, alpha=0.0, batch_size=100,
            max_iter=epochs, n_iter_no_change=epochs + 1, random_state=0,
        )  # fmt: skip
    elif side == "sklearn":
        from sklearn.neural_network import MLPClassifier as SK

        est = SK(widths, alpha=0.0, batch_size=100, max_iter=epochs, tol=0.0,
                 n_iter_no_change=epochs + 1, random_state=0)  # fmt: skip
    elif side == "scikeras":
        from scikeras.wrappers import KerasClassifier

        est = KerasClassifier(model=lambda: _keras_model(widths, bn, rate), epochs=epochs,
                              batch_size=100, verbose=0, random_state=0)  # fmt: skip
    else:
        est = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        if est is None:
            model = _keras_model(widths, bn, rate)
            model.fit(X, y, batch_size=100, epochs=epochs, verbose=0)
        else:
            est.fit(X, y)
        fit_s = time.perf_counter() - start
        if est is None:
            predict = lambda A: model.predict(A, verbose=0)  # noqa: E731
        else:
            predict = est.predict_proba
        predict(X_pred[:100])  # warm-up
        start = time.perf_counter()
        predict(X_pred)
        batch_s = time.perf_counter() - start
        one = []
        for i in range(50):
            start = time.perf_counter()
            predict(X_pred[i : i + 1])
            one.append(time.perf_counter() - start)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"side": side, "arch": arch_name, "s_per_epoch": fit_s / epochs,
                      "predict_10k_s": batch_s, "predict_1row_ms": 1000 * float(np.median(one)),
                      "peak_mb": peak_mb}))  # fmt: skip


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archs", default="mlp2,mlp2-bn-do,mlp3")
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--mnist", default=None)
    parser.add_argument("--worker", nargs=2, metavar=("SIDE", "ARCH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(*args.worker, args.rows, args.epochs, args.mnist)

    from skmlp.architectures import SEED_ARCHITECTURES

    names = [a.name for a in SEED_ARCHITECTURES] if args.archs == "all" else args.archs.split(",")
    cells = {}
    for name in names:
        for side in SIDES:
            cmd = [sys.executable, __file__, "--worker", side, name, "--rows", str(args.rows),
                   "--epochs", str(args.epochs)]  # fmt: skip
            cmd += ["--mnist", args.mnist] if args.mnist else []
            out = subprocess.run(cmd, capture_output=True, text=True, check=True)
            cell = json.loads(out.stdout.strip().splitlines()[-1])
            cells[(name, side)] = cell
            print(f"  {name:11s} {side:9s} {cell}", flush=True)

    import keras

    backend = keras.backend.backend()
    head = (
        "| architecture | metric | " + " | ".join(SIDES) + " |",
        "|" + " --- |" * (len(SIDES) + 2),
    )
    lines = list(head)
    metrics = [("s_per_epoch", "s/epoch"), ("peak_mb", "peak MB"),
               ("predict_10k_s", "predict 10k s"), ("predict_1row_ms", "1-row ms")]  # fmt: skip
    for name in names:
        base = cells[(name, "skmlp")]
        for key, label in metrics:
            row = []
            for side in SIDES:
                c = cells[(name, side)]
                if c.get("na"):
                    row.append("n/a")
                else:
                    ratio = c[key] / base[key] if base[key] else float("nan")
                    row.append(f"{c[key]:.3g} ({ratio:.2f}x)")
            lines.append(f"| {name} | {label} | " + " | ".join(row) + " |")
    table = "\n".join(lines)
    print("\n" + table)
    RESULTS.mkdir(exist_ok=True)
    facts = {
        "command": " ".join(["bench_compare.py", *(argv or sys.argv[1:])]),
        "backend": backend, "rows": args.rows, "epochs": args.epochs,
        "data": "MNIST" if args.mnist else "random MNIST-shaped",
        "machine": platform.platform(), "cpu_count": os.cpu_count(),
        "cells": [dict(c) for c in cells.values()],
    }  # fmt: skip
    (RESULTS / f"compare_{backend}.json").write_text(json.dumps(facts, indent=2) + "\n")
    summary = {k: v for k, v in facts.items() if k != "cells"}
    (RESULTS / f"compare_{backend}.md").write_text(
        "# skmlp vs raw Keras, scikeras, scikit-learn\n\n"
        f"```\n{json.dumps(summary, indent=2)}\n```\n\n"
        "Each cell: value (ratio to skmlp, same run).\n\n" + table + "\n"
    )


if __name__ == "__main__":
    main()
