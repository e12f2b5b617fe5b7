"""Bytes of memory a fit takes per network parameter: what the per-fit budget assumes.

Each fit runs in a fresh process: random data of 784 features and 10 classes
(2,000 rows, so that the data is a few megabytes), one ``MLPClassifier`` with two
hidden layers of width ``H`` fitted for one epoch with Adam (the solver with the
most state per parameter), then ``predict``. The process's peak resident memory
(``VmHWM``) is read before the fit (after the data and the imports) and after the
prediction. Two widths are measured per backend, and the slope between them,

    (peak after - peak before)[large] - (same)[small]  /  (parameters[large] - parameters[small])

is the memory one more parameter costs, without the fixed cost of compiling and
of the backend's own pools. :data:`skmlp._model.TRAIN_BYTES_PER_PARAM` must be at
least the largest slope measured here.

    python benchmarks/bench_fit_memory.py [--widths 1024 4096] [--backends jax tensorflow]

Writes ``benchmarks/results/fit_memory.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

from _record import portable_command, write_results

RESULTS = Path(__file__).parent / "results"
#: ``fit``: one epoch and ``predict``; ``saved``: two epochs with early stopping (a
#: copy of the best weights), ``predict``, then saved as ``.skmlp`` and with joblib,
#: as a run does with its best model.
MODES = ("fit", "saved")

CHILD = r"""
import json, sys, warnings
import numpy as np

def peak_kb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))

width, mode = int(sys.argv[1]), sys.argv[2]
import os, tempfile, joblib
import skmlp
from skmlp import MLPClassifier
rng = np.random.default_rng(0)
X = rng.random((2000, 784), dtype=np.float32)
y = rng.integers(0, 10, 2000)
est = MLPClassifier(hidden_layer_sizes=(width, width), max_iter=2 if mode == "saved" else 1,
                    batch_size=100, random_state=0, early_stopping=mode == "saved")
before = peak_kb()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    est.fit(X, y)
    est.predict(X)
    if mode == "saved":  # what a run does with its best model
        with tempfile.TemporaryDirectory() as tmp:
            skmlp.save(est, os.path.join(tmp, "m.skmlp"))
            joblib.dump(est, os.path.join(tmp, "m.joblib"))
print(json.dumps({"width": width, "mode": mode, "n_params": int(est.n_params_), "before_kb": before,
                  "after_kb": peak_kb()}))
"""


def measure(width: int, backend: str, mode: str) -> dict:
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", CHILD, str(width), mode], env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    if proc.returncode:
        raise RuntimeError(f"width {width} on {backend} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--widths", type=int, nargs=2, default=[1024, 4096])
    parser.add_argument("--backends", nargs="+", default=["jax", "tensorflow"])
    args = parser.parse_args()
    from skmlp._model import TRAIN_BYTES_PER_PARAM

    rows, slopes = [], {}
    for backend, mode in ((b, m) for b in args.backends for m in MODES):
        small, large = (measure(w, backend, mode) for w in args.widths)
        for r in (small, large):
            r["backend"] = backend
            r["fit_mb"] = round((r["after_kb"] - r["before_kb"]) / 1024, 1)
            r["bytes_per_param"] = round(1024 * (r["after_kb"] - r["before_kb"]) / r["n_params"], 1)
            rows.append(r)
        slope = 1024 * (
            (large["after_kb"] - large["before_kb"]) - (small["after_kb"] - small["before_kb"])
        )
        slopes[f"{backend}, {mode}"] = round(slope / (large["n_params"] - small["n_params"]), 1)
        print(f"{backend}, {mode}: {slopes[f'{backend}, {mode}']} bytes per parameter", flush=True)
    facts = {
        "what": "peak RSS (VmHWM) growth of one Adam fit + predict, per network parameter",
        "command": portable_command(sys.argv),
        "python": platform.python_version(),
        "machine": platform.platform(),
        "bytes_per_param_slope": slopes,
        "skmlp_assumes": TRAIN_BYTES_PER_PARAM,
        "assumption_holds": all(s <= TRAIN_BYTES_PER_PARAM for s in slopes.values()),
        "detail": rows,
    }
    table = "| backend | mode | hidden | parameters | peak before fit (MB) | fit growth (MB) "
    table += "| bytes / parameter |\n"
    table += "| --- | --- | --- | --- | --- | --- | --- |\n"
    for r in rows:
        table += (
            f"| {r['backend']} | {r['mode']} | ({r['width']}, {r['width']}) | {r['n_params']:,} | "
            f"{r['before_kb'] / 1024:.0f} | {r['fit_mb']} | {r['bytes_per_param']} |\n"
        )
    table += "\n| backend, mode | slope: bytes per extra parameter |\n| --- | --- |\n"
    table += "".join(f"| {b} | {s} |\n" for b, s in slopes.items())
    write_results(RESULTS / "fit_memory", "Memory of a fit, per parameter", facts, table, "detail")
    print(table)


if __name__ == "__main__":
    main()
