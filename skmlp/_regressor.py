"""The :class:`MLPRegressor` estimator: what is particular to regression.

Real-valued targets (one or several outputs), the output layer (identity for the
squared error, exp for the Poisson loss), the loss with scikit-learn's scaling,
R^2 as the score, and predictions in the input's float dtype. Training,
validation and the fitted attributes are shared with :class:`~skmlp.MLPClassifier`
in :mod:`skmlp._base`.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import column_or_1d

from ._base import SHARED_ATTRIBUTES_DOC, SHARED_PARAMS_DOC, BaseMultilayerPerceptron

__all__ = ["MLPRegressor"]


class MLPRegressor(RegressorMixin, BaseMultilayerPerceptron):
    __doc__ = f"""Multilayer perceptron regressor trained with Keras.

    A drop-in for :class:`sklearn.neural_network.MLPRegressor`, with the
    parameters and features of :class:`MLPClassifier`: batch normalisation,
    dropout, validation curves, early stopping on the validation R^2, sample
    weights, warm starts, :meth:`partial_fit`, several outputs, sparse inputs
    and the three solvers. The output layer is linear and the loss is half the
    mean squared error (scikit-learn's ``loss_``), or exp and the Poisson
    deviance with ``loss="poisson"``.

    Parameters
    ----------
    loss : {{"squared_error", "poisson"}}, default="squared_error"
        ``"squared_error"``: half the mean squared error, averaged over the
        outputs, as scikit-learn reports it. ``"poisson"``: the Poisson
        deviance with an exp output (for non-negative targets); its ``loss_``
        is Keras' ``y_pred - y * log(y_pred)``, which differs from
        scikit-learn's half deviance by a term of ``y`` alone, so the same
        weights minimise both.
    {SHARED_PARAMS_DOC}

    Attributes
    ----------
    {SHARED_ATTRIBUTES_DOC}
    out_activation_ : str
        ``"identity"``, or ``"exp"`` for the Poisson loss.
    history_ : dict of str to list of float
        Per-epoch ``"loss"`` on the training data, and ``"val_loss"`` and
        ``"val_r2"`` (the validation R^2) when a validation split is used.

    See Also
    --------
    sklearn.neural_network.MLPRegressor : scikit-learn's own MLP, which this mirrors.
    MLPClassifier : The classifier counterpart.
    skmlp.build_mlp : The function that builds the network.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skmlp import MLPRegressor
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    >>> reg = MLPRegressor(hidden_layer_sizes=(32,), solver="lbfgs", random_state=0).fit(X, y / 100)
    >>> reg.predict(X[:3]).shape
    (3,)
    >>> reg.score(X, y / 100) > 0.9
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        **BaseMultilayerPerceptron._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    _score_name: ClassVar[str] = "r2"
    _history_metrics: ClassVar[tuple] = ()

    def __init__(
        self,
        loss="squared_error",
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
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    # --------------------------------------------------------------- targets
    def _encode_targets(self, X, y, *, incremental, reset, classes=None):
        """Validate ``X`` and ``y``; return ``y`` as a float32 matrix, one column per output."""
        X, y = self._validate_X(X, y, reset=reset, multi_output=True, y_numeric=True)
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        if reset:
            self.n_outputs_ = Y.shape[1]
            self._y_ndim = y.ndim
            self.out_activation_ = "exp" if self.loss == "poisson" else "identity"
        elif Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {Y.shape[1]} outputs, but the model was fitted with {self.n_outputs_}."
            )
        if self.loss == "poisson" and np.any(Y < 0):
            raise ValueError("loss='poisson' needs non-negative targets y.")
        return X, Y.astype(np.float32)

    def _stratify(self, Y):
        return None

    # ------------------------------------------------------------ the network
    def _compile_loss(self):
        if self.out_activation_ == "exp":
            # scikit-learn sums the Poisson deviance over the outputs, Keras averages it
            return "poisson", self.n_outputs_, ()
        # scikit-learn's squared_error is half the mean squared error
        return "mean_squared_error", 0.5, ()

    def _score_outputs(self, out, Y, sample_weight):
        return r2_score(Y, out, sample_weight=sample_weight)

    # --------------------------------------------------------------- fitting
    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X, y, sample_weight=None):
        """Train for one epoch on the given data, keeping the network's state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples.

        Returns
        -------
        self : MLPRegressor
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, incremental=True)

    # ------------------------------------------------------------ prediction
    def predict(self, X):
        """Predict the targets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predicted values, in the float dtype of ``X`` (float64 for other
            dtypes); one-dimensional when the model has one output.
        """
        out, dtype = self._predict_outputs(X)
        out = out.astype(dtype)
        return out.ravel() if out.shape[1] == 1 else out

    def score(self, X, y, sample_weight=None):
        """Coefficient of determination :math:`R^2` of the predictions.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            :func:`sklearn.metrics.r2_score` of ``self.predict(X)`` against ``y``
            (uniform average over outputs, as scikit-learn's regressors).
        """
        return super().score(X, y, sample_weight=sample_weight)
