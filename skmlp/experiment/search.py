"""The search: resumable fits, every kind of search, and the candidates it ranked.

Every fit of a search goes through :class:`_ResumableFit`: a fit whose parameters
and exact training rows were already scored is not run again, its stored record
is replayed. :func:`build_search` makes the config's search (grid, random, or
successive halving over epochs or rows, scikit-learn's own classes) over that
wrapper; :func:`rank_candidates` reads back, from the stored records, each
candidate's cross-validated scores at the last round it reached and ranks them.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
import warnings
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    ParameterGrid,
    RandomizedSearchCV,
    ShuffleSplit,
    StratifiedKFold,
    StratifiedShuffleSplit,
)
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from .._progress import ProgressBar, estimate_left
from ..architectures import SEED_ARCHITECTURES, Architecture, param_grid
from ._files import sha256_arrays, write_json
from .records import RecordError, fit_records, load_fit_record
from .tasks import cv_columns, fold_scores, rank_metric, score_name

__all__ = ["build_search", "make_search", "rank_candidates"]

_PREFIX = "estimator__mlp__"


# --------------------------------------------------- resumable CV fitting
def _params_record(estimator) -> dict:
    mlp = estimator[-1] if isinstance(estimator, Pipeline) else estimator
    return {k: repr(v) for k, v in mlp.get_params().items()}


def _params_key(estimator) -> str:
    params = {k: repr(v) for k, v in sorted(estimator.get_params(deep=True).items())}
    params = {k: v for k, v in params.items() if "object at 0x" not in v}
    return json.dumps(params, sort_keys=True)


def fit_key(estimator, *arrays) -> str:
    """Identify a fit: the Keras backend, the estimator's parameters and the exact data.

    The backend is part of the key because the backends' random streams differ:
    a run resumed under another backend re-runs its folds rather than mixing.
    """
    import keras

    blob = keras.backend.backend() + _params_key(estimator) + sha256_arrays(*arrays)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


class _ResumableFit(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Fit ``estimator``, unless a fit of the same parameters on the same data is stored.

    With :func:`_resumable_scorer` it lets a search skip every fold whose scores
    are already known; the scorer keeps a fold's record the moment it is scored.

    ``done`` maps the keys of the fits the client already holds to their scores:
    a fit in it is replayed wherever it runs. In the client's machine the store
    is read as well; on a Dask worker it is not (the worker may be another
    machine, with another disk): there a new record goes back to the client
    through the Dask queue named ``channel`` (see :mod:`.cluster`), and only
    the client writes the store.
    """

    def __init__(self, estimator, store=None, progress=None, done=None, channel=None,
                 task="classification", scoring=None):  # fmt: skip
        self.estimator = estimator
        self.store = store
        self.progress = progress
        self.done = done
        self.channel = channel
        self.task = task
        self.scoring = scoring

    def fit(self, X, y):
        key = fit_key(self.estimator, X, y)
        self.key_ = key
        self.n_train_ = len(y)
        scores = (self.done or {}).get(key)
        if scores is not None:
            self.record_ = {"key": key, "scores": scores}
        elif dask_worker() is None:
            # a damaged record is no record: the fit runs again (records.py)
            self.record_ = load_fit_record(Path(self.store) / f"{key}.json", key)
        else:
            from .cluster import check_still_wanted

            check_still_wanted(dask_worker())  # its client may be gone: no orphan fit
            self.record_ = None
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


def dask_worker():
    """The Dask worker running this code, or ``None`` (not in a Dask task)."""
    if "distributed" not in sys.modules:  # never imported: no worker here
        return None
    from distributed import get_worker

    try:
        return get_worker()
    except ValueError:
        return None


def _resumable_scorer(estimator: _ResumableFit, X, y) -> dict:
    """Score a fold, or replay its stored scores; keep new ones at once.

    In the client's machine the record is written to the store; on a Dask
    worker it is sent back to the client (:func:`.cluster.send_record`), with
    the worker's address, and the worker writes nothing.
    """
    if estimator.record_ is not None:
        return estimator.record_["scores"]
    inner = estimator.estimator_
    scores = fold_scores(estimator.task, inner, X, y, estimator.scoring)
    mlp = inner[-1] if isinstance(inner, Pipeline) else inner
    worker = dask_worker()
    record = {
        "key": estimator.key_,
        "params": _params_record(inner),
        "scores": scores,
        "fit_time": estimator.fit_time_,
        "started": estimator.started_,
        "n_iter": int(mlp.n_iter_),
        "history": mlp.history_,
        "n_train": int(estimator.n_train_),
        "n_test": len(y),
        "n_params": int(mlp.n_params_),
        # where the fit ran, as that process knows it
        "ran_on": worker.address if worker is not None else "client",
    }
    if worker is not None:
        from .cluster import send_record

        send_record(estimator.channel, record)
    else:
        write_json(Path(estimator.store) / f"{estimator.key_}.json", record)
    # scored: a second call (train scores, should a search ask) replays these
    estimator.record_ = record
    if estimator.progress and worker is None:
        report_progress(estimator.store, estimator.progress)
    return scores


def _rank_scorer(estimator: _ResumableFit, X, y) -> float:
    """The halving searches take one score: ``scoring``'s, else accuracy or R² (the
    other scores are stored too)."""
    return _resumable_scorer(estimator, X, y)[score_name(estimator.task, estimator.scoring)]


# ---------------------------------------------------------------- progress
# Progress bars of this process, by run; not in the ``progress`` dict, which is
# copied into the fits (and into joblib's workers, which print plain lines).
_BARS: dict = {}


@contextmanager
def progress_bar(key: str, total: int, show: bool = True):
    """Show the run ``key``'s bar of ``total`` CV fits while the block runs (if ``show``).

    The fits of this process update it (see :func:`report_progress`); it is closed
    when the block ends, however it ends.
    """
    if not show:
        yield
        return
    _BARS[key] = ProgressBar(total, "CV fits")
    try:
        yield
    finally:
        _BARS.pop(key).close()


def report_progress(store, progress: dict) -> None:
    """Show fits done, time elapsed and an estimate of the time left."""
    records = fit_records(store)
    new = [r for r in records if r["key"] not in progress["cached_keys"]]
    remaining = _remaining_costs(records, progress)
    elapsed = time.time() - progress["started"]
    left = estimate_left(
        [(_work(r, progress), r["fit_time"]) for r in new],
        remaining,
        progress.get("flops_per_param"),
    )
    busy = sum(r["fit_time"] for r in new)
    if left is not None and busy > 0:
        # parallel fits, scoring and overheads, measured since the first new fit
        # began (not from the start, which includes loading and compiling ahead)
        since = min((r["started"] for r in new if "started" in r), default=progress["started"])
        left *= (time.time() - since) / busy
    bar = _BARS.get(progress.get("bar")) or ProgressBar(progress["total"], "CV fits", plain=True)
    bar.update(min(len(records), progress["total"]), elapsed, left, " for the CV")


def _remaining_costs(records: list[dict], progress: dict) -> list[float]:
    """The sizes of the planned fits still to run (they run in order).

    A halving search's later rounds train its survivors only: once a round past
    the first has begun, its networks, not the space's typical one, price the
    rest (``progress["fractions"]``: each planned fit's share of a full fit).
    """
    remaining = list(progress["fit_params"])[len(records) :]
    fractions = progress.get("fractions")
    if not fractions or not records or not remaining:
        return remaining
    levels = [_work(r, progress) / r["n_params"] for r in records]
    top = max(levels)
    if top < 1.5 * min(levels):  # still in the first round
        return remaining
    latest = [r["n_params"] for r, lv in zip(records, levels, strict=True) if lv > top / 1.2]
    return [f * float(np.mean(latest)) for f in fractions[len(records) :]]


def _work(record: dict, progress: dict) -> float:
    """A fit's size in full-fit parameters: its network, scaled by its epochs and rows."""
    epochs = record.get("n_iter", progress["epochs"]) / progress["epochs"]
    rows = record.get("n_train", progress["rows"]) / progress["rows"]
    return record["n_params"] * epochs * rows


# ---------------------------------------------------------------- searches
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
    """The seed experiment's grid search over architectures.

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
    return _StoredGridSearchCV(
        _ResumableFit(pipeline, store=str(Path(store).resolve()), progress=progress),
        param_grid(architectures, prefix=_PREFIX),
        cv=folds,
        scoring=_resumable_scorer,
        refit=False,
        n_jobs=n_jobs,
        error_score="raise",
    )


class _StoredGridSearchCV(GridSearchCV):
    """``GridSearchCV`` over :class:`_ResumableFit` whose records come back from Dask workers.

    Under ``joblib.parallel_config(backend="dask")`` the fits run on the
    cluster's workers; their records reach the store through the client
    (:func:`.cluster.records_from_workers`), which tells the workers the fits it
    already holds. Under any other backend it is a plain ``GridSearchCV``.
    """

    def fit(self, X, y=None, **params):
        """Run the search (see ``GridSearchCV.fit``), keeping every fold's record."""
        from .cluster import records_from_workers

        with records_from_workers(self, report=report_progress):
            return super().fit(X, y, **params)


def splitter(config, task: str = "classification"):
    """The config's validation scheme: folds, or one split; stratified for classes."""
    classes = task == "classification"
    if config.validation_size is not None:
        return (StratifiedShuffleSplit if classes else ShuffleSplit)(
            n_splits=1, test_size=config.validation_size, random_state=config.random_state
        )
    return (StratifiedKFold if classes else KFold)(
        n_splits=config.cv, shuffle=True, random_state=config.random_state
    )


def _space(config) -> list[dict]:
    return [{_PREFIX + k[len("mlp__") :]: v for k, v in d.items()} for d in config.param_space()]


def _resource(config) -> str:
    return _PREFIX + "max_iter" if config.resource == "epochs" else "n_samples"


def build_search(config, pipeline: Pipeline, store: Path, n_jobs, progress=None,
                 task: str = "classification"):  # fmt: skip
    """The config's search over ``pipeline``, each fit resumable from ``store``.

    Parameters
    ----------
    config : ExperimentConfig
        The search, its space, its validation scheme and seed.
    pipeline : Pipeline
        The pipeline with the fixed settings; its last step is ``"mlp"``.
    store : path
        Folder of the fits' records.
    n_jobs : int or None
        Parallel fits.
    progress : dict or None, default=None
        Progress reporting (see :func:`report_progress`).
    task : {"classification", "regression"}, default="classification"
        What the folds are scored on (:mod:`.tasks`).

    Returns
    -------
    BaseSearchCV
        Unfitted, ``refit=False``: a ``GridSearchCV``, ``RandomizedSearchCV``,
        ``HalvingGridSearchCV`` or ``HalvingRandomSearchCV``.
    """
    Path(store).mkdir(parents=True, exist_ok=True)
    # absolute: a Dask worker may run in another folder
    wrapper = _ResumableFit(pipeline, store=str(Path(store).resolve()), progress=progress,
                            task=task, scoring=config.scoring)  # fmt: skip
    # no train scores: the halving searches ask for them by default
    common = dict(
        cv=splitter(config, task),
        refit=False,
        n_jobs=n_jobs,
        error_score="raise",
        return_train_score=False,
    )
    space = _space(config)
    if config.search == "grid":
        return GridSearchCV(wrapper, space, scoring=_resumable_scorer, **common)
    if config.search == "random":
        return RandomizedSearchCV(
            wrapper,
            space,
            n_iter=config.n_iter,
            scoring=_resumable_scorer,
            random_state=config.random_state,
            **common,
        )
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingGridSearchCV, HalvingRandomSearchCV

    halving = dict(
        resource=_resource(config),
        factor=config.factor,
        min_resources=config.min_resources or "exhaust",
        random_state=config.random_state,
        scoring=_rank_scorer,
        **common,
    )
    if config.resource == "epochs":
        halving["max_resources"] = config.epochs
    if config.search == "halving-grid":
        return HalvingGridSearchCV(wrapper, space, **halving)
    return HalvingRandomSearchCV(wrapper, space, n_candidates=config.n_iter, **halving)


def planned_fits(config, n_rows: int) -> list[float]:
    """The planned fits' sizes (fraction of a full fit each), for progress estimates."""
    n_splits = 1 if config.validation_size is not None else config.cv
    if config.search == "grid":
        return [1.0] * (len(ParameterGrid(config.param_space())) * n_splits)
    if config.search in ("random", "optuna"):  # a study: its n_trials, pruned or not
        return [1.0] * ((config.n_iter if config.search == "random" else config.n_trials or 1)
                        * n_splits)  # fmt: skip
    if config.search == "halving-grid":
        n_candidates = len(ParameterGrid(config.param_space()))
    else:
        n_candidates = config.n_iter
    # scikit-learn's schedule (aggressive_elimination=False)
    max_r = config.epochs if config.resource == "epochs" else n_rows
    rounds = 1 + math.floor(math.log(n_candidates, config.factor))
    min_r = config.min_resources or max(1, int(max_r // config.factor ** (rounds - 1)))
    rounds = min(rounds, 1 + math.floor(math.log(max(max_r // min_r, 1), config.factor)))
    sizes = []
    for i in range(rounds):
        n = math.ceil(n_candidates / config.factor**i)
        sizes += [min(int(config.factor**i * min_r), max_r) / max_r] * (n * n_splits)
    return sizes


# ------------------------------------------------------------ the ranking
def candidate_id(searched: dict) -> str:
    """A candidate's identity: its searched settings (without the halving resource)."""
    return json.dumps({k: repr(v) for k, v in sorted(searched.items())})


def _halving_resource(config) -> str | None:
    """The halving search's resource parameter (``None`` for other searches)."""
    return _resource(config) if config.search.startswith("halving") else None


def _searched(params: dict, resource: str | None) -> dict:
    """A ``cv_results_`` row's searched settings, without the search's resource."""
    return {k[len(_PREFIX) :]: v for k, v in params.items() if k != resource}


def cv_candidate_names(search, ranking: pd.DataFrame, config) -> list[str]:
    """The candidate name of each row of ``search.cv_results_``."""
    resource = _halving_resource(config)
    by_id = {
        candidate_id(p): n for p, n in zip(ranking["_params"], ranking["candidate"], strict=True)
    }
    return [by_id[candidate_id(_searched(p, resource))] for p in search.cv_results_["params"]]


def rank_candidates(search, pipeline: Pipeline, store: Path, config,
                    task: str = "classification") -> pd.DataFrame:  # fmt: skip
    """Each candidate's CV scores at the last round it reached, best first.

    The scores come from the fits' stored records (a replayed fold reports no
    time in ``cv_results_``, and the halving searches keep one score there).

    Returns
    -------
    pandas.DataFrame
        One row per candidate: ``candidate`` (a name), ``params`` (its
        searched settings), ``round``, ``resource`` (epochs or training rows of
        its last round), the mean and std of each fold score
        (:func:`.tasks.cv_columns`: ``cv_accuracy_mean``, ``cv_log_loss_mean``, or
        ``cv_r2_mean``, ``cv_mae_mean``, ``cv_rmse_mean``, and ``[search] scoring``'s),
        ``cv_fit_time_s``, ``n_params``, ``rank_cv``; sorted by the last round
        reached, then ``scoring`` (else accuracy or R²).
    """
    cv = search.cv_results_
    resource = _halving_resource(config)
    records: dict[str, list] = {}
    for record in fit_records(store):
        records.setdefault(json.dumps(record["params"], sort_keys=True), []).append(record)
    n_splits = search.n_splits_
    last: dict[str, tuple] = {}
    order: list[str] = []
    for i, params in enumerate(cv["params"]):
        searched = _searched(params, resource)
        cid = candidate_id(searched)
        if cid not in last:
            order.append(cid)
        itr = int(cv["iter"][i]) if "iter" in cv else 0
        if cid not in last or itr >= last[cid][0]:
            last[cid] = (itr, i, searched, params)
    names = _names(config, [last[c][2] for c in order])
    rows, missing = [], {}
    for cid, name in zip(order, names, strict=True):
        itr, i, searched, params = last[cid]
        model = clone(search.estimator).set_params(**params).estimator
        folds = records.get(json.dumps(_params_record(model), sort_keys=True), [])
        folds = sorted(folds, key=lambda r: -r.get("n_train", 0))[:n_splits]
        if len(folds) < n_splits:
            missing[name] = f"{len(folds)} of {n_splits} folds"
        rows.append(
            {
                "candidate": name,
                "params": _describe(searched),
                "round": itr,
                "resource": int(cv["n_resources"][i]) if "n_resources" in cv else None,
                **cv_columns([r["scores"] for r in folds]),
                "cv_fit_time_s": float(np.mean([r["fit_time"] for r in folds])) if folds else 0.0,
                "n_params": int(folds[0]["n_params"]) if folds else 0,
                "_params": searched,
            }
        )
    column, higher = rank_metric(task, config.scoring)
    for row in rows:
        if not math.isfinite(row.get(column, math.nan)):
            missing.setdefault(row["candidate"], f"{column} is not a number")
    if missing:
        named = ", ".join(f"{name} ({why})" for name, why in missing.items())
        raise RecordError(
            f"{store}: no cross-validated scores for {len(missing)} of the {len(rows)} "
            f"candidates: {named}; their fits' records did not reach the store, so no "
            "candidate is chosen (run the same command again to fit what is missing)"
        )
    table = pd.DataFrame(rows)
    ties = (
        ["cv_log_loss_mean"] if "cv_log_loss_mean" in table and column != "cv_log_loss_mean" else []
    )
    table = table.sort_values(
        ["round", column, *ties],
        ascending=[False, not higher, *[True] * len(ties)],
        kind="stable",
    ).reset_index(drop=True)
    table["rank_cv"] = np.arange(1, len(table) + 1)
    return table


def _describe(params: dict) -> str:
    parts = []
    for k, v in sorted(params.items()):
        if isinstance(v, float):
            v = f"{v:.4g}"
        elif isinstance(v, tuple | list):
            v = "-".join(map(str, v))
        parts.append(f"{k}={v}")
    return ", ".join(parts)


def _names(config, candidates: list[dict]) -> list[str]:
    """Names of the candidates: the architecture's when that is all that varies."""
    by_params = {
        (tuple(a.hidden_layer_sizes), bool(a.batch_norm), float(a.dropout)): a.name
        for a in SEED_ARCHITECTURES
    }
    arch_only = config.space is None or set(config.space) == {"architecture"}
    names = []
    for i, params in enumerate(candidates, start=1):
        arch = by_params.get(
            (
                tuple(params.get("hidden_layer_sizes", ())),
                bool(params.get("batch_norm")),
                float(params.get("dropout", 0.0)),
            )
        )
        names.append(arch if arch_only and arch else f"c{i:02d}")
    return names
