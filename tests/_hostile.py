"""Hostile model files, generated from a legitimate one: what an attacker would hand a user.

``hostile_files(legit)`` returns ``{case: (file bytes, regex the refusal must match)}``.
Every case is small on disk (kilobytes) and is refused by :func:`skmlp.load` with a
``ModelFileError``; before the budgets, several of them took gigabytes to load.
``scale`` sizes what the files *declare* (the memory an unguarded loader would
allocate): tests use the default, ``benchmarks/bench_hostile_files.py`` a larger one.
Used by ``tests/test_security.py`` and the benchmark.

It also holds the tools that check what loading a file does besides refusing it:
``peak_allocation`` (the most memory Python allocated) and ``watch_imports`` with
``canary_module`` (which modules got imported).
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import importlib
import io
import json
import pickle
import sys
import tracemalloc
import warnings
import zipfile
import zlib

import numpy as np

MANIFEST, MANIFEST_SUM, NETWORK = "skmlp.json", "skmlp.json.sha256", "models/mlp.keras"


class _Exec:
    """Pickles to a call of ``exec(code)``: what a malicious pickle does."""

    def __init__(self, code: str):
        self.code = code

    def __reduce__(self):
        return (exec, (self.code,))


def evil_pickle(marker) -> bytes:
    """A pickle that, when loaded, writes ``marker`` (and then looks like a model)."""
    code = f"open({str(marker)!r}, 'w').write('pwned')"
    return pickle.dumps(_Exec(code), protocol=4)


# ------------------------------------------------------------------ zip tools
def read_members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def pack(members, compression=zipfile.ZIP_DEFLATED) -> bytes:
    """Zip (name, data[, compress_type]) entries, duplicates allowed."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name"
        with zipfile.ZipFile(buf, "w", compression=compression) as zf:
            for name, data, *method in members:
                info = zipfile.ZipInfo(name)
                info.compress_type = method[0] if method else compression
                zf.writestr(info, data)
    return buf.getvalue()


def _deflate_zeros(n: int) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = b"\0" * min(n, 2**24)
    parts, left = [], n
    while left:
        parts.append(c.compress(chunk[:left]))
        left -= min(left, len(chunk))
    return b"".join(parts) + c.flush()


def _zip_bytes(entries) -> bytes:
    """A zip of deflated (name, deflated bytes, crc, expanded size) entries, written by hand.

    zipfile can only write what it compresses itself; this writes members whose
    deflated stream was made elsewhere, e.g. a bomb made without holding it expanded.
    """
    out, central = io.BytesIO(), []
    le = lambda n, k: n.to_bytes(k, "little")  # noqa: E731
    for name, comp, crc, size in entries:
        offset, encoded = out.tell(), name.encode()
        sizes = le(crc, 4) + le(len(comp), 4) + le(size, 4) + le(len(encoded), 2)
        out.write(b"PK\x03\x04" + le(20, 2) + le(0, 2) + le(8, 2) + le(0, 4) + sizes
                  + le(0, 2) + encoded + comp)  # fmt: skip
        central.append(b"PK\x01\x02" + le(20, 2) * 2 + le(0, 2) + le(8, 2) + le(0, 4) + sizes
                       + le(0, 6) + le(0, 6) + le(offset, 4) + encoded)  # fmt: skip
    start, cd = out.tell(), b"".join(central)
    out.write(cd)
    out.write(b"PK\x05\x06" + le(0, 4) + le(len(central), 2) * 2 + le(len(cd), 4)
              + le(start, 4) + le(0, 2))  # fmt: skip
    return out.getvalue()


def _deflated(data: bytes):
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(), zlib.crc32(data), len(data)


def deflate_bomb(members: dict[str, bytes], name: str, size: int) -> bytes:
    """``members`` plus ``name``: ``size`` zero bytes, listed and checksummed in the manifest."""
    digest, crc, chunk, left = hashlib.sha256(), 0, b"\0" * min(size, 2**24), size
    while left:
        piece = chunk[: min(left, len(chunk))]
        digest.update(piece)
        crc = zlib.crc32(piece, crc)
        left -= len(piece)
    manifest = json.loads(members[MANIFEST])
    manifest["members"][name] = digest.hexdigest()
    data = json.dumps(manifest).encode()
    fixed = {**members, MANIFEST: data, MANIFEST_SUM: hashlib.sha256(data).hexdigest().encode()}
    entries = [(n, *_deflated(d)) for n, d in fixed.items()]
    return _zip_bytes([*entries, (name, _deflate_zeros(size), crc, size)])


def resign(members: dict[str, bytes], manifest: dict) -> dict[str, bytes]:
    """Recompute every checksum, as a malicious author can."""
    manifest["members"] = {
        n: hashlib.sha256(d).hexdigest()
        for n, d in members.items()
        if n not in (MANIFEST, MANIFEST_SUM)
    }
    data = json.dumps(manifest).encode()
    return {**members, MANIFEST: data, MANIFEST_SUM: hashlib.sha256(data).hexdigest().encode()}


def edit(legit: bytes, change) -> bytes:
    """Apply ``change(manifest, members)`` (in place), re-sign and re-zip."""
    members = read_members(legit)
    manifest = json.loads(members[MANIFEST])
    change(manifest, members)
    return pack(resign(members, manifest).items())


def mlp_entry(manifest: dict) -> dict:
    obj = manifest["object"]
    return obj["steps"][-1][1] if obj["kind"] == "pipeline" else obj["estimator"]


def edit_inner(legit: bytes, change) -> bytes:
    """Apply ``change(inner_members: list of (name, bytes))`` to the network archive."""

    def outer(manifest, members):
        with zipfile.ZipFile(io.BytesIO(members[NETWORK])) as zf:
            inner = [(n, zf.read(n)) for n in zf.namelist()]
        inner = change(inner)
        members[NETWORK] = inner if isinstance(inner, bytes) else pack(inner, zipfile.ZIP_STORED)

    return edit(legit, outer)


def edit_config(legit: bytes, change) -> bytes:
    def inner(entries):
        out = []
        for name, data in entries:
            if name == "config.json":
                config = json.loads(data)
                change(config)
                data = json.dumps(config).encode()
            out.append((name, data))
        return out

    return edit_inner(legit, inner)


def _layers(config):
    return config["config"]["layers"]


def _first_dense(config):
    return next(layer for layer in _layers(config) if layer["class_name"] == "Dense")


def _with_h5(legit: bytes, change) -> bytes:
    import h5py

    def inner(entries):
        out = []
        for name, data in entries:
            if name == "model.weights.h5":
                buf = io.BytesIO(data)
                with h5py.File(buf, "r+") as f:
                    change(f)
                data = buf.getvalue()
            out.append((name, data))
        return out

    return edit_inner(legit, inner)


def _first_dataset(f):
    names = []
    f.visit(lambda n: names.append(n) if hasattr(f[n], "shape") else None)
    return sorted(names)[0]


def _unallocated_weights(n_floats: int):
    def change(f):
        name = _first_dataset(f)
        del f[name]
        f.create_dataset(name, shape=(n_floats,), dtype="f4", chunks=(2**16,))  # never written

    return change


def _set_state(key, value):
    def change(manifest, members):
        mlp_entry(manifest)["state"][key] = value

    return change


# -------------------------------------------------------------------- cases
def hostile_files(legit: bytes, scale: int = 1) -> dict[str, tuple[bytes, str]]:
    """Every hostile variant of ``legit`` (an skmlp pipeline file) and its refusal."""
    big = 2**26 * scale  # what the files declare: 64 MB per unit of scale
    members = read_members(legit)
    manifest_json = members[MANIFEST]
    cases: dict[str, tuple[bytes, str]] = {}

    # --- container
    cases["truncated"] = (legit[: len(legit) // 2], "not a complete zip archive")
    cases["empty"] = (b"", "not an skmlp model file")
    cases["pickle-renamed"] = (pickle.dumps({"a": 1}, protocol=4), "pickle.*--trust-pickle")
    cases["joblib-zlib-renamed"] = (zlib.compress(pickle.dumps([1])), "pickle")
    cases["bzip2-member"] = (
        pack(
            [
                (MANIFEST, manifest_json, zipfile.ZIP_BZIP2),
                *[(n, d) for n, d in members.items() if n != MANIFEST],
            ]
        ),
        "compression method",
    )
    cases["deflate-bomb"] = (deflate_bomb(members, "models/pad.bin", big), "compression bomb")
    cases["duplicate-manifest"] = (
        pack([*members.items(), (MANIFEST, manifest_json)]),
        "duplicate member names",
    )
    # --- manifest
    deep = ("[" * 100_000 + "]" * 100_000).encode()
    cases["deep-manifest-json"] = (_raw_manifest(members, deep), "nested deeper")
    nested = json.dumps(json.loads(manifest_json)).replace(
        '"alpha": 0.0', '"alpha": ' + "[" * 100_000 + "]" * 100_000, 1
    )
    cases["deep-manifest"] = (_raw_manifest(members, nested.encode()), "nested deeper")
    cases["huge-manifest"] = (
        _raw_manifest(members, manifest_json + b" " * (17 * 2**20)),
        "over the .*limit|compression bomb",
    )
    cases["manifest-repeated-key"] = (
        _raw_manifest(members, manifest_json[:-1] + b', "object": {}}'),
        "repeats a key",
    )
    n_labels = 20_000 * scale
    long_labels = ["a"] * (n_labels - 1) + ["x" * 4000]
    cases["long-label"] = (
        edit(legit, _set_state("classes_", {"__ndarray__": "str", "shape": [n_labels],
                                            "data": long_labels})),
        "characters, over the limit",
    )  # fmt: skip
    padded = ["a"] * (n_labels - 1) + ["x" * 1024]
    cases["padded-labels"] = (
        edit(legit, _set_state("classes_", {"__ndarray__": "str", "shape": [n_labels],
                                            "data": padded})),
        "padded to 1024 characters",
    )  # fmt: skip
    cases["array-shape-lies"] = (
        edit(legit, _set_state("classes_", {"__ndarray__": "<i8", "shape": [big],
                                            "data": [0, 1]})),
        "shape does not match its data",
    )  # fmt: skip
    cases["steps-malformed"] = (
        edit(legit, lambda m, _: m["object"].update(steps=5)),
        "steps are malformed",
    )
    cases["float-word"] = (
        edit(legit, _set_state("best_loss_", {"__float__": []})),
        "is not a stored float",
    )
    # --- stored state
    cases["state-sets-method"] = (
        edit(legit, _set_state("predict_proba", "no")),
        "unexpected stored attribute 'predict_proba'",
    )
    cases["state-wrong-type"] = (
        edit(legit, _set_state("_hidden", "abc")),
        "'_hidden' is not a tuple of positive integers",
    )
    cases["classes-vs-outputs"] = (
        edit(legit, lambda m, _: mlp_entry(m)["state"].update(
            classes_={"__ndarray__": "<i8", "shape": [3], "data": [0, 1, 2]}, n_classes_=3)),
        # the merged state also stores n_outputs_, which is checked first
        "3 outputs but the network has 10|3 classes but n_outputs_ is 10",
    )  # fmt: skip
    cases["features-vs-inputs"] = (
        edit(legit, _set_state("n_features_in_", 5)),
        "5 input features but the network has 64|gives 64 features but step 'mlp' takes 5",
    )
    cases["network-member-missing"] = (
        edit(legit, lambda m, _: mlp_entry(m).pop("keras_model")),
        "network member is missing",
    )
    # --- the network
    width = 2**20 * scale

    def widen(config):
        """Widen the first hidden layer, and every shape after it, consistently."""
        layers = _layers(config)
        first = layers.index(_first_dense(config))
        layers[first]["config"]["units"] = width
        for layer in layers[first + 1 :]:
            layer.setdefault("build_config", {})["input_shape"] = [None, width]
            if layer["class_name"] == "Dense":
                break

    cases["wide-layer"] = (edit_config(legit, widen), "declares .* parameters but the weights")
    cases["absurd-width"] = (
        edit_config(legit, lambda c: _first_dense(c)["config"].update(units=10**9)),
        "not a width in",
    )

    def build_big(config):
        dense = [la for la in _layers(config) if la["class_name"] == "Dense"][-1]
        dense["build_config"]["input_shape"] = [None, width]

    cases["build-config-lies"] = (edit_config(legit, build_big), "input shape of layer")
    cases["keras-internal-module"] = (
        edit_config(legit, lambda c: _first_dense(c).update(module="keras.src.layers.core.dense")),
        "not one of the Keras layers skmlp loads",
    )
    cases["keras-backend-module"] = (
        edit_config(
            legit, lambda c: _first_dense(c).update(module="keras.src.backend.tensorflow.core")
        ),
        "not one of the Keras layers skmlp loads",
    )
    cases["lambda-layer"] = (
        edit_config(legit, lambda c: _layers(c).append(
            {"module": "keras.layers", "class_name": "Lambda", "config": {"function": "x"}})),
        "not one of the Keras layers skmlp loads",
    )  # fmt: skip
    cases["deep-config"] = (
        edit_config(legit, lambda c: c.update(junk=json.loads("[" * 60 + "]" * 60))),
        "nested deeper",
    )
    cases["h5-unallocated-weights"] = (
        _with_h5(legit, _unallocated_weights(big // 4)),
        "not plain stored numbers",
    )
    cases["duplicate-inner-member"] = (
        edit_inner(legit, lambda entries: [*entries, entries[-1]]),
        "duplicate member names",
    )
    cases["inner-bzip2"] = (
        edit_inner(legit, lambda entries: pack(
            [(n, d, zipfile.ZIP_BZIP2) for n, d in entries], zipfile.ZIP_BZIP2)),
        "compression method",
    )  # fmt: skip
    return cases


def _raw_manifest(members: dict[str, bytes], manifest: bytes) -> bytes:
    """A file with exactly these manifest bytes, correctly checksummed."""
    out = dict(members)
    out[MANIFEST] = manifest
    out[MANIFEST_SUM] = hashlib.sha256(manifest).hexdigest().encode()
    return pack(out.items())


def extra_inner_member(legit: bytes, size: int = 2**16) -> bytes:
    """A valid model whose network archive also holds an extra member."""
    noise = np.random.RandomState(0).bytes(size)
    return edit_inner(legit, lambda entries: [*entries, ("assets/pad.bin", noise)])


def network_naming_module(legit: bytes, module: str) -> bytes:
    """``legit`` with its first Dense layer said to come from ``module`` (re-signed)."""
    return edit_config(legit, lambda c: _first_dense(c).update(module=module))


# ------------------------------------------------------- what a load does
def peak_allocation(call) -> int:
    """The peak bytes Python allocated while ``call()`` ran (raising or not), over what was
    allocated before it.

    tracemalloc sees every bytes object (what zipfile decompresses into) and every
    NumPy buffer; not what C libraries (HDF5, TensorFlow, XLA) allocate themselves.
    """
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    try:
        call()
    finally:
        peak = tracemalloc.get_traced_memory()[1] - before
        if started:
            tracemalloc.stop()
    return peak


@contextlib.contextmanager
def watch_imports():
    """Yield a list that collects every module name imported while the block runs.

    It holds the names given to ``builtins.__import__`` (``import`` statements,
    ``__import__``, ``pydoc.locate``; each ``from m import x`` also as ``m.x``) and to
    ``importlib.import_module`` (also when a caller bound it before the block, through
    ``importlib._bootstrap._gcd_import``), then, on leaving, the modules that were added
    to ``sys.modules``. A module already imported (``os``) is seen by the first two
    only: importing it again just returns it. Relative imports are kept with their dots.
    """
    names: list[str] = []
    real_import, real_import_module = builtins.__import__, importlib.import_module
    bootstrap = importlib._bootstrap
    real_gcd_import = bootstrap._gcd_import

    def spy_import(name, globals=None, locals=None, fromlist=(), level=0):
        full = "." * level + name
        names.append(full)
        sep = "." if name else ""
        names.extend(f"{full}{sep}{item}" for item in fromlist or () if item != "*")
        return real_import(name, globals, locals, fromlist, level)

    def spy_import_module(name, package=None):
        names.append(name)
        return real_import_module(name, package)

    def spy_gcd_import(name, package=None, level=0):
        names.append("." * level + name)
        return real_gcd_import(name, package, level)

    before = set(sys.modules)
    builtins.__import__, importlib.import_module = spy_import, spy_import_module
    bootstrap._gcd_import = spy_gcd_import
    try:
        yield names
    finally:
        builtins.__import__, importlib.import_module = real_import, real_import_module
        bootstrap._gcd_import = real_gcd_import
        names.extend(sorted(set(sys.modules) - before))


def imports_of(names: list[str], module: str) -> list[str]:
    """The names in ``names`` that are ``module`` or one of its submodules."""
    return [n for n in names if n == module or n.startswith(module + ".")]


def assert_refused_without_import(load, module: str, marker, match: str) -> None:
    """``load()`` raises ``ModelFileError`` matching ``match``, importing no part of ``module``.

    ``marker`` is the file a :func:`canary_module` writes when imported: it must not exist.
    """
    import pytest

    from skmlp import ModelFileError

    with watch_imports() as imported:
        with pytest.raises(ModelFileError, match=match):
            load()
    assert imports_of(imported, module) == []
    assert not marker.exists()


@contextlib.contextmanager
def canary_module(folder):
    """A module importable while the block runs, which nothing has imported yet.

    Yields ``(name, marker)``: importing ``name`` (it defines a class ``Evil``)
    writes the file ``marker``. On leaving, the folder leaves ``sys.path`` and the
    module ``sys.modules``, so every test starts with it never imported.
    """
    name = "skmlp_import_canary"
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / f"{name}.imported"
    (folder / f"{name}.py").write_text(
        f"open({str(marker)!r}, 'w').write('imported')\n\n\nclass Evil:\n    pass\n"
    )
    assert name not in sys.modules
    sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    try:
        yield name, marker
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop(name, None)
