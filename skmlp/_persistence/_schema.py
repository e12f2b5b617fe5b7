"""What a network's Keras config may say, place by place.

Keras builds whatever object a config names wherever it names it: a ``Dense``
layer given as another layer's activation or initializer is built, and then
called, allocating what its own config asks for. So the check is positional:
every place a nested object can appear (the layers, each layer's dtype policy,
activation, initializers, regularizers and constraints, the quantization config,
the optimizer, loss and metrics) admits only its own kind of object, and every
object's config may hold only the arguments Keras writes for its class, each
within a range. Anything else (an unknown argument such as ``lora_rank``, a
layer in an initializer's place, a number out of range) is refused with one line
naming the place.

The tables list what Keras 3 writes for the classes skmlp builds
(``keras/src/layers/core/dense.py`` and the other classes' ``get_config``, the
model's ``compile_config``); an argument left out takes Keras' default.
"""

from __future__ import annotations

import json
import math
from numbers import Integral, Real

from .._backend import MAX_SEED
from .._optimizers import optimizer_classes
from ._limits import MAX_LAYERS, MAX_WIDTH, ModelFileError

#: The newest Keras whose configs the argument lists below were read from: a newer
#: Keras may write arguments they lack, and a refusal then says so.
KNOWN_KERAS = (3, 15)


def _newer_keras() -> str:
    import keras

    try:
        version = tuple(int(p) for p in keras.__version__.split(".")[:2])
    except ValueError:
        return ""
    if version <= KNOWN_KERAS:
        return ""
    return (f" (this skmlp knows the arguments of Keras up to {'.'.join(map(str, KNOWN_KERAS))}"
            f"; Keras {keras.__version__} may write new ones: upgrade skmlp)")  # fmt: skip


#: Keras activation names a layer's ``activation`` may be (Keras writes its own
#: activations as their names); ``swish`` is written as ``silu``.
ACTIVATION_NAMES = ("linear", "relu", "sigmoid", "tanh", "elu", "selu", "gelu", "swish", "silu",
                    "leaky_relu", "softmax", "exponential")  # fmt: skip
LOSS_NAMES = ("sparse_categorical_crossentropy", "categorical_crossentropy",
              "binary_crossentropy", "mean_squared_error", "poisson")  # fmt: skip
METRIC_NAMES = ("accuracy", "sparse_categorical_accuracy", "binary_accuracy", "mean_squared_error")
FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
MAX_NAME_CHARS = 256
MAX_REAL = 1e6  # any hyperparameter's magnitude (a learning rate, a regularization factor, ...)


class _Refusal(Exception):
    """A value out of its place's range; turned into a :class:`ModelFileError` with the path."""


def _show(value) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


# ------------------------------------------------------- value checks
def _bool(value):
    if not isinstance(value, bool):
        raise _Refusal("not true or false")


def _real(lo=-MAX_REAL, hi=MAX_REAL, *, open_lo=False, open_hi=False):
    def check(value):
        if not isinstance(value, Real) or isinstance(value, bool) or not math.isfinite(value):
            raise _Refusal("not a finite number")
        if value < lo or value > hi or (open_lo and value == lo) or (open_hi and value == hi):
            raise _Refusal(f"outside {'(' if open_lo else '['}{lo}, {hi}{')' if open_hi else ']'}")

    return check


def _int(lo, hi):
    def check(value):
        if not isinstance(value, Integral) or isinstance(value, bool) or not lo <= value <= hi:
            raise _Refusal(f"not an integer in {lo}..{hi}")

    return check


def _one_of(*options):
    def check(value):  # of the same type: true is not 1, 0.0 is not 0
        if not any(type(value) is type(o) and value == o for o in options):
            raise _Refusal(f"not one of {json.dumps(options)}")

    return check


def _optional(inner):
    def check(value):
        if value is not None:
            inner(value)

    return check


def _none(value):
    if value is not None:
        raise _Refusal("not null (skmlp never writes it)")


def _name(value):
    if not isinstance(value, str) or not 0 < len(value) <= MAX_NAME_CHARS:
        raise _Refusal(f"not a name of 1 to {MAX_NAME_CHARS} characters")


def _width(value):
    if not isinstance(value, Integral) or isinstance(value, bool) or not 1 <= value <= MAX_WIDTH:
        raise _Refusal(f"not a width in 1..{MAX_WIDTH}")


def _shape(value):
    if not (isinstance(value, list) and len(value) == 2 and value[0] is None):
        raise _Refusal("not a shape [null, n]")
    _width(value[1])


_SEED = _optional(_int(0, MAX_SEED))
_RATE = _real(0, 1, open_hi=True)
_UNIT = _real(0, 1)
_POSITIVE = _real(0, MAX_REAL, open_lo=True)
_FACTOR = _real(0, MAX_REAL)
_NULL = _none


# ------------------------------------------- the classes, by the place they may take
class _Place:
    """A place for a nested object of ``kind``: a config dict of one of its classes."""

    def __init__(self, kind: str, *, optional=True, names=()):
        self.kind, self.optional, self.names = kind, optional, names


_DTYPE = _Place("dtype policy", names=FLOAT_DTYPES)
_INIT = _Place("initializer", optional=False)
_REG = _Place("regularizer")
_CONSTRAINT = _Place("constraint")
_ACTIVATION = _one_of(None, *ACTIVATION_NAMES)
_LAYER = {"name": _name, "trainable": _bool, "dtype": _DTYPE, "activity_regularizer": _REG}
_FAN = {"seed": _SEED, "input_axes": _NULL, "output_axes": _NULL}
_OPTIMIZER = {
    "name": _name, "learning_rate": _POSITIVE, "weight_decay": _optional(_FACTOR),
    "clipnorm": _optional(_POSITIVE), "global_clipnorm": _optional(_POSITIVE),
    "clipvalue": _optional(_POSITIVE), "use_ema": _bool, "ema_momentum": _UNIT,
    "ema_overwrite_frequency": _optional(_int(1, 2**31)), "loss_scale_factor": _optional(_POSITIVE),
    "gradient_accumulation_steps": _optional(_int(1, 2**16)),
    # Adam, SGD
    "beta_1": _UNIT, "beta_2": _UNIT, "epsilon": _real(0, 1), "amsgrad": _bool,
    "momentum": _UNIT, "nesterov": _bool,
}  # fmt: skip

#: kind -> class name -> (the public modules it may come from, its config's arguments).
CLASSES: dict[str, dict[str, tuple[tuple[str, ...], dict]]] = {
    "layer": {
        "InputLayer": (("keras.layers",), {
            "batch_shape": _shape, "dtype": _one_of(*FLOAT_DTYPES), "sparse": _one_of(False),
            "ragged": _one_of(False), "name": _name, "optional": _one_of(False)}),
        "Dense": (("keras.layers",), {
            **_LAYER, "units": _width, "activation": _ACTIVATION, "use_bias": _bool,
            "kernel_initializer": _INIT, "bias_initializer": _INIT, "kernel_regularizer": _REG,
            "bias_regularizer": _REG, "kernel_constraint": _CONSTRAINT,
            "bias_constraint": _CONSTRAINT, "quantization_config": _NULL,
            "lora_rank": _NULL, "lora_alpha": _NULL}),  # skmlp never uses LoRA
        "BatchNormalization": (("keras.layers",), {
            **_LAYER, "axis": _one_of(-1, 1), "momentum": _UNIT,
            "epsilon": _real(0, 1, open_lo=True), "center": _bool, "scale": _bool,
            "beta_initializer": _INIT, "gamma_initializer": _INIT, "moving_mean_initializer": _INIT,
            "moving_variance_initializer": _INIT, "beta_regularizer": _REG,
            "gamma_regularizer": _REG, "beta_constraint": _CONSTRAINT,
            "gamma_constraint": _CONSTRAINT, "synchronized": _one_of(False),
            "renorm": _one_of(False), "renorm_clipping": _NULL, "renorm_momentum": _UNIT}),
        "Dropout": (("keras.layers",), {
            **_LAYER, "rate": _RATE, "seed": _SEED, "noise_shape": _NULL}),
    },
    "dtype policy": {
        name: (("keras",), {"name": _one_of(*FLOAT_DTYPES)})
        for name in ("DTypePolicy", "FloatDTypePolicy")
    },
    "initializer": {
        **{name: (("keras.initializers",), _FAN)
           for name in ("GlorotUniform", "GlorotNormal", "HeNormal", "HeUniform", "LecunNormal",
                        "LecunUniform")},
        **{name: (("keras.initializers",), {"seed": _SEED, "mean": _real(),
                                            "stddev": _FACTOR})
           for name in ("RandomNormal", "TruncatedNormal")},
        "RandomUniform": (("keras.initializers",), {"seed": _SEED, "minval": _real(),
                                                    "maxval": _real()}),
        "VarianceScaling": (("keras.initializers",), {
            **_FAN, "scale": _POSITIVE, "mode": _one_of("fan_in", "fan_out", "fan_avg"),
            "distribution": _one_of("truncated_normal", "untruncated_normal", "uniform",
                                    "normal")}),
        "Orthogonal": (("keras.initializers",), {"seed": _SEED, "gain": _real()}),
        "Identity": (("keras.initializers",), {"gain": _real()}),
        "Constant": (("keras.initializers",), {"value": _real()}),
        "Zeros": (("keras.initializers",), {}),
        "Ones": (("keras.initializers",), {}),
    },
    "regularizer": {
        "L1": (("keras.regularizers",), {"l1": _FACTOR}),
        "L2": (("keras.regularizers",), {"l2": _FACTOR}),
        "L1L2": (("keras.regularizers",), {"l1": _FACTOR, "l2": _FACTOR}),
    },
    "constraint": {
        "MaxNorm": (("keras.constraints",), {"max_value": _POSITIVE, "axis": _one_of(0, -2)}),
    },
    "optimizer": {name: (("keras.optimizers",), _OPTIMIZER) for name in optimizer_classes()},
}  # fmt: skip

_COMPILE = {
    "optimizer": _Place("optimizer"), "loss": _one_of(*LOSS_NAMES),
    "loss_weights": _optional(_POSITIVE), "metrics": ("list", _one_of(*METRIC_NAMES)),
    "weighted_metrics": _NULL, "run_eagerly": _one_of(False),
    "steps_per_execution": _int(1, 2**20), "jit_compile": _one_of(True, False, "auto"),
}  # fmt: skip
_SEQUENTIAL = {"name": _name, "trainable": _bool, "dtype": _DTYPE,
               "layers": ("list", _Place("layer", optional=False)),
               "build_input_shape": _optional(_shape)}  # fmt: skip
_OUTER = {"module", "class_name", "config", "registered_name"}


# ---------------------------------------------------------------- the walk
def check_network_config(config, where: str) -> None:
    """Refuse a network config that names anything out of its place or range.

    Parameters
    ----------
    config : object
        The parsed ``config.json`` of a ``.keras`` archive.
    where : str
        The file (and step), for the messages.

    Raises
    ------
    ModelFileError
        One line naming the file, the place in the config and what it may hold.
    """
    shared: dict = {}
    if not isinstance(config, dict) or config.get("class_name") != "Sequential":
        raise ModelFileError(f"{where}: the network is not a Keras Sequential model")
    _check_object(config, "network", where, "model", shared)
    for obj_id, seen in shared.items():
        if len(seen) > 1:
            raise ModelFileError(
                f"{where}: the network shares object {obj_id} between different objects "
                f"({sorted(seen)[0][:60]}...); refusing to load it"
            )


def _check_object(value, path, where, kind, shared) -> None:
    if not isinstance(value, dict):
        raise ModelFileError(f"{where}: {path} is {_show(value)}, not a Keras {kind} object")
    name, module = value.get("class_name"), value.get("module")
    registered = value.get("registered_name")
    if kind == "model":
        allowed, spec = ("keras",), _SEQUENTIAL
    else:
        allowed, spec = CLASSES[kind].get(name, ((), None)) if isinstance(name, str) else ((), None)
    if module not in allowed or registered not in (None, name):
        label = f"{module}.{name}" if isinstance(module, str) else str(name)
        raise ModelFileError(
            f"{where}: the network names {label[:80]!r} at {path}, which is not one of the Keras "
            f"{'layers' if kind == 'layer' else kind + 's'} skmlp loads there; refusing to load it"
        )
    outer = _OUTER | ({"build_config"} if kind in ("layer", "model") else set())
    outer |= {"compile_config"} if kind == "model" else {"shared_object_id"}
    extra = set(value) - outer
    if extra:
        raise ModelFileError(f"{where}: {path} ({name}) has unknown key {sorted(extra)[0]!r}")
    if "shared_object_id" in value:
        _check_value(value["shared_object_id"], _int(0, 2**64), f"{path}.shared_object_id", where,
                     shared)  # fmt: skip
        shared.setdefault(value["shared_object_id"], set()).add(
            kind + json.dumps({k: v for k, v in value.items() if k != "shared_object_id"},
                              sort_keys=True))  # fmt: skip
    if value.get("build_config") is not None:
        _check_args(value["build_config"], {"input_shape": _shape}, f"{path}.build_config",
                    where, shared)  # fmt: skip
    if value.get("compile_config") is not None:
        _check_args(value["compile_config"], _COMPILE, f"{path}.compile_config", where, shared)
    _check_args(value.get("config"), spec, f"{path} ({name})", where, shared)


def _check_args(config, spec, path, where, shared) -> None:
    if not isinstance(config, dict):
        raise ModelFileError(f"{where}: {path} has no config object")
    for key, value in config.items():
        if key not in spec:
            raise ModelFileError(
                f"{where}: {path} has argument {key!r}, which skmlp does not load "
                f"(known: {', '.join(sorted(spec)) or 'none'}); refusing to load it"
                + _newer_keras()
            )
        _check_value(value, spec[key], f"{path}.{key}", where, shared)


def _check_value(value, check, path, where, shared) -> None:
    if isinstance(check, _Place):
        if value is None and check.optional:
            return
        if isinstance(value, str) and value in check.names:
            return
        _check_object(value, path, where, check.kind, shared)
    elif isinstance(check, tuple):  # ("list", check of each item)
        limit = MAX_LAYERS if isinstance(check[1], _Place) else 8
        if value is None and not isinstance(check[1], _Place):
            return
        if not isinstance(value, list) or len(value) > limit:
            raise ModelFileError(f"{where}: {path} is not a list of at most {limit} items")
        for i, item in enumerate(value):
            _check_value(item, check[1], f"{path}[{i}]", where, shared)
    else:
        try:
            check(value)
        except _Refusal as refusal:
            raise ModelFileError(
                f"{where}: {path} is {_show(value)}, {refusal}; refusing to load it"
            ) from None
