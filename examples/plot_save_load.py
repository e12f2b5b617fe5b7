"""
Saving a model and predicting later
===================================

A fitted :class:`skmlp.MLPClassifier`, alone or in a pipeline, saves with
:func:`joblib.dump` and loads with :func:`joblib.load`; the Keras network and its
optimizer state travel inside the file. The loaded model predicts exactly what
the saved one did, and can keep training.

.. warning::
   Loading a joblib or pickle file runs code chosen by whoever wrote it. Load
   only files you trust.
"""

# %%
import tempfile
from pathlib import Path

import joblib
import numpy as np
from sklearn.pipeline import Pipeline

from skmlp import MLPClassifier, PixelScaler
from skmlp.datasets import load_digits

data = load_digits()
model = Pipeline(
    [
        ("scale", PixelScaler(pixel_max=16)),
        ("mlp", MLPClassifier((64,), batch_size=32, max_iter=20, random_state=0)),
    ]
)
model.fit(data.X_train, data.y_train)

path = Path(tempfile.mkdtemp()) / "digits_model.joblib"
joblib.dump(model, path)
print(f"saved {path.stat().st_size / 1e3:.0f} kB to {path.name}")

# %%
# Later, in another process: load and predict raw pixels.
loaded = joblib.load(path)
same = np.array_equal(loaded.predict_proba(data.X_test), model.predict_proba(data.X_test))
print("identical probabilities:", same)
print(f"test accuracy: {loaded.score(data.X_test, data.y_test):.3f}")
print("first predictions:", loaded.predict(data.X_test[:10]))

# %%
# The loaded classifier keeps its history and can train on.
mlp = loaded.named_steps["mlp"]
epochs_before = mlp.n_iter_
mlp.partial_fit(loaded[:-1].transform(data.X_train), data.y_train)
print(f"epochs: {epochs_before} -> {mlp.n_iter_}")
