"""
The seed notebook's six architectures
=====================================

The seed notebook trained six MLPs on MNIST and picked the best on the test set.
:func:`skmlp.experiment.run_experiment` compares the same six by 3-fold
stratified cross-validation on the training set, refits each on all training
data, and scores the test set once per architecture, for the report only.

To build in under a minute, this page runs them on scikit-learn's 8x8 digits with
2 folds and 4 epochs (the seed used MNIST and 20 epochs; the full run uses 3
folds). The full run is one command::

    skmlp run --dataset mnist --data-dir DIR --out results/mnist

and its recorded results are on the :doc:`/results` page.
"""

# %%
import tempfile

from skmlp.architectures import SEED_ARCHITECTURES
from skmlp.experiment import ExperimentConfig, format_results, run_experiment

for arch in SEED_ARCHITECTURES:
    print(
        f"{arch.name:11s} {arch.hidden_layer_sizes!s:28s} BN+dropout "
        f"{arch.dropout if arch.batch_norm else '-'}"
    )

# %%
out = tempfile.mkdtemp(prefix="skmlp-gallery-")
config = ExperimentConfig(dataset="digits", epochs=4, cv=2)
result = run_experiment(config, out=out, verbose=False)
print(format_results(result.results))
print("chosen by CV:", result.best_architecture)

# %%
# Cross-validated accuracy with error bars
# ----------------------------------------
# Test accuracy is drawn beside it for reference; it played no part in the choice.
from skmlp.plotting import plot_cv_scores

plot_cv_scores(result.results)

# %%
# Training and validation loss
# ----------------------------
# The validation curve comes from 10% of the training data held out in each
# final refit, never from the test set.
from skmlp.plotting import plot_loss_curves

plot_loss_curves(result.histories)
