"""The stochastic solvers' epoch-end bookkeeping and stopping rule (scikit-learn's).

At the end of every epoch scikit-learn's ``BaseMultilayerPerceptron._fit_stochastic``
records the loss (``loss_``, ``loss_curve_``), counts the epoch (``n_iter_``) and
the samples seen (``t_``), prints ``Iteration N, loss = ...`` when verbose, scores
the validation set with early stopping, counts epochs without improvement by
``tol``, lets the learning-rate schedule react, and stops once that count exceeds
``n_iter_no_change``. :class:`ConvergenceMonitor` does exactly that as a Keras
callback, so that it runs inside ``Model.fit`` and skmlp's fused JAX epochs alike.
"""

from __future__ import annotations

import keras
import numpy as np
from sklearn.model_selection import train_test_split

__all__ = ["ConvergenceMonitor", "update_no_improvement_count"]


def update_no_improvement_count(est, early_stopping: bool, score=None) -> bool:
    """Apply scikit-learn's improvement test to the newest epoch.

    With early stopping, the newest validation ``score`` must beat
    ``best_validation_score_`` by ``tol``; without, the newest training loss must
    beat ``best_loss_`` by ``tol``. Updates ``est._no_improvement_count`` and the
    best value.

    Parameters
    ----------
    est : BaseMultilayerPerceptron
        The estimator being trained.
    early_stopping : bool
        Judge by the validation score instead of the training loss.
    score : float or None, default=None
        The newest validation score (with early stopping).

    Returns
    -------
    bool
        True when this epoch gave a new best validation score.
    """
    if early_stopping:
        if score < est.best_validation_score_ + est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if score > est.best_validation_score_:
            est.best_validation_score_ = score
            return True
        return False
    loss = est.history_["loss"][-1]
    if loss > est.best_loss_ - est.tol:
        est._no_improvement_count += 1
    else:
        est._no_improvement_count = 0
    if loss < est.best_loss_:
        est.best_loss_ = loss
    return False


class ConvergenceMonitor(keras.callbacks.Callback):
    """scikit-learn's epoch-end bookkeeping and stopping rule, as a Keras callback.

    Parameters
    ----------
    est : BaseMultilayerPerceptron
        The estimator being trained; its fitted attributes are updated in place.
    n_samples : int
        Number of training samples of an epoch (added to ``t_``).
    early_stopping : bool
        Stop on the validation score and keep the best epoch's weights.
    validation : tuple or None
        ``(X_val, y_val, sample_weight_val)`` to score at every epoch, or None.
    incremental : bool
        A ``partial_fit`` call: one epoch, whose stopping rule may change the
        learning rate but does not stop anything.
    """

    def __init__(self, est, n_samples, *, early_stopping, validation, incremental):
        super().__init__()
        self.est = est
        self.n_samples = int(n_samples)
        self.early_stopping = bool(early_stopping)
        self.validation = validation
        self.incremental = bool(incremental)
        self.stopped = False
        self._best_weights = None
        self._rate_set = None  # the learning rate this callback last gave the optimizer

    def on_epoch_end(self, epoch, logs=None):
        est = self.est
        logs = logs or {}
        loss = float(logs["loss"])
        history = est.history_
        history["loss"].append(loss)
        est.loss_ = loss
        for key in est._history_metrics:
            if key in logs:
                history.setdefault(key, []).append(float(logs[key]))
        est.n_iter_ += 1
        est.t_ += self.n_samples
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {loss:.8f}")

        score = None
        if self.validation is not None:
            if "val_loss" in logs:
                history.setdefault("val_loss", []).append(float(logs["val_loss"]))
            if self.model is not est.model_:
                # trained by a shared engine (skmlp._training.reuse): score the current weights
                est.model_.set_weights(self.model.get_weights())
            score = est._validation_score(*self.validation)
            history.setdefault(f"val_{est._score_name}", []).append(score)
            logs[f"val_{est._score_name}"] = score  # the user's callbacks come after this one
            if self.early_stopping and est.verbose:
                print(f"Validation score: {score:f}")
        improved = update_no_improvement_count(est, self.early_stopping, score)
        if improved:
            self._best_weights = self.model.get_weights()

        schedule = est._optimizer
        schedule.iteration_ends(est.t_)
        if est._no_improvement_count > est.n_iter_no_change:
            what = "Validation score" if self.early_stopping else "Training loss"
            msg = (
                f"{what} did not improve more than tol={est.tol:f} for "
                f"{est.n_iter_no_change} consecutive epochs."
            )
            if schedule.trigger_stopping(msg, est.verbose):
                if not self.incremental:
                    self.stopped = True
                    self.model.stop_training = True
            else:
                est._no_improvement_count = 0
        if schedule.learning_rate != self._rate_set:  # an assignment is an op per epoch
            self.model.optimizer.learning_rate = self._rate_set = schedule.learning_rate

    def on_train_end(self, logs=None):
        if self._best_weights is not None:
            self.model.set_weights(self._best_weights)


def all_finite(arrays) -> bool:
    """Whether every array in ``arrays`` is finite."""
    return all(np.isfinite(a).all() for a in arrays)


def split_validation(X, Y, sample_weight, fraction: float, stratify, seed: int):
    """Hold out ``fraction`` of the rows for validation, stratified by ``stratify``.

    Returns ``X_train, Y_train, sample_weight_train, (X_val, Y_val,
    sample_weight_val)``, as scikit-learn's MLP splits for early stopping.
    """
    arrays = [X, Y] + ([sample_weight] if sample_weight is not None else [])
    parts = train_test_split(
        *arrays,
        test_size=fraction,
        random_state=np.random.RandomState(seed),
        stratify=stratify,
    )
    X_tr, X_val, Y_tr, Y_val = parts[:4]
    sw_tr, sw_val = (parts[4], parts[5]) if sample_weight is not None else (None, None)
    if X_val.shape[0] < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' or the "
            "size of your dataset."
        )
    return X_tr, Y_tr, sw_tr, (X_val, Y_val, sw_val)
