"""The ``callbacks`` parameter: Keras callbacks on every training path, and resumed fits.

The cross-backend comparisons and the kill-and-resume run in subprocesses
(tests/_callback_cases.py): the fused JAX epoch in a JAX process, whichever
backend this session uses.
"""

import importlib.util
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError

import skmlp
from skmlp import MLPClassifier, MLPRegressor
from skmlp._callbacks import BackupError

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
CASES = Path(__file__).with_name("_callback_cases.py")
HAVE_JAX = importlib.util.find_spec("jax") is not None
HAVE_TF = importlib.util.find_spec("tensorflow") is not None
X, y = load_digits(return_X_y=True)
X, y = X[:200] / 16, y[:200]


def _cases(*args, backend="jax"):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH=str(CASES.parents[1]))  # fmt: skip
    out = subprocess.run([sys.executable, str(CASES), *args], env=env, capture_output=True,
                         text=True, timeout=600)  # fmt: skip
    return out


def _stop_after(epochs):
    """Keras' EarlyStopping, made to stop after ``epochs`` epochs whatever the loss."""
    return keras.callbacks.EarlyStopping(monitor="loss", patience=epochs - 1, min_delta=1e9)


@pytest.fixture(scope="module")
def jax_run(tmp_path_factory):
    """A fit killed as epoch 8 begins, resumed, then run uninterrupted, in JAX processes."""
    if not HAVE_JAX:
        pytest.skip("JAX is not installed")
    backup = tmp_path_factory.mktemp("backup") / "dir"
    killed = _cases("kill", str(backup), "8")
    assert killed.returncode == 3, killed.stderr[-3000:]
    assert (backup / "latest.weights.h5").exists()
    out = _cases("resume", str(backup))
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _local_cases():
    spec = importlib.util.spec_from_file_location("_callback_cases", CASES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.skipif(not (HAVE_JAX and HAVE_TF), reason="needs both JAX and TensorFlow")
def test_a_callback_sees_the_same_epoch_logs_on_the_fused_jax_epoch_and_tensorflow(jax_run):
    jax_logs = jax_run["logs"]
    if keras.backend.backend() == "tensorflow":
        tf_logs = _local_cases().epoch_logs()
    else:
        out = _cases("logs", backend="tensorflow")
        assert out.returncode == 0, out.stderr[-3000:]
        tf_logs = json.loads(out.stdout.strip().splitlines()[-1])["logs"]
    assert jax_logs["fused_calls"] == 1  # the fused epoch ran the JAX fit
    for run in (jax_logs, tf_logs):
        logs = run["logs"]
        assert [entry["epoch"] for entry in logs] == [0, 1, 2]
        # the logs are what the estimator records (its warm-started 3 epochs)
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            np.testing.assert_allclose([e[key] for e in logs], run["history"][key][-3:])
    for a, b in zip(jax_logs["logs"], tf_logs["logs"], strict=True):
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_allclose(a[key], b[key], rtol=1e-4, atol=1e-5, err_msg=key)


@pytest.mark.slow
def test_a_killed_fit_resumes_from_its_backup_to_the_uninterrupted_result(jax_run):
    resumed, plain = jax_run["resumed"], jax_run["plain"]
    assert resumed["n_iter"] == plain["n_iter"] > 8
    for key in ("t", "no_improvement", "best_validation_score"):
        assert resumed[key] == plain[key], key
    np.testing.assert_allclose(resumed["loss_curve"], plain["loss_curve"], rtol=1e-5)
    np.testing.assert_allclose(resumed["validation_scores"], plain["validation_scores"])
    for a, b in zip(resumed["coefs"], plain["coefs"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert not jax_run["backup_left"]  # Keras' BackupAndRestore deletes it at the end


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_stop_training_ends_the_fit(solver):
    clf = MLPClassifier((8,), solver=solver, max_iter=30, random_state=0,
                        callbacks=_stop_after(3)).fit(X, y)  # fmt: skip
    assert clf.n_iter_ == 3
    if solver == "adam":
        assert len(clf.loss_curve_) == 3
    assert clf.callbacks.stopped_epoch == 2


def test_the_regressor_logs_its_validation_r2():
    seen = []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(logs))
    reg = MLPRegressor(hidden_layer_sizes=(8,), max_iter=2, monitor_validation=True,
                       random_state=0, callbacks=[record]).fit(X, y)  # fmt: skip
    assert [logs["val_r2"] for logs in seen] == reg.validation_scores_
    assert [logs["loss"] for logs in seen] == pytest.approx(reg.loss_curve_)


def test_batch_hooks_run_on_keras_fit_and_are_refused_where_they_cannot():
    batches = []
    hook = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: batches.append(b))
    with pytest.raises(ValueError, match="solver='lbfgs' cannot call"):
        MLPClassifier((8,), solver="lbfgs", max_iter=2, callbacks=hook).fit(X, y)
    clf = MLPClassifier((8,), max_iter=2, batch_size=50, callbacks=hook)
    if keras.backend.backend() == "jax":
        with pytest.raises(ValueError, match=r"on_train_batch_end.*fused JAX epoch"):
            clf.fit(X, y)
    else:
        # Keras calls them once per compiled call of up to 32 minibatches (its
        # steps_per_execution): an epoch of four minibatches is one call
        clf.fit(X, y)
        assert len(batches) == 2
        clf.partial_fit(X, y)  # not the quick epoch, which has no batch hooks
        assert len(batches) == 3


def test_callbacks_parameter_is_checked():
    with pytest.raises(InvalidParameterError, match="callbacks"):
        MLPClassifier(callbacks="early").fit(X, y)
    with pytest.raises(InvalidParameterError, match="callbacks"):
        MLPClassifier(callbacks=[keras.callbacks.EarlyStopping]).fit(X, y)  # a class


def test_callbacks_survive_clone_params_and_pickle_but_not_skmlp_files(tmp_path):
    stop = _stop_after(2)
    clf = MLPClassifier((8,), max_iter=10, random_state=0, callbacks=[stop]).fit(X, y)
    assert stop.model is None  # the fitted network is model_; the callback keeps none
    copy = clone(clf)
    assert isinstance(copy.callbacks[0], keras.callbacks.EarlyStopping)
    assert copy.callbacks[0] is not stop
    assert clone(copy).set_params(callbacks=None).fit(X, y).n_iter_ == 10
    assert copy.fit(X, y).n_iter_ == 2
    loaded = pickle.loads(pickle.dumps(clf))
    assert loaded.callbacks[0].stopped_epoch == 1
    assert loaded.set_params(warm_start=False).fit(X, y).n_iter_ == 2
    with pytest.warns(UserWarning, match="callbacks are not stored"):
        skmlp.save(clf, tmp_path / "m.skmlp")
    assert skmlp.load(tmp_path / "m.skmlp").callbacks is None


def test_a_model_file_naming_callbacks_is_refused(tmp_path):
    from _hostile import edit, mlp_entry

    clf = MLPClassifier((8,), max_iter=2, random_state=0).fit(X, y)
    skmlp.save(clf, tmp_path / "m.skmlp")

    def change(manifest, members):
        mlp_entry(manifest)["params"]["callbacks"] = "keras.callbacks.TerminateOnNaN"

    (tmp_path / "bad.skmlp").write_bytes(edit((tmp_path / "m.skmlp").read_bytes(), change))
    with pytest.raises(skmlp.ModelFileError, match="callbacks must be null"):
        skmlp.load(tmp_path / "bad.skmlp")


@pytest.mark.slow
def test_a_callback_in_a_parallel_grid_search():
    search = GridSearchCV(
        MLPClassifier((8,), max_iter=20, random_state=0, callbacks=_stop_after(2)),
        {"alpha": [1e-4, 1e-2]},
        cv=2,
        n_jobs=2,
        scoring=lambda est, X, y: est.n_iter_,  # each fit in the workers stopped at 2
    ).fit(X, y)
    assert list(search.cv_results_["mean_test_score"]) == [2, 2]
    assert search.best_estimator_.n_iter_ == 2


class _Interrupt(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2:
            raise KeyboardInterrupt


def test_backups_resume_in_process_and_hostile_ones_are_refused(tmp_path):
    backup = tmp_path / "backup"

    def fit(*extra):
        callbacks = [keras.callbacks.BackupAndRestore(str(backup)), *extra]
        return MLPClassifier((8,), max_iter=4, random_state=0, callbacks=callbacks).fit(X, y)

    with pytest.raises(KeyboardInterrupt):
        fit(_Interrupt())
    state = backup / "skmlp_estimator_0.json"  # after epoch 2: slot 0
    good = state.read_bytes()
    record = json.loads(good)
    assert record["epoch"] == 2 and record["n_iter_"] == 2
    for bad, match in [
        ({**record, "n_iter_": "2"}, "'n_iter_' is not of the type"),
        ({**record, "epoch": 1}, "at epoch 1, but Keras' backup beside it is at epoch 2"),
        ({**record, "rm -rf": 1}, "entries differ"),
        ({**record, "history_": {"loss": ["x"]}}, "history 'loss' is not a list of numbers"),
    ]:
        state.write_text(json.dumps(bad))
        with pytest.raises(BackupError, match=match):
            fit()
    state.write_bytes(b"\xff" * 10)
    with pytest.raises(BackupError, match="not JSON"):
        fit()
    (tmp_path / "elsewhere.json").write_bytes(good)
    state.unlink()
    state.symlink_to(tmp_path / "elsewhere.json")
    with pytest.raises(BackupError, match="links are not followed"):
        fit()
    state.unlink()
    state.write_bytes(good)
    begun = []
    clf = fit(keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: begun.append(e)))
    assert begun == [2, 3]  # resumed: the two epochs left
    assert clf.n_iter_ == 4 and len(clf.loss_curve_) == 4 and clf.t_ == 4 * len(X)
    assert not backup.exists()


def test_large_sparse_inputs_call_the_callbacks(monkeypatch):
    import scipy.sparse as sp

    import skmlp._training.sparse as sparse

    monkeypatch.setattr(sparse, "SPARSE_DENSE_BYTES", 0)  # every sparse X is "large"
    seen, batches = [], []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(logs),
        on_train_batch_end=lambda batch, logs: batches.append(batch),
    )
    clf = MLPClassifier((8,), max_iter=2, batch_size=100, monitor_validation=True,
                        random_state=0, callbacks=record).fit(sp.csr_matrix(X), y)  # fmt: skip
    assert [logs["loss"] for logs in seen] == pytest.approx(clf.loss_curve_)
    assert [logs["val_accuracy"] for logs in seen] == clf.validation_scores_
    assert batches  # Keras' fit calls the batch hooks on this path


def test_a_pickle_from_before_the_callbacks_parameter_loads():
    clf = MLPClassifier((8,), max_iter=2, random_state=0).fit(X, y)
    state = clf.__getstate__()
    del state["params"]["callbacks"]
    old = MLPClassifier.__new__(MLPClassifier)
    old.__setstate__(state)
    assert old.callbacks is None
    np.testing.assert_array_equal(old.predict(X), clf.predict(X))
