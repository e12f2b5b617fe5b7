"""What a run reports: the tables, the plots, and the result object.

Candidates are ranked by cross-validation only; the ``report_top`` best are
refitted on the whole training set and scored once on the test set. The
tables say which figure is which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from .._text import csv_safe, terminal_safe
from ..architectures import SEED_ARCHITECTURES
from ._files import read_json, sha256_file, write_with
from .records import TABLE_BYTES, RecordError, plain_name, read_bytes, refuse_link
from .tasks import metric_names, report_columns, task_of

__all__ = ["ExperimentResult", "format_results"]

_SEED_ACCURACY = {a.name: a.seed_test_accuracy for a in SEED_ARCHITECTURES}
#: Candidates listed in results.md's ranking (all are in ranking.csv).
_RANKING_ROWS = 50
#: Refits whose loss curves are drawn, the best first.
_CURVES = 12


@dataclass
class ExperimentResult:
    """What :func:`run_experiment` returns.

    Attributes
    ----------
    results : pandas.DataFrame
        One row per reported candidate, the best ``report_top`` by CV (the
        content of ``results.csv``); ``architecture`` holds the candidate's
        name, ``params`` its searched settings.
    cv_results : pandas.DataFrame
        The search's ``cv_results_`` as a DataFrame.
    best_architecture : str
        Name of the candidate with the best CV accuracy.
    histories : dict of str to dict
        Per-architecture training histories of the refits.
    out : pathlib.Path
        The output folder.
    record : dict
        The run record (``run.json``).
    best_model : sklearn.pipeline.Pipeline
        The best architecture's pipeline, refitted on the whole training set
        (loaded from ``best_model.skmlp`` on first access after a finished run,
        after its SHA-256 is checked against the run record; never unpickled).
    ranking : pandas.DataFrame or None
        Every candidate's CV scores at the last round it reached, best first
        (``ranking.csv``; see :func:`skmlp.experiment.search.rank_candidates`).
    unverified : list of str
        What the figures hold that was read back from the results folder rather
        than computed in this process (CV scores of fits stored by an earlier
        run); every report repeats these notes. Empty when all was computed here.
    """

    results: pd.DataFrame
    cv_results: pd.DataFrame
    best_architecture: str
    histories: dict
    out: Path
    record: dict
    _best_model: Pipeline | None = field(default=None, repr=False)
    ranking: pd.DataFrame | None = None
    unverified: list = field(default_factory=list)

    @property
    def best_model(self) -> Pipeline:
        if self._best_model is None:
            from .._persistence import load

            path = self.out / "best_model.skmlp"
            expected = self.record.get("artefacts", {}).get(path.name)
            if expected is None:
                raise ValueError(
                    f"{self.out / 'run.json'} records no SHA-256 for {path} (an older skmlp "
                    "wrote it): delete run.json and run again to verify the model"
                )
            refuse_link(path)
            if sha256_file(path) != expected:
                raise ValueError(
                    f"{path} does not match the SHA-256 in {self.out / 'run.json'}: it was "
                    "changed after the run; refusing to use it"
                )
            # the same bytes as the refit whose scores were checked (verify.py)
            checked = self.out / "models" / f"{self.best_architecture}.skmlp"
            if checked.is_file() and sha256_file(checked) != expected:
                raise ValueError(
                    f"{path} is not the model {checked} whose scores are reported; "
                    "refusing to use it"
                )
            self._best_model = load(path)
        return self._best_model

    def ranking_with_test(self) -> pd.DataFrame:
        """Every candidate ranked by CV, with the test accuracy of the refitted ones.

        Returns
        -------
        pandas.DataFrame
            :attr:`ranking` with ``test_accuracy`` (NaN for candidates that were
            not refitted) and ``best`` columns: what
            :func:`skmlp.plotting.plot_cv_scores` draws.
        """
        if self.ranking is None:
            raise ValueError(f"{self.out} holds no ranking.csv (an older skmlp wrote it)")
        return _ranking_with_test(self.ranking, self.results)


def _ranking_with_test(ranking: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    test = "test_r2" if task_of(results) == "regression" else "test_accuracy"
    frame = ranking.merge(
        results[["architecture", test, "best"]].rename(columns={"architecture": "candidate"}),
        on="candidate",
        how="left",
    )
    frame["best"] = frame["best"].fillna(False).astype(bool)
    return frame


def candidate_row(ranked, mlp_params: dict, refit: dict) -> dict:
    """One row of the results table: a candidate's CV scores and its one test score."""
    widths = mlp_params["hidden_layer_sizes"]
    widths = (widths,) if isinstance(widths, int) else tuple(widths)
    return {
        "architecture": ranked["candidate"],
        "params": ranked["params"],
        "hidden_layer_sizes": "-".join(map(str, widths)),
        "batch_norm": bool(mlp_params["batch_norm"]),
        "dropout": float(mlp_params["dropout"]),
        "n_params": refit["n_params"],
        **{
            k: float(v)
            for k, v in ranked.items()
            if k.startswith("cv_") and k.endswith(("_mean", "_std")) and k != "cv_log_loss_std"
        },
        **{k: refit[k] for k in metric_names("regression" if "test_r2" in refit else "")},
        "cv_fit_time_s": float(ranked["cv_fit_time_s"]),
        "refit_time_s": refit["fit_time"],
        "epochs_run": refit["n_iter"],
        "seed_test_accuracy": _SEED_ACCURACY.get(ranked["candidate"]),
        "rank_cv": int(ranked["rank_cv"]),
    }


def csv_table(frame: pd.DataFrame) -> str:
    """A table as CSV, its text cells safe in a spreadsheet and a terminal (:func:`csv_safe`)."""
    frame = frame.copy()
    for column in frame.columns:
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            frame[column] = frame[column].map(csv_safe)
    frame.columns = [csv_safe(str(c)) for c in frame.columns]
    return frame.to_csv(index=False)


def _cell(value, fmt: str) -> str:
    return "-" if value is None or pd.isna(value) else fmt.format(value)


def markdown_table(results: pd.DataFrame, ranking: pd.DataFrame, dataset: str, notes=()) -> str:
    """``results.md``: the reported candidates, then every candidate's CV ranking.

    ``notes`` (what was read back rather than computed) follow the table. Strings
    from config files are escaped (:func:`terminal_safe`). The score columns are
    the task's (:func:`.tasks.report_columns`), a chosen ``scoring`` first.
    """
    searched = results["params"].fillna("").astype(str).str.len().gt(0).any() and not set(
        results["architecture"]
    ) <= set(_SEED_ACCURACY)
    columns = report_columns(results)
    seed = dataset == "mnist" and task_of(results) == "classification"
    head = ["model", "hidden layers", "BN + dropout", "params", *[h for h, _, _ in columns]]
    head += ["seed test accuracy"] if seed else []
    lines = [f"# skmlp results: {dataset}", "", "| " + " | ".join(head) + " |",
             "|" + " --- |" * len(head)]  # fmt: skip
    for r in results.to_dict("records"):
        bn = (f"yes, {r['dropout']:g}" if r["batch_norm"]
              else (f"no, {r['dropout']:.2g}" if r["dropout"] else "no"))  # fmt: skip
        best = " **(best by CV)**" if r["best"] else ""
        cells = [f"{r['architecture']}{best}", r["hidden_layer_sizes"], bn, f"{r['n_params']:,}"]
        cells += [_cell(r.get(c), f) for _, c, f in columns]
        cells += [_cell(r.get("seed_test_accuracy"), "{:.2f}%")] if seed else []
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    rank_by = columns[0][0]
    lines += [
        "",
        f"Chosen by mean {rank_by} on the training set; each test figure was computed once.",
        *[f"\nNote: {n}." for n in notes],
    ]
    if searched or len(ranking) > len(results):
        cv = [(h, c, f) for h, c, f in report_columns(ranking) if c.startswith("cv_")]
        head = ["rank", "candidate", "settings", "round", "epochs or rows", *[h for h, _, _ in cv]]
        head.append("fit s")
        lines += ["", f"## Every candidate, ranked by CV ({len(ranking)})", "",
                  "| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]  # fmt: skip
        for r in ranking.head(_RANKING_ROWS).to_dict("records"):
            resource = "-" if pd.isna(r["resource"]) else f"{int(r['resource']):,}"
            cells = [r["rank_cv"], r["candidate"], r["params"], r["round"], resource]
            cells += [_cell(r.get(c), f) for _, c, f in cv] + [f"{r['cv_fit_time_s']:.1f}"]
            lines.append("| " + " | ".join(map(str, cells)) + " |")
        if len(ranking) > _RANKING_ROWS:
            lines.append(f"\n(the other {len(ranking) - _RANKING_ROWS} are in ranking.csv)")
    return terminal_safe("\n".join(lines), keep_newlines=True) + "\n"


def draw_plots(
    out: Path, results, ranking, histories, models, validation_split: bool = False, sets=None
) -> None:
    """Loss curves and weights of the reported models; CV accuracy of the best candidates.

    With many candidates the plots show the best: the loss curves of the 12 best refits,
    the CV accuracy of the 15 best candidates (:func:`skmlp.plotting.plot_cv_scores`;
    ``validation_split``: the scores come from one validation split). A regression
    run draws, instead of CV accuracy, the best model's test residuals and its
    predicted against true values (``sets``: the run's data).
    """
    from .. import plotting

    plots = out / "plots"
    plots.mkdir(exist_ok=True)
    # the best first (the results are ranked): at most a dozen panels stay readable
    fig = plotting.plot_loss_curves(dict(list(histories.items())[:_CURVES]))
    write_with(plots / "loss_curves.png", lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    if task_of(results) == "regression":
        best = models[results.loc[results["best"], "architecture"].iloc[0]]
        pred = np.asarray(best.predict(sets.X_test), dtype=float).ravel()
        for name, fig in plotting.plot_regression(np.asarray(sets.y_test, float), pred).items():
            write_with(plots / f"{name}.png", lambda tmp, f=fig: f.savefig(tmp, format="png",
                                                                             dpi=110))  # fmt: skip
    else:
        fig = plotting.plot_cv_scores(
            _ranking_with_test(ranking, results), validation_split=validation_split
        )
        write_with(plots / "cv_accuracy.png", lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    for name, model in models.items():
        fig = plotting.plot_weight_distributions(model, title=f"Trained weights: {name}")
        write_with(
            plots / f"weights_{name}.png", lambda tmp, f=fig: f.savefig(tmp, format="png", dpi=110)
        )


def read_csv(path: Path) -> pd.DataFrame:
    """A table of a results folder: no link, at most ``TABLE_BYTES``, one-line errors."""
    import io

    data = read_bytes(path, TABLE_BYTES, "results table")
    try:
        return pd.read_csv(io.BytesIO(data))
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RecordError(f"{path}: not a readable CSV table ({reason[:200]})") from None


def load_result(out: Path, record: dict) -> ExperimentResult:
    """The result of a finished run, from its folder (the best model loads on first use).

    Its figures are checked by :func:`skmlp.experiment.verify.verify_finished`.
    """
    results = read_csv(out / "results.csv")
    cv_results = read_csv(out / "cv_results.csv")
    ranking = read_csv(out / "ranking.csv") if (out / "ranking.csv").is_file() else None
    histories = {}
    if "architecture" not in results.columns:
        raise RecordError(f"{out / 'results.csv'}: not a results table of skmlp")
    for name in results["architecture"]:
        path = out / "refits" / f"{plain_name(name, out / 'results.csv')}.json"
        history = read_json(path).get("history", {}) if path.is_file() else {}
        histories[name] = history if isinstance(history, dict) else {}
    return ExperimentResult(
        results, cv_results, record["best_architecture"], histories, out, record, ranking=ranking
    )


def format_results(results: pd.DataFrame) -> str:
    """Format the results table for a terminal.

    Parameters
    ----------
    results : pandas.DataFrame
        ``ExperimentResult.results``.

    Returns
    -------
    str
        A fixed-width table, best architecture marked with ``*``.
    """
    view = pd.DataFrame(
        {
            "": np.where(results["best"], "*", ""),
            "architecture": results["architecture"],
            "widths": results["hidden_layer_sizes"],
            "BN+DO": [
                f"{d:g}" if b else (f"-, {d:.2g}" if d else "-")
                for b, d in zip(results["batch_norm"], results["dropout"], strict=True)
            ],
            "params": results["n_params"],
        }
    )
    for header, column, fmt in report_columns(results):
        if header == "train loss":  # the terminal's table keeps to its width
            continue
        view[header.replace("accuracy", "acc")] = [_cell(v, fmt) for v in results[column]]
    view["fit s"] = results["refit_time_s"].round(1)
    return view.to_string(index=False)
