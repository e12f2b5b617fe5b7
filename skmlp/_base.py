"""What :class:`~skmlp.MLPClassifier` and :class:`~skmlp.MLPRegressor` share.

:class:`BaseMultilayerPerceptron` is skmlp's counterpart of scikit-learn's class of
the same name: parameter validation, input checks (dense or sparse), the two
training paths (``_fit_stochastic`` over Keras minibatches, ``_fit_lbfgs`` by
full-batch L-BFGS), the fitted attributes and prediction. The estimators add only
what differs: targets, output layer, loss, score and tags. The training-loop
pieces live in modules of their own: the stopping rule in :mod:`skmlp._stopping`,
the learning-rate schedules in :mod:`skmlp._schedules`, L-BFGS in
:mod:`skmlp._training.lbfgs` and the fused JAX epoch in :mod:`skmlp._training.fused`.

This is the only module of skmlp that imports scikeras. scikeras 0.13 supplies the
model life cycle (building through ``_keras_build_fn``) and the
pickling of Keras models that joblib relies on; skmlp owns everything that
scikeras gets wrong or leaves out on current scikit-learn. Replacing scikeras
means replacing this module only.
"""

from __future__ import annotations

import functools
import os
import sys
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real
from typing import ClassVar

# Quiet TensorFlow's C++ start-up chatter unless the user chose a log level.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import _backend, _pickling, _surface
from ._backend import quiet_backend_deprecations as _quiet_backend_deprecations
from ._callbacks import CALLBACKS_CONSTRAINT, CALLBACKS_PARAMS_DOC, fit_callbacks
from ._model import (
    NETWORK_CONSTRAINTS,
    NETWORK_PARAMS_DOC,
    build_mlp,
    check_hidden_layer_sizes,
    check_kernel_initializer,
    check_param_budget,
    decay_kernels_only,
    l2_factor,
    mlp_param_count,
    set_l2,
)
from ._optimizers import SOLVERS, STOCHASTIC_SOLVERS, make_optimizer
from ._schedules import EPOCH_SCHEDULES, SCHEDULES, LearningRateSchedule
from ._stopping import ConvergenceMonitor, all_finite, split_validation
from ._training.engine import steps_per_execution
from ._training.epochs import train_epochs
from ._training.lbfgs import check_lbfgs_params, lbfgs_problem, loss_object, train_lbfgs
from ._training.predict import compile_prediction_ahead, forward


def _import_base_wrapper():
    """scikeras' ``BaseWrapper``, without importing TensorFlow for other backends.

    scikeras imports TensorFlow, when it is installed, for a seeding helper that
    it guards with ``except ImportError`` and that skmlp never calls (skmlp seeds
    through Keras). Under JAX or PyTorch that import costs seconds and hundreds
    of megabytes for nothing, so TensorFlow is hidden during scikeras' import.
    """
    with _backend.tensorflow_hidden():
        from scikeras.wrappers import BaseWrapper
    return BaseWrapper


_backend.check_supported(keras.backend.backend(), "KERAS_BACKEND (or keras.json)")
BaseWrapper = _import_base_wrapper()
from . import _keras_pickle  # noqa: E402, F401  (pickles Keras models; after scikeras)

__all__ = ["BaseMultilayerPerceptron"]


# scikit-learn's MLP warns from this module; skmlp's ConvergenceWarning names it
# too, so that warning filters written for scikit-learn's MLP (for example
# ``filterwarnings("ignore", module="sklearn")``) apply to skmlp's as well.
_SKLEARN_MLP_MODULE = "sklearn.neural_network._multilayer_perceptron"
_warning_registry: dict = {}


def _to_numpy(variable) -> np.ndarray:
    """A Keras variable's value as a NumPy array (without NumPy's copy-keyword warning)."""
    value = variable.value
    return value.numpy() if hasattr(value, "numpy") else np.asarray(value)


def _warn_convergence(message: str) -> None:
    """Issue a ConvergenceWarning under scikit-learn's MLP module name."""
    warnings.warn_explicit(
        message,
        ConvergenceWarning,
        filename=__file__,
        lineno=sys._getframe(1).f_lineno,
        module=_SKLEARN_MLP_MODULE,
        registry=_warning_registry,
    )


#: The constraints of the parameters both estimators share (scikit-learn's
#: ``_parameter_constraints``); the subclasses add their own.
PARAMETER_CONSTRAINTS = {
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "solver": [StrOptions(set(SOLVERS))],
    "alpha": [Interval(Real, 0, None, closed="left")],
    "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
    "learning_rate": [StrOptions(set(SCHEDULES))],
    "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
    "power_t": [Interval(Real, 0, None, closed="left")],
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "shuffle": ["boolean"],
    "random_state": ["random_state"],
    "tol": [Interval(Real, 0, None, closed="left")],
    "verbose": ["verbose"],
    "warm_start": ["boolean"],
    "momentum": [Interval(Real, 0, 1, closed="both")],
    "nesterovs_momentum": ["boolean"],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "beta_1": [Interval(Real, 0, 1, closed="left")],
    "beta_2": [Interval(Real, 0, 1, closed="left")],
    "epsilon": [Interval(Real, 0, None, closed="neither")],
    "n_iter_no_change": [
        Interval(Integral, 1, None, closed="left"),
        Options(Real, {np.inf}),
    ],
    "max_fun": [Interval(Integral, 1, None, closed="left")],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "monitor_validation": ["boolean"],
    "callbacks": [None, CALLBACKS_CONSTRAINT],
    **NETWORK_CONSTRAINTS,
}


class BaseMultilayerPerceptron(BaseWrapper, metaclass=ABCMeta):
    """Base class of skmlp's MLP estimators; use the subclasses.

    Holds the parameters both estimators share, their validation, the training
    loop and the fitted attributes. A subclass defines ``__init__`` (its
    signature lists every parameter; the body calls :meth:`_store_params`), the
    abstract hooks below (Python refuses to instantiate a subclass that lacks
    one), ``partial_fit``, ``predict`` and ``score``, and sets ``_score_name``,
    ``_history_metrics`` and, when it stores more fitted state, ``_STATE_KEYS``.
    """

    _parameter_constraints: ClassVar[dict] = PARAMETER_CONSTRAINTS

    _random_state = None  # skmlp seeds through Keras itself

    # Name of the validation score (``history_["val_<name>"]``) and the Keras
    # training metrics recorded in ``history_``; set by the subclasses.
    _score_name: ClassVar[str] = "score"
    _history_metrics: ClassVar[tuple] = ()

    # scikeras replaces scikit-learn's signature-based parameter discovery,
    # parameter setting and repr with ones that read ``__dict__`` and route
    # prefixed parameters; skmlp's parameters are explicit.
    # (read from the signature once per class: get_params runs several times a fit)
    _get_param_names = classmethod(functools.cache(BaseEstimator._get_param_names.__func__))
    get_params = BaseEstimator.get_params
    set_params = BaseEstimator.set_params
    __repr__ = BaseEstimator.__repr__
    # pickle, joblib, deepcopy and skops see plain data and the network's bytes
    __getstate__ = _pickling.get_estimator_state
    __setstate__ = _pickling.set_estimator_state

    def _store_params(self, arguments: dict) -> None:
        """Store the subclass constructor's ``arguments`` (its ``locals()``) as attributes.

        scikit-learn's rule: ``__init__`` stores each parameter unchanged, under its
        own name, and does nothing else; the parameters are those of the
        subclass's signature.
        """
        for name in self._get_param_names():
            setattr(self, name, arguments[name])

    # ------------------------------------------------------ subclass hooks
    @abstractmethod
    def _encode_targets(self, X, y, *, incremental, reset, classes):
        """Validate ``X`` and ``y``; when ``reset``, set the target's fitted attributes.

        Returns ``X`` and ``y`` encoded for the network (``n_outputs_`` columns or
        class indices); sets ``n_outputs_`` and ``out_activation_`` when ``reset``.
        """

    @abstractmethod
    def _stratify(self, Y):
        """The labels to stratify the validation split by, or ``None``."""

    @abstractmethod
    def _compile_loss(self):
        """``(Keras loss name, loss weight, Keras metric names)`` to compile with."""

    @abstractmethod
    def _score_outputs(self, out, Y, sample_weight) -> float:
        """The score (``score``'s) of network outputs ``out`` for encoded targets ``Y``."""

    # ------------------------------------------------------------------ tags
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = False
        tags.non_deterministic = self.random_state is None
        return tags

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")

    def _check_solver(self) -> bool:
        if self.solver not in STOCHASTIC_SOLVERS:
            raise AttributeError(
                f"partial_fit is only available for stochastic optimizers. {self.solver} "
                "is not stochastic."
            )
        return True

    # ------------------------------------------------------------ validation
    def _check_params(self):
        """Validate every hyperparameter; raise before any data is touched."""
        self._validate_params()
        sizes = check_hidden_layer_sizes(self.hidden_layer_sizes)
        check_kernel_initializer(self.kernel_initializer)
        if self.solver == "lbfgs":
            check_lbfgs_params(self.get_params(deep=False))
        self._hidden = sizes

    def _validate_X(self, X, y=None, *, reset, **kwargs):
        """Validate ``X`` (and ``y``) with scikit-learn's ``validate_data``.

        ``X`` may be dense or a CSR/CSC matrix; it becomes float32 (CSR when
        sparse), the network's dtype, and the input's own float dtype is
        recorded at fit time for the fitted attributes.
        """
        check = dict(accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32), reset=reset)
        if y is None:
            X = validate_data(self, X, **check)
        else:
            X, y = validate_data(self, X, y, **check, **kwargs)
        if reset:
            self._input_dtype = np.dtype(X.dtype).name
            self._network_dtype = self._choose_network_dtype(X.dtype)
        dtype = self._compute_dtype()
        X = X.tocsr().astype(dtype) if sp.issparse(X) else X.astype(dtype, copy=False)
        return X, y

    def _choose_network_dtype(self, input_dtype) -> str:
        """The dtype of a new network: float32, or float64 for L-BFGS on float64 data.

        scikit-learn's MLP computes in the input's dtype. The stochastic solvers
        here compute in float32 (twice as fast, and minibatch noise is far above
        its rounding); full-batch L-BFGS computes in float64 on float64 input,
        as scikit-learn and scipy's optimizer do, where the backend can (on JAX
        only with ``jax_enable_x64``).
        """
        if (
            self.solver == "lbfgs"
            and np.dtype(input_dtype) == np.float64
            and _backend.computes_float64()
        ):
            return "float64"
        return "float32"

    def _compute_dtype(self):
        """The fitted network's dtype (float32 for models from before float64)."""
        return np.dtype(getattr(self, "_network_dtype", "float32")).type

    def _sample_weight(self, X, Y, sample_weight):
        """``sample_weight`` in the network's dtype (None when unweighted); negative raise."""
        if sample_weight is None:
            return None
        return _check_sample_weight(
            sample_weight, X, dtype=self._compute_dtype(), ensure_non_negative=True
        )

    # --------------------------------------------------------------- seeding
    def _draw_seed(self) -> int:
        if isinstance(self.random_state, Integral):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(_backend.MAX_SEED))

    # ------------------------------------------------------------ the network
    def _batch_size(self, n_samples: int) -> int:
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn(
                f"Got batch_size={self.batch_size} larger than the {n_samples} samples; "
                "it is clipped to the number of samples.",
                UserWarning,
                stacklevel=4,
            )
        return min(self.batch_size, n_samples)

    def _keras_build_fn(self, meta):
        """Build and compile the network (called by scikeras' model building)."""
        model = build_mlp(
            meta["n_features_in_"],
            meta["n_outputs_"],
            self._hidden,
            l2=meta["_l2"],
            seed=self._build_seed,
            output_activation=meta["out_activation_"],
            dtype=np.dtype(self._compute_dtype()).name,
            **{name: getattr(self, name) for name in NETWORK_CONSTRAINTS},
        )
        optimizer = make_optimizer(self.get_params(deep=False))
        loss, loss_weight, metrics = self._compile_loss()
        model.compile(
            optimizer=optimizer,
            loss=loss,
            loss_weights=None if loss_weight == 1 else float(loss_weight),
            metrics=list(metrics) or None,
            steps_per_execution=steps_per_execution(),
        )
        return model

    def _get_metadata(self):
        meta = super()._get_metadata()
        meta["_l2"] = self._l2
        return meta

    def _use_alpha(self, divisor, update):
        """Set ``_l2`` from the current ``alpha`` (:func:`l2_factor`); ``update``: in ``model_``."""
        if update and getattr(self, "_l2_alpha", None) == self.alpha:
            return  # same alpha: keep the first fit's factor (a short partial_fit compiles nothing)
        l2 = l2_factor(self.alpha, divisor)
        if update and l2 != getattr(self, "_l2", None):
            set_l2(self.model_, l2)  # scikit-learn penalises with the alpha of each fit
        self._l2, self._l2_alpha = l2, self.alpha

    def _build(self, n_samples, seed):
        """Refuse a network too large for memory, then build and compile it."""
        n_params = mlp_param_count(
            self.n_features_in_, self._hidden, self.n_outputs_, batch_norm=bool(self.batch_norm)
        )
        check_param_budget(n_params)
        self._build_seed = seed
        with _backend.keras_seed(seed):
            self.model_ = self._keras_build_fn(self._get_metadata())

    # --------------------------------------------------------------- fitting
    def fit(self, X, y, sample_weight=None):
        """Fit the network to data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data: an array, a list of lists, a pandas DataFrame or a
            CSR/CSC matrix (made dense at once when its dense copy takes at most
            ``SPARSE_DENSE_BYTES``, 64 MiB; one minibatch at a time otherwise).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples; samples of weight 0 are left out.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def _fit(self, X, y, sample_weight, *, incremental, classes=None, compile_only=False):
        """Fit; ``incremental``: one ``partial_fit`` epoch; ``compile_only``: train nothing."""
        self._check_params()
        fitted = self.__sklearn_is_fitted__()
        first_pass = not fitted or (not self.warm_start and not incremental)
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        X, Y = self._encode_targets(
            X, y, incremental=incremental, reset=first_pass, classes=classes
        )
        Y = Y.astype(self._compute_dtype(), copy=False)
        sample_weight = self._sample_weight(X, Y, sample_weight)
        if sample_weight is not None:
            if not np.any(sample_weight > 0):
                raise ValueError("sample_weight is zero for every sample: nothing to train on.")
            keep = sample_weight > 0
            if not keep.all():
                X, Y, sample_weight = X[keep], Y[keep], sample_weight[keep]

        if not first_pass and self.solver != "lbfgs" and self._compute_dtype() is np.float64:
            raise ValueError(
                f"This network was trained by solver='lbfgs' in float64; solver="
                f"{self.solver!r} trains in float32 and cannot continue it. Fit it with "
                "warm_start=False, or keep solver='lbfgs'."
            )
        seed = self._draw_seed()
        if first_pass:
            self._init_state()
        with _quiet_backend_deprecations():
            if self.solver == "lbfgs":
                self._fit_lbfgs(X, Y, sample_weight, seed, first_pass)
            else:
                self._fit_stochastic(
                    X, Y, sample_weight, seed, first_pass, incremental, compile_only
                )
            self._set_fitted_attributes()
        if not all_finite(self.coefs_ + self.intercepts_):
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain "
                "large values and need to be preprocessed."
            )
        return self

    def _compile_ahead(self, X, y):
        """Queue the compilation of what fitting this estimator on ``X, y`` will run.

        On JAX with the fused epoch, a clone builds its network and queues the
        compilation of its training program on skmlp's background compile
        thread; a later fit of the same network structure (any number of rows)
        finds it compiled. A search that knows its candidates calls this for
        each before it starts, so that compiling overlaps with training. Does
        nothing on other backends or solvers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs, as ``fit`` would get them.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        """
        if not _backend.compiles_per_shape() or self.solver == "lbfgs":
            return
        ahead = clone(self)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ahead._fit(X, y, None, incremental=False, compile_only=True)
        # and the predictions: scoring, and the validation score of each epoch
        n_samples = X.shape[0] if hasattr(X, "shape") else len(X)
        validating = self.early_stopping or self.monitor_validation
        compile_prediction_ahead(
            ahead.model_, n_samples, self.validation_fraction if validating else None
        )

    def _init_state(self):
        self.history_ = {"loss": []}
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_ = None
        self._no_improvement_count = 0
        self._optimizer = None
        self.best_validation_score_ = None
        self.best_loss_ = None if self.early_stopping else np.inf

    def _fit_stochastic(self, X, Y, sample_weight, seed, first_pass, incremental, compile_only):
        use_validation = not incremental and (
            bool(self.early_stopping) or bool(self.monitor_validation)
        )
        validation = None
        if use_validation:
            X, Y, sample_weight, validation = split_validation(
                X, Y, sample_weight, self.validation_fraction, self._stratify(Y), seed
            )
            if self.best_validation_score_ is None:
                self.best_validation_score_ = -np.inf
        if self.best_loss_ is None and not self.early_stopping:
            self.best_loss_ = np.inf
        n_samples = X.shape[0]
        batch_size = self._batch_size(n_samples)
        self._use_alpha(batch_size, update=not first_pass)
        if first_pass:
            self._build(n_samples, seed)
        if not incremental or self._optimizer is None:
            schedule = self.learning_rate
            if self.solver != "sgd" and schedule not in EPOCH_SCHEDULES:
                schedule = "constant"  # scikit-learn's schedules are SGD's
            self._optimizer = LearningRateSchedule(
                self.learning_rate_init, schedule, power_t=self.power_t, max_iter=self.max_iter
            )
        decay_kernels_only(self.model_.optimizer)
        self.model_.optimizer.learning_rate = self._optimizer.learning_rate
        if not incremental:
            self.n_iter_ = 0

        monitor = ConvergenceMonitor(
            self,
            n_samples,
            early_stopping=bool(self.early_stopping) and not incremental,
            validation=validation,
            incremental=incremental,
        )
        epochs = 1 if incremental else self.max_iter
        # one batch holding every sample: shuffling would change only the order
        # of a sum, so leave it out (fit and partial_fit then compute alike)
        shuffle = bool(self.shuffle) and batch_size < n_samples
        # minibatch slots as wide as the batch size asked for, so that a
        # call with fewer rows than that runs the same program
        width = 200 if self.batch_size == "auto" else int(self.batch_size)
        train_epochs(
            self.model_,
            X,
            Y,
            sample_weight=sample_weight,
            batch_size=batch_size,
            slot_rows=width,
            epochs=epochs,
            shuffle=shuffle,
            validation=validation,
            callbacks=fit_callbacks(self, monitor, incremental=incremental),
            incremental=incremental,
            seed=(seed + self.t_) % _backend.MAX_SEED,
            compile_only=compile_only,
        )
        if not incremental and not monitor.stopped and self.n_iter_ == self.max_iter:
            _warn_convergence(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and "
                "the optimization hasn't converged yet."
            )

    def _fit_lbfgs(self, X, Y, sample_weight, seed, first_pass):
        X, sample_weight, n_samples = lbfgs_problem(X, sample_weight)
        self._use_alpha(n_samples, update=not first_pass)
        if first_pass:
            self._build(n_samples, seed)
        name, loss_weight, _ = self._compile_loss()
        self.n_iter_, self.loss_ = train_lbfgs(
            self.model_,
            X,
            Y,
            sample_weight=sample_weight,
            loss=loss_object(name, np.dtype(self._compute_dtype()).name),
            loss_weight=loss_weight,
            seed=seed,
            max_iter=self.max_iter,
            max_fun=self.max_fun,
            tol=self.tol,
            verbose=self.verbose,
            callbacks=fit_callbacks(self, None, incremental=False)[1:],
        )
        self.history_["loss"].append(self.loss_)
        self.best_loss_ = self.loss_

    def _set_fitted_attributes(self):
        self.loss_curve_ = list(self.history_["loss"])
        val = self.history_.get(f"val_{self._score_name}")
        self.validation_scores_ = list(val) if val is not None else None
        if getattr(self, "loss_", None) is None and self.loss_curve_:
            self.loss_ = self.loss_curve_[-1]
        dense = [layer for layer in self.model_.layers if isinstance(layer, keras.layers.Dense)]
        dtype = np.dtype(getattr(self, "_input_dtype", "float32"))
        self.coefs_ = [_to_numpy(layer.kernel).astype(dtype) for layer in dense]
        self.intercepts_ = [_to_numpy(layer.bias).astype(dtype) for layer in dense]
        self.n_layers_ = len(dense) + 1
        self.n_params_ = int(self.model_.count_params())

    # ------------------------------------------------------------- state
    # Plain-data fitted state, for skmlp's pickle-free model files
    # (skmlp._persistence); the Keras model is stored separately.
    _STATE_KEYS = (
        "n_features_in_", "n_outputs_", "out_activation_", "n_iter_", "t_", "loss_",
        "history_", "best_loss_", "best_validation_score_", "_hidden", "_l2",
        "_no_improvement_count", "_input_dtype", "_network_dtype",
    )  # fmt: skip

    def _get_state(self) -> dict:
        check_is_fitted(self)
        state = {key: getattr(self, key) for key in self._STATE_KEYS if hasattr(self, key)}
        if hasattr(self, "feature_names_in_"):
            state["feature_names_in_"] = self.feature_names_in_
        return state

    def _set_state(self, state: dict, model):
        for key, value in state.items():
            setattr(self, key, value)
        self._hidden = tuple(int(w) for w in self._hidden)
        self._optimizer = None
        self.model_ = model
        self._set_fitted_attributes()
        return self

    # ------------------------------------------------------------ prediction
    def _forward(self, X):
        """Outputs of the network for ``X`` (dense or CSR, the network's dtype)."""
        return forward(self.model_, X)

    def _predict_outputs(self, X):
        """Validated ``X`` through the network; returns (outputs, input dtype)."""
        check_is_fitted(self)
        dtype = getattr(X, "dtype", None)
        X, _ = self._validate_X(X, reset=False)
        with _quiet_backend_deprecations():
            out = self._forward(X)
        dtype = dtype if dtype in (np.float32, np.float64) else np.float64
        return out, dtype

    def _validation_score(self, X_val, Y_val, sw_val) -> float:
        """The validation score of the current network (NaN when it outputs non-finite values)."""
        out = self._forward(X_val)
        if not np.isfinite(out).all():
            return float("nan")
        return float(self._score_outputs(out, Y_val, sw_val))


_surface.hide_scikeras_leftovers(BaseMultilayerPerceptron)


#: The parameters both estimators share, documented once and put into each
#: estimator's docstring (``{params}`` there).
SHARED_PARAMS_DOC = (
    """\
hidden_layer_sizes : array-like of int, default=(100,)
        The ith element is the number of neurons in the ith hidden layer.
    solver : {"adam", "sgd", "lbfgs"}, default="adam"
        ``"adam"`` and ``"sgd"`` train on minibatches with Keras' optimizers;
        ``"lbfgs"`` minimises the full-batch loss with scipy's L-BFGS-B, as
        scikit-learn does, using the network's Keras gradients. ``"lbfgs"``
        trains on all rows at once (a sparse ``X`` is made dense) and refuses
        ``dropout > 0``.
    alpha : float, default=1e-4
        Strength of the L2 penalty on the weights (not the biases), scaled as
        scikit-learn does: ``0.5 * alpha * ||W||^2`` divided by the batch size
        (by the number of samples for ``"lbfgs"``) is added to the loss.
    batch_size : int or "auto", default="auto"
        Minibatch size; ``"auto"`` is ``min(200, n_samples)``. Values above the
        number of samples are clipped with a warning. Not used by ``"lbfgs"``.
    learning_rate : {"constant", "invscaling", "adaptive", "cosine", "step"}, \
default="constant"
        Learning-rate schedule. scikit-learn's three are ``solver="sgd"``'s
        (Adam keeps ``learning_rate_init`` under them): ``"constant"`` keeps
        ``learning_rate_init``; ``"invscaling"`` uses ``learning_rate_init /
        (t_ + 1) ** power_t`` after each epoch; ``"adaptive"`` divides the rate
        by 5 whenever ``n_iter_no_change`` epochs fail to improve by ``tol``,
        and stops once it is below 1e-6. skmlp's two decay over ``max_iter``
        epochs for both ``"sgd"`` and ``"adam"``: ``"cosine"`` trains epoch
        ``k`` (from 0) at ``learning_rate_init * (1 + cos(pi * k / max_iter)) /
        2``, ``"step"`` divides the rate by 10 after half of the epochs and
        again after three quarters. With early stopping the decay still spans
        ``max_iter`` epochs; ``partial_fit`` calls count as epochs and keep the
        last rate past ``max_iter``.
    learning_rate_init : float, default=1e-3
        Initial learning rate of ``"sgd"`` and ``"adam"``.
    power_t : float, default=0.5
        Exponent of the ``"invscaling"`` schedule.
    max_iter : int, default=200
        Maximum number of epochs of a call to :meth:`fit` (iterations for
        ``"lbfgs"``).
    shuffle : bool, default=True
        Whether to shuffle samples in each epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout masks, shuffling and the validation
        split. An int gives the same model at every fit (on a CPU). A
        :class:`numpy.random.RandomState` is drawn from once per fit, so two
        instances in different states, or two fits from one instance, give
        different models. ``None`` draws from NumPy's global generator. Seeding
        goes through :func:`keras.utils.set_random_seed`, so it holds on every
        Keras backend; Python's and NumPy's global states are restored afterwards.
    tol : float, default=1e-4
        Tolerance of the stopping rule, see ``n_iter_no_change`` (the gradient
        tolerance for ``"lbfgs"``).
    verbose : bool or int, default=False
        Print ``Iteration N, loss = ...`` after every epoch.
    warm_start : bool, default=False
        Reuse the fitted network and continue training at the next :meth:`fit`;
        ``n_iter_`` counts the last fit's epochs, the curves are extended.
    momentum : float, default=0.9
        Momentum of ``solver="sgd"``.
    nesterovs_momentum : bool, default=True
        Nesterov momentum for ``solver="sgd"``.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data and stop when the
        validation score has not improved by ``tol`` for more than
        ``n_iter_no_change`` epochs; the best epoch's weights are kept.
    validation_fraction : float, default=0.1
        Fraction of the training data held out when ``early_stopping`` or
        ``monitor_validation`` is on. Must be in (0, 1).
    beta_1 : float, default=0.9
        Adam's first-moment decay.
    beta_2 : float, default=0.999
        Adam's second-moment decay.
    epsilon : float, default=1e-8
        Adam's numerical-stability term (scikit-learn's default, not Keras' 1e-7).
    n_iter_no_change : int or np.inf, default=10
        Epochs without improvement by ``tol`` tolerated before stopping;
        ``np.inf`` never stops early.
    max_fun : int, default=15000
        Maximum number of loss evaluations of ``solver="lbfgs"``.
    monitor_validation : bool, default=False
        Hold out ``validation_fraction`` of the training data and record the
        validation loss and score of every epoch (``history_``,
        ``validation_scores_``) without early stopping (skmlp addition).
    weight_decay : float, default=0.0
        Decoupled weight decay (AdamW, Loshchilov and Hutter 2019; skmlp
        addition): every update also multiplies the kernels by ``1 -
        learning_rate * weight_decay``, apart from the loss and its gradient
        (unlike ``alpha``, which Adam rescales with the gradients). Biases and
        batch-normalisation parameters are not decayed. Not with ``"lbfgs"``.
    """
    + NETWORK_PARAMS_DOC
    + CALLBACKS_PARAMS_DOC
)

#: The fitted attributes both estimators share (``{attributes}`` in docstrings).
SHARED_ATTRIBUTES_DOC = """\
n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.
    n_iter_ : int
        Number of epochs (L-BFGS iterations) of the last call to :meth:`fit`.
    t_ : int
        Number of training samples seen by the stochastic solvers, over all
        calls (the time step of the ``"invscaling"`` schedule).
    loss_ : float
        Training loss (with the L2 penalty) of the last epoch, or the final
        loss of ``"lbfgs"``.
    loss_curve_ : list of float
        Training loss of each epoch (one entry per ``"lbfgs"`` fit).
    best_loss_ : float or None
        Lowest training loss; ``None`` with early stopping, as in scikit-learn.
    validation_scores_ : list of float or None
        Validation score of each epoch when a validation split is used.
    best_validation_score_ : float or None
        Best validation score when a validation split is used.
    coefs_ : list of ndarray
        Weight matrix of each Dense layer, input to output, in the float dtype
        of the training data (the network itself computes in float32).
    intercepts_ : list of ndarray
        Bias vector of each Dense layer.
    n_layers_ : int
        Number of layers, input and output included (as in scikit-learn).
    n_outputs_ : int
        Number of output units.
    n_params_ : int
        Number of parameters of the network, trainable or not.
    model_ : keras.Model
        The fitted Keras model."""
