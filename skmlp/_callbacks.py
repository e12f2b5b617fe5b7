"""Keras callbacks on the estimators: the ``callbacks`` parameter.

The estimators take Keras callbacks (``callbacks=...``) and call them at epoch
boundaries on every training path. This module checks the parameter, puts the
user's callbacks behind the estimator's own epoch-end bookkeeping
(:class:`~skmlp._stopping.ConvergenceMonitor`, which adds the validation score to
the logs), refuses batch-level hooks where a path cannot call them, and pairs
Keras' ``BackupAndRestore`` with :class:`EstimatorBackup`, which backs up and
restores what the estimator itself keeps between epochs.
"""

from __future__ import annotations

import io
import json
import os
import zipfile

import keras
import numpy as np
from sklearn.utils._param_validation import HasMethods

from ._io import atomic_write_bytes

__all__ = [
    "CALLBACKS_CONSTRAINT",
    "CALLBACKS_PARAMS_DOC",
    "EstimatorBackup",
    "check_callbacks",
    "detach",
    "refuse_batch_hooks",
    "uses_batch_hooks",
]

#: The ``callbacks`` parameter, documented once for both estimators.
CALLBACKS_PARAMS_DOC = """
    callbacks : keras.callbacks.Callback, list of them, or None, default=None
        Keras callbacks called during :meth:`fit` and :meth:`partial_fit`
        (skmlp addition), at epoch boundaries on every training path:
        ``on_train_begin``, ``on_epoch_begin``, ``on_epoch_end`` and
        ``on_train_end``. ``logs`` at an epoch's end hold ``"loss"``, the
        training metric (``"accuracy"`` for the classifier) and, with a
        validation split, ``"val_loss"`` and the estimator's validation score
        (``"val_accuracy"`` or ``"val_r2"``). Setting ``self.model.stop_training
        = True`` ends the fit (``n_iter_`` and ``loss_curve_`` end there too).
        ``self.model`` is the network being trained, holding the current
        weights (on TensorFlow a shared engine copy of ``model_``); after the
        fit a callback holds no model. Batch-level hooks run where Keras'
        ``fit`` trains (TensorFlow, where Keras calls them once per compiled
        call of up to 32 minibatches, and large sparse inputs); the fused JAX
        epoch and ``"lbfgs"`` (where one iteration is an epoch and ``logs``
        hold ``"loss"`` only) refuse a callback that uses them. ``keras.callbacks.BackupAndRestore``
        resumes an interrupted fit, the estimator's own counters included.
        Callbacks are copied by :func:`~sklearn.base.clone` and pickled with the
        estimator, but not stored in ``.skmlp`` files (:func:`skmlp.save` stores
        ``None``)."""

#: Batch-level hooks: called by Keras' ``fit`` once per minibatch.
BATCH_HOOKS = (
    "on_batch_begin", "on_batch_end", "on_train_batch_begin", "on_train_batch_end",
    "on_test_batch_begin", "on_test_batch_end",
)  # fmt: skip


class _Callbacks(HasMethods):
    """scikit-learn's parameter constraint: a Keras callback or a list or tuple of them.

    (A ``HasMethods`` only because scikit-learn accepts no other class of constraint.)
    """

    def __init__(self):
        super().__init__(["on_epoch_end"])

    def is_satisfied_by(self, val):
        items = val if isinstance(val, list | tuple) else [val]
        return all(isinstance(item, keras.callbacks.Callback) for item in items)

    def __str__(self):
        return "a keras.callbacks.Callback instance or a list of them"


CALLBACKS_CONSTRAINT = _Callbacks()


def check_callbacks(callbacks) -> list:
    """The ``callbacks`` parameter as a list (``None``: empty)."""
    if callbacks is None:
        return []
    items = list(callbacks) if isinstance(callbacks, list | tuple) else [callbacks]
    for item in items:
        if not isinstance(item, keras.callbacks.Callback):
            raise TypeError(f"callbacks must be keras.callbacks.Callback instances; got {item!r}")
    return items


def uses_batch_hooks(callback) -> str | None:
    """The first batch-level hook that ``callback`` uses, or ``None``.

    A hook is used when it is not Keras' no-op; Keras' own checkpointing
    callbacks use theirs only when they save more often than once an epoch.
    """
    saving = (keras.callbacks.ModelCheckpoint, keras.callbacks.BackupAndRestore)
    if isinstance(callback, saving) and callback.save_freq == "epoch":
        return None
    if isinstance(callback, keras.callbacks.ProgbarLogger):
        return None  # display only
    for name in BATCH_HOOKS:
        if not getattr(getattr(callback, name), "_is_default", False):
            return name
    return None


def refuse_batch_hooks(callbacks, path: str) -> None:
    """Raise ``ValueError`` when a callback uses a batch-level hook that ``path`` cannot call."""
    for callback in callbacks:
        hook = uses_batch_hooks(callback)
        if hook is not None:
            raise ValueError(
                f"{type(callback).__name__} uses {hook}, a batch-level hook, which {path} "
                "cannot call (it calls callbacks at epoch boundaries only); use an "
                "epoch-level hook instead."
            )


def detach(callbacks) -> None:
    """Drop the callbacks' reference to the network trained (on TensorFlow a shared engine)."""
    for callback in callbacks:
        callback._model = None


def fit_callbacks(est, monitor, *, incremental: bool) -> list:
    """The callbacks of a fit: ``monitor`` (``None`` for L-BFGS), then the user's.

    Each Keras ``BackupAndRestore`` gets an :class:`EstimatorBackup` just before it.
    """
    callbacks = [monitor]
    for callback in check_callbacks(est.callbacks):
        if isinstance(callback, keras.callbacks.BackupAndRestore):
            if monitor is None or incremental:
                raise ValueError(
                    "BackupAndRestore resumes an interrupted fit of solver='adam' or 'sgd'; "
                    f"{'partial_fit' if incremental else 'solver=lbfgs'} cannot resume."
                )
            callbacks.append(EstimatorBackup(est, monitor, callback.backup_dir, partner=callback))
        callbacks.append(callback)
    return callbacks


# ------------------------------------------------------------- backups
#: The estimator's bookkeeping between epochs, and what each entry must be.
_BOOKKEEPING = {
    "n_iter_": int, "t_": int, "loss_": (float, type(None)), "history_": dict,
    "best_loss_": (float, type(None)), "best_validation_score_": (float, type(None)),
    "_no_improvement_count": int,
}  # fmt: skip
#: Largest backup file read back (the history of 10^5 epochs fits easily).
MAX_BACKUP_BYTES = 256 * 2**20
#: Backup files: ``skmlp_estimator_<slot>.json`` and ``.npz``, slot = epoch % 2.
STATE_STEM = "skmlp_estimator_"


class BackupError(ValueError):
    """A backup of an estimator's training state that cannot be read back."""


def _read_checked(path: str) -> bytes:
    """The bytes of ``path``: a regular file (not a link) of at most ``MAX_BACKUP_BYTES``."""
    if os.path.islink(path) or not os.path.isfile(path):
        raise BackupError(f"{path}: not a regular file (links are not followed)")
    size = os.path.getsize(path)
    if size > MAX_BACKUP_BYTES:
        raise BackupError(f"{path}: {size} bytes, more than the limit of {MAX_BACKUP_BYTES}")
    with open(path, "rb") as f:
        return f.read(MAX_BACKUP_BYTES + 1)


def _check_bookkeeping(state, where: str) -> dict:
    if not isinstance(state, dict) or set(state) != {"epoch", "schedule", *_BOOKKEEPING}:
        raise BackupError(f"{where}: not a backup this skmlp writes (entries differ)")
    for key, kind in {"epoch": int, **_BOOKKEEPING}.items():
        value = state[key]
        if isinstance(value, int) and kind == (float, type(None)):
            value = state[key] = float(value)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise BackupError(f"{where}: {key!r} is not of the type it must be")
    if state["epoch"] < 0 or state["n_iter_"] < 0 or state["t_"] < 0:
        raise BackupError(f"{where}: a negative epoch or count")
    for key, curve in state["history_"].items():
        if not isinstance(curve, list) or not all(isinstance(v, int | float) for v in curve):
            raise BackupError(f"{where}: history {key!r} is not a list of numbers")
    if not isinstance(state["schedule"], dict):
        raise BackupError(f"{where}: the learning-rate schedule is not an object")
    return state


class EstimatorBackup(keras.callbacks.Callback):
    """Backs up, beside a Keras ``BackupAndRestore``, what the estimator keeps between epochs.

    Keras' ``BackupAndRestore`` saves the network's weights and the optimizer's
    state after every epoch and restores them when a fit starts again, and the
    fit then starts at the epoch after the last saved one. This callback, run
    just before it, saves into the same folder what the estimator itself keeps:
    its counters and curves (``n_iter_``, ``t_``, ``loss_curve_``, the stopping
    rule's counters, the learning-rate schedule), the network's other state
    (dropout's seed generators) and, with early stopping, the best epoch's
    weights; and restores them as the resumed fit's first epoch begins. It
    keeps the last two epochs' backups, so that whichever epoch Keras' backup
    holds (a fit killed between the two saves) is found.

    Parameters
    ----------
    est : BaseMultilayerPerceptron
        The estimator being fitted.
    monitor : ConvergenceMonitor
        The fit's stopping rule (its best weights are backed up).
    backup_dir : str
        The ``BackupAndRestore``'s folder.
    partner : keras.callbacks.BackupAndRestore or None, default=None
        That ``BackupAndRestore``; when it has a ``saves_epoch(epoch)`` method
        (it backs up only some epochs), this backs up the same epochs.
    """

    def __init__(self, est, monitor, backup_dir, partner=None):
        super().__init__()
        self.est, self.monitor = est, monitor
        self.backup_dir = str(backup_dir)
        self._first = True
        # a partner that skips epochs says which (``saves_epoch``): both save the same ones
        self._saves = getattr(partner, "saves_epoch", None)

    def _paths(self, epoch: int) -> tuple[str, str]:
        """The two files of the backup after ``epoch`` epochs (two slots: the last two epochs)."""
        stem = os.path.join(self.backup_dir, f"{STATE_STEM}{epoch % 2}")
        return stem + ".json", stem + ".npz"

    def on_epoch_begin(self, epoch, logs=None):
        # after every callback's on_train_begin: Keras' restore has set the first epoch
        first, self._first = self._first, False
        if not first or epoch == 0:
            return
        state_path, arrays_path = self._paths(epoch)
        if not os.path.exists(state_path):
            raise BackupError(
                f"{state_path}: missing, but Keras' backup beside it is at epoch {epoch}"
            )
        try:
            state = json.loads(_read_checked(state_path).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise BackupError(f"{state_path}: not JSON ({error})") from None
        state = _check_bookkeeping(state, state_path)
        if state["epoch"] != epoch:
            raise BackupError(
                f"{state_path}: at epoch {state['epoch']}, but Keras' backup beside it "
                f"is at epoch {epoch}"
            )
        self._restore_arrays(arrays_path)
        schedule = state.pop("schedule")
        del state["epoch"]
        for key, value in state.items():
            setattr(self.est, key, value)
        if set(schedule) != set(vars(self.est._optimizer)):
            raise BackupError(f"{state_path}: the learning-rate schedule is malformed")
        vars(self.est._optimizer).update(schedule)
        self.model.optimizer.learning_rate = self.est._optimizer.learning_rate

    def _restore_arrays(self, path):
        raw = io.BytesIO(_read_checked(path))
        try:
            with zipfile.ZipFile(raw) as archive:  # the budget, before anything is unpacked
                if sum(info.file_size for info in archive.infolist()) > MAX_BACKUP_BYTES:
                    raise BackupError(f"{path}: unpacks to more than the limit")
            with np.load(raw, allow_pickle=False) as data:
                arrays = dict(data)
        except (OSError, ValueError, zipfile.BadZipFile) as error:
            if isinstance(error, BackupError):
                raise
            raise BackupError(f"{path}: unreadable ({error})") from None
        others = self.model.non_trainable_variables
        n_best = len(arrays) - len(others)
        expected = {f"state_{i}" for i in range(len(others))}
        expected |= {f"best_{i}" for i in range(n_best)}
        if set(arrays) != expected or n_best not in (0, len(self.model.weights)):
            raise BackupError(f"{path}: does not match this network's state")
        best = [arrays[f"best_{i}"] for i in range(n_best)]
        for i, variable in enumerate(others):
            value = arrays[f"state_{i}"]
            if value.shape != tuple(variable.shape):
                raise BackupError(f"{path}: array {i} has the wrong shape")
            variable.assign(value)
        if best:
            self.monitor._best_weights = best

    def on_epoch_end(self, epoch, logs=None):
        if self._saves is not None and not self._saves(epoch):
            return
        est = self.est
        state = {key: getattr(est, key) for key in _BOOKKEEPING}
        state["history_"] = {k: [float(v) for v in c] for k, c in est.history_.items()}
        state["epoch"] = epoch + 1
        state["schedule"] = dict(vars(est._optimizer))
        arrays = {f"state_{i}": np.asarray(v.value) for i, v in
                  enumerate(self.model.non_trainable_variables)}  # fmt: skip
        for i, value in enumerate(self.monitor._best_weights or []):
            arrays[f"best_{i}"] = value
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        state_path, arrays_path = self._paths(epoch + 1)
        # arrays first: a state file names an epoch whose arrays are complete
        atomic_write_bytes(arrays_path, buffer.getvalue())
        atomic_write_bytes(state_path, json.dumps(state, default=float).encode("utf-8"))
