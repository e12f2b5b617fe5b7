"""
A tabular search from a config file
===================================

A table as users have it: numbers with blanks, text columns, a yes/no column
and a yes/no label with a few blanks. ``skmlp run --config`` takes it as it is:
the text and blanks go through :class:`skmlp.TabularEncoder` (median imputation
with missing indicators and standardisation of the numbers, one-hot of the
categories), fitted inside each cross-validation fold, and saved with the model,
so that ``skmlp predict`` takes new rows of the same columns, in any order.

The table here is generated (300 customers) so that the page runs offline in
seconds; the :doc:`/results` page has runs on two public tables
(``benchmarks/bench_tabular.py``). The command line takes the same file::

    skmlp run --config churn.toml --out results/churn
    skmlp predict results/churn/best_model.skmlp new_customers.csv
"""

# %%
# The table
# ---------
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.RandomState(0)
n = 300
table = pd.DataFrame(
    {
        "age": rng.randint(18, 80, n).astype(float),
        "city": rng.choice(["oslo", "rome", "lima", "kyiv"], n),
        "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2]),
        "monthly_spend": rng.lognormal(3, 0.5, n).round(2),
        "has_app": rng.rand(n) < 0.4,
    }
)
table.loc[rng.rand(n) < 0.1, "monthly_spend"] = np.nan  # blanks
table.loc[rng.rand(n) < 0.05, "city"] = None
risk = (table["plan"] == "basic") * 1.5 - table["has_app"] + (table["age"] < 30) * 1.0
table["churned"] = np.where(risk + rng.normal(0, 0.5, n) > 0.7, "yes", "no")
table.loc[[7, 42], "churned"] = None  # two rows without a target
folder = Path(tempfile.mkdtemp(prefix="skmlp-gallery-"))
table.to_csv(folder / "churn.csv", index=False)
print(table.head(8).to_string())

# %%
# The search file
# ---------------
# ``drop_missing_target`` drops (and counts) the rows without a label; the
# default refuses them, naming their rows. ``scoring`` ranks the candidates by
# balanced accuracy, shown beside accuracy in the tables.
(folder / "churn.toml").write_text(
    """
name = "churn"

[data]
path = "churn.csv"
target = "churned"
drop_missing_target = true

[estimator]
max_iter = 20
batch_size = 32
learning_rate_init = 0.005
alpha = 1e-3

[search]
kind = "grid"
cv = 3
scoring = "balanced_accuracy"
report_top = 2
random_state = 0

[search.space]
hidden_layer_sizes = [[16], [64]]
"""
)

# %%
# Run it
# ------
# The log says what was dropped, the task it inferred, the columns of each kind
# with their cardinalities, and the class balance, all before the first fit.
from skmlp.experiment import format_results, load_config, run_experiment

result = run_experiment(load_config(folder / "churn.toml"), out=folder / "out", plots=False)
print(format_results(result.results))

# %%
# Every candidate, ranked by balanced accuracy
# --------------------------------------------
print(
    result.ranking[
        ["rank_cv", "candidate", "params", "cv_balanced_accuracy_mean", "cv_accuracy_mean"]
    ].to_string(index=False)
)

# %%
# Predict on new rows
# -------------------
# The saved pipeline starts with the fitted encoder: columns in another order
# are fine, and a city it never saw is encoded as zeros.
from skmlp import load

model = load(folder / "out" / "best_model.skmlp")
new = pd.DataFrame(
    {
        "has_app": [False, True],
        "plan": ["basic", "pro"],
        "city": ["paris", "oslo"],
        "monthly_spend": [np.nan, 35.0],
        "age": [24.0, 51.0],
    }
)
print(pd.DataFrame(model.predict_proba(new), columns=model.classes_).round(3))
print(model[0].get_feature_names_out())

# %%
# Class probabilities by plan
# ---------------------------
# The network learned that ``basic`` customers leave more often.
import matplotlib.pyplot as plt

rows = table.drop(columns="churned").dropna(subset=["city"]).iloc[:120]
proba = model.predict_proba(rows)[:, list(model.classes_).index("yes")]
fig, ax = plt.subplots(figsize=(5, 3.2), layout="constrained")
for plan in ["basic", "plus", "pro"]:
    ax.hist(proba[rows["plan"] == plan], bins=12, range=(0, 1), alpha=0.6, label=plan)
ax.set_xlabel("predicted probability of churn")
ax.set_ylabel("customers")
ax.legend(title="plan")
