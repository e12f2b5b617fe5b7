"""Every search kind of a config, on digits with few epochs; resume after a kill."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

from skmlp.experiment import ExperimentConfig, load_config, run_experiment

pytestmark = pytest.mark.slow

SMALL = dict(dataset="digits", n_train=600, n_test=200, epochs=4, batch_size=50,
             validation_fraction=0.0, report_top=2)  # fmt: skip
SPACE = {
    "hidden_layer_sizes": [[16], [32]],
    "learning_rate_init": {"distribution": "loguniform", "low": 1e-3, "high": 2e-2},
}


def run(tmp_path, name, **settings):
    config = ExperimentConfig(**(SMALL | settings))
    return run_experiment(config, out=tmp_path / name, verbose=False, plots=False)


def test_grid(tmp_path):
    result = run(tmp_path, "grid", cv=2,
                 space={"hidden_layer_sizes": [[16], [32]], "dropout": [0.0, 0.2]})  # fmt: skip
    ranking = result.ranking
    assert len(ranking) == 4 and list(ranking["rank_cv"]) == [1, 2, 3, 4]
    assert ranking["cv_accuracy_mean"].is_monotonic_decreasing
    # the two best by CV are refitted and tested, the best by CV is chosen
    assert list(result.results["architecture"]) == list(ranking["candidate"][:2])
    assert result.best_architecture == ranking["candidate"][0]
    assert result.cv_results["candidate"].nunique() == 4
    # every cv_results_ row is named after its candidate: the scores agree
    cv_scores = result.cv_results.set_index("candidate")["mean_test_accuracy"]
    ranked = ranking.set_index("candidate")["cv_accuracy_mean"]
    np.testing.assert_allclose(cv_scores[ranked.index], ranked)
    # the test accuracy sits beside the two refitted candidates only
    frame = result.ranking_with_test()
    assert frame["test_accuracy"].notna().tolist() == [True, True, False, False]
    assert frame["best"].tolist() == [True, False, False, False]
    pd.testing.assert_series_equal(
        frame.set_index("candidate")["test_accuracy"].dropna(),
        result.results.set_index("architecture")["test_accuracy"].rename_axis("candidate"),
    )


def test_random(tmp_path):
    result = run(tmp_path, "random", search="random", n_iter=3, cv=2, space=SPACE)
    lrs = [float(p.split("learning_rate_init=")[1].split(",")[0])
           for p in result.ranking["params"]]  # fmt: skip
    assert len(lrs) == 3 and all(1e-3 <= lr <= 2e-2 for lr in lrs)
    assert len(set(lrs)) == 3  # drawn, not a grid


def test_halving_over_epochs(tmp_path):
    result = run(tmp_path, "halving-e", search="halving-random", n_iter=4, factor=2,
                 epochs=4, validation_size=0.25, space=SPACE)  # fmt: skip
    ranking = result.ranking
    # 4 candidates at 1 epoch, 2 at 2, 1 at 4: the survivor ranks first
    assert sorted(ranking["resource"].tolist()) == [1, 1, 2, 4]
    assert ranking.iloc[0]["resource"] == 4 and ranking.iloc[0]["round"] == 2
    fits = [json.loads(p.read_text()) for p in (tmp_path / "halving-e" / "fits").glob("*.json")]
    assert sorted(r["n_iter"] for r in fits) == [1, 1, 1, 1, 2, 2, 4]
    # every score is the validation split's (150 of the 600 rows), never the training rows'
    assert {(r["n_train"], r["n_test"]) for r in fits} == {(450, 150)}
    cv = result.cv_results.set_index("candidate")
    best = ranking.iloc[0]
    last = cv.loc[[best["candidate"]]].sort_values("iter").iloc[-1]
    assert last["mean_test_score"] == best["cv_accuracy_mean"]
    # the refit trains the full epochs
    assert result.results.iloc[0]["epochs_run"] == 4


def test_halving_over_rows(tmp_path):
    result = run(tmp_path, "halving-s", search="halving-grid", resource="samples", factor=3,
                 cv=2, space={"hidden_layer_sizes": [[8], [16], [32]]})  # fmt: skip
    fits = [json.loads(p.read_text()) for p in (tmp_path / "halving-s" / "fits").glob("*.json")]
    rows = sorted({r["n_train"] for r in fits})
    assert len(rows) == 2 and rows[1] > 2.5 * rows[0]  # a third of the rows, then all
    assert len(fits) == 3 * 2 + 1 * 2
    # the ranking's scores are the search's own validation scores
    cv = result.cv_results.set_index("candidate")
    for row in result.ranking.itertuples():
        last = cv.loc[[row.candidate]].sort_values("iter").iloc[-1]
        assert last["mean_test_score"] == pytest.approx(row.cv_accuracy_mean)
    assert result.ranking.iloc[0]["round"] == 1


CONFIG = """
name = "resume"
[data]
dataset = "digits"
n_train = 600
n_test = 200
[estimator]
max_iter = 4
batch_size = 50
[search]
kind = "{kind}"
n_iter = {n_iter}
factor = 2
validation_size = 0.25
validation_fraction = 0.0
report_top = 1
[search.space]
hidden_layer_sizes = [[16], [24], [32], [40]]
learning_rate_init = {{ distribution = "loguniform", low = 1e-3, high = 2e-2 }}
"""


@pytest.mark.parametrize("kind, n_iter", [("random", 4), ("halving-random", 4)])
def test_resume_after_kill(tmp_path, kind, n_iter):
    path = tmp_path / "search.toml"
    path.write_text(textwrap.dedent(CONFIG.format(kind=kind, n_iter=n_iter)))
    out = tmp_path / "killed"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.Popen(
        [sys.executable, "-m", "skmlp", "run", "--config", str(path), "--out", str(out),
         "--quiet", "--no-plots"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    fits = out / "fits"
    deadline = time.time() + 300
    while len(list(fits.glob("*.json"))) < 2:
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.time() < deadline, "no fit finished in 5 minutes"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # as a crash or the OOM killer would
    proc.wait()
    before = {p.name: p.read_bytes() for p in fits.glob("*.json")}
    assert 2 <= len(before) < (4 if kind == "random" else 7)
    assert not (out / "results.csv").exists()

    resumed = run_experiment(load_config(path), out=out, verbose=False, plots=False)
    # the stored fits were replayed, not fitted again (their records are untouched)
    for name, content in before.items():
        assert (fits / name).read_bytes() == content
    # and the results are an uninterrupted run's
    fresh = run_experiment(load_config(path), out=tmp_path / "fresh", verbose=False, plots=False)
    cols = ["candidate", "params", "resource", "cv_accuracy_mean", "cv_log_loss_mean"]
    pd.testing.assert_frame_equal(resumed.ranking[cols], fresh.ranking[cols])
    np.testing.assert_allclose(resumed.results["test_accuracy"], fresh.results["test_accuracy"])


def test_the_cv_plot_of_fifty_candidates_shows_the_best_fifteen():
    import matplotlib

    matplotlib.use("Agg")
    from skmlp.plotting import plot_cv_scores

    rng = np.random.default_rng(0)
    acc = np.sort(rng.uniform(0.8, 0.99, 50))[::-1]
    ranking = pd.DataFrame({"candidate": [f"c{i:02d}" for i in rng.permutation(50) + 1],
                            "cv_accuracy_mean": acc, "cv_accuracy_std": 0.01,
                            "rank_cv": np.arange(1, 51),
                            "test_accuracy": [0.97, 0.96] + [np.nan] * 48,
                            "best": [True] + [False] * 49})  # fmt: skip
    fig = plot_cv_scores(ranking)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == list(ranking["candidate"][:15])
    assert "the best 15 of 50" in ax.get_title()


def test_halving_progress_prices_the_later_rounds_by_their_survivors():
    """Once a later round begins, its networks (not the space's typical one) price the rest."""
    from skmlp.experiment.search import _remaining_costs

    progress = {"epochs": 8, "rows": 100, "fit_params": [250.0] * 4 + [500.0] * 2 + [1000.0],
                "fractions": [0.25] * 4 + [0.5] * 2 + [1.0]}  # fmt: skip

    def fit(n_params, epochs):
        return {"n_params": n_params, "n_iter": epochs, "n_train": 100}

    first_round = [fit(10, 2), fit(10, 2), fit(1000, 2), fit(1000, 2)]
    # during the first round the planned (typical) sizes stand
    assert _remaining_costs(first_round[:3], progress) == [250.0, 500.0, 500.0, 1000.0]
    assert _remaining_costs(first_round, progress) == [500.0, 500.0, 1000.0]
    # the wide networks survived: the rest is priced at their size
    assert _remaining_costs([*first_round, fit(1000, 4)], progress) == [500.0, 1000.0]
    # a search that is not halving keeps its plan
    plain = dict(progress, fractions=None)
    assert _remaining_costs([*first_round, fit(1000, 4)], plain) == [500.0, 1000.0]
    assert _remaining_costs([*first_round, fit(10, 4)], plain) == [500.0, 1000.0]
    assert _remaining_costs([*first_round, fit(10, 4)], progress) == [5.0, 10.0]


def test_the_cv_plot_of_a_halving_search_on_a_validation_split():
    """Ticks name each candidate's last round; one split is labelled validation, no bars."""
    import matplotlib

    matplotlib.use("Agg")
    from skmlp.plotting import plot_cv_scores

    ranking = pd.DataFrame({"candidate": ["c02", "c01", "c03"], "rank_cv": [1, 2, 3],
                            "resource": [90, 30, 10], "cv_accuracy_mean": [0.99, 0.98, 0.97],
                            "cv_accuracy_std": 0.0, "best": [True, False, False]})  # fmt: skip
    ax = plot_cv_scores(ranking, validation_split=True).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["c02\n@90", "c01\n@30", "c03\n@10"]
    assert ax.get_title() == "Validation accuracy per candidate"
    labels = ax.get_legend_handles_labels()[1]
    assert "validation accuracy" in labels and "chosen by validation" in labels
    assert not ax.containers[0].has_yerr
    # folds: a spread, the CV wording, and plain names when every candidate had one round
    folds = ranking.assign(resource=90, cv_accuracy_std=0.01)
    ax = plot_cv_scores(folds).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["c02", "c01", "c03"]
    assert ax.get_title() == "Cross-validated accuracy per candidate"
    assert ax.containers[0].has_yerr


def test_a_ranking_with_a_missing_score_is_an_error_naming_the_candidate(tmp_path):
    # issue 25: with a fold's record missing (it went to a worker's own disk), main ranked
    # the candidate with a NaN score, silently, and could choose it
    from sklearn.datasets import load_digits

    from skmlp.experiment.records import RecordError
    from skmlp.experiment.run import make_pipeline
    from skmlp.experiment.search import build_search, rank_candidates

    config = ExperimentConfig(
        **(SMALL | dict(search="random", n_iter=2, cv=2, space={"hidden_layer_sizes": [[8], [16]]}))
    )
    X, y = load_digits(return_X_y=True)
    pipe = make_pipeline(16.0, max_iter=2, batch_size=50, random_state=0)
    store = tmp_path / "fits"
    search = build_search(config, pipe, store, n_jobs=1).fit(X[:300], y[:300])
    ranking = rank_candidates(search, pipe, store, config)  # every fold there: ranked
    assert ranking["cv_accuracy_mean"].notna().all()
    lost = ranking["candidate"][1]
    widths = ranking.loc[1, "_params"]["hidden_layer_sizes"]
    for path in store.glob("*.json"):
        if json.loads(path.read_text())["params"]["hidden_layer_sizes"] == repr(widths):
            path.unlink()
            break
    with pytest.raises(RecordError, match=rf"scores for 1 of the 2 candidates: {lost} \(1 of 2"):
        rank_candidates(search, pipe, store, config)
