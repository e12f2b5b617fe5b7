"""The :class:`MLPClassifier` estimator: what is particular to classification.

Labels and their encoding (binary, multiclass and multilabel targets, ``classes_``
across warm starts and ``partial_fit``), class weights, the output layer and loss
(a logistic unit for binary problems, softmax for multiclass, one logistic unit
per label for multilabel, as scikit-learn's MLP), accuracy as the score, and
the probabilities. Training, validation and the fitted attributes are shared
with :class:`~skmlp.MLPRegressor` in :mod:`skmlp._base`.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.utils import compute_sample_weight
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d

from ._base import SHARED_ATTRIBUTES_DOC, SHARED_PARAMS_DOC, BaseMultilayerPerceptron

__all__ = ["MLPClassifier"]

_MULTILABEL = "multilabel-indicator"


class MLPClassifier(ClassifierMixin, BaseMultilayerPerceptron):
    __doc__ = f"""Multilayer perceptron classifier trained with Keras.

    A drop-in for :class:`sklearn.neural_network.MLPClassifier`: the parameters
    and fitted attributes that exist there keep their names and meanings. On top,
    it offers batch normalisation and dropout after every hidden layer, a
    validation-loss curve, the Keras backends (tested: TensorFlow and JAX) and
    therefore GPUs. The network is built by :func:`skmlp.build_mlp`. Binary
    problems get one logistic output unit, multiclass problems softmax units,
    multilabel (indicator) targets one logistic unit per label, and the loss is
    the log-loss, as in scikit-learn.

    Parameters
    ----------
    {SHARED_PARAMS_DOC}
    class_weight : dict, "balanced" or None, default=None
        Non-negative weights of the classes, multiplied into ``sample_weight``;
        ``"balanced"`` weights inversely to class frequencies (skmlp addition;
        not for multilabel targets).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (for multilabel targets, the label indices).
    {SHARED_ATTRIBUTES_DOC}
    out_activation_ : str
        ``"logistic"`` for binary and multilabel targets, ``"softmax"`` for
        multiclass ones.
    history_ : dict of str to list of float
        Per-epoch ``"loss"`` and ``"accuracy"`` on the training data (per-label
        accuracy for multilabel targets), and ``"val_loss"`` and
        ``"val_accuracy"`` (scikit-learn's accuracy) when a validation split is
        used.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : scikit-learn's own MLP, which this mirrors.
    MLPRegressor : The regressor counterpart.
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
        **BaseMultilayerPerceptron._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    _score_name: ClassVar[str] = "accuracy"
    _history_metrics: ClassVar[tuple] = ("accuracy",)

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=1e-4,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=1e-3,
        power_t=0.5,
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
        max_fun=15000,
        batch_norm=False,
        dropout=0.0,
        kernel_initializer="auto",
        class_weight=None,
        monitor_validation=False,
        input_dropout=0.0,
        max_norm=None,
        weight_decay=0.0,
        callbacks=None,
    ):
        self._store_params(locals())

    # ------------------------------------------------------------------ tags
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    # --------------------------------------------------------------- targets
    def _encode_targets(self, X, y, *, incremental, reset, classes):
        """Validate ``X`` and ``y``; set ``classes_`` when ``reset``; encode ``y`` for Keras.

        Returns ``y`` as class indices (multiclass) or as a float 0/1 matrix with
        one column per output unit (binary and multilabel).
        """
        X, y = self._validate_X(X, y, reset=reset, multi_output=True)
        if sp.issparse(y):
            y = y.toarray()
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        y_type = type_of_target(y, input_name="y")
        if y_type not in ("binary", _MULTILABEL):
            # scikit-learn's error for what is not classes, and its warning when most
            # labels are distinct (binary and multilabel targets have neither)
            check_classification_targets(y)
        if y_type not in ("binary", "multiclass", _MULTILABEL):
            raise ValueError(
                "MLPClassifier supports binary, multiclass and multilabel-indicator targets, "
                f"got {y_type!r}."
            )
        multilabel = y_type == _MULTILABEL
        if incremental and classes is not None and hasattr(self, "classes_"):
            if not np.array_equal(self.classes_, unique_labels(classes)):
                raise ValueError(
                    f"`classes={classes!r}` is not the same as on last call to "
                    f"partial_fit, was: {self.classes_!r}"
                )
        if reset:
            if incremental and classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            labels = None if multilabel else unique_labels(y)
            if multilabel:
                self.classes_ = np.arange(y.shape[1])
            else:
                # one class is allowed, as in scikit-learn: it is always predicted
                self.classes_ = unique_labels(classes) if incremental else labels
            self.n_classes_ = self.classes_.size
            if multilabel:
                self._y_type = _MULTILABEL
            else:
                self._y_type = "binary" if self.n_classes_ <= 2 else "multiclass"
            self.n_outputs_ = self.n_classes_ if self._y_type != "binary" else 1
            self.out_activation_ = "softmax" if self._y_type == "multiclass" else "logistic"
            unseen = [] if multilabel else np.setdiff1d(labels, self.classes_)
            if len(unseen):
                raise ValueError(
                    f"Expected only labels in classes_ = {self.classes_}, but got {unseen}."
                )
        else:
            self._check_known_labels(y, multilabel, incremental)
        if self._y_type == _MULTILABEL:
            return X, y.astype(np.float32)
        if self._y_type == "binary":
            # the last class is the positive one (with a single class, none is)
            positive = y == self.classes_[-1] if self.n_classes_ == 2 else np.zeros(len(y), bool)
            return X, positive.astype(np.float32).reshape(-1, 1)
        return X, np.searchsorted(self.classes_, y).astype(np.int32)

    def _check_known_labels(self, y, multilabel, incremental):
        if (self._y_type == _MULTILABEL) != multilabel or (
            multilabel and y.shape[1] != self.n_classes_
        ):
            raise ValueError(
                f"y is {type_of_target(y)!r} with shape {y.shape}, but the model was fitted "
                f"on {self._y_type!r} targets with {self.n_classes_} classes."
            )
        if multilabel:
            return
        labels = unique_labels(y)
        if self.warm_start:
            if set(labels) != set(self.classes_):
                raise ValueError(
                    "warm_start can only be used where `y` has the same classes as in the "
                    f"previous call to fit. Previously got {self.classes_}, `y` has {labels}"
                )
        elif len(np.setdiff1d(labels, self.classes_)):
            raise ValueError(
                f"`y` has classes not in `self.classes_`. `self.classes_` has "
                f"{self.classes_}. 'y' has {labels}."
            )

    def _sample_weight(self, X, Y, sample_weight):
        weights = super()._sample_weight(X, Y, sample_weight)
        if self.class_weight is None:
            return weights
        if self._y_type == _MULTILABEL:
            raise ValueError("class_weight is not supported for multilabel targets.")
        index = Y if Y.ndim == 1 else Y[:, 0].astype(np.int32)
        if isinstance(self.class_weight, dict):
            unknown = set(self.class_weight) - set(self.classes_.tolist())
            if unknown:
                names = sorted(map(str, unknown))
                raise ValueError(f"class_weight has labels that are not classes: {names}.")
            negative = {k: v for k, v in self.class_weight.items() if v < 0}
            if negative:
                raise ValueError(f"class_weight values must be non-negative, got {negative}.")
            position = {label: i for i, label in enumerate(self.classes_.tolist())}
            per_class = {position[k]: float(v) for k, v in self.class_weight.items()}
        else:
            per_class = "balanced"
        class_weights = compute_sample_weight(per_class, index).astype(np.float32)
        # a new array: the caller's sample_weight is never modified
        return class_weights if weights is None else weights * class_weights

    def _stratify(self, Y):
        if self._y_type == _MULTILABEL:
            return None  # as scikit-learn: multilabel splits are not stratified
        # binary: the positive-class indicator column, which scikit-learn stratifies on too
        return Y if Y.ndim == 1 else Y > 0.5

    # ------------------------------------------------------------ the network
    def _compile_loss(self):
        if self._y_type == "multiclass":
            return "sparse_categorical_crossentropy", 1, ("accuracy",)
        # scikit-learn sums the binary log-loss over the labels, Keras averages it
        return "binary_crossentropy", self.n_outputs_, ("accuracy",)

    def _decode(self, out):
        """Class indices (or a label indicator matrix) from network outputs."""
        if self._y_type == _MULTILABEL:
            return (out > 0.5).astype(int)
        if self._y_type == "binary":
            return np.minimum(out[:, 0] > 0.5, self.n_classes_ - 1).astype(np.int64)
        return np.argmax(out, axis=1)

    def _score_outputs(self, out, Y, sample_weight):
        pred = self._decode(out)
        true = Y if Y.ndim == 1 or self._y_type == _MULTILABEL else Y[:, 0].astype(np.int64)
        return accuracy_score(true, pred, sample_weight=sample_weight)

    # the shared base's fitted state, and the labels (see BaseMultilayerPerceptron._get_state)
    _STATE_KEYS = (*BaseMultilayerPerceptron._STATE_KEYS, "classes_", "n_classes_", "_y_type")

    def _set_state(self, state: dict, model) -> MLPClassifier:
        # files from skmlp 0.1 hold softmax networks (two units for binary
        # problems) and lack the newer keys: such a network is "multiclass"
        state = {
            "_y_type": "multiclass",
            "out_activation_": "softmax",
            "n_outputs_": int(state["n_classes_"]),
            "t_": 0,
            **state,
        }
        return super()._set_state(state, model)

    # --------------------------------------------------------------- fitting
    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Train for one epoch on the given data, keeping the network's state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a label indicator matrix.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples.
        classes : array-like of shape (n_classes,), default=None
            All the classes that will ever be seen. Required at the first call;
            afterwards it may be left out, and a different set raises.

        Returns
        -------
        self : MLPClassifier
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    # ------------------------------------------------------------ prediction
    def predict_proba(self, X):
        """Probability of each class.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities, columns in the order of ``classes_`` (for
            multilabel targets, each label's own probability).
        """
        out, _ = self._predict_outputs(X)
        out = np.asarray(out, dtype=np.float64)
        if self._y_type == "binary":
            p = out[:, 0]
            return np.column_stack([1.0 - p, p])
        if self._y_type == "multiclass":
            # renormalise in float64: the network's float32 softmax sums to 1 +- 1e-7
            out /= out.sum(axis=1, keepdims=True)
        return out

    def predict_log_proba(self, X):
        """Logarithm of the probability of each class.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
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
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Predicted labels, of the type of the training labels (a label
            indicator matrix for multilabel targets).
        """
        out, _ = self._predict_outputs(X)
        pred = self._decode(out)
        return pred if self._y_type == _MULTILABEL else self.classes_[pred]

    def score(self, X, y, sample_weight=None):
        """Mean accuracy on the given data and labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Mean accuracy of ``self.predict(X)`` with respect to ``y`` (subset
            accuracy for multilabel targets).
        """
        return accuracy_score(y, self.predict(X), sample_weight=sample_weight)


KerasMLPClassifier = MLPClassifier
