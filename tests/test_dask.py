"""GridSearchCV(n_jobs=-1) on a Dask cluster through joblib's Dask backend (the dask extra)."""

import functools
import json
import os
import signal
import subprocess
import sys
import time
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
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _env(**changes):
    """This environment with this checkout importable, without the GPU settings skmlp makes."""
    env = dict(os.environ, **changes)
    for key in ("XLA_PYTHON_CLIENT_PREALLOCATE", "TF_FORCE_GPU_ALLOW_GROWTH"):
        env.pop(key, None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (REPO, os.environ.get("PYTHONPATH")) if p)
    return env


def _local_cluster(n_workers):
    """A client of ``n_workers`` single-threaded worker processes on this machine."""
    # the nannies set OMP_NUM_THREADS=1, PYTHONHASHSEED and others in this process's
    # environment before spawning workers, and leave them set; put it back afterwards
    environ = dict(os.environ)
    try:
        with (
            distributed.LocalCluster(
                n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            client.wait_for_workers(n_workers)
            yield client
    finally:
        os.environ.clear()
        os.environ.update(environ)


@pytest.fixture(scope="module")
def client():
    """Two single-threaded worker processes on this machine, as a real cluster has."""
    yield from _local_cluster(2)


def _start_counting(client, n_workers):
    """Count the MLPClassifier fits each worker process runs from now on, in that process.

    Returns a function that reads the counts, by worker: ``started`` and
    ``running`` (started, not yet ended). The workers may be shared by tests,
    so each count starts at zero: what a test reads was fitted during the test,
    not left by another test.
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
                fit.running += 1
                try:
                    return original(self, *args, **kwargs)
                finally:
                    fit.running -= 1

            cls.fit = fit
        cls.fit.fits_seen = 0
        cls.fit.running = 0
        return os.getpid()

    pids = client.run(start)
    assert len(pids) == n_workers and os.getpid() not in pids.values(), pids

    def seen(what="fits_seen"):
        import skmlp

        return getattr(skmlp.MLPClassifier.fit, what, None)

    def counts(what="fits_seen"):
        # the same processes counted throughout: no worker was restarted in between
        assert client.run(os.getpid) == pids
        return client.run(seen, what)

    return counts


@pytest.fixture
def worker_fits(client):
    """The fits each of ``client``'s two workers runs during the test (:func:`_start_counting`)."""
    return _start_counting(client, 2)


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
    # the records say so too, each with the address its worker computed
    ran_on = [r["ran_on"] for r in _fit_records(tmp_path / "dask")]
    assert {a: ran_on.count(a) for a in fitted_there} == fitted_there, ran_on
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


# ------------------------------------------ workers that do not share the client's disk
def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _own_disk_problem(folder) -> str | None:
    """Why workers cannot get their own disk at ``folder`` here (``None``: they can)."""
    import shutil

    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "giving workers their own disk needs root (a mount namespace with a tmpfs)"
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return "giving workers their own disk needs unshare and mount (util-linux)"
    probe = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c",
         'mount -t tmpfs skmlp-probe "$0" && test ! -e "$0/probe"', str(folder)],
        capture_output=True, text=True,
    )  # fmt: skip
    if probe.returncode != 0:
        return f"unshare -m with a tmpfs failed here: {probe.stderr.strip()[:200]}"
    return None


@pytest.fixture(scope="module")
def far_cluster(tmp_path_factory):
    """A scheduler and two worker processes whose view of ``base`` is a fresh tmpfs.

    The workers run in their own mount namespace, with a tmpfs mounted on the
    folder that holds every results folder of these tests: they see the client's
    paths, but not its files, as workers on other machines would. Yields
    ``(client, base)``.
    """
    import keras

    base = tmp_path_factory.mktemp("far")
    (base / "probe").write_text("the client's disk")
    problem = _own_disk_problem(base)
    if problem:
        pytest.skip(problem)
    env = _env(KERAS_BACKEND=keras.backend.backend())
    address = f"tcp://127.0.0.1:{_free_port()}"
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", address.rsplit(":", 1)[1], "--no-dashboard"], **quiet,
    )  # fmt: skip
    workers = subprocess.Popen(
        ["unshare", "-m", "--propagation", "private", "sh", "-c",
         'mount -t tmpfs skmlp-worker-disk "$0" && exec "$1" -m distributed.cli.dask_worker '
         '"$2" --nworkers 2 --nthreads 1 --no-dashboard --host 127.0.0.1',
         str(base), sys.executable, address], **quiet,
    )  # fmt: skip
    environ = dict(os.environ)
    try:
        with distributed.Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=120)
            yield client, base
    finally:
        for process in (workers, scheduler):
            process.terminate()
        for process in (workers, scheduler):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        os.environ.clear()
        os.environ.update(environ)


SEARCH_TOML = (
    '[data]\ndataset = "digits"\nn_train = {n_train}\nn_test = 200\n'
    "[estimator]\nmax_iter = {epochs}\nbatch_size = 50\n"
    '[search]\nkind = "random"\nn_iter = 4\ncv = 2\nreport_top = 1\nvalidation_fraction = 0.0\n'
    "[search.space]\nhidden_layer_sizes = [[8], [16], [24], [32]]\n"
    'learning_rate_init = {{ distribution = "loguniform", low = 1e-3, high = 3e-2 }}\n'
)


def _fit_records(folder):
    return [json.loads(p.read_text()) for p in sorted((folder / "fits").glob("*.json"))]


def test_skmlp_run_on_workers_with_their_own_disk(far_cluster, tmp_path, capsys):
    # issue 25: workers that do not see the client's disk (other machines); on main every
    # record went to the workers' disk, every CV score was NaN and the first candidate won
    from skmlp.cli import main

    client, base = far_cluster
    # the workers' view of base is another file system, empty of the client's files
    assert set(client.run(os.path.exists, str(base / "probe")).values()) == {False}
    addresses = set(client.run(os.getpid))
    config = tmp_path / "search.toml"
    config.write_text(SEARCH_TOML.format(n_train=400, epochs=3))
    from skmlp.experiment.cluster import worker_environment

    before = client.run(worker_environment)
    assert all(e["XLA_PYTHON_CLIENT_PREALLOCATE"] is None for e in before.values()), before
    counts = _start_counting(client, 2)
    argv = ["run", "--config", str(config), "--no-plots"]
    start = time.perf_counter()
    assert (
        main([*argv, "--out", str(base / "dask"), "--dask-scheduler", client.scheduler.address])
        == 0
    )
    dask_s = time.perf_counter() - start
    printed = capsys.readouterr().out
    # every one of the 4 x 2 fits ran on a worker, counted there; some on each
    fitted_there = counts()
    assert sum(fitted_there.values()) == 8 and all(fitted_there.values()), fitted_there
    # and their records, written by the client, say where, as each worker knew it
    records = _fit_records(base / "dask")
    assert len(records) == 8
    ran_on = {r["ran_on"] for r in records}
    assert ran_on == addresses, (ran_on, addresses)
    by_worker = {a: sum(r["ran_on"] == a for r in records) for a in addresses}
    assert by_worker == fitted_there
    assert "0 in the client" in printed and "(2 workers, 2 threads)" in printed, printed
    # the address, before anything was sent there
    address = client.scheduler.address
    assert printed.index(f"connecting to the Dask scheduler at {address}") < printed.index(
        "CV fits"
    )
    # nothing was written on the workers' disk
    assert set(client.run(os.path.exists, str(base / "dask")).values()) == {False}
    # each worker took GPU memory as needed (set before the backend was imported)
    after = client.run(worker_environment)
    for env in after.values():
        assert env["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false", after
        assert env["TF_FORCE_GPU_ALLOW_GROWTH"] == "true", after

    start = time.perf_counter()
    assert main([*argv, "--out", str(base / "local")]) == 0
    local_s = time.perf_counter() - start
    assert counts() == fitted_there  # the local run fitted nothing there
    import pandas as pd

    dask_rank = pd.read_csv(base / "dask" / "ranking.csv")
    local_rank = pd.read_csv(base / "local" / "ranking.csv")
    cols = ["candidate", "params", "cv_accuracy_mean", "cv_log_loss_mean"]
    assert dask_rank["cv_accuracy_mean"].notna().all()
    pd.testing.assert_frame_equal(dask_rank[cols], local_rank[cols])
    dask_run = json.loads((base / "dask" / "run.json").read_text())
    assert dask_run["best_architecture"] == dask_rank["candidate"][0]
    assert dask_run["cv_fits_ran_on"] == {**fitted_there, "client": 0}
    print(f"\nfits per worker {fitted_there}; cluster run {dask_s:.1f}s, local run {local_s:.1f}s")


def test_a_killed_client_leaves_no_orphan_fits_and_resumes_without_refitting(far_cluster, tmp_path):
    # SIGKILL the client mid-search: the workers start no further fit, and the resumed
    # run against the same cluster fits only what never ran (records of fits that ended
    # after the kill wait on the scheduler for it)
    from skmlp.cli import main

    client, base = far_cluster
    out = base / "killed"
    config = tmp_path / "search.toml"
    config.write_text(SEARCH_TOML.format(n_train=1000, epochs=25))
    counts = _start_counting(client, 2)
    argv = ["run", "--config", str(config), "--no-plots", "--quiet", "--out", str(out),
            "--dask-scheduler", client.scheduler.address]  # fmt: skip
    env = _env()
    killed = subprocess.Popen([sys.executable, "-m", "skmlp", *argv], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.time() + 180
        while len(list((out / "fits").glob("*.json"))) < 2:
            assert killed.poll() is None, "the client ended before it could be killed"
            assert time.time() < deadline, "no fit record reached the client in 3 minutes"
            time.sleep(0.05)
        killed.send_signal(signal.SIGKILL)
    finally:
        killed.kill()
        killed.wait()
    assert sum(counts().values()) < 8, "the search ended before the kill: nothing tested"
    # no orphan: within a few seconds no worker runs a fit, and none starts after that
    deadline = time.time() + 30
    while any(counts("running").values()):
        assert time.time() < deadline, counts("running")
        time.sleep(0.2)
    started = sum(counts().values())
    time.sleep(3)
    assert sum(counts().values()) == started and not any(counts("running").values())
    assert not json.loads((out / "run.json").read_text())["complete"]

    assert main(argv) == 0
    # each of the 8 planned fits ran once, over both runs: none was fitted again
    assert sum(counts().values()) == 8, counts()
    records = _fit_records(out)
    assert len(records) == 8 and len({r["key"] for r in records}) == 8


def test_grid_search_with_the_store_on_workers_with_their_own_disk(far_cluster, digits_400):
    # make_search's resumable store under joblib's Dask backend, used from Python: the
    # records reach the client's store, and a second fit recomputes nothing
    from skmlp.architectures import SEED_ARCHITECTURES
    from skmlp.experiment import make_pipeline, make_search

    client, base = far_cluster
    X, y = digits_400
    archs = SEED_ARCHITECTURES[:2]
    pipe = make_pipeline(16.0, max_iter=3, batch_size=50, random_state=0)
    counts = _start_counting(client, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with joblib.parallel_config(backend="dask"):
            on_dask = make_search(pipe, archs, cv=2, n_jobs=-1, store=base / "grid").fit(X, y)
        fitted_there = counts()
        assert sum(fitted_there.values()) == 4 and all(fitted_there.values()), fitted_there
        records = [json.loads(p.read_text()) for p in (base / "grid").glob("*.json")]
        assert {r["ran_on"] for r in records} == set(client.run(os.getpid))
        with joblib.parallel_config(backend="dask"):
            again = make_search(pipe, archs, cv=2, n_jobs=-1, store=base / "grid").fit(X, y)
        assert counts() == fitted_there  # every fold replayed, none refitted
        local = make_search(pipe, archs, cv=2, store=base / "grid-local").fit(X, y)
    for key in ["mean_test_accuracy", "mean_test_neg_log_loss"]:
        np.testing.assert_array_equal(on_dask.cv_results_[key], local.cv_results_[key], key)
        np.testing.assert_array_equal(again.cv_results_[key], local.cv_results_[key], key)
    assert not any(client.run(os.path.exists, str(base / "grid")).values())


@pytest.fixture(scope="module")
def one_thread_client():
    """One worker process of one thread: joblib's Dask backend then offered one job."""
    yield from _local_cluster(1)


def test_a_one_thread_cluster_runs_every_fit(one_thread_client, tmp_path, capsys):
    # on main, joblib ran all the fits in the client, one after the other, while skmlp
    # said they ran on the cluster
    from skmlp.cli import main

    config = tmp_path / "search.toml"
    config.write_text(SEARCH_TOML.format(n_train=300, epochs=2).replace("n_iter = 4", "n_iter = 2"))
    counts = _start_counting(one_thread_client, 1)
    address = one_thread_client.scheduler.address
    argv = ["run", "--config", str(config), "--no-plots", "--out", str(tmp_path / "o")]
    assert main([*argv, "--dask-scheduler", address]) == 0
    assert list(counts().values()) == [4], counts()
    printed = capsys.readouterr().out
    assert "(1 workers, 1 threads)" in printed and "0 in the client" in printed, printed


def test_a_cancelled_task_starts_no_further_fit(client):
    # joblib's Dask tasks run batches of fits: once the client is gone (its task cancelled
    # by the scheduler), the worker starts none of the batch's remaining fits
    import uuid

    name = f"skmlp-test-{uuid.uuid4().hex}"

    def batch(name):
        from distributed import Event, Queue, get_worker

        from skmlp.experiment.cluster import ClientGone, check_still_wanted

        Event(name).wait(60)  # the test cancels the task meanwhile, or lets it run
        try:
            check_still_wanted(get_worker())
            Queue(name).put("started")
        except ClientGone:
            Queue(name).put("refused")

    answers = distributed.Queue(name, client=client)
    event = distributed.Event(name, client=client)
    wanted = client.submit(batch, name, key=f"{name}-wanted")
    cancelled = client.submit(batch, name, key=f"{name}-cancelled")
    deadline = time.time() + 60
    while sum(map(len, client.processing().values())) < 2:  # one on each worker
        assert time.time() < deadline, client.processing()
        time.sleep(0.1)
    client.cancel(cancelled)
    time.sleep(1)  # the worker hears of it
    event.set()
    wanted.result(timeout=60)
    got = sorted(answers.get(timeout=60) for _ in range(2))
    assert got == ["refused", "started"], got
