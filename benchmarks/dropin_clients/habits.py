"""Ten habits of scikeras/skorch users, written against scikit-learn's MLP API."""

from __future__ import annotations

import contextlib
import io

import numpy as np
from sklearn.datasets import load_iris
from sklearn.preprocessing import StandardScaler

from ._registry import cancer, client, digits, iris, split, wine


@client("habits")
def validation_data_via_early_stopping(MLPClassifier, MLPRegressor, seed):
    """Validation data the scikit-learn way: early_stopping, validation_fraction, patience."""
    X_train, X_test, y_train, y_test = split(*wine())
    scaler = StandardScaler().fit(X_train)
    clf = MLPClassifier(early_stopping=True, validation_fraction=0.2, n_iter_no_change=5,
                        max_iter=500, random_state=seed)  # fmt: skip
    clf.fit(scaler.transform(X_train), y_train)
    assert len(clf.validation_scores_) == clf.n_iter_
    return {"score": clf.score(scaler.transform(X_test), y_test),
            "best_validation_score": clf.best_validation_score_, "epochs": clf.n_iter_}  # fmt: skip


@client("habits")
def predict_proba_shapes(MLPClassifier, MLPRegressor, seed):
    """predict_proba is (n, 2) for a binary target and (n, k) for k classes; rows sum to 1."""
    Xb, yb = cancer()
    Xb = StandardScaler().fit_transform(Xb)
    pb = MLPClassifier(random_state=seed).fit(Xb, yb).predict_proba(Xb[:7])
    Xm, ym = iris()
    clf = MLPClassifier(random_state=seed, max_iter=300).fit(Xm, ym)
    pm = clf.predict_proba(Xm)
    assert pb.shape == (7, 2) and pm.shape == (150, 3), (pb.shape, pm.shape)
    np.testing.assert_allclose(pm.sum(axis=1), 1, atol=1e-5)
    return clf.score(Xm, ym)


@client("habits")
def string_labels(MLPClassifier, MLPRegressor, seed):
    """String class labels: classes_ holds the strings, predict returns them."""
    data = load_iris()
    y = data.target_names[data.target]
    X_train, X_test, y_train, y_test = split(data.data, y)
    clf = MLPClassifier(random_state=seed, max_iter=300).fit(X_train, y_train)
    assert list(clf.classes_) == ["setosa", "versicolor", "virginica"], clf.classes_
    assert set(clf.predict(X_test)) <= set(data.target_names)
    return clf.score(X_test, y_test)


@client("habits")
def pandas_dataframe_in(MLPClassifier, MLPRegressor, seed):
    """A DataFrame and a Series in; feature_names_in_; predict on a DataFrame."""
    X, y = cancer(as_frame=True)
    X = (X - X.mean()) / X.std()
    X_train, X_test, y_train, y_test = split(X, y)
    clf = MLPClassifier(random_state=seed).fit(X_train, y_train)
    assert list(clf.feature_names_in_) == list(X.columns)
    return clf.score(X_test, y_test)


@client("habits")
def float32_inputs(MLPClassifier, MLPRegressor, seed):
    """float32 features (as a deep-learning user stores them): scores and proba dtype."""
    X_train, X_test, y_train, y_test = split(*digits())
    X_train, X_test = (X_train / 16).astype(np.float32), (X_test / 16).astype(np.float32)
    clf = MLPClassifier(random_state=seed, max_iter=100).fit(X_train, y_train)
    proba = clf.predict_proba(X_test)
    return {"score": clf.score(X_test, y_test), "proba_dtype": str(proba.dtype)}


@client("habits")
def verbose_training(MLPClassifier, MLPRegressor, seed):
    """verbose=True: the per-iteration lines go to stdout; the fit is otherwise the same."""
    X, y = iris()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        clf = MLPClassifier(verbose=True, max_iter=50, random_state=seed).fit(X, y)
    lines = [line for line in out.getvalue().splitlines() if "loss" in line.lower()]
    assert lines, "verbose printed no loss lines"
    return {"score": clf.score(X, y), "loss_lines": len(lines)}


@client("habits")
def loss_curve_inspection(MLPClassifier, MLPRegressor, seed):
    """n_iter_, loss_curve_, loss_ and best_loss_ read back after fit, as for a history."""
    X_train, X_test, y_train, y_test = split(*wine())
    scaler = StandardScaler().fit(X_train)
    clf = MLPClassifier(random_state=seed).fit(scaler.transform(X_train), y_train)
    assert len(clf.loss_curve_) == clf.n_iter_
    assert clf.loss_ == clf.loss_curve_[-1]
    assert clf.best_loss_ <= clf.loss_curve_[0]
    return {"score": clf.score(scaler.transform(X_test), y_test), "epochs": clf.n_iter_,
            "first_loss": float(clf.loss_curve_[0]), "t_": int(clf.t_)}  # fmt: skip


@client("habits")
def set_params_then_refit(MLPClassifier, MLPRegressor, seed):
    """A short fit, then set_params(max_iter=300, alpha=...) and fit again from scratch."""
    X_train, X_test, y_train, y_test = split(*iris())
    clf = MLPClassifier(max_iter=5, random_state=seed).fit(X_train, y_train)
    short = clf.score(X_test, y_test)
    clf.set_params(max_iter=300, alpha=1e-3).fit(X_train, y_train)
    assert clf.n_iter_ > 5
    return {"score": clf.score(X_test, y_test), "short": short}


@client("habits")
def get_params_round_trip(MLPClassifier, MLPRegressor, seed):
    """MLPClassifier(**est.get_params()) rebuilds the same model: the same predictions."""
    X_train, X_test, y_train, y_test = split(*iris())
    est = MLPClassifier(hidden_layer_sizes=(30, 10), alpha=1e-3, random_state=seed, max_iter=300)
    params = est.get_params()
    twin = MLPClassifier(**params)
    assert twin.get_params() == params
    a = est.fit(X_train, y_train).predict(X_test)
    b = twin.fit(X_train, y_train).predict(X_test)
    return {"score": est.score(X_test, y_test), "same_predictions": bool((a == b).all())}


@client("habits")
def architecture_loop(MLPClassifier, MLPRegressor, seed):
    """A hand-written loop over network sizes and batch sizes on scaled breast cancer."""
    X, y = cancer()
    X_train, X_test, y_train, y_test = split(StandardScaler().fit_transform(X), y)
    scores = {}
    for hidden in [(16,), (64,), (64, 32)]:
        for batch in (32, 128):
            clf = MLPClassifier(hidden_layer_sizes=hidden, batch_size=batch, random_state=seed)
            scores[f"{hidden}/{batch}"] = clf.fit(X_train, y_train).score(X_test, y_test)
    return {"score": float(np.mean(list(scores.values()))), **scores}
