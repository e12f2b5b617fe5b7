"""Small tables: skmlp's MLPClassifier against scikit-learn's, first fit and warm fits (issue 26).

For iris, wine, breast cancer and digits (scikit-learn's bundled copies, standard-scaled),
both estimators fit ``hidden_layer_sizes=(100,), random_state=0`` at two settings:

- ``fixed``: ``max_iter=20, tol=0, n_iter_no_change=20``, so both run exactly 20 epochs;
- ``default``: ``max_iter=200`` and scikit-learn's stopping rule (epochs may differ; the
  table gives each side's).

Each (code, backend, dataset) runs in FRESH processes (``python bench_small_data.py --child``):
the process times its import, its first fit (``fixed``; for skmlp the one that compiles) and
then the median of ``--repeats`` fits of new estimators with the same shapes at each setting
(warm fits). Wall time of the whole process is measured by the parent. skmlp runs twice in
a row against one empty compilation-cache folder (``SKMLP_COMPILATION_CACHE``): ``cold`` is
the first process ever, ``cached`` a second fresh process that may reuse what the first
compiled (code without a persistent cache compiles again).

    python benchmarks/bench_small_data.py [--code before=OLD_CHECKOUT] [--backend jax]

``--code NAME=DIR`` runs skmlp from another checkout as well (say, main before the change),
side by side in the same run. Writes ``benchmarks/results/small_data_<backend>.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
DATASETS = ("iris", "wine", "breast_cancer", "digits")
SETTINGS = {
    "fixed": {"max_iter": 20, "tol": 0.0, "n_iter_no_change": 20},
    "default": {"max_iter": 200},
}


def _data(name):
    from sklearn import datasets
    from sklearn.preprocessing import StandardScaler

    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def child(estimator: str, dataset: str, repeats: int) -> dict:
    """What one fresh process measures; printed as JSON on its last line."""
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    if estimator == "sklearn":
        from sklearn.neural_network import MLPClassifier
    else:
        from skmlp import MLPClassifier
    X, y = _data(dataset)
    out = {"import_s": time.perf_counter() - t0}

    def fit(setting):
        est = MLPClassifier(hidden_layer_sizes=(100,), random_state=0, **SETTINGS[setting])
        start = time.perf_counter()
        est.fit(X, y)
        return time.perf_counter() - start, est

    out["first_fit_s"], est = fit("fixed")
    for setting in SETTINGS:
        times = []
        for _ in range(repeats):
            seconds, est = fit(setting)
            times.append(seconds)
        out[f"warm_{setting}_s"] = statistics.median(times)
        out[f"epochs_{setting}"] = int(est.n_iter_)
        out[f"train_acc_{setting}"] = float(est.score(X, y))
    return out


def run_child(estimator, dataset, backend, code, cache, repeats) -> dict:
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONWARNINGS="ignore", SKMLP_COMPILATION_CACHE=str(cache))  # fmt: skip
    env["PYTHONPATH"] = str(code) if code else ""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", estimator, dataset,
         "--repeats", str(repeats)],
        env=env, capture_output=True, text=True, check=False, cwd=tempfile.gettempdir(),
    )  # fmt: skip
    wall = time.perf_counter() - start
    if proc.returncode:
        raise RuntimeError(f"{estimator} {dataset} failed:\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_s"] = wall
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}


def _ratio(a, b):
    return round(a / b, 2) if b else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="jax", choices=["jax", "tensorflow"])
    parser.add_argument("--code", action="append", default=[], metavar="NAME=DIR")
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", nargs=2, metavar=("ESTIMATOR", "DATASET"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child, args.repeats)))
        return
    from _record import portable_command, write_results

    codes = {k: Path(v).resolve() for k, v in (c.split("=", 1) for c in args.code)}
    codes["after"] = ROOT
    rows = []
    load_before = os.getloadavg()
    for dataset in args.datasets:
        row = {"dataset": dataset, "sklearn": run_child("sklearn", dataset, args.backend, ROOT,
                                                        "0", args.repeats)}  # fmt: skip
        for label, code in codes.items():
            with tempfile.TemporaryDirectory() as cache:
                for state in ("cold", "cached"):
                    row[f"{label}_{state}"] = run_child(
                        "skmlp", dataset, args.backend, code, cache, args.repeats
                    )
        rows.append(row)
        print(json.dumps(row), flush=True)
    heads = list(codes)
    table = (
        "Seconds; ratio = skmlp / scikit-learn. `first fit` and `process` are of a fresh "
        "process: `cold` with an empty compilation cache, `cached` the next fresh process. "
        "`warm` = median of the later fits in one process.\n\n"
        "| dataset | side | first fit cold | first fit cached | process cold | process cached "
        "| warm fixed (20 ep) | warm default | epochs default | ratio first cached "
        "| ratio warm fixed | ratio warm default |\n" + "| --- " * 12 + "|\n"
    )
    for r in rows:
        s = r["sklearn"]
        table += (f"| {r['dataset']} | scikit-learn | {s['first_fit_s']} | | {s['process_s']} | "
                  f"| {s['warm_fixed_s']} | {s['warm_default_s']} | {s['epochs_default']} "
                  "| | | |\n")  # fmt: skip
        for k in heads:
            c, w = r[f"{k}_cold"], r[f"{k}_cached"]
            table += (
                f"| {r['dataset']} | skmlp {k} | {c['first_fit_s']} | {w['first_fit_s']} "
                f"| {c['process_s']} | {w['process_s']} | {w['warm_fixed_s']} "
                f"| {w['warm_default_s']} | {w['epochs_default']} "
                f"| {_ratio(w['first_fit_s'], s['first_fit_s'])} "
                f"| {_ratio(w['warm_fixed_s'], s['warm_fixed_s'])} "
                f"| {_ratio(w['warm_default_s'], s['warm_default_s'])} |\n"
            )
    facts = {
        "what": "skmlp vs scikit-learn MLPClassifier on small bundled tables, fresh and warm",
        "command": portable_command(
            sys.argv, folders={k.upper(): v for k, v in codes.items() if k != "after"}
        ),
        "backend": args.backend,
        "settings": SETTINGS,
        "repeats": args.repeats,
        "python": platform.python_version(),
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        # other work on the machine while it ran (1-minute load average, start and end)
        "load_average": [round(load_before[0], 1), round(os.getloadavg()[0], 1)],
        "detail": rows,
    }
    write_results(RESULTS / f"small_data_{args.backend}",
                  f"Small data: first and warm fits ({args.backend})", facts, table,
                  "detail")  # fmt: skip
    print(table)


if __name__ == "__main__":
    main()
