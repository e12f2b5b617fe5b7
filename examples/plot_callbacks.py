"""
Keras callbacks in a pipeline, and a fit that survives being killed
===================================================================

:class:`skmlp.MLPClassifier` takes Keras callbacks (``callbacks=``), called at the end
of every epoch with the epoch's loss, accuracy and validation values, on every Keras
backend. Here a pipeline logs its epochs to a CSV file and stops early with Keras'
own ``EarlyStopping``; then a fit interrupted half-way resumes from Keras'
``BackupAndRestore`` and ends where an uninterrupted fit ends. It uses scikit-learn's
bundled 8x8 digits and a few epochs: seconds on a laptop CPU.
"""

# %%
# Callbacks in a pipeline
# -----------------------
# ``monitor_validation=True`` holds out 10% of the training rows and puts
# ``val_loss`` and ``val_accuracy`` in every epoch's ``logs``.
# ``EarlyStopping`` sets ``stop_training``, and ``n_iter_`` and ``loss_curve_``
# end at that epoch.
import tempfile
import warnings
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skmlp import MLPClassifier

warnings.simplefilter("ignore", ConvergenceWarning)  # the short fits below
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
folder = Path(tempfile.mkdtemp())

stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2)
log = keras.callbacks.CSVLogger(str(folder / "epochs.csv"))
model = make_pipeline(
    MinMaxScaler(),
    MLPClassifier((64,), max_iter=60, learning_rate_init=0.01, monitor_validation=True,
                  random_state=0, callbacks=[stop, log]),
)  # fmt: skip
model.fit(X_train, y_train)
mlp = model[-1]
print(f"stopped after {mlp.n_iter_} epochs (max_iter=60); test accuracy "
      f"{model.score(X_test, y_test):.3f}")  # fmt: skip

epochs = pd.read_csv(folder / "epochs.csv")
print(epochs.round(4).tail(3).to_string(index=False))

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(epochs["epoch"] + 1, epochs["loss"], label="training loss")
ax.plot(epochs["epoch"] + 1, epochs["val_loss"], label="validation loss")
ax.set_xlabel("epoch")
ax.legend()
fig.tight_layout()

# %%
# A fit that resumes where it was stopped
# ---------------------------------------
# ``BackupAndRestore`` saves the network and its optimizer after each epoch;
# skmlp saves beside them what the estimator keeps (``n_iter_``, the curves, the
# stopping rule's counters). Here a callback interrupts the first fit as its
# fifth epoch begins, as a killed process would be; the second fit, with the same
# backup folder, trains the remaining epochs only.


class Interrupt(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 4:
            raise KeyboardInterrupt


def mlp(*callbacks):
    return MLPClassifier((64,), max_iter=8, random_state=0, callbacks=list(callbacks) or None)


scaler = MinMaxScaler().fit(X_train)
X_scaled = scaler.transform(X_train)
backup = keras.callbacks.BackupAndRestore(str(folder / "backup"))
try:
    mlp(backup, Interrupt()).fit(X_scaled, y_train)
except KeyboardInterrupt:
    print("interrupted; backup holds", sorted(p.name for p in (folder / "backup").iterdir()))

show = keras.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: print(epoch, end=" "))
print("resumed epochs:", end=" ")
resumed = mlp(backup, show).fit(X_scaled, y_train)
print()
uninterrupted = mlp().fit(X_scaled, y_train)
print("n_iter_:", resumed.n_iter_, "and", uninterrupted.n_iter_)
pairs = zip(resumed.coefs_, uninterrupted.coefs_, strict=True)
print("largest weight difference:", max(np.abs(a - b).max() for a, b in pairs))

# %%
# The resumed fit ran epochs 4 to 7 only, and its counters and weights are the
# uninterrupted fit's. On the JAX backend it also draws the uninterrupted fit's
# row orders, so this holds in general (``tests/test_callbacks.py`` kills a fit
# with ``os._exit`` and compares); on TensorFlow, row orders after a resume may
# differ from the uninterrupted fit's.
