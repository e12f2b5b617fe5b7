"""Scores at scikit-learn's defaults: skmlp against scikit-learn's MLP, over seeds.

A user who swaps ``from sklearn.neural_network import MLPClassifier`` for
``from skmlp import MLPClassifier`` keeps every setting at its default. This
script measures what they get on iris: 5-fold cross-validated accuracy
(``cross_validate``, stratified folds, raw features) of ``MLPClassifier(
random_state=seed)``, and with ``early_stopping=True``, for several seeds, with
the epochs each fit ran (``n_iter_``) and the loss of its first epoch (the
scale of the initial weights shows there). Each side runs in its own subprocess:
scikit-learn's MLP, and skmlp from each code tree given (``--tree NAME=PATH``,
put first on ``PYTHONPATH``; default ``after=.``).

The seed noise is the standard deviation across seeds of a side's CV accuracy;
a difference of means is "within noise" when it is at most twice the standard
error of that difference (``2 * sqrt((sd_a**2 + sd_b**2) / n_seeds)``).

Usage::

    python benchmarks/bench_dropin_scores.py --tree before=BEFORE --tree after=. --seeds 5

Writes ``benchmarks/results/dropin_scores.{json,md}``.
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
SETTINGS = {"defaults": {}, "early_stopping": {"early_stopping": True}}

CHILD = r"""
import json, sys, time, warnings
import numpy as np
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_validate

side, folds = sys.argv[1], int(sys.argv[3])
seeds, settings = json.loads(sys.argv[2]), json.loads(sys.argv[4])
if side == "sklearn":
    from sklearn.neural_network import MLPClassifier
else:
    from skmlp import MLPClassifier
    import keras
X, y = load_iris(return_X_y=True)
out = {}
for name, params in settings.items():
    rows = []
    for seed in seeds:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            cv = cross_validate(MLPClassifier(random_state=seed, **params), X, y, cv=folds,
                                return_estimator=True)
        rows.append({"seed": seed, "accuracy": float(np.mean(cv["test_score"])),
                     "epochs": float(np.mean([e.n_iter_ for e in cv["estimator"]])),
                     "first_loss": float(np.mean([e.loss_curve_[0] for e in cv["estimator"]])),
                     "seconds": time.perf_counter() - start})
    out[name] = rows
info = {"backend": None if side == "sklearn" else keras.backend.backend()}
print(json.dumps({"results": out, "info": info}))
"""


def _run_side(side: str, tree: str | None, args) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    if tree is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(Path(tree).resolve()), env.get("PYTHONPATH", "")])
    seeds = list(range(args.seeds))
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, side, json.dumps(seeds), str(args.cv), json.dumps(SETTINGS)],
        env=env, capture_output=True, text=True, check=False,
        cwd=Path(tree).resolve() if tree else None,  # "-c" puts the working folder first
    )  # fmt: skip
    if proc.returncode:
        raise SystemExit(f"{side} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _summary(rows: list) -> dict:
    import numpy as np

    acc = np.array([r["accuracy"] for r in rows])
    return {
        "accuracy_mean": float(acc.mean()),
        "accuracy_sd_across_seeds": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
        "epochs_mean": float(np.mean([r["epochs"] for r in rows])),
        "first_loss_mean": float(np.mean([r["first_loss"] for r in rows])),
        "seconds": float(sum(r["seconds"] for r in rows)),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", default=[], metavar="NAME=PATH")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--out", default=str(RESULTS / "dropin_scores"))
    args = parser.parse_args(argv)
    trees = dict(t.split("=", 1) for t in args.tree) or {"after": "."}

    sides = {"sklearn": _run_side("sklearn", None, args)}
    for name, path in trees.items():
        sides[f"skmlp {name}"] = _run_side("skmlp", path, args)
    summary = {s: {k: _summary(rows) for k, rows in v["results"].items()} for s, v in sides.items()}

    lines = ["| setting | side | CV accuracy (mean of seeds) | sd across seeds | "
             "diff vs sklearn | within noise | epochs (mean) | first epoch's loss | seconds |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for setting in SETTINGS:
        ref = summary["sklearn"][setting]
        for side, by_setting in summary.items():
            s = by_setting[setting]
            diff = s["accuracy_mean"] - ref["accuracy_mean"]
            noise = 2 * ((s["accuracy_sd_across_seeds"] ** 2 + ref["accuracy_sd_across_seeds"] ** 2)
                         / args.seeds) ** 0.5  # fmt: skip
            s["diff_vs_sklearn"], s["within_noise"] = diff, bool(abs(diff) <= noise)
            lines.append(
                f"| {setting} | {side} | {s['accuracy_mean']:.3f} | "
                f"{s['accuracy_sd_across_seeds']:.3f} | {diff:+.3f} | "
                f"{'-' if side == 'sklearn' else ('yes' if s['within_noise'] else 'NO')} | "
                f"{s['epochs_mean']:.0f} | {s['first_loss_mean']:.2f} | {s['seconds']:.1f} |"
            )
    table = "\n".join(lines)
    print(table)
    facts = {
        "command": portable_command(
            ["python", *sys.argv], folders={name.upper(): p for name, p in trees.items()}
        ),
        "trees": {name: name.upper() if p != "." else "." for name, p in trees.items()},
        "data": "iris (150 rows, 4 raw features), cross_validate with stratified folds",
        "cv": args.cv,
        "seeds": list(range(args.seeds)),
        "settings": SETTINGS,
        "backends": {s: v["info"]["backend"] for s, v in sides.items()},
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "summary": summary,
        "detail": {s: v["results"] for s, v in sides.items()},
    }
    title = "Scores at scikit-learn's defaults (iris)"
    write_results(Path(args.out), title, facts, table, "detail")


if __name__ == "__main__":
    main()
