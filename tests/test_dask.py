"""GridSearchCV(n_jobs=-1) on a Dask cluster through joblib's Dask backend (the dask extra)."""

import json
import os
import sys
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


def test_grid_search_on_dask_equals_local_run(client, digits_400):
    X, y = digits_400
    with warnings.catch_warnings():
        # 3 epochs do not converge, on purpose: the test is about where fits run
        warnings.simplefilter("ignore", ConvergenceWarning)
        with joblib.parallel_config(backend="dask"):
            on_dask = search(n_jobs=-1).fit(X, y)
        local = search(n_jobs=1).fit(X, y)

    # the fits ran in both worker processes: each one unpickled an skmlp estimator
    ran_there = client.run(lambda: "skmlp._classifier" in sys.modules)
    assert list(ran_there.values()) == [True, True], ran_there
    # an int random_state gives bit-identical fits in any process on the same CPU
    for key in ["mean_test_score", "split0_test_score", "split1_test_score"]:
        np.testing.assert_array_equal(on_dask.cv_results_[key], local.cv_results_[key], key)
    assert on_dask.best_params_ == local.best_params_
    np.testing.assert_array_equal(
        on_dask.best_estimator_.predict(X), local.best_estimator_.predict(X)
    )


def test_skmlp_run_on_dask_equals_local_run(client, tmp_path, capsys):
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
    assert main([*argv, "--out", str(tmp_path / "local")]) == 0
    # the fits ran in the workers, and gave the local run's numbers
    ran_there = client.run(lambda: "skmlp._classifier" in sys.modules)
    assert list(ran_there.values()) == [True, True], ran_there
    import pandas as pd

    dask_rank = pd.read_csv(tmp_path / "dask" / "ranking.csv")
    local_rank = pd.read_csv(tmp_path / "local" / "ranking.csv")
    cols = ["candidate", "params", "cv_accuracy_mean", "cv_log_loss_mean"]
    pd.testing.assert_frame_equal(dask_rank[cols], local_rank[cols])
    dask_run = json.loads((tmp_path / "dask" / "run.json").read_text())
    assert dask_run["config"]["dask_scheduler"] == address


def test_an_unreachable_scheduler_is_one_error_line(tmp_path, capsys, monkeypatch):
    import skmlp.experiment
    from skmlp.cli import main

    monkeypatch.setattr(skmlp.experiment, "_DASK_CONNECT_TIMEOUT", "2s")  # not 20 s of waiting

    path = tmp_path / "search.toml"
    path.write_text('[data]\ndataset = "digits"\nn_train = 100\n[search]\ncv = 2\n')
    argv = ["run", "--config", str(path), "--out", str(tmp_path / "o"), "--quiet"]
    assert main([*argv, "--dask-scheduler", "tcp://127.0.0.1:9"]) == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in capsys.readouterr().err
