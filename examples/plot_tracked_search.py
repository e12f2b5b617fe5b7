"""
Tracking a search with MLflow
=============================

``skmlp run --track mlflow`` logs a search as one MLflow run with a child run per candidate:
its parameters, its per-fold and mean CV scores, the per-epoch curves of its refit and its
``.skmlp`` model. This example runs a tiny search on the bundled digits (two architectures,
300 training rows, 3 epochs) with tracking to the output folder's own store, offline, and
opens what was logged with MLflow's Python API (``pip install "skmlp[tracking]"``).
"""

# %%
# The search, tracked: ``track="mlflow"`` is ``--track mlflow`` on the command line. With no
# ``tracking_uri`` (``--tracking-uri``) the store is ``sqlite:///OUT/mlflow.db``.
import tempfile
from pathlib import Path

from skmlp.experiment import ExperimentConfig, run_experiment

out = Path(tempfile.mkdtemp()) / "run"
config = ExperimentConfig(
    dataset="digits", architectures=["mlp2", "mlp2-bn-do"], epochs=3, n_train=300,
    n_test=100, track="mlflow",
)  # fmt: skip
result = run_experiment(config, out=out, verbose=False, plots=False)
print("best by CV accuracy:", result.best_architecture)

# %%
# Open the store with MLflow's client: the parent run, and its children, one per candidate.
from mlflow import MlflowClient

client = MlflowClient(tracking_uri=f"sqlite:///{out / 'mlflow.db'}")
experiment = client.get_experiment_by_name("skmlp-digits")
runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time"])
parent = next(r for r in runs if "mlflow.parentRunId" not in r.data.tags)
print("parent run:", parent.info.run_name, parent.info.status)
print("  dataset SHA-256:", parent.data.params["dataset_sha256"][:16], "...")
print("  best:", parent.data.tags["skmlp.best"])
for child in runs:
    if child.data.tags.get("mlflow.parentRunId") == parent.info.run_id:
        m = child.data.metrics
        print(f"  child {child.info.run_name}: hidden_layer_sizes="
              f"{child.data.params['hidden_layer_sizes']}, CV accuracy "
              f"{m['cv_accuracy_mean']:.3f} (folds {m['fold0_accuracy']:.3f}, "
              f"{m['fold1_accuracy']:.3f}, {m['fold2_accuracy']:.3f}), "
              f"test accuracy {m['test_accuracy']:.3f}")  # fmt: skip

# %%
# The best candidate's refit, epoch by epoch (step metrics), and its model artifact.
best = next(r for r in runs if r.info.run_name == result.best_architecture)
for point in client.get_metric_history(best.info.run_id, "epoch_loss"):
    print(f"  epoch {point.step}: loss {point.value:.4f}")
print([a.path for a in client.list_artifacts(best.info.run_id, "model")])
