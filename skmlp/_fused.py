"""A fused training epoch for the JAX backend.

Keras' ``Model.fit`` dispatches one compiled step per minibatch from Python.
For the small networks of an MLP, that dispatch, not arithmetic, dominates: on a
GPU an epoch of 600 steps costs about a second whatever the model. Here the
whole epoch is one compiled call: the training data is put on the device once,
and each epoch sends only the shuffled row order; ``jax.lax.scan`` runs Keras'
own pure ``train_step(state, data)`` over the minibatches, which keeps its exact
semantics (optimizer, batch-norm statistics, dropout seeds, metrics).

The jitted functions are pure in the state they are given, so they are compiled
once per network structure and shared by every model of that structure
(:mod:`skmlp._reuse`): later fits, and every ``partial_fit`` call after the
first, run already-compiled code. Validation runs Keras' ``test_step`` the
same way, instead of ``Model.evaluate``, which would compile it per model.

Everything that ``fit`` does around the steps is done the same way and in the
same order, so that for a given seed the fused path computes what ``fit``
computes (same shuffles from NumPy's global generator, same remainder batch,
same epoch metrics and validation); ``tests/test_fused.py`` checks this.

:func:`fused_fit` returns ``None`` when the model or the Keras version does not
support it; the caller then uses ``Model.fit``.
"""

from __future__ import annotations

import keras
import numpy as np

from ._reuse import jax_function

__all__ = ["can_fuse", "fused_fit"]

# Data larger than this stays on the host and is trained with ``Model.fit``.
MAX_DEVICE_BYTES = 4 * 1024**3

_REQUIRED = ("train_step", "_get_jax_state", "jax_state_sync", "_symbolic_build")


def can_fuse(model, X) -> bool:
    """Whether :func:`fused_fit` can train ``model`` on ``X``."""
    if keras.backend.backend() != "jax" or model.run_eagerly or not model.jit_compile:
        return False
    if keras.distribution.distribution() is not None:
        return False
    if not all(hasattr(model, name) for name in _REQUIRED):
        return False
    return X.nbytes <= MAX_DEVICE_BYTES


def _compiled_epoch(model):
    """Jitted training: a whole epoch (``scan`` over ``index``) and one minibatch."""
    import jax

    def train_rows(state, X, y, sw, rows):
        """One ``train_step`` on the given rows of the on-device data."""
        data = (X[rows], y[rows]) if sw is None else (X[rows], y[rows], sw[rows])
        return model.train_step(state, data)[1]

    def epoch(state, X, y, sw, index):
        return jax.lax.scan(lambda s, rows: (train_rows(s, X, y, sw, rows), None), state, index)[0]

    return jax.jit(epoch, donate_argnums=0), jax.jit(train_rows, donate_argnums=0)


def _compiled_test_step(model):
    import jax

    return jax.jit(model.test_step)


def _evaluate(model, X, y, batch_size) -> dict:
    """``model.evaluate(X, y, batch_size=batch_size, return_dict=True)``, compiled once.

    The same ``test_step`` over the same batches, metrics accumulated the same
    way, with the test step shared by every model of this structure.
    """
    test_step = jax_function(model, "test_step", _compiled_test_step)
    model.reset_metrics()
    state = (
        [v.value for v in model.trainable_variables],
        [v.value for v in model.non_trainable_variables],
        [v.value for v in model.metrics_variables],
    )
    for start in range(0, X.shape[0], batch_size):
        state = test_step(state, (X[start : start + batch_size], y[start : start + batch_size]))[1]
    for ref, value in zip(model.metrics_variables, state[2], strict=True):
        ref.assign(value)
    return model.get_metrics_result()


_STATE_NAMES = (
    "trainable_variables",
    "non_trainable_variables",
    "optimizer_variables",
    "metrics_variables",
)


def _keep(model, state):
    """Record the newest state where ``jax_state_sync`` finds it, as ``fit`` does."""
    model._jax_state = dict(zip(_STATE_NAMES, state, strict=True))
    model._jax_state_synced = False
    return state


def fused_fit(
    model,
    X,
    y,
    *,
    sample_weight=None,
    batch_size,
    epochs,
    shuffle,
    validation_data=None,
    callbacks=(),
    verbose=0,
):
    """Train ``model`` like ``model.fit(...)`` with one compiled call per epoch.

    Parameters
    ----------
    model : keras.Model
        A compiled model on the JAX backend (see :func:`can_fuse`).
    X, y : ndarray
        Training inputs (float32) and integer targets.
    sample_weight : ndarray or None
        Per-sample weights.
    batch_size, epochs, shuffle, validation_data, callbacks, verbose
        As for :meth:`keras.Model.fit`.

    Returns
    -------
    history : keras.callbacks.History
        What ``fit`` returns.
    """
    import jax

    n = X.shape[0]
    n_full, rest = divmod(n, batch_size)
    # What ``fit`` does first: build the model's metrics and loss from a batch.
    # ``fit`` gets that batch from its shuffled epoch iterator, which draws one
    # permutation from NumPy's global generator; draw it too, so that the
    # epochs below see the same shuffles as ``fit``'s.
    unbuilt = not all(layer.built for layer in model._flatten_layers()) or any(
        part is not None and not part.built
        for part in (model._compile_metrics, model._compile_loss)
    )
    if unbuilt and shuffle:
        np.random.permutation(n)  # noqa: NPY002 (mirrors fit's global draw)
    first = (X[:batch_size], y[:batch_size])
    if sample_weight is not None:
        first += (sample_weight[:batch_size],)
    model._symbolic_build(data_batch=first)
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)

    callbacks = keras.callbacks.CallbackList(
        list(callbacks),
        add_history=True,
        add_progbar=verbose != 0,
        verbose=verbose,
        epochs=epochs,
        steps=n_full + (rest > 0),
        model=model,
    )
    epoch_fn, step_fn = jax_function(model, "epoch", _compiled_epoch)
    Xd, yd = jax.device_put(X), jax.device_put(y)
    swd = None if sample_weight is None else jax.device_put(sample_weight)
    if validation_data is not None:
        val_x, val_y = validation_data[:2]

    model.stop_training = False
    logs = {}
    callbacks.on_train_begin()
    try:
        for epoch in range(epochs):
            model.reset_metrics()
            callbacks.on_epoch_begin(epoch)
            state = model._get_jax_state(
                trainable_variables=True,
                non_trainable_variables=True,
                optimizer_variables=True,
                metrics_variables=True,
            )
            order = np.random.permutation(n) if shuffle else np.arange(n)  # noqa: NPY002
            order = order.astype(np.int32)
            if n_full:
                index = jax.device_put(order[: n_full * batch_size].reshape(n_full, batch_size))
                state = _keep(model, epoch_fn(state, Xd, yd, swd, index))
            if rest:
                rows = jax.device_put(order[n_full * batch_size :])
                state = _keep(model, step_fn(state, Xd, yd, swd, rows))
            model.jax_state_sync()
            logs = {k: float(v) for k, v in model.get_metrics_result().items()}
            if validation_data is not None:
                val = _evaluate(model, val_x, val_y, batch_size)
                logs.update({f"val_{k}": float(v) for k, v in val.items()})
            callbacks.on_epoch_end(epoch, logs)
            if model.stop_training:
                break
    finally:
        # as fit does: put the newest state back into the model's variables even
        # when interrupted, since the compiled calls consumed the old buffers
        model.jax_state_sync()
        model._jax_state = None
    if epochs > 0 and isinstance(model.optimizer, keras.optimizers.Optimizer):
        model.optimizer.finalize_variable_values(model.trainable_weights)
    callbacks.on_train_end(logs=logs)
    return model.history
