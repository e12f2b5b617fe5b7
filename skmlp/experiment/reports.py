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

from .._io import atomic_write
from ..architectures import SEED_ARCHITECTURES
from ._files import read_json, sha256_file

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
    """

    results: pd.DataFrame
    cv_results: pd.DataFrame
    best_architecture: str
    histories: dict
    out: Path
    record: dict
    _best_model: Pipeline | None = field(default=None, repr=False)
    ranking: pd.DataFrame | None = None

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
            if sha256_file(path) != expected:
                raise ValueError(
                    f"{path} does not match the SHA-256 in {self.out / 'run.json'}: it was "
                    "changed after the run; refusing to use it"
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
    frame = ranking.merge(
        results[["architecture", "test_accuracy", "best"]].rename(
            columns={"architecture": "candidate"}
        ),
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
        "cv_accuracy_mean": float(ranked["cv_accuracy_mean"]),
        "cv_accuracy_std": float(ranked["cv_accuracy_std"]),
        "cv_log_loss_mean": float(ranked["cv_log_loss_mean"]),
        "train_loss": refit["train_loss"],
        "train_accuracy": refit["train_accuracy"],
        "test_loss": refit["test_loss"],
        "test_accuracy": refit["test_accuracy"],
        "cv_fit_time_s": float(ranked["cv_fit_time_s"]),
        "refit_time_s": refit["fit_time"],
        "epochs_run": refit["n_iter"],
        "seed_test_accuracy": _SEED_ACCURACY.get(ranked["candidate"]),
        "rank_cv": int(ranked["rank_cv"]),
    }


def markdown_table(results: pd.DataFrame, ranking: pd.DataFrame, dataset: str) -> str:
    """``results.md``: the reported candidates, then every candidate's CV ranking."""
    searched = results["params"].fillna("").astype(str).str.len().gt(0).any() and not set(
        results["architecture"]
    ) <= set(_SEED_ACCURACY)
    head = (
        "| model | hidden layers | BN + dropout | params | CV accuracy (%) | CV log-loss "
        "| train loss | train acc (%) | test loss | test acc (%) | seed test acc (%) |"
    )
    lines = [f"# skmlp results: {dataset}", "", head, "|" + " --- |" * 11]
    for r in results.itertuples():
        bn = (
            f"yes, {r.dropout:g}"
            if r.batch_norm
            else (f"no, {r.dropout:.2g}" if r.dropout else "no")
        )
        seed = f"{r.seed_test_accuracy:.2f}" if dataset == "mnist" and r.seed_test_accuracy else "-"
        best = " **(best by CV)**" if r.best else ""
        lines.append(
            f"| {r.architecture}{best} | {r.hidden_layer_sizes} | {bn} | {r.n_params:,} "
            f"| {100 * r.cv_accuracy_mean:.2f} ± {100 * r.cv_accuracy_std:.2f} "
            f"| {r.cv_log_loss_mean:.4f} | {r.train_loss:.4f} | {100 * r.train_accuracy:.2f} "
            f"| {r.test_loss:.4f} | {100 * r.test_accuracy:.2f} | {seed} |"
        )
    lines += [
        "",
        "Chosen by mean CV accuracy on the training set; each test figure was computed once.",
    ]
    if searched or len(ranking) > len(results):
        lines += [
            "",
            f"## Every candidate, ranked by CV ({len(ranking)})",
            "",
            "| rank | candidate | settings | round | epochs or rows | CV accuracy (%) "
            "| CV log-loss | fit s |",
            "|" + " --- |" * 8,
        ]
        for r in ranking.head(_RANKING_ROWS).itertuples():
            resource = "-" if pd.isna(r.resource) else f"{int(r.resource):,}"
            lines.append(
                f"| {r.rank_cv} | {r.candidate} | {r.params} | {r.round} | {resource} "
                f"| {100 * r.cv_accuracy_mean:.2f} ± {100 * r.cv_accuracy_std:.2f} "
                f"| {r.cv_log_loss_mean:.4f} | {r.cv_fit_time_s:.1f} |"
            )
        if len(ranking) > _RANKING_ROWS:
            lines.append(f"\n(the other {len(ranking) - _RANKING_ROWS} are in ranking.csv)")
    return "\n".join(lines) + "\n"


def draw_plots(
    out: Path, results, ranking, histories, models, validation_split: bool = False
) -> None:
    """Loss curves and weights of the reported models; CV accuracy of the best candidates.

    With many candidates the plots show the best: the loss curves of the 12 best refits,
    the CV accuracy of the 15 best candidates (:func:`skmlp.plotting.plot_cv_scores`;
    ``validation_split``: the scores come from one validation split).
    """
    from .. import plotting

    plots = out / "plots"
    plots.mkdir(exist_ok=True)
    # the best first (the results are ranked): at most a dozen panels stay readable
    fig = plotting.plot_loss_curves(dict(list(histories.items())[:_CURVES]))
    atomic_write(plots / "loss_curves.png", lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    fig = plotting.plot_cv_scores(
        _ranking_with_test(ranking, results), validation_split=validation_split
    )
    atomic_write(plots / "cv_accuracy.png", lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    for name, model in models.items():
        fig = plotting.plot_weight_distributions(model, title=f"Trained weights: {name}")
        atomic_write(
            plots / f"weights_{name}.png", lambda tmp, f=fig: f.savefig(tmp, format="png", dpi=110)
        )


def load_result(out: Path, record: dict) -> ExperimentResult:
    """The result of a finished run, from its folder (the best model loads on first use)."""
    results = pd.read_csv(out / "results.csv")
    cv_results = pd.read_csv(out / "cv_results.csv")
    ranking = pd.read_csv(out / "ranking.csv") if (out / "ranking.csv").is_file() else None
    histories = {}
    for name in results["architecture"]:
        path = out / "refits" / f"{name}.json"
        histories[name] = read_json(path).get("history", {}) if path.is_file() else {}
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
            "CV acc %": (100 * results["cv_accuracy_mean"]).round(2),
            "± std": (100 * results["cv_accuracy_std"]).round(2),
            "CV logloss": results["cv_log_loss_mean"].round(4),
            "train acc %": (100 * results["train_accuracy"]).round(2),
            "test loss": results["test_loss"].round(4),
            "test acc %": (100 * results["test_accuracy"]).round(2),
            "fit s": results["refit_time_s"].round(1),
        }
    )
    return view.to_string(index=False)
