"""Pickling, copying and skops (issue 26): no warnings, plain data, checked on load."""

import copy
import io
import pickle
import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.inspection import permutation_importance
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmlp import MLPClassifier, MLPRegressor, ModelFileError

# Keras' own pickling warns differently per backend: rerun on the other one too
pytestmark = pytest.mark.backend


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return X, np.array(["setosa", "versicolor", "virginica"])[y]


@pytest.fixture(scope="module", params=["classifier", "pipeline", "regressor"])
def fitted(request, iris):
    X, y = iris
    if request.param == "regressor":
        est, y = MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0), X[:, 0]
    else:
        est = MLPClassifier((8,), solver="sgd", learning_rate="invscaling", max_iter=5,
                            random_state=0)  # fmt: skip
        if request.param == "pipeline":
            est = make_pipeline(StandardScaler(), est)
    return _fit(est, X, y)


def _joblib_round_trip(est):
    buffer = io.BytesIO()
    joblib.dump(est, buffer)
    buffer.seek(0)
    return joblib.load(buffer)


ROUND_TRIPS = {
    "pickle": lambda est: pickle.loads(pickle.dumps(est)),
    "joblib": _joblib_round_trip,
    "deepcopy": copy.deepcopy,
}


@pytest.mark.parametrize("how", sorted(ROUND_TRIPS))
def test_round_trip_raises_no_warning_and_predicts_the_same(fitted, iris, how):
    X, _ = iris
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning, Keras' DeprecationWarnings included
        again = ROUND_TRIPS[how](fitted)
    np.testing.assert_array_equal(again.predict(X), fitted.predict(X))
    assert again is not fitted


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_the_keras_network_itself_round_trips_without_warning(iris, how):
    # users who pickle or copy ``model_`` go through Keras' saving code
    X, y = iris
    network = _fit(MLPClassifier((8,), max_iter=3, random_state=0), X, y).model_
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = ROUND_TRIPS[how](network)
    for a, b in zip(again.get_weights(), network.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert again is not network


def test_clone_raises_no_warning(fitted):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cloned = clone(fitted)
    assert cloned.get_params().keys() == fitted.get_params().keys()


def test_permutation_importance_in_worker_processes_raises_no_warning(iris):
    X, y = iris
    est = _fit(MLPClassifier((8,), max_iter=5, random_state=0), X, y)
    with warnings.catch_warnings():
        # loky pickles the estimator for each worker: Keras' DeprecationWarnings (what
        # -W error::DeprecationWarning turned into a PicklingError) fail the test. Not
        # every warning: filters are process-wide, and a UserWarning raised as an error
        # in loky's own management thread (resizing the executor an earlier test made)
        # kills that thread and leaves the call waiting forever
        warnings.simplefilter("error", DeprecationWarning)
        warnings.simplefilter("error", FutureWarning)
        result = permutation_importance(est, X, y, n_repeats=2, n_jobs=2, random_state=0)
    assert result.importances.shape == (4, 2)


def _types(obj):
    if isinstance(obj, dict):
        return {t for value in obj.values() for t in _types(value)}
    if isinstance(obj, (list, tuple)):
        return {t for value in obj for t in _types(value)}
    return {type(obj).__module__.split(".")[0]}


def test_pickled_state_is_plain_data_and_keeps_the_schedule(iris):
    X, y = iris
    est = _fit(MLPClassifier((8,), solver="sgd", learning_rate="invscaling", max_iter=3), X, y)
    state = est.__getstate__()
    assert _types(state) <= {"builtins", "numpy"}
    assert isinstance(state["network"], bytes)
    again = pickle.loads(pickle.dumps(est))
    assert vars(again._optimizer) == vars(est._optimizer)
    again.partial_fit(X, y)
    assert again.n_iter_ == est.n_iter_ + 1


def test_unfitted_state_holds_only_the_parameters():
    est = MLPClassifier((8, 4), dropout=0.1, random_state=3)
    assert set(est.__getstate__()) == {"skmlp_pickle", "params"}
    assert pickle.loads(pickle.dumps(est)).get_params() == est.get_params()


def test_a_pickle_of_an_earlier_skmlp_still_loads(iris):
    X, y = iris
    est = _fit(MLPClassifier((8,), max_iter=3, random_state=0), X, y)
    old = MLPClassifier.__new__(MLPClassifier)
    old.__setstate__(dict(vars(est)))  # what pickle handed __setstate__ before
    np.testing.assert_array_equal(old.predict(X), est.predict(X))


@pytest.mark.parametrize(
    "tamper, message",
    [
        (lambda s: s.update(skmlp_pickle=99), "not a state this skmlp writes"),
        (lambda s: s["params"].update(evil=1), "parameters are not"),
        (lambda s: s.update(extra=1), "unexpected or missing"),
        (lambda s: s["state"].update(evil_=1), "unexpected stored attribute"),
        (lambda s: s["state"].update(n_features_in_=7), "7 input features"),
        (lambda s: s.update(network=b"PK\x03\x04 not a zip"), "network"),
        (lambda s: s.update(schedule={"schedule": "x"}), "schedule is malformed"),
    ],
)
def test_a_state_skmlp_did_not_write_is_refused(iris, tamper, message):
    X, y = iris
    est = _fit(MLPClassifier((8,), max_iter=2, random_state=0), X, y)
    state = est.__getstate__()
    tamper(state)
    with pytest.raises(ModelFileError, match=message):
        MLPClassifier.__new__(MLPClassifier).__setstate__(state)


# ------------------------------------------------------------------ skops
UNTRUSTED = {
    "classifier": ["skmlp._classifier.MLPClassifier"],
    "pipeline": ["skmlp._classifier.MLPClassifier"],
    "regressor": ["skmlp._regressor.MLPRegressor"],
}


def test_skops_round_trip_with_the_documented_untrusted_types(fitted, iris):
    sio = pytest.importorskip("skops.io", reason="skops is not installed (pip install skops)")
    X, _ = iris
    kind = "pipeline" if hasattr(fitted, "steps") else type(fitted).__name__
    kind = {"MLPClassifier": "classifier", "MLPRegressor": "regressor"}.get(kind, kind)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = sio.dumps(fitted)
        assert sio.get_untrusted_types(data=data) == UNTRUSTED[kind]
        loaded = sio.loads(data, trusted=UNTRUSTED[kind])
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException, match="skmlp"):
        sio.loads(data)


# ------------------------------------------- public surface (scikeras leftovers)
PUBLIC_METHODS = {
    "fit", "get_metadata_routing", "get_params", "partial_fit", "predict", "score",
    "set_fit_request", "set_params", "set_partial_fit_request", "set_score_request",
}  # fmt: skip
SHARED_PARAMS = {
    "activation", "alpha", "batch_norm", "batch_size", "beta_1", "beta_2", "callbacks", "dropout",
    "early_stopping", "epsilon", "hidden_layer_sizes", "input_dropout", "kernel_initializer",
    "learning_rate", "learning_rate_init", "max_fun", "max_iter", "max_norm", "momentum",
    "monitor_validation", "n_iter_no_change", "nesterovs_momentum", "power_t", "random_state",
    "shuffle", "solver", "tol", "validation_fraction", "verbose", "warm_start", "weight_decay",
}  # fmt: skip
PUBLIC = {
    MLPClassifier: (SHARED_PARAMS | {"class_weight"}, {"predict_proba", "predict_log_proba"}),
    MLPRegressor: (SHARED_PARAMS | {"loss"}, set()),
}
LEFTOVERS = ["build_fn", "model", "initialize", "initialized_", "current_epoch",
             "feature_encoder", "target_encoder", "scorer", "_more_tags"]  # fmt: skip


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor], ids=lambda c: c.__name__)
def test_public_names_are_scikit_learns_and_skmlps_documented_ones(cls):
    params, methods = PUBLIC[cls]
    est = cls()
    assert set(est.get_params()) == params
    assert {n for n in dir(est) if not n.startswith("_")} == params | PUBLIC_METHODS | methods


@pytest.mark.parametrize("name", LEFTOVERS)
def test_scikeras_leftovers_are_gone_with_a_pointer_to_skmlps_way(name):
    est = MLPClassifier()
    assert not hasattr(est, name)
    with pytest.raises(AttributeError, match=f"'{name}' \\(a scikeras name; in skmlp, "):
        getattr(est, name)
