"""The experiment end to end on digits: search, refits, artefacts, resume."""

import json
import os
import signal
import subprocess
import sys
import time

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV

from skmlp import MLPClassifier
from skmlp.architectures import SEED_ARCHITECTURES, get_architecture, param_grid
from skmlp.datasets import load_digits
from skmlp.experiment import (
    ExperimentConfig,
    check_output_dir,
    make_pipeline,
    make_search,
    run_experiment,
)

QUICK = dict(dataset="digits", architectures=["mlp2", "mlp3"], cv=3, epochs=3)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    result = run_experiment(ExperimentConfig(**QUICK), out=out, verbose=False)
    return result, out


def test_param_grid_is_exactly_the_six_architectures():
    grid = param_grid()
    search = GridSearchCV(make_pipeline(), grid)
    from sklearn.model_selection import ParameterGrid

    candidates = list(ParameterGrid(search.param_grid))
    assert len(candidates) == 6
    assert {tuple(c["mlp__hidden_layer_sizes"]) for c in candidates} == {
        a.hidden_layer_sizes for a in SEED_ARCHITECTURES
    }
    assert candidates[3] == {
        "mlp__hidden_layer_sizes": (1024, 512, 256), "mlp__batch_norm": True, "mlp__dropout": 0.5,
    }  # fmt: skip
    with pytest.raises(ValueError, match="Unknown architecture"):
        get_architecture("mlp9")


def test_architecture_parameter_counts_match_the_seed_and_keras():
    from skmlp import build_mlp

    for arch in SEED_ARCHITECTURES:
        built = build_mlp(784, 10, arch.hidden_layer_sizes, batch_norm=arch.batch_norm,
                          dropout=arch.dropout)  # fmt: skip
        assert arch.n_params() == arch.seed_params == built.count_params()
    assert get_architecture("mlp2").n_params(64, 10) == 33738


def test_pipeline_takes_raw_pixels_with_seed_settings():
    pipe = make_pipeline(16)
    mlp = pipe.named_steps["mlp"]
    assert isinstance(mlp, MLPClassifier)
    assert (mlp.batch_size, mlp.max_iter, mlp.alpha, mlp.solver) == (100, 20, 0.0, "adam")
    assert pipe.named_steps["scale"].pixel_max == 16
    X = np.array([[0, 8, 16]], dtype=np.uint8)
    np.testing.assert_allclose(pipe[:-1].fit_transform(X), [[0, 0.5, 1]])


def test_artefacts(finished):
    _result, out = finished
    names = ["results.csv", "results.md", "cv_results.csv", "run.json", "best_model.joblib",
             "best_model.skmlp"]  # fmt: skip
    for name in names:
        assert (out / name).is_file(), name
    for name in ["loss_curves.png", "cv_accuracy.png", "weights_mlp2.png", "weights_mlp3.png"]:
        assert (out / "plots" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    results = pd.read_csv(out / "results.csv")
    expected = {
        "architecture", "hidden_layer_sizes", "batch_norm", "dropout", "n_params",
        "cv_accuracy_mean", "cv_accuracy_std", "cv_log_loss_mean", "train_loss",
        "train_accuracy", "test_loss", "test_accuracy", "refit_time_s", "best",
    }  # fmt: skip
    assert expected <= set(results.columns)
    # ranked by CV, the best first
    assert set(results["architecture"]) == {"mlp2", "mlp3"}
    assert list(results["rank_cv"]) == [1, 2]
    assert results["cv_accuracy_mean"].is_monotonic_decreasing
    assert results.sort_values("architecture")["n_params"].tolist() == [
                                            64 * 256 + 256 + 256 * 64 + 64 + 650,
                                            64 * 1024 + 1024 + 1024 * 512 + 512 + 512 * 256
                                            + 256 + 2570]  # fmt: skip
    assert results["test_accuracy"].between(0.5, 1).all()
    cv = pd.read_csv(out / "cv_results.csv")
    assert {"split0_test_accuracy", "split2_test_accuracy", "mean_test_neg_log_loss"} <= set(
        cv.columns
    )
    assert len(list((out / "fits").glob("*.json"))) == 6
    record = json.loads((out / "run.json").read_text())
    assert record["complete"] and record["dataset"]["name"] == "digits"
    assert record["dataset"]["sha256"] == load_digits().sha256
    assert record["keras_backend"] in {"tensorflow", "jax", "torch"}
    assert {"skmlp", "keras", "scikit-learn"} <= set(record["versions"])
    assert record["timings"]["total_s"] > 0
    md = (out / "results.md").read_text()
    assert "| mlp2" in md and "best by CV" in md


def test_best_is_chosen_by_cv_not_test(finished):
    result, _out = finished
    res = result.results
    best = res.loc[res["best"]].iloc[0]
    assert best["cv_accuracy_mean"] == res["cv_accuracy_mean"].max()
    assert result.best_architecture == best["architecture"]
    # the CV means are the folds' mean, from the training set only
    cv = result.cv_results.set_index("candidate").loc[res["architecture"]]
    folds = cv[[f"split{i}_test_accuracy" for i in range(3)]].to_numpy()
    np.testing.assert_allclose(folds.mean(axis=1), res["cv_accuracy_mean"])


def test_best_is_chosen_by_cv_when_the_test_set_disagrees(tmp_path):
    # A test set whose labels are the training rule's opposite: the candidate that
    # learned the rule (best by CV) is the worst on it, a candidate that learned
    # nothing (learning rate 1e-6) scores better. The reported model is the CV's.
    import skmlp

    rng = np.random.RandomState(0)

    def frame(n, flip):
        X = rng.normal(size=(n, 4))
        y = (X[:, 0] > 0).astype(int)
        data = pd.DataFrame(X, columns=list("abcd"))
        data["label"] = 1 - y if flip else y
        return data

    frame(200, False).to_csv(tmp_path / "train.csv", index=False)
    frame(100, True).to_csv(tmp_path / "test.csv", index=False)
    data = {"path": str(tmp_path / "train.csv"), "target": "label",
            "test_path": str(tmp_path / "test.csv")}  # fmt: skip
    cfg = ExperimentConfig(
        data=data, dataset="flipped", epochs=5, cv=2, report_top=2, batch_size=32,
        space={"hidden_layer_sizes": [[16]], "learning_rate_init": [1e-2, 1e-6]}, random_state=0,
    )  # fmt: skip
    out = tmp_path / "out"
    result = run_experiment(cfg, out=out, verbose=False, plots=False)
    res = result.results.set_index("architecture")
    # the premise: CV and test rank the two candidates in opposite orders
    assert res["cv_accuracy_mean"].idxmax() != res["test_accuracy"].idxmax(), res
    best = res["cv_accuracy_mean"].idxmax()
    assert res.loc[best, "best"] and res["best"].sum() == 1
    assert result.best_architecture == best
    assert result.best_model[-1].learning_rate_init == 1e-2
    assert skmlp.load(out / "best_model.skmlp")[-1].learning_rate_init == 1e-2


def test_saved_best_model_predicts_raw_pixels(finished):
    result, out = finished
    digits = load_digits()
    model = joblib.load(out / "best_model.joblib")
    np.testing.assert_array_equal(
        model.predict_proba(digits.X_test), result.best_model.predict_proba(digits.X_test)
    )
    import skmlp

    safe = skmlp.load(out / "best_model.skmlp")
    np.testing.assert_array_equal(
        safe.predict_proba(digits.X_test), model.predict_proba(digits.X_test)
    )
    assert model.score(digits.X_test, digits.y_test) == pytest.approx(
        result.results.loc[result.results["best"], "test_accuracy"].iloc[0]
    )


def test_resumable_search_equals_plain_grid_search(finished):
    # the stored CV scores are exactly what a plain GridSearchCV computes
    result, _ = finished
    digits = load_digits()
    pipe = make_pipeline(16, max_iter=3, random_state=0)
    archs = [get_architecture(n) for n in QUICK["architectures"]]
    plain = make_search(pipe, archs, cv=3, random_state=0).fit(digits.X_train, digits.y_train)
    by_name = result.results.set_index("architecture")["cv_accuracy_mean"]
    np.testing.assert_allclose(
        plain.cv_results_["mean_test_accuracy"], by_name.loc[QUICK["architectures"]]
    )


def test_finished_run_is_reused_without_fitting(finished, monkeypatch):
    import skmlp.experiment.run

    result, out = finished

    def refuse(what):
        def fail(*args, **kwargs):
            pytest.fail(f"the finished run was not reused: it {what}")

        return fail

    # a reused run fits nothing and writes nothing (the lock aside); it loads the data
    # once, to recompute the reported train and test scores from the saved models
    # (issue 24, finding 8: tests/test_trust_records.py)
    monkeypatch.setattr(MLPClassifier, "fit", refuse("fitted a network"))
    monkeypatch.setattr(MLPClassifier, "partial_fit", refuse("fitted a network"))
    monkeypatch.setattr(skmlp.experiment.run, "_search", refuse("searched again"))
    monkeypatch.setattr(skmlp.experiment.run, "_refit_top", refuse("refitted"))

    def files():
        return {
            str(p.relative_to(out)): (p.stat().st_ino, p.stat().st_mtime_ns, p.stat().st_size)
            for p in out.rglob("*")
            if p.is_file() and p.name != ".skmlp-run.lock"
        }

    before = files()
    again = run_experiment(ExperimentConfig(**QUICK), out=out, verbose=False)
    assert files() == before, "the finished run's files were written again"
    # the figures reported are the recomputed ones: equal to what was written
    pd.testing.assert_frame_equal(again.results, pd.read_csv(out / "results.csv"), rtol=1e-6)
    assert again.best_architecture == result.best_architecture


def test_other_settings_in_same_folder_are_refused(finished):
    _, out = finished
    with pytest.raises(ValueError, match="holds a run with other settings"):
        run_experiment(ExperimentConfig(**(QUICK | {"epochs": 4})), out=out, verbose=False)


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(dataset="cifar"), "unknown dataset"),
        (dict(architectures=["mlp2", "nope"]), "Unknown architecture"),
        (dict(cv=1), "cv must be"),
        (dict(epochs=0), "epochs must be"),
        (dict(validation_fraction=1.0), "validation_fraction"),
        (dict(n_train=5), "n_train"),
    ],
)
def test_bad_config_is_refused_before_work(change, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        run_experiment(ExperimentConfig(**(QUICK | change)), out=tmp_path / "o", verbose=False)
    assert not (tmp_path / "o").exists()


def test_unwritable_output(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError, match="not writable"):
        check_output_dir(blocker / "sub")


@pytest.mark.slow
def test_resume_after_kill(tmp_path, monkeypatch):
    """Kill a run part-way; the re-run recomputes nothing that had finished."""
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "skmlp", "run", "--dataset", "digits", "--epochs", "3",
            "--architectures", "mlp2,mlp3", "--out", str(out), "--no-plots"]  # fmt: skip
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    fits = out / "fits"
    deadline = time.time() + 240
    while time.time() < deadline and len(list(fits.glob("*.json"))) < 2:
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = {p.name: p.read_bytes() for p in fits.glob("*.json")}
    assert 2 <= len(done) < 6, "the run should have been killed part-way"
    assert not (out / "results.csv").exists()

    fitted = []
    original = MLPClassifier.fit

    def counting_fit(self, *args, **kwargs):
        fitted.append(self.get_params()["hidden_layer_sizes"])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(MLPClassifier, "fit", counting_fit)
    result = run_experiment(ExperimentConfig(**QUICK), out=out, verbose=False, plots=False)
    # 6 CV fits less the finished ones, plus the 2 refits
    assert len(fitted) == 6 - len(done) + 2
    for name, content in done.items():
        assert (fits / name).read_bytes() == content  # kept as they were
    assert len(list(fits.glob("*.json"))) == 6
    assert not list(out.rglob(".*.part"))
    assert len(result.results) == 2


def test_time_left_estimate():
    from skmlp._progress import estimate_left

    # fixed cost 1 s plus 1 s per 1000 parameters, seen at two sizes
    done = [(1000, 2.0), (1000, 2.0), (3000, 4.0)]
    assert estimate_left(done, [5000, 1000]) == pytest.approx(6.0 + 2.0)
    # one fit of a size, which holds its compile, and that size still to come:
    # no estimate until its second fit tells compile and training apart
    assert estimate_left([(1000, 2.0)], [1000, 1000]) is None
    # only new sizes to come: bounded by "fixed cost only" and "cost
    # proportional to size" (tests/test_progress.py)
    assert 2.0 <= estimate_left([(1000, 2.0)], [9000]) <= 18.0
    assert estimate_left([], [1000]) is None
    assert estimate_left(done, []) == 0.0


@pytest.mark.skipif(
    not os.environ.get("SKMLP_MNIST_DIR"), reason="SKMLP_MNIST_DIR (real MNIST files) not set"
)
def test_full_flow_on_an_mnist_subsample(tmp_path):
    config = ExperimentConfig(dataset="mnist", architectures=["mlp2", "mlp2-bn-do"], cv=2,
                              epochs=2, n_train=1000, n_test=300)  # fmt: skip
    result = run_experiment(config, data_dir=os.environ["SKMLP_MNIST_DIR"], out=tmp_path,
                            verbose=False, plots=False)  # fmt: skip
    assert result.record["dataset"]["n_train"] == 1000
    assert result.record["dataset"]["n_test"] == 300
    assert sorted(result.results["n_params"].tolist()) == [218_058, 219_338]
    assert (result.results["test_accuracy"] > 0.5).all()  # chance is 0.1


# ------------------------------------------------- trust in a results folder
TINY = dict(dataset="digits", architectures=["mlp2"], cv=2, epochs=1, n_train=100, n_test=50)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_results_folder_is_verified_before_reuse(tmp_path, monkeypatch):
    """Foreign temporaries survive; swapped models and pickles are never loaded."""
    from _hostile import evil_pickle

    out = tmp_path / "run"
    out.mkdir()
    user = out / ".notes.part"
    user.write_text("mine")
    live = out / f".results.csv.{os.getpid()}.abcdefgh.skmlp-tmp.part"
    live.write_text("a live run's file, mid-write")
    dead = out / f".results.csv.{_dead_pid()}.abcdefgh.skmlp-tmp.part"
    dead.write_text("left by a killed run")
    old_umask = os.umask(0o022)
    try:
        run_experiment(ExperimentConfig(**TINY), out=out, verbose=False, plots=False)
    finally:
        os.umask(old_umask)
    assert user.read_text() == "mine" and live.exists() and not dead.exists()
    for name in ["run.json", "results.csv", "best_model.skmlp", "models/mlp2.skmlp"]:
        assert (out / name).stat().st_mode & 0o777 == 0o644, name  # the umask, not 0600

    # someone swaps the stored models for pickles and marks the run unfinished
    marker = tmp_path / "pwned"
    for name in ["models/mlp2.skmlp", "models/mlp2.joblib", "best_model.joblib"]:
        (out / name).write_bytes(evil_pickle(marker))
    record = json.loads((out / "run.json").read_text())
    (out / "run.json").write_text(json.dumps(record | {"complete": False}))
    fitted = []
    original = MLPClassifier.fit
    monkeypatch.setattr(
        MLPClassifier, "fit", lambda self, *a, **k: fitted.append(1) or original(self, *a, **k)
    )
    result = run_experiment(ExperimentConfig(**TINY), out=out, verbose=False, plots=False)
    assert not marker.exists()
    assert len(fitted) == 1  # the CV folds were reused, the swapped refit was redone
    result.best_model  # verified against run.json; never unpickled  # noqa: B018
    assert not marker.exists()

    # a finished run's best model, changed afterwards, is refused
    (out / "best_model.skmlp").write_bytes((out / "models" / "mlp2.skmlp").read_bytes() + b"\0")
    again = run_experiment(ExperimentConfig(**TINY), out=out, verbose=False, plots=False)
    with pytest.raises(ValueError, match="does not match the SHA-256"):
        again.best_model  # noqa: B018
    assert not marker.exists()


def test_one_run_per_output_folder(tmp_path, capsys):
    import socket

    from skmlp.experiment._files import OutputLock

    out = tmp_path / "busy"
    out.mkdir()
    with OutputLock(out, "skmlp run (the other one)", print):
        with pytest.raises(OSError, match=f"in use by another skmlp run \\(pid {os.getpid()} "
                                          f"on {socket.gethostname()}"):  # fmt: skip
            run_experiment(ExperimentConfig(**TINY), out=out, verbose=False, plots=False)
    assert not (out / "run.json").exists()
    # a lock left by a killed run is recognised and taken over
    (out / ".skmlp-run.lock").write_text(
        json.dumps({"pid": _dead_pid(), "host": socket.gethostname()})
    )
    with pytest.raises(ValueError, match="unknown dataset"):  # settings are checked first
        run_experiment(ExperimentConfig(**(TINY | {"dataset": "x"})), out=out, verbose=False)
    with OutputLock(out, None, print):
        pass
    assert "taking over the lock of a run that is no longer running" in capsys.readouterr().out


def test_settings_are_checked_against_the_data_before_any_fit(tmp_path, monkeypatch):
    monkeypatch.setattr(MLPClassifier, "fit", lambda *a, **k: pytest.fail("fitted"))
    for change, match in [
        ({"validation_fraction": 0.999}, r"validation_fraction=0\.999 .* leaves 1 to train"),
        ({"cv": 20, "n_train": 100}, "cv=20 stratified folds"),
    ]:
        with pytest.raises(ValueError, match=match):
            run_experiment(ExperimentConfig(**(QUICK | change)), out=tmp_path / "o",
                           verbose=False)  # fmt: skip
    with pytest.raises(ValueError, match="n_jobs"):
        run_experiment(ExperimentConfig(**QUICK), out=tmp_path / "o", n_jobs=0, verbose=False)


def test_broken_record_names_the_file(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "run.json").write_text('{"config_key": ')
    with pytest.raises(ValueError, match=f"{out / 'run.json'}: not valid JSON"):
        run_experiment(ExperimentConfig(**QUICK), out=out, verbose=False)


def test_default_output_folder_is_per_dataset():
    from skmlp.experiment import default_output_dir

    assert default_output_dir("digits") != default_output_dir("mnist")
    assert default_output_dir("mnist").name == "mnist"
