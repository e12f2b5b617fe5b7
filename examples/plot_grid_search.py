"""
Grid search over widths, batch norm and dropout
===============================================

``hidden_layer_sizes``, ``batch_norm`` and ``dropout`` are plain parameters of
:class:`skmlp.MLPClassifier`, so a :class:`~sklearn.model_selection.GridSearchCV`
over a :class:`~sklearn.pipeline.Pipeline` searches them like any scikit-learn
estimator. Because skmlp is a classifier to scikit-learn, ``cv=3`` means
stratified folds.

To build in seconds this uses the 8x8 digits, 8 epochs and a 2 x 2 x 2 grid.
"""

# %%
import pandas as pd
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from skmlp import MLPClassifier, PixelScaler
from skmlp.datasets import load_digits

data = load_digits()
pipe = Pipeline(
    [
        ("scale", PixelScaler(pixel_max=data.pixel_max)),
        ("mlp", MLPClassifier(max_iter=8, batch_size=32, random_state=0)),
    ]
)
grid = {
    "mlp__hidden_layer_sizes": [(32,), (64, 32)],
    "mlp__batch_norm": [False, True],
    "mlp__dropout": [0.0, 0.2],
}
search = GridSearchCV(pipe, grid, cv=3, n_jobs=1)
search.fit(data.X_train, data.y_train)

# %%
# The cross-validated scores, best first. Selection uses these, from the training
# set only.
table = pd.DataFrame(search.cv_results_)[
    [
        "param_mlp__hidden_layer_sizes",
        "param_mlp__batch_norm",
        "param_mlp__dropout",
        "mean_test_score",
        "std_test_score",
        "rank_test_score",
    ]
].sort_values("rank_test_score")
print(table.to_string(index=False))

# %%
# The test set is used once, on the chosen model.
print("best:", search.best_params_)
print(f"test accuracy: {search.score(data.X_test, data.y_test):.3f}")

# %%
# Cross-validated accuracy of each combination
# --------------------------------------------
import matplotlib.pyplot as plt

labels = [
    f"{p['mlp__hidden_layer_sizes']}\nBN={p['mlp__batch_norm']} DO={p['mlp__dropout']}"
    for p in search.cv_results_["params"]
]
fig, ax = plt.subplots(figsize=(9, 3.5))
ax.errorbar(
    range(len(labels)),
    search.cv_results_["mean_test_score"],
    yerr=search.cv_results_["std_test_score"],
    fmt="o",
    capsize=4,
)
ax.set_xticks(range(len(labels)), labels, fontsize=7)
ax.set_ylabel("CV accuracy")
ax.set_title("3-fold stratified CV accuracy per grid point")
fig.tight_layout()
plt.show()
