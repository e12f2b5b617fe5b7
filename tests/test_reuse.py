"""Compile once per structure (skmlp._training.reuse): same results, and models stay independent."""

import warnings

import numpy as np
import pytest

from skmlp import MLPClassifier
from skmlp._training import reuse as _reuse


@pytest.fixture(autouse=True)
def sharing_on(monkeypatch):
    monkeypatch.setenv("SKMLP_REUSE_COMPILED", "1")  # off by default on TensorFlow


@pytest.fixture
def data(digits_split):
    X, _, y, _ = digits_split
    return X[:600], y[:600]


def _fit(X, y, seed, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MLPClassifier((24,), max_iter=3, batch_size=64, random_state=seed, **params).fit(
            X, y
        )


def test_models_the_user_holds_are_not_affected(data):
    X, y = data
    first = _fit(X, y, 0, batch_norm=True, dropout=0.2)
    second = _fit(X, y, 1, batch_norm=True, dropout=0.2)
    proba = first.predict_proba(X)
    weights = [w.copy() for w in first.model_.get_weights()]
    # more fits of the same structure share the compiled code, and train for real
    third = _fit(X, y, 2, batch_norm=True, dropout=0.2)
    third.partial_fit(X, y)
    assert not np.allclose(second.predict_proba(X), proba)
    assert not np.allclose(third.predict_proba(X), proba)
    np.testing.assert_array_equal(first.predict_proba(X), proba)
    for before, after in zip(weights, first.model_.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize(
    "params",
    [
        {"batch_norm": True, "dropout": 0.2, "monitor_validation": True},
        {"solver": "sgd", "early_stopping": True, "n_iter_no_change": 1, "tol": 0.5},
        {"warm_start": True},
    ],
)
def test_same_results_as_without_sharing(data, monkeypatch, params):
    X, y = data
    _fit(X, y, 5, **params)  # another model of the structure compiles first
    shared = _fit(X, y, 0, **params)
    if params.get("warm_start"):
        shared.fit(X[:300], y[:300])
    monkeypatch.setenv("SKMLP_REUSE_COMPILED", "0")
    alone = _fit(X, y, 0, **params)
    if params.get("warm_start"):
        alone.fit(X[:300], y[:300])
    assert shared.n_iter_ == alone.n_iter_
    np.testing.assert_allclose(shared.loss_curve_, alone.loss_curve_, rtol=1e-5)
    np.testing.assert_allclose(shared.predict_proba(X), alone.predict_proba(X), atol=1e-6)


def test_partial_fit_same_results_as_without_sharing(data, monkeypatch):
    X, y = data

    def run():
        clf = MLPClassifier((24,), batch_size=64, random_state=0)
        for start in (0, 300, 0):
            clf.partial_fit(X[start : start + 300], y[start : start + 300], classes=np.arange(10))
        return clf

    shared = run()
    monkeypatch.setenv("SKMLP_REUSE_COMPILED", "0")
    alone = run()
    np.testing.assert_allclose(shared.loss_curve_, alone.loss_curve_, rtol=1e-5)
    np.testing.assert_allclose(shared.predict_proba(X), alone.predict_proba(X), atol=1e-6)


def test_one_compiled_set_per_structure(data):
    X, y = data
    _reuse.clear()
    for seed in range(3):
        _fit(X, y, seed, dropout=0.1).predict(X)
    _fit(X, y, 0, dropout=0.3)  # another rate: another structure
    keys = {key for key, _ in _reuse._JAX} | set(_reuse._ENGINES)
    assert len(keys) == 2
    assert all(len(engines) == 1 for engines in _reuse._ENGINES.values())


def test_structure_key_ignores_seeds_and_names_only(data):
    X, y = data
    key = _reuse.structure_key
    a, b = _fit(X, y, 0), _fit(X, y, 1)
    assert key(a.model_) == key(b.model_)
    assert key(a.model_) != key(_fit(X, y, 0, learning_rate_init=0.01).model_)
    assert key(a.model_) != key(_fit(X, y, 0, alpha=0.1).model_)  # the L2 factor is traced
    assert key(a.model_) != key(_fit(X[:, :40], y, 0).model_)
