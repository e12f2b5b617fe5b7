"""MLflow's side of :mod:`skmlp.experiment.tracking`: the parent run and its children.

Only :class:`mlflow.MlflowClient` is used, given its tracking URI explicitly: no
global state of the ``mlflow`` module is set, and ``MLFLOW_TRACKING_URI`` is
never read.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

#: MLflow's limit on the characters of a param value.
PARAM_CHARS = 6000
#: A run's settings logged as the parent's params.
_SETTINGS = ("dataset", "search", "cv", "validation_size", "epochs", "batch_size",
             "learning_rate_init", "n_train", "n_test", "random_state", "report_top",
             "scoring", "n_iter")  # fmt: skip
#: The tables and records of the folder logged as the parent's artifacts.
_ARTIFACTS = ("best_model.skmlp", "results.md", "results.csv", "ranking.csv",
              "cv_results.csv", "run.json")  # fmt: skip


def client(tracking):
    """An MLflow client of ``tracking.uri`` (telemetry off, the environment's URI ignored)."""
    if tracking._client is None:
        os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"  # contacts only what was named
        env = os.environ.get("MLFLOW_TRACKING_URI")
        if env and env != tracking.uri:
            tracking.log(f"MLflow: MLFLOW_TRACKING_URI={env[:80]} is ignored; logging to "
                         f"{tracking.uri} (name a store with --tracking-uri)")  # fmt: skip
        logging.getLogger("mlflow").setLevel(logging.WARNING)  # database set-up lines
        logging.getLogger("alembic").setLevel(logging.WARNING)
        from mlflow import MlflowClient

        from ._mlflow_template import keep_as_template, start_from_template

        db = tracking.out / "mlflow.db"
        new = tracking.local and not os.path.lexists(db)
        copied = new and start_from_template(db, tracking.out / "mlflow-artifacts")
        tracking._client = MlflowClient(tracking_uri=tracking.uri, registry_uri=tracking.uri)
        if new and not copied:  # MLflow creates the store: keep it, empty, for the next ones
            tracking._client.search_experiments(max_results=1)
            keep_as_template(db)
    return tracking._client


def _experiment(tracking, c, label: str) -> str:
    """The id of the experiment ``skmlp-<label>``, created if needed."""
    name = f"skmlp-{label}"
    found = c.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = None  # a server's or a database's own choice
    if tracking.uri.startswith("sqlite:///"):  # beside the database file, not in the cwd
        location = (Path(tracking.uri[10:]).resolve().parent / "mlflow-artifacts").as_uri()
    return c.create_experiment(name, artifact_location=location)


def start_parent(tracking, record: dict, label: str) -> dict:
    """The MLflow run of this run: the one ``tracking.json`` names, or a new one."""
    from mlflow.exceptions import MlflowException

    c = client(tracking)
    ml = tracking.state.get("mlflow", {})
    if ml.get("run_id") and ml.get("uri") == tracking.uri:
        try:
            run = c.get_run(ml["run_id"])
            if run.info.lifecycle_stage == "active":
                tracking.log(f"MLflow: continuing run {ml['run_id']}")
                return dict(ml)
        except MlflowException:
            pass
        tracking.log(f"MLflow: run {ml['run_id']} is gone from {tracking.uri}; starting anew")
    experiment = _experiment(tracking, c, label)
    dataset = record.get("dataset") or {}
    sha = str(dataset.get("sha256") or "")
    run = c.create_run(experiment, run_name=label, tags={
        "skmlp.config_key": str(record.get("config_key", "")),
        "skmlp.dataset_sha256": sha,
        "skmlp.keras_backend": str(record.get("keras_backend", "")),
    })  # fmt: skip
    config = record.get("config") or {}
    params = {k: str(config.get(k))[:PARAM_CHARS] for k in _SETTINGS if k in config}
    params |= {"dataset_sha256": sha, "n_features": str(dataset.get("n_features"))}
    _batch(c, run.info.run_id, params=params)
    tracking.log(f"MLflow: run {run.info.run_id} in experiment skmlp-{label} at {tracking.uri}")
    return {"uri": tracking.uri, "experiment_id": str(experiment),
            "run_id": run.info.run_id, "logged": False}  # fmt: skip


def _batch(c, run_id, params=None, metrics=None, tags=None) -> None:
    """Log in as few calls as MLflow's limits allow (1000 values a call, 100 params)."""
    import time

    from mlflow.entities import Metric, Param, RunTag

    now = int(time.time() * 1000)
    params = [Param(k, v) for k, v in (params or {}).items()]
    tags = [RunTag(k, v) for k, v in (tags or {}).items()]
    items = [Metric(k, v, now, step) for k, v, step in (metrics or [])]
    while params or tags or items:
        call = {"params": params[:100], "tags": tags[:100]}
        params, tags = params[100:], tags[100:]
        room = 1000 - len(call["params"]) - len(call["tags"])
        call["metrics"], items = items[:room], items[room:]
        c.log_batch(run_id, **call)


def _children(c, ml: dict) -> dict:
    """The child runs already made, by candidate name."""
    runs = c.search_runs(
        [ml["experiment_id"]],
        filter_string=f"tags.mlflow.parentRunId = '{ml['run_id']}'",
        max_results=50_000,  # MLflow's most; a search has at most 10,000 candidates
    )
    return {r.data.tags.get("skmlp.candidate"): r for r in runs}


def log_result(tracking, result, rows: list, best_scores: dict) -> None:
    """The children (one per candidate, ``rows``) and the parent's scores and artifacts.

    ``rows`` are :func:`.tracking.candidates`; ``best_scores``, the best refit's scores.
    """
    c, ml, out = client(tracking), tracking.state["mlflow"], Path(result.out)
    done = _children(c, ml)
    for row in rows:
        child = done.get(row["name"])
        if child is not None and child.info.status == "FINISHED":
            continue  # logged (then finished) before the run was interrupted
        if child is None:
            child = c.create_run(ml["experiment_id"], run_name=row["name"], tags={
                "mlflow.parentRunId": ml["run_id"], "skmlp.candidate": row["name"],
            })  # fmt: skip
        run_id = child.info.run_id
        metrics = [(k, v, 0) for k, v in row["scores"].items()]
        for name, series in row["curves"].items():
            metrics += [(name, v, i) for i, v in enumerate(series)]
        _batch(c, run_id, params=row["params"], metrics=metrics)
        model = out / "models" / f"{row['name']}.skmlp"
        if row["refitted"] and model.is_file() and not model.is_symlink():
            c.log_artifact(run_id, str(model), "model")
        c.set_terminated(run_id, "FINISHED")  # the mark of a child logged whole
    _batch(c, ml["run_id"], tags={"skmlp.best": str(result.best_architecture)},
           metrics=[(f"best_{k}", v, 0) for k, v in best_scores.items()])  # fmt: skip
    for name in _ARTIFACTS:
        if (out / name).is_file() and not (out / name).is_symlink():
            c.log_artifact(ml["run_id"], str(out / name))
    plots = out / "plots"
    if plots.is_dir() and not plots.is_symlink():
        for png in sorted(plots.glob("*.png")):
            if not png.is_symlink():
                c.log_artifact(ml["run_id"], str(png), "plots")
    c.set_terminated(ml["run_id"], "FINISHED")
