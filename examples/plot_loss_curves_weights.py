"""
Loss curves and weight distributions
====================================

``history_`` records the training loss and accuracy of every epoch, and with
``monitor_validation=True`` (or ``early_stopping=True``) the loss and accuracy on
a stratified hold-out of the training data. ``coefs_`` holds each layer's
weights, whose distribution the seed notebook drew as violin plots to check that
no layer's weights vanish or explode.

The 8x8 digits and 40 epochs keep this to a few seconds.
"""

# %%
from skmlp import MLPClassifier
from skmlp.datasets import load_digits

data = load_digits()
X_train, X_test = data.X_train / 16.0, data.X_test / 16.0
clf = MLPClassifier(
    hidden_layer_sizes=(256, 64),
    batch_norm=True,
    dropout=0.3,
    batch_size=32,
    max_iter=40,
    early_stopping=True,
    n_iter_no_change=8,
    random_state=0,
)
clf.fit(X_train, data.y_train)
test_accuracy = clf.score(X_test, data.y_test)
print(
    f"stopped after {clf.n_iter_} epochs; best validation accuracy "
    f"{clf.best_validation_score_:.3f}; test accuracy {test_accuracy:.3f}"
)

# %%
# Loss curves
# -----------
# With early stopping the weights of the best validation epoch are kept.
from skmlp.plotting import plot_loss_curves

plot_loss_curves({"(256, 64) + BN + dropout 0.3": clf.history_})

# %%
# Weight distributions
# --------------------
from skmlp.plotting import plot_weight_distributions

plot_weight_distributions(clf)
