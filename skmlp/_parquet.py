"""Parquet tables read within a byte budget, for :mod:`skmlp._features`.

A Parquet file's metadata can say 20 MB of columns while its dictionary- or
run-length-encoded pages decode to gigabytes, so the metadata is not trusted: the
schema is checked first (a bounded number of columns, each of a kind skmlp reads),
then the columns are decoded batch by batch, each new buffer's bytes counted against
the budget as it arrives, and the read stops as soon as they pass it. Text columns
stay dictionary-encoded (a pandas ``Categorical``), so that a long value repeated on
every row is held once.

Every refusal is a :class:`ParquetRefusal` (a ``ValueError``) whose message names the
file; :mod:`skmlp._features` turns it into its ``FeatureFileError``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["ParquetRefusal", "read_parquet"]

#: Bytes of fixed-width columns decoded at a time (the rows of a batch follow).
BATCH_BYTES = 2**24


class ParquetRefusal(ValueError):
    """A Parquet file refused: too large, too wide, or of a kind skmlp does not read."""


def _kind(pa, dtype) -> str:
    """``"number"``, ``"bool"``, ``"text"`` or what else a column holds (a target's kind)."""
    if pa.types.is_dictionary(dtype):
        dtype = dtype.value_type
    if pa.types.is_integer(dtype) or pa.types.is_floating(dtype):
        return "number"
    if pa.types.is_boolean(dtype):
        return "bool"
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return "text"
    return str(dtype)


def _check_schema(pa, schema, path: Path, label: str | None, max_columns: int) -> list:
    """The text columns; refuse a table too wide or with a column of another kind."""
    if len(schema) > max_columns:
        raise ParquetRefusal(
            f"{path}: has {len(schema):,} columns, more than the limit of {max_columns:,}"
        )
    text = []
    for field in schema:
        kind = _kind(pa, field.type)
        if kind == "text":
            text.append(field.name)
        elif field.name == label and kind not in ("number", "bool"):
            raise ParquetRefusal(
                f"{path}: the target column {label!r} holds {field.type} values; a target is "
                "numbers or labels (text), not dates, durations, bytes or nested values"
            )
        elif field.name != label and kind not in ("number", "bool", "text"):
            raise ParquetRefusal(
                f"{path}: feature column {field.name!r} is not numeric ({field.type} values); "
                "encode it as numbers or drop it"
            )
    return text


def _new_bytes(batch, seen: set) -> int:
    """Bytes of the batch's buffers not counted before (a dictionary is shared by batches)."""
    size = 0
    for column in batch.columns:
        arrays = [column, column.dictionary] if hasattr(column, "dictionary") else [column]
        for array in arrays:
            for buffer in array.buffers():
                if buffer is not None and (buffer.address, buffer.size) not in seen:
                    seen.add((buffer.address, buffer.size))
                    size += buffer.size
    return size


def short(value, limit: int = 40) -> str:
    """``repr(value)``, cut to ``limit`` characters: a value from a file, for a one-line message."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def read_parquet(path: Path, budget: int, label: str | None, max_columns: int,
                 over: str, numeric: bool = True) -> pd.DataFrame:  # fmt: skip
    """A Parquet table, decoded within ``budget`` bytes.

    Parameters
    ----------
    path : path
        The file.
    budget : int
        Bytes its columns may decode to.
    label : str or None
        The target column, which may hold text labels; ``None``: every column is a feature.
    max_columns : int
        The most columns the table may have.
    over : str
        The budget in words, for the refusal ("the memory budget of ... bytes").
    numeric : bool, default=True
        Refuse a text feature; ``False`` reads it (dictionary-encoded).

    Returns
    -------
    pandas.DataFrame
        Text columns as ``Categorical``; their check is the caller's.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.ParquetFile(path).schema_arrow
    text = _check_schema(pa, schema, path, label, max_columns)
    parquet = pq.ParquetFile(path, read_dictionary=text)
    for name in text:  # a text feature: refused on its first value, before the rest is read
        if name != label and numeric:
            batch = next(parquet.iter_batches(batch_size=1, columns=[name]), None)
            value = batch.column(0)[0].as_py() if batch is not None and len(batch) else None
            example = f" (e.g. {short(value)} in row 0)" if value is not None else ""
            raise ParquetRefusal(
                f"{path}: feature column {name!r} is not numeric{example}; encode it as "
                "numbers or drop it"
            )
    meta, width = parquet.metadata, 0
    for field in schema:  # what the declared rows take at least, before any is decoded
        width += field.type.bit_width // 8 if pa.types.is_primitive(field.type) else 4
    if meta.num_rows * width > budget:
        raise ParquetRefusal(
            f"{path}: declares {meta.num_rows:,} rows of {width} bytes, more than {over}"
        )
    batches, seen, size = [], set(), 0
    rows = min(max(BATCH_BYTES // max(width, 1), 1), 2**20)
    for batch in parquet.iter_batches(batch_size=rows, use_threads=False):
        size += _new_bytes(batch, seen)
        if size > budget:
            raise ParquetRefusal(f"{path}: its columns decode to more than {over}")
        batches.append(batch)
    table = pa.Table.from_batches(batches, schema=batches[0].schema) if batches else None
    if table is None:
        return pd.DataFrame(columns=schema.names)
    return table.to_pandas()
