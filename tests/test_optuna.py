"""``[search] kind = "optuna"`` (issue 29): a seeded study, pruning, resume, one report.

The studies are tiny (digits, 240 training rows, 3 epochs, widths 8 and 16) and
share a few runs through module-scoped fixtures: a TPE study without pruning run
twice (it must draw and score the same trials), the same study with the median
pruner and a few more trials (its fits must stop early, and no pruned trial may
reach the ranking).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

optuna = pytest.importorskip("optuna")

from skmlp.experiment import ConfigError, load_config, run_experiment  # noqa: E402
from skmlp.experiment.optuna_search import (  # noqa: E402
    StudyReportedElsewhere,
    study_records,
)
from skmlp.experiment.records import RecordError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
N_TRIALS, EPOCHS = 8, 3
N_PRUNED = 12  # the median pruner waits for 5 trials: a few more to prune


def _toml(search: str = "", *, name: str = "optuna-test", epochs: int = EPOCHS) -> str:
    return (
        textwrap.dedent(
            f"""
        name = "{name}"
        [data]
        dataset = "digits"
        n_train = 240
        n_test = 100
        [estimator]
        max_iter = {epochs}
        batch_size = 40
        [search]
        kind = "optuna"
        validation_size = 0.3
        report_top = 1
        scoring = "neg_log_loss"  # a score without ties: the pruner always has a median
        """
        )
        + textwrap.dedent(search)
        + textwrap.dedent(
            """
        [search.space]
        hidden_layer_sizes = [[8], [16]]
        learning_rate_init = { distribution = "loguniform", low = 1e-5, high = 0.3 }
        """
        )
    )


def _run(folder: Path, search: str, **kwargs):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "search.toml"
    path.write_text(_toml(search))
    out = folder / "out"
    run_experiment(load_config(path), out=out, plots=False, verbose=False, **kwargs)
    return out


def _trials(out: Path, storage: str | None = None) -> list:
    url = storage or f"sqlite:///{out / 'optuna.db'}"
    (summary,) = optuna.get_all_study_summaries(url)
    return optuna.load_study(study_name=summary.study_name, storage=url).get_trials()


@pytest.fixture(scope="module")
def unpruned(tmp_path_factory):
    """The same seeded TPE study, without pruning, run twice in two folders."""
    search = f'n_trials = {N_TRIALS}\npruner = "none"\n'
    root = tmp_path_factory.mktemp("unpruned")
    return [_run(root / name, search) for name in ("first", "second")]


@pytest.fixture(scope="module")
def pruned(tmp_path_factory):
    """The same study, longer, with the median pruner."""
    return _run(tmp_path_factory.mktemp("pruned"), f'n_trials = {N_PRUNED}\npruner = "median"\n')


# ------------------------------------------------------------ the study
@pytest.mark.slow
def test_a_seeded_tpe_study_reproduces_its_trials(unpruned):
    first, second = ([(t.params, t.value, t.state) for t in _trials(out)] for out in unpruned)
    assert len(first) == N_TRIALS
    assert len({json.dumps(p, sort_keys=True) for p, _, _ in first}) > 1  # it does search
    assert first == second


@pytest.mark.slow
def test_pruning_stops_fits_early(unpruned, pruned):
    def epochs(out):
        return [t.user_attrs["epochs"] for t in _trials(out)]

    assert epochs(unpruned[0]) == [EPOCHS] * N_TRIALS
    stopped = [t for t in _trials(pruned) if t.state == optuna.trial.TrialState.PRUNED]
    assert stopped, "the median pruner pruned no trial"
    assert all(t.user_attrs["epochs"] < EPOCHS for t in stopped)
    assert len(epochs(pruned)) == N_PRUNED and sum(epochs(pruned)) < N_PRUNED * EPOCHS
    # the trials' intermediate values are the validation split's scores, epoch by epoch
    complete = [t for t in _trials(pruned) if t.state == optuna.trial.TrialState.COMPLETE]
    assert all(sorted(t.intermediate_values) == list(range(EPOCHS)) for t in complete)
    assert all(t.intermediate_values[EPOCHS - 1] == pytest.approx(t.value) for t in complete)


@pytest.mark.slow
def test_a_pruned_trial_never_reaches_the_ranking_or_the_report(pruned):
    trials = _trials(pruned)
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    stopped = [t for t in trials if t.state == optuna.trial.TrialState.PRUNED]
    assert stopped
    ranking = pd.read_csv(pruned / "ranking.csv")
    cv_results = pd.read_csv(pruned / "cv_results.csv")
    assert sorted(cv_results["trial"]) == [t.number for t in complete]
    assert len(ranking) == len(complete)
    rates = {f"{t.params['learning_rate_init']:.4g}" for t in stopped}
    assert not any(r in params for params in ranking["params"] for r in rates)
    best = max(complete, key=lambda t: t.value)
    assert ranking["cv_log_loss_mean"].iloc[0] == pytest.approx(-best.value)
    record = json.loads((pruned / "run.json").read_text())
    assert record["complete"] and record["best_architecture"] == ranking["candidate"].iloc[0]
    table = pd.read_csv(pruned / "trials.csv")
    assert sorted(table.loc[table["state"] == "pruned", "trial"]) == [t.number for t in stopped]


@pytest.mark.slow
def test_another_process_on_the_same_storage_reports_nothing(unpruned, tmp_path, capsys):
    from skmlp.cli import main

    first = unpruned[0]
    before = [(t.number, t.state, t.value) for t in _trials(first)]
    storage = f"sqlite:///{first / 'optuna.db'}"
    with pytest.raises(StudyReportedElsewhere, match=str(first)):
        _run(tmp_path / "api", f'n_trials = {N_TRIALS}\npruner = "none"\n', storage=storage)
    config = first.parent / "search.toml"
    out = tmp_path / "cli"
    argv = ["run", "--config", str(config), "--out", str(out), "--storage", storage, "--quiet"]
    assert main(argv) == 0
    said = capsys.readouterr().out.strip().splitlines()
    assert len(said) == 1 and "ranks, refits and reports it" in said[0]
    assert [(t.number, t.state, t.value) for t in _trials(first)] == before  # no new trial
    assert not (out / "results.md").exists() and not (tmp_path / "api/out/results.md").exists()


@pytest.mark.slow
def test_budget_epochs_stops_new_trials(tmp_path):
    out = _run(tmp_path, 'n_trials = 50\npruner = "none"\nbudget_epochs = 7\n')
    epochs = [t.user_attrs["epochs"] for t in _trials(out)]
    assert epochs == [EPOCHS] * 3  # 6 epochs < 7: a third trial; 9 >= 7: no fourth


# ------------------------------------------------- kill -9 and resume
def _count(db: Path, state: str) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            query = "SELECT COUNT(*) FROM trials WHERE state = ?"
            return conn.execute(query, (state,)).fetchone()[0]
    except sqlite3.Error:  # being created
        return 0


def _running_epochs(db: Path) -> int:
    """The epochs reported by the running trial (0 if none)."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            query = ("SELECT COUNT(*) FROM trial_intermediate_values v JOIN trials t "
                     "ON v.trial_id = t.trial_id WHERE t.state = 'RUNNING'")  # fmt: skip
            return conn.execute(query).fetchone()[0]
    except sqlite3.Error:  # being created
        return 0


def test_a_trial_killed_as_it_was_created_is_failed(tmp_path, monkeypatch):
    from skmlp.experiment import optuna_search

    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 's.db'}", direction="maximize")
    study.ask()  # killed before it was marked: by nobody, with no parameters
    mine = study.ask()
    mine.set_user_attr("worker", "a" * 32)
    mine.suggest_float("x", 0, 1)
    theirs = study.ask()
    theirs.set_user_attr("worker", "b" * 32)  # a live process's, elsewhere
    monkeypatch.setattr(optuna_search, "ORPHAN_S", 0.0)
    said = []
    optuna_search._retry_stale(study, "a" * 32, said.append)
    states = [t.state.name for t in study.get_trials()]
    assert states == ["FAIL", "FAIL", "RUNNING", "WAITING"], states
    (queued,) = study.get_trials(states=(optuna.trial.TrialState.WAITING,))
    assert queued.user_attrs["retry_of"] == mine.number and len(said) == 2


@pytest.mark.slow
def test_a_killed_study_resumes_without_refitting_a_complete_trial(tmp_path):
    n_trials = 5
    (tmp_path / "search.toml").write_text(_toml(f'n_trials = {n_trials}\npruner = "none"\n',
                                                 epochs=4))  # fmt: skip
    argv = [sys.executable, "-m", "skmlp", "run", "--config", "search.toml", "--out", "out",
            "--no-plots", "--quiet"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    db = tmp_path / "out" / "optuna.db"
    first = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.time() + 120
    while not (_count(db, "COMPLETE") >= 2 and _running_epochs(db) >= 1):  # mid-fit
        assert first.poll() is None, first.stderr.read().decode()[-2000:]
        assert time.time() < deadline, "the study never reached its third trial"
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait()
    before = _trials(tmp_path / "out")
    done = {t.number: (t.params, t.value) for t in before if t.state.is_finished()}
    (killed,) = [t for t in before if t.state == optuna.trial.TrialState.RUNNING]
    assert len(done) >= 2
    second = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, timeout=300)
    assert second.returncode == 0, second.stderr.decode()[-2000:]
    after = {t.number: t for t in _trials(tmp_path / "out")}
    for number, (params, value) in done.items():  # kept, not fitted again
        assert (after[number].params, after[number].value) == (params, value)
        assert after[number].user_attrs["pid"] == first.pid
    assert after[killed.number].state == optuna.trial.TrialState.FAIL
    redone = [t for t in after.values() if t.user_attrs.get("retry_of") == killed.number]
    assert len(redone) == 1 and redone[0].params == killed.params
    finished = [t for t in after.values() if t.state.is_finished() and t.state.name != "FAIL"]
    assert len(finished) == n_trials
    assert sum(t.user_attrs["pid"] != first.pid for t in finished) == n_trials - len(done)
    assert (tmp_path / "out" / "results.md").exists()


# ------------------------------------------------ settings and storage
BAD_SETTINGS = [
    ('n_trials = 4\nsampler = "annealing"', "search.sampler must be one of tpe, random, cmaes"),
    ('n_trials = 4\npruner = "asha"', "search.pruner must be one of median, hyperband, none"),
    ("n_trials = 0", "n_trials must be an integer >= 1"),
    ("n_trials = 9223372036854775807", "n_trials must be an integer >= 1 and <= 10,000"),
    ("timeout = 0", "timeout must be a number > 0"),
    ("timeout = 1e12", "timeout must be a number > 0 and <= 2592000"),
    ("n_trials = 4\nbudget_epochs = -1", "budget_epochs must be an integer >= 1"),
    ("pruner = \"none\"", 'kind = "optuna" needs n_trials or timeout'),
    ('n_trials = 4\nsampler = "cmaes"', "sampler cmaes draws numbers only; "
     "search.space.hidden_layer_sizes is a list of choices"),
    ('n_trials = 4\nstorage = "postgresql://db.example.org/x"',
     "search.storage is not read from a config file"),
]  # fmt: skip


@pytest.mark.parametrize(("search", "message"), BAD_SETTINGS)
def test_bad_settings_are_one_line_errors_naming_the_file(tmp_path, search, message):
    path = tmp_path / "search.toml"
    path.write_text(_toml(search + "\n"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)
    assert "\n" not in str(info.value)


def test_optuna_settings_belong_to_an_optuna_search(tmp_path):
    path = tmp_path / "search.toml"
    path.write_text('[search]\nkind = "random"\nn_trials = 5\n')
    with pytest.raises(ConfigError, match=r'search\.n_trials is a setting of kind = "optuna"'):
        load_config(path)


@pytest.mark.parametrize(
    ("storage", "message"),
    [
        ("not a url", "is not an SQLAlchemy URL"),
        ("redis://127.0.0.1:6379/0", "'redis' databases are not supported"),
        ("x" * 5000, "at most 4096 characters"),
        ("sqlite:////no/such/folder/study.db", "cannot open the study"),
    ],
)
def test_a_bad_storage_is_refused_before_any_fit(tmp_path, storage, message):
    path = tmp_path / "search.toml"
    path.write_text(_toml("n_trials = 2\n"))
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match=message) as info:
        run_experiment(load_config(path), out=out, plots=False, verbose=False, storage=storage)
    assert "\n" not in str(info.value)
    assert not (out / "fits").exists() or not any((out / "fits").iterdir())
    assert not (out / "optuna.db").exists()


def test_storage_is_for_optuna_searches_only(tmp_path):
    from skmlp.experiment import ExperimentConfig

    with pytest.raises(ConfigError, match='--storage is for kind = "optuna" searches'):
        run_experiment(ExperimentConfig(), out=tmp_path / "out", storage="sqlite:///x.db")


def test_without_optuna_the_search_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna raises ImportError
    path = tmp_path / "search.toml"
    path.write_text(_toml("n_trials = 2\n"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert 'pip install "skmlp[optuna]"' in str(info.value) and "\n" not in str(info.value)


def test_a_hostile_fold_record_in_the_study_is_refused(tmp_path):
    # the study's database is written by other processes, maybe other people's
    record = {"key": "../../escaped", "params": {}, "scores": {"accuracy": 0.5,
              "neg_log_loss": -1.0}, "fit_time": 1.0, "n_iter": 3, "n_train": 10,
              "n_test": 5, "n_params": 10}  # fmt: skip
    trial = optuna.trial.create_trial(value=0.5, user_attrs={"folds": [record]})
    with pytest.raises(RecordError, match="its key is not a record's name"):
        study_records([trial], tmp_path)
    assert list(tmp_path.iterdir()) == []
    record["key"] = "0" * 24
    record["n_iter"] = -5
    trial = optuna.trial.create_trial(value=0.5, user_attrs={"folds": [record]})
    with pytest.raises(RecordError, match="n_iter is not a number"):
        study_records([trial], tmp_path)


def test_the_time_left_counts_epochs_not_trials():
    from types import SimpleNamespace

    from skmlp.experiment.optuna_search import _Progress

    config = SimpleNamespace(n_trials=10, budget_epochs=None, timeout=None)
    progress = _Progress(SimpleNamespace(config=config), {"epochs": 5}, started=0.0)
    # the study: 5 trials done (pruned ones with fewer epochs), 10 epochs; this
    # process trained 5 of them in 10 s, 2 s an epoch: the 5 trials left at 2 epochs
    # each are 10 epochs, 20 s
    assert progress._left(done=5, epochs=10, elapsed=10.0) == pytest.approx(20.0)
    config.budget_epochs = 14  # 4 epochs of the budget left
    assert progress._left(done=5, epochs=10, elapsed=10.0) == pytest.approx(8.0)
    config.timeout = 15.0
    assert progress._left(done=5, epochs=10, elapsed=10.0) == pytest.approx(5.0)


def test_the_example_config_is_the_halving_runs_at_its_budget():
    configs = ROOT / "benchmarks" / "configs"
    optuna_run = load_config(configs / "fashion-mnist-optuna.toml")
    halving = load_config(configs / "fashion-mnist-90.toml")
    assert optuna_run.search == "optuna" and optuna_run.budget_epochs == 192
    for name in ("space", "validation_size", "epochs", "estimator", "random_state", "dataset"):
        assert getattr(optuna_run, name) == getattr(halving, name), name


LAYERS = "hidden_layer_sizes = { layers = [1, 3], widths = [4, 8] }\n"


@pytest.mark.parametrize(
    ("kind", "space", "message"),
    [
        ("random", LAYERS, 'layers and widths are drawn by kind = "optuna" only'),
        ("optuna", LAYERS.replace("[1, 3]", "[0, 3]"), "layers must be [fewest, most] with 1"),
        ("optuna", LAYERS.replace("[1, 3]", "[1, 33]"), "<= 32, got [1, 33]"),
        ("optuna", LAYERS.replace("[4, 8]", "[]"), "widths must be a list of 1 to 100 positive"),
        ("optuna", LAYERS.replace("[4, 8]", "[4, -8]"), "widths must be a list of 1 to 100"),
        ("optuna", LAYERS.replace("widths", "width"), "takes exactly 'layers'"),
        ("optuna", LAYERS.replace("[4, 8]", "[4, 1000000000]"), "use smaller layers"),
    ],
)
def test_bad_layers_and_widths_are_one_line_errors(tmp_path, kind, space, message):
    path = tmp_path / "search.toml"
    path.write_text(f'[search]\nkind = "{kind}"\nn_iter = 2\n' + ("n_trials = 2\n" if kind ==
                    "optuna" else "") + "[search.space]\n" + space)  # fmt: skip
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.slow
def test_a_width_is_drawn_for_each_layer_drawn(tmp_path):
    path = tmp_path / "search.toml"
    text = _toml('n_trials = 5\npruner = "none"\n', epochs=1)
    path.write_text(text.split("[search.space]")[0] + "[search.space]\n" + LAYERS)
    out = tmp_path / "out"
    run_experiment(load_config(path), out=out, plots=False, verbose=False)
    trials = _trials(out)
    for trial in trials:  # width_k exactly for the k layers drawn
        n = trial.params["n_layers"]
        assert sorted(k for k in trial.params if k.startswith("width_")) == [
            f"width_{i + 1}" for i in range(n)
        ]
    assert len({t.params["n_layers"] for t in trials}) > 1
    ranking = pd.read_csv(out / "ranking.csv")
    drawn = {
        "-".join(str(t.params[f"width_{i + 1}"]) for i in range(t.params["n_layers"]))
        for t in trials
    }
    assert {p.split("hidden_layer_sizes=")[1].split(",")[0] for p in ranking["params"]} <= drawn
