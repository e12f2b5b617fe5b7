"""Hostile ``.skmlp`` files of issue 24, findings 3 and 6, generated from a legitimate one.

Finding 3: Keras builds whatever object a network config names wherever it names it,
so a file of a few kilobytes that names only allowed classes could still allocate
without bound: a ``Dense`` layer with a huge ``lora_rank``, or a ``Dense`` layer in
the place of another layer's activation or initializer. Finding 6: a zip whose
central directory points many members at the same bytes (each member within its
budget, their sum unbounded) expanded a 458 KB file to 2.6 GB.

Each generator takes the legitimate file's bytes and returns the hostile file's
bytes. :data:`CASES` lists ``(finding, name, make)``: ``make(folder)`` writes the
hostile file at the issue's full scale, beside a small valid features file, and
returns the ``python -m skmlp`` arguments that must be refused (used by
``tests/test_trust_model_files.py`` and the trust benchmark). Tests use the same
generators at a small scale.
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
from _hostile import (
    MANIFEST,
    MANIFEST_SUM,
    NETWORK,
    _deflated,
    _first_dense,
    _layers,
    edit_config,
    edit_inner,
    read_members,
)


# ----------------------------------------------------- finding 3: the network config
def lora_rank(legit: bytes, rank: int = 2**26) -> bytes:
    """The first Dense layer asks for LoRA weights of ``rank``: ``rank * (fan_in + units)``
    floats, built before any weight is read (2**26: over 16 GB for a 64-input layer)."""
    return edit_config(
        legit, lambda c: _first_dense(c)["config"].update(lora_rank=rank, lora_alpha=rank)
    )


def _dense(units: int) -> dict:
    return {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
            "config": {"name": "evil", "units": units, "use_bias": False}}  # fmt: skip


def dense_as_activation(legit: bytes, units: int = 2**27) -> bytes:
    """The output layer's activation is a Dense layer of ``units``: built and called at
    predict, a (n_classes, units) kernel (2**27: 5 GB for 10 classes) and a (rows, units)
    output per batch."""

    def change(config):
        dense = [la for la in _layers(config) if la["class_name"] == "Dense"]
        dense[-1]["config"]["activation"] = _dense(units)

    return edit_config(legit, change)


def dense_as_initializer(legit: bytes, units: int = 2**27) -> bytes:
    """The first Dense layer's kernel initializer is a Dense layer of ``units``."""
    return edit_config(
        legit, lambda c: _first_dense(c)["config"].update(kernel_initializer=_dense(units))
    )


def shared_object_swap(legit: bytes, units: int = 2**27) -> bytes:
    """A Dense layer's activation names the allowed class ``Zeros`` but shares its object
    id with a Dense layer seen before it: Keras hands back the shared object, the layer."""

    def change(config):
        first = _first_dense(config)
        first["config"]["kernel_regularizer"] = {**_dense(units), "shared_object_id": 7}
        zeros = {"module": "keras.initializers", "class_name": "Zeros", "config": {},
                 "registered_name": None, "shared_object_id": 7}  # fmt: skip
        first["config"]["bias_initializer"] = zeros

    return edit_config(legit, change)


def config_edit(legit: bytes, layer: str, key: str, value) -> bytes:
    """Set one argument of the first layer of class ``layer``."""

    def change(config):
        target = next(la for la in _layers(config) if la["class_name"] == layer)
        target["config"][key] = value

    return edit_config(legit, change)


# ------------------------------------------------- finding 6: members that share bytes
def _shared_data_zip(members, shared_names, shared) -> bytes:
    """A zip of ``members`` ((name, bytes) deflated normally), then ``shared_names``
    members whose bytes all lie in one place.

    The shared members' local headers follow one another, each one's extra field
    spanning the headers after it, so that every one of them starts its data at the
    same byte: ``shared`` = (deflated bytes, crc, expanded size). zipfile checks a
    local header's name, not where its data lies.
    """
    le = lambda n, k: n.to_bytes(k, "little")  # noqa: E731
    out, central = bytearray(), []

    def header(name: bytes, comp_len, crc, size, extra_len):
        return (b"PK\x03\x04" + le(20, 2) + le(0, 2) + le(8, 2) + le(0, 4) + le(crc, 4)
                + le(comp_len, 4) + le(size, 4) + le(len(name), 2) + le(extra_len, 2)
                + name)  # fmt: skip

    def entry(name: bytes, comp_len, crc, size, offset):
        return (b"PK\x01\x02" + le(20, 2) * 2 + le(0, 2) + le(8, 2) + le(0, 4) + le(crc, 4)
                + le(comp_len, 4) + le(size, 4) + le(len(name), 2) + le(0, 12) + le(offset, 4)
                + name)  # fmt: skip

    for name, data in members:
        comp, crc, size = _deflated(data)
        central.append(entry(name.encode(), len(comp), crc, size, len(out)))
        out += header(name.encode(), len(comp), crc, size, 0) + comp
    comp, crc, size = shared
    names = [n.encode() for n in shared_names]
    lengths = [30 + len(n) for n in names]
    for i, name in enumerate(names):
        central.append(entry(name, len(comp), crc, size, len(out)))
        out += header(name, len(comp), crc, size, sum(lengths[i + 1 :]))
    out += comp
    start, cd = len(out), b"".join(central)
    out += cd + b"PK\x05\x06" + le(0, 4) + le(len(central), 2) * 2 + le(len(cd), 4)
    out += le(start, 4) + le(0, 2)
    return bytes(out)


def _zeros_stream(size: int, ratio: int = 99):
    """``size`` zero bytes deflated, padded to ``size / ratio`` bytes (zipfile stops at the
    end of the deflate stream): a member just within the compression-ratio budget."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk, left, parts, crc = b"\0" * min(size, 2**24), size, [], 0
    while left:
        piece = chunk[: min(left, len(chunk))]
        parts.append(c.compress(piece))
        crc = zlib.crc32(piece, crc)
        left -= len(piece)
    comp = b"".join(parts) + c.flush()
    return comp + b"\0" * max(0, size // ratio + 1 - len(comp)), crc, size


def _digest_of_zeros(size: int) -> str:
    digest, chunk, left = hashlib.sha256(), b"\0" * min(size, 2**24), size
    while left:
        digest.update(chunk[: min(left, len(chunk))])
        left -= min(left, len(chunk))
    return digest.hexdigest()


def overlapping_members(legit: bytes, count: int = 60, size: int = 45 * 2**20) -> bytes:
    """``legit`` plus ``count`` listed, correctly checksummed members that all share one
    deflated stream of ``size`` zero bytes (the issue's file: 458 KB, 60 x 45 MB)."""
    members = read_members(legit)
    manifest = json.loads(members[MANIFEST])
    names = [f"models/pad_{i}.bin" for i in range(count)]
    digest = _digest_of_zeros(size)
    manifest["members"].update(dict.fromkeys(names, digest))
    data = json.dumps(manifest).encode()
    members[MANIFEST], members[MANIFEST_SUM] = data, hashlib.sha256(data).hexdigest().encode()
    return _shared_data_zip(list(members.items()), names, _zeros_stream(size))


def overlapping_inner_members(legit: bytes, count: int = 8, prefix: str = "assets/pad_") -> bytes:
    """The network archive's weights share their bytes with ``count`` extra members,
    named ``prefix`` and a number."""

    def change(entries):
        weights = dict(entries)["model.weights.h5"]
        rest = [(n, d) for n, d in entries if n != "model.weights.h5"]
        names = [*(f"{prefix}{i}" for i in range(count)), "model.weights.h5"]
        return _shared_data_zip(rest, names, _deflated(weights))

    return edit_inner(legit, change)


def member_past_the_data(legit: bytes) -> bytes:
    """The network member's compressed size, in the central directory, runs past the
    member data into the central directory itself (its deflate stream still ends in
    place, so zipfile alone reads it without complaint)."""
    data = bytearray(legit)
    with zipfile.ZipFile(io.BytesIO(legit)) as zf:
        info, at = zf.getinfo(NETWORK), zf.start_dir
    while data[at : at + 4] == b"PK\x01\x02":  # central directory records
        n, m, k = (int.from_bytes(data[at + i : at + i + 2], "little") for i in (28, 30, 32))
        if data[at + 46 : at + 46 + n] == NETWORK.encode():
            data[at + 20 : at + 24] = (len(data) - info.header_offset).to_bytes(4, "little")
            return bytes(data)
        at += 46 + n + m + k
    raise AssertionError("no central directory record for the network")


# --------------------------------------------------------------- the benchmark's table
def legit_model(folder: Path) -> bytes:
    """A small fitted pipeline saved in ``folder/legit.skmlp`` (made once, then reused),
    and ``folder/x.npy``: 5 valid rows of features for it."""
    path = Path(folder) / "legit.skmlp"
    if not path.is_file():
        import skmlp
        from skmlp.datasets import load_digits
        from skmlp.experiment import make_pipeline

        digits = load_digits()
        pipe = make_pipeline(16, max_iter=1, hidden_layer_sizes=(8,), batch_norm=True,
                             dropout=0.1, random_state=0)  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pipe.fit(digits.X_train, digits.y_train)
        skmlp.save(pipe, path)
        np.save(Path(folder) / "x.npy", digits.X_test[:5])
    return path.read_bytes()


def _case(make_bytes):
    def make(folder: Path) -> list[str]:
        (Path(folder) / "hostile.skmlp").write_bytes(make_bytes(legit_model(folder)))
        return ["predict", "hostile.skmlp", "x.npy"]

    return make


CASES = [
    (3, "lora-rank", _case(lora_rank)),
    (3, "dense-as-activation", _case(dense_as_activation)),
    (3, "dense-as-initializer", _case(dense_as_initializer)),
    (3, "shared-object-swap", _case(shared_object_swap)),
    (6, "overlapping-members", _case(overlapping_members)),
    (6, "overlapping-inner-members", _case(overlapping_inner_members)),
]
