"""Plots of an experiment: loss curves, weight distributions, CV accuracy.

Functions return a :class:`matplotlib.figure.Figure` built without pyplot, so
they work on machines without a display and never touch global plotting state.
matplotlib is imported only when a function is called.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["plot_cv_scores", "plot_loss_curves", "plot_regression", "plot_weight_distributions"]


def _figure(**kwargs):
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError("plotting needs matplotlib: pip install matplotlib") from exc
    return Figure(**kwargs)


def plot_loss_curves(histories: dict, *, ncols: int = 3):
    """Training and validation loss per epoch, one panel per model.

    Parameters
    ----------
    histories : dict of str to dict
        Model name to a ``history_`` dict (``"loss"``, optionally ``"val_loss"``).
    ncols : int, default=3
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    from matplotlib.ticker import MaxNLocator

    n = max(len(histories), 1)
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig = _figure(figsize=(4.2 * ncols, 3.2 * nrows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    for ax, (name, hist) in zip(axes, histories.items(), strict=False):
        epochs = np.arange(1, len(hist.get("loss", [])) + 1)
        ax.plot(epochs, hist.get("loss", []), "b-", label="training loss")
        if hist.get("val_loss"):
            ax.plot(epochs, hist["val_loss"], "r-", label="validation loss")
        ax.set_title(name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel("cross-entropy loss")
        ax.grid(alpha=0.3)
        ax.legend()
    for ax in axes[len(histories) :]:
        ax.set_visible(False)
    validated = any(hist.get("val_loss") for hist in histories.values())
    title = "Training vs validation loss" if validated else "Training loss"
    if validated and ncols > 1:
        title += " (validation split from the training data)"
    fig.suptitle(title)
    return fig


#: Weights per layer that :func:`plot_weight_distributions` estimates a density from.
MAX_DENSITY_POINTS = 20_000


def _sample_for_density(values):
    """At most ``MAX_DENSITY_POINTS`` of ``values``: a seeded sample with both extremes."""
    if values.size <= MAX_DENSITY_POINTS:
        return values
    pick = np.random.default_rng(0).choice(values.size, MAX_DENSITY_POINTS - 2, replace=False)
    return np.concatenate([values[pick], [values.min(), values.max()]])


def plot_weight_distributions(model, *, title: str = "Trained weight distributions"):
    """Violin plot of each Dense layer's trained weights, the seed's sanity check.

    Parameters
    ----------
    model : MLPClassifier or Pipeline ending in one
        A fitted model (its ``coefs_`` are drawn). A layer of more than
        ``MAX_DENSITY_POINTS`` weights is drawn from a fixed random sample of that
        many, its smallest and largest weight included: the density estimate
        costs time in proportion to the points (seconds for millions) and looks
        the same.
    title : str, default="Trained weight distributions"
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    est = model[-1] if hasattr(model, "steps") else model
    coefs = [_sample_for_density(c.ravel()) for c in est.coefs_]
    labels = [f"hidden {i + 1}" for i in range(len(coefs) - 1)] + ["output"]
    fig = _figure(figsize=(max(5.0, 1.6 * len(coefs)), 3.8), layout="constrained")
    ax = fig.subplots()
    parts = ax.violinplot(coefs, showmedians=True)
    colors = ["tab:blue", "tab:red", "tab:green", "tab:olive", "tab:purple", "tab:cyan"]
    for body, color in zip(parts["bodies"], colors * len(coefs), strict=False):
        body.set_facecolor(color)
        body.set_alpha(0.6)
    ax.set_xticks(np.arange(1, len(coefs) + 1), labels)
    ax.set_xlabel("layer (input to output)")
    ax.set_ylabel("weight value")
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title)
    return fig


def plot_cv_scores(results, top: int = 15, validation_split: bool = False):
    """Cross-validated accuracy per candidate with ±1 std error bars.

    Test accuracy is drawn beside it for the candidates that were scored on the
    test set, for reference; selection used CV only. When the candidates reached
    different rounds of a successive-halving search (a ``resource`` column that
    varies), each tick names the candidate's resource there as well.

    Parameters
    ----------
    results : pandas.DataFrame
        ``ExperimentResult.results`` or ``ExperimentResult.ranking``: columns
        ``architecture`` (or ``candidate``), ``cv_accuracy_mean``,
        ``cv_accuracy_std``, and optionally ``test_accuracy`` and ``best``.
    top : int, default=15
        Draw at most this many candidates, the best by CV (``rank_cv``) first,
        so that a large search stays readable.
    validation_split : bool, default=False
        The scores come from one validation split (``validation_size``), not
        from folds: they are labelled validation accuracy, without a spread.

    Returns
    -------
    matplotlib.figure.Figure
        The figure.
    """
    total = len(results)
    if "rank_cv" in results and total > top:
        results = results.sort_values("rank_cv").head(top)
    results = results.reset_index(drop=True)
    names = results["architecture"] if "architecture" in results else results["candidate"]
    rounds = "resource" in results and results["resource"].nunique() > 1
    if rounds:
        names = [f"{n}\n@{r:,.0f}" for n, r in zip(names, results["resource"], strict=True)]
    score = "validation" if validation_split else "CV"
    fig = _figure(figsize=(max(6.0, 0.9 * len(results) + 2), 4.0), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(results))
    ax.errorbar(
        x - 0.1,
        100 * results["cv_accuracy_mean"],
        yerr=None if validation_split else 100 * results["cv_accuracy_std"],
        fmt="o",
        capsize=5,
        label="validation accuracy" if validation_split else "CV accuracy (mean ± std)",
    )
    if "test_accuracy" in results:
        ax.plot(x + 0.1, 100 * results["test_accuracy"], "s", color="tab:red",
                label="test accuracy")  # fmt: skip
    if "best" in results and results["best"].any():
        best = int(np.flatnonzero(results["best"].to_numpy(dtype=bool))[0])
        ax.axvspan(best - 0.4, best + 0.4, color="gold", alpha=0.25, label=f"chosen by {score}")
    ax.set_xticks(x, names, rotation=20)
    ax.set_xlabel("candidate @ the epochs (or rows) of its last round" if rounds else "candidate")
    ax.set_ylabel("accuracy (%)")
    shown = f" (the best {len(results)} of {total})" if total > len(results) else ""
    title = "Validation accuracy" if validation_split else "Cross-validated accuracy"
    ax.set_title(f"{title} per candidate{shown}")
    ax.grid(axis="y", alpha=0.3)
    ax.legend()
    return fig


def plot_regression(y_true, y_pred) -> dict:
    """A regressor's test predictions: residuals, and predicted against true values.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        The test targets and the model's predictions.

    Returns
    -------
    dict of str to matplotlib.figure.Figure
        ``"residuals"`` (residual against prediction) and ``"predicted_vs_true"``
        (with the diagonal of perfect predictions).
    """
    y_true = np.asarray(y_true, dtype=float).ravel()
    y_pred = np.asarray(y_pred, dtype=float).ravel()
    figures = {}
    fig = _figure(figsize=(5.5, 4.0), layout="constrained")
    ax = fig.subplots()
    ax.scatter(y_pred, y_true - y_pred, s=12, alpha=0.6)
    ax.axhline(0.0, color="tab:red", linewidth=1)
    ax.set_xlabel("predicted")
    ax.set_ylabel("residual (true - predicted)")
    ax.set_title("Test residuals of the best model")
    ax.grid(alpha=0.3)
    figures["residuals"] = fig
    fig = _figure(figsize=(4.8, 4.5), layout="constrained")
    ax = fig.subplots()
    ax.scatter(y_true, y_pred, s=12, alpha=0.6)
    low, high = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
    ax.plot([low, high], [low, high], color="tab:red", linewidth=1, label="perfect")
    ax.set_xlabel("true")
    ax.set_ylabel("predicted")
    ax.set_title("Predicted against true (test set)")
    ax.legend()
    ax.grid(alpha=0.3)
    figures["predicted_vs_true"] = fig
    return figures
