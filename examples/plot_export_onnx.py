"""
Deploying a model: export to ONNX and serve with onnxruntime
============================================================

``skmlp run`` chooses a model by cross-validation and saves it as ``best_model.skmlp``.
:func:`skmlp.export` (``skmlp export`` on the command line) writes that whole pipeline,
pixel scaling included, as one ONNX graph that `onnxruntime
<https://onnxruntime.ai>`_ serves without skmlp, Keras or scikit-learn, and a model card
from the run's records. This example runs the README's main job on the bundled digits,
cut to two architectures and 5 epochs so that it takes seconds (``pip install
"skmlp[export]"`` for the ONNX packages).
"""

# %%
# The main job: compare architectures by 3-fold cross-validation, refit the best.
import tempfile
from pathlib import Path

import numpy as np

import skmlp
from skmlp.datasets import load_digits
from skmlp.experiment import ExperimentConfig, run_experiment

folder = Path(tempfile.mkdtemp())
config = ExperimentConfig(dataset="digits", architectures=["mlp2", "mlp2-bn-do"], epochs=5)
result = run_experiment(config, out=folder / "run", verbose=False, plots=False)
best = folder / "run" / "best_model.skmlp"
print("best by CV accuracy:", result.best_architecture)

# %%
# Export it: one graph, input ``X`` (raw pixels as float32, one row per image), outputs
# ``label`` and ``probabilities``. The model card goes beside it.
onnx_path = skmlp.export(best, folder / "digits.onnx", card=folder / "digits.md")
print(f"{onnx_path.name}: {onnx_path.stat().st_size / 1e3:.0f} kB")
card = (folder / "digits.md").read_text()
print(card[card.index("## Search") :])

# %%
# Serve one prediction with onnxruntime alone, and check it against skmlp's.
import onnxruntime as ort

session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
image = load_digits().X_test[:1].astype(np.float32)  # raw pixels, 0..16
label, probabilities = session.run(None, {"X": image})
print("onnxruntime:", label[0], probabilities[0].round(3))
model = skmlp.load(best)
print("skmlp:      ", model.predict(image)[0], model.predict_proba(image)[0].round(3))
print("largest difference:", np.abs(probabilities - model.predict_proba(image)).max())
