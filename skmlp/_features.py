"""Feature files: the one place skmlp reads them, for training and for ``skmlp predict``.

Training (a config's ``[data]``, :mod:`skmlp.experiment.data`) reads a table with
:func:`read_table` (CSV or Parquet, by :data:`TABLES`) and an ``.npz`` with
:func:`read_npz`; ``skmlp predict`` reads its input with :func:`read_features`
(``.npy`` or CSV by :data:`FEATURES`, IDX otherwise). Every error is a
:class:`FeatureFileError` (a ``ValueError``) whose message names the file.

This module imports neither Keras nor the experiment: ``skmlp predict`` and
``skmlp.experiment.data`` both sit above it.
"""

from __future__ import annotations

import csv
import math
import os
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "FEATURES",
    "TABLES",
    "FeatureFileError",
    "check_feature_columns",
    "memory_budget",
    "read_features",
    "read_npz",
    "read_table",
]


class FeatureFileError(ValueError):
    """A feature file that cannot be read or breaks a rule; the message names the file."""


def memory_budget() -> int:
    """Bytes a data file may expand to: half the physical memory (1 GiB if unknown)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (AttributeError, ValueError, OSError):
        return 2**30


# -------------------------------------------------------- training tables
def _read_parquet_table(path: Path) -> pd.DataFrame:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise FeatureFileError(
            f"{path}: reading Parquet needs pyarrow: pip install 'skmlp[parquet]'"
        ) from None
    meta = pq.ParquetFile(path).metadata
    size = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if size > memory_budget():
        raise FeatureFileError(
            f"{path}: its columns expand to {size:,} bytes, more than the "
            f"{memory_budget():,} allowed (half this machine's memory)"
        )
    return pd.read_parquet(path)


def _read_csv_table(path: Path) -> pd.DataFrame:
    return pd.read_csv(path)


#: Training tables, by how the file's name ends.
TABLES = {
    ".csv": _read_csv_table,
    ".csv.gz": _read_csv_table,
    ".parquet": _read_parquet_table,
    ".pq": _read_parquet_table,
}


def read_table(path: Path) -> pd.DataFrame:
    """Read a training table (CSV or Parquet) whose first row names its columns.

    Parameters
    ----------
    path : path
        The file; its name's ending picks the reader (:data:`TABLES`).

    Returns
    -------
    pandas.DataFrame
        The table, columns unchecked (see :func:`check_feature_columns`).
    """
    if not path.is_file():
        raise FeatureFileError(f"data file {path} does not exist")
    name = path.name.lower()
    reader = next((r for end, r in TABLES.items() if name.endswith(end)), None)
    if reader is None:
        raise FeatureFileError(f"{path}: not a .csv, .csv.gz, .parquet or .pq file")
    try:
        return reader(path)
    except FeatureFileError:
        raise
    except Exception as exc:  # pandas and pyarrow raise many kinds on a bad file
        raise FeatureFileError(f"{path}: cannot read it as a table: {exc}") from None


def check_feature_columns(features: pd.DataFrame, path) -> None:
    """Every column numeric (not bool), complete and finite; the first that is not is named.

    Parameters
    ----------
    features : pandas.DataFrame
        The feature columns of a table.
    path : path or str
        Where they come from, for the message.
    """
    for name in features.columns:
        column = features[name]
        if not (pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)):
            bad = column[pd.to_numeric(column, errors="coerce").isna() & column.notna()]
            example = f" (e.g. {bad.iloc[0]!r} in row {bad.index[0]})" if len(bad) else ""
            raise FeatureFileError(
                f"{path}: feature column {name!r} is not numeric{example}; encode it as "
                "numbers or drop it"
            )
        if column.isna().any():
            rows = np.flatnonzero(column.isna().to_numpy())[:5].tolist()
            raise FeatureFileError(
                f"{path}: feature column {name!r} has missing values in rows {rows}"
            )
        if not np.isfinite(column.to_numpy(dtype=np.float64)).all():
            raise FeatureFileError(f"{path}: feature column {name!r} holds inf")


# -------------------------------------------------------------- npz arrays
def read_npz(path: Path, names) -> dict:
    """The arrays of an ``.npz``, without pickle, each size checked before it is read.

    Parameters
    ----------
    path : path
        The file.
    names : collection of str
        The arrays it may hold; any other is refused before anything is read.

    Returns
    -------
    dict of str to ndarray
    """
    if not path.is_file():
        raise FeatureFileError(f"data file {path} does not exist")
    budget, total, out = memory_budget(), 0, {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                key = info.filename.removesuffix(".npy")
                if key not in names:
                    raise FeatureFileError(
                        f"{path}: unexpected array {key!r}; an .npz for skmlp holds X_train, "
                        "y_train, X_test, y_test (or X and y) only"
                    )
                with archive.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    read_header = (
                        np.lib.format.read_array_header_1_0
                        if version == (1, 0)
                        else np.lib.format.read_array_header_2_0
                    )
                    shape, _, dtype = read_header(f)
                    if dtype.hasobject:
                        raise FeatureFileError(f"{path}: array {key!r} holds Python objects")
                    nbytes = math.prod(shape) * dtype.itemsize
                    total += nbytes
                    if nbytes > info.file_size or total > budget:
                        raise FeatureFileError(
                            f"{path}: array {key!r} declares {nbytes:,} bytes, more than its "
                            f"{info.file_size:,} stored bytes or the {budget:,} allowed"
                        )
                with archive.open(info) as f:  # checked: now read it
                    out[key] = np.lib.format.read_array(f, allow_pickle=False)
    except FeatureFileError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise FeatureFileError(f"{path}: not a readable .npz file: {exc}") from None
    return out


# ------------------------------------------------- predict's feature files
def _is_number(cell: str) -> bool:
    try:
        return math.isfinite(float(cell))
    except ValueError:
        return False


def _is_default_header(cells: list[str]) -> bool:
    """pandas' default header (0, 1, ..., n-1), or the same counted from 1."""
    values = [float(c) for c in cells]
    return values in (list(range(len(cells))), list(range(1, len(cells) + 1)))


def _csv_layout(path: Path, header: str) -> tuple[bool, bool]:
    """Whether the first row is a header, and whether the first column is an index."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        first = next(csv.reader(f), None)
    if not first or not any(cell.strip() for cell in first):
        raise ValueError(f"{path}: the file is empty (or its first line is)")
    # pandas writes its index under an empty header cell: `df.to_csv(path)`
    index = header != "no" and len(first) > 1 and first[0].strip() == ""
    cells = first[1:] if index else first
    numeric = [_is_number(c) for c in cells]
    if header == "yes" or index:
        return True, index
    if header == "no":
        return False, False
    if all(numeric):
        return _is_default_header(cells), False
    if not any(numeric):
        return True, False  # names, such as pixel0, pixel1, ...
    col = numeric.index(False) + 1
    raise ValueError(
        f"{path}: cannot tell whether the first row is a header: it mixes numbers and text "
        f"(column {col}: {cells[col - 1]!r}); pass --header yes or --header no"
    )


def _bad_cell(path: Path, skip: int, index: bool) -> str:
    """Where the first cell that is not a number is, in words (the slow path)."""
    width = None
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        for row_number, row in enumerate(reader, start=1 - skip):
            if row_number < 1:
                continue
            row = row[1:] if index else row
            if width is None:
                width = len(row)
            if len(row) != width:
                return (
                    f"data row {row_number} (line {reader.line_num}) has {len(row)} cells, "
                    f"the first has {width}"
                )
            for col, cell in enumerate(row, start=1):
                if not _is_number(cell):
                    return (
                        f"data row {row_number} (line {reader.line_num}), column {col}: "
                        f"{cell!r} is not a number"
                    )
    return "a cell is not a number"  # pragma: no cover - pandas and csv disagree


def _read_csv(path: Path, header: str):
    has_header, index = _csv_layout(path, header)
    try:
        frame = pd.read_csv(path, header=None, skiprows=int(has_header), dtype=np.float64,
                            skip_blank_lines=False, encoding="utf-8-sig")  # fmt: skip
    except pd.errors.EmptyDataError:
        frame = None
    except ValueError:  # a cell that is not a number, or a ragged row
        raise ValueError(f"{path}: {_bad_cell(path, int(has_header), index)}") from None
    if frame is None or frame.empty:
        what = "a header row but no data rows" if has_header else "no data rows"
        raise ValueError(f"{path}: the file has {what}")
    X = frame.to_numpy()[:, 1:] if index else frame.to_numpy()
    if not np.isfinite(X).all():
        raise ValueError(f"{path}: {_bad_cell(path, int(has_header), index)}")
    if index:
        print(f"skmlp: {path}: first column is an index (empty header cell); ignored",
              file=sys.stderr)  # fmt: skip
    return X


def _read_npy(path: Path, header: str):
    try:
        X = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise ValueError(
                f"{path}: holds Python objects (a pickled array), which skmlp does not load; "
                "save a numeric array"
            ) from None
        raise ValueError(f"{path}: not a readable .npy array ({exc})") from None
    if not isinstance(X, np.ndarray):
        raise ValueError(f"{path}: an .npz archive, not one .npy array")
    if X.ndim == 0:
        raise ValueError(f"{path}: holds a single value (a 0-d array); expected one image per row")
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{path}: holds {X.dtype} values; expected numbers")
    if X.size == 0:
        raise ValueError(f"{path}: holds no images (shape {X.shape})")
    return X


def _read_idx(path: Path, header: str):
    from .datasets import read_idx

    return read_idx(path)


#: ``skmlp predict``'s inputs, by how the file's name ends; IDX for any other name.
FEATURES = {".npy": _read_npy, ".csv": _read_csv}


def read_features(path: str, header: str = "auto") -> np.ndarray:
    """Read ``skmlp predict``'s input: one row of features per sample.

    Parameters
    ----------
    path : str
        An IDX file (gzipped or not), a ``.npy`` array or a ``.csv`` of rows.
    header : {"auto", "yes", "no"}, default="auto"
        Whether a CSV's first row is a header; ``"auto"`` tells a row of names,
        or pandas' ``0, 1, ..., n-1``, from a row of numbers.

    Returns
    -------
    ndarray of shape (n_samples, n_features)
        Images are flattened; a 1-D array is one sample.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"input file {path} does not exist")
    name = p.name.lower()
    reader = next((r for end, r in FEATURES.items() if name.endswith(end)), _read_idx)
    X = np.asarray(reader(p, header))
    if X.ndim == 1:
        X = X.reshape(1, -1)
    return X.reshape(len(X), -1)
