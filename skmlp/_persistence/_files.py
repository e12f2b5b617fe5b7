"""Saving and loading: :func:`save`, :func:`load` and :func:`load_pickle`.

Each step of a model is written as its class name, typed-JSON parameters and
fitted state (and its network, for the MLP estimators), and rebuilt from the
fixed class table after its state and network have been checked.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .._io import atomic_write
from ._archive import FORMAT, FORMAT_VERSION, MANIFEST, MANIFEST_SUM, _read_archive, file_format
from ._classes import _NETWORK_CLASSES, _classes, _supported_names
from ._json import _decode, _encode
from ._keras import _keras_bytes, _load_keras
from ._limits import MAX_MEMBERS, STORE_ABOVE, ModelFileError
from ._state import _check_state


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
        if key == "callbacks" and value is not None:
            warnings.warn(
                f"{where}: callbacks are not stored in the skmlp format (a file names no "
                "callback class); it is saved with callbacks=None",
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


def library_versions() -> dict:
    """Versions of skmlp and the libraries a fitted model depends on.

    Returns
    -------
    dict
        ``{"skmlp", "keras", "scikit-learn", "numpy"}`` -> version string; a
        model file's manifest adds the Keras backend that wrote it.
    """
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


def save(model, path) -> Path:
    """Save a fitted MLPClassifier, or a Pipeline of supported steps, without pickle.

    The file is safe to load from anyone (see :func:`load`): it holds JSON and
    Keras' native ``.keras`` format only. Supported steps: :class:`MLPClassifier`,
    :class:`MLPRegressor`, :class:`PixelScaler`, :class:`TabularEncoder` (its
    columns, medians, scales and categories as arrays),
    :class:`~sklearn.preprocessing.StandardScaler` and
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
                # weights (float arrays) hardly compress: store large members as
                # they are rather than spend a save's time deflating them
                method = zipfile.ZIP_STORED if len(data) > STORE_ABOVE else zipfile.ZIP_DEFLATED
                zf.writestr(name, data, compress_type=method)

    return atomic_write(path, write)


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
    if params.get("callbacks") is not None:
        raise ModelFileError(f"{where}: callbacks must be null (the format stores none)")
    est = cls(**params)
    state = {k: _decode(v, where) for k, v in raw_state.items()}
    if cls_name in _NETWORK_CLASSES:
        member = entry.get("keras_model")
        if not isinstance(member, str) or member not in members:
            raise ModelFileError(f"{where}: the network member is missing")
        _check_state(cls, state, where, network=None)  # types first: cheap
        model, shape = _load_keras(members[member], f"{where} network")
        _check_state(cls, state, where, network=shape)
        return est._set_state(state, model)
    _check_state(cls, state, where, network=None)
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
    (:func:`load_pickle`). Budgets are checked before anything is allocated: member
    sizes and compression ratios, the manifest's size and nesting depth, label lengths,
    each layer's width and the parameter count against the weights in the file. The
    manifest and every member are checked against their SHA-256; classes are looked up
    in a fixed table (:class:`MLPClassifier`, :class:`MLPRegressor`,
    :class:`PixelScaler`, :class:`TabularEncoder`, scikit-learn's ``StandardScaler`` and
    ``MinMaxScaler``, ``Pipeline``); a TabularEncoder's columns, statistics, categories
    and width must agree with each other and with the next step's input; the stored
    state may hold only known attributes, of the right types, consistent with the
    network; each network's configuration must name only Keras' own layers before
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
            # a step that changes the width (TabularEncoder) says what it gives
            gives = getattr(first, "n_features_out_", first.n_features_in_)
            if gives != second.n_features_in_:
                raise ModelFileError(
                    f"{path}: step {a!r} gives {gives} features but step {b!r} "
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
