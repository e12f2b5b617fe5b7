"""The seed's six architectures on the full MNIST, on a GPU with the JAX backend.

Trains each architecture for ``--epochs`` epochs (batch 100, Adam, the seed's
settings) on the 60,000 training images and scores it once on the 10,000 test
images, twice: with skmlp's fused epoch (one compiled call per epoch) and with
Keras' own ``Model.fit`` loop. Prints the time of each model (compilation
included), the totals, and the test accuracies side by side; writes them to
``benchmarks/results/gpu_seed_run_<device>.{json,md}`` (or ``--out``).

For a machine with an NVIDIA GPU where JAX is installed and TensorFlow may not
be::

    KERAS_BACKEND=jax python benchmarks/gpu_seed_run.py --mnist DIR

``DIR`` holds MNIST's four IDX files (``train-images-idx3-ubyte.gz``...). It
also runs on a CPU (slowly): ``--n-train 2000 --epochs 1`` checks the script.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

from _record import portable_command, write_results

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # skmlp from this checkout

RESULTS = Path(__file__).parent / "results"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mnist", required=True, help="folder of MNIST's IDX files")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--n-train", type=int, default=None, help="first N training rows")
    parser.add_argument("--paths", default="fused,fit", help="fused, fit, or both")
    parser.add_argument("--out", default=None, help="result folder (default: benchmarks/results)")
    args = parser.parse_args(argv)

    import jax
    import keras
    import numpy as np

    from skmlp import MLPClassifier
    from skmlp.architectures import SEED_ARCHITECTURES
    from skmlp.datasets import load_mnist

    device = jax.devices()[0]
    device_name = getattr(device, "device_kind", str(device))
    print(f"backend {keras.backend.backend()}, device {device_name}, jax {jax.__version__}, "
          f"keras {keras.__version__}", flush=True)  # fmt: skip
    data = load_mnist(args.mnist, download=False)
    X = (data.X_train[: args.n_train] / np.float32(255)).astype(np.float32)
    y = data.y_train[: args.n_train]
    X_test = (data.X_test / np.float32(255)).astype(np.float32)

    rows = []
    totals = {}
    for path in args.paths.split(","):
        os.environ["SKMLP_FUSED_EPOCHS"] = "1" if path == "fused" else "0"
        start_all = time.perf_counter()
        for arch in SEED_ARCHITECTURES:
            clf = MLPClassifier(
                arch.hidden_layer_sizes, batch_norm=arch.batch_norm, dropout=arch.dropout,
                batch_size=100, max_iter=args.epochs, n_iter_no_change=args.epochs + 1,
                alpha=0.0, random_state=0,
            )  # fmt: skip
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                clf.fit(X, y)
            fit_s = time.perf_counter() - start
            acc = float(np.mean(clf.predict(X_test) == data.y_test))
            rows.append({"path": path, "architecture": arch.name, "fit_s": fit_s,
                         "test_accuracy": acc, "epochs": clf.n_iter_})  # fmt: skip
            print(f"  {path:5s} {arch.name:12s} {fit_s:7.1f} s  test {100 * acc:.2f}%", flush=True)
        totals[path] = time.perf_counter() - start_all
        print(f"  {path:5s} total {totals[path]:.1f} s", flush=True)

    by = {(r["path"], r["architecture"]): r for r in rows}
    paths = list(totals)
    lines = ["| architecture | " + " | ".join(f"{p} s | {p} test %" for p in paths) + " |",
             "|" + " --- |" * (1 + 2 * len(paths))]  # fmt: skip
    for arch in SEED_ARCHITECTURES:
        cells = []
        for p in paths:
            r = by[(p, arch.name)]
            cells += [f"{r['fit_s']:.1f}", f"{100 * r['test_accuracy']:.2f}"]
        lines.append(f"| {arch.name} | " + " | ".join(cells) + " |")
    lines.append("| total | " + " | ".join(f"{totals[p]:.1f} | " for p in paths) + "")
    if {"fused", "fit"} <= set(paths):
        gaps = [abs(by[("fused", a.name)]["test_accuracy"] - by[("fit", a.name)]["test_accuracy"])
                for a in SEED_ARCHITECTURES]  # fmt: skip
        lines.append(f"\nspeed-up of the fused epoch: {totals['fit'] / totals['fused']:.1f}x; "
                     f"largest test-accuracy gap: {100 * max(gaps):.2f} points")  # fmt: skip
    table = "\n".join(lines)
    print("\n" + table)
    facts = {
        "command": portable_command(["gpu_seed_run.py", *(argv or sys.argv[1:])],
                                    {"--mnist": "DIR", "--out": "OUT"}),
        "device": device_name, "platform": platform.platform(),
        "versions": {"jax": jax.__version__, "keras": keras.__version__},
        "epochs": args.epochs, "n_train": len(y), "batch_size": 100,
        "totals_s": totals, "rows": rows,
    }  # fmt: skip
    out = Path(args.out) if args.out else RESULTS
    tag = "".join(c if c.isalnum() else "_" for c in device_name).strip("_").lower()
    write_results(out / f"gpu_seed_run_{tag}", f"The seed's six architectures on {device_name}",
                  facts, table, detail="rows")  # fmt: skip


if __name__ == "__main__":
    main()
