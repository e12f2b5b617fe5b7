"""Clients of a user's workflow: pipelines, persistence, meta-estimators, training loops."""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.datasets import make_classification, make_multilabel_classification, make_regression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.multioutput import MultiOutputRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ._registry import cancer, client, diabetes, digits, iris, split, wine


def _frame(seed_free=0):
    """A small mixed-type table: 4 numeric columns, 2 categorical ones, a binary target."""
    import pandas as pd

    X, y = make_classification(n_samples=400, n_features=4, n_informative=3, n_redundant=0,
                               random_state=seed_free)  # fmt: skip
    rng = np.random.RandomState(seed_free)
    df = pd.DataFrame(X, columns=["age", "income", "score", "tenure"])
    df["city"] = np.where(X[:, 0] + rng.normal(0, 0.5, len(X)) > 0, "north", "south")
    df["plan"] = rng.choice(["basic", "plus", "pro"], size=len(X))
    return df, y


@client("workflow")
def column_transformer_pandas(MLPClassifier, MLPRegressor, seed):
    """ColumnTransformer (scaler + one-hot) in front of the MLP, on a pandas frame."""
    df, y = _frame()
    X_train, X_test, y_train, y_test = split(df, y)
    pre = ColumnTransformer([("num", StandardScaler(), ["age", "income", "score", "tenure"]),
                             ("cat", OneHotEncoder(), ["city", "plan"])])  # fmt: skip
    model = make_pipeline(pre, MLPClassifier(random_state=seed)).fit(X_train, y_train)
    return model.score(X_test, y_test)


@client("workflow")
def set_output_pandas(MLPClassifier, MLPRegressor, seed):
    """set_output(transform="pandas") pipeline: the MLP gets a DataFrame with column names."""
    X, y = wine(as_frame=True)
    X_train, X_test, y_train, y_test = split(X, y)
    model = make_pipeline(StandardScaler(), MLPClassifier(random_state=seed))
    model.set_output(transform="pandas")
    model.fit(X_train, y_train)
    assert list(model[-1].feature_names_in_) == list(X.columns)
    return model.score(X_test, y_test)


def _fitted(MLPClassifier, seed):
    X, y = cancer()
    X_train, X_test, y_train, y_test = split(StandardScaler().fit_transform(X), y)
    return MLPClassifier(random_state=seed).fit(X_train, y_train), X_test, y_test


@client("workflow")
def pickle_round_trip(MLPClassifier, MLPRegressor, seed):
    """pickle.dumps/loads of a fitted MLP: same predictions, then its score."""
    clf, X_test, y_test = _fitted(MLPClassifier, seed)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_allclose(again.predict_proba(X_test), clf.predict_proba(X_test), atol=1e-6)
    return again.score(X_test, y_test)


@client("workflow")
def pickle_under_warnings_as_errors(MLPClassifier, MLPRegressor, seed):
    """Pickling and deepcopy with DeprecationWarning turned into errors (-W error habit)."""
    clf, X_test, y_test = _fitted(MLPClassifier, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        again = pickle.loads(pickle.dumps(clf))
        copy.deepcopy(clf)
    return again.score(X_test, y_test)


@client("workflow")
def joblib_dump_load(MLPClassifier, MLPRegressor, seed):
    """joblib.dump/load through a file of a fitted pipeline."""
    import tempfile
    from pathlib import Path

    import joblib

    X, y = wine()
    X_train, X_test, y_train, y_test = split(X, y)
    model = make_pipeline(StandardScaler(), MLPClassifier(random_state=seed)).fit(X_train, y_train)
    with tempfile.TemporaryDirectory() as tmp:
        joblib.dump(model, Path(tmp) / "model.joblib")
        again = joblib.load(Path(tmp) / "model.joblib")
    assert (again.predict(X_test) == model.predict(X_test)).all()
    return again.score(X_test, y_test)


@client("workflow")
def deepcopy_then_refit(MLPClassifier, MLPRegressor, seed):
    """copy.deepcopy of a fitted model, then the copy refit on other data: original unchanged."""
    clf, X_test, y_test = _fitted(MLPClassifier, seed)
    before = clf.predict_proba(X_test)
    other = copy.deepcopy(clf)
    other.fit(X_test, 1 - y_test)
    np.testing.assert_allclose(clf.predict_proba(X_test), before, atol=1e-6)
    return clf.score(X_test, y_test)


@client("workflow")
def clone_refit_same_seed(MLPClassifier, MLPRegressor, seed):
    """clone() of a fitted model refit on the same data: same score (fixed random_state)."""
    X, y = iris()
    X_train, X_test, y_train, y_test = split(X, y)
    clf = MLPClassifier(random_state=seed).fit(X_train, y_train)
    twin = clone(clf).fit(X_train, y_train)
    assert not hasattr(clone(clf), "coefs_")
    same = bool(twin.score(X_test, y_test) == clf.score(X_test, y_test))
    return {"score": twin.score(X_test, y_test), "same_as_original": same}


@client("workflow")
def skops_round_trip(MLPClassifier, MLPRegressor, seed):
    """skops.io dumps, get_untrusted_types, loads(trusted=...) of a fitted pipeline."""
    import skops.io as sio

    X, y = wine()
    X_train, X_test, y_train, y_test = split(X, y)
    model = make_pipeline(StandardScaler(), MLPClassifier(random_state=seed)).fit(X_train, y_train)
    data = sio.dumps(model)
    untrusted = sio.get_untrusted_types(data=data)
    again = sio.loads(data, trusted=untrusted)
    assert (again.predict(X_test) == model.predict(X_test)).all()
    return {"score": again.score(X_test, y_test), "untrusted_types": len(untrusted)}


@client("workflow")
def multi_output_regressor(MLPClassifier, MLPRegressor, seed):
    """MultiOutputRegressor(MLPRegressor) on two targets (scaled): test R^2."""
    X, y = make_regression(n_samples=300, n_features=8, n_targets=2, noise=5, random_state=0)
    X_train, X_test, y_train, y_test = split(X, y / np.std(y, axis=0))
    model = MultiOutputRegressor(make_pipeline(StandardScaler(), MLPRegressor(
        max_iter=500, random_state=seed))).fit(X_train, y_train)  # fmt: skip
    return model.score(X_test, y_test)


@client("workflow")
def native_multi_output(MLPClassifier, MLPRegressor, seed):
    """MLPRegressor on three targets at once (its own multi-output): test R^2."""
    X, y = make_regression(n_samples=300, n_features=8, n_targets=3, noise=5, random_state=1)
    X_train, X_test, y_train, y_test = split(X, y / np.std(y, axis=0))
    model = MLPRegressor(max_iter=500, random_state=seed).fit(X_train, y_train)
    assert model.predict(X_test).shape == (len(X_test), 3)
    return model.score(X_test, y_test)


@client("workflow")
def one_vs_rest(MLPClassifier, MLPRegressor, seed):
    """OneVsRestClassifier(MLPClassifier) on raw iris: three binary MLPs."""
    X, y = iris()
    X_train, X_test, y_train, y_test = split(X, y)
    ovr = OneVsRestClassifier(MLPClassifier(random_state=seed, max_iter=300)).fit(X_train, y_train)
    return ovr.score(X_test, y_test)


@client("workflow")
def multilabel(MLPClassifier, MLPRegressor, seed):
    """MLPClassifier on a multilabel indicator target: subset accuracy and proba shape."""
    X, Y = make_multilabel_classification(n_samples=300, n_classes=4, random_state=0)
    X_train, X_test, Y_train, Y_test = split(X, Y)
    clf = MLPClassifier(random_state=seed, max_iter=300).fit(X_train, Y_train)
    assert clf.predict_proba(X_test).shape == (len(X_test), 4)
    return clf.score(X_test, Y_test)


@client("workflow")
def transformed_target(MLPClassifier, MLPRegressor, seed):
    """TransformedTargetRegressor: scaled target and inputs, diabetes, test R^2."""
    X, y = diabetes()
    X_train, X_test, y_train, y_test = split(X, y)
    model = TransformedTargetRegressor(
        regressor=make_pipeline(StandardScaler(), MLPRegressor(hidden_layer_sizes=(20,),
                                                                max_iter=500, random_state=seed)),
        transformer=StandardScaler()).fit(X_train, y_train)  # fmt: skip
    return model.score(X_test, y_test)


@client("workflow")
def raw_diabetes_regressor(MLPClassifier, MLPRegressor, seed):
    """MLPRegressor() at its defaults on raw diabetes (an unscaled target): test R^2."""
    X_train, X_test, y_train, y_test = split(*diabetes())
    model = MLPRegressor(random_state=seed).fit(X_train, y_train)
    return {"score": model.score(X_test, y_test), "epochs": model.n_iter_}


@client("workflow")
def early_stopping_iris(MLPClassifier, MLPRegressor, seed):
    """early_stopping=True on raw iris (the issue's 36% vs 83% finding): test accuracy."""
    X_train, X_test, y_train, y_test = split(*iris())
    clf = MLPClassifier(early_stopping=True, random_state=seed).fit(X_train, y_train)
    return {"score": clf.score(X_test, y_test), "epochs": clf.n_iter_}


@client("workflow")
def warm_start_loop(MLPClassifier, MLPRegressor, seed):
    """warm_start=True with max_iter=10, ten calls to fit: a score after each block."""
    X_train, X_test, y_train, y_test = split(*wine())
    scaler = StandardScaler().fit(X_train)
    clf = MLPClassifier(warm_start=True, max_iter=10, random_state=seed)
    curve = []
    for _ in range(10):
        clf.fit(scaler.transform(X_train), y_train)
        curve.append(clf.score(scaler.transform(X_test), y_test))
    return {"score": curve[-1], "first": curve[0], "loss_curve_len": len(clf.loss_curve_)}


@client("workflow")
def partial_fit_loop(MLPClassifier, MLPRegressor, seed):
    """partial_fit over mini-batches of digits for 5 passes, classes given on the first call."""
    X_train, X_test, y_train, y_test = split(*digits())
    X_train, X_test = X_train / 16, X_test / 16
    clf = MLPClassifier(random_state=seed)
    classes = np.unique(y_train)
    for _ in range(5):
        for start in range(0, len(X_train), 200):
            clf.partial_fit(
                X_train[start : start + 200], y_train[start : start + 200], classes=classes
            )
    return clf.score(X_test, y_test)


@client("workflow")
def partial_fit_regressor_stream(MLPClassifier, MLPRegressor, seed):
    """MLPRegressor.partial_fit on a stream of batches of a linear problem: test R^2."""
    X, y = make_regression(n_samples=1000, n_features=5, noise=1, random_state=2)
    X_train, X_test, y_train, y_test = split(X, y / np.std(y))
    reg = MLPRegressor(random_state=seed, learning_rate_init=0.01)
    for _ in range(10):
        for start in range(0, len(X_train), 100):
            reg.partial_fit(X_train[start : start + 100], y_train[start : start + 100])
    return reg.score(X_test, y_test)


@client("workflow")
def sgd_adaptive_digits(MLPClassifier, MLPRegressor, seed):
    """solver="sgd", learning_rate="adaptive" on scaled digits: test accuracy."""
    X_train, X_test, y_train, y_test = split(*digits())
    clf = MLPClassifier(solver="sgd", learning_rate="adaptive", random_state=seed, max_iter=30)
    clf.fit(X_train / 16, y_train)
    return clf.score(X_test / 16, y_test)


@client("workflow")
def lbfgs_small_cancer(MLPClassifier, MLPRegressor, seed):
    """solver="lbfgs" (the docs' advice for small data) on scaled breast cancer, (5, 2)."""
    X, y = cancer()
    X_train, X_test, y_train, y_test = split(StandardScaler().fit_transform(X), y)
    clf = MLPClassifier(solver="lbfgs", alpha=1e-5, hidden_layer_sizes=(5, 2), random_state=seed)
    return clf.fit(X_train, y_train).score(X_test, y_test)
