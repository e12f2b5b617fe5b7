"""Tables as users have them: :class:`TabularEncoder`, numbers and categories to features.

The encoder does what scikit-learn's ``ColumnTransformer`` of
``SimpleImputer(strategy="median")`` then ``StandardScaler`` on the numeric columns,
``MissingIndicator(error_on_new=False)`` on those, and
``OneHotEncoder(handle_unknown="ignore")`` on the categorical columns computes
(``tests/test_tabular.py`` checks that it gives the same numbers), but keeps its fitted
state as a few flat arrays of numbers and strings. That state is what a model file
stores (:mod:`skmlp._persistence`, checked on load), where a fitted
``ColumnTransformer`` is a tree of scikit-learn objects whose private attributes change
from one scikit-learn version to the next and could not be stored without pickle.

Columns are kept by name: a table to transform must hold the fitted columns, in any
order; a missing or an extra column is refused by name. Category values are compared as
text (``True``, ``3``, ``oslo``); a missing value is its own category when the fit saw
one, and a category the fit did not see encodes as zeros.
"""

from __future__ import annotations

import re
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

__all__ = ["MISSING", "TabularEncoder", "TabularError", "column_kinds"]

#: The category a missing value of a categorical column becomes.
MISSING = "(missing)"
#: The largest cardinality and width any setting may ask for.
MAX_CATEGORIES = 10_000
MAX_WIDTH = 100_000
#: Text that is a date (``2024-01-31``, ``2024/01/31 12:00``): such columns are refused.
_DATE = re.compile(r"\d{4}[-/]\d{1,2}[-/]\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?")


class TabularError(ValueError):
    """A table the encoder cannot take; one line naming the column."""


def _names(columns, n: int = 5) -> str:
    shown = ", ".join(repr(str(c)) for c in list(columns)[:n])
    return shown + (f" and {len(columns) - n} more" if len(columns) > n else "")


def _is_dates(column: pd.Series) -> bool:
    if column.dtype.kind in "mM" or isinstance(column.dtype, pd.DatetimeTZDtype):
        return True
    if column.dtype.kind != "O":
        return False
    values = column.dropna()
    sample = values.iloc[:200]
    return len(sample) > 0 and all(isinstance(v, str) and _DATE.fullmatch(v) for v in sample)


def column_kinds(frame: pd.DataFrame, categorical=(), integer_categories: int = 0) -> dict:
    """``"numeric"`` or ``"categorical"`` for every column of ``frame``, by its type.

    Strings, pandas categories, booleans and columns listed in ``categorical`` are
    categorical; so are integer columns of at most ``integer_categories`` distinct
    values. Date columns are refused.

    Parameters
    ----------
    frame : pandas.DataFrame
        The feature columns.
    categorical : sequence of str, default=()
        Columns to treat as categorical whatever their type.
    integer_categories : int, default=0
        Integer columns with at most this many distinct values are categorical.

    Returns
    -------
    dict of str to str
    """
    unknown = [c for c in categorical if c not in frame.columns]
    if unknown:
        raise TabularError(f"categorical names columns the table lacks: {_names(unknown)}")
    kinds = {}
    for name in frame.columns:
        column = frame[name]
        if _is_dates(column):
            raise TabularError(
                f"column {str(name)!r} holds dates; skmlp does not expand dates: convert them "
                "to numbers (days since a date, a year, a month) or drop the column"
            )
        numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
        if name in categorical or not numeric:
            kinds[str(name)] = "categorical"
        elif column.dtype.kind in "iu" and column.nunique() <= integer_categories:
            kinds[str(name)] = "categorical"
        else:
            kinds[str(name)] = "numeric"
    return kinds


def _as_text(column: pd.Series) -> pd.Series:
    """A categorical column's values as text, a missing value as :data:`MISSING`."""
    values = column.astype(object)
    return values.where(values.notna(), MISSING).map(str)


class TabularEncoder(TransformerMixin, BaseEstimator):
    """Encode a table's numeric and categorical columns as numbers for a network.

    Numeric columns: missing values replaced by the column's training median, a
    missing-indicator column (0 or 1) added for each column that had missing values
    in training, then standardised (the imputed values' mean and standard
    deviation). Categorical columns (text, pandas categories, booleans, those named
    in ``categorical``, integers of few values if ``integer_categories`` says so):
    one-hot, a category unseen in training encoded as zeros. Output columns:
    the numeric ones, then the indicators, then the one-hot ones.

    Parameters
    ----------
    categorical : list of str or None, default=None
        Columns to encode as categories whatever their type.
    integer_categories : int, default=0
        Integer columns with at most this many distinct values are categorical
        (0: integers are numbers).
    max_categories : int, default=1000
        The most distinct values one categorical column may have; more is refused
        (an identifier or free text is no category).
    max_width : int, default=10000
        The most columns the encoded table may have.

    Attributes
    ----------
    n_features_in_ : int
        Columns of the fitted table.
    feature_names_in_ : ndarray of str
        Their names.
    numeric_columns_, categorical_columns_ : ndarray of str
        The columns of each kind.
    indicator_columns_ : ndarray of str
        The numeric columns that had missing values in training.
    medians_, means_, scales_ : ndarray of float
        Per numeric column: the imputed value, and the mean and scale of the
        standardisation.
    categories_ : ndarray of str
        The categories of every categorical column, one after the other.
    category_counts_ : ndarray of int
        How many of ``categories_`` belong to each categorical column.
    n_features_out_ : int
        Columns of the encoded table.

    Examples
    --------
    >>> import pandas as pd
    >>> from skmlp import TabularEncoder
    >>> table = pd.DataFrame({"age": [30, None, 50], "city": ["oslo", "rome", "oslo"]})
    >>> enc = TabularEncoder().fit(table)
    >>> enc.get_feature_names_out().tolist()
    ['age', 'age_missing', 'city_oslo', 'city_rome']
    >>> enc.transform(pd.DataFrame({"city": ["paris"], "age": [40.0]})).tolist()
    [[0.0, 0.0, 0.0, 0.0]]
    """

    def __init__(self, categorical=None, integer_categories=0, max_categories=1000,
                 max_width=10_000):  # fmt: skip
        self.categorical = categorical
        self.integer_categories = integer_categories
        self.max_categories = max_categories
        self.max_width = max_width

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        return tags

    @staticmethod
    def _frame(X) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            return X
        X = np.asarray(X)
        if X.ndim != 2:
            raise TabularError(f"expected a table of rows and columns, got shape {X.shape}")
        return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])

    def fit(self, X, y=None):
        """Learn the columns' kinds, medians, scales and categories from ``X``.

        Parameters
        ----------
        X : pandas.DataFrame
            The table (an array is read as columns ``x0, x1, ...``).
        y : ignored

        Returns
        -------
        self
        """
        self._check_settings()
        frame = self._frame(X)
        if len(frame) == 0:
            raise TabularError("the table has no rows")
        kinds = column_kinds(frame, self.categorical or (), self.integer_categories)
        frame.columns = [str(c) for c in frame.columns]
        self.feature_names_in_ = np.array(list(frame.columns), dtype=object)
        self.n_features_in_ = len(frame.columns)
        numeric = [c for c in frame.columns if kinds[c] == "numeric"]
        self.numeric_columns_ = np.array(numeric, dtype=object)
        self.categorical_columns_ = np.array(
            [c for c in frame.columns if kinds[c] == "categorical"], dtype=object
        )
        self._fit_numeric(frame[numeric])
        self._fit_categories(frame)
        width = len(numeric) + len(self.indicator_columns_) + len(self.categories_)
        if width > self.max_width:
            raise TabularError(
                f"the encoded table would have {width:,} columns, more than max_width="
                f"{self.max_width:,}: drop high-cardinality columns or raise max_width"
            )
        self.n_features_out_ = width
        return self

    def _check_settings(self) -> None:
        for name, low, high in (("integer_categories", 0, MAX_CATEGORIES),
                                ("max_categories", 2, MAX_CATEGORIES),
                                ("max_width", 1, MAX_WIDTH)):  # fmt: skip
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, Integral):
                raise TabularError(f"{name} must be an integer, got {value!r}")
            if not low <= value <= high:
                raise TabularError(f"{name} must be from {low} to {high:,}, got {value}")
        if self.categorical is not None and not all(isinstance(c, str) for c in self.categorical):
            raise TabularError("categorical must be a list of column names")

    def _fit_numeric(self, frame: pd.DataFrame) -> None:
        values = frame.to_numpy(dtype=np.float64)
        if np.isinf(values).any():
            column = frame.columns[np.isinf(values).any(axis=0)][0]
            raise TabularError(f"column {column!r} holds inf")
        missing = np.isnan(values)
        empty = frame.columns[missing.all(axis=0)] if len(values) else []
        if len(empty):
            raise TabularError(f"column {empty[0]!r} has no values (every row is missing)")
        medians = np.nanmedian(values, axis=0) if values.size else np.zeros(values.shape[1])
        filled = np.where(missing, medians, values)
        self.medians_ = medians
        self.means_ = filled.mean(axis=0)
        std = filled.std(axis=0)
        self.scales_ = np.where(std > 0, std, 1.0)
        self.indicator_columns_ = np.array(
            [c for c, m in zip(frame.columns, missing.any(axis=0), strict=True) if m], dtype=object
        )

    def _fit_categories(self, frame: pd.DataFrame) -> None:
        categories, counts = [], []
        for name in self.categorical_columns_:
            text = _as_text(frame[name])
            values = sorted(set(text) - {MISSING}) + ([MISSING] if (text == MISSING).any() else [])
            if len(values) > self.max_categories:
                raise TabularError(
                    f"categorical column {name!r} has {len(values):,} distinct values, more "
                    f"than max_categories={self.max_categories:,}: drop it (an identifier or "
                    "free text is no category) or raise max_categories"
                )
            categories += values
            counts.append(len(values))
        self.categories_ = np.array(categories, dtype=object)
        self.category_counts_ = np.array(counts, dtype=np.int64)

    def _aligned(self, X) -> pd.DataFrame:
        """``X``'s fitted columns in the fitted order; a missing or extra column is refused."""
        frame = self._frame(X)
        names = [str(c) for c in frame.columns]
        fitted = list(self.feature_names_in_)
        missing = [c for c in fitted if c not in names]
        if missing:
            raise TabularError(f"the table lacks the column(s) the model was fitted on: "
                               f"{_names(missing)}")  # fmt: skip
        extra = [c for c in names if c not in fitted]
        if extra:
            raise TabularError(f"the table has column(s) the model was not fitted on: "
                               f"{_names(extra)}; drop them")  # fmt: skip
        if len(set(names)) != len(names):
            raise TabularError("the table repeats a column name")
        frame = frame.copy(deep=False)
        frame.columns = names
        return frame[fitted]

    def transform(self, X):
        """Encode ``X``: a table with the fitted columns, in any order.

        Parameters
        ----------
        X : pandas.DataFrame

        Returns
        -------
        ndarray of float32
            One row per sample, ``n_features_out_`` columns.
        """
        check_is_fitted(self, "n_features_out_")
        frame = self._aligned(X)
        out = np.zeros((len(frame), self.n_features_out_), dtype=np.float32)
        numeric = list(self.numeric_columns_)
        values = np.empty((len(frame), len(numeric)))
        for j, name in enumerate(numeric):
            column = pd.to_numeric(frame[name], errors="coerce")
            bad = column.isna() & frame[name].notna()
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise TabularError(f"numeric column {name!r} holds {frame[name].iloc[row]!r} "
                                   f"in row {row}")  # fmt: skip
            values[:, j] = column.to_numpy(dtype=np.float64)
        if np.isinf(values).any():
            raise TabularError("a numeric column holds inf")
        missing = np.isnan(values)
        filled = np.where(missing, self.medians_, values)
        out[:, : len(numeric)] = (filled - self.means_) / self.scales_
        at = len(numeric)
        for name in self.indicator_columns_:
            out[:, at] = missing[:, numeric.index(name)]
            at += 1
        start = 0
        for name, count in zip(self.categorical_columns_, self.category_counts_, strict=True):
            cats = list(self.categories_[start : start + count])
            codes = pd.Index(cats).get_indexer(_as_text(frame[name]))  # -1: unseen
            rows = np.flatnonzero(codes >= 0)
            out[rows, at + codes[rows]] = 1.0
            at, start = at + count, start + count
        return out

    def get_feature_names_out(self, input_features=None):
        """Names of the encoded columns: ``age``, ``age_missing``, ``city_oslo``, ...

        Parameters
        ----------
        input_features : ignored

        Returns
        -------
        ndarray of str
        """
        check_is_fitted(self, "n_features_out_")
        names = list(self.numeric_columns_) + [f"{c}_missing" for c in self.indicator_columns_]
        start = 0
        for name, count in zip(self.categorical_columns_, self.category_counts_, strict=True):
            names += [f"{name}_{v}" for v in self.categories_[start : start + count]]
            start += count
        return np.array(names, dtype=object)

    def cardinalities(self) -> dict:
        """Distinct values of each categorical column (its one-hot width).

        Returns
        -------
        dict of str to int
        """
        check_is_fitted(self, "n_features_out_")
        return dict(zip(self.categorical_columns_, map(int, self.category_counts_), strict=True))
