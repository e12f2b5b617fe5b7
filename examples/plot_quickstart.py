"""
Quick start on the bundled digits
=================================

Train :class:`skmlp.MLPClassifier` on scikit-learn's 8x8 digits, which ship with
scikit-learn (no download), and look at its loss curves. The whole script runs in
a few seconds on a laptop CPU.
"""

# %%
# Load and split the data
# -----------------------
# Pixels run from 0 to 16; dividing by 16 scales them to [0, 1]. The test set is
# held out once, stratified by class.
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skmlp import MLPClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X / 16.0, y, test_size=0.3, stratify=y, random_state=0
)

# %%
# Fit a network
# -------------
# The parameters are scikit-learn's MLPClassifier's, plus ``batch_norm`` and
# ``dropout``. ``monitor_validation=True`` holds out 10% of the training data to
# record a validation curve (never the test set).
clf = MLPClassifier(
    hidden_layer_sizes=(64,),
    batch_size=32,
    max_iter=30,
    dropout=0.1,
    monitor_validation=True,
    random_state=0,
)
clf.fit(X_train, y_train)
print(f"epochs run: {clf.n_iter_}, parameters: {clf.n_params_}")
print(f"test accuracy: {clf.score(X_test, y_test):.3f}")

# %%
# Loss curves
# -----------
# ``history_`` holds per-epoch training and validation loss and accuracy.
import matplotlib.pyplot as plt

fig, ax = plt.subplots()
ax.plot(clf.history_["loss"], label="training loss")
ax.plot(clf.history_["val_loss"], label="validation loss")
ax.set_xlabel("epoch")
ax.set_ylabel("cross-entropy")
ax.set_title("MLPClassifier (64,) on digits")
ax.legend()
plt.show()
