"""The figures a results folder reports, recomputed from its models before they are shown.

A refit's train and test scores are cheap to recompute: its saved model (skmlp's
safe format, never a pickle) predicts the training and test sets. Whenever a run
reports a refit it did not fit itself (a reused refit, or a finished run loaded
back), the figures reported are the recomputed ones; a record whose figures
differ from them was changed after the run and is refused, naming the file.
"""

from __future__ import annotations

import math

import numpy as np

from ._files import read_json, sha256_file
from .records import RecordError, plain_name, refit_record_problem
from .tasks import metric_names, refit_metrics, task_of

#: The figures of a classifier's refit recomputed from its model (a regressor's:
#: :func:`.tasks.metric_names`).
METRICS = metric_names("classification")
#: Columns a finished run's results.csv must hold besides its task's figures.
_RESULT_COLUMNS = ("architecture", "best", "rank_cv")


def model_metrics(model, sets) -> dict:
    """The figures of a fitted pipeline on the training and test sets: log-loss and
    accuracy of a classifier, R², MAE and RMSE of a regressor."""
    return refit_metrics(model, sets)


def _close(recorded, computed: float, name: str, n_rows: int) -> bool:
    """Equal up to what another backend's arithmetic may change (one row's prediction)."""
    try:
        recorded = float(recorded)
    except (TypeError, ValueError):
        return False
    if not math.isfinite(recorded):
        return False
    if name.endswith("accuracy"):
        return abs(recorded - computed) <= 1.0 / n_rows + 1e-9
    return abs(recorded - computed) <= 1e-3 * max(1.0, abs(computed))


def check_metrics(recorded: dict, computed: dict, sets, path, name: str) -> None:
    """Refuse ``path`` if a figure it records for ``name`` is not what the model scores."""
    for metric in computed:
        n_rows = len(sets.y_train if metric.startswith("train") else sets.y_test)
        if not _close(recorded.get(metric), computed[metric], metric, n_rows):
            raise RecordError(
                f"{path}: the {metric} recorded for {name} ({str(recorded.get(metric))[:20]}) "
                f"is not what its model scores ({computed[metric]:.4g}): the folder was "
                "changed after the run; delete it (or run.json) to run again"
            )


def reusable_refit(record_path, model_path, key: str, sets, log):
    """A stored refit checked against its model: ``(record, model)``, or ``None`` to refit.

    A damaged record, or a model that is not the one it vouches for, is refitted;
    a record whose scores are not its model's is refused.
    """
    from .._persistence import load

    record = read_json(record_path)
    problem = refit_record_problem(record, key)
    if problem is not None:
        log(f"  {record_path}: {problem}; refitting")
        return None
    if record["model_sha256"] != sha256_file(model_path):
        log(f"  {model_path} does not match its record; refitting")
        return None
    model = load(model_path)
    computed = model_metrics(model, sets)
    check_metrics(record, computed, sets, record_path, record_path.stem)
    return record | computed, model


def verify_finished(out, result, sets) -> None:
    """Check a finished run's results against its models; report the recomputed figures.

    Raises :class:`RecordError` (one line, naming the file) for a table that is
    not skmlp's or a figure its model does not reproduce. The CV figures cannot be
    recomputed without refitting: the result says they were read back.
    """
    from .._persistence import load

    path, results = out / "results.csv", result.results
    wanted = (*_RESULT_COLUMNS, *metric_names(task_of(results)))
    missing = [c for c in wanted if c not in results.columns]
    if missing or not 1 <= len(results) <= 1000:
        raise RecordError(f"{path}: not a results table of skmlp (columns or rows missing)")
    names = [plain_name(n, path) for n in results["architecture"]]
    best = result.best_architecture
    flags = results["best"].astype(str).str.lower().map({"true": True, "false": False})
    ranks = results["rank_cv"]
    if (
        len(set(names)) != len(names)
        or best not in names
        or flags.isna().any()
        or [n for n, f in zip(names, flags, strict=True) if f] != [best]
        or not np.issubdtype(ranks.dtype, np.integer)
        or ranks[flags.astype(bool)].iloc[0] != ranks.min()
    ):
        raise RecordError(
            f"{path}: its candidates, ranks or best mark disagree with {out / 'run.json'} "
            f"(best: {best}); the folder was changed after the run: delete it to run again"
        )
    results["best"] = flags.astype(bool)
    for i, name in enumerate(names):
        model_path = out / "models" / f"{name}.skmlp"
        record_path = out / "refits" / f"{name}.json"
        record = read_json(record_path) if record_path.is_file() else None
        if not isinstance(record, dict) or record.get("model_sha256") != sha256_file(model_path):
            raise RecordError(
                f"{path}: the model of {name} ({model_path}) is missing or not the one its "
                f"record vouches for; the results cannot be checked: delete the folder to run "
                "again"
            )
        computed = model_metrics(load(model_path), sets)
        check_metrics(results.iloc[i].to_dict(), computed, sets, path, name)
        for metric, value in computed.items():  # reported: what the model scores
            results.loc[results.index[i], metric] = value
    result.unverified.append(
        f"the CV scores were read back from {out} (as recorded there, not recomputed); "
        "the train and test scores were recomputed from the saved models"
    )
