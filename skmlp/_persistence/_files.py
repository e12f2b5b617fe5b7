"""Model files that are safe to load: no pickle, nothing imported from the file.

:func:`save` writes one zip file (``.skmlp``) holding

``skmlp.json``
    The manifest: format and version, the versions and Keras backend that wrote
    it, and the object: an estimator or a pipeline of steps, each with its class
    name (looked up in a fixed table of supported classes, never imported), its
    parameters and its fitted state as typed JSON, and the SHA-256 of every other
    member.
``skmlp.json.sha256``
    The SHA-256 of the manifest.
``models/<step>.keras``
    Each network in Keras' native format, loaded with ``safe_mode=True`` after its
    configuration has been checked to name only Keras' own classes.

Checksums catch damaged, truncated or edited files. They are not a signature:
safety against a malicious author comes from loading nothing but JSON, numbers and
Keras' own layers, and from budgets checked before anything is allocated: member
sizes (read streamed, with a cap and a compression-ratio limit), the manifest's size
and nesting depth, label lengths, the state's keys, types and consistency, each
layer's width, and the network's parameter count against the weights actually in
the file. Every refusal is a :class:`ModelFileError` that names the file.

Formats are told apart by content, never by name: :func:`load` refuses a pickle
(such as a ``joblib`` file) and says how to opt in; only :func:`load_pickle`, whose
name says what it does, unpickles.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import math
import os
import tempfile
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .._backend import tensorflow_hidden
from .._io import atomic_write

__all__ = ["FORMAT_VERSION", "ModelFileError", "file_format", "load", "load_pickle", "save"]

FORMAT = "skmlp-model"
#: Version of the file layout written by this skmlp; files of a higher version are refused.
FORMAT_VERSION = 1
MANIFEST = "skmlp.json"
MANIFEST_SUM = "skmlp.json.sha256"
SUFFIX = ".skmlp"

# Keras classes a model file may name, each with the one public module it may come
# from (a file naming any other module, even one of Keras' own, imports nothing).
_KERAS_CLASSES = {
    **dict.fromkeys(["Sequential", "DTypePolicy", "FloatDTypePolicy"], "keras"),
    **dict.fromkeys(["InputLayer", "Dense", "BatchNormalization", "Dropout"], "keras.layers"),
    **dict.fromkeys(
        ["RandomNormal", "GlorotUniform", "GlorotNormal", "HeNormal", "HeUniform",
         "LecunNormal", "LecunUniform", "RandomUniform", "TruncatedNormal", "Zeros", "Ones",
         "Constant", "Orthogonal", "VarianceScaling", "Identity"],
        "keras.initializers",
    ),
    **dict.fromkeys(["L2", "L1", "L1L2"], "keras.regularizers"),
    "MaxNorm": "keras.constraints",
    **dict.fromkeys(["Adam", "SGD"], "keras.optimizers"),
    **dict.fromkeys(["SparseCategoricalCrossentropy", "BinaryCrossentropy"], "keras.losses"),
    **dict.fromkeys(
        ["MeanMetricWrapper", "Mean", "SparseCategoricalAccuracy", "Accuracy", "BinaryAccuracy"],
        "keras.metrics",
    ),
    # both a loss and a metric: either public module
    **dict.fromkeys(["MeanSquaredError", "Poisson"], ("keras.losses", "keras.metrics")),
}  # fmt: skip

# Estimators whose Keras network is stored beside their state.
_NETWORK_CLASSES = ("MLPClassifier", "MLPRegressor")

# Budgets, checked before the bytes or objects they bound are allocated.
MAX_MANIFEST_BYTES = 16 * 2**20  # a manifest holds parameters, labels and small arrays
MAX_CONFIG_BYTES = 4 * 2**20  # a Keras config.json of an MLP is a few KB
MAX_MEMBER_BYTES = 8 * 2**30  # any one member, uncompressed
MAX_RATIO = 100  # uncompressed / compressed, for members above RATIO_FLOOR
STORE_ABOVE = 2**20  # members larger than this are written uncompressed
RATIO_FLOOR = 2**20
MAX_MEMBERS = 64
MAX_JSON_DEPTH = 48
MAX_LABEL_CHARS = 1024  # one class label or feature name
MAX_STRING_ARRAY_BYTES = 64 * 2**20  # numpy pads every string to the longest
MAX_LAYERS = 512
MAX_WIDTH = 2**22  # units of one layer, or input features
_KERAS_MEMBERS = ("config.json", "metadata.json", "model.weights.h5")


class ModelFileError(ValueError):
    """A model file is not an skmlp model file, is damaged, or cannot be loaded here."""


# --------------------------------------------------------------- typed JSON
def _encode(value, where: str):
    """Encode a value as JSON that decodes back to the same type."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, where) for v in value]}
    if isinstance(value, list):
        return [_encode(v, where) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[_encode(k, where), _encode(v, where)] for k, v in value.items()]}
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biuf":
            return {
                "__ndarray__": value.dtype.str,
                "shape": list(value.shape),
                "data": [_encode(v, where) for v in value.ravel().tolist()],
            }
        if value.dtype.kind == "U" or (
            value.dtype.kind == "O" and all(isinstance(v, str) for v in value.ravel())
        ):
            kind = "str" if value.dtype.kind == "U" else "object-str"
            return {"__ndarray__": kind, "shape": list(value.shape), "data": value.ravel().tolist()}
    raise TypeError(
        f"{where}: a value of type {type(value).__name__} cannot be stored in an skmlp model "
        "file (only numbers, strings, booleans, lists, dicts and numeric or string arrays); "
        "use joblib.dump for this model"
    )


_FLOAT_WORDS = {"nan", "inf", "-inf"}


def _check_depth(obj, where: str) -> None:
    """Refuse JSON nested deeper than MAX_JSON_DEPTH (checked without recursion)."""
    stack = [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (list, dict)):
            if depth > MAX_JSON_DEPTH:
                raise ModelFileError(f"{where}: nested deeper than {MAX_JSON_DEPTH} levels")
            items = value.values() if isinstance(value, dict) else value
            stack.extend((v, depth + 1) for v in items)


def _parse_json(data: bytes, where: str, limit: int):
    """Parse JSON within a size and depth budget; duplicate keys are refused."""
    if len(data) > limit:
        raise ModelFileError(f"{where}: {len(data)} bytes, over the {limit}-byte limit")

    def pairs(items):
        out = dict(items)
        if len(out) != len(items):
            raise ModelFileError(f"{where}: a JSON object repeats a key")
        return out

    try:
        obj = json.loads(data, object_pairs_hook=pairs)
    except RecursionError:
        raise ModelFileError(f"{where}: nested deeper than {MAX_JSON_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:
        if isinstance(exc, ModelFileError):
            raise
        raise ModelFileError(f"{where}: not valid JSON ({exc})") from None
    _check_depth(obj, where)
    return obj


def _decode(value, where: str = "the model file"):
    """Decode typed JSON written by :func:`_encode`; anything else is refused."""
    if isinstance(value, list):
        return [_decode(v, where) for v in value]
    if not isinstance(value, dict):
        return value
    keys = set(value)
    if keys == {"__float__"}:
        word = value["__float__"]
        if not isinstance(word, str) or word not in _FLOAT_WORDS:
            raise ModelFileError(f"{where}: {word!r} is not a stored float")
        return float(word)
    if keys == {"__tuple__"} and isinstance(value["__tuple__"], list):
        return tuple(_decode(v, where) for v in value["__tuple__"])
    if keys == {"__dict__"} and isinstance(value["__dict__"], list):
        out = {}
        for pair in value["__dict__"]:
            if not isinstance(pair, list) or len(pair) != 2:
                raise ModelFileError(f"{where}: a stored dict entry is not a key-value pair")
            key = _decode(pair[0], where)
            try:
                hash(key)
            except TypeError:
                raise ModelFileError(f"{where}: a stored dict key is not hashable") from None
            out[key] = _decode(pair[1], where)
        return out
    if keys == {"__ndarray__", "shape", "data"}:
        return _decode_array(value, where)
    raise ModelFileError(f"{where}: unknown value in the model file: {sorted(keys)[:5]}")


def _decode_array(value: dict, where: str) -> np.ndarray:
    kind, shape, data = value["__ndarray__"], value["shape"], value["data"]
    if (
        not isinstance(shape, list)
        or len(shape) > 32
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
        or not isinstance(data, list)
        or math.prod(shape) != len(data)
    ):
        raise ModelFileError(f"{where}: a stored array's shape does not match its data")
    if kind in ("str", "object-str"):
        if not all(isinstance(v, str) for v in data):
            raise ModelFileError(f"{where}: a stored string array holds non-strings")
        longest = max(map(len, data), default=0)
        if longest > MAX_LABEL_CHARS:
            raise ModelFileError(
                f"{where}: a stored label or name has {longest} characters, over the "
                f"limit of {MAX_LABEL_CHARS}"
            )
        if kind == "str":
            if len(data) * max(longest, 1) * 4 > MAX_STRING_ARRAY_BYTES:
                raise ModelFileError(
                    f"{where}: {len(data)} strings padded to {longest} characters would take "
                    f"over {MAX_STRING_ARRAY_BYTES} bytes"
                )
            return np.array(data, dtype=str).reshape(shape)
        out = np.empty(len(data), dtype=object)
        out[:] = data
        return out.reshape(shape)
    try:
        if not isinstance(kind, str) or len(kind) > 4:
            raise TypeError
        dtype = np.dtype(kind)
    except TypeError:
        raise ModelFileError(f"{where}: unsupported array type {kind!r}") from None
    if dtype.kind not in "biuf" or dtype.itemsize > 8:
        raise ModelFileError(f"{where}: unsupported array type {kind!r} in the model file")
    numbers = []
    for v in data:
        if isinstance(v, dict):
            v = _decode(v, where)
        if not isinstance(v, (int, float)):
            raise ModelFileError(f"{where}: a stored numeric array holds {type(v).__name__}")
        numbers.append(v)
    try:
        return np.array(numbers, dtype=dtype).reshape(shape)
    except (OverflowError, ValueError) as exc:
        raise ModelFileError(f"{where}: a stored array does not fit its type ({exc})") from None


# ------------------------------------------------------------ supported steps
def _classes():
    """The fixed table of classes a file may name: nothing else is ever built."""
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    from .._classifier import MLPClassifier
    from .._preprocessing import PixelScaler

    table = {
        "MLPClassifier": MLPClassifier,
        "PixelScaler": PixelScaler,
        "StandardScaler": StandardScaler,
        "MinMaxScaler": MinMaxScaler,
    }
    try:  # the regressor, where this skmlp has one
        from .._regressor import MLPRegressor
    except ImportError:
        pass
    else:
        table["MLPRegressor"] = MLPRegressor
    return table


def _supported_names() -> str:
    return ", ".join(sorted(_classes()))


def _encode_params(est, where: str) -> dict:
    params = {}
    for key, value in est.get_params(deep=False).items():
        if key == "random_state" and isinstance(value, np.random.RandomState):
            warnings.warn(
                f"{where}: random_state is a RandomState instance, which the skmlp format "
                "does not store; it is saved as None (predictions are unaffected)",
                UserWarning,
                stacklevel=4,
            )
            value = None
        params[key] = _encode(value, f"{where} parameter {key!r}")
    return params


def _encode_estimator(est, name: str, members: dict) -> dict:
    from sklearn.utils.validation import check_is_fitted

    classes = _classes()
    cls_name = type(est).__name__
    if classes.get(cls_name) is not type(est):
        raise TypeError(
            f"step {name!r} is a {cls_name}, which the skmlp format cannot store; it stores "
            f"{_supported_names()} and Pipelines of them. Use joblib.dump for this model "
            "(and load joblib files only from people you trust)."
        )
    check_is_fitted(est)
    where = f"step {name!r} ({cls_name})"
    entry = {"class": cls_name, "params": _encode_params(est, where)}
    if cls_name in _NETWORK_CLASSES:
        state = est._get_state()
        member = f"models/{name}.keras"
        members[member] = _keras_bytes(est.model_)
        entry["keras_model"] = member
    else:
        state = {k: v for k, v in vars(est).items() if k.endswith("_") and not k.startswith("_")}
    entry["state"] = {k: _encode(v, f"{where} attribute {k!r}") for k, v in state.items()}
    return entry


def _keras_bytes(model) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        with tensorflow_hidden():  # Keras' serialization would import it (seconds)
            model.save(path)
        return Path(path).read_bytes()


def library_versions() -> dict:
    """Versions of skmlp and the libraries a fitted model depends on."""
    import keras
    import sklearn

    from .. import __version__

    return {
        "skmlp": __version__,
        "keras": keras.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
    }


def _versions() -> dict:
    import keras

    return library_versions() | {"keras_backend": keras.backend.backend()}


# --------------------------------------------------------------------- save
def save(model, path) -> Path:
    """Save a fitted MLPClassifier, or a Pipeline of supported steps, without pickle.

    The file is safe to load from anyone (see :func:`load`): it holds JSON and
    Keras' native ``.keras`` format only. Supported steps: :class:`MLPClassifier`,
    :class:`PixelScaler`, :class:`~sklearn.preprocessing.StandardScaler` and
    :class:`~sklearn.preprocessing.MinMaxScaler`. For anything else use
    :func:`joblib.dump`.

    Parameters
    ----------
    model : MLPClassifier or sklearn.pipeline.Pipeline
        A fitted estimator or pipeline.
    path : str or path-like
        Destination, conventionally ending in ``.skmlp``; written atomically.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    TypeError
        A step, parameter or attribute cannot be stored; the message names it and
        points to joblib.
    sklearn.exceptions.NotFittedError
        The model is not fitted.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import skmlp
    >>> X, y = np.random.RandomState(0).rand(40, 3), np.arange(40) % 2
    >>> clf = skmlp.MLPClassifier((4,), max_iter=20, random_state=0).fit(X, y)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = skmlp.save(clf, os.path.join(folder, "clf.skmlp"))
    ...     back = skmlp.load(path)
    >>> path.name, type(back).__name__, back.n_iter_
    ('clf.skmlp', 'MLPClassifier', 20)
    >>> np.array_equal(back.predict_proba(X), clf.predict_proba(X))
    True
    >>> np.array_equal(back.predict(X), clf.predict(X))
    True
    """
    from sklearn.pipeline import Pipeline

    members: dict[str, bytes] = {}
    if isinstance(model, Pipeline):
        if model.memory is not None:
            raise TypeError("a Pipeline with memory= cannot be stored; use joblib.dump")
        names = [name for name, _ in model.steps]
        obj = {
            "kind": "pipeline",
            "steps": [[name, _encode_estimator(step, name, members)] for name, step in model.steps],
        }
        if len(set(names)) != len(names):  # pragma: no cover - Pipeline forbids it
            raise TypeError("duplicate step names")
    else:
        obj = {"kind": "estimator", "estimator": _encode_estimator(model, "model", members)}
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "written_by": _versions(),
        "object": obj,
        "members": {name: hashlib.sha256(data).hexdigest() for name, data in members.items()},
    }
    manifest_bytes = json.dumps(manifest, indent=1, sort_keys=True).encode()

    def write(tmp):
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(MANIFEST, manifest_bytes)
            zf.writestr(MANIFEST_SUM, hashlib.sha256(manifest_bytes).hexdigest())
            for name, data in members.items():
                # weights (float arrays) hardly compress, and deflating them was
                # most of the time a save took: store large members as they are
                method = zipfile.ZIP_STORED if len(data) > STORE_ABOVE else zipfile.ZIP_DEFLATED
                zf.writestr(name, data, compress_type=method)

    return atomic_write(path, write)


# ---------------------------------------------------------- content sniffing
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


# --------------------------------------------------------------- zip budget
def _read_zip(source, where: str, wanted, *, required=(), refuse_others=True) -> dict:
    """Read the ``wanted`` members of a zip, each within its budget.

    Duplicate names, compression other than stored or deflate, members over
    ``MAX_MEMBER_BYTES`` or over ``MAX_RATIO`` times their compressed size are
    refused before anything is decompressed; each member is then read in chunks
    and refused as soon as it passes the size its header declares.
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
        others = set(names) - set(wanted)
        if refuse_others and others:
            raise ModelFileError(f"{where}: unexpected members {sorted(others)[:5]}")
        missing = set(required) - set(names)
        if missing:
            raise ModelFileError(f"{where}: member {sorted(missing)[0]} is missing")
        out = {}
        for info in infos:
            if info.filename not in wanted:
                continue  # never read, never extracted
            name = info.filename
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise ModelFileError(
                    f"{where}: member {name} uses compression method {info.compress_type}; "
                    "skmlp files use deflate only"
                )
            limit = wanted[name] if isinstance(wanted, dict) else MAX_MEMBER_BYTES
            if info.file_size > limit:
                raise ModelFileError(
                    f"{where}: member {name} declares {info.file_size} bytes, over the "
                    f"limit of {limit}"
                )
            if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(
                info.compress_size, 1
            ):
                raise ModelFileError(
                    f"{where}: member {name} would expand {info.compress_size} bytes to "
                    f"{info.file_size} (over {MAX_RATIO} times): refusing a compression bomb"
                )
            chunks, size = [], 0
            try:
                with zf.open(info) as f:
                    while chunk := f.read(2**20):
                        size += len(chunk)
                        if size > info.file_size:
                            raise ModelFileError(
                                f"{where}: member {name} is longer than its declared "
                                f"{info.file_size} bytes"
                            )
                        chunks.append(chunk)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                raise ModelFileError(f"{where}: member {name} is damaged ({exc})") from None
            out[name] = b"".join(chunks)
    return out


# --------------------------------------------------------------------- load
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
    if not isinstance(listed, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in listed.items()
    ):
        raise ModelFileError(f"{path}: the manifest's member list is malformed")
    members = _read_zip(path, str(path), set(listed) | {MANIFEST, MANIFEST_SUM},
                        required=set(listed))  # fmt: skip
    for name, digest in listed.items():
        if hashlib.sha256(members[name]).hexdigest() != digest:
            raise ModelFileError(f"{path}: member {name} does not match its checksum")
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


def _check_keras_config(config, where: str) -> None:
    """Refuse any object in a Keras config that is not one of Keras' own allowed classes."""
    stack = [config]
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            stack.extend(value)
            continue
        if not isinstance(value, dict):
            continue
        if "class_name" in value or "module" in value:
            name, module = value.get("class_name"), value.get("module")
            registered = value.get("registered_name")
            allowed = _KERAS_CLASSES.get(name) if isinstance(name, str) else None
            allowed = (allowed,) if isinstance(allowed, str) else allowed or ()
            if module not in allowed or registered not in (None, name):
                label = f"{module}.{name}" if module else str(name)
                raise ModelFileError(
                    f"{where}: the network names {label!r}, which is not one of the Keras "
                    "layers skmlp loads; refusing to load it"
                )
        stack.extend(value.values())


def _width(value, what: str, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_WIDTH:
        raise ModelFileError(f"{where}: {what} is {value!r}, not a width in 1..{MAX_WIDTH}")
    return value


def _network_shape(config, where: str) -> dict:
    """Widths and parameter count of an skmlp network, from its config alone.

    skmlp networks are a ``Sequential`` of an ``InputLayer`` then ``Dense``,
    ``BatchNormalization`` and ``Dropout`` layers. Every shape Keras would build
    from (input shapes, build configs) must agree with the chain of widths.
    """
    if not isinstance(config, dict) or config.get("class_name") != "Sequential":
        raise ModelFileError(f"{where}: the network is not a Keras Sequential model")
    layers = (config.get("config") or {}).get("layers")
    if not isinstance(layers, list) or not 2 <= len(layers) <= MAX_LAYERS:
        raise ModelFileError(f"{where}: the network must have 2 to {MAX_LAYERS} layers")

    def shape_is(shape, width, what):
        if shape is not None and shape != [None, width]:
            raise ModelFileError(f"{where}: {what} is {shape!r}, expected [None, {width}]")

    first = layers[0]
    if first.get("class_name") != "InputLayer":
        raise ModelFileError(f"{where}: the network does not start with an InputLayer")
    batch_shape = (first.get("config") or {}).get("batch_shape")
    if not isinstance(batch_shape, list) or len(batch_shape) != 2 or batch_shape[0] is not None:
        raise ModelFileError(f"{where}: the input shape is {batch_shape!r}, expected [None, n]")
    width = n_inputs = _width(batch_shape[1], "the input width", where)
    for key in ("build_input_shape",):
        shape_is((config.get("config") or {}).get(key), n_inputs, key)
    shape_is((config.get("build_config") or {}).get("input_shape"), n_inputs, "the input shape")
    dense, n_params = [], 0
    for layer in layers[1:]:
        kind, cfg = layer.get("class_name"), layer.get("config") or {}
        shape_is((layer.get("build_config") or {}).get("input_shape"), width,
                 f"the input shape of layer {cfg.get('name')!r}")  # fmt: skip
        if kind == "Dense":
            units = _width(cfg.get("units"), f"layer {cfg.get('name')!r}'s width", where)
            n_params += width * units + (units if cfg.get("use_bias", True) else 0)
            width = units
            dense.append(units)
        elif kind == "BatchNormalization":
            if cfg.get("axis", -1) not in (-1, 1, [-1], [1]):
                raise ModelFileError(f"{where}: batch normalisation on an unexpected axis")
            n_params += (2 + bool(cfg.get("center", True)) + bool(cfg.get("scale", True))) * width
        elif kind != "Dropout":
            raise ModelFileError(f"{where}: layer {kind!r} has no place in an skmlp network")
    if not dense:
        raise ModelFileError(f"{where}: the network has no Dense layer")
    return {"n_inputs": n_inputs, "hidden": tuple(dense[:-1]), "n_outputs": dense[-1],
            "n_params": n_params}  # fmt: skip


def _check_weights(h5: bytes, shape: dict, where: str) -> None:
    """The weights file must hold, as plain data, at least the network's parameters.

    Every dataset is contiguous and uncompressed, stored in the file itself (no
    external or virtual storage, no links), so reading it allocates no more than
    the file's own size; their total must cover the parameter count from the
    config, so that no layer is built larger than the weights that fill it.
    """
    import h5py

    total, count = 0, 0
    try:
        with h5py.File(io.BytesIO(h5), "r") as f:
            stack = [f]
            while stack:
                group = stack.pop()
                for name in group:
                    link = group.get(name, getlink=True)
                    if not isinstance(link, h5py.HardLink):
                        raise ModelFileError(f"{where}: the weights file holds a link ({name})")
                    obj = group[name]
                    if isinstance(obj, h5py.Group):
                        stack.append(obj)
                        continue
                    count += 1
                    if count > 16 * MAX_LAYERS:
                        raise ModelFileError(f"{where}: too many weight arrays")
                    plist = obj.id.get_create_plist()
                    nbytes = math.prod(obj.shape or ()) * obj.dtype.itemsize
                    if (
                        obj.dtype.kind not in "biuf"
                        or plist.get_external_count()
                        or plist.get_layout() == h5py.h5d.VIRTUAL
                        or plist.get_nfilters()
                        or obj.id.get_storage_size() < nbytes
                    ):
                        raise ModelFileError(
                            f"{where}: weight array {obj.name} is not plain stored numbers "
                            f"(declares {nbytes} bytes, stores {obj.id.get_storage_size()})"
                        )
                    total += nbytes
    except ModelFileError:
        raise
    except Exception as exc:  # h5py raises OSError, KeyError, ValueError, ... on bad files
        raise ModelFileError(f"{where}: unreadable weights file ({exc})") from None
    if total > len(h5) or 4 * shape["n_params"] > total:
        raise ModelFileError(
            f"{where}: the network declares {shape['n_params']} parameters but the weights "
            f"file holds {total} bytes of weights in {len(h5)} bytes"
        )


def _load_keras(data: bytes, where: str):
    """Check a ``.keras`` archive within budgets, then let Keras load a clean copy."""
    import keras

    inner = _read_zip(io.BytesIO(data), f"{where} (Keras archive)",
                      {"config.json": MAX_CONFIG_BYTES, "metadata.json": 2**16,
                       "model.weights.h5": MAX_MEMBER_BYTES},
                      required=("config.json", "model.weights.h5"),
                      refuse_others=False)  # fmt: skip
    config = _parse_json(inner["config.json"], f"{where} config", MAX_CONFIG_BYTES)
    _check_keras_config(config, where)
    shape = _network_shape(config, where)
    _check_weights(inner["model.weights.h5"], shape, where)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        # only the expected members travel to Keras: nothing else is ever extracted
        with zipfile.ZipFile(path, "w") as clean:
            for name in _KERAS_MEMBERS:
                if name in inner:
                    clean.writestr(name, inner[name])
        del inner
        try:
            with tensorflow_hidden():
                model = keras.saving.load_model(path, safe_mode=True, compile=True)
        except Exception as exc:
            message = str(exc).strip().splitlines()
            raise ModelFileError(
                f"{where}: Keras cannot load the network ({type(exc).__name__}: "
                f"{message[0] if message else ''})"
            ) from None
    return model, shape


# ---------------------------------------------------------- stored state
# What each class's stored state may hold: key -> check, and the keys it must hold.
# A check returns None when the value is acceptable, else what it should be.
def _is_int(v, low=0):
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= low


def _is_float(v):
    return isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)


def _check_count(v):
    return None if _is_int(v, 1) else "a positive integer"


def _check_nonneg(v):
    return None if _is_int(v, 0) else "a non-negative integer"


def _check_opt_float(v):
    return None if v is None or _is_float(v) else "a number or None"


def _check_widths(v):
    ok = isinstance(v, tuple) and all(_is_int(w, 1) for w in v)
    return None if ok else "a tuple of positive integers"


def _check_history(v):
    ok = isinstance(v, dict) and all(
        isinstance(k, str) and isinstance(lst, list) and all(_is_float(x) for x in lst)
        for k, lst in v.items()
    )
    return None if ok and "loss" in v else "a dict of lists of numbers, with 'loss'"


def _check_labels(v):
    ok = isinstance(v, np.ndarray) and v.ndim == 1 and len(v) >= 1
    return None if ok else "a 1-d array"


def _check_names(v):
    ok = isinstance(v, np.ndarray) and v.ndim == 1 and all(isinstance(x, str) for x in v)
    return None if ok else "a 1-d array of strings"


def _check_float_vector(v):
    ok = v is None or (isinstance(v, np.ndarray) and v.ndim == 1 and v.dtype.kind in "biuf")
    return None if ok else "a 1-d numeric array or None"


def _check_samples_seen(v):
    ok = _is_float(v) or (isinstance(v, np.ndarray) and v.ndim == 1 and v.dtype.kind in "iuf")
    return None if ok else "a number or a 1-d numeric array"


def _check_short_str(v):
    return None if isinstance(v, str) and len(v) <= 64 else "a short string"


def _check_float_name(v):
    return None if v in ("float32", "float64") else '"float32" or "float64"'


def _check_opt_number(v):
    return None if v is None or _is_float(v) else "a number or None"


_COMMON_STATE = {"n_features_in_": _check_count, "feature_names_in_": _check_names}
_SCALER_VECTORS = {"StandardScaler": ("mean_", "var_", "scale_"),
                   "MinMaxScaler": ("min_", "scale_", "data_min_", "data_max_", "data_range_"),
                   "PixelScaler": ()}  # fmt: skip
# what every network estimator stores (the shared base's keys, old and new)
_NETWORK_STATE = _COMMON_STATE | {
    "n_iter_": _check_nonneg, "history_": _check_history, "best_loss_": _check_opt_float,
    "best_validation_score_": _check_opt_float, "_fit_batch_size": _check_count,
    "_hidden": _check_widths, "_no_improvement_count": _check_nonneg,
    "n_outputs_": _check_count, "out_activation_": _check_short_str, "t_": _check_nonneg,
    "loss_": _check_opt_number, "_l2": _check_opt_number, "_input_dtype": _check_float_name,
    "_network_dtype": _check_float_name,
}  # fmt: skip


def _classifier_outputs(state: dict, where: str) -> int:
    """Output units a classifier's state implies, after checking its labels."""
    classes = state["classes_"]
    if len(np.unique(classes)) != len(classes):
        raise ModelFileError(f"{where}: classes_ repeats a label")
    if int(state["n_classes_"]) != len(classes):
        raise ModelFileError(f"{where}: n_classes_ does not match classes_")
    n_outputs = int(state.get("n_outputs_", len(classes)))
    binary = state.get("_y_type") == "binary" and len(classes) == 2 and n_outputs in (1, 2)
    if n_outputs != len(classes) and not binary:
        raise ModelFileError(f"{where}: {len(classes)} classes but n_outputs_ is {n_outputs}")
    return n_outputs


#: class name -> {"keys": {key: check}, "required": set, "outputs": function of the
#: state giving the network's output width, after checking the state's own consistency}.
#: An estimator added to the format adds one entry here (and one in ``_classes``).
STATE_SCHEMAS = {
    "MLPClassifier": {
        "keys": _NETWORK_STATE | {"n_classes_": _check_count, "classes_": _check_labels,
                                  "_y_type": _check_short_str},
        "required": {"n_features_in_", "n_classes_", "n_iter_", "history_", "_hidden",
                     "classes_"},
        "outputs": _classifier_outputs,
    },
    "MLPRegressor": {
        "keys": _NETWORK_STATE,
        "required": {"n_features_in_", "n_outputs_", "n_iter_", "history_", "_hidden"},
        "outputs": lambda state, where: int(state["n_outputs_"]),
    },
    **{
        name: {
            "keys": _COMMON_STATE
            | dict.fromkeys(vectors, _check_float_vector)
            | ({"n_samples_seen_": _check_samples_seen} if vectors else {}),
            "required": {"n_features_in_"},
        }
        for name, vectors in _SCALER_VECTORS.items()
    },
}  # fmt: skip


def _check_state(cls_name: str, state: dict, where: str, network: dict | None) -> None:
    """Known keys only, each of its type, consistent with each other and the network."""
    schema = STATE_SCHEMAS[cls_name]
    unknown = set(state) - set(schema["keys"])
    if unknown:
        raise ModelFileError(f"{where}: unexpected stored attribute {sorted(unknown)[0]!r}")
    missing = schema["required"] - set(state)
    if missing:
        raise ModelFileError(f"{where}: stored attribute {sorted(missing)[0]!r} is missing")
    for key, value in state.items():
        wanted = schema["keys"][key](value)
        if wanted is not None:
            raise ModelFileError(f"{where}: stored attribute {key!r} is not {wanted}")
    n_features = int(state["n_features_in_"])
    names = state.get("feature_names_in_")
    if names is not None and len(names) != n_features:
        raise ModelFileError(f"{where}: {len(names)} feature names for n_features_in_={n_features}")
    for key in _SCALER_VECTORS.get(cls_name, ()):
        if state.get(key) is not None and len(state[key]) != n_features:
            raise ModelFileError(f"{where}: {key} has {len(state[key])} entries, not {n_features}")
    if network is None:
        return
    n_outputs = schema["outputs"](state, where)
    checks = [
        (n_outputs, network["n_outputs"], "outputs"),
        (n_features, network["n_inputs"], "input features"),
    ]
    if "_hidden" in state:
        checks.append((tuple(int(w) for w in state["_hidden"]), network["hidden"], "hidden widths"))
    for stored, built, what in checks:
        if stored != built:
            raise ModelFileError(
                f"{where}: the stored state says {stored} {what} but the network has {built}"
            )


def _build_estimator(entry: dict, members: dict, where: str):
    classes = _classes()
    if not isinstance(entry, dict):
        raise ModelFileError(f"{where}: a step is not described by an object")
    cls_name = entry.get("class")
    if not isinstance(cls_name, str) or cls_name not in classes:
        raise ModelFileError(
            f"{where}: class {cls_name!r} is not one skmlp loads ({_supported_names()})"
        )
    cls = classes[cls_name]
    raw_params, raw_state = entry.get("params", {}), entry.get("state", {})
    if not isinstance(raw_params, dict) or not isinstance(raw_state, dict):
        raise ModelFileError(f"{where}: parameters and state must be JSON objects")
    params = {k: _decode(v, where) for k, v in raw_params.items()}
    known = set(cls().get_params(deep=False))
    if set(params) - known:
        unknown = sorted(set(params) - known)[0]
        raise ModelFileError(f"{where}: {cls_name} has no parameter {unknown!r}")
    est = cls(**params)
    state = {k: _decode(v, where) for k, v in raw_state.items()}
    if cls_name in _NETWORK_CLASSES:
        member = entry.get("keras_model")
        if not isinstance(member, str) or member not in members:
            raise ModelFileError(f"{where}: the network member is missing")
        _check_state(cls_name, state, where, network=None)  # types first: cheap
        model, shape = _load_keras(members[member], f"{where} network")
        _check_state(cls_name, state, where, network=shape)
        return est._set_state(state, model)
    _check_state(cls_name, state, where, network=None)
    for key, value in state.items():
        setattr(est, key, value)
    return est


# what malformed input makes Python, numpy, zipfile or h5py raise
_MALFORMED = (KeyError, TypeError, ValueError, IndexError, AttributeError, RecursionError,
              RuntimeError, OverflowError, MemoryError, OSError, EOFError, zlib.error)  # fmt: skip


def load(path):
    """Load a model saved by :func:`save`, without unpickling or importing anything.

    The file's format is told from its content: a pickle (such as a joblib file)
    is refused, whatever its name, with a message on how to opt in
    (:func:`load_pickle`). Budgets are checked before anything is allocated:
    member sizes and compression ratios, the manifest's size and nesting depth,
    label lengths, each layer's width and the parameter count against the
    weights in the file. The manifest and every member are checked against their
    SHA-256; classes are looked up in a fixed table (:class:`MLPClassifier`,
    :class:`PixelScaler`, scikit-learn's ``StandardScaler`` and ``MinMaxScaler``,
    ``Pipeline``); the stored state may hold only known attributes, of the right
    types, consistent with the network; each network's configuration must name
    only Keras' own layers before :func:`keras.saving.load_model` reads it with
    ``safe_mode=True``. Files written under another Keras backend load too:
    weights are stored backend-neutrally.

    Parameters
    ----------
    path : str or path-like
        A ``.skmlp`` file.

    Returns
    -------
    MLPClassifier or sklearn.pipeline.Pipeline
        The fitted model, ready to predict or to train on.

    Raises
    ------
    ModelFileError
        Not an skmlp model file (a pickle included), truncated, altered, over a
        budget, from a newer format, or naming something skmlp does not load. The
        message names the file and says which.
    FileNotFoundError
        No such file.
    """
    path = Path(path)
    try:
        return _load(path)
    except (ModelFileError, FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except _MALFORMED as exc:
        raise ModelFileError(
            f"{path}: damaged or malformed model file ({type(exc).__name__}: {exc})"
        ) from None


def _load(path: Path):
    from sklearn.pipeline import Pipeline

    manifest, members = _read_archive(path)
    obj = manifest.get("object")
    kind = obj.get("kind") if isinstance(obj, dict) else None
    if kind == "pipeline":
        steps = obj.get("steps")
        if (
            not isinstance(steps, list)
            or not 1 <= len(steps) <= MAX_MEMBERS
            or not all(isinstance(s, list) and len(s) == 2 and isinstance(s[0], str) for s in steps)
        ):
            raise ModelFileError(f"{path}: the pipeline's steps are malformed")
        names = [name for name, _ in steps]
        if len(set(names)) != len(names):
            raise ModelFileError(f"{path}: the pipeline repeats a step name")
        built = [
            (name, _build_estimator(entry, members, f"{path} step {name!r}"))
            for name, entry in steps
        ]
        for (a, first), (b, second) in itertools.pairwise(built):
            if first.n_features_in_ != second.n_features_in_:
                raise ModelFileError(
                    f"{path}: step {a!r} gives {first.n_features_in_} features but step {b!r} "
                    f"takes {second.n_features_in_}"
                )
        return Pipeline(built)
    if kind == "estimator":
        return _build_estimator(obj.get("estimator"), members, str(path))
    raise ModelFileError(f"{path}: unknown object kind {kind!r}")


def load_pickle(path):
    """Unpickle a joblib file: only for a file you made yourself, it can run any code.

    skmlp never unpickles by default (:func:`load` refuses pickles). This function
    is the explicit opt-in, for a model you saved with :func:`joblib.dump`: loading
    a pickle runs whatever code its author put in it, so never use it on a file
    from someone else; ask them for a ``.skmlp`` file instead. An skmlp model file
    (a zip) is refused here: use :func:`load`.

    Parameters
    ----------
    path : str or path-like
        A pickle or joblib file, compressed or not.

    Returns
    -------
    object
        The unpickled object.

    Raises
    ------
    ModelFileError
        The file is a zip (an skmlp model file or a damaged one) or empty.
    FileNotFoundError
        No such file.
    """
    import joblib

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    kind = file_format(path)
    if kind == "zip":
        raise ModelFileError(
            f"{path}: a zip archive (an skmlp model file, or a damaged one), not a pickle; "
            "load it with skmlp.load"
        )
    if kind == "empty":
        raise ModelFileError(f"{path}: the file is empty")
    return joblib.load(path)


def is_model_file(path) -> bool:
    """Whether ``path`` looks like an skmlp model file (a zip holding the manifest)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return MANIFEST in zf.namelist()
    except (OSError, zipfile.BadZipFile):
        return False
