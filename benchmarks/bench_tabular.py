"""Two public tables with text and blanks: ``skmlp run`` against scikit-learn (issue 27).

- **penguins** (``palmerpenguins``' bundled CSV, 344 rows): the species from the
  island, the sex (11 blanks) and four measurements (2 blanks each): classification
  with categorical columns and missing values.
- **cars** (``vega_datasets``' bundled ``cars.json``, 406 rows): miles per gallon
  (8 blanks: those rows dropped with ``drop_missing_target``) from the cylinders,
  displacement, horsepower (6 blanks), weight, acceleration, year and origin (text):
  regression. The car's ``Name`` (an identifier) is left out; ``Year`` is a date,
  which skmlp refuses (recorded below), so it is given as the year's number.

Each table is written as a CSV and searched with ``skmlp run --config`` (the configs
are in the results). On the same recorded train/test split and the same
preprocessing (the run's :class:`skmlp.TabularEncoder`, fitted on the training rows),
scikit-learn's ``HistGradientBoosting*`` and ``MLP*`` at their defaults
(``random_state=0``) are fitted and scored on the test set. Wall times: skmlp's whole
search (all CV fits and refits) and its best refit; each baseline's one fit.

    python benchmarks/bench_tabular.py [--backend jax]

Needs ``pip install palmerpenguins vega_datasets``. Writes
``benchmarks/results/tabular.{json,md}``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _record import portable, portable_command, write_results  # noqa: E402

SEARCH = """
name = "{name}"
[data]
path = "{name}.csv"
target = "{target}"
{data}
[estimator]
max_iter = 200
batch_size = 32
{estimator}
[search]
kind = "halving-random"
n_iter = 12
factor = 2
cv = 3
random_state = 0
report_top = 3
{search}
[search.space]
hidden_layer_sizes = [[32], [64], [128], [64, 64]]
alpha = {{ distribution = "loguniform", low = 1e-5, high = 1e-2 }}
learning_rate_init = {{ distribution = "loguniform", low = 1e-3, high = 2e-2 }}
"""

TABLES = {
    "penguins": {"target": "species", "data": "", "estimator": "", "search": ""},
    "cars": {"target": "Miles_per_Gallon", "data": "drop_missing_target = true",
             "estimator": 'task = "regression"', "search": ""},
}  # fmt: skip


def write_tables(folder: Path) -> dict:
    """The two tables as CSV files, and what the raw cars table is refused for."""
    from palmerpenguins import load_penguins
    from vega_datasets import data

    from skmlp import TabularEncoder

    load_penguins().to_csv(folder / "penguins.csv", index=False)
    cars = data.cars()
    try:
        TabularEncoder().fit(cars.drop(columns=["Miles_per_Gallon", "Name"]))
        refusal = None
    except ValueError as exc:
        refusal = str(exc)
    cars = cars.assign(Year=cars["Year"].dt.year).drop(columns="Name")
    cars.to_csv(folder / "cars.csv", index=False)
    return {"raw cars table refused": refusal}


def baselines(config, out: Path, task: str) -> list[dict]:
    """scikit-learn's defaults on the run's split and encoder."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    from skmlp import TabularEncoder
    from skmlp.experiment.data import load_data

    data = load_data(config, out=out, log=lambda *a: None)  # the recorded split
    enc = TabularEncoder(**config.tabular).fit(data.X_train)
    X_train, X_test = enc.transform(data.X_train), enc.transform(data.X_test)
    models = (
        {"HistGradientBoostingClassifier": HistGradientBoostingClassifier(random_state=0),
         "sklearn MLPClassifier": MLPClassifier(random_state=0)}
        if task == "classification" else
        {"HistGradientBoostingRegressor": HistGradientBoostingRegressor(random_state=0),
         "sklearn MLPRegressor": MLPRegressor(random_state=0)}
    )  # fmt: skip
    rows = []
    for name, model in models.items():
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the MLPs' ConvergenceWarning at 200 epochs
            model.fit(X_train, data.y_train)
        seconds = time.perf_counter() - start
        rows.append({"model": name, **scores(model, X_test, data.y_test, task), "fit_s": seconds})
    return rows


def scores(model, X, y, task: str) -> dict:
    import numpy as np
    from sklearn import metrics

    if task == "classification":
        pred = model.predict(X)
        proba = model.predict_proba(X)
        return {"accuracy": metrics.accuracy_score(y, pred),
                "balanced_accuracy": metrics.balanced_accuracy_score(y, pred),
                "log_loss": metrics.log_loss(y, proba, labels=model.classes_)}  # fmt: skip
    pred = np.asarray(model.predict(X), dtype=float).ravel()
    return {"r2": metrics.r2_score(y, pred), "mae": metrics.mean_absolute_error(y, pred),
            "rmse": float(np.sqrt(metrics.mean_squared_error(y, pred)))}  # fmt: skip


def run_table(name: str, folder: Path) -> dict:
    from skmlp.experiment import load_config, run_experiment

    spec = TABLES[name]
    config_path = folder / f"{name}.toml"
    config_path.write_text(SEARCH.format(name=name, **spec))
    out = folder / f"out-{name}"
    start = time.perf_counter()
    result = run_experiment(load_config(config_path), out=out, plots=False, verbose=False)
    seconds = time.perf_counter() - start
    task = result.record["task"]
    best = result.results.loc[result.results["best"]].iloc[0]
    model = result.best_model
    data = __import__("skmlp.experiment.data", fromlist=["load_data"]).load_data(
        load_config(config_path), out=out, log=lambda *a: None
    )
    skmlp_row = {"model": f"skmlp best ({best['architecture']}: {best['params']})",
                 **scores(model, data.X_test, data.y_test, task),
                 "fit_s": float(best["refit_time_s"]), "search_s": seconds}  # fmt: skip
    rows = [skmlp_row, *baselines(load_config(config_path), out, task)]
    return {
        "task": task,
        "config": config_path.read_text(),
        "rows_train": len(data.y_train),
        "rows_test": len(data.y_test),
        "encoded_features": int(model[0].n_features_out_),
        "cardinalities": model[0].cardinalities(),
        "candidates": len(result.ranking),
        "rows": rows,
    }


def table(results: dict) -> str:
    lines = []
    for name, res in results.items():
        keys = ["accuracy", "balanced_accuracy", "log_loss"] if res["task"] == "classification" \
            else ["r2", "mae", "rmse"]  # fmt: skip
        lines += [f"\n### {name} ({res['task']}; {res['rows_train']} train / {res['rows_test']} "
                  f"test rows, {res['encoded_features']} encoded features)\n",
                  "| model | " + " | ".join(keys) + " | fit s | search s |",
                  "|" + " --- |" * (len(keys) + 3)]  # fmt: skip
        for row in res["rows"]:
            cells = [f"{row[k]:.4f}" for k in keys]
            search = f"{row['search_s']:.1f}" if "search_s" in row else "-"
            lines.append(f"| {row['model']} | " + " | ".join(cells)
                         + f" | {row['fit_s']:.2f} | {search} |")  # fmt: skip
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", help="KERAS_BACKEND (default: skmlp's choice)")
    parser.add_argument("--tables", nargs="+", default=list(TABLES), choices=list(TABLES))
    args = parser.parse_args(argv)
    if args.backend:
        os.environ["KERAS_BACKEND"] = args.backend
    import keras

    import skmlp

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        facts = {"command": portable_command(["python", *sys.argv]), **write_tables(folder)}
        results = {name: run_table(name, folder) for name in args.tables}
        facts |= {"skmlp": skmlp.__version__, "keras_backend": keras.backend.backend(),
                  "cpus": os.cpu_count(), "tables": portable(results, {"DIR": folder})}  # fmt: skip
    text = table(results)
    print(text)
    write_results(HERE / "results" / "tabular", "Tables with text and blanks: skmlp run against "
                  "scikit-learn", facts, text, detail="tables")  # fmt: skip


if __name__ == "__main__":
    main()
