"""scikit-learn's defaults where a user swaps the import (issue 26).

The estimators' default ``kernel_initializer="auto"`` starts as scikit-learn's MLP
does (its ``_init_coef``); the seed notebook's He-style start is
``"seed_notebook"``, which the experiment and the seed architectures name.
"""

import math
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkClassifier
from sklearn.neural_network import MLPRegressor as SkRegressor

from skmlp import MLPClassifier, MLPRegressor
from skmlp.architectures import SEED_ARCHITECTURES, get_architecture
from skmlp.experiment.run import make_pipeline

pytestmark = pytest.mark.backend

N_FEATURES, WIDTH, N_CLASSES = 200, 300, 3


def _initial_weights(estimator_class, X, y, **params):
    """The weights an estimator starts from: one epoch at a learning rate of 1e-12."""
    est = estimator_class(max_iter=1, learning_rate_init=1e-12, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    return [np.asarray(w, dtype=np.float64) for w in est.coefs_], [
        np.asarray(b, dtype=np.float64) for b in est.intercepts_
    ]


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, N_FEATURES)).astype(np.float32)
    return X, np.arange(60) % N_CLASSES


def _check_uniform(values, bound, rel):
    """``values`` look like draws from U(-bound, bound)."""
    assert np.abs(values).max() <= bound * (1 + 1e-6)
    assert np.std(values) == pytest.approx(bound / math.sqrt(3), rel=rel)


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
def test_default_start_is_scikit_learns(activation, table):
    X, y = table
    ours = _initial_weights(MLPClassifier, X, y, hidden_layer_sizes=(WIDTH,), activation=activation)
    theirs = _initial_weights(
        SkClassifier, X, y, hidden_layer_sizes=(WIDTH,), activation=activation
    )
    factor = 2.0 if activation == "logistic" else 6.0
    for layer, (fan_in, fan_out) in enumerate([(N_FEATURES, WIDTH), (WIDTH, N_CLASSES)]):
        bound = math.sqrt(factor / (fan_in + fan_out))  # scikit-learn's _init_coef
        for coefs, intercepts in (ours, theirs):
            assert coefs[layer].shape == (fan_in, fan_out)
            _check_uniform(coefs[layer], bound, rel=0.02 if layer == 0 else 0.08)
            # the biases come from the same uniform, not zeros
            assert np.abs(intercepts[layer]).max() <= bound * (1 + 1e-6)
            assert np.abs(intercepts[layer]).min() > 0
        # the spread of scikit-learn's own draws, side by side
        assert np.std(ours[0][layer]) == pytest.approx(np.std(theirs[0][layer]), rel=0.1)
    _check_uniform(ours[1][0], math.sqrt(factor / (N_FEATURES + WIDTH)), rel=0.15)


def test_regressor_default_start_is_scikit_learns(table):
    X, _ = table
    y = X[:, :2] @ np.ones(2)
    for cls in (MLPRegressor, SkRegressor):
        coefs, intercepts = _initial_weights(cls, X, y, hidden_layer_sizes=(WIDTH,))
        bound = math.sqrt(6.0 / (N_FEATURES + WIDTH))
        _check_uniform(coefs[0], bound, rel=0.02)
        _check_uniform(intercepts[0], bound, rel=0.15)
        assert np.abs(coefs[1]).max() <= math.sqrt(6.0 / (WIDTH + 1)) * (1 + 1e-6)


def test_default_is_auto_and_seed_notebook_is_named():
    assert MLPClassifier().kernel_initializer == "auto"
    assert MLPRegressor().kernel_initializer == "auto"
    MLPClassifier(kernel_initializer="seed_notebook")._check_params()
    with pytest.raises(ValueError, match="'auto', 'seed_notebook' or a Keras initializer"):
        MLPClassifier(kernel_initializer="no_such_init")._check_params()


def _seed_start_ok(coefs, intercepts, n_features):
    """The seed notebook's start: RandomNormal(0, sqrt(2 / (fan_in + 1))), zero biases."""
    std = math.sqrt(2.0 / (n_features + 1))
    assert np.std(coefs[0]) == pytest.approx(std, rel=0.02)
    # a normal's tails: beyond scikit-learn's uniform bound for this layer
    assert np.abs(coefs[0]).max() > 1.5 * math.sqrt(6.0 / (n_features + coefs[0].shape[1]))
    assert np.abs(intercepts[0]).max() < 1e-9  # zeros, moved by one step of 1e-12


def test_seed_architectures_and_skmlp_run_keep_the_seed_start():
    rng = np.random.default_rng(0)
    X = rng.random((30, 784)).astype(np.float32)
    y = np.arange(30) % 10
    arch = get_architecture("mlp2")
    pipe = make_pipeline(
        None, "none", **arch.params, max_iter=1, learning_rate_init=1e-12, batch_size=10
    )
    assert pipe[-1].kernel_initializer == "seed_notebook"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(X, y)
    _seed_start_ok(pipe[-1].coefs_, pipe[-1].intercepts_, 784)
    coefs, intercepts = _initial_weights(MLPClassifier, X, y, **arch.estimator_params())
    _seed_start_ok(coefs, intercepts, 784)
    assert all(a.estimator_params()["kernel_initializer"] == "seed_notebook"
               for a in SEED_ARCHITECTURES)  # fmt: skip


# ------------------------------------------------------- scikit-learn's contract
def _blobs():
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(-3, 0.5, (60, 2)), rng.normal(3, 0.5, (60, 2))])
    return X.astype(np.float32), np.repeat([0, 1], 60)


@pytest.mark.parametrize("cls", [SkClassifier, MLPClassifier], ids=["sklearn", "skmlp"])
def test_warm_start_with_early_stopping_ends_as_scikit_learn_does(cls):
    """A warm fit whose epochs never beat the earlier best ends on its last weights.

    scikit-learn (1.9.1) means to go back to ``_best_coefs``, but after an
    early-stopped fit ``coefs_`` *is* ``_best_coefs`` (the same arrays), and the
    next fit updates them in place: the "best" it restores are the last weights.
    skmlp does the same. If scikit-learn fixes it, its case here fails: follow it.
    """
    X, y = _blobs()
    est = cls(hidden_layer_sizes=(8,), early_stopping=True, warm_start=True, max_iter=40,
              learning_rate_init=0.05, n_iter_no_change=50, random_state=0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
        assert est.best_validation_score_ == 1.0  # no later epoch can beat it
        start = [c.copy() for c in est.coefs_]
        est.set_params(max_iter=3, learning_rate_init=0.5).fit(X, y)
    assert est.n_iter_ == 3
    assert not np.allclose(start[0], est.coefs_[0])


def _norm(est):
    return sum(float((c.astype(np.float64) ** 2).sum()) for c in est.coefs_)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_a_later_alpha_applies_to_the_next_fit(solver, how):
    """scikit-learn penalises each fit with the ``alpha`` it has then."""
    if how == "partial_fit" and solver == "lbfgs":
        pytest.skip("partial_fit is for the stochastic solvers")
    X, y = _blobs()
    fits = {}
    for alpha in (0.0, 50.0):
        est = MLPClassifier(hidden_layer_sizes=(8,), warm_start=True, max_iter=20,
                            learning_rate_init=0.05, random_state=0, solver=solver)  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
            est.set_params(alpha=alpha)
            for _ in range(20 if how == "partial_fit" else 1):
                est.partial_fit(X, y) if how == "partial_fit" else est.fit(X, y)
        fits[alpha] = est
    divisor = len(X) if solver == "lbfgs" else min(200, len(X))
    assert fits[50.0]._l2 == pytest.approx(0.5 * 50.0 / divisor)
    # the penalty shrank the weights, where alpha=0 let them grow
    assert _norm(fits[50.0]) < 0.5 * _norm(fits[0.0])
