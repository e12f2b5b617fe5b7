"""The one entry of the minibatch solvers: :func:`train_epochs`.

The estimator prepares the network, the validation split and the callbacks
that carry its stopping rule and schedules; :func:`train_epochs` runs the
epochs on the path that suits the backend and the input:

=======================  ==================================================
path                     when
=======================  ==================================================
fused JAX epoch          JAX, dense data up to ``fused.MAX_DEVICE_BYTES``
sparse minibatches       a sparse ``X`` above ``sparse.SPARSE_DENSE_BYTES``
quick epoch              TensorFlow ``partial_fit`` (``engine.quick_epoch``)
Keras ``Model.fit``      everything else, run by the structure's engine
=======================  ==================================================
"""

from __future__ import annotations

import os

import numpy as np
import scipy.sparse as sp

from .._backend import keras_seed
from .._callbacks import detach, refuse_batch_hooks
from . import sparse
from .engine import fit_model, quick_epoch
from .fused import can_fuse, fused_fit

__all__ = ["fused_epochs", "train_epochs"]


def fused_epochs() -> bool:
    """Whether JAX trains with the fused epoch; ``SKMLP_FUSED_EPOCHS=0`` turns it off.

    The fused epoch computes what ``Model.fit`` computes (``tests/test_fused.py``);
    turning it off makes every JAX fit run Keras' own ``Model.fit``, for
    comparisons and benchmarks.
    """
    return os.environ.get("SKMLP_FUSED_EPOCHS", "1") != "0"


def train_epochs(
    model,
    X,
    Y,
    *,
    sample_weight,
    batch_size: int,
    slot_rows: int,
    epochs: int,
    shuffle: bool,
    validation,
    callbacks,
    incremental: bool,
    seed: int,
    fused: bool | None = None,
    compile_only: bool = False,
) -> None:
    """Train ``model`` for ``epochs`` epochs on the path that suits backend and input.

    Parameters
    ----------
    model : keras.Model
        The compiled network; its learning rate is already set.
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        Training inputs in the network's dtype.
    Y : ndarray
        Encoded targets.
    sample_weight : ndarray or None
        Positive per-sample weights.
    batch_size : int
        Minibatch size (already clipped to ``n_samples``).
    slot_rows : int
        Rows of a minibatch slot of the fused JAX program (the batch size asked
        for, before clipping), so that fits with fewer rows share the program.
    epochs : int
        Epochs to run (the callbacks may stop earlier).
    shuffle : bool
        Shuffle the rows of every epoch.
    validation : tuple or None
        ``(X_val, Y_val, sample_weight_val)`` scored after every epoch.
    callbacks : list of keras.callbacks.Callback
        Called at epoch boundaries, as ``Model.fit`` calls them.
    incremental : bool
        One ``partial_fit`` epoch.
    seed : int
        Seeds the backend and the generator of every row order.
    fused : bool or None, default=None
        Use the fused JAX epoch where it applies; ``False`` forces ``Model.fit``.
        ``None`` reads the setting :func:`fused_epochs`.
    compile_only : bool, default=False
        Build the network and queue the compilation of what this call would run
        (fused JAX epoch only); train nothing.
    """
    fused = fused_epochs() if fused is None else fused
    X, validation = sparse.densify_if_small(X, validation)
    # partial_fit on TensorFlow trains without fit, shuffling with NumPy: no
    # TensorFlow seed to set, and setting it would clear TensorFlow's kernel cache
    quick = not sp.issparse(X) and quick_epoch(model, incremental)
    # the row orders of the fused JAX epoch, sparse data and TensorFlow's
    # partial_fit come from this generator, seeded for the fit, never from
    # NumPy's global one, which other threads (Dask's workers) draw from.
    # (Model.fit shuffles in tf.data on TensorFlow, seeded by keras_seed; on
    # other backends Keras' own Model.fit, used only for data the fused epoch
    # cannot hold, draws from NumPy's global generator.)
    rng = np.random.RandomState(seed)
    fit_args = dict(
        sample_weight=sample_weight,
        batch_size=batch_size,
        epochs=epochs,
        shuffle=shuffle,
        validation_data=None if validation is None else validation[:2],
        verbose=0,
        callbacks=callbacks,
    )
    try:
        with keras_seed(seed, tensorflow=not quick):
            _train(model, X, Y, fit_args, fused=fused, compile_only=compile_only,
                   slot_rows=slot_rows, rng=rng, validation=validation,
                   incremental=incremental)  # fmt: skip
    finally:
        # Keras' BackupAndRestore sets the epoch a fit starts from, and Keras never unsets it
        model._initial_epoch = None
        if not compile_only:
            detach(callbacks)


def _train(model, X, Y, fit_args, *, fused, compile_only, slot_rows, rng, validation,
           incremental):  # fmt: skip
    """The path of :func:`train_epochs` that suits ``model`` and ``X``."""
    if fused and not sp.issparse(X) and can_fuse(model, X):
        if not compile_only:
            refuse_batch_hooks(fit_args["callbacks"], "the fused JAX epoch")
        fused_fit(model, X, Y, compile_only=compile_only, slot_rows=slot_rows, rng=rng, **fit_args)
    elif compile_only:
        pass
    elif sp.issparse(X):
        sparse.fit_sparse(
            model,
            X,
            Y,
            sample_weight=fit_args["sample_weight"],
            batch_size=fit_args["batch_size"],
            epochs=fit_args["epochs"],
            shuffle=fit_args["shuffle"],
            validation=validation,
            callbacks=fit_args["callbacks"],
            rng=rng,
        )
    else:
        fit_model(model, X, Y, incremental=incremental, rng=rng, **fit_args)
