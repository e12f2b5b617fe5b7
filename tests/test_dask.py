"""GridSearchCV(n_jobs=-1) on a Dask cluster through joblib's Dask backend (the dask extra)."""

import functools
import json
import os
import warnings

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from skmlp import MLPClassifier, PixelScaler

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.slow

GRID = {"clf__hidden_layer_sizes": [(16,), (32,)]}


@pytest.fixture(scope="module")
def client():
    """Two single-threaded worker processes on this machine, as a real cluster has."""

    # the nannies set OMP_NUM_THREADS=1, PYTHONHASHSEED and others in this process's
    # environment before spawning workers, and leave them set; put it back afterwards
    environ = dict(os.environ)
    try:
        with (
            distributed.LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            client.wait_for_workers(2)
            yield client
    finally:
        for key in set(os.environ) - set(environ):
            del os.environ[key]
        os.environ.update(environ)


@pytest.fixture
def worker_fits(client):
    """Count the MLPClassifier fits each worker process runs from now on, in that process.

    Returns a function that reads the counts, by worker. The workers are shared by
    the module's tests, so every test starts its own count at zero: what it reads
    was fitted there during the test, not left by another test.
    """

    def start():
        # runs in each worker: wrap its MLPClassifier.fit (once) and zero the count
        import functools

        import skmlp

        cls = skmlp.MLPClassifier
        if not hasattr(cls.fit, "fits_seen"):
            original = cls.fit

            @functools.wraps(original)
            def fit(self, *args, **kwargs):
                fit.fits_seen += 1
                return original(self, *args, **kwargs)

            cls.fit = fit
        cls.fit.fits_seen = 0
        return os.getpid()

    def seen():
        import skmlp

        return getattr(skmlp.MLPClassifier.fit, "fits_seen", None)

    pids = client.run(start)
    assert len(pids) == 2 and os.getpid() not in pids.values(), pids
    yield lambda: client.run(seen)
    # the same processes counted throughout: no worker was restarted in between
    assert client.run(os.getpid) == pids


@pytest.fixture
def local_fits(monkeypatch):
    """Count the MLPClassifier fits run in this (the client's) process."""
    calls = []
    original = MLPClassifier.fit

    @functools.wraps(original)
    def fit(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(MLPClassifier, "fit", fit)
    return calls


@pytest.fixture(scope="module")
def digits_400():
    X, y = load_digits(return_X_y=True)
    return X[:400].astype(np.float32), y[:400]


def search(n_jobs):
    pipe = Pipeline(
        [
            ("scale", PixelScaler(pixel_max=16.0)),
            ("clf", MLPClassifier(max_iter=3, batch_size=50, random_state=0)),
        ]
    )
    return GridSearchCV(pipe, GRID, cv=2, n_jobs=n_jobs)


def test_grid_search_on_dask_equals_local_run(worker_fits, local_fits, digits_400):
    X, y = digits_400
    with warnings.catch_warnings():
        # 3 epochs do not converge, on purpose: the test is about where fits run
        warnings.simplefilter("ignore", ConvergenceWarning)
        with joblib.parallel_config(backend="dask"):
            on_dask = search(n_jobs=-1).fit(X, y)
        # the 2 candidates x 2 folds were fitted in the worker processes, during this
        # test, some in each; here only the refit of the best candidate
        fitted_there = worker_fits()
        assert sum(fitted_there.values()) == 4, fitted_there
        assert all(n > 0 for n in fitted_there.values()), fitted_there
        assert len(local_fits) == 1, local_fits
        local = search(n_jobs=1).fit(X, y)
    assert worker_fits() == fitted_there  # the local search fitted nothing there

    # an int random_state gives bit-identical fits in any process on the same CPU
    for key in ["mean_test_score", "split0_test_score", "split1_test_score"]:
        np.testing.assert_array_equal(on_dask.cv_results_[key], local.cv_results_[key], key)
    assert on_dask.best_params_ == local.best_params_
    np.testing.assert_array_equal(
        on_dask.best_estimator_.predict(X), local.best_estimator_.predict(X)
    )


def test_skmlp_run_on_dask_equals_local_run(client, worker_fits, tmp_path, capsys):
    # the command line's --dask-scheduler: a config-driven search's fits on the cluster
    from skmlp.cli import main

    path = tmp_path / "search.toml"
    path.write_text(
        '[data]\ndataset = "digits"\nn_train = 400\nn_test = 200\n'
        "[estimator]\nmax_iter = 3\nbatch_size = 50\n"
        '[search]\nkind = "random"\nn_iter = 3\ncv = 2\nreport_top = 1\nvalidation_fraction = 0.0\n'
        "[search.space]\nhidden_layer_sizes = [[16], [24], [32]]\n"
    )
    address = client.scheduler.address
    argv = ["run", "--config", str(path), "--no-plots", "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "dask"), "--dask-scheduler", address]) == 0
    # the 3 candidates x 2 folds were fitted in the worker processes, during this run,
    # some in each (the refit of the best candidate runs here)
    fitted_there = worker_fits()
    assert sum(fitted_there.values()) == 6, fitted_there
    assert all(n > 0 for n in fitted_there.values()), fitted_there
    assert main([*argv, "--out", str(tmp_path / "local")]) == 0
    assert worker_fits() == fitted_there  # the local run fitted nothing there
    # and the fits on the workers gave the local run's numbers
    import pandas as pd

    dask_rank = pd.read_csv(tmp_path / "dask" / "ranking.csv")
    local_rank = pd.read_csv(tmp_path / "local" / "ranking.csv")
    cols = ["candidate", "params", "cv_accuracy_mean", "cv_log_loss_mean"]
    pd.testing.assert_frame_equal(dask_rank[cols], local_rank[cols])
    dask_run = json.loads((tmp_path / "dask" / "run.json").read_text())
    assert dask_run["config"]["dask_scheduler"] == address


def test_an_unreachable_scheduler_is_one_error_line(tmp_path, capsys, monkeypatch):
    import skmlp.experiment.cluster
    from skmlp.cli import main

    monkeypatch.setattr(skmlp.experiment.cluster, "CONNECT_TIMEOUT", "2s")  # not 20 s of waiting

    path = tmp_path / "search.toml"
    path.write_text('[data]\ndataset = "digits"\nn_train = 100\n[search]\ncv = 2\n')
    argv = ["run", "--config", str(path), "--out", str(tmp_path / "o"), "--quiet"]
    assert main([*argv, "--dask-scheduler", "tcp://127.0.0.1:9"]) == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in capsys.readouterr().err
