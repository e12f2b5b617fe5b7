"""The run: the search, the refits, the reports and the artefacts of one experiment.

:func:`run_experiment` (see :mod:`skmlp.experiment` for what it writes) locks the
output folder and runs the experiment in it; :func:`make_pipeline` builds the
pipeline every candidate shares.
"""

from __future__ import annotations

import math
import platform
import shutil
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple

import joblib
import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from .._io import remove_stale_temporaries
from .._preprocessing import PixelScaler
from ._bounds import check_network_memory
from ._files import (
    OutputLock,
    check_output_dir,
    default_output_dir,
    read_json,
    sha256_file,
    versions,
    write_json,
    write_text,
    write_with,
    writing,
)
from ._refit_backup import backup_folder, fit_resumably, remove_backup
from .cluster import describe_places, fit_on_dask, fits_by_place
from .config import SEED_SETTINGS, ConfigError, ExperimentConfig
from .data import load_data
from .records import RecordError, check_results_folder, fit_records, run_record_problem
from .reports import (
    ExperimentResult,
    candidate_row,
    csv_table,
    draw_plots,
    load_result,
    markdown_table,
)
from .search import (
    build_search,
    cv_candidate_names,
    fit_key,
    planned_fits,
    progress_bar,
    rank_candidates,
    report_progress,
    splitter,
)
from .tracking import open_tracking


def make_pipeline(
    pixel_max: float | None = 255.0,
    scaler: str = "pixels",
    task: str = "classification",
    tabular: dict | None = None,
    **mlp_params,
) -> Pipeline:
    """Build the experiment's pipeline: a scaler, then ``MLPClassifier`` (or ``MLPRegressor``).

    Parameters
    ----------
    pixel_max : float or None, default=255.0
        Largest pixel value of the data (255 for MNIST, 16 for digits), for
        ``scaler="pixels"``.
    scaler : {"pixels", "standard", "minmax", "none", "tabular"}, default="pixels"
        The first step: :class:`~skmlp.PixelScaler`, scikit-learn's
        ``StandardScaler`` or ``MinMaxScaler``, none, or
        :class:`~skmlp.TabularEncoder` (a table's text and blanks).
    task : {"classification", "regression"}, default="classification"
        ``MLPClassifier`` or ``MLPRegressor``.
    tabular : dict or None, default=None
        The :class:`~skmlp.TabularEncoder`'s settings (``scaler="tabular"``).
    **mlp_params
        The estimator's parameters, over :data:`SEED_SETTINGS`.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps ``"scale"`` (unless ``scaler="none"``) and ``"mlp"``; it takes raw
        features.
    """
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    from .._tabular import TabularEncoder
    from .config import _mlp_class

    params = SEED_SETTINGS | mlp_params
    # run every epoch: more epochs without improvement than epochs in all
    params.setdefault("n_iter_no_change", params["max_iter"] + 1)
    steps = {
        "pixels": lambda: PixelScaler(pixel_max),
        "standard": StandardScaler,
        "minmax": MinMaxScaler,
        "none": None,
        "tabular": lambda: TabularEncoder(**(tabular or {})),
    }
    if scaler not in steps:
        raise ValueError(f"scaler must be one of {', '.join(steps)}, got {scaler!r}")
    first = [("scale", steps[scaler]())] if steps[scaler] else []
    return Pipeline([*first, ("mlp", _mlp_class(task)(**params))])


# ----------------------------------------------------------------- the run
@dataclass(frozen=True)
class RunContext:
    """What every step of a run reads: the settings, the output folder and how to run.

    Attributes
    ----------
    config : ExperimentConfig
        What runs.
    out : pathlib.Path
        The output folder, locked by this run.
    log : callable
        Prints a progress line (or nothing, when the run is quiet).
    data_dir, n_jobs, plots, verbose, command, storage
        As given to :func:`run_experiment`.
    notes : list of str
        What the run read back from the folder instead of computing it; every
        report repeats these (:attr:`ExperimentResult.unverified`).
    info : dict
        What the data decided: ``task`` (classification or regression).
    """

    config: ExperimentConfig
    out: Path
    log: Callable[..., None]
    data_dir: str | Path | None = None
    n_jobs: int | None = 1
    plots: bool = True
    verbose: bool = True
    command: str | None = None
    storage: str | None = None
    notes: list = field(default_factory=list)
    info: dict = field(default_factory=dict)


class Sets(NamedTuple):
    """The run's training and test sets, subsampled and checked."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


@dataclass
class Ranked:
    """What the search found: every candidate ranked by CV, and the search's own table."""

    ranking: pd.DataFrame  # best first; ``_params`` holds each candidate's settings
    cv_results: pd.DataFrame
    seconds: float  # the search's wall time

    @property
    def public(self) -> pd.DataFrame:
        """The ranking as written to ``ranking.csv`` (without ``_params``)."""
        return self.ranking.drop(columns="_params")


@dataclass
class Refits:
    """The refitted candidates: the results table, their histories and models."""

    results: pd.DataFrame
    histories: dict
    models: dict
    started: float  # when the first refit began (``time.time()``)
    best: str | None = None  # the best by CV, once chosen


def run_experiment(
    config: ExperimentConfig | None = None,
    *,
    data_dir=None,
    out: str | Path | None = None,
    n_jobs: int | None = 1,
    plots: bool = True,
    verbose: bool = True,
    command: str | None = None,
    storage: str | None = None,
) -> ExperimentResult:
    """Run the cross-validated search and write its artefacts.

    Parameters
    ----------
    config : ExperimentConfig or None, default=None
        What to run (:func:`load_config` reads one from a search file); ``None``
        is :data:`SEED_CONFIG`, the seed's six architectures on digits.
    data_dir : str, path or None, default=None
        Folder of the IDX files (see :mod:`skmlp.datasets`).
    out : str, path or None, default=None
        Output folder; created if needed. ``None`` is
        :func:`default_output_dir` of the run's name or dataset
        (``skmlp_results/<name>``). A run with other settings already in it is
        refused, so that results are never mixed, and so is a second run while
        one is using it.
    n_jobs : int or None, default=1
        Parallel CV fits (``-1`` on a Dask cluster: every worker).
    plots : bool, default=True
        Draw the PNG plots (needs matplotlib).
    verbose : bool, default=True
        Print progress.
    command : str or None, default=None
        Command line to record in ``run.json``.
    storage : str or None, default=None
        An SQLAlchemy URL of the database of an Optuna search's study
        (``search="optuna"``); ``None``: ``OUT/optuna.db``.

    Returns
    -------
    ExperimentResult
        Tables, the best model and where everything was written.

    Raises
    ------
    skmlp.experiment.optuna_search.StudyReportedElsewhere
        In an Optuna search, when another process ranks, refits and reports
        the study this process worked on.
    """
    config = config or ExperimentConfig()
    config.validate()
    if storage is not None:  # refused before anything runs; not contacted here
        from ._bounds import BoundError
        from ._optuna_settings import check_run_storage

        try:
            check_run_storage(config, storage)
        except BoundError as exc:
            raise ConfigError(str(exc)) from None
    if n_jobs is not None and (not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0):
        raise ValueError(f"n_jobs must be a non-zero integer or None, got {n_jobs!r}")
    out = check_output_dir(default_output_dir(config.label) if out is None else out)
    log = print if verbose else (lambda *a, **k: None)
    ctx = RunContext(config, out, log, data_dir, n_jobs, plots, verbose, command, storage)
    with OutputLock(out, command, log):
        return _run_locked(ctx)


def _run_locked(ctx: RunContext) -> ExperimentResult:
    """The run, with the output folder locked: its steps, in order."""
    finished = _open_folder(ctx)
    with open_tracking(ctx) as tracking:  # MLflow, TensorBoard (skmlp.experiment.tracking)
        if finished is not None:
            tracking.end(finished)  # unless logged already
            return finished
        started = time.time()
        data, sets = _load_and_check(ctx)
        pipeline = _build_pipeline(ctx, data)
        record = _start_record(ctx, data, sets)
        tracking.begin(record)  # a resumed run continues its tracking run
        search, cv_seconds, places = _search(ctx, pipeline, sets)  # on the training set only
        ranked = _rank(ctx, search, pipeline, cv_seconds)
        record["cv_fits_ran_on"] = places
        refits = _refit_top(ctx, pipeline, ranked, sets)  # each scored once on the test set
        _choose_best(refits)  # by CV, never by the test set
        _save(ctx, refits, ranked, sets)
        result = _report(ctx, record, refits, ranked, started)
        tracking.end(result)
        return result


# ------------------------------------------------- step 0: the output folder
def _open_folder(ctx: RunContext) -> ExperimentResult | None:
    """A finished run's result; else ``None``, once what a killed run left is cleared.

    A folder holding a run of other settings is refused.
    """
    out, config, log = ctx.out, ctx.config, ctx.log
    check_results_folder(out)  # no links, no floods of files: before anything is read
    run_path = out / "run.json"
    previous = read_json(run_path) if run_path.is_file() else None
    if previous is not None and run_record_problem(previous):
        raise RecordError(f"{run_path}: {run_record_problem(previous)}; not skmlp's record")
    if previous and previous.get("config_key") != config.key():
        raise ValueError(
            f"{out} holds a run with other settings ({previous.get('config')}); "
            "choose another --out folder or delete it"
        )
    if previous and previous.get("complete") and (out / "best_model.skmlp").is_file():
        log(f"{out}: this run is complete; loading its results (delete run.json to redo it)")
        from .verify import verify_finished

        result = load_result(out, previous)
        verify_finished(out, result, _load_and_check(ctx)[1])  # before anything is shown
        return result
    for tmp in remove_stale_temporaries(out / d for d in ("", "fits", "refits", "models", "plots")):
        log(f"removed {tmp}, left by a run that was killed")
    return None


# -------------------------------------------------- step 1: the data, checked
def _load_and_check(ctx: RunContext):
    """The training and test sets, every setting checked against them before a fit."""
    from .._tabular import TabularError
    from .tabular import class_balance, fit_encoder
    from .tasks import check_scoring

    config = ctx.config
    data = load_data(config, ctx.data_dir, ctx.out, log=ctx.log)
    task = ctx.info["task"] = data.get("task", "classification")
    ctx.log(data.get("task_note") or f"task: {task}")
    problem = config.scoring and check_scoring(config.scoring, task)
    if problem:  # a scorer of the other task, now that the task is known
        raise ConfigError(f"{problem} (inferred from the target; set [estimator] task)")
    strata = task == "classification"
    X_train, y_train = _subsample(data.X_train, data.y_train, config.n_train,
                                  config.random_state, strata)  # fmt: skip
    X_test, y_test = _subsample(data.X_test, data.y_test, config.n_test, config.random_state,
                                strata)  # fmt: skip
    _check_against_data(config, y_train, task)
    n_features = X_train.shape[1]
    if isinstance(X_train, pd.DataFrame):  # the encoder's width, before any network fits
        try:
            n_features = fit_encoder(config, X_train, config.dataset, ctx.log).n_features_out_
        except TabularError as exc:
            raise ConfigError(str(exc)) from None
    # the networks' exact size, now that the features and classes are known
    n_outputs = len(np.unique(y_train)) if strata else 1
    check_network_memory(config, n_features, n_outputs, ctx.n_jobs)
    if strata:
        ctx.log(class_balance(y_train))
        unseen = set(np.unique(y_test)) - set(np.unique(y_train))
        if unseen:
            raise ValueError(f"the test set has classes the training set lacks: {sorted(unseen)}")
    return data, Sets(X_train, y_train, X_test, y_test)


def _subsample(X, y, n, seed, stratify=True):
    if n is None or n >= len(y):
        return X, y
    from sklearn.model_selection import train_test_split

    X_sub, _, y_sub, _ = train_test_split(
        X, y, train_size=n, stratify=y if stratify else None, random_state=seed
    )
    return X_sub, y_sub


def _check_against_data(config: ExperimentConfig, y, task: str = "classification") -> None:
    """Settings that depend on the data, checked before any fit."""
    if task == "regression":
        n = len(y)
        if config.validation_size is None and n < 2 * config.cv:
            raise ValueError(f"cv={config.cv} folds need {2 * config.cv} training rows; got {n}")
        if np.unique(y).size < 2:
            raise ValueError(f"the target is the same number in all {n} training rows")
        return
    counts = np.unique(y, return_counts=True)[1]
    n, k, smallest = len(y), len(counts), int(counts.min())
    if k < 2:
        raise ValueError(f"the training set has one class only ({len(y)} rows)")
    if config.validation_size is None and smallest < config.cv:
        raise ValueError(
            f"cv={config.cv} stratified folds need {config.cv} training rows of every class; "
            f"the smallest class has {smallest}"
        )
    vs, vf = config.validation_size, config.validation_fraction
    if vs is not None:  # the search's validation split
        _check_holdout(
            "validation_size", vs, vs if isinstance(vs, int) else math.ceil(vs * n), counts
        )
    if vf > 0:  # the refit's validation curve
        _check_holdout("validation_fraction", vf, math.ceil(vf * n), counts)


def _check_holdout(name: str, value, n_val: int, counts) -> None:
    """Both parts of a stratified hold-out of ``n_val`` rows need every class (``counts``)."""
    n, k = int(counts.sum()), len(counts)
    if n_val < k or n - n_val < k or counts.min() < 2:
        raise ValueError(
            f"{name}={value} holds out {n_val} of the {n} training rows and leaves "
            f"{n - n_val} to train on; each part needs one row of each of the {k} classes "
            f"(and every class two rows): choose a value from {k / n:.3g} to "
            f"{(n - k) / n:.3g}" + (", or 0" if name == "validation_fraction" else "")
        )


# ------------------------------------------------------ step 2: the pipeline
def _build_pipeline(ctx: RunContext, data) -> Pipeline:
    """The pipeline every candidate shares: the config's scaler and fixed settings."""
    config = ctx.config
    scaler = config.preprocessing
    if isinstance(data.X_train, pd.DataFrame):
        scaler = "tabular"
    elif scaler == "auto":
        scaler = "pixels" if data.pixel_max else "standard"
    if scaler == "pixels" and not data.pixel_max:
        raise ConfigError(f"preprocessing 'pixels' needs image data; {config.dataset} is not")
    return make_pipeline(
        data.pixel_max,
        scaler,
        ctx.info.get("task", "classification"),
        config.tabular,
        **{
            "max_iter": config.epochs,
            "batch_size": config.batch_size,
            "learning_rate_init": config.learning_rate_init,
            "random_state": config.random_state,
            **config.estimator,
        },
    )


# ------------------------------------------------------- step 3: the record
def _start_record(ctx: RunContext, data, sets: Sets) -> dict:
    """Say what runs, and record it in ``run.json`` (not yet complete)."""
    import keras

    config, (X_train, y_train, _, y_test) = ctx.config, sets
    validation = (
        f"{config.cv} folds"
        if config.validation_size is None
        else f"a validation split of {config.validation_size}"
    )
    ctx.log(
        f"{config.dataset}: {len(y_train)} training and {len(y_test)} test rows, "
        f"{X_train.shape[1]} feature columns; {config.search} search, {validation}, "
        f"{config.epochs} epochs; Keras backend {keras.backend.backend()}"
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
        "versions": versions(),
        "machine": {"platform": platform.platform(), "processor": platform.processor()},
        "seeds": {"folds": config.random_state, "networks": config.random_state},
        "task": ctx.info.get("task", "classification"),
        "command": ctx.command or " ".join(sys.argv),
        "n_jobs": ctx.n_jobs,
        "complete": False,
    }
    write_json(ctx.out / "run.json", record)
    return record


# ------------------------------------------------------- step 4: the search
def _search(ctx: RunContext, pipeline: Pipeline, sets: Sets):
    """Run the config's search, resumable from ``out/fits``.

    Returns the search, its seconds and how many of its new fits ran where
    (:func:`.cluster.fits_by_place`).
    """
    config, X, y = ctx.config, sets.X_train, sets.y_train
    if config.search == "optuna":  # a study in a database (optuna_search.py)
        from .optuna_search import run_study

        return run_study(ctx, pipeline, sets, ctx.storage)
    store = ctx.out / "fits"
    store.mkdir(exist_ok=True)
    sizes = planned_fits(config, len(y))
    cached = fit_records(store, ctx.log)  # damaged ones set aside, to be fitted again
    if cached:
        ctx.log(f"resuming: {len(cached)} of {len(sizes)} CV fits already done")
        ctx.notes.append(
            f"{len(cached)} of the {len(sizes)} CV fits were read back from {store}, stored by "
            "an earlier run: their scores are as recorded there, not recomputed"
        )
    progress = _progress(ctx, sizes, cached, X, y)
    n_jobs = -1 if config.dask_scheduler else ctx.n_jobs  # -1: every worker of the cluster
    with progress_bar(progress["bar"], len(sizes), show=ctx.verbose):
        search = build_search(config, pipeline, store, n_jobs, progress if ctx.verbose else None,
                              task=ctx.info["task"])  # fmt: skip
        cv_start = time.time()
        if config.dask_scheduler:
            places = fit_on_dask(
                search, config.dask_scheduler, X, y, ctx.log, report=report_progress
            )
            ctx.log(f"CV fits of this run: {describe_places(places)}")
        else:
            if n_jobs == 1 and len(cached) < len(sizes) and config.space is None:
                _compile_ahead(pipeline, config, X, y)
            search.fit(X, y)
            places = fits_by_place(store, progress["cached_keys"])
    return search, time.time() - cv_start, places


def _progress(ctx: RunContext, sizes: list, cached: list, X, y) -> dict:
    """What the fits need to report progress: the plan, its costs, what is already done."""
    config = ctx.config
    task = ctx.info.get("task", "classification")
    n_features = X.shape[1]
    n_classes = len(np.unique(y)) if task == "classification" else 1
    if config.space is None:  # the seed's architectures, each for every fold
        n_splits = len(sizes) // len(config.archs)
        costs = [a.n_params(n_features, n_classes) for a in config.archs for _ in range(n_splits)]
    else:
        costs = [_network_cost(config, n_features, n_classes) * s for s in sizes]
    split = next(splitter(config, task).split(X, y))[0]
    return {
        "total": len(sizes),
        "fit_params": costs,
        # a halving search's rounds, each fit's share of a full fit
        "fractions": sizes if config.search.startswith("halving") else None,
        "epochs": config.epochs,
        "rows": len(split),
        "cached_keys": {r["key"] for r in cached},
        "started": time.time(),
        # arithmetic of a fit per network parameter: forward and backward passes
        "flops_per_param": 6.0 * len(split) * config.epochs,
        "bar": str(ctx.out.resolve()),
    }


# ------------------------------------------------------ step 5: the ranking
def _rank(ctx: RunContext, search, pipeline: Pipeline, seconds: float) -> Ranked:
    """Every candidate's CV scores at the last round it reached, best first."""
    cv_results = pd.DataFrame(search.cv_results_)
    ranking = rank_candidates(search, pipeline, ctx.out / "fits", ctx.config, ctx.info["task"])
    cv_results.insert(0, "candidate", cv_candidate_names(search, ranking, ctx.config))
    return Ranked(ranking, cv_results, seconds)


# ------------------------------------------------------- step 6: the refits
def _refit_top(ctx: RunContext, pipeline: Pipeline, ranked: Ranked, sets: Sets) -> Refits:
    """Refit the ``report_top`` best on all training data; score each once on the test set."""
    from .._progress import estimate_left, format_seconds

    config = ctx.config
    top = ranked.ranking.head(config.report_top)
    rows, histories, models, refit_times = [], {}, {}, []
    refits = Refits(pd.DataFrame(), histories, models, started=time.time())
    sizes = [int(r) for r in top["n_params"]]
    for i, candidate in enumerate(top.to_dict("records")):
        name = candidate["candidate"]
        cand_pipe = _refit_pipeline(pipeline, candidate["_params"], config)
        refit, model = _refit(ctx, name, cand_pipe, sets)
        rows.append(candidate_row(candidate, cand_pipe[-1].get_params(), refit))
        histories[name] = refit["history"]
        models[name] = model
        refit_times.append((sizes[i], refit["fit_time"]))
        if i + 1 < len(top):
            flops = 6.0 * len(sets.y_train) * config.epochs
            left = estimate_left(refit_times, sizes[i + 1 :], flops)
            ctx.log(
                f"  refits: {i + 1}/{len(top)} done, "
                f"{time.time() - refits.started:.0f}s elapsed, {format_seconds(left)} left"
            )
    refits.results = pd.DataFrame(rows)
    return refits


def _refit(ctx: RunContext, name: str, pipeline: Pipeline, sets: Sets) -> tuple[dict, Pipeline]:
    """Refit one candidate on the whole training set, or load the stored refit."""
    out, log = ctx.out, ctx.log
    record_path = out / "refits" / f"{name}.json"
    model_path = out / "models" / f"{name}.skmlp"
    X_train, y_train, X_test, y_test = sets
    key = fit_key(pipeline, X_train, y_train, X_test, y_test)
    if record_path.is_file() and model_path.is_file():
        from .verify import reusable_refit

        reused = reusable_refit(record_path, model_path, key, sets, log)
        if reused is not None:  # its scores recomputed from the model
            log(f"  refit {name}: reusing the stored model")
            return reused
    mlp_params = pipeline[-1].get_params()
    held = mlp_params["validation_fraction"] if mlp_params["monitor_validation"] else 0
    note = f" ({held:.0%} of them held out for the validation curve)" if held else ""
    log(f"  refit {name} on {len(y_train)} training rows{note} ...")
    start = time.perf_counter()
    backup = backup_folder(out, name)  # checkpoints: a killed run resumes this refit
    model = fit_resumably(clone(pipeline), X_train, y_train, backup, key, log)
    fit_time = time.perf_counter() - start
    mlp = model[-1]
    from .verify import model_metrics

    record = {
        "key": key,
        "architecture": name,
        "fit_time": fit_time,
        "n_iter": int(mlp.n_iter_),
        "n_params": int(mlp.n_params_),
        **model_metrics(model, sets),
        "history": mlp.history_,
    }
    # the model first, then the record that vouches for it
    from .._persistence import save

    with writing(model_path):
        save(model, model_path)
    record["model_sha256"] = sha256_file(model_path)
    write_json(record_path, record)
    remove_backup(backup)
    score = (f"test R² {record['test_r2']:.4f}" if "test_r2" in record
             else f"test accuracy {100 * record['test_accuracy']:.2f}%")  # fmt: skip
    log(f"  refit {name}: {fit_time:.1f}s, {score} (reported, not used for selection)")
    return record, model


# ------------------------------------------------ step 7: the best, by CV
def _choose_best(refits: Refits) -> None:
    """Mark the best by cross-validated accuracy (never by test score)."""
    results = refits.results
    results["best"] = results["rank_cv"] == results["rank_cv"].min()
    refits.best = results.loc[results["best"], "architecture"].iloc[0]


# ---------------------------------------------------- step 8: the artefacts
def _save(ctx: RunContext, refits: Refits, ranked: Ranked, sets: Sets) -> None:
    """The best model, the tables and the plots, each written atomically."""
    out, results, best_model = ctx.out, refits.results, refits.models[refits.best]
    # safe to share and to load: the very bytes of the refit whose scores are reported
    checked = out / "models" / f"{refits.best}.skmlp"
    write_with(out / "best_model.skmlp", lambda tmp: shutil.copyfile(checked, tmp))
    write_with(out / "best_model.joblib", lambda tmp: joblib.dump(best_model, tmp))
    write_text(out / "results.csv", csv_table(results))
    public = ranked.public
    write_text(out / "ranking.csv", csv_table(public))
    write_text(out / "results.md", markdown_table(results, public, ctx.config.dataset, ctx.notes))
    write_text(out / "cv_results.csv", csv_table(ranked.cv_results))
    if ctx.plots:
        draw_plots(
            out, results, public, refits.histories, refits.models,
            validation_split=ctx.config.validation_size is not None, sets=sets,
        )  # fmt: skip


# ------------------------------------------------------- step 9: the report
def _report(
    ctx: RunContext, record: dict, refits: Refits, ranked: Ranked, started: float
) -> ExperimentResult:
    """Complete ``run.json`` (checksums, timings), say where it all is, return the result."""
    out = ctx.out
    record.update(
        complete=True,
        best_architecture=refits.best,
        artefacts={
            name: sha256_file(out / name) for name in ("best_model.skmlp", "best_model.joblib")
        },
        timings={
            "cv_s": round(ranked.seconds, 2),
            "refit_s": round(time.time() - refits.started, 2),
            "total_s": round(time.time() - started, 2),
        },
        unverified=list(ctx.notes),
    )
    write_json(out / "run.json", record)
    ctx.log(f"best by CV {_rank_name(ctx)}: {refits.best}; artefacts in {out}")
    return ExperimentResult(
        refits.results,
        ranked.cv_results,
        refits.best,
        refits.histories,
        out,
        record,
        refits.models[refits.best],
        ranking=ranked.public,
        unverified=list(ctx.notes),
    )


def _rank_name(ctx: RunContext) -> str:
    """What the candidates were ranked by, in words."""
    task = ctx.info.get("task", "classification")
    return ctx.config.scoring or ("R²" if task == "regression" else "accuracy")


# ---------------------------------------------------- the search's helpers
def _network_cost(config, n_features: int, n_classes: int) -> float:
    """A typical candidate's parameter count (the mean over a sample of the space)."""
    from sklearn.model_selection import ParameterSampler

    from .._model import mlp_param_count

    counts = []
    with warnings.catch_warnings():  # a small grid: fewer than 20 to sample
        warnings.simplefilter("ignore", UserWarning)
        sample = list(ParameterSampler(config.param_space(), n_iter=20, random_state=0))
    for params in sample:
        widths = params.get("mlp__hidden_layer_sizes", (100,))
        widths = (widths,) if isinstance(widths, int) else widths
        counts.append(mlp_param_count(n_features, widths, n_classes))
    return float(np.mean(counts))


def _refit_pipeline(pipeline: Pipeline, params: dict, config) -> Pipeline:
    """The pipeline that refits a candidate on the whole training set."""
    return clone(pipeline).set_params(
        **{f"mlp__{k}": v for k, v in params.items()},
        mlp__monitor_validation=config.validation_fraction > 0,
        mlp__validation_fraction=config.validation_fraction or 0.1,
    )


def _compile_ahead(pipeline: Pipeline, config, X, y) -> None:
    """Queue what the CV fits and the refits will compile, in the order they run.

    On JAX the compiles then run on a background thread while the first
    architectures train, instead of each at the start of its first fit. A refit
    pipeline differs from its CV pipeline only by its validation split, which
    is not part of the network's structure: its programs (training, validation,
    prediction) are the CV fits' and the refit's together. (Only for the seed's
    architectures: a larger search's candidates are not all refitted.)
    """
    # the preprocessing steps take no architecture parameter: transform once
    Xt = clone(pipeline[:-1]).fit_transform(X, y) if len(pipeline) > 1 else X
    for arch in config.archs:
        _refit_pipeline(pipeline, arch.params, config)[-1]._compile_ahead(Xt, y)
