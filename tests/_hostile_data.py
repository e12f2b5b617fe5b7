"""Hostile data files (issue 24, finding 4): small on disk, gigabytes once read.

Each generator writes its file into a folder without ever holding what it expands to:
a deflate stream of zeros is made by repeating one fully flushed block, and its CRC
is computed chunk by chunk. ``scale`` is the bytes the file expands to; tests pass a
small one (and a small ``SKMLP_DATA_BUDGET``), :data:`CASES` the issue's.

``CASES = [(finding, name, make), ...]``: ``make(folder)`` writes the hostile input(s)
at full scale into ``folder`` and returns the arguments of ``python -m skmlp`` that must
be refused (exit code not 0, one line), run with ``folder`` as the working directory.
Used by ``tests/test_trust_data.py`` and the issue's benchmark.
"""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import numpy as np
from _hostile import _zip_bytes  # a zip of deflate streams made elsewhere

GB = 10**9
_CHUNK = 2**24
_GZ_HEAD = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # a gzip member's header


# ------------------------------------------------------------------ deflate
def _raw_deflate(data: bytes) -> bytes:
    """``data`` as non-final, byte-aligned deflate blocks (so that copies concatenate)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(zlib.Z_FULL_FLUSH)


def deflate_repeated(head: bytes, block: bytes, total: int) -> tuple[bytes, int, int]:
    """Raw deflate of ``head`` and then ``block`` repeated to ``total`` bytes.

    Returns the stream, its CRC-32 and the expanded size.
    """
    parts, crc, left = [_raw_deflate(head)], zlib.crc32(head), total - len(head)
    whole = _raw_deflate(block)
    while block and left >= len(block):
        parts.append(whole)
        crc = zlib.crc32(block, crc)
        left -= len(block)
    if left:
        parts.append(_raw_deflate(block[:left]))
        crc = zlib.crc32(block[:left], crc)
    end = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts.append(end.flush())  # the final (empty) block
    return b"".join(parts), crc, total


def npy_header(shape, descr="<f8") -> bytes:
    buf = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": tuple(shape)}
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue()


# ------------------------------------------------------------------ files
def npz_bomb(path: Path, scale: int) -> Path:
    """An ``.npz`` whose ``X.npy`` and ``y.npy`` really expand to ``scale`` bytes of zeros.

    Each member is under 4 GiB (a plain zip); the file is about ``scale / 1000`` bytes.
    """
    rows = scale // 2 // (8 * 101)
    members = []
    for name, shape in (("X.npy", (rows, 100)), ("y.npy", (rows * 100,))):
        head = npy_header(shape)
        members.append((name, *deflate_repeated(head, b"\0" * _CHUNK, len(head) + rows * 800)))
    path.write_bytes(_zip_bytes(members))
    return path


def npz_declared(path: Path, scale: int) -> Path:
    """A 1 KB ``.npz`` whose members' headers, and zip sizes, claim ``scale`` bytes."""
    rows = scale // 2 // (8 * 101)
    members = []
    for name, shape in (("X.npy", (rows, 100)), ("y.npy", (rows * 100,))):
        head = npy_header(shape)
        comp, crc, _ = deflate_repeated(head, b"\0" * 1024, len(head) + 1024)
        members.append((name, comp, crc, min(len(head) + rows * 800, 2**32 - 1)))
    path.write_bytes(_zip_bytes(members))
    return path


def csv_gz_bomb(path: Path, scale: int, columns: int = 100) -> Path:
    """A ``.csv.gz`` of ``scale / 5`` bytes of text (``0,0,...`` rows), 5 bytes a character
    once parsed: about ``scale / 5000`` bytes on disk."""
    header = (",".join(f"x{i}" for i in range(columns)) + ",target\n").encode()
    rows = (",".join(["0"] * columns) + ",0\n" + ",".join(["0"] * columns) + ",1\n").encode()
    block = rows * (_CHUNK // len(rows))
    text = len(header) + (scale // 5 - len(header)) // len(rows) * len(rows)  # whole rows
    comp, crc, size = deflate_repeated(header, block, text)
    gz_head = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    path.write_bytes(
        gz_head + comp + crc.to_bytes(4, "little") + (size % 2**32).to_bytes(4, "little")
    )
    return path


def csv_wide(path: Path, cells: int) -> Path:
    """A ``.csv.gz`` whose header has ``cells`` cells: pandas takes kilobytes a column."""
    header = b"target," + b"x," * (cells - 2) + b"x\n"
    head = header + b"0," * (cells - 1) + b"0\n"
    comp, crc, size = deflate_repeated(head, b"", len(head))
    path.write_bytes(
        _GZ_HEAD + comp + crc.to_bytes(4, "little") + (size % 2**32).to_bytes(4, "little")
    )
    return path


def parquet_bomb(path: Path, scale: int, value_bytes: int = 10_000) -> Path:
    """A Parquet file whose text column repeats one long value: dictionary- and RLE-encoded,
    a few kilobytes, it decodes to ``scale`` bytes of text (its metadata says far less)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = max(scale // value_bytes, 2)
    group = min(rows, 100_000)
    dictionary = pa.array(["A" * value_bytes])
    schema = pa.schema([("x0", pa.float64()), ("note", pa.dictionary(pa.int32(), pa.string())),
                        ("target", pa.int64())])  # fmt: skip
    # without the stored Arrow schema, a reader sees a plain text column
    with pq.ParquetWriter(path, schema, store_schema=False) as writer:
        done = 0
        while done < rows:
            n = min(group, rows - done)
            note = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), dictionary)
            x0, target = pa.array(np.zeros(n)), pa.array(np.arange(n) % 2)
            writer.write_table(pa.Table.from_arrays([x0, note, target], schema=schema))
            done += n
    return path


# ------------------------------------------------------------------ CASES
def _config(folder: Path, data: str) -> list[str]:
    (folder / "c.toml").write_text(
        f"[data]\n{data}\n[estimator]\nmax_iter = 1\n[search]\ncv = 2\n"
        "[search.space]\nhidden_layer_sizes = [[4]]\n"
    )
    return ["run", "--config", "c.toml", "--out", "out"]


def _make_npz(folder: Path) -> list[str]:
    npz_bomb(folder / "bomb.npz", 6 * GB)
    return _config(folder, 'npz = "bomb.npz"')


def _make_npz_declared(folder: Path) -> list[str]:
    npz_declared(folder / "declared.npz", 6 * GB)
    return _config(folder, 'npz = "declared.npz"')


def _make_csv_gz(folder: Path) -> list[str]:
    csv_gz_bomb(folder / "bomb.csv.gz", 3 * GB + GB // 5)
    return _config(folder, 'path = "bomb.csv.gz"\ntarget = "target"')


def _make_csv_wide(folder: Path) -> list[str]:
    csv_wide(folder / "wide.csv.gz", 20_000_000)
    return _config(folder, 'path = "wide.csv.gz"\ntarget = "target"')


def _make_parquet(folder: Path) -> list[str]:
    parquet_bomb(folder / "bomb.parquet", 8 * GB)
    return _config(folder, 'path = "bomb.parquet"\ntarget = "target"')


CASES = [
    (4, "npz-deflated-6GB", _make_npz),
    (4, "npz-declared-6GB-1KB", _make_npz_declared),
    (4, "csv-gz-3.2GB", _make_csv_gz),
    (4, "csv-gz-20M-columns", _make_csv_wide),
    (4, "parquet-dictionary-8GB", _make_parquet),
]
