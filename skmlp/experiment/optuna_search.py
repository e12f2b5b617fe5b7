"""The Optuna search: ``[search] kind = "optuna"``, a study in a database.

A trial draws one candidate from the config's space (lists are categorical
choices, ``{distribution, low, high}`` tables are ``suggest_float`` or
``suggest_int``, ``architecture`` names built-in architectures) and fits it on
the search's validation split or folds, the same rows every other search ranks
by. After each epoch a Keras callback scores the fold's held-out rows (through
the pipeline's fitted preprocessing) with the search's scorer and reports it to
the trial; a pruned trial's fit stops there.

**Folds and pruning steps.** The folds of a trial run in turn, and the
intermediate value at step ``fold * epochs + epoch`` is that fold's validation
score after that epoch, so every pruning decision compares trials on the same
fold at the same epoch. A trial's value is its mean score over the folds, in
scikit-learn's sign (higher is better): the study maximises it.

**Storage.** The study lives in an SQLAlchemy database: ``OUT/optuna.db``
(SQLite) by default, or a URL given on the command line (``skmlp run
--storage``), never in a config file. It is named ``<run name>-<config key>``:
runs of one config share it. Complete trials are never fitted again; a trial
left running by a killed process of this output folder is marked failed and its
parameters run again first; one left by a process elsewhere is failed by
Optuna's heartbeat after :data:`GRACE_S` seconds and retried. Several processes
share one study: each joins it with a number (claimed in the table
``skmlp_claims``, kept by its output folder) and samples with ``random_state``
plus that number, so that the first samples as a single process would and the
others draw other trials; ``n_trials`` counts its complete and pruned trials
over all of them, and the process that finds the study finished claims the
ranking, refits and report in the same table (one row per study, inserted
once); the others say which process has it and stop
(:class:`StudyReportedElsewhere`).
"""

from __future__ import annotations

import json
import math
import os
import socket
import time
import uuid
import warnings
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.utils import _safe_indexing

from ..architectures import get_architecture
from ._bounds import MAX_CANDIDATES, BoundError
from ._claims import Claims
from ._files import write_json
from ._optuna_settings import check_run_storage, check_storage_url
from .config import ConfigError, _choices
from .records import RecordError, fit_record_problem, refuse_link
from .search import _PREFIX, _params_record, _ResumableFit, fit_key, splitter
from .tasks import fold_scores, score_name

__all__ = ["OptunaSearch", "StudyReportedElsewhere", "check_run_storage", "run_study"]

#: Seconds between a running trial's heartbeats, and after which a trial with no
#: heartbeat is failed (its process is gone) and retried.
HEARTBEAT_S, GRACE_S = 20, 120
#: Seconds after which a running trial no process has marked as its own is taken
#: for one whose process was killed as it created it.
ORPHAN_S = 3.0
_KEY_CHARS = set("0123456789abcdef")


class StudyReportedElsewhere(Exception):
    """This process's trials are done; another process ranks, refits and reports."""


def study_name(config) -> str:
    """The study of a config: ``<run name>-<config key>``, shared by its runs."""
    return f"{config.label}-{config.key()}"


# --------------------------------------------------------------- the space
def suggest(trial, config) -> dict:
    """The estimator settings of one trial, drawn from the config's space.

    ``trial`` may be an ``optuna.trial.FixedTrial`` of a stored trial's
    parameters: that gives back the settings it ran with.
    """
    space = config.space if config.space is not None else {"architecture": config.architectures}
    params = {}
    for name, values in space.items():
        if name == "architecture":
            params.update(get_architecture(trial.suggest_categorical(name, list(values))).params)
        elif isinstance(values, dict) and "layers" in values:  # a width for each layer drawn
            n = trial.suggest_int("n_layers", *values["layers"])
            params[name] = tuple(
                trial.suggest_categorical(f"width_{i + 1}", values["widths"]) for i in range(n)
            )
        elif isinstance(values, dict):
            low, high, kind = values["low"], values["high"], values["distribution"]
            if kind == "randint":
                params[name] = trial.suggest_int(name, int(low), int(high))
            else:
                params[name] = trial.suggest_float(name, float(low), float(high),
                                                   log=kind == "loguniform")  # fmt: skip
        else:
            choices = _choices(name, values)
            if all(c is None or isinstance(c, bool | int | float | str) for c in choices):
                params[name] = trial.suggest_categorical(name, choices)
            else:  # Optuna stores plain values: a list of widths as its JSON text
                labels = [json.dumps(list(c) if isinstance(c, tuple) else c) for c in choices]
                params[name] = choices[labels.index(trial.suggest_categorical(name, labels))]
    return params


# ------------------------------------------------------- a trial's folds
def _pruning_callback(trial, est, X_val, y_val, task: str, scoring, step0: int):
    """A Keras callback that reports ``est``'s score on the held-out rows after each epoch."""
    import keras

    class PruningCallback(keras.callbacks.Callback):
        pruned = False

        def on_epoch_end(self, epoch, logs=None):
            if self.model is not est.model_:  # a shared engine trains: score its weights
                est.model_.set_weights(self.model.get_weights())
            try:
                score = fold_scores(task, est, X_val, y_val, scoring)[score_name(task, scoring)]
            except ValueError:  # outputs that are not numbers
                score = float("nan")
            trial.report(score, step0 + est.n_iter_ - 1)
            if trial.should_prune():
                PruningCallback.pruned = True
                self.model.stop_training = True

    return PruningCallback()


class _Objective:
    """One trial: draw a candidate, fit its folds in turn (pruned or not), return its score."""

    def __init__(self, ctx, pipeline, sets, splits, worker: str, counts: dict):
        self.ctx, self.pipeline, self.sets, self.splits = ctx, pipeline, sets, splits
        self.worker, self.counts = worker, counts

    def __call__(self, trial):
        import optuna

        trial.set_user_attr("worker", self.worker)
        trial.set_user_attr("pid", os.getpid())
        room = _room_left(trial.study, self.ctx.config, exclude=trial.number)
        if room:  # another process filled the study since this one looked
            trial.set_user_attr("not_run", room)
            raise _NoRoom(room)
        params = suggest(trial, self.ctx.config)
        folds, epochs = [], 0
        for fold, (train, val) in enumerate(self.splits):
            record, pruned = self._fit_fold(trial, params, fold, train, val)
            epochs += record["n_iter"]
            self.counts["epochs"] += record["n_iter"]
            if pruned:
                trial.set_user_attr("epochs", epochs)
                raise optuna.TrialPruned(f"fold {fold}, epoch {record['n_iter']}")
            folds.append(record)
        trial.set_user_attr("epochs", epochs)
        trial.set_user_attr("folds", folds)
        name = score_name(self.ctx.info["task"], self.ctx.config.scoring)
        return float(np.mean([r["scores"][name] for r in folds]))

    def _fit_fold(self, trial, params, fold, train, val) -> tuple[dict, bool]:
        from sklearn.exceptions import ConvergenceWarning

        config, task = self.ctx.config, self.ctx.info["task"]
        X, y = self.sets.X_train, self.sets.y_train
        X_fit, y_fit = _safe_indexing(X, train), _safe_indexing(y, train)
        X_val, y_val = _safe_indexing(X, val), _safe_indexing(y, val)
        model = clone(self.pipeline).set_params(**{f"mlp__{k}": v for k, v in params.items()})
        key, settings = fit_key(model, X_fit, y_fit), _params_record(model)
        Xt_fit, Xt_val = X_fit, X_val
        if len(model) > 1:  # the preprocessing, fitted on the fold's training rows only
            pre = model[:-1].fit(X_fit, y_fit)
            Xt_fit, Xt_val = pre.transform(X_fit), pre.transform(X_val)
        mlp = model[-1]
        callback = _pruning_callback(trial, mlp, Xt_val, y_val, task, config.scoring,
                                     fold * config.epochs)  # fmt: skip
        mlp.set_params(callbacks=[callback])
        started, start = time.time(), time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            mlp.fit(Xt_fit, y_fit)
        fit_time = time.perf_counter() - start
        mlp.set_params(callbacks=None)
        record = {
            "key": key,
            "params": settings,
            "scores": fold_scores(task, model, X_val, y_val, config.scoring),
            "fit_time": fit_time,
            "started": started,
            "n_iter": int(mlp.n_iter_),
            "history": mlp.history_,
            "n_train": len(train),
            "n_test": len(val),
            "n_params": int(mlp.n_params_),
            "ran_on": "client",
        }
        return record, callback.pruned


class _NoRoom(Exception):
    """A trial begun when the study had no room left (another process filled it)."""


def _room_left(study, config, exclude=None) -> str | None:
    """Why no new trial may start (``n_trials`` or ``budget_epochs`` reached), or ``None``."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    done = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    running = [t for t in trials if t.state == TrialState.RUNNING and t.number != exclude]
    if config.n_trials is not None and len(done) + len(running) >= config.n_trials:
        return f"the study has its {config.n_trials} trials"
    if len(done) >= MAX_CANDIDATES:
        return f"the study has {MAX_CANDIDATES} trials, the most a search runs"
    epochs = sum(int(t.user_attrs.get("epochs", 0)) for t in trials)
    if config.budget_epochs is not None and epochs >= config.budget_epochs:
        return f"the trials have trained {epochs} epochs of the budget of {config.budget_epochs}"
    return None


# ------------------------------------------------------------- the study
def _sampler(config, process: int = 0):
    """The config's sampler; process ``k`` of a shared study samples with seed + ``k``.

    Each trial draws with a seed of its own, from that seed and its number
    (:class:`._trial_seeds.TrialSeededSampler`).
    """
    import optuna

    from ._trial_seeds import TrialSeededSampler

    seed = (config.random_state + process) % 2**32
    kinds = {"random": optuna.samplers.RandomSampler, "cmaes": optuna.samplers.CmaEsSampler}
    make = kinds.get(config.sampler, optuna.samplers.TPESampler)
    # each trial's own seed: a folder run again must not draw again what it drew
    return TrialSeededSampler(lambda trial_seed: make(seed=trial_seed), seed)


def _pruner(config, n_splits: int):
    import optuna

    if config.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=n_splits * config.epochs)
    if config.pruner == "none":
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner()


def open_study(url: str, shown: str, config, n_splits: int, process: int = 0):
    """The config's study in the database at ``url`` (created if new); ``shown`` names it.

    Processes started together may create the database's tables at the same
    moment: a failed attempt is tried again, three times at most.
    """
    import optuna
    from sqlalchemy.exc import SQLAlchemyError

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # skmlp prints its own lines
    for attempt in range(3):
        try:
            return optuna.create_study(
                storage=_storage(url),
                study_name=study_name(config),
                direction="maximize",
                sampler=_sampler(config, process),
                pruner=_pruner(config, n_splits),
                load_if_exists=True,
            )
        except (SQLAlchemyError, ImportError, ValueError, RuntimeError) as exc:
            if attempt < 2 and isinstance(exc, SQLAlchemyError):
                time.sleep(0.5 * (attempt + 1))
                continue
            raise _cannot_open(shown, exc) from None


def _cannot_open(shown: str, exc: BaseException) -> ConfigError:
    """The one-line error of a study the database at ``shown`` does not give."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    return ConfigError(f"--storage {shown}: cannot open the study: {first}")


def _storage(url: str):
    """Optuna's storage at ``url``, with heartbeats: a dead process's trial is retried."""
    import optuna
    from optuna import storages

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if hasattr(storages, "RetryHeartbeatStaleTrialCallback"):  # Optuna >= 4.9
            retry = {"heartbeat_stale_trial_callback":
                     storages.RetryHeartbeatStaleTrialCallback(max_retry=3)}  # fmt: skip
        else:
            retry = {"failed_trial_callback": storages.RetryFailedTrialCallback(max_retry=3)}
        return storages.RDBStorage(url, heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_S,
                                   **retry)  # fmt: skip


def _worker_token(out: Path) -> str:
    """This output folder's identity in the study (kept in ``OUT/optuna_worker``)."""
    path = out / "optuna_worker"
    refuse_link(path)
    if path.is_file():
        with path.open("rb") as f:  # a token is 32 characters: never more than 64 read
            token = f.read(64).decode("ascii", errors="replace").strip()
        if len(token) == 32 and set(token) <= _KEY_CHARS:
            return token
    token = uuid.uuid4().hex
    path.write_text(token, encoding="ascii")
    return token


def _retry_stale(study, worker: str, log) -> None:
    """Fail and queue again the trials a killed process of this folder left running.

    The folder is locked by this process, so no other process runs its trials. A
    trial is marked with its folder's token as its first act; one still unmarked
    :data:`ORPHAN_S` seconds after it is seen was left by a process killed as it
    created it, here or elsewhere, and is failed too. Trials of other processes
    whose heartbeat stopped more than :data:`GRACE_S` seconds ago are failed and
    queued again by Optuna (``fail_stale_trials``).
    """
    import optuna
    from optuna.trial import TrialState

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)

    def stale():
        running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        return {t.number: t for t in running if t.user_attrs.get("worker", worker) == worker}

    found = stale()
    if any("worker" not in t.user_attrs for t in found.values()):
        time.sleep(ORPHAN_S)  # a live process marks its new trial within milliseconds
        found = {n: t for n, t in stale().items() if n in found}
    for trial in found.values():
        study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        if trial.params:
            study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
        log(f"trial {trial.number} was left running by a killed run: failed, to be run again")


class _Progress:
    """After each trial: the study's trials and epochs, and the time left from epochs left."""

    def __init__(self, ctx, counts: dict, started: float):
        self.ctx, self.counts, self.started = ctx, counts, started

    def __call__(self, study, trial) -> None:
        from optuna.trial import TrialState

        from .._progress import format_seconds

        config = self.ctx.config
        if "not_run" in trial.user_attrs:
            self.ctx.log(f"  trial {trial.number} not run: {trial.user_attrs['not_run']}")
            study.stop()
            return
        trials = study.get_trials(deepcopy=False)
        complete = sum(t.state == TrialState.COMPLETE for t in trials)
        pruned = sum(t.state == TrialState.PRUNED for t in trials)
        epochs = sum(int(t.user_attrs.get("epochs", 0)) for t in trials if t.state.is_finished())
        elapsed = time.time() - self.started
        left = self._left(complete + pruned, epochs, elapsed)
        of = f"/{config.n_trials}" if config.n_trials else ""
        value = f" {trial.value:.4f}" if trial.value is not None else ""
        self.ctx.log(
            f"  trial {trial.number} {trial.state.name.lower()}{value} "
            f"({trial.user_attrs.get('epochs', 0)} epochs); study: {complete + pruned}{of} "
            f"trials ({complete} complete, {pruned} pruned), {epochs} epochs trained; "
            f"{elapsed:.0f}s elapsed, {format_seconds(left)} left"
        )
        if _room_left(study, config):
            study.stop()

    def _left(self, done: int, epochs: int, elapsed: float) -> float | None:
        """Seconds left: the epochs still to train at this process's seconds per epoch.

        A pruned trial counts with the epochs it trained; the trials to come are
        priced at the mean epochs of the trials done so far.
        """
        config, mine = self.ctx.config, self.counts["epochs"]
        if not mine or not done:
            return None
        estimates = []
        if config.n_trials is not None:
            estimates.append(max(config.n_trials - done, 0) * epochs / done)
        if config.budget_epochs is not None:
            estimates.append(max(config.budget_epochs - epochs, 0))
        left = min(estimates) * elapsed / mine if estimates else math.inf
        if config.timeout is not None:
            left = min(left, max(config.timeout - elapsed, 0))
        return left if math.isfinite(left) else None


class OptunaSearch:
    """A finished study as the run's ranking reads a search: its complete trials.

    Parameters
    ----------
    estimator : _ResumableFit
        The pipeline every trial fits (``search.estimator`` of the other kinds).
    trials : list of optuna.trial.FrozenTrial
        The study's trials; the pruned and failed ones are left out.
    config : ExperimentConfig
        The space, to read each trial's settings back.
    n_splits : int
        Folds (or 1, a validation split) of every trial.

    Attributes
    ----------
    cv_results_ : dict of lists
        One entry per complete trial: ``params`` (``estimator__mlp__`` keys),
        ``trial`` (its number), ``epochs`` (trained over its folds),
        ``mean_test_score`` (the study's objective: the scorer's mean over the
        folds) and ``rank_test_score``.
    n_splits_ : int
        As given.
    """

    def __init__(self, estimator, trials, config, n_splits: int):
        from optuna.trial import FixedTrial, TrialState

        self.estimator = estimator
        self.n_splits_ = n_splits
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        values = [float(t.value) for t in complete]
        cv = {
            "trial": [t.number for t in complete],
            "params": [
                {_PREFIX + k: v for k, v in suggest(FixedTrial(t.params), config).items()}
                for t in complete
            ],
            "epochs": [int(t.user_attrs.get("epochs", 0)) for t in complete],
            "mean_test_score": values,
        }
        order = np.argsort(-np.asarray(values), kind="stable")
        cv["rank_test_score"] = list(np.argsort(order) + 1)
        self.cv_results_ = cv


def study_records(trials, store: Path) -> int:
    """Write the complete trials' fold records into ``store`` (those not there yet).

    The records come from a database other processes write: each is checked as
    a record read back from disk is (:func:`.records.fit_record_problem`) and its
    key must be a record file name, before anything is written.

    Returns the number of records written.
    """
    from optuna.trial import TrialState

    written = 0
    for trial in trials:
        if trial.state != TrialState.COMPLETE:
            continue
        folds = trial.user_attrs.get("folds")
        if not isinstance(folds, list) or not 0 < len(folds) <= 100:
            raise RecordError(f"study trial {trial.number}: its folds' records are missing")
        for record in folds:
            key = record.get("key") if isinstance(record, dict) else None
            problem = fit_record_problem(record, key)
            if problem is None and not (len(key) == 24 and set(key) <= _KEY_CHARS):
                problem = "its key is not a record's name"
            if problem:
                raise RecordError(f"study trial {trial.number}: a fold's record: {problem}")
            path = store / f"{key}.json"
            refuse_link(path)
            if not path.exists():
                write_json(path, record)
                written += 1
    return written


# ---------------------------------------------------------------- the run
def run_study(ctx, pipeline, sets, storage: str | None = None):
    """Run (or resume, or join) the config's study; return what the ranking reads.

    Parameters
    ----------
    ctx : RunContext
        The run (its config, output folder, log and task).
    pipeline : Pipeline
        The pipeline every trial fits, with the config's fixed settings.
    sets : Sets
        The training rows (split into the search's folds) and the test rows
        (never read here).
    storage : str or None, default=None
        An SQLAlchemy URL; ``None``: ``OUT/optuna.db``.

    Returns
    -------
    (OptunaSearch, float, dict)
        The study's complete trials, the seconds this process spent on
        trials, and how many trials ran in this process and in others.

    Raises
    ------
    StudyReportedElsewhere
        When another process ranks and reports the study (or still runs trials).
    """
    from optuna.trial import TrialState
    from sqlalchemy.exc import SQLAlchemyError

    config, out, log = ctx.config, ctx.out, ctx.log
    if storage is None:
        refuse_link(out / "optuna.db")
        storage = f"sqlite:///{(out / 'optuna.db').resolve()}"
    try:
        shown = check_storage_url(storage)
    except BoundError as exc:
        raise ConfigError(str(exc)) from None
    splits = list(splitter(config, ctx.info["task"]).split(sets.X_train, sets.y_train))
    worker = _worker_token(out)
    place = f"{socket.gethostname()}:{out.resolve()} (pid {os.getpid()})"
    claims = Claims(storage, study_name(config), worker, place)
    try:  # the first process (or folder) to join the study samples with random_state
        process = claims.process_number()
    except (SQLAlchemyError, RuntimeError) as exc:
        raise _cannot_open(shown, exc) from None
    study = open_study(storage, shown, config, len(splits), process)
    log(f"optuna study {study.study_name} in {shown} (process {process}); dashboard: "
        f"optuna-dashboard {shown}")  # fmt: skip
    if ctx.n_jobs != 1:
        log("--n-jobs does not apply to an Optuna study: its trials run one at a time in each "
            "process; start more processes on one --storage to run more at once")  # fmt: skip
    _retry_stale(study, worker, log)
    counts, started = {"epochs": 0}, time.time()
    why = _room_left(study, config)
    if why:
        log(f"no new trial: {why}")
    else:
        import optuna

        objective = _Objective(ctx, pipeline, sets, splits, worker, counts)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.optimize(objective, timeout=config.timeout, catch=(_NoRoom,),
                           callbacks=[_Progress(ctx, counts, started)])  # fmt: skip
    seconds = time.time() - started
    trials = study.get_trials(deepcopy=False)
    running = [t.number for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    if running:
        raise StudyReportedElsewhere(
            f"study {study.study_name}: trials {running[:10]} still run in other processes; "
            "the process that ends the study ranks, refits and reports it"
        )
    holder = claims.claim("report")
    if holder is not None:
        raise StudyReportedElsewhere(
            f"study {study.study_name} is finished; {holder} ranks, refits and reports it"
        )
    if not any(t.state == TrialState.COMPLETE for t in trials):
        raise RecordError(
            f"study {study.study_name}: none of its {len(trials)} trials is complete (pruned "
            "or failed), so no candidate is chosen: raise n_trials, timeout or budget_epochs"
        )
    store = out / "fits"
    store.mkdir(exist_ok=True)
    study_records(trials, store)
    _write_trials(trials, out)
    mine = sum(t.user_attrs.get("worker") == worker for t in trials)
    places = {"client": mine, "other processes": len(trials) - mine}
    estimator = _ResumableFit(pipeline, store=str(store.resolve()))
    return OptunaSearch(estimator, trials, config, len(splits)), seconds, places


def _write_trials(trials, out: Path) -> None:
    """Every trial of the study, pruned and failed ones too: ``OUT/trials.csv``."""
    import pandas as pd

    from ._files import write_text
    from .reports import csv_table

    rows = [
        {
            "trial": t.number,
            "state": t.state.name.lower(),
            "value": t.value,
            "epochs": int(t.user_attrs.get("epochs", 0)),
            "params": json.dumps(t.params, sort_keys=True),
            "pid": t.user_attrs.get("pid"),
        }
        for t in trials
    ]
    write_text(out / "trials.csv", csv_table(pd.DataFrame(rows)))
