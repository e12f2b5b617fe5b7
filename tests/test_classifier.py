"""MLPClassifier: behaviour, scikit-learn integration, errors and persistence."""

import pickle
import random
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from scikeras.wrappers import KerasClassifier
from sklearn.base import clone, is_classifier
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, StratifiedKFold, check_cv, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

import skmlp
from skmlp import KerasMLPClassifier, MLPClassifier

# trains through the backend-specific paths: run on the other backend too
# (tests/test_other_backend.py)
pytestmark = pytest.mark.backend

FAST = dict(hidden_layer_sizes=(16,), max_iter=15, batch_size=32, learning_rate_init=0.01)


def fast(**kwargs):
    return MLPClassifier(**(FAST | {"random_state": 0} | kwargs))


@pytest.fixture(scope="module")
def fitted(small_data):
    X, y = small_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fast().fit(X, y)


# ---------------------------------------------------------------- the API
def test_public_names():
    assert KerasMLPClassifier is MLPClassifier
    assert {"MLPClassifier", "KerasMLPClassifier", "build_mlp"} <= set(skmlp.__all__)
    assert isinstance(skmlp.__version__, str)


def test_is_a_classifier_where_scikeras_is_not():
    # the scikeras bug skmlp fixes: on scikit-learn >= 1.6 KerasClassifier is
    # not a classifier, so cv=3 means plain KFold
    assert not is_classifier(KerasClassifier())
    assert is_classifier(MLPClassifier())
    y = np.repeat([0, 1, 2], 10)
    assert isinstance(check_cv(3, y, classifier=is_classifier(MLPClassifier())), StratifiedKFold)


def test_grid_search_cv3_is_stratified_on_sorted_labels(small_data):
    # labels sorted by class: plain KFold would test each fold on a class the
    # model never saw (accuracy 0); stratified folds keep every class in training
    X, y = small_data
    order = np.argsort(y, kind="stable")
    X, y = X[order], y[order]
    scores = cross_val_score(fast(max_iter=10), X, y, cv=3)
    assert scores.min() > 0.8, scores


def test_fitted_attributes(fitted, small_data):
    X, y = small_data
    clf = fitted
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.n_features_in_ == 5
    assert 1 <= clf.n_iter_ <= 15
    assert len(clf.loss_curve_) == clf.n_iter_
    assert clf.best_loss_ == pytest.approx(min(clf.loss_curve_))
    assert clf.validation_scores_ is None and clf.best_validation_score_ is None
    assert set(clf.history_) == {"loss", "accuracy"}
    assert all(len(v) == clf.n_iter_ for v in clf.history_.values())
    assert [c.shape for c in clf.coefs_] == [(5, 16), (16, 3)]
    assert [b.shape for b in clf.intercepts_] == [(16,), (3,)]
    assert clf.n_layers_ == 3 and clf.n_outputs_ == 3 and clf.out_activation_ == "softmax"
    assert clf.n_params_ == 5 * 16 + 16 + 16 * 3 + 3
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert clf.score(X, y) > 0.9


def test_predictions(fitted, small_data):
    X, _ = small_data
    proba = fitted.predict_proba(X)
    assert proba.shape == (200, 3) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(fitted.predict(X), fitted.classes_[proba.argmax(axis=1)])
    np.testing.assert_allclose(fitted.predict_log_proba(X), np.log(proba))
    # one row keeps two dimensions (scikeras squeezes it to 1-D)
    assert fitted.predict_proba(X[:1]).shape == (1, 3)
    np.testing.assert_allclose(fitted.predict_proba(X[:1]), proba[:1], rtol=1e-5)
    # lists work like arrays
    np.testing.assert_allclose(fitted.predict_proba(X[:4].tolist()), proba[:4], rtol=1e-6)


def test_large_inputs_predict_in_batches_with_same_outputs(fitted, small_data):
    X, _ = small_data
    big = np.tile(X, (30, 1))  # 6000 rows: above the direct-call limit
    proba = fitted.predict_proba(big)
    np.testing.assert_allclose(proba[:200], fitted.predict_proba(X), rtol=1e-5, atol=1e-7)


def test_string_labels_and_dataframe_input(small_data):
    X, y = small_data
    names = np.array(["cat", "dog", "emu"])[y]
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)])
    clf = fast().fit(df, names)
    np.testing.assert_array_equal(clf.classes_, ["cat", "dog", "emu"])
    np.testing.assert_array_equal(clf.feature_names_in_, df.columns)
    pred = clf.predict(df)
    assert pred.dtype == names.dtype and set(pred) <= {"cat", "dog", "emu"}
    assert clf.score(df, names) > 0.9
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict(X)


def test_binary_problem(small_data):
    X, y = small_data
    keep = y < 2
    clf = fast().fit(X[keep], np.where(y[keep] == 0, "no", "yes"))
    proba = clf.predict_proba(X[:3])
    assert proba.shape == (3, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # one logistic output unit, as scikit-learn's MLP
    assert clf.n_outputs_ == 1 and clf.out_activation_ == "logistic"
    assert clf.coefs_[-1].shape == (16, 1)
    assert clf.score(X[keep], np.where(y[keep] == 0, "no", "yes")) > 0.9


# ------------------------------------------------------------- training rules
def test_convergence_warning_when_max_iter_reached(small_data):
    X, y = small_data
    with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(2\\)"):
        fast(max_iter=2, tol=0.0).fit(X, y)


def test_stops_when_loss_stops_improving(small_data):
    X, y = small_data
    # a huge tol means no epoch after the first "improves"; as in scikit-learn,
    # training stops once more than n_iter_no_change epochs failed to improve
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = fast(max_iter=50, tol=10.0, n_iter_no_change=2).fit(X, y)
    assert clf.n_iter_ == 1 + 3


def test_early_stopping_and_validation_curves(small_data):
    X, y = small_data
    clf = fast(max_iter=40, early_stopping=True, n_iter_no_change=3, tol=0.5).fit(X, y)
    assert clf.n_iter_ == 1 + 4  # nothing improves by 0.5 after the first epoch
    assert set(clf.history_) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert clf.validation_scores_ == clf.history_["val_accuracy"]
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None


def overfitting_data(n=300, seed=0):
    """A noisy 2-class problem a wide network overfits: its validation score peaks, then falls."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 10)).astype(np.float32)
    return X, (X[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(int)


def test_early_stopping_restores_the_best_epoch():
    from sklearn.model_selection import train_test_split

    X, y = overfitting_data()
    clf = MLPClassifier(hidden_layer_sizes=(256, 256), max_iter=200, early_stopping=True,
                        n_iter_no_change=8, validation_fraction=0.3, learning_rate_init=0.01,
                        batch_size=32, random_state=1).fit(X, y)  # fmt: skip
    # the premise: the last epoch scored well below the best one, so keeping the
    # last weights would show
    assert clf.validation_scores_[-1] < clf.best_validation_score_ - 0.02, clf.validation_scores_
    # the kept weights are the best epoch's: re-scoring the same held-out split
    # (same seed, same stratified split) reproduces the best validation accuracy
    _, X_val, _, y_val = train_test_split(
        X, y, test_size=0.3, random_state=np.random.RandomState(1), stratify=y
    )
    assert clf.score(X_val, y_val) == pytest.approx(clf.best_validation_score_, abs=1e-6)


def test_monitor_validation_records_without_stopping(small_data):
    X, y = small_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = fast(max_iter=6, monitor_validation=True, tol=10.0, n_iter_no_change=50).fit(X, y)
    assert clf.n_iter_ == 6
    assert len(clf.history_["val_loss"]) == 6
    assert len(clf.validation_scores_) == 6
    assert clf.best_loss_ == min(clf.loss_curve_)


def test_batch_norm_and_dropout_train(small_data):
    X, y = small_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = fast(batch_norm=True, dropout=0.3).fit(X, y)
    kinds = {type(layer).__name__ for layer in clf.model_.layers}
    assert {"BatchNormalization", "Dropout"} <= kinds
    assert clf.score(X, y) > 0.9


def test_alpha_penalises_weights(small_data):
    X, y = small_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        free = fast(alpha=0.0, max_iter=20).fit(X, y)
        tight = fast(alpha=50.0, max_iter=20).fit(X, y)
    assert np.linalg.norm(tight.coefs_[0]) < 0.5 * np.linalg.norm(free.coefs_[0])


def test_sgd_solver(small_data):
    X, y = small_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = fast(solver="sgd", learning_rate_init=0.1, max_iter=20).fit(X, y)
    assert type(clf.model_.optimizer).__name__ == "SGD"
    assert clf.score(X, y) > 0.9


def test_warm_start_continues(small_data):
    X, y = small_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = fast(max_iter=3, warm_start=True, tol=0.0).fit(X, y)
        model = clf.model_
        first = list(clf.loss_curve_)
        clf.fit(X, y)
    assert clf.model_ is model
    assert clf.n_iter_ == 3  # the last fit's epochs, as in scikit-learn
    assert clf.loss_curve_[:3] == first and len(clf.history_["loss"]) == 6
    assert clf.loss_curve_[3] < first[0]


def test_partial_fit(small_data):
    X, y = small_data
    clf = fast()
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    assert not hasattr(clf, "model_")
    # the first batch lacks class 2; `classes` declares it
    clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    for _ in range(5):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == 6 and len(clf.loss_curve_) == 6
    assert clf.predict_proba(X).shape == (200, 3)
    assert clf.t_ == 200 * 5 + int((y < 2).sum())
    with pytest.raises(ValueError, match="classes not in"):
        clf.partial_fit(X, y + 5)


def test_class_weight_and_sample_weight(small_data):
    X, y = small_data
    sw = np.ones(len(y))
    before = sw.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fast(class_weight="balanced").fit(X, y, sample_weight=sw)
        fast(class_weight={0: 1.0, 1: 2.0, 2: 1.0}).fit(X, y, sample_weight=sw)
    np.testing.assert_array_equal(sw, before)  # scikeras multiplies it in place
    # heavy weight on class 0 shifts predictions towards it
    noisy = X + np.random.RandomState(1).normal(scale=6.0, size=X.shape).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = fast().fit(noisy, y)
        heavy = fast(class_weight={0: 30.0, 1: 1.0, 2: 1.0}).fit(noisy, y)
    assert (heavy.predict(noisy) == 0).mean() > (plain.predict(noisy) == 0).mean()


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_unequal_weights_act_as_repeated_rows(solver):
    # Rows that carry no information (every x equal), half of class 0 weighted 3:
    # the best model predicts P(class 0) = 3 / (3 + 1) = 0.75, as it does when
    # each class-0 row is repeated 3 times; unweighted it is 0.5. Minibatch noise
    # moves the fitted value by about 0.02.
    n = 200
    X = np.ones((n, 1), np.float32)
    y = np.repeat([0, 1], n // 2)
    weight = np.where(y == 0, 3.0, 1.0)
    repeated = np.repeat(np.arange(n), 3 - 2 * y)

    def p0(X, y, sample_weight=None):
        clf = MLPClassifier((4,), solver=solver, max_iter=60, batch_size=20, random_state=0,
                            learning_rate_init=0.05, n_iter_no_change=1000)  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y, sample_weight=sample_weight)
        return clf.predict_proba(X[:1])[0, 0]

    weighted = p0(X, y, weight)
    assert weighted == pytest.approx(0.75, abs=0.04)
    assert weighted == pytest.approx(p0(X[repeated], y[repeated]), abs=0.04)
    assert p0(X, y) == pytest.approx(0.5, abs=0.04)


def test_verbose_prints_each_epoch(small_data, capsys):
    X, y = small_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fast(max_iter=3, verbose=True).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines] == ["Iteration 1", "Iteration 2", "Iteration 3"]
    assert all(line.split(", ")[1].startswith("loss = ") for line in lines)


# ------------------------------------------------------------ reproducibility
def _proba(random_state, data):
    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = fast(max_iter=5, dropout=0.2, random_state=random_state).fit(X, y)
    return clf.predict_proba(X)


def test_int_seed_reproduces(small_data):
    np.testing.assert_array_equal(_proba(7, small_data), _proba(7, small_data))
    assert not np.allclose(_proba(7, small_data), _proba(8, small_data))


def _while_drawing(generator, make, repeats=3):
    """``make()`` ``repeats`` times while another thread draws from ``generator``."""
    import threading

    stop = threading.Event()

    def draw_forever():
        while not stop.is_set():
            generator()

    thread = threading.Thread(target=draw_forever, daemon=True)
    thread.start()
    try:
        return [make() for _ in range(repeats)]
    finally:
        stop.set()
        thread.join()


# the global generators other threads draw from: Python's and NumPy's
GLOBAL_GENERATORS = pytest.mark.parametrize(
    "generator", [random.random, np.random.random], ids=["random", "numpy"]
)


@GLOBAL_GENERATORS
def test_seeded_fit_ignores_other_threads_random_draws(small_data, generator):
    # Dask's workers (and any thread) draw from Python's global ``random`` and
    # NumPy's global generator while a fit runs; the network's initializers and
    # dropout have their own seeds, and every row order comes from the fit's own
    # generator, so such draws cannot change the model (they once did: issue 6's
    # Dask test; and NumPy's, through the fused JAX epoch's shuffles: issue 22)
    expected = _proba(3, small_data)
    for proba in _while_drawing(generator, lambda: _proba(3, small_data)):
        np.testing.assert_array_equal(proba, expected)


@GLOBAL_GENERATORS
def test_sparse_fit_ignores_other_threads_random_draws(small_data, generator, monkeypatch):
    # sparse data too large to make dense at once train from minibatches made
    # dense one at a time: their order too is the fit's own
    import scipy.sparse as sp

    import skmlp._training.sparse

    monkeypatch.setattr(skmlp._training.sparse, "SPARSE_DENSE_BYTES", 0)
    X, y = small_data
    Xs = sp.csr_matrix(np.where(X > 0, X, 0))

    def proba():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return fast(max_iter=3, random_state=3).fit(Xs, y).predict_proba(Xs)

    expected = proba()
    # one fit under contention: a sparse epoch runs Python per minibatch, so the
    # drawing thread slows it most, and one fit already sees thousands of draws
    for got in _while_drawing(generator, proba, repeats=1):
        np.testing.assert_array_equal(got, expected)


def test_partial_fit_ignores_other_threads_random_draws(small_data):
    # partial_fit's epochs shuffle with the fit's own generator on every backend
    X, y = small_data

    def proba():
        clf = fast(dropout=0.2, random_state=3)
        for _ in range(3):
            clf.partial_fit(X, y, classes=[0, 1, 2])
        return clf.predict_proba(X)

    expected = proba()
    for got in _while_drawing(np.random.random, proba):
        np.testing.assert_array_equal(got, expected)


def test_random_state_instances_are_drawn_from(small_data):
    # scikeras maps every RandomState to seed 0; skmlp draws a seed from it
    a = _proba(np.random.RandomState(1), small_data)
    b = _proba(np.random.RandomState(2), small_data)
    assert not np.allclose(a, b)
    # the same state gives the same model; one instance used twice moves on
    np.testing.assert_array_equal(a, _proba(np.random.RandomState(1), small_data))
    rs = np.random.RandomState(1)
    first, second = _proba(rs, small_data), _proba(rs, small_data)
    np.testing.assert_array_equal(first, a)
    assert not np.allclose(first, second)


def test_none_is_random_and_global_state_is_left_alone(small_data):
    np.random.seed(123)
    random.seed(123)
    expected_np, expected_py = np.random.random_sample(), random.random()
    np.random.seed(123)
    random.seed(123)
    _proba(0, small_data)
    assert np.random.random_sample() == expected_np and random.random() == expected_py
    assert not np.allclose(_proba(None, small_data), _proba(None, small_data))


# ------------------------------------------------------------------ errors
def _must_not_train(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("training started before the input was rejected")

    # a fresh estimator cannot train without building its network
    monkeypatch.setattr(MLPClassifier, "_build", fail)


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(dropout=1.0), ValueError, "dropout"),
        (dict(dropout=-0.1), ValueError, "dropout"),
        (dict(hidden_layer_sizes=(10, 0)), ValueError, "hidden_layer_sizes"),
        (dict(hidden_layer_sizes=(-3,)), ValueError, "hidden_layer_sizes"),
        (dict(hidden_layer_sizes=(10.5,)), TypeError, "hidden_layer_sizes"),
        (dict(max_iter=0), ValueError, "max_iter"),
        (dict(activation="sigmoidal"), ValueError, "activation"),
        (dict(solver="newton"), ValueError, "solver"),
        (dict(solver="lbfgs", dropout=0.2), ValueError, "dropout"),
        (dict(learning_rate="sometimes"), ValueError, "learning_rate"),
        (dict(power_t=-1.0), ValueError, "power_t"),
        (dict(max_fun=0), ValueError, "max_fun"),
        (dict(n_iter_no_change=0), ValueError, "n_iter_no_change"),
        (dict(batch_size=0), ValueError, "batch_size"),
        (dict(learning_rate_init=0.0), ValueError, "learning_rate_init"),
        (dict(validation_fraction=1.0), ValueError, "validation_fraction"),
        (dict(kernel_initializer="no_such_init"), ValueError, "kernel_initializer"),
        (dict(class_weight="heavy"), ValueError, "class_weight"),
    ],
)
def test_bad_hyperparameters_fail_before_training(params, error, match, small_data, monkeypatch):
    _must_not_train(monkeypatch)
    X, y = small_data
    with pytest.raises(error, match=match):
        fast(**params).fit(X, y)


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 7, np.nan, X), y), "NaN"),
        (lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 7, np.inf, X), y),
         "infinity"),
        (lambda X, y: (X[:, :, None], y), "dim 3"),
        (lambda X, y: (X, y + 0.5), "Unknown label type"),
        (lambda X, y: (X, y[:-1]), "inconsistent numbers of samples"),
        (lambda X, y: (X, np.c_[y, y]), "multiclass-multioutput"),
        (lambda X, y: (X[:0], y[:0]), "0 sample"),
    ],
)  # fmt: skip
def test_bad_data_fails_before_training(mutate, match, small_data, monkeypatch):
    _must_not_train(monkeypatch)
    X, y = mutate(*small_data)
    with pytest.raises(ValueError, match=match):
        fast().fit(X, y)


def test_unknown_class_weight_label(small_data, monkeypatch):
    _must_not_train(monkeypatch)
    X, y = small_data
    with pytest.raises(ValueError, match="class_weight has labels"):
        fast(class_weight={0: 1.0, 9: 2.0}).fit(X, y)


def test_validation_split_needs_two_per_class(small_data, monkeypatch):
    _must_not_train(monkeypatch)
    X, y = small_data
    y = y.copy()
    y[0] = 3  # a class with a single sample
    with pytest.raises(ValueError, match="least populated class"):
        fast(early_stopping=True).fit(X, y)


def test_predict_time_errors(fitted, small_data):
    X, _ = small_data
    with pytest.raises(ValueError, match="X has 4 features, but MLPClassifier is expecting 5"):
        fitted.predict(X[:, :4])
    with pytest.raises(ValueError, match="NaN"):
        fitted.predict_proba(np.full((2, 5), np.nan))
    with pytest.raises(NotFittedError):
        MLPClassifier().predict(X)


# ------------------------------------------------- pipelines and grid search
@pytest.mark.slow
def test_pipeline_grid_search_stratified_parallel(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    X_train, y_train = X_train[:450], y_train[:450]
    pipe = Pipeline(
        [
            ("scale", MinMaxScaler()),
            (
                "mlp",
                MLPClassifier(max_iter=10, batch_size=32, learning_rate_init=0.01, random_state=0),
            ),
        ]
    )
    grid = {
        "mlp__hidden_layer_sizes": [(16,), (32, 16)],
        "mlp__batch_norm": [False, True],
        "mlp__dropout": [0.0, 0.2],
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(pipe, grid, cv=3, n_jobs=2, return_train_score=True)
        search.fit(X_train, y_train)
    assert len(search.cv_results_["params"]) == 8
    assert search.n_splits_ == 3
    # GridSearchCV turns cv=3 into StratifiedKFold because the pipeline is a classifier
    assert is_classifier(search.estimator)
    assert isinstance(
        check_cv(3, y_train, classifier=is_classifier(search.estimator)), StratifiedKFold
    )
    # stratified: each of the 3 folds' test parts keeps every class
    folds = list(StratifiedKFold(3).split(X_train, y_train))
    assert all(len(np.unique(y_train[test])) == 10 for _, test in folds)
    assert np.all(search.cv_results_["mean_test_score"] > 0.5)
    assert search.best_estimator_.score(X_test, y_test) > 0.8


def test_digits_reaches_95_percent_in_30_epochs(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((64,), max_iter=30, batch_size=32, random_state=0)
        clf.fit(X_train, y_train)
    assert clf.n_iter_ <= 30
    assert clf.score(X_test, y_test) >= 0.95


# ---------------------------------------------------------------- persistence
def test_joblib_round_trip_estimator(fitted, small_data, tmp_path):
    X, _ = small_data
    path = tmp_path / "clf.joblib"
    joblib.dump(fitted, path)
    loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    assert loaded.n_iter_ == fitted.n_iter_ and loaded.history_ == fitted.history_
    assert loaded.get_params() == fitted.get_params()


def test_joblib_round_trip_pipeline(small_data, tmp_path):
    X, y = small_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe = Pipeline([("scale", MinMaxScaler()), ("mlp", fast(batch_norm=True, dropout=0.2))])
        pipe.fit(X, np.array(["a", "b", "c"])[y])
    path = tmp_path / "pipe.joblib"
    joblib.dump(pipe, path)
    loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), pipe.predict(X))


def test_loaded_model_keeps_training(fitted, small_data, tmp_path):
    X, y = small_data
    path = tmp_path / "clf.joblib"
    joblib.dump(fitted, path)
    loaded = joblib.load(path)
    loaded.partial_fit(X, y)
    assert loaded.n_iter_ == fitted.n_iter_ + 1


def test_unfitted_pickles_and_clone(fitted):
    clf = MLPClassifier((8, 4), dropout=0.1, batch_norm=True, random_state=3)
    again = pickle.loads(pickle.dumps(clf))
    assert again.get_params() == clf.get_params()
    cloned = clone(fitted)
    assert cloned.get_params() == fitted.get_params()
    assert not hasattr(cloned, "model_") and not hasattr(cloned, "classes_")
    with pytest.raises(NotFittedError):
        cloned.predict(np.zeros((1, 5)))


# ------------------------------------------- scikit-learn's behaviour (issue 11)
def test_loss_and_t_attributes(fitted, small_data):
    X, _ = small_data
    assert fitted.loss_ == fitted.loss_curve_[-1]
    assert fitted.t_ == fitted.n_iter_ * X.shape[0]


def test_int_momentum_zero_trains(small_data):
    X, y = small_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = fast(solver="sgd", momentum=0, learning_rate_init=0.1).fit(X / 4, y)
    assert float(clf.model_.optimizer.momentum) == 0.0
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


def test_fit_raises_no_deprecation_warning(small_data):
    # a -W error or warnings-as-errors test setting must not break fit or predict
    X, y = small_data
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = fast(max_iter=2).fit(X, y)
        clf.predict_proba(X)


def test_n_iter_no_change_inf_runs_to_max_iter(small_data):
    X, y = small_data
    with pytest.warns(ConvergenceWarning):
        clf = fast(max_iter=5, tol=1e9, n_iter_no_change=np.inf).fit(X, y)
    assert clf.n_iter_ == 5
    assert clf._no_improvement_count == clf.n_iter_ - 1


def test_warm_start_with_other_classes_raises(small_data):
    X, y = small_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = fast(max_iter=2, warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="warm_start can only be used where `y` has the same"):
        clf.fit(X[y < 2], y[y < 2])


def test_partial_fit_with_other_classes_raises(small_data):
    X, y = small_data
    clf = fast().partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="is not the same as on last call to partial_fit"):
        clf.partial_fit(X, y, classes=[0, 1, 2, 3])
    clf.partial_fit(X, y, classes=[2, 1, 0])  # the same set, in another order


def test_partial_fit_refuses_early_stopping(small_data):
    X, y = small_data
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        fast(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])


def test_partial_fit_takes_sample_weight_before_classes(small_data):
    # scikit-learn 1.9's order: partial_fit(X, y, sample_weight=None, classes=None)
    import inspect

    X, y = small_data
    params = list(inspect.signature(MLPClassifier.partial_fit).parameters)
    assert params == ["self", "X", "y", "sample_weight", "classes"]
    clf = fast().partial_fit(X, y, np.ones(len(y)), [0, 1, 2])
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])


def test_a_single_class_is_always_predicted(small_data):
    # scikit-learn fits a single class and predicts it
    X, y = small_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = fast(max_iter=2).fit(X, np.full(len(y), "only"))
    np.testing.assert_array_equal(clf.predict(X), "only")
    assert clf.predict_proba(X).shape == (len(y), 2)


def test_partial_fit_unavailable_for_lbfgs():
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    assert hasattr(MLPClassifier(solver="sgd"), "partial_fit")


def test_convergence_warning_filtered_by_sklearn_module(small_data):
    # filters written for scikit-learn's MLP silence skmlp's warning too
    X, y = small_data
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=ConvergenceWarning, module="sklearn")
        fast(max_iter=2, tol=0.0).fit(X, y)
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    with pytest.warns(ConvergenceWarning):
        fast(max_iter=2, tol=0.0).fit(X, y)


def test_set_params_learning_rate():
    clf = MLPClassifier().set_params(learning_rate="adaptive", power_t=0.3)
    assert clf.learning_rate == "adaptive" and clf.power_t == 0.3


def test_lbfgs_solver(small_data):
    X, y = small_data
    clf = MLPClassifier((8,), solver="lbfgs", max_iter=200, random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.95
    assert 1 <= clf.n_iter_ <= 200 and np.isfinite(clf.loss_)
    with pytest.warns(ConvergenceWarning, match="lbfgs"):
        capped = MLPClassifier((8,), solver="lbfgs", max_fun=5, random_state=0).fit(X, y)
    assert capped.n_iter_ <= 5
    assert capped.loss_ > clf.loss_


def _densified_rows(monkeypatch):
    """Record how many rows each sparse-to-dense conversion makes dense."""
    import scipy.sparse as sp

    rows = []
    original = sp.csr_matrix.toarray

    def toarray(self, *args, **kwargs):
        rows.append(self.shape[0])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(sp.csr_matrix, "toarray", toarray)
    return rows


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_input_is_densified_per_batch(fmt, small_data, monkeypatch):
    import scipy.sparse as sp

    import skmlp._training.sparse

    # as for a matrix whose dense copy would not fit the budget
    monkeypatch.setattr(skmlp._training.sparse, "SPARSE_DENSE_BYTES", 0)
    X, y = small_data
    X = np.where(np.abs(X) > 1.0, X, 0.0).astype(np.float32)
    Xs = sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense = fast(max_iter=3).fit(X, y)
        rows = _densified_rows(monkeypatch)
        sparse = fast(max_iter=3).fit(Xs, y)
    assert rows and max(rows) <= 32  # one minibatch at a time, never all 200 rows
    # same training data, same seed: the same model up to the shuffling's order
    assert np.mean(sparse.predict(Xs) == dense.predict(X)) > 0.9
    np.testing.assert_allclose(sparse.predict_proba(Xs), sparse.predict_proba(X), atol=1e-6)


def test_small_sparse_input_is_made_dense_once(small_data, monkeypatch):
    import scipy.sparse as sp

    X, y = small_data
    Xs = sp.csr_matrix(np.where(np.abs(X) > 1.0, X, 0.0).astype(np.float32))
    rows = _densified_rows(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fast(max_iter=3).fit(Xs, y)
    assert rows[0] == len(y)  # within the budget: dense once, the fast paths train it
    assert all(r <= len(y) for r in rows)


def test_multilabel_targets(small_data):
    from sklearn.datasets import make_multilabel_classification

    X, Y = make_multilabel_classification(n_samples=120, n_classes=4, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = fast(max_iter=60).fit(X, Y)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 4
    np.testing.assert_array_equal(clf.classes_, np.arange(4))
    proba = clf.predict_proba(X)
    assert proba.shape == Y.shape and not np.allclose(proba.sum(axis=1), 1.0)
    pred = clf.predict(X)
    assert pred.shape == Y.shape and set(np.unique(pred)) <= {0, 1}
    assert clf.score(X, Y) > 0.4  # subset accuracy
    # the loss is scikit-learn's: the log-loss summed over the labels, plus the penalty
    p = np.clip(proba, 1e-7, 1 - 1e-7)  # as Keras clips
    log_loss = -np.mean(np.sum(Y * np.log(p) + (1 - Y) * np.log(1 - p), axis=1))
    penalty = clf._l2 * sum(float((c.astype(np.float64) ** 2).sum()) for c in clf.coefs_)
    evaluated = clf.model_.evaluate(
        X.astype(np.float32), Y.astype(np.float32), verbose=0, return_dict=True
    )
    assert evaluated["loss"] == pytest.approx(log_loss + penalty, rel=1e-3)
    part = fast().partial_fit(X, Y, classes=[0, 1, 2, 3])
    assert part.predict(X).shape == Y.shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        stopped = fast(max_iter=20, early_stopping=True).fit(X, Y)
    assert len(stopped.validation_scores_) == stopped.n_iter_


def test_negative_sample_weight_fails_before_training(small_data, monkeypatch):
    _must_not_train(monkeypatch)
    X, y = small_data
    sw = np.ones(len(y))
    sw[3] = -1.0
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        fast().fit(X, y, sample_weight=sw)


def test_negative_class_weight_fails_before_training(small_data, monkeypatch):
    _must_not_train(monkeypatch)
    X, y = small_data
    with pytest.raises(ValueError, match="class_weight values must be non-negative"):
        fast(class_weight={0: 1.0, 1: -2.0, 2: 1.0}).fit(X, y)


def test_too_large_network_is_refused_before_building(small_data, monkeypatch):
    X, y = small_data

    def fail(*args, **kwargs):
        raise AssertionError("the network was built")

    monkeypatch.setattr(MLPClassifier, "_build_keras_model", fail)
    with pytest.raises(ValueError, match="parameters, more than"):
        fast(hidden_layer_sizes=(10**9,)).fit(X, y)
