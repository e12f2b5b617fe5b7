"""The :class:`MLPClassifier` estimator.

This is the only module of skmlp that imports scikeras. scikeras 0.13 supplies the
model life cycle (building through ``_keras_build_fn``, compiling, callbacks) and
the pickling of Keras models that joblib relies on. skmlp owns everything that
scikeras gets wrong or leaves out on current scikit-learn: the classifier tags,
input validation, label encoding, seeding from ``random_state``, the training
loop's convergence rules, validation curves and the fitted attributes of
:class:`sklearn.neural_network.MLPClassifier`. Replacing scikeras means replacing
this module only.
"""

from __future__ import annotations

import os
import random
import sys
import warnings
from contextlib import contextmanager
from numbers import Integral, Real
from typing import ClassVar

# Quiet TensorFlow's C++ start-up chatter unless the user chose a log level.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, compute_sample_weight
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from ._backend import set_random_seed
from ._fused import can_fuse, fused_fit
from ._model import ACTIVATIONS, build_mlp
from ._reuse import fit_model, predicting


def _import_base_wrapper():
    """scikeras' ``BaseWrapper``, without importing TensorFlow for other backends.

    scikeras imports TensorFlow, when it is installed, for a seeding helper that
    it guards with ``except ImportError`` and that skmlp never calls (skmlp seeds
    through Keras). Under JAX or PyTorch that import costs seconds and hundreds
    of megabytes for nothing, so TensorFlow is hidden during scikeras' import.
    """
    if keras.backend.backend() == "tensorflow" or "tensorflow" in sys.modules:
        from scikeras.wrappers import BaseWrapper
    else:
        sys.modules["tensorflow"] = None  # makes ``import tensorflow`` raise ImportError
        try:
            from scikeras.wrappers import BaseWrapper
        finally:
            del sys.modules["tensorflow"]
    return BaseWrapper


BaseWrapper = _import_base_wrapper()

__all__ = ["MLPClassifier"]

# Prediction runs through ``Model.predict_on_batch`` in chunks of this many rows.
# It costs about a millisecond per call, where ``Model.predict`` pays tens of
# milliseconds of set-up, and 4096-row chunks are as fast as the best batch size
# for 10,000 rows (benchmarks/bench_compare.py).
_PREDICT_CHUNK = 4096
_MAX_SEED = np.iinfo(np.int32).max


def _steps_per_execution() -> int:
    """Minibatches per compiled call of ``Model.fit``: 32 on TensorFlow, else 1.

    On TensorFlow this runs 32 training steps in one graph call instead of 32
    Python round trips; the updates are the same (benchmarks/bench_compare.py
    measures the gain). JAX gets its own fused epoch (skmlp._fused), where
    Keras' multi-step execution is a Python loop that gains nothing.
    """
    return 32 if keras.backend.backend() == "tensorflow" else 1


@contextmanager
def _keras_seed(seed: int):
    """Seed Python, NumPy and the Keras backend; restore Python's and NumPy's state after.

    ``keras.utils.set_random_seed`` is the one call that seeds every backend
    (TensorFlow, JAX, PyTorch). It also reseeds the global ``random`` and
    ``numpy.random`` generators, which belong to the user: their states are put
    back when the block ends.
    """
    py_state = random.getstate()
    np_state = np.random.get_state()  # noqa: NPY002 (the user's global state)
    set_random_seed(int(seed))  # keras.utils.set_random_seed, without a needless TF import
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)  # noqa: NPY002


class _ConvergenceMonitor(keras.callbacks.Callback):
    """scikit-learn's stopping rule, applied at the end of every Keras epoch.

    Without early stopping, training stops once the training loss has not
    improved by ``tol`` for more than ``n_iter_no_change`` epochs. With early
    stopping, the validation accuracy plays that role and the weights of the best
    epoch are restored when training ends.
    """

    def __init__(self, estimator: MLPClassifier, early_stopping: bool):
        super().__init__()
        self.estimator = estimator
        self.early_stopping = early_stopping
        self.stopped = False
        self._best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        est = self.estimator
        logs = logs or {}
        if self.early_stopping:
            score = float(logs["val_accuracy"])
            if score < est.best_validation_score_ + est.tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                self._best_weights = self.model.get_weights()
        else:
            loss = float(logs["loss"])
            if loss > est.best_loss_ - est.tol:
                est._no_improvement_count += 1
            else:
                est._no_improvement_count = 0
            est.best_loss_ = min(est.best_loss_, loss)
        if est._no_improvement_count > est.n_iter_no_change:
            self.stopped = True
            self.model.stop_training = True
            if est.verbose:
                what = "Validation score" if self.early_stopping else "Training loss"
                print(
                    f"{what} did not improve more than tol={est.tol} for "
                    f"{est.n_iter_no_change} consecutive epochs. Stopping."
                )

    def on_train_end(self, logs=None):
        if self._best_weights is not None:
            self.model.set_weights(self._best_weights)


class MLPClassifier(ClassifierMixin, BaseWrapper):
    """Multilayer perceptron classifier trained with Keras.

    A drop-in for :class:`sklearn.neural_network.MLPClassifier`: the parameters
    and fitted attributes that exist there keep their names and meanings. On top,
    it offers batch normalisation and dropout after every hidden layer, a
    validation-loss curve, the Keras backends (tested: TensorFlow and JAX) and
    therefore GPUs. The network is built by :func:`skmlp.build_mlp`.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int, default=(100,)
        The ith element is the number of neurons in the ith hidden layer.
    activation : {"relu", "identity", "logistic", "tanh", "elu", "selu", "gelu", \
"swish", "leaky_relu"}, default="relu"
        Activation of the hidden layers: scikit-learn's four names, and some of
        Keras'.
    solver : {"adam", "sgd"}, default="adam"
        Keras optimizer. scikit-learn's ``"lbfgs"`` is not available.
    alpha : float, default=1e-4
        Strength of the L2 penalty on the weights (not the biases), scaled as
        scikit-learn does: each batch adds ``0.5 * alpha * ||W||^2 / batch_size``
        to the loss.
    batch_size : int or "auto", default="auto"
        Minibatch size; ``"auto"`` is ``min(200, n_samples)``. Values above the
        number of samples are clipped with a warning.
    learning_rate_init : float, default=1e-3
        Learning rate of the optimizer.
    max_iter : int, default=200
        Maximum number of epochs of a call to :meth:`fit`.
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
        Tolerance of the stopping rule, see ``n_iter_no_change``.
    verbose : bool, default=False
        Print one line per epoch.
    warm_start : bool, default=False
        Reuse the fitted network and continue training at the next :meth:`fit`;
        the history is extended, not replaced.
    momentum : float, default=0.9
        Momentum of ``solver="sgd"``.
    nesterovs_momentum : bool, default=True
        Nesterov momentum for ``solver="sgd"``.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified) and
        stop when its accuracy has not improved by ``tol`` for more than
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
    n_iter_no_change : int, default=10
        Epochs without improvement by ``tol`` tolerated before stopping.
    batch_norm : bool, default=False
        Add batch normalisation after every hidden layer (skmlp addition).
    dropout : float, default=0.0
        Dropout rate in [0, 1) after every hidden layer (skmlp addition).
    kernel_initializer : str, default="auto"
        ``"auto"``: the seed notebook's ``RandomNormal(0, sqrt(2 / (fan_in + 1)))``
        for ReLU-family hidden layers, Glorot uniform otherwise. Or any Keras
        initializer name, such as ``"he_normal"`` or ``"glorot_uniform"``.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``; ``"balanced"``
        weights inversely to class frequencies.
    monitor_validation : bool, default=False
        Hold out ``validation_fraction`` of the training data and record the
        validation loss and accuracy of every epoch (``history_``,
        ``validation_scores_``) without early stopping (skmlp addition).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.
    n_iter_ : int
        Number of epochs run, over all calls when warm-starting.
    loss_curve_ : list of float
        Training loss (including the L2 penalty) of each epoch.
    best_loss_ : float or None
        Lowest training loss; ``None`` with early stopping, as in scikit-learn.
    validation_scores_ : list of float or None
        Validation accuracy of each epoch when a validation split is used.
    best_validation_score_ : float or None
        Best validation accuracy when a validation split is used.
    history_ : dict of str to list of float
        Per-epoch ``"loss"`` and ``"accuracy"`` on the training data, and
        ``"val_loss"`` and ``"val_accuracy"`` when a validation split is used.
    coefs_ : list of ndarray
        Weight matrix of each Dense layer, input to output.
    intercepts_ : list of ndarray
        Bias vector of each Dense layer.
    n_layers_ : int
        Number of layers, input and output included (as in scikit-learn).
    n_outputs_ : int
        Number of output units (``n_classes``; binary problems use two softmax
        units where scikit-learn uses one logistic unit).
    out_activation_ : str
        ``"softmax"``.
    n_params_ : int
        Number of parameters of the network, trainable or not.
    model_ : keras.Model
        The fitted Keras model.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : scikit-learn's own MLP, which this mirrors.
    skmlp.build_mlp : The function that builds the network.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skmlp import MLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier((32,), max_iter=5, random_state=0).fit(X / 16, y)
    >>> clf.predict_proba(X[:2] / 16).shape
    (2, 10)
    """

    _parameter_constraints: ClassVar[dict] = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "solver": [StrOptions({"adam", "sgd"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
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
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "batch_norm": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "kernel_initializer": [str],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "monitor_validation": ["boolean"],
    }

    # scikeras reads these during model building; skmlp builds through
    # ``_keras_build_fn`` and seeds through Keras itself, so they stay fixed.
    model = None
    build_fn = None
    _random_state = None

    # On the JAX backend, train each epoch as one compiled call (skmlp._fused);
    # it computes what ``Model.fit`` computes. False forces ``Model.fit``.
    _fused_epochs: ClassVar[bool] = True

    # scikeras replaces scikit-learn's signature-based parameter discovery and
    # repr with ones that read ``__dict__``; skmlp's parameters are explicit.
    _get_param_names = classmethod(BaseEstimator._get_param_names.__func__)
    __repr__ = BaseEstimator.__repr__

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=1e-4,
        batch_size="auto",
        learning_rate_init=1e-3,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        batch_norm=False,
        dropout=0.0,
        kernel_initializer="auto",
        class_weight=None,
        monitor_validation=False,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.batch_norm = batch_norm
        self.dropout = dropout
        self.kernel_initializer = kernel_initializer
        self.class_weight = class_weight
        self.monitor_validation = monitor_validation

    # ------------------------------------------------------------------ tags
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        tags.target_tags.multi_output = False
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        tags.non_deterministic = self.random_state is None
        return tags

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")

    # ------------------------------------------------------------ validation
    def _check_params(self):
        """Validate every hyperparameter; raise before any data is touched."""
        self._validate_params()
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, Integral) and not isinstance(sizes, bool):
            sizes = [sizes]
        try:
            sizes = list(sizes)
        except TypeError:
            raise TypeError(
                f"hidden_layer_sizes must be an int or a sequence of ints, got {sizes!r}."
            ) from None
        for w in sizes:
            if isinstance(w, bool) or not isinstance(w, Integral):
                raise TypeError(f"hidden_layer_sizes must contain ints, got {sizes!r}.")
        if any(w <= 0 for w in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        if self.kernel_initializer != "auto":
            try:
                keras.initializers.get(self.kernel_initializer)
            except ValueError:
                raise ValueError(
                    "kernel_initializer must be 'auto' or a Keras initializer name "
                    f"such as 'he_normal', got {self.kernel_initializer!r}."
                ) from None
        self._hidden = tuple(int(w) for w in sizes)

    def _validate_data(self, X=None, y=None, reset=False, y_numeric=False):
        """Validate X (and y) with scikit-learn's ``validate_data``.

        Replaces scikeras' check so that feature names, ``n_features_in_`` and the
        error messages are scikit-learn's own. X becomes float32 once, here.
        """
        if X is None:
            return None, y
        if y is None:
            X = validate_data(self, X, reset=reset, dtype=np.float32)
            return X, None
        X, y = validate_data(self, X, y, reset=reset, dtype=np.float32)
        return X, y

    def _encode_labels(self, y, classes=None, reset=True):
        """Return y as class indices, setting ``classes_`` when ``reset``."""
        check_classification_targets(y)
        kind = type_of_target(y)
        if kind not in ("binary", "multiclass"):
            raise ValueError(f"MLPClassifier supports binary and multiclass targets, got {kind!r}.")
        if reset:
            classes = np.unique(y) if classes is None else np.unique(np.asarray(classes))
            if classes.size < 2:
                raise ValueError(
                    "MLPClassifier needs samples of at least 2 classes in the data, "
                    f"but the data contains only one class: {classes[0]!r}."
                )
            self.classes_ = classes
            self.n_classes_ = classes.size
        unseen = np.setdiff1d(y, self.classes_)
        if unseen.size:
            raise ValueError(
                f"y contains labels not in classes_: {unseen.tolist()}; the classes are "
                f"{self.classes_.tolist()}."
            )
        return np.searchsorted(self.classes_, y).astype(np.int32)

    # --------------------------------------------------------------- seeding
    def _draw_seed(self) -> int:
        if isinstance(self.random_state, Integral):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(_MAX_SEED))

    # ------------------------------------------------------------ the network
    def _batch_size(self, n_samples: int) -> int:
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn(
                f"Got batch_size={self.batch_size} larger than the {n_samples} samples; "
                "it is clipped to the number of samples.",
                UserWarning,
                stacklevel=3,
            )
        return min(self.batch_size, n_samples)

    def _keras_build_fn(self, meta):
        """Build and compile the network (called by scikeras' model building)."""
        model = build_mlp(
            meta["n_features_in_"],
            meta["n_classes_"],
            self._hidden,
            activation=self.activation,
            batch_norm=bool(self.batch_norm),
            dropout=float(self.dropout),
            kernel_initializer=self.kernel_initializer,
            l2=0.5 * self.alpha / meta["_fit_batch_size"],
            seed=self._build_seed,
        )
        if self.solver == "adam":
            optimizer = keras.optimizers.Adam(
                learning_rate=self.learning_rate_init,
                beta_1=self.beta_1,
                beta_2=self.beta_2,
                epsilon=self.epsilon,
            )
        else:
            optimizer = keras.optimizers.SGD(
                learning_rate=self.learning_rate_init,
                momentum=self.momentum,
                nesterov=bool(self.nesterovs_momentum) and self.momentum > 0,
            )
        model.compile(
            optimizer=optimizer,
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
            steps_per_execution=_steps_per_execution(),
        )
        return model

    def _get_metadata(self):
        meta = super()._get_metadata()
        meta["_fit_batch_size"] = self._fit_batch_size
        return meta

    # --------------------------------------------------------------- fitting
    def fit(self, X, y, sample_weight=None):
        """Fit the network to data, for up to ``max_iter`` epochs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data: an array, a list of lists or a pandas DataFrame.
        y : array-like of shape (n_samples,)
            Class labels, of any type (ints, strings, ...).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples; samples of weight 0 are left out.

        Returns
        -------
        self : MLPClassifier
            The fitted estimator.
        """
        self._check_params()
        warm = bool(self.warm_start) and self.__sklearn_is_fitted__()
        return self._fit(X, y, sample_weight, incremental=False, warm=warm)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one epoch on the given data, keeping the network's state.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels.
        classes : array-like of shape (n_classes,), default=None
            All the classes that will ever be seen. Required at the first call,
            ignored afterwards, as in scikit-learn.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples.

        Returns
        -------
        self : MLPClassifier
            The updated estimator.
        """
        first = not self.__sklearn_is_fitted__()
        if first:
            self._check_params()
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
        return self._fit(X, y, sample_weight, incremental=True, warm=not first, classes=classes)

    def _fit(self, X, y, sample_weight, *, incremental, warm, classes=None):
        X, y = self._validate_data(X, y, reset=not warm)
        y_enc = self._encode_labels(y, classes=classes, reset=not warm)
        sample_weight = self._combined_sample_weight(X, y, sample_weight)
        if sample_weight is not None:
            keep = sample_weight > 0
            X, y_enc, sample_weight = X[keep], y_enc[keep], sample_weight[keep]

        seed = self._draw_seed()
        use_validation = not incremental and (
            bool(self.early_stopping) or bool(self.monitor_validation)
        )
        validation_data = None
        if use_validation:
            X, y_enc, sample_weight, validation_data = self._split_validation(
                X, y_enc, sample_weight, seed
            )

        if not warm:
            self._fit_batch_size = self._batch_size(X.shape[0])
            self._init_state(use_validation)
            self._build_seed = seed
            with _keras_seed(seed):
                self.model_ = self._build_keras_model()
            self._initialize_callbacks()
        elif use_validation and "val_loss" not in self.history_:
            self.history_["val_loss"], self.history_["val_accuracy"] = [], []
            self.best_validation_score_ = -np.inf

        epochs = 1 if incremental else self.max_iter
        self._train(X, y_enc, sample_weight, validation_data, epochs, incremental, seed)
        return self

    def _combined_sample_weight(self, X, y, sample_weight):
        if sample_weight is None and self.class_weight is None:
            return None
        weights = _check_sample_weight(sample_weight, X, dtype=np.float32)
        if self.class_weight is not None:
            if isinstance(self.class_weight, dict):
                unknown = set(self.class_weight) - set(self.classes_.tolist())
                if unknown:
                    names = sorted(map(str, unknown))
                    raise ValueError(f"class_weight has labels that are not classes: {names}.")
            # a new array: the caller's sample_weight is never modified
            weights = weights * compute_sample_weight(self.class_weight, y).astype(np.float32)
        if not np.any(weights > 0):
            raise ValueError("sample_weight is zero for every sample: nothing to train on.")
        return weights

    def _split_validation(self, X, y, sample_weight, seed):
        counts = np.bincount(y, minlength=self.n_classes_)
        present = counts[counts > 0]
        n_val = int(np.ceil(self.validation_fraction * X.shape[0]))
        if present.min() < 2 or n_val < present.size:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} cannot hold out a "
                f"stratified validation set from {X.shape[0]} samples: every class needs "
                "at least 2 samples and the validation set at least one per class."
            )
        arrays = [X, y] + ([sample_weight] if sample_weight is not None else [])
        parts = train_test_split(
            *arrays,
            test_size=self.validation_fraction,
            random_state=np.random.RandomState(seed),
            stratify=y,
        )
        X_tr, X_val, y_tr, y_val = parts[:4]
        sw_tr = parts[4] if sample_weight is not None else None
        return X_tr, y_tr, sw_tr, (X_val, y_val)

    def _init_state(self, use_validation):
        self.history_ = {"loss": [], "accuracy": []}
        self.n_iter_ = 0
        self._no_improvement_count = 0
        if use_validation:
            self.history_["val_loss"] = []
            self.history_["val_accuracy"] = []
            self.best_validation_score_ = -np.inf
        else:
            self.best_validation_score_ = None
        self.best_loss_ = None if self.early_stopping else np.inf

    def _train(self, X, y, sample_weight, validation_data, epochs, incremental, seed):
        early_stopping = bool(self.early_stopping) and not incremental
        if early_stopping and self.best_validation_score_ is None:
            self.best_validation_score_ = -np.inf
        if not early_stopping and self.best_loss_ is None:
            self.best_loss_ = np.inf
        self._no_improvement_count = 0
        monitor = _ConvergenceMonitor(self, early_stopping)
        callbacks = [] if incremental else [monitor]
        fit_args = dict(
            sample_weight=sample_weight,
            batch_size=self._fit_batch_size,
            epochs=epochs,
            shuffle=bool(self.shuffle),
            validation_data=validation_data,
            verbose=2 if self.verbose else 0,
            callbacks=callbacks + self._fit_callbacks,
        )
        with _keras_seed(seed + self.n_iter_):
            if self._fused_epochs and can_fuse(self.model_, X):
                hist = fused_fit(self.model_, X, y, **fit_args)
            else:
                hist = fit_model(self.model_, X, y, incremental=incremental, **fit_args)
        logs = hist.history
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            if key in logs:
                self.history_.setdefault(key, []).extend(float(v) for v in logs[key])
        n_run = len(logs["loss"])
        self.n_iter_ += n_run
        if incremental:
            self.best_loss_ = min(self.best_loss_, *self.history_["loss"][-n_run:])
        self._set_fitted_attributes()
        if not incremental and not monitor.stopped and n_run == self.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and "
                "the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=4,
            )

    def _set_fitted_attributes(self):
        self.loss_curve_ = list(self.history_["loss"])
        val = self.history_.get("val_accuracy")
        self.validation_scores_ = list(val) if val is not None else None
        dense = [layer for layer in self.model_.layers if isinstance(layer, keras.layers.Dense)]
        self.coefs_ = [keras.ops.convert_to_numpy(layer.kernel) for layer in dense]
        self.intercepts_ = [keras.ops.convert_to_numpy(layer.bias) for layer in dense]
        self.n_layers_ = len(dense) + 1
        self.n_outputs_ = int(self.n_classes_)
        self.out_activation_ = "softmax"
        self.n_params_ = int(self.model_.count_params())

    # ------------------------------------------------------------- state
    # Plain-data fitted state, for skmlp's pickle-free model files
    # (skmlp._persistence); the Keras model is stored separately.
    _STATE_KEYS = (
        "n_features_in_", "n_classes_", "n_iter_", "history_", "best_loss_",
        "best_validation_score_", "_fit_batch_size", "_hidden", "_no_improvement_count",
    )  # fmt: skip

    def _get_state(self) -> dict:
        check_is_fitted(self)
        state = {key: getattr(self, key) for key in self._STATE_KEYS if hasattr(self, key)}
        state["classes_"] = self.classes_
        if hasattr(self, "feature_names_in_"):
            state["feature_names_in_"] = self.feature_names_in_
        return state

    def _set_state(self, state: dict, model) -> MLPClassifier:
        for key, value in state.items():
            setattr(self, key, value)
        self._hidden = tuple(int(w) for w in self._hidden)
        self.model_ = model
        self._initialize_callbacks()
        self._set_fitted_attributes()
        return self

    # ------------------------------------------------------------ prediction
    def _forward(self, X):
        """Class probabilities of the network for float32 ``X``, chunk by chunk."""
        # JAX compiles once per input shape: pad each chunk to a power of two, so
        # that inputs of any size reuse at most 13 compiled functions. Rows are
        # independent at inference (batch norm uses its moving statistics), so
        # padding changes no output. TensorFlow relaxes its traced shapes itself.
        pad = keras.backend.backend() == "jax"
        out = []
        with predicting(self.model_) as predict_on_batch:  # compiled once per structure
            for start in range(0, X.shape[0], _PREDICT_CHUNK):
                chunk = X[start : start + _PREDICT_CHUNK]
                n = chunk.shape[0]
                if pad and n & (n - 1):
                    size = 1 << n.bit_length()
                    chunk = np.concatenate([chunk, np.zeros((size - n, X.shape[1]), X.dtype)])
                out.append(keras.ops.convert_to_numpy(predict_on_batch(chunk))[:n])
        return np.concatenate(out) if len(out) > 1 else out[0]

    def predict_proba(self, X):
        """Probability of each class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities, columns in the order of ``classes_``.
        """
        check_is_fitted(self)
        X, _ = self._validate_data(X, reset=False)
        proba = np.asarray(self._forward(X), dtype=np.float64)
        # renormalise in float64: the network's float32 softmax sums to 1 +- 1e-7
        proba /= proba.sum(axis=1, keepdims=True)
        return proba

    def predict_log_proba(self, X):
        """Logarithm of the probability of each class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities, columns in the order of ``classes_``.
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted labels, of the type of the training labels.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X, y, sample_weight=None):
        """Mean accuracy on the given data and labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Mean accuracy of ``self.predict(X)`` with respect to ``y``.
        """
        return super().score(X, y, sample_weight=sample_weight)


KerasMLPClassifier = MLPClassifier
