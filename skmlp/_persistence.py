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
Keras' own layers.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import tempfile
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ._io import atomic_write

__all__ = ["FORMAT_VERSION", "ModelFileError", "load", "save"]

FORMAT = "skmlp-model"
#: Version of the file layout written by this skmlp; files of a higher version are refused.
FORMAT_VERSION = 1
MANIFEST = "skmlp.json"
MANIFEST_SUM = "skmlp.json.sha256"
SUFFIX = ".skmlp"

# Keras classes a model file may name: the layers, initializers, regularizers,
# optimizers, losses and metrics that skmlp networks use.
_KERAS_CLASSES = {
    "Sequential", "Functional", "InputLayer", "Dense", "BatchNormalization", "Dropout",
    "RandomNormal", "GlorotUniform", "GlorotNormal", "HeNormal", "HeUniform", "LecunNormal",
    "LecunUniform", "RandomUniform", "TruncatedNormal", "Zeros", "Ones", "Constant",
    "Orthogonal", "VarianceScaling", "Identity", "L2", "L1", "L1L2",
    "Adam", "SGD", "SparseCategoricalCrossentropy", "MeanMetricWrapper", "Mean",
    "SparseCategoricalAccuracy", "DTypePolicy", "FloatDTypePolicy", "Accuracy",
    "BinaryCrossentropy", "BinaryAccuracy", "MeanSquaredError", "Poisson",
}  # fmt: skip

# Estimators whose Keras network is stored beside their state.
_NETWORK_CLASSES = ("MLPClassifier", "MLPRegressor")


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


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__float__" in value:
        return float(value["__float__"])
    if "__tuple__" in value:
        return tuple(_decode(v) for v in value["__tuple__"])
    if "__dict__" in value:
        return {_decode(k): _decode(v) for k, v in value["__dict__"]}
    if "__ndarray__" in value:
        kind, shape = value["__ndarray__"], tuple(value["shape"])
        if kind == "str":
            return np.array(value["data"], dtype=str).reshape(shape)
        if kind == "object-str":
            out = np.empty(len(value["data"]), dtype=object)
            out[:] = [str(v) for v in value["data"]]
            return out.reshape(shape)
        dtype = np.dtype(kind)
        if dtype.kind not in "biuf":
            raise ModelFileError(f"unsupported array type {kind!r} in the model file")
        return np.array([_decode(v) for v in value["data"]], dtype=dtype).reshape(shape)
    raise ModelFileError(f"unknown value in the model file: {sorted(value)}")


# ------------------------------------------------------------ supported steps
def _classes():
    """The fixed table of classes a file may name: nothing else is ever built."""
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    from ._classifier import MLPClassifier
    from ._preprocessing import PixelScaler
    from ._regressor import MLPRegressor

    return {
        "MLPClassifier": MLPClassifier,
        "MLPRegressor": MLPRegressor,
        "PixelScaler": PixelScaler,
        "StandardScaler": StandardScaler,
        "MinMaxScaler": MinMaxScaler,
    }


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
        model.save(path)
        return Path(path).read_bytes()


def library_versions() -> dict:
    """Versions of skmlp and the libraries a fitted model depends on."""
    import keras
    import sklearn

    from . import __version__

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
    >>> import numpy as np, tempfile, os
    >>> import skmlp
    >>> X, y = np.random.RandomState(0).rand(40, 3), np.arange(40) % 2
    >>> clf = skmlp.MLPClassifier((4,), max_iter=2, random_state=0).fit(X, y)  # doctest: +SKIP
    >>> path = skmlp.save(clf, os.path.join(tempfile.mkdtemp(), "clf.skmlp"))  # doctest: +SKIP
    >>> np.allclose(skmlp.load(path).predict_proba(X), clf.predict_proba(X))  # doctest: +SKIP
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
                zf.writestr(name, data)

    return atomic_write(path, write)


# --------------------------------------------------------------------- load
def _read_archive(path: Path) -> tuple[dict, dict[str, bytes]]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ModelFileError(
            f"{path}: not an skmlp model file (not a complete zip archive: truncated, "
            "damaged, or another format such as a joblib pickle)"
        ) from None
    with zf:
        names = set(zf.namelist())
        if MANIFEST not in names or MANIFEST_SUM not in names:
            raise ModelFileError(f"{path}: not an skmlp model file (no {MANIFEST} manifest)")
        try:
            manifest_bytes = zf.read(MANIFEST)
            expected = zf.read(MANIFEST_SUM).decode().strip()
            if hashlib.sha256(manifest_bytes).hexdigest() != expected:
                raise ModelFileError(f"{path}: the manifest does not match its checksum")
            manifest = json.loads(manifest_bytes)
            _check_header(manifest, path)
            listed = manifest.get("members", {})
            unexpected = names - set(listed) - {MANIFEST, MANIFEST_SUM}
            if unexpected:
                raise ModelFileError(f"{path}: unexpected members {sorted(unexpected)}")
            members = {}
            for name, digest in listed.items():
                if name not in names:
                    raise ModelFileError(f"{path}: member {name} is missing")
                data = zf.read(name)
                if hashlib.sha256(data).hexdigest() != digest:
                    raise ModelFileError(f"{path}: member {name} does not match its checksum")
                members[name] = data
        except (zipfile.BadZipFile, zlib.error, EOFError, json.JSONDecodeError) as exc:
            raise ModelFileError(f"{path}: damaged model file ({exc})") from None
    return manifest, members


def _check_header(manifest: dict, path: Path) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not an skmlp model file (format is not {FORMAT!r})")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        wrote = manifest.get("written_by", {}).get("skmlp", "a newer skmlp")
        from . import __version__

        raise ModelFileError(
            f"{path}: written by skmlp {wrote} in model-file format {version}; this skmlp "
            f"({__version__}) reads formats up to {FORMAT_VERSION}: upgrade skmlp to load it"
        )


def _check_keras_config(config, where: str) -> None:
    """Refuse any object in a Keras config that is not one of Keras' own allowed classes."""
    if isinstance(config, list):
        for item in config:
            _check_keras_config(item, where)
        return
    if not isinstance(config, dict):
        return
    if "class_name" in config and ("module" in config or "config" in config):
        module = config.get("module") or ""
        name = config["class_name"]
        registered = config.get("registered_name")
        keras_module = module == "keras" or module.startswith("keras.")
        if not keras_module or name not in _KERAS_CLASSES or registered not in (None, name):
            label = f"{module}.{name}" if module else name
            raise ModelFileError(
                f"{where}: the network names {label!r}, which is not one of the Keras layers "
                "skmlp loads; refusing to load it"
            )
    for value in config.values():
        _check_keras_config(value, where)


def _load_keras(data: bytes, where: str):
    import keras

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as inner:
            config = json.loads(inner.read("config.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{where}: not a Keras model ({exc})") from None
    _check_keras_config(config, where)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        Path(path).write_bytes(data)
        return keras.saving.load_model(path, safe_mode=True, compile=True)


def _build_estimator(entry: dict, members: dict, where: str):
    classes = _classes()
    cls_name = entry.get("class")
    if cls_name not in classes:
        raise ModelFileError(
            f"{where}: class {cls_name!r} is not one skmlp loads ({_supported_names()})"
        )
    cls = classes[cls_name]
    params = {k: _decode(v) for k, v in entry.get("params", {}).items()}
    try:
        est = cls(**params)
    except TypeError as exc:
        raise ModelFileError(f"{where}: parameters do not fit {cls_name} here ({exc})") from None
    state = {k: _decode(v) for k, v in entry.get("state", {}).items()}
    if cls_name in _NETWORK_CLASSES:
        model = _load_keras(members[entry["keras_model"]], f"{where} network")
        return est._set_state(state, model)
    for key, value in state.items():
        if not key.endswith("_") or key.startswith("_"):
            raise ModelFileError(f"{where}: unexpected attribute {key!r}")
        setattr(est, key, value)
    return est


def load(path):
    """Load a model saved by :func:`save`, without unpickling or importing anything.

    The manifest and every member are checked against their SHA-256; classes are
    looked up in a fixed table (:class:`MLPClassifier`, :class:`PixelScaler`,
    scikit-learn's ``StandardScaler`` and ``MinMaxScaler``, ``Pipeline``); each
    network's configuration must name only Keras' own layers before
    :func:`keras.saving.load_model` reads it with ``safe_mode=True``. Files written
    under another Keras backend load too: weights are stored backend-neutrally.

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
        Not an skmlp model file, truncated, altered, from a newer format, or naming
        something skmlp does not load. The message says which.
    FileNotFoundError
        No such file.
    """
    from sklearn.pipeline import Pipeline

    path = Path(path)
    manifest, members = _read_archive(path)
    obj = manifest.get("object", {})
    if obj.get("kind") == "pipeline":
        steps = [
            (name, _build_estimator(entry, members, f"{path} step {name!r}"))
            for name, entry in obj["steps"]
        ]
        return Pipeline(steps)
    if obj.get("kind") == "estimator":
        return _build_estimator(obj["estimator"], members, str(path))
    raise ModelFileError(f"{path}: unknown object kind {obj.get('kind')!r}")


def is_model_file(path) -> bool:
    """Whether ``path`` looks like an skmlp model file (a zip holding the manifest)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return MANIFEST in zf.namelist()
    except (OSError, zipfile.BadZipFile):
        return False
