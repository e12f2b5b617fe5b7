"""Tables as users have them, in a run: the settings, the target's rows, the encoder.

A config's ``[data] path`` table whose features are not all complete numbers (text,
pandas categories, booleans, blanks) is encoded by :class:`skmlp.TabularEncoder`,
the pipeline's first step, fitted in each CV fold on that fold's training rows only
and saved with the model; ``[preprocessing] scaler = "tabular"`` asks for it on any
table. Its settings (``categorical``, ``integer_categories``, ``max_categories``,
``max_width``) are checked with the rest of the config (:func:`check_settings`),
the encoded width against the data before the first fit (:func:`fit_encoder`).

The target: rows without one are refused, their numbers named
(:func:`rows_with_target`), or dropped with ``[data] drop_missing_target = true``
and counted; the task is ``[estimator] task`` or inferred (:mod:`.tasks`); a
classification run reports its class balance (:func:`class_balance`).
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import pandas as pd

from .._features import MAX_COLUMNS
from .._tabular import MAX_CATEGORIES, MAX_WIDTH, TabularEncoder, TabularError
from ._bounds import BoundError
from .tasks import TASKS, check_scoring

__all__ = ["PREPROCESSING_KEYS", "check_settings", "class_balance", "rows_with_target"]

#: ``[preprocessing]`` keys of a table's encoder, each with its bound.
PREPROCESSING_KEYS = {
    "categorical": None,  # a list of column names
    "integer_categories": (0, MAX_CATEGORIES),
    "max_categories": (2, MAX_CATEGORIES),
    "max_width": (1, MAX_WIDTH),
}
#: What ``[estimator] task`` may be.
TASK_SETTINGS = ("auto", *TASKS)
#: Rows of a refusal named one by one.
_SHOWN_ROWS = 5
#: Longest column name a setting may name (as a model file's feature names).
_MAX_NAME = 1024


def check_settings(config) -> None:
    """Refuse a bad ``task``, ``scoring``, encoder setting or target setting.

    Raises
    ------
    BoundError
        One line naming the key and the bound.
    """
    if config.task not in TASK_SETTINGS:
        raise BoundError(
            f"estimator.task must be one of {', '.join(TASK_SETTINGS)}, got {config.task!r}"
        )
    if config.scoring is not None:
        problem = check_scoring(config.scoring, config.task if config.task in TASKS else None)
        if problem:
            raise BoundError(problem)
    _check_encoder_settings(config.tabular, config.preprocessing)
    data = config.data or {}
    drop = data.get("drop_missing_target", False)
    if not isinstance(drop, bool):
        raise BoundError(f"data.drop_missing_target must be true or false, got {drop!r}")
    if drop and "path" not in data:
        raise BoundError("data.drop_missing_target goes with path (a CSV or Parquet table)")
    wrong = {"regression": "class_weight", "classification": "loss"}.get(config.task)
    if wrong in config.estimator:
        why = "MLPRegressor weighs no classes" if wrong == "class_weight" else "a classifier's loss"
        raise BoundError(f"estimator.{wrong} does not apply to {config.task}: {why}")


def _check_encoder_settings(settings, scaler: str) -> None:
    if not isinstance(settings, dict):
        raise BoundError(f"the encoder settings must be a table, got {settings!r}")
    unknown = set(settings) - set(PREPROCESSING_KEYS)
    if unknown:
        raise BoundError(
            f"unknown encoder setting {sorted(unknown)[0]!r}; known: "
            + ", ".join(PREPROCESSING_KEYS)
        )
    if settings and scaler not in ("auto", "tabular"):
        raise BoundError(
            f"preprocessing.{next(iter(settings))} sets the table encoder, which scaler="
            f'{scaler!r} does not use (use scaler = "tabular" or "auto")'
        )
    for key, value in settings.items():
        bound = PREPROCESSING_KEYS[key]
        if bound is None:
            if (
                not isinstance(value, list)
                or len(value) > MAX_COLUMNS
                or not all(isinstance(c, str) and 0 < len(c) <= _MAX_NAME for c in value)
            ):
                raise BoundError(
                    f"preprocessing.{key} must be a list of at most {MAX_COLUMNS:,} column "
                    f"names (strings of 1 to {_MAX_NAME} characters)"
                )
        elif (
            isinstance(value, bool)
            or not isinstance(value, Integral)
            or not bound[0] <= value <= bound[1]
        ):
            raise BoundError(
                f"preprocessing.{key} must be an integer >= {bound[0]} and <= {bound[1]:,}, "
                f"got {value!r}"
            )


def encoder(config) -> TabularEncoder:
    """The run's table encoder, with the config's settings."""
    return TabularEncoder(**config.tabular)


def use_encoder(features: pd.DataFrame, scaler: str) -> bool:
    """Whether a table's features go through the encoder: asked for, or needed
    (``scaler = "auto"`` and a column that is not complete numbers)."""
    if scaler == "tabular":
        return True
    if scaler != "auto":
        return False
    for name in features.columns:
        column = features[name]
        numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
        if not numeric or column.isna().any():
            return True
    return False


def rows_with_target(frame: pd.DataFrame, target: str, path, drop: bool, log) -> pd.DataFrame:
    """The rows of ``frame`` with a target; without ``drop`` a row without one is refused.

    Rows are numbered as data rows from 1 (a CSV's line is one more, its header).
    """
    empty = frame[target].isna().to_numpy()
    if not empty.any():
        return frame
    rows = (np.flatnonzero(empty) + 1).tolist()
    shown = ", ".join(map(str, rows[:_SHOWN_ROWS])) + (", ..." if len(rows) > _SHOWN_ROWS else "")
    if not drop:
        raise TabularError(
            f"{path}: the target column {target!r} is empty in {len(rows):,} of {len(frame):,} "
            f"data rows ({shown}); fill them, or set [data] drop_missing_target = true"
        )
    if len(rows) == len(frame):
        raise TabularError(f"{path}: the target column {target!r} is empty in every row")
    log(f"{path}: dropped {len(rows):,} of {len(frame):,} rows without a target ({shown})")
    return frame.loc[~empty].reset_index(drop=True)


def fit_encoder(config, X: pd.DataFrame, where: str, log) -> TabularEncoder:
    """The encoder fitted on the training set once, to check and report its width.

    Raises a one-line :class:`TabularError` (a ``ValueError``) before any network fits.
    """
    try:
        enc = encoder(config).fit(X)
    except TabularError as exc:
        raise TabularError(f"{where}: {exc}") from None
    cards = enc.cardinalities()
    shown = ", ".join(f"{c} ({n})" for c, n in list(cards.items())[:8])
    n_missing = len(enc.indicator_columns_)
    log(
        f"table: {len(enc.numeric_columns_)} numeric columns (median-imputed, standardised"
        + (f", {n_missing} with missing values" if n_missing else "")
        + f"), {len(cards)} categorical one-hot"
        + (f": {shown}{' ...' if len(cards) > 8 else ''}" if cards else "")
        + f"; {enc.n_features_out_:,} encoded features (max_width {enc.max_width:,})"
    )
    return enc


def class_balance(y) -> str:
    """The classes' shares of the training set, the rarest named: for the log."""
    labels, counts = np.unique(np.asarray(y), return_counts=True)
    order = np.argsort(counts)
    shares = [f"{labels[i]!s:.30}: {counts[i]:,} ({counts[i] / counts.sum():.1%})" for i in order]
    ratio = counts.max() / counts.min()
    text = f"classes (rarest first): {', '.join(shares[:6])}" + (" ..." if len(shares) > 6 else "")
    if ratio >= 3:
        text += (f"; imbalanced ({ratio:.1f} to 1): consider [search] scoring = "
                 '"balanced_accuracy" and [estimator] class_weight = "balanced"')  # fmt: skip
    return text
