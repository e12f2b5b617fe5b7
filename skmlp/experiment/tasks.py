"""What differs between a classification and a regression run: scores, columns, plots.

A run's task is ``"classification"`` or ``"regression"`` (a config's
``[estimator] task``, or inferred from the target: :func:`infer_task`). Each fold of
the search stores the task's scores (:data:`FOLD_SCORES`) and, with ``[search]
scoring``, that scorer's; candidates are ranked by :func:`rank_metric`. Each refit is
scored on the training and test sets (:func:`refit_metrics`); the tables show the
columns of :func:`report_columns`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "FOLD_SCORES",
    "TASKS",
    "check_scoring",
    "fold_scores",
    "infer_task",
    "rank_metric",
    "refit_metrics",
    "score_name",
]

TASKS = ("classification", "regression")
#: The scores every fold stores, in scikit-learn's sign convention (higher is better).
FOLD_SCORES = {
    "classification": ("accuracy", "neg_log_loss"),
    "regression": ("r2", "neg_mean_absolute_error", "neg_root_mean_squared_error"),
}
#: A ranking column of each stored score: (column, sign): the column holds sign * score.
_COLUMNS = {
    "accuracy": ("accuracy", 1),
    "neg_log_loss": ("log_loss", -1),
    "r2": ("r2", 1),
    "neg_mean_absolute_error": ("mae", -1),
    "neg_root_mean_squared_error": ("rmse", -1),
}
#: A float target with more distinct values than this is read as a quantity to predict.
REGRESSION_DISTINCT = 20
#: The modules of scikit-learn's scorers, by the task they score.
_SCORER_MODULES = {
    "classification": ("sklearn.metrics._classification", "sklearn.metrics._ranking"),
    "regression": ("sklearn.metrics._regression",),
}


def infer_task(y, setting: str = "auto", target: str = "the target") -> tuple[str, str]:
    """The task and why: ``setting`` if it names one, else from the target ``y``.

    A float target with more than :data:`REGRESSION_DISTINCT` distinct values is a
    quantity (regression); anything else (text, integers, a few values) is labels.

    Returns
    -------
    (str, str)
        The task and a sentence for the log.
    """
    values = pd.Series(np.asarray(y))
    if setting == "regression" and values.dtype.kind not in "iuf":
        raise ValueError(
            f"task = regression needs a numeric target; {target!r} holds {values.dtype} "
            f"values such as {str(values.iloc[0])[:40]!r}"
        )
    if setting in TASKS:
        return setting, f"task: {setting} ([estimator] task)"
    n = int(values.nunique())
    if values.dtype.kind == "f" and n > REGRESSION_DISTINCT:
        return "regression", (
            f"task: regression (inferred: a float target with {n:,} distinct values; set "
            '[estimator] task = "classification" to treat them as classes)'
        )
    return "classification", (
        f"task: classification (inferred: {n:,} distinct target values of type "
        f'{values.dtype}; set [estimator] task = "regression" to predict a quantity)'
    )


def scorer_task(name: str) -> str | None:
    """The task a scikit-learn scorer name scores (``None``: neither, or not a scorer)."""
    from sklearn.metrics import get_scorer, get_scorer_names

    if name not in get_scorer_names():
        return None
    module = getattr(get_scorer(name)._score_func, "__module__", "")
    return next((t for t, mods in _SCORER_MODULES.items() if module in mods), None)


def check_scoring(name, task: str | None) -> str | None:
    """What is wrong with ``[search] scoring = name`` for ``task`` (``None``: nothing)."""
    from sklearn.metrics import get_scorer_names

    if not isinstance(name, str) or name not in get_scorer_names():
        near = [s for s in get_scorer_names() if isinstance(name, str) and name[:4] in s][:8]
        return (
            f"search.scoring must be a scikit-learn scorer name (sklearn.metrics."
            f"get_scorer_names()), got {str(name)[:60]!r}"
            + (f"; did you mean one of {', '.join(near)}?" if near else "")
        )
    kind = scorer_task(name)
    if kind is None:
        return f"search.scoring {name!r} scores clusterings, not classifiers or regressors"
    if task in TASKS and kind != task:
        return f"search.scoring {name!r} scores a {kind}, but the task is {task}"
    return None


def score_name(task: str, scoring: str | None) -> str:
    """The score candidates are ranked by: ``scoring``'s, else accuracy or R²."""
    return scoring or FOLD_SCORES[task][0]


def rank_metric(task: str, scoring: str | None) -> tuple[str, bool]:
    """The ranking column candidates are sorted by, and whether higher is better."""
    name = score_name(task, scoring)
    column, sign = _COLUMNS.get(name, (name, 1))
    return f"cv_{column}_mean", sign > 0


def fold_scores(task: str, model, X, y, scoring: str | None) -> dict:
    """A fitted model's scores on one validation fold: the task's, and ``scoring``'s."""
    from sklearn.metrics import accuracy_score, get_scorer, log_loss

    if task == "classification":
        proba = model.predict_proba(X)
        classes = model.classes_
        scores = {
            "accuracy": float(accuracy_score(y, classes[proba.argmax(axis=1)])),
            "neg_log_loss": float(-log_loss(y, proba, labels=classes)),
        }
    else:
        pred = np.asarray(model.predict(X), dtype=np.float64).ravel()
        scores = _regression_scores(np.asarray(y, dtype=np.float64), pred)
        scores = {
            "r2": scores["r2"],
            "neg_mean_absolute_error": -scores["mae"],
            "neg_root_mean_squared_error": -scores["rmse"],
        }
    if scoring and scoring not in scores:
        scores[scoring] = float(get_scorer(scoring)(model, X, y))
    return scores


def cv_columns(folds: list[dict]) -> dict:
    """A candidate's ranking columns from its folds' scores: the mean and std of each
    (an error or a loss as a positive number: ``cv_mae_mean``, ``cv_log_loss_mean``)."""
    out = {}
    for name in folds[0] if folds else ():
        values = [f[name] for f in folds if name in f]
        column, sign = _COLUMNS.get(name, (name, 1))
        out[f"cv_{column}_mean"] = float(sign * np.mean(values))
        out[f"cv_{column}_std"] = float(np.std(values))
    return out


def _regression_scores(y, pred) -> dict:
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    return {
        "r2": float(r2_score(y, pred)) if len(y) > 1 else float("nan"),
        "mae": float(mean_absolute_error(y, pred)),
        "rmse": float(np.sqrt(mean_squared_error(y, pred))),
    }


def refit_metrics(model, sets) -> dict:
    """Train and test scores of a refitted pipeline (its task told by its last step)."""
    from sklearn.base import is_regressor
    from sklearn.metrics import accuracy_score, log_loss

    out = {}
    for part, X, y in (("train", sets.X_train, sets.y_train), ("test", sets.X_test, sets.y_test)):
        if is_regressor(model[-1]):
            pred = np.asarray(model.predict(X), dtype=np.float64).ravel()
            scores = _regression_scores(np.asarray(y, dtype=np.float64), pred)
            out |= {f"{part}_{k}": v for k, v in scores.items()}
        else:
            classes = model[-1].classes_
            proba = model.predict_proba(X)
            out[f"{part}_loss"] = float(log_loss(y, proba, labels=classes))
            out[f"{part}_accuracy"] = float(accuracy_score(y, classes[proba.argmax(axis=1)]))
    return out


def metric_names(task: str) -> tuple:
    """The refit figures of a task, recomputed from the saved models."""
    if task == "regression":
        return tuple(f"{p}_{m}" for p in ("train", "test") for m in ("r2", "mae", "rmse"))
    return ("train_loss", "train_accuracy", "test_loss", "test_accuracy")


def task_of(results: pd.DataFrame) -> str:
    """The task of a results or ranking table, by its columns."""
    cols = set(results.columns)
    return "regression" if {"test_r2", "cv_r2_mean"} & cols else "classification"


def report_columns(results: pd.DataFrame, scoring: str | None = None) -> list[tuple]:
    """(header, column, format) of the results table's score columns."""
    percent = "{:.2%}"
    if task_of(results) == "regression":
        cols = [
            ("CV R²", "cv_r2_mean", "{:.4f}"),
            ("± std", "cv_r2_std", "{:.4f}"),
            ("CV MAE", "cv_mae_mean", "{:.4g}"),
            ("CV RMSE", "cv_rmse_mean", "{:.4g}"),
            ("train R²", "train_r2", "{:.4f}"),
            ("test R²", "test_r2", "{:.4f}"),
            ("test MAE", "test_mae", "{:.4g}"),
            ("test RMSE", "test_rmse", "{:.4g}"),
        ]
    else:
        cols = [
            ("CV accuracy", "cv_accuracy_mean", percent),
            ("± std", "cv_accuracy_std", percent),
            ("CV log-loss", "cv_log_loss_mean", "{:.4f}"),
            ("train loss", "train_loss", "{:.4f}"),
            ("train accuracy", "train_accuracy", percent),
            ("test loss", "test_loss", "{:.4f}"),
            ("test accuracy", "test_accuracy", percent),
        ]
    extra = [c for c in results.columns if c.startswith("cv_") and c.endswith("_mean")]
    known = {c for _, c, _ in cols} | {"cv_fit_time_s"}
    for column in extra:
        if column not in known and (scoring is None or column == f"cv_{scoring}_mean"):
            cols.insert(0, (f"CV {column[3:-5]}", column, "{:.4f}"))
    return cols
