"""skmlp against raw Keras, scikeras and scikit-learn: epoch time, memory, prediction.

Every cell is measured in its own subprocess (so peak memory is that fit's own),
on the same data, batch size 100 and Adam, and the tables give each as a ratio
to skmlp from the same run. Seconds per epoch are the median of the steady
epochs (every epoch after the first, which pays for compilation), timed by a
callback (Keras sides) or around ``partial_fit`` (scikit-learn). The FLOP floor
is 6 x multiply-adds x rows at the float32 matmul rate measured at the start of
the run. Prediction is ``predict_proba`` on 10,000 rows and the median of 50
single-row calls; for skmlp also Keras' ``Model.predict`` at several batch sizes.

Sides: ``skmlp``; ``keras``, the same network and compile settings as skmlp
(on TensorFlow that includes ``steps_per_execution=32``) trained by
``Model.fit``; ``keras-default``, Keras' default compile (TensorFlow only, where
it differs); scikeras' ``KerasClassifier``; scikit-learn's ``MLPClassifier``
(only where it has the architecture: no batch norm or dropout).

Usage::

    python benchmarks/bench_compare.py --mnist DIR --archs all --rows 60000
    KERAS_BACKEND=jax python benchmarks/bench_compare.py --mnist DIR --archs all

Writes ``benchmarks/results/compare_<backend>.{json,md}``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

from _record import portable_command, write_results

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
RESULTS = Path(__file__).parent / "results"
PREDICT_BATCHES = (32, 256, 1024, 4096, 10000)


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


def _timer(times):
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    return EpochTimer()


def _median(values):
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def worker(side, arch_name, rows, epochs, mnist):
    """Fit and time one side on one architecture; print one JSON line."""
    import numpy as np

    from skmlp.architectures import get_architecture

    arch = get_architecture(arch_name)
    widths, bn, rate = arch.hidden_layer_sizes, arch.batch_norm, arch.dropout
    X, y, X_pred = _data(rows, mnist)
    # import every side's libraries before any clock starts, so that no cell pays
    # for an import (Keras and its backend take seconds)
    import keras
    import scikeras.wrappers  # noqa: F401
    import sklearn.neural_network  # noqa: F401
    from bench_wrapper_overhead import build_raw_keras  # the same raw network

    import skmlp._classifier as core
    from skmlp._training.engine import steps_per_execution

    if side == "sklearn" and (bn or rate):
        print(json.dumps({"side": side, "arch": arch_name, "na": True}))
        return
    times = []
    spe = steps_per_execution() if side == "keras" else 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if side == "skmlp":

            class Timed(core.MLPClassifier):
                def _initialize_callbacks(self):
                    super()._initialize_callbacks()
                    self._fit_callbacks = [_timer(times)]

            est = Timed(widths, batch_norm=bn, dropout=rate, alpha=0.0, batch_size=100,
                        max_iter=epochs, n_iter_no_change=epochs + 1, random_state=0)  # fmt: skip
            est.fit(X, y)
            predict = est.predict_proba
        elif side == "sklearn":
            from sklearn.neural_network import MLPClassifier as SK

            est = SK(widths, alpha=0.0, batch_size=100, random_state=0)
            classes = np.unique(y)
            for _ in range(epochs):
                start = time.perf_counter()
                est.partial_fit(X, y, classes=classes)
                times.append(time.perf_counter() - start)
            predict = est.predict_proba
        elif side == "scikeras":
            from scikeras.wrappers import KerasClassifier

            est = KerasClassifier(model=lambda: build_raw_keras(784, widths, bn, rate),
                                  epochs=epochs, batch_size=100, verbose=0, random_state=0,
                                  callbacks=[_timer(times)])  # fmt: skip
            est.fit(X, y)
            predict = est.predict_proba
        else:  # keras, keras-default
            keras.utils.set_random_seed(0)
            model = build_raw_keras(784, widths, bn, rate, steps_per_execution=spe)
            model.fit(X, y, batch_size=100, epochs=epochs, verbose=0, callbacks=[_timer(times)])
            predict = lambda A: model.predict(A, verbose=0)  # noqa: E731

        def clock(fn, repeats):
            fn()  # warm-up (compilation)
            runs = []
            for _ in range(repeats):
                start = time.perf_counter()
                fn()
                runs.append(time.perf_counter() - start)
            return _median(runs)

        batch_s = clock(lambda: predict(X_pred), 3)
        one_s = clock(lambda: predict(X_pred[:1]), 50)
        sweep = {}
        if side == "skmlp":
            for b in PREDICT_BATCHES:
                sweep[b] = clock(lambda b=b: est.model_.predict(X_pred, batch_size=b, verbose=0), 3)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"side": side, "arch": arch_name, "epoch_s": times,
                      "s_per_epoch": _median(times[1:] or times), "predict_10k_s": batch_s,
                      "predict_1row_ms": 1000 * one_s, "peak_mb": peak_mb,
                      "keras_predict_10k_s": sweep}))  # fmt: skip


def matmul_gflops():
    """float32 matrix-multiply rate of this machine, in GFLOP/s (best of 5)."""
    import numpy as np

    a = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - start)
    return 2 * 2048**3 / best / 1e9


def flop_floor_s(widths, rows, gflops, n_features=784, n_classes=10):
    """Seconds per epoch at the matmul rate: 6 FLOPs per multiply-add per row."""
    sizes = [n_features, *widths, n_classes]
    macs = sum(a * b for a, b in itertools.pairwise(sizes))
    return 6 * macs * rows / (gflops * 1e9)


def _cell(c, key, base, fmt="{:.3g}"):
    if c.get("na"):
        return "n/a"
    ratio = c[key] / base[key] if base[key] else float("nan")
    return (fmt + " ({:.2f}x)").format(c[key], ratio)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archs", default="all", help="comma-separated names, or 'all'")
    parser.add_argument("--rows", type=int, default=60000)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per fit (first = warm-up)")
    parser.add_argument("--mnist", default=None, help="MNIST IDX folder (default: random pixels)")
    parser.add_argument("--sides", default=None, help="comma-separated subset of the sides")
    parser.add_argument("--worker", nargs=2, metavar=("SIDE", "ARCH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(*args.worker, args.rows, args.epochs, args.mnist)

    import keras

    import skmlp
    from skmlp.architectures import SEED_ARCHITECTURES, get_architecture

    backend = keras.backend.backend()
    sides = ["skmlp", "keras", "keras-default", "scikeras", "sklearn"]
    if backend != "tensorflow":  # the same compile settings as Keras' defaults
        sides.remove("keras-default")
    if args.sides:
        sides = [s for s in sides if s in args.sides.split(",")]
    names = [a.name for a in SEED_ARCHITECTURES] if args.archs == "all" else args.archs.split(",")
    gflops = matmul_gflops()
    print(f"backend {backend}; float32 matmul {gflops:.0f} GFLOP/s", flush=True)
    cells = {}
    for name in names:
        for side in sides:
            cmd = [sys.executable, __file__, "--worker", side, name, "--rows", str(args.rows),
                   "--epochs", str(args.epochs)]  # fmt: skip
            cmd += ["--mnist", args.mnist] if args.mnist else []
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode:
                sys.exit(f"{side} on {name} failed:\n{out.stderr[-3000:]}")
            cell = json.loads(out.stdout.strip().splitlines()[-1])
            cells[(name, side)] = cell
            shown = {k: v for k, v in cell.items() if k in ("s_per_epoch", "peak_mb", "na")}
            print(f"  {name:11s} {side:13s} {shown}", flush=True)

    floors = {n: flop_floor_s(get_architecture(n).hidden_layer_sizes, args.rows, gflops)
              for n in names}  # fmt: skip
    t1 = ["| architecture | FLOP floor | " + " | ".join(sides) + " | skmlp / floor |",
          "|" + " --- |" * (len(sides) + 3)]  # fmt: skip
    t2 = ["| architecture | metric | " + " | ".join(sides) + " |",
          "|" + " --- |" * (len(sides) + 2)]  # fmt: skip
    t3 = ["| architecture | skmlp | " + " | ".join(f"predict(batch_size={b})"
          for b in PREDICT_BATCHES) + " | skmlp / best |",
          "|" + " --- |" * (len(PREDICT_BATCHES) + 3)]  # fmt: skip
    for name in names:
        base = cells[(name, "skmlp")]
        row = [_cell(cells[(name, s)], "s_per_epoch", base) for s in sides]
        t1.append(f"| {name} | {floors[name]:.2f} | " + " | ".join(row)
                  + f" | {base['s_per_epoch'] / floors[name]:.2f} |")  # fmt: skip
        for key, label in [("peak_mb", "peak MB"), ("predict_10k_s", "predict 10k rows, s"),
                           ("predict_1row_ms", "predict 1 row, ms")]:  # fmt: skip
            row = [_cell(cells[(name, s)], key, base) for s in sides]
            t2.append(f"| {name} | {label} | " + " | ".join(row) + " |")
        sweep = {int(b): v for b, v in base["keras_predict_10k_s"].items()}
        best = min(min(sweep.values()), base["predict_10k_s"])
        t3.append(f"| {name} | {base['predict_10k_s']:.3f} | "
                  + " | ".join(f"{sweep[b]:.3f}" for b in PREDICT_BATCHES)
                  + f" | {base['predict_10k_s'] / best:.2f} |")  # fmt: skip
    tables = (
        "Seconds per epoch (median of the steady epochs; ratio to skmlp):\n\n" + "\n".join(t1)
        + "\n\nMemory and prediction (ratio to skmlp):\n\n" + "\n".join(t2)
        + "\n\nskmlp's predict_proba on 10,000 rows against Keras' Model.predict at fixed "
        "batch sizes, seconds:\n\n" + "\n".join(t3)
    )  # fmt: skip
    print("\n" + tables)
    import numpy as np
    import sklearn

    facts = {
        "command": portable_command(["bench_compare.py", *(argv or sys.argv[1:])],
                                    {"--mnist": "DIR"}),
        "backend": backend, "rows": args.rows, "epochs": args.epochs, "batch_size": 100,
        "data": "MNIST" if args.mnist else "random MNIST-shaped",
        "machine": platform.platform(), "processor": platform.processor(),
        "cpu_count": os.cpu_count(), "matmul_gflops": round(gflops, 1),
        "python": platform.python_version(),
        "versions": {"skmlp": skmlp.__version__, "keras": keras.__version__,
                     "scikit-learn": sklearn.__version__, "numpy": np.__version__},
        "cells": [dict(c) for c in cells.values()],
    }  # fmt: skip
    write_results(RESULTS / f"compare_{backend}", "skmlp vs raw Keras, scikeras, scikit-learn",
                  facts, tables, detail="cells")  # fmt: skip


if __name__ == "__main__":
    main()
