"""Compile once per network shape: training and prediction machinery shared across fits.

Every Keras model compiles its own training and prediction functions the first
time it trains or predicts: on TensorFlow a traced graph, on JAX an XLA program.
For the small networks of a grid search that fixed cost is most of a fit, and on
TensorFlow the traced graphs of dead models stay in TensorFlow's function library
(``benchmarks/results/soak_before.md`` measures the growth per fit). This module compiles once per
*structure* (layers and their settings, input width, optimizer and loss
configuration, all without names and seeds) and lets every later model of that
structure use the compiled code:

- On JAX the compiled functions are pure: they take the model's state (weights,
  optimizer slots, metric accumulators) as arguments. The first model of a
  structure serves as the template they are traced from; any model of the same
  structure runs them on its own state (:func:`jax_function`).
- On the other backends a private *engine* model per structure does the
  training and prediction: the user's model's state is copied into it, the
  engine runs Keras' own ``fit`` / ``predict_on_batch`` with its already traced
  functions, and the state is copied back (:func:`training_model`,
  :func:`predicting`). The user's model never traces anything.

In both cases the user's Keras model stays an ordinary, independent model: no
fit changes a model that another estimator holds. The caches are small LRU
maps (``MAX_STRUCTURES`` structures); :func:`clear` empties them.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from contextlib import contextmanager

import keras
import numpy as np

from .._backend import tensorflow_hidden
from .._model import decay_kernels_only
from .background import compile_in_background

__all__ = [
    "clear",
    "compile_forward_later",
    "enabled",
    "jax_function",
    "predicting",
    "structure_key",
    "training_model",
]

#: Structures whose compiled functions (JAX) or engines (other backends) are kept.
MAX_STRUCTURES = 16

_LOCK = threading.RLock()
_JAX: OrderedDict = OrderedDict()  # (key, kind) -> (template model, function)
_ENGINES: OrderedDict = OrderedDict()  # key -> list of [engine, busy]


def enabled() -> bool:
    """Whether compiled functions are shared; ``SKMLP_REUSE_COMPILED=0`` turns it off."""
    return os.environ.get("SKMLP_REUSE_COMPILED", "1") != "0"


def clear() -> None:
    """Drop every cached compiled function and engine model."""
    with _LOCK:
        _JAX.clear()
        _ENGINES.clear()


def _strip(obj):
    """``obj`` without the ``name`` and ``seed`` entries of its dicts, recursively.

    Names are labels and seeds only choose initial values (of weights and of the
    dropout seed generators' state, which is part of the state the compiled
    functions take); neither changes the computation.
    """
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in ("name", "seed")}
    if isinstance(obj, list | tuple):
        return [_strip(v) for v in obj]
    return obj


def structure_key(model) -> str | None:
    """A string that two models share exactly when one's compiled code fits the other.

    Built from the model's config and compile config without names and seeds,
    plus the shapes and dtypes of all its state; ``None`` when the model is not
    compiled or its config cannot be read.
    """
    try:
        with tensorflow_hidden():  # Keras' serialization would import it
            compile_config = model.get_compile_config()
            if compile_config is None:
                return None
            parts = {
                "class": type(model).__qualname__,
                "config": _strip(model.get_config()),
                "compile": _strip(compile_config),
                "variables": [(tuple(v.shape), str(v.dtype)) for v in _state(model)],
            }
        return json.dumps(parts, sort_keys=True, default=repr)
    except (NotImplementedError, TypeError, ValueError, AttributeError):
        return None


def _remember(cache: OrderedDict, key, value):
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > MAX_STRUCTURES:
        cache.popitem(last=False)
    return value


# ------------------------------------------------------------------- JAX
def jax_function(model, kind: str, make):
    """The jitted function ``make(template)`` for ``model``'s structure.

    ``make`` receives the template model (the first model seen with this
    structure) and returns a function that reads nothing from it but its
    structure: all state is passed in as arguments. When sharing is disabled or
    the structure is unknown, ``make(model)`` is returned uncached.
    """
    key = structure_key(model) if enabled() else None
    if key is None:
        return make(model)
    with _LOCK:
        hit = _JAX.get((key, kind))
        if hit is not None:
            _JAX.move_to_end((key, kind))
            return hit[1]
        return _remember(_JAX, (key, kind), (model, make(model)))[1]


def _jax_forward(template):
    import jax

    def forward(trainable, non_trainable, x):
        return template.stateless_call(trainable, non_trainable, x, training=False)[0]

    return jax.jit(forward)


def compile_forward_later(model, rows: int) -> None:
    """Queue the compilation of ``model``'s structure's prediction for ``rows``-row chunks.

    JAX only; it runs on the background compile thread (:mod:`skmlp._training.background`).
    """
    if keras.backend.backend() != "jax" or not enabled() or structure_key(model) is None:
        return
    forward = jax_function(model, "forward", _jax_forward)
    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]
    x = np.zeros((rows, *model.inputs[0].shape[1:]), model.inputs[0].dtype)
    compile_in_background(forward.lower(trainable, non_trainable, x))


# ------------------------------------------------------- engines (not JAX)
def _new_engine(model):
    engine = keras.models.clone_model(model)
    engine.compile_from_config(model.get_compile_config())
    decay_kernels_only(engine.optimizer)  # the exclusions are not in the config
    return engine


def _build_optimizer(model) -> None:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not optimizer.built:
        optimizer.build(model.trainable_variables)


def _state(model) -> list:
    """The model's weights and seed-generator states, in a fixed order."""
    return list(model.trainable_variables) + list(model.non_trainable_variables)


_TF_ASSIGN: list = []  # the compiled all-variables copy (TensorFlow), made on first use


def _tf_assign_all():
    """One compiled TensorFlow call that assigns a list of values to a list of variables.

    Assigning variable by variable costs a dispatch each in eager TensorFlow, and an
    engine's state and optimizer slots are dozens of variables copied in and out
    at every fit and ``partial_fit`` call. Variables are arguments (traced by
    shape and dtype), so one trace serves every model of a structure.
    """
    if not _TF_ASSIGN:
        import tensorflow as tf

        @tf.function(reduce_retracing=True, autograph=False)
        def assign_all(values, variables):
            for value, variable in zip(values, variables, strict=True):
                variable.assign(value)

        _TF_ASSIGN.append(assign_all)
    return _TF_ASSIGN[0]


def _copy(src, dst) -> None:
    if len(src) != len(dst):
        raise RuntimeError(f"state of {len(src)} variables cannot fill {len(dst)}")
    if keras.backend.backend() == "tensorflow" and src:
        _tf_assign_all()([s.value for s in src], [d.value for d in dst])
        return
    for s, d in zip(src, dst, strict=True):
        d.assign(s.value)


@contextmanager
def _engine(model, with_optimizer: bool):
    """Yield an engine for ``model`` holding ``model``'s state, or ``None``."""
    key = structure_key(model) if enabled() else None
    if key is None:
        yield None
        return
    with _LOCK:
        slots = _ENGINES.get(key) or _remember(_ENGINES, key, [])
        _ENGINES.move_to_end(key)
        slot = next((s for s in slots if not s[1]), None)
        if slot is None:
            slot = [None, True]
            slots.append(slot)
        slot[1] = True
    try:
        if slot[0] is None:
            slot[0] = _new_engine(model)
        engine = slot[0]
        _copy(_state(model), _state(engine))
        if with_optimizer:
            _build_optimizer(model)
            _build_optimizer(engine)
            _copy(model.optimizer.variables, engine.optimizer.variables)
        yield engine
    finally:
        with _LOCK:
            slot[1] = False
            if slot[0] is None:
                slots.remove(slot)


@contextmanager
def training_model(model):
    """Yield the model to call ``fit`` on for ``model``: its engine, or itself.

    On JAX, or when sharing is off, this is ``model`` itself. Otherwise it is
    the engine of ``model``'s structure loaded with ``model``'s weights and
    optimizer state; when the block ends (even by an exception, as ``fit``
    keeps what it trained), the engine's state is copied back into ``model``.
    """
    if keras.backend.backend() == "jax":
        yield model
        return
    with _engine(model, with_optimizer=True) as engine:
        if engine is None:
            yield model
            return
        try:
            yield engine
        finally:
            _copy(_state(engine), _state(model))
            _copy(engine.optimizer.variables, model.optimizer.variables)


@contextmanager
def predicting(model):
    """Yield a function ``x -> model(x)`` (inference mode, as a NumPy array).

    It runs the compiled prediction of ``model``'s structure: on JAX one jitted
    pure function shared by every model of the structure, elsewhere the
    model's own ``predict_on_batch``.
    """
    if keras.backend.backend() == "jax":
        if not enabled() or structure_key(model) is None:
            yield model.predict_on_batch
            return
        forward = jax_function(model, "forward", _jax_forward)
        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]
        yield lambda x: np.asarray(forward(trainable, non_trainable, x))
        return
    # TensorFlow: the model's own prediction. Through the engine, whose traced
    # function has a relaxed batch dimension, outputs moved by ~1e-7 with the
    # row order, which scikit-learn's sample-order check refuses.
    yield model.predict_on_batch
