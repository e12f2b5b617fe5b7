"""Feature files: one reader and one set of rules, for training and for ``skmlp predict``.

Training (a config's ``[data]``, :mod:`skmlp.experiment.data`) reads a table with
:func:`read_table` and an ``.npz`` with :func:`read_arrays`; ``skmlp predict``
reads its input with :func:`read_features`. All three go through :data:`SOURCES`,
the reader of each kind of file by how its name ends, under the same rules:

- The file exists; a name that ends in none of :data:`SOURCES`' endings is refused.
- What a file expands to in memory is checked against :func:`memory_budget` (1 GiB,
  or half the physical memory if less; ``$SKMLP_DATA_BUDGET`` sets it) while it is
  read, before what it expands to is allocated: a CSV's text is decompressed once, its
  bytes counted as they arrive (at :data:`BYTES_PER_CHARACTER` bytes a character); a
  Parquet file's columns are decoded batch by batch, their bytes counted; each
  array's declared size (which must also fit in the bytes the file stores), an IDX
  file's declared size. A table has at most :data:`MAX_COLUMNS` columns, a CSV row at
  most :data:`MAX_ROW_CHARACTERS` characters.
- Nothing is unpickled: an array of Python objects is refused before it is read.
- Every feature is a finite number (integer or float: not text, not a boolean, not
  empty, NaN or inf); the first that is not is named (a CSV's by data row, line and
  column, a Parquet table's by column and row). There is at least one row.
- A CSV is UTF-8 text (a byte order mark is allowed) whose rows, its header
  included, all have as many cells as its first; a blank line is a row without
  cells. pandas' index column (an empty first header cell, ``df.to_csv(path)``) is
  not a feature: it is dropped, and said. A training table's first row is its
  header (it names the target); ``skmlp predict`` tells a header from a row of
  numbers (``--header``).
- An ``.npz`` holds arrays named ``X``, ``y``, ``X_train``, ``y_train``,
  ``X_test``, ``y_test`` only; the ``X`` arrays are the features.

Every error is a :class:`FeatureFileError` (a ``ValueError``) that names the file.
This module imports neither Keras nor the experiment package: both
``skmlp predict`` and :mod:`skmlp.experiment.data` sit above it.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import os
import re
import warnings
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "BUDGET_VARIABLE",
    "BYTES_PER_CHARACTER",
    "DEFAULT_BUDGET",
    "MAX_COLUMNS",
    "MAX_ROW_CHARACTERS",
    "SOURCES",
    "FeatureFileError",
    "check_array",
    "check_feature_columns",
    "check_label",
    "memory_budget",
    "read_arrays",
    "read_features",
    "read_table",
]

#: A CSV value takes at least two characters ("0,") and eight bytes as a float64; pandas'
#: parse peaks at twice that.
BYTES_PER_CHARACTER = 8
#: The memory budget unless ``$SKMLP_DATA_BUDGET`` sets another: with it, a refused
#: file, or the parse of one within it, stays under 1.5 GB of process memory.
DEFAULT_BUDGET = 2**30
#: The environment variable that sets the memory budget, in bytes (``4G``, ``500M``, ...).
BUDGET_VARIABLE = "SKMLP_DATA_BUDGET"
#: The most columns a table may have: pandas takes seconds and about seven times the
#: table's size to parse 30,000 columns.
MAX_COLUMNS = 10_000
#: The longest CSV row, in characters (a hundred per column of the widest table).
MAX_ROW_CHARACTERS = 100 * MAX_COLUMNS
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
#: The arrays an ``.npz`` may hold; those named ``X...`` are features.
NPZ_ARRAYS = ("X", "y", "X_train", "y_train", "X_test", "y_test")
_TABLES = (".csv", ".csv.gz", ".parquet", ".pq")
#: The kinds of array an ``.npy`` or ``.npz`` may hold: integers, floats, booleans, text.
_ARRAY_KINDS = "iufbUS"
#: Deflate expands a byte to at most 1,032.
_DEFLATE_RATIO = 1032
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


class FeatureFileError(ValueError):
    """A feature file that cannot be read or breaks a rule; the message names the file."""


def memory_budget() -> int:
    """Bytes a data file may expand to in memory.

    ``$SKMLP_DATA_BUDGET`` when set (bytes, or with a ``K``, ``M``, ``G`` or ``T``
    suffix: ``4G``), else :data:`DEFAULT_BUDGET` (1 GiB), or half the physical memory
    if that is less.

    Returns
    -------
    int
    """
    value = os.environ.get(BUDGET_VARIABLE, "").strip().upper().removesuffix("B")
    if value:
        match = re.fullmatch(r"([0-9]{1,15})\s*([KMGT]?)I?", value)
        size = int(match[1]) * _UNITS[match[2]] if match else 0
        if not 2**20 <= size <= 2**50:
            raise FeatureFileError(
                f"{BUDGET_VARIABLE}={os.environ[BUDGET_VARIABLE]!r}: expected a size from 1M "
                "to 1024T (bytes, or with a K, M, G or T suffix)"
            )
        return size
    try:
        half = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (AttributeError, ValueError, OSError):
        half = DEFAULT_BUDGET
    return min(DEFAULT_BUDGET, half)


def _over(budget: int) -> str:
    """The end of a refusal: the budget and how to change it."""
    return f"the memory budget of {budget:,} bytes ({BUDGET_VARIABLE} to change it)"


def _short(value, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _warn(message: str) -> None:
    warnings.warn(message, UserWarning, stacklevel=4)


@dataclass(frozen=True)
class _Options:
    """How to read: a CSV's header, a table's target column, where notes go."""

    header: str = "yes"  # "yes", "no" or "auto" (a CSV's first row)
    label: str | None = None  # a table's target column: read as is, not a feature
    note: Callable[[str], None] = _warn
    numeric: bool = True  # every feature a finite number; else as pandas reads them


# ------------------------------------------------------------------ checks
def check_label(columns, label: str | None, path) -> None:
    """Refuse a table without its target column ``label`` (``None``: no target)."""
    if label is not None and label not in columns:
        raise FeatureFileError(
            f"{path}: no target column {label!r}; its columns are "
            f"{', '.join(map(str, list(columns)[:20]))}" + (" ..." if len(columns) > 20 else "")
        )


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
            example = f" (e.g. {_short(bad.iloc[0])} in row {bad.index[0]})" if len(bad) else ""
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


def check_array(X: np.ndarray, path, key: str) -> None:
    """A feature array: integers or floats, all finite, at least one row.

    Parameters
    ----------
    X : ndarray
        The array.
    path : path or str
        Where it comes from, for the message.
    key : str
        Its name in the file (``"X"`` for an ``.npy`` or IDX file).
    """
    if X.dtype.kind not in "iuf":
        raise FeatureFileError(
            f"{path}: {key} must hold finite numbers, not {X.dtype} values (encode text and "
            "booleans as numbers)"
        )
    if X.ndim == 0:
        raise FeatureFileError(
            f"{path}: {key} holds a single value (a 0-d array); expected one row per sample"
        )
    if X.size == 0:
        raise FeatureFileError(f"{path}: {key} holds no rows (shape {X.shape})")
    if X.dtype.kind == "f" and not np.isfinite(X).all():
        raise FeatureFileError(f"{path}: {key} must hold finite numbers, not NaN or inf")


# --------------------------------------------------------------------- CSV
def _read_text(path: Path) -> bytes:
    """A CSV's bytes, decompressed once; refused as soon as they pass the budget's share."""
    budget = memory_budget()
    limit = budget // BYTES_PER_CHARACTER
    gz = path.name.lower().endswith(".gz")
    refusal = FeatureFileError(
        f"{path}: {'decompresses to' if gz else 'holds'} more than {limit:,} bytes of text, "
        f"which as numbers may take more than {_over(budget)}"
    )
    if not gz and path.stat().st_size > limit:
        raise refusal
    chunks, size = [], 0
    with gzip.open(path, "rb") if gz else open(path, "rb") as f:
        while chunk := f.read(2**20):
            size += len(chunk)
            if size > limit:
                raise refusal
            chunks.append(chunk)
    return b"".join(chunks)


class _Rows:
    """CSV rows of in-memory text, each refused past :data:`MAX_ROW_CHARACTERS`."""

    def __init__(self, text: bytes, path: Path):
        self.path, self.length = path, 0
        self.reader = csv.reader(self._lines(io.TextIOWrapper(io.BytesIO(text), "utf-8-sig",
                                                              newline="")))  # fmt: skip

    def _lines(self, f):
        for line in f:
            self.length += len(line)
            if self.length > MAX_ROW_CHARACTERS:
                raise FeatureFileError(
                    f"{self.path}: line {self.reader.line_num + 1} is part of a row of more "
                    f"than {MAX_ROW_CHARACTERS:,} characters, the limit"
                )
            yield line

    def __iter__(self):
        try:
            for row in self.reader:
                self.length = 0
                yield row
        except csv.Error as exc:  # a cell over csv's field limit, a NUL byte, ...
            raise FeatureFileError(
                f"{self.path}: line {self.reader.line_num}: not a CSV row ({exc})"
            ) from None


def _is_number(cell: str) -> bool:
    """A finite decimal number, as pandas reads one (not ``nan``, ``inf``, ``True``, ``1_0``)."""
    return _NUMBER.fullmatch(cell.strip()) is not None


def _is_default_header(cells: list[str]) -> bool:
    """pandas' default header (0, 1, ..., n-1), or the same counted from 1."""
    values = [float(c) for c in cells]
    return values in (list(range(len(cells))), list(range(1, len(cells) + 1)))


def _csv_layout(path: Path, first: list[str], header: str) -> tuple[bool, bool]:
    """Whether the first row is a header, and whether the first column is an index."""
    if not first or not any(cell.strip() for cell in first):
        raise FeatureFileError(f"{path}: the file is empty (or its first line is)")
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
    raise FeatureFileError(
        f"{path}: cannot tell whether the first row is a header: it mixes numbers and text "
        f"(column {col}: {cells[col - 1]!r}); pass --header yes or --header no"
    )


@dataclass(frozen=True)
class _Layout:
    """A CSV's shape: header or not, index column or not, width, names, target column."""

    header: bool
    index: bool
    width: int
    names: list | None  # pandas' names of the header's cells
    label: int | None  # position of the target column


def _bad_cell(text: bytes, path: Path, layout: _Layout, numeric: bool = True) -> str | None:
    """Where the first row of another width, or the first feature cell that is not a number, is.

    The slow path, in words; ``None`` when every row and feature cell is fine.
    """
    rows = _Rows(text, path)
    for row_number, row in enumerate(rows, start=1 - layout.header):
        line = rows.reader.line_num
        if len(row) != layout.width:
            return (
                f"data row {row_number} (line {line}) has {len(row)} cells, "
                f"the {'header' if layout.header else 'first'} has {layout.width}"
            )
        for pos, cell in enumerate(row if row_number > 0 and numeric else ()):
            if pos != layout.label and not _is_number(cell):
                where = f"data row {row_number} (line {line}), {_column(layout, pos)}"
                return f"{where}: {_short(cell)} is not a number"
    return None


def _column(layout: _Layout, pos: int) -> str:
    if layout.index and pos == 0:
        return "the index column"
    return f"column {pos + 1}" + (f" ({layout.names[pos]!r})" if layout.names else "")


def _layout(text: bytes, path: Path, opts: _Options) -> _Layout:
    line = text[: text.find(b"\n")] if b"\n" in text else text
    if line.count(b",") >= MAX_COLUMNS:  # before csv makes a string of every cell
        raise FeatureFileError(
            f"{path}: its first line has more than {MAX_COLUMNS:,} cells, the limit"
        )
    first = next(iter(_Rows(text, path)), None)
    if first is not None and len(first) > MAX_COLUMNS:
        raise FeatureFileError(
            f"{path}: its first row has {len(first):,} cells, more than the limit of "
            f"{MAX_COLUMNS:,}"
        )
    has_header, index = _csv_layout(path, first, opts.header)
    names = (
        list(pd.read_csv(io.BytesIO(text), nrows=0, encoding="utf-8-sig").columns)
        if has_header
        else None
    )
    check_label((names[1:] if index else names) or [], opts.label, path)
    label = names.index(opts.label) if opts.label is not None else None
    return _Layout(has_header, index, len(first), names, label)


def _parse(text: bytes, layout: _Layout) -> pd.DataFrame | None:
    """The rows, types inferred by pandas; ``None`` if a row has more cells than the first."""
    try:
        return pd.read_csv(io.BytesIO(text), header=None, skiprows=int(layout.header),
                           skip_blank_lines=False, encoding="utf-8-sig")  # fmt: skip
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except pd.errors.ParserError:
        return None


def _features(frame: pd.DataFrame, layout: _Layout) -> pd.DataFrame:
    return frame.drop(columns=[layout.label]) if layout.label is not None else frame


def _clean(frame: pd.DataFrame, layout: _Layout) -> bool:
    """Every row as wide as the first, nothing missing, every feature a finite number."""
    if frame.shape[1] != layout.width or frame.isna().to_numpy().any():
        return False
    features = _features(frame, layout)
    if any(dtype.kind not in "iuf" for dtype in features.dtypes):  # text, booleans
        return False
    return bool(np.isfinite(features.to_numpy(dtype=np.float64)).all())


def _read_csv(path: Path, opts: _Options) -> pd.DataFrame:
    """A CSV's rows, every feature cell a finite float64 (the target column as read)."""
    try:
        text = _read_text(path)
        layout = _layout(text, path, opts)
        frame = _parse(text, layout)
        if frame is not None and frame.empty:
            what = "a header row but no data rows" if layout.header else "no data rows"
            raise FeatureFileError(f"{path}: the file has {what}")
        # the slow path names the problem; an empty target cell is the caller's to name
        # a table read as it is still has rows as wide as its header
        if frame is None or not opts.numeric or not _clean(frame, layout):
            problem = _bad_cell(text, path, layout, opts.numeric)
            if problem or frame is None:
                raise FeatureFileError(f"{path}: {problem or 'cannot be read as a table'}")
            # numbers pandas kept as text (integers beyond 64 bits); or an empty target cell
            if opts.numeric:
                frame = frame.astype(dict.fromkeys(_features(frame, layout).columns, np.float64))
    except UnicodeDecodeError as exc:
        raise FeatureFileError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except (OSError, EOFError, zlib.error) as exc:  # a damaged .gz, a file that cannot be read
        raise FeatureFileError(f"{path}: cannot be read ({exc})") from None
    if layout.names:
        frame.columns = layout.names
    if layout.index:
        opts.note(f"{path}: first column is an index (empty header cell); ignored")
        frame = frame.iloc[:, 1:]
    return frame


# ----------------------------------------------------------------- Parquet
def _read_parquet(path: Path, opts: _Options) -> pd.DataFrame:
    """A Parquet table, decoded within the budget (:mod:`skmlp._parquet`), its features checked."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise FeatureFileError(
            f"{path}: reading Parquet needs pyarrow: pip install 'skmlp[parquet]'"
        ) from None
    from ._parquet import ParquetRefusal, read_parquet

    budget = memory_budget()
    try:
        frame = read_parquet(path, budget, opts.label, MAX_COLUMNS, _over(budget), opts.numeric)
    except ParquetRefusal as exc:
        raise FeatureFileError(str(exc)) from None
    except Exception as exc:  # pyarrow raises many kinds on a bad file
        raise FeatureFileError(f"{path}: cannot read it as a table: {exc}") from None
    if frame.empty:
        raise FeatureFileError(f"{path}: the file has no data rows")
    check_label(frame.columns, opts.label, path)
    if not opts.numeric:
        return frame
    features = frame.drop(columns=[opts.label] if opts.label else [])
    text = [c for c in features.columns if isinstance(features[c].dtype, pd.CategoricalDtype)]
    check_feature_columns(features.astype(dict.fromkeys(text, object)), path)
    return frame


# ------------------------------------------------------------------ arrays
def _declared(f, path: Path, key: str, stored: int, budget: int) -> int:
    """Check one ``.npy`` header: no objects, a size within ``stored`` bytes and ``budget``."""
    version = np.lib.format.read_magic(f)
    read_header = (
        np.lib.format.read_array_header_1_0
        if version == (1, 0)
        else np.lib.format.read_array_header_2_0
    )
    shape, _, dtype = read_header(f)
    if dtype.hasobject:
        raise FeatureFileError(
            f"{path}: array {key!r} holds Python objects (a pickled array), which skmlp does "
            "not load; save a numeric array"
        )
    if dtype.kind not in _ARRAY_KINDS:  # records, raw bytes, dates, durations, complex
        raise FeatureFileError(
            f"{path}: array {key!r} holds {dtype} values; skmlp reads numbers (and labels "
            "as text) only"
        )
    nbytes = math.prod(shape) * dtype.itemsize
    stored -= f.tell()
    if nbytes > stored or nbytes > budget:
        raise FeatureFileError(
            f"{path}: array {key!r} declares {nbytes:,} bytes, more than "
            + (
                f"the {stored:,} bytes the file holds for it"
                if nbytes > stored
                else f"the {budget:,} left of the memory budget ({BUDGET_VARIABLE} to change it)"
            )
        )
    return nbytes


def _checked(path: Path, arrays: dict) -> dict:
    for key, X in arrays.items():
        if key.startswith("X"):
            check_array(X, path, key)
    return arrays


def _read_npy(path: Path, opts: _Options) -> dict:
    """One array, ``X``: its header checked before it is read, without pickle."""
    try:
        with open(path, "rb") as f:
            _declared(f, path, "X", path.stat().st_size, memory_budget())
            f.seek(0)
            X = np.lib.format.read_array(f, allow_pickle=False)
    except FeatureFileError:
        raise
    except (ValueError, OSError, EOFError) as exc:
        raise FeatureFileError(f"{path}: not a readable .npy array ({exc})") from None
    return _checked(path, {"X": X})


def _member_key(path: Path, info: zipfile.ZipInfo, seen: dict) -> str:
    """The array an ``.npz`` member holds, its compression and sizes checked."""
    key = info.filename.removesuffix(".npy")
    if key not in NPZ_ARRAYS or info.filename != f"{key}.npy":
        what = f"array {key!r}" if info.filename == f"{key}.npy" else f"member {info.filename!r}"
        raise FeatureFileError(
            f"{path}: unexpected {what}; an .npz for skmlp holds X_train, y_train, X_test, "
            "y_test (or X and y) only, each as NAME.npy"
        )
    if key in seen:
        raise FeatureFileError(f"{path}: holds {info.filename!r} twice")
    ratio = {zipfile.ZIP_STORED: 1, zipfile.ZIP_DEFLATED: _DEFLATE_RATIO}.get(info.compress_type)
    if ratio is None or info.flag_bits & 1:
        raise FeatureFileError(
            f"{path}: {info.filename!r} is encrypted or compressed other than np.savez and "
            "np.savez_compressed do (stored or deflated); skmlp reads those only"
        )
    if info.file_size > info.compress_size * ratio + 64:
        raise FeatureFileError(
            f"{path}: {info.filename!r} says it expands to {info.file_size:,} bytes, more than "
            f"its {info.compress_size:,} compressed bytes can hold"
        )
    return key


def _read_npz(path: Path, opts: _Options) -> dict:
    """The arrays of an ``.npz``, each header checked before it is read, without pickle."""
    budget, out = memory_budget(), {}
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            for info in members:
                out[_member_key(path, info, out)] = None
            out = {}
            for info in members:
                key = info.filename.removesuffix(".npy")
                with archive.open(info) as f:
                    budget -= _declared(f, path, key, info.file_size, budget)
                    f.seek(0)  # checked: now read it
                    out[key] = np.lib.format.read_array(f, allow_pickle=False)
    except FeatureFileError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, zlib.error) as exc:
        raise FeatureFileError(f"{path}: not a readable .npz file: {exc}") from None
    return _checked(path, out)


def _read_idx(path: Path, opts: _Options) -> dict:
    """An IDX file's array, ``X``, within the memory budget."""
    from .datasets import MAX_IDX_BYTES, read_idx

    try:
        X = read_idx(path, max_bytes=min(MAX_IDX_BYTES, memory_budget()))
    except ValueError as exc:
        raise FeatureFileError(str(exc)) from None
    return _checked(path, {"X": X})


#: The reader of each kind of file, by how its name ends: tables (a DataFrame) or
#: named arrays (a dict).
SOURCES = {
    ".csv": _read_csv,
    ".csv.gz": _read_csv,
    ".parquet": _read_parquet,
    ".pq": _read_parquet,
    ".npy": _read_npy,
    ".npz": _read_npz,
    "ubyte": _read_idx,  # IDX: train-images-idx3-ubyte, t10k-images.idx3-ubyte
    "ubyte.gz": _read_idx,
}


def _ending(path: Path) -> str | None:
    """The :data:`SOURCES` key that ``path``'s name ends with (``None``: none)."""
    if not path.is_file():
        raise FeatureFileError(f"data file {path} does not exist")
    name = path.name.lower()
    return next((e for e in sorted(SOURCES, key=len, reverse=True) if name.endswith(e)), None)


# ----------------------------------------------------------- entry points
def read_table(path: Path, label: str | None, note=None, numeric: bool = True) -> pd.DataFrame:
    """Read a training table: a CSV or Parquet file whose first row names its columns.

    Parameters
    ----------
    path : path
        A ``.csv``, ``.csv.gz``, ``.parquet`` or ``.pq`` file.
    label : str
        The target column: it must be there, and is read as it is.
    note : callable or None, default=None
        Told what was dropped (an index column); ``None`` warns.
    numeric : bool, default=True
        Every feature a finite number; ``False`` keeps the columns as pandas
        reads them (text, blanks), for :class:`skmlp.TabularEncoder`.

    Returns
    -------
    pandas.DataFrame
        Every column but ``label`` a checked feature.
    """
    path = Path(path)
    ending = _ending(path)
    if ending not in _TABLES:
        raise FeatureFileError(f"{path}: not a .csv, .csv.gz, .parquet or .pq file")
    return SOURCES[ending](path, _Options("yes", label, note or _warn, numeric))


def read_arrays(path: Path) -> dict:
    """Read a training ``.npz``: its arrays, the ``X`` ones checked as features.

    Parameters
    ----------
    path : path
        An ``.npz`` file.

    Returns
    -------
    dict of str to ndarray
    """
    path = Path(path)
    if _ending(path) != ".npz":
        raise FeatureFileError(f"{path}: not an .npz file")
    return _read_npz(path, _Options())


def read_features(path, header: str = "auto", note=None) -> np.ndarray:
    """Read ``skmlp predict``'s input: one row of features per sample.

    Parameters
    ----------
    path : str or path
        Any file of :data:`SOURCES`: a table (every column a feature), an array
        (``.npy``, IDX) or an ``.npz`` holding ``X``.
    header : {"auto", "yes", "no"}, default="auto"
        Whether a CSV's first row is a header; ``"auto"`` tells a row of names,
        or pandas' ``0, 1, ..., n-1``, from a row of numbers.
    note : callable or None, default=None
        Told what was dropped (an index column); ``None`` warns.

    Returns
    -------
    ndarray of shape (n_samples, n_features)
        Images are flattened; a 1-D array is one sample.
    """
    path = Path(path)
    ending = _ending(path)
    if ending is None:
        raise FeatureFileError(
            f"{path}: not a file skmlp reads: its name must end in .csv, .csv.gz, .parquet, "
            ".pq, .npy, .npz, or ubyte or ubyte.gz (IDX)"
        )
    source = SOURCES[ending](path, _Options(header, None, note or _warn))
    if isinstance(source, pd.DataFrame):
        X = source.to_numpy(dtype=np.float64)
    elif "X" in source:
        X = source["X"]
    else:
        raise FeatureFileError(
            f"{path}: holds {', '.join(sorted(source))}; predict reads the array X"
        )
    if X.ndim == 1:
        X = X.reshape(1, -1)
    return X.reshape(len(X), -1)
