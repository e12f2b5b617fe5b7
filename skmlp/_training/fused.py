"""A fused training epoch for the JAX backend.

Keras' ``Model.fit`` dispatches one compiled step per minibatch from Python.
For the small networks of an MLP, that dispatch, not arithmetic, dominates. Here
an epoch is a few compiled calls: the rows of up to :data:`MAX_BLOCK_STEPS`
minibatches are gathered on the host into one block of shape
``(steps, batch_size, features)``, and ``jax.lax.fori_loop`` runs a training
step over the block's minibatches. The step is Keras' own (its
``compute_loss_and_updates``, the optimizer's ``stateless_apply``, the compiled
metrics), on a minibatch padded to ``batch_size`` rows with the padding masked
out (:func:`_padded_train_step`): so the last, smaller minibatch of an epoch
runs in the same program as the others, and one compiled program serves every
dataset size; the folds of a cross-validation, the refit on all rows and every
``partial_fit`` call run the same program. Validation runs Keras' ``test_step``
on padded chunks of a fixed size (padding rows weigh 0), compiled on a
background thread while training starts.

The jitted functions are pure in the state they are given, so they are compiled
once per network structure and shared by every model of that structure
(:mod:`skmlp._training.reuse`): later fits, and every ``partial_fit`` call after the
first, run already-compiled code.

Everything that ``fit`` does around the steps is done the same way and in the
same order, so that for a given seed the fused path computes what ``fit``
computes, up to float rounding (the same shuffles, drawn from the fit's own
generator seeded as ``fit`` seeds NumPy's global one; same minibatches and
remainder batch, same dropout masks, same epoch metrics and validation);
``tests/test_fused.py`` checks this.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

import keras
import numpy as np

from .background import compile_in_background
from .reuse import jax_function

__all__ = ["can_fuse", "fused_fit"]

# Data larger than this is trained with ``Model.fit``.
MAX_DEVICE_BYTES = 4 * 1024**3
#: Most minibatches in one block (one compiled call).
MAX_BLOCK_STEPS = 16
#: Most bytes of inputs in one block: fewer steps per block for wide data.
MAX_BLOCK_BYTES = 16 * 1024**2
#: Rows in a validation chunk (smaller sets use the next power of two, at least 128).
EVAL_CHUNK = 1024

_REQUIRED = (
    "test_step",
    "compute_loss_and_updates",
    "compute_metrics",
    "_loss_tracker",
    "_get_jax_state",
    "jax_state_sync",
    "_symbolic_build",
)


def can_fuse(model, X) -> bool:
    """Whether :func:`fused_fit` can train ``model`` on ``X``."""
    if keras.backend.backend() != "jax" or model.run_eagerly or not model.jit_compile:
        return False
    if keras.distribution.distribution() is not None:
        return False
    if not all(hasattr(model, name) for name in _REQUIRED):
        return False
    if not hasattr(model.optimizer, "stateless_apply"):
        return False
    return X.nbytes <= MAX_DEVICE_BYTES


def _leaf_metrics(model) -> list:
    leaves = []
    for metric in model.metrics:
        inner = getattr(metric, "metrics", None)
        leaves.extend(inner if inner and not isinstance(metric, keras.metrics.Mean) else [metric])
    return leaves


@contextmanager
def _real_rows_only(model, real):
    """While tracing: batch normalisation and metrics see the ``real`` rows only.

    Keras' ``BatchNormalization`` takes a ``mask`` of rows for its batch
    moments, but a ``Sequential`` model never passes one; and the compiled
    (unweighted) metrics get no sample weights. For the duration of the trace,
    each batch-normalisation layer's ``call`` gets ``mask=real`` and each metric's
    ``update_state`` called without weights gets ``real`` as its weights
    (instance attributes, removed afterwards).
    """
    patched = []

    def patch(obj, name, wrapper):
        object.__setattr__(obj, name, wrapper(getattr(obj, name)))
        patched.append((obj, name))

    def masked_call(call):
        return lambda inputs, training=None, mask=None: call(inputs, training=training, mask=real)

    def masked_update(update):
        def update_state(y_true, y_pred, sample_weight=None):
            return update(
                y_true, y_pred, sample_weight=real if sample_weight is None else sample_weight
            )

        return update_state

    try:
        for layer in model._flatten_layers(include_self=False):
            if isinstance(layer, keras.layers.BatchNormalization):
                patch(layer, "call", masked_call)
        for metric in _leaf_metrics(model):
            if metric is not model._loss_tracker:
                patch(metric, "update_state", masked_update)
        yield
    finally:
        for obj, name in patched:
            object.__delattr__(obj, name)


def _padded_train_step(model, state, data, n_real):
    """Keras' ``train_step`` on the first ``n_real`` rows of a padded minibatch.

    The same computation as ``model.train_step(state, real rows)``, on a batch of
    the full minibatch shape, so that one compiled program serves every batch,
    the last smaller one of an epoch included: padding rows weigh 0 in the loss
    and the metrics, real rows ``batch_size / n_real`` in the loss (Keras
    divides a batch's weighted loss sum by the batch's row count), batch
    normalisation takes its moments over the real rows, the loss tracker counts
    ``n_real`` rows, and dropout draws the same masks for the real rows
    (JAX's partitionable random bits depend on an element's index, not on the
    array's shape).
    """
    import jax
    import jax.numpy as jnp

    trainable, non_trainable, optimizer_state, metrics_state = state
    x, y = data[0], data[1]
    size = x.shape[0]
    real = jnp.arange(size) < n_real
    weight = real.astype(x.dtype) if len(data) == 2 else jnp.where(real, data[2], 0)
    loss_weight = weight * (size / n_real.astype(x.dtype))
    with _real_rows_only(model, real):
        (_, aux), grads = jax.value_and_grad(model.compute_loss_and_updates, has_aux=True)(
            trainable,
            non_trainable,
            metrics_state,
            x,
            y,
            loss_weight,
            training=True,
            optimizer_variables=optimizer_state,
        )
    unscaled_loss, y_pred, non_trainable, metrics_state = aux
    trainable, optimizer_state = model.optimizer.stateless_apply(optimizer_state, grads, trainable)
    mapping = list(zip(model.metrics_variables, metrics_state, strict=True))
    with keras.StatelessScope(state_mapping=mapping) as scope, _real_rows_only(model, real):
        model._loss_tracker.update_state(unscaled_loss, sample_weight=n_real)
        model.compute_metrics(x, y, y_pred, None if len(data) == 2 else weight)
    metrics_state = [
        value if (value := scope.get_current_value(ref)) is not None else ref.value
        for ref in model.metrics_variables
    ]
    return trainable, non_trainable, optimizer_state, metrics_state


class _Compiled:
    """The jitted functions of one structure, and their background compiles."""

    def __init__(self, model):
        import jax

        def block(state, data, sizes, count):
            def body(i, s):
                return _padded_train_step(model, s, tuple(p[i] for p in data), sizes[i])

            return jax.lax.fori_loop(0, count, body, state)

        def results(metrics_state):
            mapping = list(zip(model.metrics_variables, metrics_state, strict=True))
            with keras.StatelessScope(state_mapping=mapping):
                return model.get_metrics_result()

        self.block = jax.jit(block, donate_argnums=0)
        self.test_step = jax.jit(model.test_step)
        # the epoch's logs in one compiled call, not one eager op per metric
        self.results = jax.jit(results)
        self._lock = threading.Lock()
        self._started: dict = {}  # (name, shapes) -> future of its compile

    def compile_later(self, name, *args):
        """Queue the compilation of ``getattr(self, name)`` for ``args``' shapes.

        Tracing happens here (Keras code runs on the calling thread only); XLA's
        compilation runs on the background compile thread and releases the GIL,
        so it overlaps with the caller's work.
        """
        import jax

        shapes = tuple((a.shape, str(a.dtype)) for a in jax.tree_util.tree_leaves(args[1:]))
        with self._lock:
            if (name, shapes) in self._started:
                return
            lowered = getattr(self, name).lower(*args)
            self._started[(name, shapes)] = compile_in_background(lowered)

    def wait(self, name=None):
        """Wait for this structure's queued compiles of ``name`` (default: all)."""
        with self._lock:
            futures = [f for (n, _), f in self._started.items() if name in (None, n)]
        for future in futures:
            if not future.cancelled():
                future.result()


def _block_steps(batch_size: int, row_bytes: int) -> int:
    """Minibatch slots per block: :data:`MAX_BLOCK_STEPS`, fewer for wide rows."""
    return max(1, min(MAX_BLOCK_STEPS, MAX_BLOCK_BYTES // max(1, batch_size * row_bytes)))


def _blocks(order, batch_size, steps):
    """The epoch's minibatches (row indices), ``steps`` to a block."""
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    return [batches[i : i + steps] for i in range(0, len(batches), steps)]


def _gather(arrays, batches, steps, batch_size):
    """A block: ``arrays``' rows for each minibatch, zero-padded to ``(steps, batch_size)``."""
    out = []
    for a in arrays:
        block = np.zeros((steps, batch_size, *a.shape[1:]), a.dtype)
        for slot, rows in enumerate(batches):
            np.take(a, rows, axis=0, out=block[slot, : len(rows)])
        out.append(block)
    sizes = np.zeros(steps, np.int32)
    sizes[: len(batches)] = [len(rows) for rows in batches]
    return tuple(out), sizes


def padded_rows(n: int, most: int, least: int = 128) -> int:
    """Rows of a padded compiled call for ``n`` rows: the next power of two, within bounds.

    Inputs of ``most`` rows or more go in chunks of ``most``; so a structure
    compiles a call for a few sizes only, whatever the inputs' sizes.
    """
    return min(most, max(least, 1 << max(0, n - 1).bit_length()))


def _mean_metrics(model) -> bool:
    """Whether every metric is a (weighted) mean, so that chunk results combine."""
    return all(isinstance(m, keras.metrics.Mean) for m in _leaf_metrics(model))


def _padded_chunk(X, y, start, size):
    """Rows ``start:start+size`` padded to ``size``, with weights ``size/n`` on real rows."""
    xs, ys = X[start : start + size], y[start : start + size]
    n = xs.shape[0]
    weights = np.zeros(size, np.float32)
    weights[:n] = size / n
    if n < size:
        xs = np.concatenate([xs, np.zeros((size - n, *xs.shape[1:]), xs.dtype)])
        ys = np.concatenate([ys, np.zeros((size - n, *ys.shape[1:]), ys.dtype)])
    return n, (xs, ys, weights)


def _evaluate(model, functions, X, y, batch_size) -> dict:
    """``model.evaluate(X, y, batch_size=batch_size, return_dict=True)``, compiled once.

    Keras' ``test_step`` over padded chunks of a fixed size, each from fresh
    metric state; padding rows weigh 0 and real rows ``size/n``, so each chunk's
    loss and metrics are those of its real rows, and the chunks' results are
    combined weighted by their row counts, which is what ``evaluate``'s running
    means compute. Metrics that are not means use ``evaluate``'s own batches.
    """
    model.reset_metrics()
    weights = [v.value for v in model.trainable_variables]
    others = [v.value for v in model.non_trainable_variables]
    fresh = [v.value for v in model.metrics_variables]
    if not _mean_metrics(model):
        state = (weights, others, fresh)
        for start in range(0, X.shape[0], batch_size):
            data = (X[start : start + batch_size], y[start : start + batch_size])
            state = functions.test_step(state, data)[1]
        for ref, value in zip(model.metrics_variables, state[2], strict=True):
            ref.assign(value)
        return model.get_metrics_result()
    size = padded_rows(X.shape[0], EVAL_CHUNK)
    totals: dict = {}
    for start in range(0, X.shape[0], size):
        n, data = _padded_chunk(X, y, start, size)
        metrics = functions.test_step((weights, others, fresh), data)[1][2]
        for ref, value in zip(model.metrics_variables, metrics, strict=True):
            ref.assign(value)
        for key, value in model.get_metrics_result().items():
            totals[key] = totals.get(key, 0.0) + n * float(value)
    model.reset_metrics()
    return {key: value / X.shape[0] for key, value in totals.items()}


_STATE_NAMES = (
    "trainable_variables",
    "non_trainable_variables",
    "optimizer_variables",
    "metrics_variables",
)


def _keep(model, state):
    """Record the newest state where ``jax_state_sync`` finds it, as ``fit`` does.

    Set past Keras' attribute tracking, which would walk the state's arrays
    looking for variables to track on every call (a tenth of a millisecond).
    """
    object.__setattr__(model, "_jax_state", dict(zip(_STATE_NAMES, state, strict=True)))
    object.__setattr__(model, "_jax_state_synced", False)
    return state


class _History(keras.callbacks.History):
    """Keras' ``History``, without syncing the model's state at every epoch.

    ``History.on_epoch_end`` sets ``self.model.history``, and on JAX the
    ``model`` property writes the newest state into every variable first; it is
    set once, at the start, instead.
    """

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._model.history = self

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)


def _results(functions, state) -> dict:
    """``model.get_metrics_result()`` from the metrics' ``state``, on the host."""
    import jax

    return jax.device_get(functions.results(state[3]))


def _run_epochs(model, functions, arrays, rng, *, n, batch_size, width, steps, epochs, shuffle,
                validation, callbacks, verbose):  # fmt: skip
    """The epochs of :func:`fused_fit`, with ``fit``'s callbacks around each."""
    n_full, rest = divmod(n, batch_size)
    if validation is not None:
        val_x, val_y = validation[:2]
    callbacks = keras.callbacks.CallbackList(
        [*callbacks, _History()],
        add_history=False,
        add_progbar=verbose != 0,
        verbose=verbose,
        epochs=epochs,
        steps=n_full + (rest > 0),
        model=model,
    )

    model.stop_training = False
    logs = {}
    # what reset_metrics() gives means (all of fit's metrics here): zeros, passed in
    # on the host rather than assigned to each variable by an eager op per epoch
    fresh = [np.zeros(v.shape, v.dtype) for v in model.metrics_variables]
    means = _mean_metrics(model)
    callbacks.on_train_begin()
    # the epoch a restored backup resumes at (Keras' BackupAndRestore sets it):
    # the row orders of the epochs before it are drawn, as the first fit drew them
    start, model._initial_epoch = model._initial_epoch or 0, None
    for _ in range(start if shuffle else 0):
        rng.permutation(n)
    state = None
    try:
        for epoch in range(start, epochs):
            if not means:
                model.jax_state_sync()
                model.reset_metrics()
            callbacks.on_epoch_begin(epoch)
            # The newest state stays on the device between epochs, as in ``fit``:
            # it is written into the model's variables only when something reads
            # them (a callback's ``self.model`` syncs; so do validation and the
            # end of training), and read back from them only after such a sync,
            # which is when a callback may have changed one (a learning rate).
            if state is None or model._jax_state_synced or not means:
                state = model._get_jax_state(
                    trainable_variables=True,
                    non_trainable_variables=True,
                    optimizer_variables=True,
                    metrics_variables=not means,
                )
            state = (*state[:3], fresh) if means else state
            order = rng.permutation(n) if shuffle else np.arange(n)
            for batches in _blocks(order, batch_size, steps):
                block, sizes = _gather(arrays, batches, steps, width)
                count = np.int32(len(batches))
                state = _keep(model, functions.block(state, block, sizes, count))
            logs = {k: float(v) for k, v in _results(functions, state).items()}
            if validation is not None:
                model.jax_state_sync()
                functions.wait("test_step")
                val = _evaluate(model, functions, val_x, val_y, batch_size)
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


def _build_for_training(model, batch) -> None:
    """What ``fit`` builds before training: loss and metric state, optimizer slots.

    ``Model._symbolic_build`` traces the network, the loss and the metrics with
    ``jax.eval_shape`` to build them (about 8 ms for a small network, a third of
    a 20-epoch fit on iris). A network built from an ``Input`` already knows its
    output, so the compiled loss and metrics are built straight from the shapes of
    a target batch and of that output, as the traces would build them; anything
    else goes through ``_symbolic_build``.
    """
    layers_built = all(layer.built for layer in model._flatten_layers())
    outputs = getattr(model, "outputs", None) if layers_built else None
    if not outputs or len(outputs) != 1:
        model._symbolic_build(data_batch=batch)
    else:
        rows, y = batch[0].shape[0], batch[1]
        y_true = keras.KerasTensor(y.shape, keras.backend.standardize_dtype(y.dtype))
        y_pred = keras.KerasTensor((rows, *outputs[0].shape[1:]), outputs[0].dtype)
        for part in (model._compile_metrics, model._compile_loss):
            if part is not None and not part.built:
                part.build(y_true, y_pred)
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)


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
    compile_only=False,
    slot_rows=None,
    rng=None,
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
    compile_only : bool, default=False
        Build the model and queue the compilation of what this fit would run,
        on the background compile thread; train nothing and return ``None``.
    slot_rows : int or None, default=None
        Rows of a minibatch slot in the compiled program, at least
        ``batch_size`` (``None``: ``batch_size``). A larger value lets fits whose
        batch size was clipped to fewer rows share the program.
    rng : numpy.random.RandomState or None, default=None
        The generator every epoch's row order is drawn from (``None``: one
        seeded with 0); seeded with the seed ``fit`` gives NumPy's global
        generator, it draws the same orders. Never the global generator, which
        other threads draw from.

    Returns
    -------
    history : keras.callbacks.History
        What ``fit`` returns.
    """
    n = X.shape[0]
    # What ``fit`` does first: build the model's metrics and loss from a batch.
    # ``fit`` gets that batch from its shuffled epoch iterator, which draws one
    # permutation (from NumPy's global generator, seeded for the fit); draw it
    # too, from the fit's own generator seeded alike, so that the epochs below
    # see the same shuffles as ``fit``'s without touching the global generator.
    rng = np.random.RandomState(0) if rng is None else rng
    unbuilt = not all(layer.built for layer in model._flatten_layers()) or any(
        part is not None and not part.built
        for part in (model._compile_metrics, model._compile_loss)
    )
    if unbuilt and shuffle:
        rng.permutation(n)
    first = (X[:batch_size], y[:batch_size])
    if sample_weight is not None:
        first += (sample_weight[:batch_size],)
    _build_for_training(model, first)

    functions = jax_function(model, "fused", _Compiled)
    arrays = (X, y) if sample_weight is None else (X, y, sample_weight)
    width = max(batch_size, slot_rows or 0)
    steps = _block_steps(width, X[:1].nbytes)
    state = model._get_jax_state(
        trainable_variables=True,
        non_trainable_variables=True,
        optimizer_variables=True,
        metrics_variables=True,
    )
    # The validation step compiles on the background thread, beside the training.
    if validation_data is not None:
        val_x, val_y = validation_data[:2]
        if epochs > 0 and _mean_metrics(model):
            size = padded_rows(val_x.shape[0], EVAL_CHUNK)
            metrics_state = (state[0], state[1], state[3])
            functions.compile_later(
                "test_step", metrics_state, _padded_chunk(val_x, val_y, 0, size)[1]
            )
    if compile_only:
        batches = _blocks(np.arange(n), batch_size, steps)[0]
        block, sizes = _gather(arrays, batches, steps, width)
        functions.compile_later("block", state, block, sizes, np.int32(len(batches)))
        return None
    # a compile queued earlier (compile_only) is used, not repeated
    functions.wait("block")

    _run_epochs(
        model, functions, arrays, rng, n=n, batch_size=batch_size, width=width, steps=steps,
        epochs=epochs, shuffle=shuffle, validation=validation_data, callbacks=callbacks,
        verbose=verbose,
    )  # fmt: skip
    return model.history
