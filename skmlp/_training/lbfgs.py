"""Full-batch L-BFGS training of a Keras model, as scikit-learn's ``solver="lbfgs"``.

scikit-learn's ``BaseMultilayerPerceptron._fit_lbfgs`` flattens every weight into
one vector and hands the full-batch loss and its gradient to
``scipy.optimize.minimize(method="L-BFGS-B")`` with ``maxfun=max_fun``,
``maxiter=max_iter`` and ``gtol=tol``. :func:`fit_lbfgs` does the same with a Keras
model: the objective is the model's compiled loss (weighted by ``sample_weight``
the way Keras weights it) plus the model's own losses (its kernel regularisers),
evaluated in training mode on all rows at once, and its gradient comes from the
backend's automatic differentiation. The one backend-specific piece, a compiled
``(weights) -> (loss, gradient)`` function, is built once per fit:

- JAX: ``jax.jit(jax.value_and_grad(...))`` over Keras' stateless
  ``compute_loss_and_updates``, the function its own ``train_step`` differentiates;
- TensorFlow: a ``tf.function`` that assigns the weights and differentiates the
  forward pass and ``compute_loss`` with a ``tf.GradientTape``, as Keras'
  ``train_step`` does.

Other backends are refused with a clear error. The model computes in its own
dtype: the estimators build a float64 network for L-BFGS on float64 data where
the backend computes in float64 (scikit-learn's precision), float32 otherwise;
scipy receives the loss and gradient as float64.

The objective must be deterministic for L-BFGS' line search, so a model with
dropout (or Gaussian noise) is refused (:func:`check_lbfgs_compatible`). Batch
normalisation is deterministic in training mode on the full batch (its
statistics are those of all rows); after the optimisation its moving mean and
variance are set to the full-batch statistics under the final weights, so that
prediction (inference mode) uses statistics consistent with those weights.
"""

from __future__ import annotations

import keras
import numpy as np
import scipy.optimize
import scipy.sparse as sp

from .._backend import keras_seed
from .._callbacks import detach, refuse_batch_hooks

__all__ = [
    "check_lbfgs_compatible",
    "check_lbfgs_params",
    "fit_lbfgs",
    "lbfgs_objective",
    "lbfgs_problem",
    "loss_object",
    "train_lbfgs",
]

# Layers whose training-mode output is random: L-BFGS needs a deterministic objective.
_STOCHASTIC_LAYERS = (
    keras.layers.Dropout,
    keras.layers.GaussianDropout,
    keras.layers.GaussianNoise,
    keras.layers.AlphaDropout,
    keras.layers.SpatialDropout1D,
)


def check_lbfgs_compatible(model=None, *, dropout: float = 0.0) -> None:
    """Refuse what full-batch L-BFGS cannot train: a stochastic objective.

    L-BFGS' line search compares loss values at different weights, so the loss
    must be a deterministic function of the weights. Dropout (and Gaussian
    noise) make it random, so they are refused rather than silently switched
    off. The estimator can call this with its ``dropout`` parameter before it
    builds a network; :func:`fit_lbfgs` calls it with the model.

    Parameters
    ----------
    model : keras.Model or None, default=None
        A model to inspect: any dropout or noise layer with a positive rate is
        refused.
    dropout : float, default=0.0
        A dropout rate, as the estimators' ``dropout`` parameter; positive is refused.

    Raises
    ------
    ValueError
        If ``dropout > 0`` or ``model`` has a stochastic layer.

    Examples
    --------
    >>> from skmlp._training.lbfgs import check_lbfgs_compatible
    >>> check_lbfgs_compatible(dropout=0.0)
    >>> check_lbfgs_compatible(dropout=0.2)
    Traceback (most recent call last):
        ...
    ValueError: solver='lbfgs' cannot train with dropout=0.2: ...
    """
    if dropout > 0:
        raise ValueError(
            f"solver='lbfgs' cannot train with dropout={dropout}: dropout makes the loss "
            "random, and L-BFGS needs a deterministic full-batch loss. Use dropout=0 "
            "or solver='adam' / 'sgd'."
        )
    if model is None:
        return
    for layer in _flat_layers(model):
        if isinstance(layer, _STOCHASTIC_LAYERS):
            rate = getattr(layer, "rate", None)
            if rate is None:
                rate = getattr(layer, "stddev", 1.0)
            if rate > 0:
                raise ValueError(
                    f"solver='lbfgs' cannot train a model with the random layer "
                    f"{layer.name!r} ({type(layer).__name__}): it makes the loss random, "
                    "and L-BFGS needs a deterministic full-batch loss. Remove it "
                    "(dropout=0) or use solver='adam' / 'sgd'."
                )


def _flat_layers(model):
    return [layer for layer in model._flatten_layers(include_self=False)]


def lbfgs_objective(model, X, y, sample_weight=None, *, loss=None, loss_weight=1.0):
    """The compiled full-batch objective that :func:`fit_lbfgs` minimises.

    Parameters
    ----------
    model : keras.Model
        A built, compiled model.
    X : array-like of shape (n_samples, n_features)
        Inputs, as the model takes them.
    y : array-like
        Targets, as the compiled loss takes them.
    sample_weight : array-like of shape (n_samples,) or None, default=None
        Weights passed to the compiled loss.
    loss : keras.losses.Loss or None, default=None
        The data loss, in place of the compiled one: ``loss_weight * loss(y,
        y_pred, sample_weight)`` plus the model's own losses. Keras computes a
        compiled loss in its ``floatx`` (float32): pass a float64 loss here to
        optimise a float64 model in float64 throughout.
    loss_weight : float, default=1.0
        Factor on ``loss``.
    callbacks : list of keras.callbacks.Callback, default=()
        Called around every iteration as around an epoch (``on_epoch_begin``
        and ``on_epoch_end`` after it, ``logs={"loss": ...}``); one that sets
        ``model.stop_training`` ends the minimisation. Batch-level hooks are
        refused.

    Returns
    -------
    func : callable
        ``func(w) -> (loss, gradient)``: ``w`` is a float64 vector of all
        trainable weights, flattened in ``model.trainable_variables`` order;
        ``loss`` is a float and ``gradient`` a float64 vector like ``w``.
        Evaluating it leaves the model's weights unspecified: assign the weights
        you want afterwards with :func:`_assign_flat`.
    w0 : ndarray of shape (n_weights,)
        The model's current weights, flattened, as float64.
    """
    variables = model.trainable_variables
    if not variables:
        raise ValueError("solver='lbfgs': the model has no trainable weights.")
    w0 = np.concatenate([np.asarray(keras.ops.convert_to_numpy(v)).ravel() for v in variables])
    backend = keras.backend.backend()
    if backend == "jax":
        compiled = _jax_objective(model, X, y, sample_weight, loss, loss_weight)
    elif backend == "tensorflow":
        compiled = _tensorflow_objective(model, X, y, sample_weight, loss, loss_weight)
    else:
        raise NotImplementedError(
            f"solver='lbfgs' runs on the TensorFlow and JAX backends, not on {backend!r}; "
            "use solver='adam' or 'sgd' there."
        )
    dtype = np.result_type(*[v.dtype for v in variables])

    def func(w):
        loss, grad = compiled(np.asarray(w, dtype=dtype))
        return float(loss), np.asarray(grad, dtype=np.float64)

    return func, w0.astype(np.float64)


def _split_sizes(variables):
    shapes = [tuple(v.shape) for v in variables]
    sizes = [int(np.prod(s)) for s in shapes]
    return shapes, sizes


def _jax_objective(model, X, y, sample_weight, loss_fn=None, loss_weight=1.0):
    """``jax.jit(value_and_grad)`` of Keras' own stateless training loss."""
    import jax
    import jax.numpy as jnp

    shapes, sizes = _split_sizes(model.trainable_variables)
    offsets = np.cumsum([0, *sizes])
    dtypes = [v.dtype for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]
    metrics_vars = [v.value for v in model.metrics_variables]
    optimizer_vars = (
        None if model.optimizer is None else [v.value for v in model.optimizer.variables]
    )

    def loss(w, x, y, sw):
        trainable = [
            jnp.reshape(w[offsets[i] : offsets[i + 1]], shapes[i]).astype(dtypes[i])
            for i in range(len(shapes))
        ]
        if loss_fn is not None:
            y_pred, _, losses = model.stateless_call(
                trainable, non_trainable, x, training=True, return_losses=True
            )
            value = loss_weight * loss_fn(y, y_pred, sw)
            return value + sum(losses) if losses else value
        # returns (scaled loss, (unscaled loss, y_pred, non-trainable, metrics))
        _, aux = model.compute_loss_and_updates(
            trainable,
            non_trainable,
            metrics_vars,
            x,
            y,
            sw,
            training=True,
            optimizer_variables=optimizer_vars,
        )
        return aux[0]

    value_and_grad = jax.jit(jax.value_and_grad(loss))
    data = (
        jnp.asarray(X),
        jnp.asarray(y),
        None if sample_weight is None else jnp.asarray(sample_weight),
    )

    def compiled(w):
        value, grad = value_and_grad(jnp.asarray(w), *data)
        return np.asarray(value), np.asarray(grad)

    return compiled


def _tensorflow_objective(model, X, y, sample_weight, loss_fn=None, loss_weight=1.0):
    """A ``tf.function`` differentiating Keras' training forward pass and loss."""
    import tensorflow as tf

    variables = model.trainable_variables
    shapes, sizes = _split_sizes(variables)
    training = {"training": True} if model._call_has_training_arg else {}

    @tf.function(autograph=False)
    def value_and_grad(w, x, y, sw):
        for v, piece, shape in zip(variables, tf.split(w, sizes), shapes, strict=True):
            v.assign(tf.reshape(tf.cast(piece, v.dtype), shape))
        with tf.GradientTape() as tape:
            y_pred = model(x, **training)
            if loss_fn is None:
                value = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sw, training=True)
            else:
                value = loss_weight * loss_fn(y, y_pred, sw)
                if model.losses:
                    value = value + tf.add_n(model.losses)
        grads = tape.gradient(value, variables)
        grads = [tf.zeros(s) if g is None else g for g, s in zip(grads, shapes, strict=True)]
        return value, tf.concat([tf.reshape(tf.cast(g, w.dtype), [-1]) for g in grads], 0)

    data = (
        tf.convert_to_tensor(X),
        tf.convert_to_tensor(y),
        None if sample_weight is None else tf.convert_to_tensor(sample_weight),
    )

    def compiled(w):
        value, grad = value_and_grad(tf.convert_to_tensor(w), *data)
        return value.numpy(), grad.numpy()

    return compiled


def _assign_flat(model, w) -> None:
    """Set ``model.trainable_variables`` from one flat vector."""
    start = 0
    for v in model.trainable_variables:
        size = int(np.prod(v.shape))
        v.assign(np.reshape(w[start : start + size], v.shape).astype(v.dtype))
        start += size


def _refresh_batch_norm(model, X) -> None:
    """Set batch-norm moving statistics to the full-batch statistics of ``X``.

    One training-mode forward pass with the momentum at 0 makes each moving
    mean and variance exactly the statistics that the final objective used.
    """
    layers = [
        layer for layer in _flat_layers(model) if isinstance(layer, keras.layers.BatchNormalization)
    ]
    if not layers:
        return
    momenta = [layer.momentum for layer in layers]
    try:
        for layer in layers:
            layer.momentum = 0.0
        model(keras.ops.convert_to_tensor(X), training=True)
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum


def fit_lbfgs(
    model,
    X,
    y,
    sample_weight=None,
    *,
    max_iter: int = 200,
    max_fun: int = 15000,
    tol: float = 1e-4,
    verbose: bool | int = False,
    loss=None,
    loss_weight: float = 1.0,
    callbacks=(),
):
    """Train ``model`` by full-batch L-BFGS, as scikit-learn's ``solver="lbfgs"``.

    Minimises the model's compiled loss plus its regularisation losses over all
    rows at once with ``scipy.optimize.minimize(method="L-BFGS-B")``, with the
    options scikit-learn uses (``maxfun=max_fun``, ``maxiter=max_iter``,
    ``gtol=tol``), and leaves the optimum in the model's weights.

    Parameters
    ----------
    model : keras.Model
        A built, compiled model without dropout (see
        :func:`check_lbfgs_compatible`). For scikit-learn's penalty
        ``0.5 * alpha * ||W||^2 / n_samples``, give its kernels the L2 factor
        ``0.5 * alpha / n_samples``.
    X : array-like of shape (n_samples, n_features)
        Inputs, as the model takes them.
    y : array-like
        Targets, as the compiled loss takes them.
    sample_weight : array-like of shape (n_samples,) or None, default=None
        Weights passed to the compiled loss (Keras divides the weighted sum by
        the number of rows).
    max_iter : int, default=200
        Maximum number of L-BFGS iterations.
    max_fun : int, default=15000
        Maximum number of loss evaluations (scipy may exceed it by the few
        evaluations of the line search under way).
    tol : float, default=1e-4
        Stops when the largest gradient component is below ``tol`` (``gtol``).
    verbose : bool or int, default=False
        Print ``Iteration N, loss = ...`` after every iteration, the line
        scikit-learn's stochastic solvers print.
    loss : keras.losses.Loss or None, default=None
        The data loss in place of the compiled one (see :func:`lbfgs_objective`).
    loss_weight : float, default=1.0
        Factor on ``loss``.
    callbacks : list of keras.callbacks.Callback, default=()
        Called around every iteration as around an epoch (``on_epoch_begin``
        and ``on_epoch_end`` after it, ``logs={"loss": ...}``); one that sets
        ``model.stop_training`` ends the minimisation. Batch-level hooks are
        refused.

    Returns
    -------
    result : scipy.optimize.OptimizeResult
        scipy's result: ``fun`` (final loss), ``nit``, ``nfev``, ``status``
        (0 when converged), ``message`` and ``x`` (the flat weights). Pass it to
        ``sklearn.utils.optimize._check_optimize_result("lbfgs", result, max_iter)``
        for scikit-learn's ``ConvergenceWarning``.

    Raises
    ------
    ValueError
        If the model has dropout or noise layers.
    NotImplementedError
        On a Keras backend other than TensorFlow and JAX.
    """
    check_lbfgs_compatible(model)
    func, w0 = lbfgs_objective(model, X, y, sample_weight, loss=loss, loss_weight=loss_weight)
    last = {}

    def fun(w):
        value, grad = func(w)
        last["loss"] = value
        return value, grad

    hooks = _epoch_hooks(model, callbacks, max_iter)
    iteration = [0]

    def callback(w):
        iteration[0] += 1
        if verbose:
            print(f"Iteration {iteration[0]}, loss = {last['loss']:.8f}")
        if hooks is not None:
            _assign_flat(model, w)  # what a callback's self.model holds
            hooks.on_epoch_begin(iteration[0] - 1)
            hooks.on_epoch_end(iteration[0] - 1, {"loss": float(last["loss"])})
            if model.stop_training:
                raise StopIteration

    if hooks is not None:
        hooks.on_train_begin()
    result = scipy.optimize.minimize(
        fun,
        w0,
        method="L-BFGS-B",
        jac=True,
        callback=callback if verbose or hooks is not None else None,
        options={"maxfun": int(max_fun), "maxiter": int(max_iter), "gtol": float(tol)},
    )
    _assign_flat(model, result.x)
    _refresh_batch_norm(model, X)
    if hooks is not None:
        result.stopped = model.stop_training
        hooks.on_train_end({"loss": float(result.fun)})
    return result


def _epoch_hooks(model, callbacks, max_iter):
    """A Keras ``CallbackList`` of ``callbacks`` (``None`` when there are none)."""
    if not callbacks:
        return None
    refuse_batch_hooks(callbacks, "solver='lbfgs'")
    model.stop_training = False
    return keras.callbacks.CallbackList(list(callbacks), model=model, epochs=max_iter, steps=1)


#: Estimator parameters that belong to the stochastic solvers' updates, and the
#: value that turns each off: ``solver="lbfgs"`` refuses any other.
_STOCHASTIC_ONLY = (("input_dropout", 0.0), ("max_norm", None), ("weight_decay", 0.0))


def check_lbfgs_params(params: dict) -> None:
    """Refuse estimator parameters that ``solver="lbfgs"`` cannot train with.

    Parameters
    ----------
    params : dict
        The estimator's parameters (``get_params(deep=False)``).

    Raises
    ------
    ValueError
        If dropout, input dropout, max-norm or weight decay is on.
    """
    check_lbfgs_compatible(dropout=float(params["dropout"]))
    for name, off in _STOCHASTIC_ONLY:
        if params[name] != off:
            raise ValueError(
                f"solver='lbfgs' cannot train with {name}={params[name]!r}: it "
                "belongs to the stochastic solvers' updates. Use solver='adam' or "
                f"'sgd', or {name}={off!r}."
            )


def lbfgs_problem(X, sample_weight):
    """The full-batch problem: dense ``X``, weights of mean 1, and the sample count.

    scikit-learn's objective averages the loss with the weights and divides the
    penalty by their sum, so that a weight of k is k repetitions. Keras divides
    the weighted sum by the row count: the weights are rescaled to mean 1 and
    the count (which divides the L2 penalty) is their sum.

    Returns
    -------
    X : ndarray
    sample_weight : ndarray or None
    n_samples : int or float
    """
    if sp.issparse(X):
        # full-batch: the objective holds every row at once
        X = X.toarray()
    n_samples = X.shape[0]
    if sample_weight is not None:
        total = float(np.sum(sample_weight, dtype=np.float64))
        sample_weight = (sample_weight * (n_samples / total)).astype(sample_weight.dtype)
        n_samples = total
    return X, sample_weight, n_samples


def train_lbfgs(model, X, Y, *, sample_weight, loss, loss_weight, seed, max_iter, max_fun, tol,
                verbose, callbacks=()):  # fmt: skip
    """:func:`fit_lbfgs` under the fit's seed; returns ``(n_iter, final loss)``.

    Warns as scikit-learn does when the optimizer stops without converging.
    """
    from sklearn.utils.optimize import _check_optimize_result

    with keras_seed(seed):
        result = fit_lbfgs(
            model,
            X,
            Y,
            sample_weight=sample_weight,
            loss=loss,
            loss_weight=loss_weight,
            max_iter=max_iter,
            max_fun=max_fun,
            tol=tol,
            verbose=verbose,
            callbacks=callbacks,
        )
        detach(callbacks)
    if getattr(result, "stopped", False):  # a callback stopped it: no convergence warning
        return int(result.nit), float(result.fun)
    return _check_optimize_result("lbfgs", result, max_iter), float(result.fun)


# the Keras loss classes behind the loss names the estimators compile with
LOSS_CLASSES = {
    "sparse_categorical_crossentropy": keras.losses.SparseCategoricalCrossentropy,
    "binary_crossentropy": keras.losses.BinaryCrossentropy,
    "mean_squared_error": keras.losses.MeanSquaredError,
    "poisson": keras.losses.Poisson,
}


def loss_object(name: str, dtype: str):
    """The Keras loss object of the compiled loss ``name``, computing in ``dtype``."""
    return LOSS_CLASSES[name](dtype=dtype)
