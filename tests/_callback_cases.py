"""Fits with Keras callbacks, run by tests/test_callbacks.py in subprocesses.

``python _callback_cases.py kill DIR K``
    fits with Keras' ``BackupAndRestore(DIR)`` and dies (``os._exit(3)``) as
    epoch ``K`` begins.
``python _callback_cases.py resume DIR``
    fits again with the same backup (so resumes), then without any callback,
    then the :func:`epoch_logs` case; prints their records as JSON.
``python _callback_cases.py logs``
    prints the :func:`epoch_logs` case as JSON.

Not a test module itself.
"""

import json
import os
import sys
import warnings


def _data(n):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X[:n] / 16, y[:n]


def _recorder():
    import keras

    class Record(keras.callbacks.Callback):
        """Keeps every epoch's logs and the first kernel's sum as ``self.model`` holds it."""

        def __init__(self):
            super().__init__()
            self.logs = []

        def on_epoch_end(self, epoch, logs=None):
            kernel = self.model.get_weights()[0]
            self.logs.append({**logs, "kernel_sum": float(kernel.sum()), "epoch": epoch})

    return Record()


def resumable_fit(callbacks):
    """The fit that is killed and resumed: Adam, dropout, early stopping, shuffled minibatches."""
    from skmlp import MLPClassifier

    X, y = _data(400)
    clf = MLPClassifier((32,), dropout=0.2, early_stopping=True, n_iter_no_change=3, tol=0.01,
                        learning_rate_init=0.01, max_iter=10, batch_size=64, random_state=0,
                        callbacks=callbacks)  # fmt: skip
    clf.fit(X, y)
    return {
        "n_iter": clf.n_iter_, "t": clf.t_, "loss_curve": clf.loss_curve_,
        "validation_scores": clf.validation_scores_,
        "best_validation_score": clf.best_validation_score_,
        "no_improvement": clf._no_improvement_count,
        "coefs": [c.tolist() for c in clf.coefs_],
    }  # fmt: skip


def epoch_logs():
    """A callback's logs over three epochs from fixed weights (SGD, no shuffling).

    The weights are set from NumPy, not drawn by the backend, so that every
    backend trains the same network the same way; records whether the fused JAX
    epoch ran.
    """
    import numpy as np

    import skmlp._training.epochs as epochs
    from skmlp import MLPClassifier

    calls = []
    fused_fit = epochs.fused_fit
    epochs.fused_fit = lambda *a, **k: calls.append(1) or fused_fit(*a, **k)
    X, y = _data(300)
    clf = MLPClassifier((16,), solver="sgd", momentum=0.0, learning_rate_init=0.1,
                        batch_size=50, shuffle=False, monitor_validation=True, max_iter=1,
                        random_state=0)  # fmt: skip
    clf.fit(X, y)
    rng = np.random.RandomState(0)
    clf.model_.set_weights([rng.uniform(-0.3, 0.3, w.shape) for w in clf.model_.get_weights()])
    record = _recorder()
    calls.clear()
    clf.set_params(warm_start=True, max_iter=3, callbacks=record).fit(X, y)
    epochs.fused_fit = fused_fit
    return {"logs": record.logs, "history": clf.history_, "fused_calls": len(calls)}


def main(mode, *args):
    import keras

    warnings.simplefilter("ignore")
    if mode == "kill":
        epoch = int(args[1])

        class Kill(keras.callbacks.Callback):
            def on_epoch_begin(self, e, logs=None):
                if e == epoch:
                    os._exit(3)

        resumable_fit([keras.callbacks.BackupAndRestore(args[0]), Kill()])
        return {"killed": False}
    if mode == "resume":
        resumed = resumable_fit([keras.callbacks.BackupAndRestore(args[0])])
        return {"resumed": resumed, "backup_left": os.path.exists(args[0]),
                "plain": resumable_fit(None), "logs": epoch_logs()}  # fmt: skip
    return {"logs": epoch_logs()}


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:])))
