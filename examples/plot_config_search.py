"""
A search from a config file
===========================

``skmlp run --config search.toml`` runs the search a TOML file describes: the
data, the preprocessing, the estimator's fixed settings, the search space
(lists for a grid, distributions for a random search) and the search itself,
here successive halving over epochs. Candidates are ranked by cross-validation
(or, as here, one validation split of the training set); the best are refitted
on the whole training set and scored once on the test set.

This page runs a small search on scikit-learn's digits end to end, in Python;
the command line takes the same file::

    skmlp run --config search.toml --out results/digits-search

The full MNIST and Fashion-MNIST searches are recorded on the :doc:`/results`
page, with their config files in ``benchmarks/configs/``.
"""

# %%
# The search file
# ---------------
# Nine candidates drawn from the space; successive halving trains all nine for
# 2 epochs, the best third for 6, and the best one for all 18. The training
# controls (input dropout, max-norm, decoupled weight decay, a cosine learning
# rate over ``max_iter``) are plain settings like any other.
import tempfile
from pathlib import Path

from skmlp.experiment import format_results, load_config, run_experiment

folder = Path(tempfile.mkdtemp(prefix="skmlp-gallery-"))
(folder / "search.toml").write_text(
    """
name = "digits-search"

[data]
dataset = "digits"

[estimator]
max_iter = 18
batch_size = 64
learning_rate = "cosine"
max_norm = 3.0

[search]
kind = "halving-random"
n_iter = 9
factor = 3
resource = "epochs"
validation_size = 0.2
report_top = 3
random_state = 0

[search.space]
hidden_layer_sizes = [[64], [128, 64], [256, 128]]
dropout = { distribution = "uniform", low = 0.0, high = 0.4 }
input_dropout = [0.0, 0.1]
learning_rate_init = { distribution = "loguniform", low = 1e-3, high = 1e-2 }
weight_decay = [0.0, 1e-3]
"""
)
config = load_config(folder / "search.toml")
print(config.search, config.n_iter, "candidates,", config.epochs, "epochs at most")

# %%
# Run it
# ------
result = run_experiment(config, out=folder / "out", verbose=False)
print(format_results(result.results))
print("chosen by the validation split:", result.best_architecture)

# %%
# Every candidate, ranked
# -----------------------
# ``round`` is the last halving round a candidate reached and ``resource`` its
# epochs there; candidates that went further rank first.
print(result.ranking[["rank_cv", "candidate", "params", "round", "resource",
                      "cv_accuracy_mean"]].to_string(index=False))  # fmt: skip

# %%
# Validation accuracy of the best candidates
# ------------------------------------------
# Test accuracy is drawn for the refitted ones, for reference only.
from skmlp.plotting import plot_cv_scores

plot_cv_scores(result.ranking_with_test(), validation_split=True)

# %%
# Loss curves of the refitted candidates
# --------------------------------------
from skmlp.plotting import plot_loss_curves

plot_loss_curves(result.histories)
