"""The experiment: architectures chosen by cross-validation, reported once on the test set.

:func:`run_experiment` is the seed notebook done right. It runs a
:class:`~sklearn.model_selection.GridSearchCV` over a ``PixelScaler -> MLPClassifier``
pipeline with stratified k-fold on the training set only; then refits every
architecture on the whole training set (holding out ``validation_fraction`` of it
for the loss curves), scores each once on the test set, picks the best by
cross-validated accuracy (never by test score) and saves everything to a folder:

``results.csv`` / ``results.md``
    One row per architecture: widths, batch norm, dropout, parameters, CV accuracy
    (mean, std), CV log-loss, train and test loss and accuracy, fit times.
``cv_results.csv``
    ``GridSearchCV.cv_results_``, one row per architecture and a column per fold.
``run.json``
    What ran: dataset and checksum, configuration, versions, Keras backend, seeds,
    timings, command line.
``best_model.skmlp``, ``best_model.joblib``
    The chosen pipeline, which takes raw pixels: in skmlp's pickle-free format
    (:func:`skmlp.save`), safe to share and to load, and as a joblib pickle for
    your own use (loading a pickle can run code: never load one you did not make).
    ``run.json`` records the SHA-256 of both.
``plots/``
    Loss curves, weight distributions, CV accuracy with error bars (PNG).

Every finished fit is stored under ``fits/`` (CV) and ``refits/`` (final models)
the moment it ends, each file written atomically. Running the same command again
after an interruption reuses them; a finished run returns at once. Reused models are
stored in the safe format and checked against the SHA-256 in their record; one that
does not match is refitted, never trusted. One run at a time may use a folder: a
lock file (``.skmlp-run.lock``) names the run holding it, and a lock left by a run
that was killed is recognised and taken over.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import socket
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

try:  # POSIX: the kernel releases the run lock when its holder dies
    import fcntl
except ImportError:  # pragma: no cover - Windows: the lock file's pid is checked instead
    fcntl = None

import joblib
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._io import (
    atomic_write,
    atomic_write_json,
    atomic_write_text,
    pid_alive,
    remove_stale_temporaries,
)
from ._preprocessing import PixelScaler
from .architectures import SEED_ARCHITECTURES, Architecture, get_architecture, param_grid
from .datasets import load_dataset

__all__ = [
    "SEED_SETTINGS",
    "ExperimentConfig",
    "ExperimentResult",
    "check_output_dir",
    "default_output_dir",
    "format_results",
    "make_pipeline",
    "make_search",
    "run_experiment",
]

#: The seed notebook's training settings: Adam at Keras' defaults, batch 100,
#: 20 epochs, no L2 penalty, and no early stop (every epoch runs).
SEED_SETTINGS = {
    "solver": "adam",
    "learning_rate_init": 1e-3,
    "batch_size": 100,
    "max_iter": 20,
    "alpha": 0.0,
    "tol": 0.0,
}


def make_pipeline(pixel_max: float = 255.0, **mlp_params) -> Pipeline:
    """Build the experiment's pipeline: ``PixelScaler`` then ``MLPClassifier``.

    Parameters
    ----------
    pixel_max : float, default=255.0
        Largest pixel value of the data (255 for MNIST, 16 for digits).
    **mlp_params
        MLPClassifier parameters, over :data:`SEED_SETTINGS`.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps ``"scale"`` and ``"mlp"``; it takes raw pixels.
    """
    from ._classifier import MLPClassifier

    params = SEED_SETTINGS | mlp_params
    # run every epoch: more epochs without improvement than epochs in all
    params.setdefault("n_iter_no_change", params["max_iter"] + 1)
    return Pipeline([("scale", PixelScaler(pixel_max)), ("mlp", MLPClassifier(**params))])


# ------------------------------------------------------------------ config
@dataclass
class ExperimentConfig:
    """Settings of one experiment run; everything that changes its numbers.

    Parameters
    ----------
    dataset : {"digits", "mnist", "fashion-mnist"}
        The data.
    architectures : sequence of str
        Names from :data:`skmlp.architectures.SEED_ARCHITECTURES`.
    cv : int
        Number of stratified folds.
    epochs : int
        Epochs of every fit.
    batch_size : int
        Minibatch size.
    learning_rate_init : float
        Adam's learning rate.
    validation_fraction : float
        Part of the training set held out, in the final refits only, to draw
        validation loss curves; 0 disables the curves.
    random_state : int
        Seed of the folds and of every network.
    n_train, n_test : int or None
        Use a stratified subsample of this many training / test rows (for quick
        runs); ``None`` uses all.
    """

    dataset: str = "digits"
    architectures: Sequence[str] = field(
        default_factory=lambda: [a.name for a in SEED_ARCHITECTURES]
    )
    cv: int = 3
    epochs: int = 20
    batch_size: int = 100
    learning_rate_init: float = 1e-3
    validation_fraction: float = 0.1
    random_state: int = 0
    n_train: int | None = None
    n_test: int | None = None

    def validate(self) -> None:
        """Raise ``ValueError`` on a bad setting, before any work starts."""
        from .datasets import _LOADERS

        if self.dataset not in _LOADERS:
            raise ValueError(
                f"unknown dataset {self.dataset!r}; choose one of {', '.join(sorted(_LOADERS))}"
            )
        if not self.architectures:
            raise ValueError("no architectures to run")
        for name in self.architectures:
            get_architecture(name)
        if len(set(self.architectures)) != len(self.architectures):
            raise ValueError("architectures are listed twice")
        for name, low in (("cv", 2), ("epochs", 1), ("batch_size", 1)):
            if int(getattr(self, name)) < low:
                raise ValueError(f"{name} must be >= {low}, got {getattr(self, name)}")
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(
                f"validation_fraction must be in [0, 1), got {self.validation_fraction}"
            )
        for name in ("n_train", "n_test"):
            value = getattr(self, name)
            if value is not None and value < 20:
                raise ValueError(f"{name} must be >= 20 (or None for all), got {value}")

    def key(self) -> str:
        """A short hash of the settings: runs with equal keys compute the same thing."""
        blob = json.dumps(asdict(self), sort_keys=True, default=list)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @property
    def archs(self) -> list[Architecture]:
        """The architectures, as objects."""
        return [get_architecture(n) for n in self.architectures]


@dataclass
class ExperimentResult:
    """What :func:`run_experiment` returns.

    Attributes
    ----------
    results : pandas.DataFrame
        One row per architecture (the content of ``results.csv``).
    cv_results : pandas.DataFrame
        ``GridSearchCV.cv_results_`` as a DataFrame.
    best_architecture : str
        Name of the architecture with the best CV accuracy.
    histories : dict of str to dict
        Per-architecture training histories of the refits.
    out : pathlib.Path
        The output folder.
    record : dict
        The run record (``run.json``).
    best_model : sklearn.pipeline.Pipeline
        The best architecture's pipeline, refitted on the whole training set
        (loaded from ``best_model.skmlp`` on first access after a finished run,
        after its SHA-256 is checked against the run record; never unpickled).
    """

    results: pd.DataFrame
    cv_results: pd.DataFrame
    best_architecture: str
    histories: dict
    out: Path
    record: dict
    _best_model: Pipeline | None = field(default=None, repr=False)

    @property
    def best_model(self) -> Pipeline:
        if self._best_model is None:
            from ._persistence import load

            path = self.out / "best_model.skmlp"
            expected = self.record.get("artefacts", {}).get(path.name)
            if expected is None:
                raise ValueError(
                    f"{self.out / 'run.json'} records no SHA-256 for {path} (an older skmlp "
                    "wrote it): delete run.json and run again to verify the model"
                )
            if _sha256_file(path) != expected:
                raise ValueError(
                    f"{path} does not match the SHA-256 in {self.out / 'run.json'}: it was "
                    "changed after the run; refusing to use it"
                )
            self._best_model = load(path)
        return self._best_model


# --------------------------------------------------- resumable CV fitting
def _fingerprint(*arrays) -> str:
    digest = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        digest.update(str((a.shape, a.dtype.str)).encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def _params_key(estimator) -> str:
    params = {k: repr(v) for k, v in sorted(estimator.get_params(deep=True).items())}
    params = {k: v for k, v in params.items() if "object at 0x" not in v}
    return json.dumps(params, sort_keys=True)


def _fit_key(estimator, *arrays) -> str:
    """Identify a fit: the Keras backend, the estimator's parameters and the exact data.

    The backend is part of the key because the backends' random streams differ:
    a run resumed under another backend re-runs its folds rather than mixing.
    """
    import keras

    blob = keras.backend.backend() + _params_key(estimator) + _fingerprint(*arrays)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


class _ResumableFit(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Fit ``estimator``, unless a fit of the same parameters on the same data is stored.

    With :func:`_resumable_scorer` it lets ``GridSearchCV`` skip every fold whose
    scores are already on disk; the scorer stores a fold's record the moment it
    is scored.
    """

    def __init__(self, estimator, store=None, progress=None):
        self.estimator = estimator
        self.store = store
        self.progress = progress

    def fit(self, X, y):
        key = _fit_key(self.estimator, X, y)
        self.key_ = key
        path = Path(self.store) / f"{key}.json"
        self.record_ = _read_json(path) if path.is_file() else None
        if self.record_ is None:
            self.started_ = time.time()
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                self.estimator_ = clone(self.estimator).fit(X, y)
            self.fit_time_ = time.perf_counter() - start
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(X)

    def predict(self, X):
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict(X)


def _resumable_scorer(estimator: _ResumableFit, X, y) -> dict:
    """Score a fold, or replay its stored scores; store new ones at once."""
    if estimator.record_ is not None:
        return estimator.record_["scores"]
    inner = estimator.estimator_
    proba = inner.predict_proba(X)
    classes = inner.classes_
    scores = {
        "accuracy": float(accuracy_score(y, classes[proba.argmax(axis=1)])),
        "neg_log_loss": float(-log_loss(y, proba, labels=classes)),
    }
    mlp = inner[-1] if isinstance(inner, Pipeline) else inner
    record = {
        "key": estimator.key_,
        "params": {k: repr(v) for k, v in mlp.get_params().items()},
        "scores": scores,
        "fit_time": estimator.fit_time_,
        "started": estimator.started_,
        "n_iter": int(mlp.n_iter_),
        "history": mlp.history_,
        "n_test": len(y),
        "n_params": int(mlp.n_params_),
    }
    atomic_write_json(Path(estimator.store) / f"{estimator.key_}.json", record)
    if estimator.progress:
        _report_progress(estimator.store, estimator.progress)
    return scores


def _estimate_left(
    done: list[tuple[float, float]], remaining: list[float], flops_per_param: float | None = None
) -> float | None:
    """Seconds the ``remaining`` fits will take (see :func:`skmlp._progress.estimate_left`)."""
    from ._progress import estimate_left

    return estimate_left(done, remaining, flops_per_param)


# Progress bars of this process, by run; not in the ``progress`` dict, which is
# copied into the fits (and into joblib's workers, which print plain lines).
_BARS: dict = {}


def _report_progress(store, progress: dict) -> None:
    """Show fits done, time elapsed and an estimate of the time left."""
    from ._progress import ProgressBar

    records = [json.loads(p.read_text()) for p in Path(store).glob("*.json")]
    new = [r for r in records if r["key"] not in progress["cached_keys"]]
    remaining = list(progress["fit_params"])
    for r in records:
        if r.get("n_params") in remaining:
            remaining.remove(r["n_params"])
    elapsed = time.time() - progress["started"]
    left = _estimate_left(
        [(r["n_params"], r["fit_time"]) for r in new], remaining, progress.get("flops_per_param")
    )
    busy = sum(r["fit_time"] for r in new)
    if left is not None and busy > 0:
        # parallel fits, scoring and overheads, measured since the first new fit
        # began (not from the start, which includes loading and compiling ahead)
        since = min((r["started"] for r in new if "started" in r), default=progress["started"])
        left *= (time.time() - since) / busy
    bar = _BARS.get(progress.get("bar")) or ProgressBar(progress["total"], "CV fits", plain=True)
    bar.update(len(records), elapsed, left, " for the CV")


def make_search(
    pipeline: Pipeline,
    architectures: Sequence[Architecture] = SEED_ARCHITECTURES,
    *,
    cv: int = 3,
    random_state: int = 0,
    n_jobs: int | None = None,
    store: str | Path | None = None,
    progress: dict | None = None,
) -> GridSearchCV:
    """The experiment's grid search over architectures.

    Parameters
    ----------
    pipeline : Pipeline
        From :func:`make_pipeline`; its last step must be named ``"mlp"``.
    architectures : sequence of Architecture, default=SEED_ARCHITECTURES
        The candidates.
    cv : int, default=3
        Number of stratified, shuffled folds.
    random_state : int, default=0
        Seed of the fold shuffling.
    n_jobs : int or None, default=None
        Parallel fits, as in GridSearchCV.
    store : str, path or None, default=None
        With a folder, every fold's scores are stored there as it ends and found
        again on the next run (the search is resumable). ``None`` gives a plain
        ``GridSearchCV`` over the pipeline, scored on accuracy and log-loss.
    progress : dict or None, default=None
        Internal: progress reporting of :func:`run_experiment`.

    Returns
    -------
    GridSearchCV
        Unfitted; ``refit=False`` (each architecture is refitted separately).
    """
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=random_state)
    if store is None:
        return GridSearchCV(
            pipeline,
            param_grid(architectures, prefix="mlp__"),
            cv=folds,
            scoring={"accuracy": "accuracy", "neg_log_loss": "neg_log_loss"},
            refit=False,
            n_jobs=n_jobs,
            error_score="raise",
        )
    Path(store).mkdir(parents=True, exist_ok=True)
    return GridSearchCV(
        _ResumableFit(pipeline, store=str(store), progress=progress),
        param_grid(architectures, prefix="estimator__mlp__"),
        cv=folds,
        scoring=_resumable_scorer,
        refit=False,
        n_jobs=n_jobs,
        error_score="raise",
    )


# ----------------------------------------------------------------- the run
def _subsample(X, y, n, seed):
    if n is None or n >= len(y):
        return X, y
    from sklearn.model_selection import train_test_split

    X_sub, _, y_sub, _ = train_test_split(X, y, train_size=n, stratify=y, random_state=seed)
    return X_sub, y_sub


def _versions() -> dict:
    import keras

    from ._persistence import library_versions

    out = library_versions() | {"pandas": pd.__version__, "python": platform.python_version()}
    try:
        from importlib.metadata import version

        out["scikeras"] = version("scikeras")
        out[keras.backend.backend()] = version(
            {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[keras.backend.backend()]
        )
    except Exception:  # a missing distribution only thins the record
        pass
    return out


def default_output_dir(dataset: str) -> Path:
    """The output folder used when none is given: ``skmlp_results/<dataset>``.

    One folder per dataset, so that runs on different datasets never collide.

    Parameters
    ----------
    dataset : str
        The dataset's name.

    Returns
    -------
    pathlib.Path
        A path relative to the current folder.
    """
    return Path("skmlp_results") / dataset


def _read_json(path: Path):
    """Read a JSON record; a broken one is an error that names the file."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(
            f"{path}: not valid JSON ({exc}); the file is damaged: delete it (or the whole "
            "folder) to recompute what it held"
        ) from None


def _sha256_file(path: Path) -> str | None:
    if not Path(path).is_file():
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(2**20):
            digest.update(chunk)
    return digest.hexdigest()


def _check_against_data(config: ExperimentConfig, y) -> None:
    """Settings that depend on the data, checked before any fit."""
    counts = np.unique(y, return_counts=True)[1]
    n, k, smallest = len(y), len(counts), int(counts.min())
    if smallest < config.cv:
        raise ValueError(
            f"cv={config.cv} stratified folds need {config.cv} training rows of every class; "
            f"the smallest class has {smallest}"
        )
    vf = config.validation_fraction
    if vf > 0:
        n_val = math.ceil(vf * n)
        if n_val < k or n - n_val < k or smallest < 2:
            raise ValueError(
                f"validation_fraction={vf} holds out {n_val} of the {n} training rows and "
                f"leaves {n - n_val} to train on; each part needs one row of each of the {k} "
                f"classes: choose a value from {k / n:.3g} to {(n - k) / n:.3g}, or 0"
            )


class _OutputLock:
    """One run per output folder: an exclusive lock on ``.skmlp-run.lock`` naming its holder.

    On POSIX the lock is ``flock``: the kernel releases it when its holder exits,
    even when killed, so a lock file still naming a holder when the lock is free
    was left by a killed run. Elsewhere the holder's pid is checked.
    """

    NAME = ".skmlp-run.lock"

    def __init__(self, out: Path, command: str | None, log):
        self.path, self.command, self.log, self.fd = Path(out) / self.NAME, command, log, None

    def _holder(self, fd) -> dict:
        os.lseek(fd, 0, os.SEEK_SET)
        raw = os.read(fd, 65536)
        try:
            holder = json.loads(raw) if raw.strip() else {}
        except ValueError:
            holder = {"pid": "?", "host": "?"}
        return holder if isinstance(holder, dict) else {}

    def _busy(self, holder: dict) -> OSError:
        return OSError(
            f"{self.path.parent} is in use by another skmlp run (pid {holder.get('pid', '?')} "
            f"on {holder.get('host', '?')}, started {holder.get('started', '?')}); wait for it "
            f"to finish or choose another --out (lock: {self.path})"
        )

    def __enter__(self):
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise self._busy(self._holder(fd)) from None
            holder = self._holder(fd)
            if holder:
                pid, here = holder.get("pid"), holder.get("host") == socket.gethostname()
                if fcntl is None and (not here or (isinstance(pid, int) and pid_alive(pid))):
                    raise self._busy(holder)
                self.log(
                    f"{self.path.parent}: taking over the lock of a run that is no longer "
                    f"running (pid {pid} on {holder.get('host')})"
                )
            me = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                "command": self.command or " ".join(sys.argv),
            }
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, json.dumps(me).encode())
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        return self

    def __exit__(self, *exc):
        os.ftruncate(self.fd, 0)  # released cleanly: an empty lock file names no one
        os.close(self.fd)  # and closing releases the flock


def check_output_dir(out: str | Path) -> Path:
    """Create ``out`` if needed and check it is writable; raise ``OSError`` if not.

    Parameters
    ----------
    out : str or path
        The output folder.

    Returns
    -------
    pathlib.Path
        The folder.
    """
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / ".write-test", "ok")
        (out / ".write-test").unlink()
    except OSError as exc:
        raise OSError(f"output folder {out} is not writable: {exc.strerror or exc}") from None
    return out


def _architecture_row(arch: Architecture, cv_row, refit: dict) -> dict:
    return {
        "architecture": arch.name,
        "hidden_layer_sizes": "-".join(map(str, arch.hidden_layer_sizes)),
        "batch_norm": arch.batch_norm,
        "dropout": arch.dropout,
        "n_params": refit["n_params"],
        "cv_accuracy_mean": float(cv_row["mean_test_accuracy"]),
        "cv_accuracy_std": float(cv_row["std_test_accuracy"]),
        "cv_log_loss_mean": float(-cv_row["mean_test_neg_log_loss"]),
        "train_loss": refit["train_loss"],
        "train_accuracy": refit["train_accuracy"],
        "test_loss": refit["test_loss"],
        "test_accuracy": refit["test_accuracy"],
        "cv_fit_time_s": float(cv_row["fit_time_recorded"]),
        "refit_time_s": refit["fit_time"],
        "epochs_run": refit["n_iter"],
        "seed_test_accuracy": arch.seed_test_accuracy,
    }


def _markdown_table(results: pd.DataFrame, dataset: str) -> str:
    head = (
        "| model | hidden layers | BN + dropout | params | CV accuracy (%) | CV log-loss "
        "| train loss | train acc (%) | test loss | test acc (%) | seed test acc (%) |"
    )
    lines = [f"# skmlp results: {dataset}", "", head, "|" + " --- |" * 11]
    for r in results.itertuples():
        bn = f"yes, {r.dropout:g}" if r.batch_norm else "no"
        seed = f"{r.seed_test_accuracy:.2f}" if dataset == "mnist" else "-"
        best = " **(best by CV)**" if r.best else ""
        lines.append(
            f"| {r.architecture}{best} | {r.hidden_layer_sizes} | {bn} | {r.n_params:,} "
            f"| {100 * r.cv_accuracy_mean:.2f} ± {100 * r.cv_accuracy_std:.2f} "
            f"| {r.cv_log_loss_mean:.4f} | {r.train_loss:.4f} | {100 * r.train_accuracy:.2f} "
            f"| {r.test_loss:.4f} | {100 * r.test_accuracy:.2f} | {seed} |"
        )
    lines += [
        "",
        "Chosen by mean CV accuracy on the training set; each test figure was computed once.",
    ]
    return "\n".join(lines) + "\n"


def _refit(arch, pipeline, data, out: Path, log) -> tuple[dict, Pipeline]:
    """Refit one architecture on the whole training set, or load the stored refit."""
    record_path = out / "refits" / f"{arch.name}.json"
    model_path = out / "models" / f"{arch.name}.skmlp"
    X_train, y_train, X_test, y_test = data
    key = _fit_key(pipeline, X_train, y_train, X_test, y_test)
    if record_path.is_file() and model_path.is_file():
        record = _read_json(record_path)
        if record.get("key") == key:
            # the safe format, and exactly the file the record vouches for
            if record.get("model_sha256") == _sha256_file(model_path):
                from ._persistence import load

                log(f"  refit {arch.name}: reusing the stored model")
                return record, load(model_path)
            log(f"  refit {arch.name}: {model_path} does not match its record; refitting")
    mlp_params = pipeline[-1].get_params()
    held = mlp_params["validation_fraction"] if mlp_params["monitor_validation"] else 0
    note = f" ({held:.0%} of them held out for the validation curve)" if held else ""
    log(f"  refit {arch.name} on {len(y_train)} training rows{note} ...")
    model = clone(pipeline)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    fit_time = time.perf_counter() - start
    mlp = model[-1]

    def metrics(X, y):
        proba = model.predict_proba(X)
        pred = mlp.classes_[proba.argmax(axis=1)]
        return float(log_loss(y, proba, labels=mlp.classes_)), float(accuracy_score(y, pred))

    train_loss, train_acc = metrics(X_train, y_train)
    test_loss, test_acc = metrics(X_test, y_test)
    record = {
        "key": key,
        "architecture": arch.name,
        "fit_time": fit_time,
        "n_iter": int(mlp.n_iter_),
        "n_params": int(mlp.n_params_),
        "train_loss": train_loss,
        "train_accuracy": train_acc,
        "test_loss": test_loss,
        "test_accuracy": test_acc,
        "history": mlp.history_,
    }
    # the model first, then the record that vouches for it
    from ._persistence import save

    save(model, model_path)
    record["model_sha256"] = _sha256_file(model_path)
    atomic_write_json(record_path, record)
    log(
        f"  refit {arch.name}: {fit_time:.1f}s, test accuracy {100 * test_acc:.2f}% "
        "(reported, not used for selection)"
    )
    return record, model


def run_experiment(
    config: ExperimentConfig | None = None,
    *,
    data_dir=None,
    out: str | Path | None = None,
    n_jobs: int | None = 1,
    plots: bool = True,
    verbose: bool = True,
    command: str | None = None,
) -> ExperimentResult:
    """Run the cross-validated architecture comparison and write its artefacts.

    Parameters
    ----------
    config : ExperimentConfig or None, default=None
        What to run; ``None`` is the seed's six architectures on digits.
    data_dir : str, path or None, default=None
        Folder of the IDX files (see :mod:`skmlp.datasets`).
    out : str, path or None, default=None
        Output folder; created if needed. ``None`` is
        :func:`default_output_dir` of the dataset (``skmlp_results/<dataset>``). A
        run with other settings already in it is refused, so that results are never
        mixed, and so is a second run while one is using it.
    n_jobs : int or None, default=1
        Parallel CV fits.
    plots : bool, default=True
        Draw the PNG plots (needs matplotlib).
    verbose : bool, default=True
        Print progress.
    command : str or None, default=None
        Command line to record in ``run.json``.

    Returns
    -------
    ExperimentResult
        Tables, the best model and where everything was written.
    """
    config = config or ExperimentConfig()
    config.validate()
    if n_jobs is not None and (not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0):
        raise ValueError(f"n_jobs must be a non-zero integer or None, got {n_jobs!r}")
    out = check_output_dir(default_output_dir(config.dataset) if out is None else out)
    log = print if verbose else (lambda *a, **k: None)
    with _OutputLock(out, command, log):
        return _run_locked(config, out, log, data_dir, n_jobs, plots, verbose, command)


def _run_locked(config, out, log, data_dir, n_jobs, plots, verbose, command) -> ExperimentResult:
    """The run, with the output folder locked."""
    run_path = out / "run.json"
    previous = _read_json(run_path) if run_path.is_file() else None
    if previous and previous.get("config_key") != config.key():
        raise ValueError(
            f"{out} holds a run with other settings ({previous.get('config')}); "
            "choose another --out folder or delete it"
        )
    if previous and previous.get("complete") and (out / "best_model.skmlp").is_file():
        log(f"{out}: this run is complete; loading its results (delete run.json to redo it)")
        return _load_result(out, previous)

    for tmp in remove_stale_temporaries(out / d for d in ("", "fits", "refits", "models", "plots")):
        log(f"removed {tmp}, left by a run that was killed")
    started = time.time()
    data = load_dataset(config.dataset, data_dir)
    X_train, y_train = _subsample(data.X_train, data.y_train, config.n_train, config.random_state)
    X_test, y_test = _subsample(data.X_test, data.y_test, config.n_test, config.random_state)
    _check_against_data(config, y_train)  # every setting checked before the first fit
    import keras

    log(
        f"{config.dataset}: {len(y_train)} training and {len(y_test)} test rows, "
        f"{X_train.shape[1]} features; {len(config.architectures)} architectures x "
        f"{config.cv} folds, {config.epochs} epochs; Keras backend "
        f"{keras.backend.backend()}"
    )
    pipeline = make_pipeline(
        data.pixel_max,
        max_iter=config.epochs,
        batch_size=config.batch_size,
        learning_rate_init=config.learning_rate_init,
        random_state=config.random_state,
    )
    record = {
        "config": asdict(config),
        "config_key": config.key(),
        "dataset": {
            "name": config.dataset,
            "sha256": data.sha256,
            "files": data.files,
            "n_train": len(y_train),
            "n_test": len(y_test),
            "n_features": int(X_train.shape[1]),
        },
        "keras_backend": keras.backend.backend(),
        "versions": _versions(),
        "machine": {"platform": platform.platform(), "processor": platform.processor()},
        "seeds": {"folds": config.random_state, "networks": config.random_state},
        "command": command or " ".join(sys.argv),
        "n_jobs": n_jobs,
        "complete": False,
    }
    atomic_write_json(run_path, record)

    # 1. cross-validation on the training set only
    store = out / "fits"
    store.mkdir(exist_ok=True)
    total = len(config.architectures) * config.cv
    cached = [_read_json(p) for p in store.glob("*.json")]
    if cached:
        log(f"resuming: {len(cached)} of {total} CV fits already done")
    n_features, n_classes = X_train.shape[1], len(np.unique(y_train))
    costs = {a.name: a.n_params(n_features, n_classes) for a in config.archs}
    progress = {
        "total": total,
        "fit_params": [costs[a.name] for a in config.archs for _ in range(config.cv)],
        "cached_keys": {r["key"] for r in cached},
        "started": time.time(),
        # arithmetic of a fit per network parameter: forward and backward passes
        "flops_per_param": 6.0 * len(y_train) * (1 - 1 / config.cv) * config.epochs,
        "bar": str(out.resolve()),
    }
    if verbose:
        from ._progress import ProgressBar

        _BARS[progress["bar"]] = ProgressBar(total, "CV fits")
    search = make_search(
        pipeline,
        config.archs,
        cv=config.cv,
        random_state=config.random_state,
        n_jobs=n_jobs,
        store=store,
        progress=progress if verbose else None,
    )
    cv_start = time.time()
    if n_jobs == 1 and len(cached) < total:
        _compile_ahead(pipeline, config, X_train, y_train)
    try:
        search.fit(X_train, y_train)
    finally:
        if progress["bar"] in _BARS:
            _BARS.pop(progress["bar"]).close()
    cv_time = time.time() - cv_start
    cv_results = pd.DataFrame(search.cv_results_)
    cv_results.insert(0, "architecture", list(config.architectures))
    cv_results["fit_time_recorded"] = _recorded_fit_times(search, store, X_train, y_train)

    # 2. refit each architecture on all training data, score once on the test set
    rows, histories, models, refit_times = [], {}, {}, []
    refit_start = time.time()
    for i, arch in enumerate(config.archs):
        arch_pipe = _refit_pipeline(pipeline, arch, config)
        refit, model = _refit(arch, arch_pipe, (X_train, y_train, X_test, y_test), out, log)
        rows.append(_architecture_row(arch, cv_results.iloc[i], refit))
        histories[arch.name] = refit["history"]
        models[arch.name] = model
        refit_times.append((costs[arch.name], refit["fit_time"]))
        left = _estimate_left(refit_times, [costs[a.name] for a in config.archs[i + 1 :]],
                              6.0 * len(y_train) * config.epochs)  # fmt: skip
        if i + 1 < len(config.archs):
            from ._progress import format_seconds

            elapsed = time.time() - refit_start
            log(f"  refits: {i + 1}/{len(config.archs)} done, "
                f"{elapsed:.0f}s elapsed, {format_seconds(left)} left")  # fmt: skip

    results = pd.DataFrame(rows)
    results["rank_cv"] = results["cv_accuracy_mean"].rank(ascending=False, method="min").astype(int)
    best_idx = int(
        results.sort_values(
            ["cv_accuracy_mean", "cv_log_loss_mean"], ascending=[False, True]
        ).index[0]
    )
    results["best"] = results.index == best_idx
    best_name = results.loc[best_idx, "architecture"]
    best_model = models[best_name]

    # 3. artefacts, each written atomically
    from ._persistence import save

    save(best_model, out / "best_model.skmlp")  # safe to share and to load
    atomic_write(out / "best_model.joblib", lambda tmp: joblib.dump(best_model, tmp))
    atomic_write_text(out / "results.csv", results.to_csv(index=False))
    atomic_write_text(out / "results.md", _markdown_table(results, config.dataset))
    atomic_write_text(out / "cv_results.csv", cv_results.to_csv(index=False))
    if plots:
        _draw_plots(out, results, histories, models)
    record.update(
        complete=True,
        best_architecture=best_name,
        artefacts={
            name: _sha256_file(out / name) for name in ("best_model.skmlp", "best_model.joblib")
        },
        timings={
            "cv_s": round(cv_time, 2),
            "refit_s": round(time.time() - refit_start, 2),
            "total_s": round(time.time() - started, 2),
        },
    )
    atomic_write_json(run_path, record)
    log(f"best by CV accuracy: {best_name}; artefacts in {out}")
    return ExperimentResult(results, cv_results, best_name, histories, out, record, best_model)


def _refit_pipeline(pipeline: Pipeline, arch: Architecture, config) -> Pipeline:
    """The pipeline that refits ``arch`` on the whole training set."""
    return clone(pipeline).set_params(
        **{f"mlp__{k}": v for k, v in arch.params.items()},
        mlp__monitor_validation=config.validation_fraction > 0,
        mlp__validation_fraction=config.validation_fraction or 0.1,
    )


def _compile_ahead(pipeline: Pipeline, config, X, y) -> None:
    """Queue what the CV fits and the refits will compile, in the order they run.

    On JAX the compiles then run on a background thread while the first
    architectures train, instead of each at the start of its first fit. A refit
    pipeline differs from its CV pipeline only by its validation split, which
    is not part of the network's structure: its programs (training, validation,
    prediction) are the CV fits' and the refit's together.
    """
    # the preprocessing steps take no architecture parameter: transform once
    Xt = clone(pipeline[:-1]).fit_transform(X, y) if len(pipeline) > 1 else X
    for arch in config.archs:
        _refit_pipeline(pipeline, arch, config)[-1]._compile_ahead(Xt, y)


def _recorded_fit_times(search, store: Path, X, y) -> list[float]:
    """Mean original fit time per candidate (replayed folds report ~0 in cv_results_)."""
    times = []
    folds = list(search.cv.split(X, y))
    for params in search.cv_results_["params"]:
        est = clone(search.estimator).set_params(**params)
        per_fold = []
        for train, _ in folds:
            key = _fit_key(est.estimator, X[train], y[train])
            rec = _read_json(store / f"{key}.json")
            per_fold.append(rec["fit_time"])
        times.append(float(np.mean(per_fold)))
    return times


def _draw_plots(out: Path, results, histories, models) -> None:
    from . import plotting

    plots = out / "plots"
    plots.mkdir(exist_ok=True)
    fig = plotting.plot_loss_curves(histories)
    atomic_write(plots / "loss_curves.png", lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    fig = plotting.plot_cv_scores(results)
    atomic_write(plots / "cv_accuracy.png", lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    for name, model in models.items():
        fig = plotting.plot_weight_distributions(model, title=f"Trained weights: {name}")
        atomic_write(
            plots / f"weights_{name}.png", lambda tmp, f=fig: f.savefig(tmp, format="png", dpi=110)
        )


def _load_result(out: Path, record: dict) -> ExperimentResult:
    results = pd.read_csv(out / "results.csv")
    cv_results = pd.read_csv(out / "cv_results.csv")
    histories = {}
    for name in results["architecture"]:
        path = out / "refits" / f"{name}.json"
        histories[name] = _read_json(path).get("history", {}) if path.is_file() else {}
    return ExperimentResult(
        results, cv_results, record["best_architecture"], histories, out, record
    )


def format_results(results: pd.DataFrame) -> str:
    """Format the results table for a terminal.

    Parameters
    ----------
    results : pandas.DataFrame
        ``ExperimentResult.results``.

    Returns
    -------
    str
        A fixed-width table, best architecture marked with ``*``.
    """
    view = pd.DataFrame(
        {
            "": np.where(results["best"], "*", ""),
            "architecture": results["architecture"],
            "widths": results["hidden_layer_sizes"],
            "BN+DO": [
                f"{d:g}" if b else "-"
                for b, d in zip(results["batch_norm"], results["dropout"], strict=True)
            ],
            "params": results["n_params"],
            "CV acc %": (100 * results["cv_accuracy_mean"]).round(2),
            "± std": (100 * results["cv_accuracy_std"]).round(2),
            "CV logloss": results["cv_log_loss_mean"].round(4),
            "train acc %": (100 * results["train_accuracy"]).round(2),
            "test loss": results["test_loss"].round(4),
            "test acc %": (100 * results["test_accuracy"]).round(2),
            "fit s": results["refit_time_s"].round(1),
        }
    )
    return view.to_string(index=False)
