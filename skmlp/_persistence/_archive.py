"""The container: format sniffing, the zip read within budgets, the manifest.

:func:`file_format` tells a file's format from its first bytes; :func:`_read_zip`
reads a zip's members, each within its budget, before anything is decompressed;
:func:`_read_archive` reads an skmlp file's manifest and members and checks their
checksums and the format version.
"""

from __future__ import annotations

import hashlib
import itertools
import zipfile
import zlib
from pathlib import Path

from ._json import _parse_json
from ._limits import (
    MAX_MANIFEST_BYTES,
    MAX_MEMBER_BYTES,
    MAX_MEMBERS,
    MAX_RATIO,
    RATIO_FLOOR,
    ModelFileError,
    printable,
)

FORMAT = "skmlp-model"
#: Version of the file layout written by this skmlp; files of a higher version are refused.
FORMAT_VERSION = 1
MANIFEST = "skmlp.json"
MANIFEST_SUM = "skmlp.json.sha256"
SUFFIX = ".skmlp"


# joblib writes plain pickles (protocol 2-5 start with 0x80 and the protocol byte)
# or compresses them: zlib, gzip, bz2, xz, lzma and lz4 signatures.
_COMPRESSED_PICKLE = (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda", b"\x1f\x8b", b"BZh",
                      b"\xfd7zXZ\x00", b"\x5d\x00\x00", b"\x04\x22\x4d\x18")  # fmt: skip


def file_format(path) -> str:
    """Tell a model file's format from its first bytes, whatever its name.

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    str
        ``"zip"`` (an skmlp model file, or a damaged or foreign zip),
        ``"pickle"`` (a pickle or a compressed joblib file), ``"empty"`` or
        ``"unknown"``.
    """
    with open(path, "rb") as f:
        head = f.read(8)
    if not head:
        return "empty"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if (head[0] == 0x80 and 2 <= head[1] <= 5) or head.startswith(_COMPRESSED_PICKLE):
        return "pickle"
    return "unknown"


def _pickle_refusal(path) -> ModelFileError:
    return ModelFileError(
        f"{path}: this is a pickle (such as a joblib file), not an skmlp model file; "
        "skmlp never unpickles by default, because loading a pickle can run any code. "
        "Only for a file you made yourself: skmlp predict --trust-pickle, or "
        "skmlp.load_pickle(path) in Python"
    )


def _check_layout(zf: zipfile.ZipFile, infos, where: str) -> None:
    """Every member's bytes lie in the file, before the central directory, apart.

    A zip's central directory may point many members at the same bytes (a bomb by
    overlap: each member within its budget, their sum unbounded), or past the end
    of the file. Each member's range (its local header, name, extra field and
    compressed data) is read from its 30-byte local header, before anything is
    decompressed; ranges that overlap or leave the file are refused.
    """
    ranges = []
    for info in infos:
        zf.fp.seek(info.header_offset)
        head = zf.fp.read(30)
        if len(head) != 30 or head[:4] != b"PK\x03\x04":
            raise ModelFileError(
                f"{where}: member {printable(info.filename)} has no local header at byte "
                f"{info.header_offset}"
            )
        extra = int.from_bytes(head[26:28], "little") + int.from_bytes(head[28:30], "little")
        end = info.header_offset + 30 + extra + info.compress_size
        ranges.append((info.header_offset, end, info.filename))
    ranges.sort()
    for (_, end, first), (start, _, second) in itertools.pairwise(ranges):
        if start < end:
            raise ModelFileError(
                f"{where}: members {printable(first)} and {printable(second)} overlap (bytes "
                f"{start} to {end}): refusing a zip whose members share their data"
            )
    if ranges and ranges[-1][1] > zf.start_dir:
        raise ModelFileError(
            f"{where}: member {printable(ranges[-1][2])} runs to byte {ranges[-1][1]}, past the "
            f"member data's end at byte {zf.start_dir}"
        )


def _read_zip(source, where: str, wanted, *, required=(), refuse_others=True, skip=()) -> dict:
    """Read the ``wanted`` members of a zip, each within its budget, each once.

    Duplicate names, members whose bytes overlap or leave the file
    (:func:`_check_layout`), compression other than stored or deflate, members over
    ``MAX_MEMBER_BYTES`` or over ``MAX_RATIO`` times their compressed size are
    refused before anything is decompressed; each member is then read in chunks
    and refused as soon as it passes the size its header declares. Members not
    wanted are refused (``refuse_others``) or never read, as are those in ``skip``
    (already read).
    """
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise ModelFileError(
            f"{where}: not a complete zip archive (truncated or damaged: {exc})"
        ) from None
    with zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        if len(infos) > MAX_MEMBERS:
            raise ModelFileError(f"{where}: {len(infos)} members, over the limit of {MAX_MEMBERS}")
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ModelFileError(f"{where}: duplicate member names {dup[:5]}")
        others = set(names) - set(wanted) - set(skip)
        if refuse_others and others:
            raise ModelFileError(f"{where}: unexpected members {sorted(others)[:5]}")
        missing = set(required) - set(names)
        if missing:
            raise ModelFileError(f"{where}: member {sorted(missing)[0]} is missing")
        _check_layout(zf, infos, where)
        out = {}
        for info in infos:
            if info.filename not in wanted or info.filename in skip:
                continue  # never read, never extracted
            name = info.filename
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise ModelFileError(
                    f"{where}: member {printable(name)} uses compression method "
                    f"{info.compress_type}; skmlp files use deflate only"
                )
            limit = wanted[name] if isinstance(wanted, dict) else MAX_MEMBER_BYTES
            if info.file_size > limit:
                raise ModelFileError(
                    f"{where}: member {printable(name)} declares {info.file_size} bytes, over the "
                    f"limit of {limit}"
                )
            if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(
                info.compress_size, 1
            ):
                raise ModelFileError(
                    f"{where}: member {printable(name)} would expand {info.compress_size} bytes to "
                    f"{info.file_size} (over {MAX_RATIO} times): refusing a compression bomb"
                )
            chunks, size = [], 0
            try:
                with zf.open(info) as f:
                    while chunk := f.read(2**20):
                        size += len(chunk)
                        if size > info.file_size:
                            raise ModelFileError(
                                f"{where}: member {printable(name)} is longer than its declared "
                                f"{info.file_size} bytes"
                            )
                        chunks.append(chunk)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                raise ModelFileError(
                    f"{where}: member {printable(name)} is damaged ({exc})"
                ) from None
            out[name] = b"".join(chunks)
    return out


def _read_archive(path: Path) -> tuple[dict, dict[str, bytes]]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    kind = file_format(path)
    if kind == "pickle":
        raise _pickle_refusal(path)
    if kind != "zip":
        raise ModelFileError(f"{path}: not an skmlp model file ({kind} content, not a zip)")
    # the central directory first: names, sizes, methods; nothing decompressed yet
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise ModelFileError(
            f"{path}: not a complete zip archive (truncated or damaged: {exc})"
        ) from None
    if MANIFEST not in names or MANIFEST_SUM not in names:
        raise ModelFileError(f"{path}: not an skmlp model file (no {MANIFEST} manifest)")
    head = _read_zip(
        path, str(path), {MANIFEST: MAX_MANIFEST_BYTES, MANIFEST_SUM: 256}, refuse_others=False
    )
    manifest_bytes = head[MANIFEST]
    expected = head[MANIFEST_SUM].decode("ascii", "replace").strip()
    if hashlib.sha256(manifest_bytes).hexdigest() != expected:
        raise ModelFileError(f"{path}: the manifest does not match its checksum")
    manifest = _parse_json(manifest_bytes, f"{path} manifest", MAX_MANIFEST_BYTES)
    _check_header(manifest, path)
    listed = manifest.get("members", {})
    if (
        not isinstance(listed, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in listed.items())
        or {MANIFEST, MANIFEST_SUM} & set(listed)
    ):
        raise ModelFileError(f"{path}: the manifest's member list is malformed")
    # every other member once, the manifest not again; any member not listed is refused
    members = _read_zip(path, str(path), set(listed), required=set(listed),
                        skip=(MANIFEST, MANIFEST_SUM))  # fmt: skip
    for name, digest in listed.items():
        if hashlib.sha256(members[name]).hexdigest() != digest:
            raise ModelFileError(f"{path}: member {printable(name)} does not match its checksum")
    return manifest, members


def _check_header(manifest: dict, path: Path) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not an skmlp model file (format is not {FORMAT!r})")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        written = manifest.get("written_by")
        wrote = written.get("skmlp") if isinstance(written, dict) else None
        from .. import __version__

        raise ModelFileError(
            f"{path}: written by skmlp {wrote or 'a newer skmlp'} in model-file format "
            f"{version}; this skmlp ({__version__}) reads formats up to {FORMAT_VERSION}: "
            "upgrade skmlp to load it"
        )


def is_model_file(path) -> bool:
    """Whether ``path`` looks like an skmlp model file (a zip holding the manifest)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return MANIFEST in zf.namelist()
    except (OSError, zipfile.BadZipFile):
        return False
