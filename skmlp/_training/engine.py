"""Keras' own ``Model.fit``, run by the engine of the model's structure.

The path of every backend but the fused JAX epoch: TensorFlow always, JAX for
data the fused epoch cannot hold. On TensorFlow an incremental epoch
(``partial_fit``) skips ``fit``'s per-call set-up (:func:`_one_epoch`).
"""

from __future__ import annotations

import keras
import numpy as np

from .._callbacks import uses_batch_hooks
from .reuse import training_model

__all__ = ["fit_model", "quick_epoch", "steps_per_execution"]


def steps_per_execution() -> int:
    """Minibatches per compiled call of ``Model.fit``: 32 on TensorFlow, else 1.

    On TensorFlow this runs 32 training steps in one graph call instead of 32
    Python round trips; the updates are the same (benchmarks/bench_compare.py
    measures the gain). JAX gets its own fused epoch (:mod:`skmlp._training.fused`),
    where Keras' multi-step execution is a Python loop that gains nothing.
    """
    return 32 if keras.backend.backend() == "tensorflow" else 1


def _one_epoch(model, X, y, sample_weight, batch_size, shuffle, rng, callbacks=()):
    """One epoch of ``model``'s compiled TensorFlow train step, without ``fit``.

    ``fit`` spends a fixed time per call on set-up (data adapter, callbacks,
    epoch iterator, a ``tf.data`` pipeline; ``benchmarks/results/partial_fit_before.md``);
    ``partial_fit`` would pay it for every epoch. This feeds the minibatches,
    sliced with NumPy, straight to Keras' compiled one-step function (the path
    ``train_on_batch`` takes: a Python iterator), and returns the epoch's
    metrics as ``fit`` would, calling ``callbacks`` as ``fit`` calls them.
    Rows are shuffled by ``rng``, the fit's own generator.
    """
    n = X.shape[0]
    order = rng.permutation(n) if shuffle else np.arange(n)
    arrays = (X, y) if sample_weight is None else (X, y, sample_weight)
    batches = [
        tuple(a[order[start : start + batch_size]] for a in arrays)
        for start in range(0, n, batch_size)
    ]
    model._symbolic_build(data_batch=batches[0])
    model.make_train_function()
    callbacks = keras.callbacks.CallbackList(
        list(callbacks), add_history=True, model=model, epochs=1, steps=len(batches)
    )
    model.stop_training = False
    callbacks.on_train_begin()
    callbacks.on_epoch_begin(0)
    model.reset_metrics()
    iterator = iter(batches)
    for _ in range(-(-len(batches) // model.steps_per_execution)):
        model.train_function(iterator)
    logs = {k: float(v) for k, v in model.get_metrics_result().items()}
    callbacks.on_epoch_end(0, logs)
    model.optimizer.finalize_variable_values(model.trainable_weights)
    callbacks.on_train_end(logs)
    return model.history


def quick_epoch(model, incremental: bool) -> bool:
    """Whether an epoch of ``model`` is trained by :func:`_one_epoch` rather than ``fit``.

    So on TensorFlow for an incremental epoch (``partial_fit``) of a model that
    is not run eagerly; its shuffles come from the fit's NumPy generator, not
    TensorFlow's seed.
    """
    return incremental and keras.backend.backend() == "tensorflow" and not model.run_eagerly


def fit_model(model, X, y, *, incremental: bool, rng, **fit_args):
    """``model.fit(X, y, **fit_args)``, run by the engine of ``model``'s structure.

    An incremental epoch (one epoch, no validation, no batch-level hooks, silent) on
    TensorFlow skips ``fit``'s per-call set-up (:func:`_one_epoch`), shuffling
    with ``rng`` (a ``numpy.random.RandomState``).
    """
    with training_model(model) as trainer:
        quick = (
            quick_epoch(model, incremental)
            and fit_args.get("epochs") == 1
            and fit_args.get("validation_data") is None
            and not fit_args.get("verbose")
            # it calls epoch-level hooks only; Model.fit calls the batch-level ones
            and not any(uses_batch_hooks(cb) for cb in fit_args.get("callbacks") or ())
        )
        if quick:
            return _one_epoch(
                trainer,
                X,
                y,
                fit_args.get("sample_weight"),
                fit_args["batch_size"],
                fit_args.get("shuffle", True),
                rng,
                fit_args.get("callbacks") or (),
            )
        try:
            return trainer.fit(X, y, **fit_args)
        finally:
            trainer._initial_epoch = None  # set by BackupAndRestore; Keras never unsets it
