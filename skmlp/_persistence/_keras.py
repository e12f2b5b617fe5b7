"""The networks: Keras' native format, checked before Keras reads it.

A network's configuration may name only Keras' own classes, each in its own place
and with known arguments in range (:mod:`._schema`); its
shape (widths, parameter count) is read from the configuration alone and checked
against the weights actually in the file before :func:`keras.saving.load_model`
builds anything.
"""

from __future__ import annotations

import io
import math
import os
import tempfile
import zipfile
from pathlib import Path

from .._backend import quiet_backend_deprecations, tensorflow_hidden
from ._archive import _read_zip
from ._json import _parse_json
from ._limits import (
    MAX_CONFIG_BYTES,
    MAX_LAYERS,
    MAX_MEMBER_BYTES,
    MAX_WIDTH,
    ModelFileError,
    printable,
)
from ._schema import CLASSES, check_network_config

# Keras classes a model file may name, each with the public modules it may come from
# (a file naming any other module, even one of Keras' own, imports nothing); where each
# may appear, and with which arguments, is the schema's (_schema.CLASSES)
_KERAS_CLASSES = {
    name: modules[0] if len(modules) == 1 else modules
    for table in CLASSES.values()
    for name, (modules, _) in table.items()
}
_KERAS_CLASSES["Sequential"] = "keras"
_KERAS_MEMBERS = ("config.json", "metadata.json", "model.weights.h5")


def _keras_bytes(model) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        # Keras' serialization would import TensorFlow, and calls deprecated NumPy APIs
        with tensorflow_hidden(), quiet_backend_deprecations():
            model.save(path)
        return Path(path).read_bytes()


def _width(value, what: str, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_WIDTH:
        raise ModelFileError(f"{where}: {what} is {value!r}, not a width in 1..{MAX_WIDTH}")
    return value


def _network_shape(config, where: str) -> dict:
    """Widths and parameter count of an skmlp network, from its config alone.

    skmlp networks are a ``Sequential`` of an ``InputLayer`` then ``Dense``,
    ``BatchNormalization`` and ``Dropout`` layers. Every shape Keras would build
    from (input shapes, build configs) must agree with the chain of widths. The
    parameter count is exactly what Keras will build from the config, so that the
    weights can be checked to cover it (:func:`_check_weights`), and ``"arrays"`` the
    shape of every weight array each layer needs, by its path in the weights file
    (Keras names a layer's group by its class, numbered from the second on).
    """
    from .._model import mlp_param_count  # imports Keras, which loading needs anyway

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
    # mlp_param_count counts the Dense chain, each layer with its bias; the config
    # may leave biases out and put batch normalisation anywhere, each with its own
    # optional offset (center) and scale: those are counted here, layer by layer
    dense, no_bias, norm, arrays, seen = [], 0, 0, {}, {}

    def needs(group, *shapes):
        count = seen[group] = seen.get(group, -1) + 1
        name = f"layers/{group}" + (f"_{count}" if count else "")
        arrays.update({f"{name}/vars/{i}": shape for i, shape in enumerate(shapes)})

    for layer in layers[1:]:
        kind, cfg = layer.get("class_name"), layer.get("config") or {}
        shape_is((layer.get("build_config") or {}).get("input_shape"), width,
                 f"the input shape of layer {cfg.get('name')!r}")  # fmt: skip
        if kind == "Dense":
            units = _width(cfg.get("units"), f"layer {cfg.get('name')!r}'s width", where)
            no_bias += 0 if cfg.get("use_bias", True) else units
            needs("dense", (width, units), *[(units,)] * bool(cfg.get("use_bias", True)))
            width = units
            dense.append(units)
        elif kind == "BatchNormalization":
            if cfg.get("axis", -1) not in (-1, 1, [-1], [1]):
                raise ModelFileError(f"{where}: batch normalisation on an unexpected axis")
            n_vars = 2 + bool(cfg.get("center", True)) + bool(cfg.get("scale", True))
            norm += n_vars * width
            needs("batch_normalization", *[(width,)] * n_vars)
        elif kind != "Dropout":
            raise ModelFileError(f"{where}: layer {kind!r} has no place in an skmlp network")
    if not dense:
        raise ModelFileError(f"{where}: the network has no Dense layer")
    n_params = mlp_param_count(n_inputs, dense[:-1], dense[-1]) - no_bias + norm
    return {"n_inputs": n_inputs, "hidden": tuple(dense[:-1]), "n_outputs": dense[-1],
            "n_params": n_params, "arrays": arrays}  # fmt: skip


def plain_arrays(h5: bytes, where: str) -> tuple[int, dict]:
    """The arrays of a Keras weights file, checked to be plain stored numbers.

    Every dataset must be contiguous and uncompressed, stored in the file itself
    (no external or virtual storage, no links), so that reading it allocates no
    more than the file's own size. Returns their total bytes and each array's
    shape by its path; raises :class:`ModelFileError` naming ``where`` otherwise.
    """
    import h5py

    total, count, found = 0, 0, {}
    try:
        with h5py.File(io.BytesIO(h5), "r") as f:
            stack = [f]
            while stack:
                group = stack.pop()
                for name in group:
                    link = group.get(name, getlink=True)
                    if not isinstance(link, h5py.HardLink):
                        raise ModelFileError(
                            f"{where}: the weights file holds a link ({printable(name)})"
                        )
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
                            f"{where}: weight array {printable(obj.name)} is not plain stored "
                            f"numbers (declares {nbytes} bytes, stores {obj.id.get_storage_size()})"
                        )
                    total += nbytes
                    found[obj.name.lstrip("/")] = tuple(obj.shape or ())
    except ModelFileError:
        raise
    except Exception as exc:  # h5py raises OSError, KeyError, ValueError, ... on bad files
        raise ModelFileError(f"{where}: unreadable weights file ({exc})") from None
    return total, found


def _check_weights(h5: bytes, shape: dict, where: str) -> None:
    """The weights file must hold, as plain data, at least the network's parameters.

    Its arrays are plain stored numbers (:func:`plain_arrays`); their total must
    cover the parameter count from the config, and each layer's arrays must have
    the shapes its config gives (a Dense layer's ``units`` against its kernel and
    bias), so that no layer is built larger than the weights that fill it.
    """
    total, found = plain_arrays(h5, where)
    if total > len(h5) or 4 * shape["n_params"] > total:
        raise ModelFileError(
            f"{where}: the network declares {shape['n_params']} parameters but the weights "
            f"file holds {total} bytes of weights in {len(h5)} bytes"
        )
    for path, needed in shape["arrays"].items():
        if found.get(path) != needed:
            raise ModelFileError(
                f"{where}: weight array {path} has shape {found.get(path)}, but the network's "
                f"config builds it as {needed}"
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
    check_network_config(config, where)
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
            with tensorflow_hidden(), quiet_backend_deprecations():
                model = keras.saving.load_model(path, safe_mode=True, compile=True)
        except Exception as exc:
            message = str(exc).strip().splitlines()
            raise ModelFileError(
                f"{where}: Keras cannot load the network ({type(exc).__name__}: "
                f"{message[0] if message else ''})"
            ) from None
    return model, shape
