"""MLPRegressor: fitting, scikit-learn's semantics, features shared with the classifier."""

import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import cross_val_score

import skmlp
from skmlp import MLPRegressor

# trains through the backend-specific paths: run on the other backend too
# (tests/test_other_backend.py)
pytestmark = pytest.mark.backend

FAST = dict(hidden_layer_sizes=(16,), max_iter=30, batch_size=32, learning_rate_init=0.01)


def fast(**kwargs):
    return MLPRegressor(**(FAST | {"random_state": 0} | kwargs))


@pytest.fixture(scope="module")
def reg_data():
    """200 rows, 5 features, two smooth targets scaled to unit variance."""
    rng = np.random.RandomState(0)
    X = rng.uniform(-2, 2, size=(200, 5)).astype(np.float32)
    y1 = np.sin(X[:, 0]) + 0.5 * X[:, 1] ** 2 - X[:, 2]
    y2 = X[:, 3] * X[:, 4] + 0.1 * rng.normal(size=200)
    Y = np.c_[y1, y2]
    Y = (Y - Y.mean(axis=0)) / Y.std(axis=0)
    return X, Y


@pytest.fixture(scope="module")
def fitted(reg_data):
    X, Y = reg_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fast().fit(X, Y[:, 0])


def test_public_and_a_regressor():
    assert "MLPRegressor" in skmlp.__all__
    assert is_regressor(MLPRegressor())
    tags = MLPRegressor().__sklearn_tags__()
    assert tags.estimator_type == "regressor" and tags.target_tags.multi_output
    assert tags.input_tags.sparse


def test_loss_is_positional_first_as_in_scikit_learn():
    assert MLPRegressor("poisson").loss == "poisson"
    assert MLPRegressor("squared_error", (7,)).hidden_layer_sizes == (7,)


def test_fitted_attributes(fitted, reg_data):
    X, Y = reg_data
    reg = fitted
    assert reg.n_features_in_ == 5 and reg.n_outputs_ == 1
    assert reg.out_activation_ == "identity"
    assert [c.shape for c in reg.coefs_] == [(5, 16), (16, 1)]
    assert len(reg.loss_curve_) == reg.n_iter_ and reg.loss_ == reg.loss_curve_[-1]
    assert reg.t_ == reg.n_iter_ * 200
    assert set(reg.history_) == {"loss"}
    pred = reg.predict(X)
    assert pred.shape == (200,) and pred.dtype == np.float32
    assert reg.predict(X.astype(np.float64)).dtype == np.float64
    assert reg.score(X, Y[:, 0]) == pytest.approx(r2_score(Y[:, 0], pred), rel=1e-5)
    assert reg.score(X, Y[:, 0]) > 0.8


def test_multi_output(reg_data):
    X, Y = reg_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = fast(max_iter=60).fit(X, Y)
    assert reg.n_outputs_ == 2 and reg.coefs_[-1].shape == (16, 2)
    assert reg.predict(X).shape == (200, 2)
    assert reg.score(X, Y) > 0.7


def test_loss_is_half_the_mean_squared_error(reg_data):
    # scikit-learn's squared_error loss_: 0.5 * mean((y - pred) ** 2) (+ the penalty)
    X, Y = reg_data
    reg = MLPRegressor(
        hidden_layer_sizes=(8,), solver="lbfgs", alpha=0.0, max_iter=50, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, Y)
    half_mse = 0.5 * np.mean((reg.predict(X) - Y) ** 2)
    assert reg.loss_ == pytest.approx(half_mse, rel=1e-4)


def test_lbfgs_fits_well(reg_data):
    X, Y = reg_data
    reg = MLPRegressor(
        hidden_layer_sizes=(32,), solver="lbfgs", max_iter=300, tol=1e-6, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, Y[:, 0])
    assert reg.score(X, Y[:, 0]) > 0.95


def test_early_stopping_on_validation_r2(reg_data):
    X, Y = reg_data
    reg = fast(max_iter=200, early_stopping=True, n_iter_no_change=3, tol=1e-3).fit(X, Y[:, 0])
    assert reg.n_iter_ < 200 and reg.best_loss_ is None
    assert set(reg.history_) == {"loss", "val_loss", "val_r2"}
    assert reg.validation_scores_ == reg.history_["val_r2"]
    assert reg.best_validation_score_ == max(reg.validation_scores_)
    # the kept weights are the best epoch's: the held-out split's R^2 reproduces it
    from sklearn.model_selection import train_test_split

    _, X_val, _, y_val = train_test_split(
        X, Y[:, 0], test_size=0.1, random_state=np.random.RandomState(0)
    )
    assert reg.score(X_val, y_val) == pytest.approx(reg.best_validation_score_, abs=1e-5)


def test_early_stopping_goes_back_to_the_best_r2():
    # a wide network overfits noisy targets: the validation R^2 peaks, then falls;
    # the fitted model is the peak's, not the last epoch's
    from sklearn.model_selection import train_test_split

    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 10)).astype(np.float32)
    y = (X[:, 0] + 0.5 * rng.normal(size=300)).astype(np.float32)
    reg = MLPRegressor(hidden_layer_sizes=(256, 256), max_iter=200, early_stopping=True,
                       n_iter_no_change=8, validation_fraction=0.3, learning_rate_init=0.01,
                       batch_size=32, random_state=1).fit(X, y)  # fmt: skip
    assert reg.validation_scores_[-1] < reg.best_validation_score_ - 0.01, reg.validation_scores_
    _, X_val, _, y_val = train_test_split(
        X, y, test_size=0.3, random_state=np.random.RandomState(1)
    )
    assert reg.score(X_val, y_val) == pytest.approx(reg.best_validation_score_, abs=1e-5)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_unequal_weights_give_the_weighted_mean(solver):
    # every x equal, targets 0 and 1, the zeros weighted 3: the squared error is
    # least at the weighted mean 0.25 (unweighted: 0.5)
    n = 200
    X = np.ones((n, 1), np.float32)
    y = np.repeat([0.0, 1.0], n // 2).astype(np.float32)
    weight = np.where(y == 0, 3.0, 1.0)
    reg = MLPRegressor(hidden_layer_sizes=(4,), solver=solver, max_iter=60, batch_size=20,
                       learning_rate_init=0.05, random_state=0, n_iter_no_change=1000)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = reg.fit(X, y, sample_weight=weight).predict(X[:1])[0]
        assert weighted == pytest.approx(0.25, abs=0.04)
        assert reg.fit(X, y).predict(X[:1])[0] == pytest.approx(0.5, abs=0.04)


def test_sample_weight(reg_data):
    X, Y = reg_data
    y = Y[:, 0]
    sw = np.ones(len(y))
    sw[:100] = 0.0  # zero weight leaves the rows out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weighted = fast(max_iter=5).fit(X, y, sample_weight=sw)
        subset = fast(max_iter=5).fit(X[100:], y[100:])
    np.testing.assert_allclose(weighted.predict(X), subset.predict(X), rtol=1e-5, atol=1e-6)
    bad = sw.copy()
    bad[0] = -1.0
    with pytest.raises(ValueError, match="Negative values"):
        fast().fit(X, y, sample_weight=bad)


def test_warm_start_and_partial_fit(reg_data):
    X, Y = reg_data
    y = Y[:, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = fast(max_iter=3, warm_start=True, tol=0.0).fit(X, y)
        reg.fit(X, y)
    assert reg.n_iter_ == 3 and len(reg.loss_curve_) == 6
    part = fast()
    for _ in range(4):
        part.partial_fit(X, y)
    assert part.n_iter_ == 4 and part.t_ == 800
    assert part.loss_curve_[-1] < part.loss_curve_[0]
    assert not hasattr(MLPRegressor(solver="lbfgs"), "partial_fit")
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        fast(early_stopping=True).partial_fit(X, y)


def test_batch_norm_dropout_and_monitor_validation(reg_data):
    X, Y = reg_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = fast(batch_norm=True, dropout=0.1, max_iter=8, monitor_validation=True)
        reg.fit(X, Y[:, 0])
    kinds = {type(layer).__name__ for layer in reg.model_.layers}
    assert {"BatchNormalization", "Dropout"} <= kinds
    assert len(reg.history_["val_loss"]) == len(reg.validation_scores_) == reg.n_iter_


def test_sgd_schedules(reg_data):
    X, Y = reg_data
    y = Y[:, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        inv = fast(solver="sgd", learning_rate="invscaling", power_t=0.5, max_iter=2).fit(X, y)
    expected = 0.01 / (inv.t_ + 1) ** 0.5
    assert float(inv.model_.optimizer.learning_rate) == pytest.approx(expected, rel=1e-5)
    adaptive = fast(solver="sgd", learning_rate="adaptive", tol=1e3, n_iter_no_change=1)
    adaptive.fit(X, y)
    # every epoch "fails to improve": the rate is divided by 5 until below 1e-6
    assert float(adaptive.model_.optimizer.learning_rate) <= 1e-6
    assert adaptive.n_iter_ < 30


def test_poisson_loss():
    rng = np.random.RandomState(0)
    X = rng.uniform(0, 1, size=(150, 2)).astype(np.float32)
    y = rng.poisson(np.exp(X[:, 0] + 1)).astype(float)
    reg = MLPRegressor("poisson", (4,), solver="lbfgs", max_iter=200, random_state=0).fit(X, y)
    assert reg.out_activation_ == "exp"
    assert np.all(reg.predict(X) > 0)
    with pytest.raises(ValueError, match="non-negative"):
        MLPRegressor("poisson").fit(X, -y)


def test_sparse_input(reg_data):
    import scipy.sparse as sp

    X, Y = reg_data
    Xs = sp.csr_matrix(np.where(X > 0, X, 0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = fast(max_iter=5).fit(Xs, Y[:, 0])
    np.testing.assert_allclose(reg.predict(Xs), reg.predict(Xs.toarray()), rtol=1e-6)


@pytest.mark.parametrize("densify", [True, False])
def test_sparse_training_equals_dense_training(reg_data, densify, monkeypatch):
    # small sparse data are made dense once; larger ones are fed one densified
    # minibatch at a time (SPARSE_DENSE_BYTES = 0 forces that path here): both
    # train what the dense array trains, minibatch for minibatch (Keras once
    # shuffled the sparse path's minibatches with Python's global random)
    import scipy.sparse as sp

    import skmlp._training.sparse

    if not densify:
        monkeypatch.setattr(skmlp._training.sparse, "SPARSE_DENSE_BYTES", 0)
    X, Y = reg_data
    X = np.where(X > 0, X, 0).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sparse = fast(max_iter=5, shuffle=False).fit(sp.csr_matrix(X), Y[:, 0])
        dense = fast(max_iter=5, shuffle=False).fit(X, Y[:, 0])
    np.testing.assert_allclose(sparse.loss_curve_, dense.loss_curve_, rtol=1e-4)
    for a, b in zip(sparse.coefs_, dense.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_non_finite_weights_raise():
    rng = np.random.RandomState(0)
    X = np.finfo(np.float64).max * rng.uniform(size=(10, 2))
    with pytest.raises(ValueError, match="non-finite parameter weights"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            MLPRegressor(hidden_layer_sizes=(4,), max_iter=2).fit(X, rng.normal(size=10))


def test_cross_val_score_uses_kfold(reg_data):
    # Integer-valued targets (counts) look like classes to scikit-learn's
    # type_of_target: only the regressor's own tags keep cv=3 from stratifying
    # them as a classifier's would. The folds are plain KFold's, scored by R^2.
    from sklearn.model_selection import KFold, check_cv

    X, Y = reg_data
    counts = np.round(np.abs(Y[:, 0]) * 2).astype(int) % 4
    assert len(np.unique(counts)) == 4
    assert type(check_cv(3, counts, classifier=is_classifier(MLPRegressor()))) is KFold
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(fast(max_iter=20), X, Y[:, 0], cv=3)
    assert scores.min() > 0.5


def test_joblib_and_skmlp_round_trips(fitted, reg_data, tmp_path):
    X, Y = reg_data
    joblib.dump(fitted, tmp_path / "reg.joblib")
    loaded = joblib.load(tmp_path / "reg.joblib")
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))
    path = skmlp.save(fitted, tmp_path / "reg.skmlp")
    again = skmlp.load(path)
    assert type(again) is MLPRegressor and again.get_params() == fitted.get_params()
    np.testing.assert_array_equal(again.predict(X), fitted.predict(X))
    assert again.loss_curve_ == fitted.loss_curve_ and again.t_ == fitted.t_
    again.partial_fit(X, Y[:, 0])
    assert again.n_iter_ == fitted.n_iter_ + 1


def test_clone_and_repr():
    reg = MLPRegressor("squared_error", (8, 4), batch_norm=True, random_state=3)
    assert clone(reg).get_params() == reg.get_params()
    assert "MLPRegressor(" in repr(reg)
