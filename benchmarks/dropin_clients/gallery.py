"""Clients after scikit-learn's gallery examples that use an MLP (offline data only)."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import (
    make_circles,
    make_classification,
    make_friedman1,
    make_moons,
    make_regression,
)
from sklearn.ensemble import HistGradientBoostingRegressor, StackingRegressor
from sklearn.inspection import partial_dependence
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.model_selection import cross_val_score
from sklearn.neural_network import BernoulliRBM
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, QuantileTransformer, StandardScaler

from ._registry import cancer, client, diabetes, digits, iris, split


def _three_datasets():
    X, y = make_classification(
        n_features=2, n_redundant=0, n_informative=2, random_state=1, n_clusters_per_class=1
    )
    X += 2 * np.random.RandomState(2).uniform(size=X.shape)
    return [
        make_moons(noise=0.3, random_state=0),
        make_circles(noise=0.2, factor=0.5, random_state=1),
        (X, y),
    ]


@client("gallery")
def plot_mlp_alpha(MLPClassifier, MLPRegressor, seed):
    """plot_mlp_alpha: lbfgs, two layers of 10, five alphas on three 2-D sets."""
    scores = []
    for X, y in _three_datasets():
        X_train, X_test, y_train, y_test = split(X, y, test_size=0.4)
        for alpha in np.logspace(-1, 1, 5):
            clf = make_pipeline(
                StandardScaler(),
                MLPClassifier(
                    solver="lbfgs",
                    alpha=alpha,
                    random_state=seed,
                    max_iter=2000,
                    early_stopping=True,
                    hidden_layer_sizes=[10, 10],
                ),
            )
            clf.fit(X_train, y_train)
            scores.append(clf.score(X_test, y_test))
    return float(np.mean(scores))


def _training_curve_params():
    return [
        {"solver": "sgd", "learning_rate": "constant", "momentum": 0, "learning_rate_init": 0.2},
        {"solver": "sgd", "learning_rate": "constant", "momentum": 0.9,
         "nesterovs_momentum": False, "learning_rate_init": 0.2},
        {"solver": "sgd", "learning_rate": "constant", "momentum": 0.9,
         "nesterovs_momentum": True, "learning_rate_init": 0.2},
        {"solver": "sgd", "learning_rate": "invscaling", "momentum": 0, "learning_rate_init": 0.2},
        {"solver": "sgd", "learning_rate": "invscaling", "momentum": 0.9,
         "nesterovs_momentum": False, "learning_rate_init": 0.2},
        {"solver": "sgd", "learning_rate": "invscaling", "momentum": 0.9,
         "nesterovs_momentum": True, "learning_rate_init": 0.2},
        {"solver": "adam", "learning_rate_init": 0.01},
    ]  # fmt: skip


@client("gallery")
def plot_mlp_training_curves(MLPClassifier, MLPRegressor, seed):
    """Compare stochastic learning strategies: 7 solver settings on iris, digits, moons."""
    sets = [(iris(), 400), (digits(), 15), (make_moons(noise=0.3, random_state=0), 400)]
    scores, final_losses = [], []
    for (X, y), max_iter in sets:
        X = MinMaxScaler().fit_transform(X)
        for params in _training_curve_params():
            mlp = MLPClassifier(random_state=seed, max_iter=max_iter, **params)
            mlp.fit(X, y)
            scores.append(mlp.score(X, y))
            final_losses.append(mlp.loss_)
    return {"score": float(np.mean(scores)), "mean_final_loss": float(np.mean(final_losses))}


@client("gallery")
def plot_mnist_filters_digits(MLPClassifier, MLPRegressor, seed):
    """plot_mnist_filters on digits: 40 hidden units, sgd, 8 epochs, first-layer weights."""
    X, y = digits()
    X = X / 16.0
    X_train, X_test, y_train, y_test = split(X, y)
    mlp = MLPClassifier(
        hidden_layer_sizes=(40,),
        max_iter=8,
        alpha=1e-4,
        solver="sgd",
        verbose=False,
        random_state=seed,
        learning_rate_init=0.2,
    )
    mlp.fit(X_train, y_train)
    assert mlp.coefs_[0].shape == (64, 40), mlp.coefs_[0].shape
    vmin, vmax = mlp.coefs_[0].min(), mlp.coefs_[0].max()
    return {"score": mlp.score(X_test, y_test), "coef_range": float(vmax - vmin)}


@client("gallery")
def plot_classifier_comparison(MLPClassifier, MLPRegressor, seed):
    """plot_classifier_comparison's neural net: alpha=1, max_iter=1000, three 2-D sets."""
    scores, epochs = [], []
    for X, y in _three_datasets():
        X_train, X_test, y_train, y_test = split(X, y, test_size=0.4)
        clf = make_pipeline(StandardScaler(), MLPClassifier(alpha=1, max_iter=1000,
                                                            random_state=seed))  # fmt: skip
        clf.fit(X_train, y_train)
        scores.append(clf.score(X_test, y_test))
        epochs.append(clf[-1].n_iter_)
    return {"score": float(np.mean(scores)), "epochs": epochs}


@client("gallery")
def plot_partial_dependence_mlp(MLPClassifier, MLPRegressor, seed):
    """plot_partial_dependence's MLPRegressor: quantile-scaled inputs, (30, 15), early stop."""
    X, y = make_friedman1(n_samples=1000, random_state=0)
    X_train, X_test, y_train, y_test = split(X, y)
    est = make_pipeline(
        QuantileTransformer(n_quantiles=100),
        MLPRegressor(
            hidden_layer_sizes=(30, 15),
            learning_rate_init=0.01,
            early_stopping=True,
            random_state=seed,
        ),
    )
    est.fit(X_train, y_train)
    one = partial_dependence(est, X_train, features=[0], kind="average", grid_resolution=10)
    two = partial_dependence(est, X_train, features=[(0, 1)], kind="average", grid_resolution=10)
    assert one["average"].shape == (1, 10) and two["average"].shape == (1, 10, 10)
    return est.score(X_test, y_test)


@client("gallery")
def plot_rbm_logistic(MLPClassifier, MLPRegressor, seed):
    """plot_rbm_logistic: BernoulliRBM features into a logistic regression (no MLP at all)."""
    X, y = digits()
    X = MinMaxScaler().fit_transform(X)
    X_train, X_test, y_train, y_test = split(X, y)
    rbm = BernoulliRBM(n_components=64, learning_rate=0.06, n_iter=10, random_state=seed)
    model = make_pipeline(rbm, LogisticRegression(C=6000, max_iter=1000))
    model.fit(X_train, y_train)
    return model.score(X_test, y_test)


@client("gallery")
def rbm_features_into_mlp(MLPClassifier, MLPRegressor, seed):
    """plot_rbm_logistic-style pipeline with the MLP as the classifier on the RBM's features."""
    X, y = digits()
    X = MinMaxScaler().fit_transform(X)
    X_train, X_test, y_train, y_test = split(X, y)
    rbm = BernoulliRBM(n_components=64, learning_rate=0.06, n_iter=10, random_state=0)
    model = make_pipeline(rbm, MLPClassifier(random_state=seed))
    model.fit(X_train, y_train)
    return model.score(X_test, y_test)


@client("gallery")
def compare_solvers_cancer(MLPClassifier, MLPRegressor, seed):
    """sgd, adam and lbfgs at their defaults on scaled breast cancer: test accuracy each."""
    X, y = cancer()
    X_train, X_test, y_train, y_test = split(X, y)
    out = {}
    for solver in ("sgd", "adam", "lbfgs"):
        clf = make_pipeline(StandardScaler(), MLPClassifier(solver=solver, random_state=seed))
        out[solver] = clf.fit(X_train, y_train).score(X_test, y_test)
    return {"score": float(np.mean(list(out.values()))), **out}


@client("gallery")
def plot_stack_predictors_mlp(MLPClassifier, MLPRegressor, seed):
    """plot_stack_predictors-style: an MLP, boosting and a ridge stacked on diabetes."""
    X, y = diabetes()
    y = (y - y.mean()) / y.std()
    estimators = [
        ("mlp", make_pipeline(StandardScaler(), MLPRegressor(hidden_layer_sizes=(50,),
                                                              random_state=seed))),
        ("hgb", HistGradientBoostingRegressor(random_state=0)),
        ("ridge", RidgeCV()),
    ]  # fmt: skip
    stack = StackingRegressor(estimators=estimators, final_estimator=RidgeCV(), cv=3)
    return float(np.mean(cross_val_score(stack, X, y, cv=3, scoring="r2")))


@client("gallery")
def digits_default(MLPClassifier, MLPRegressor, seed):
    """The first thing a user tries: MLPClassifier() on digits, raw pixels, test accuracy."""
    X_train, X_test, y_train, y_test = split(*digits())
    clf = MLPClassifier(random_state=seed).fit(X_train, y_train)
    return {"score": clf.score(X_test, y_test), "epochs": clf.n_iter_}


@client("gallery")
def iris_default_cv(MLPClassifier, MLPRegressor, seed):
    """MLPClassifier() on raw iris, 5-fold cross_val_score (the issue's first finding)."""
    X, y = iris()
    return float(np.mean(cross_val_score(MLPClassifier(random_state=seed), X, y, cv=5)))


@client("gallery")
def friedman_regression(MLPClassifier, MLPRegressor, seed):
    """MLPRegressor's docstring example: make_regression, max_iter=500, test R^2."""
    X, y = make_regression(n_samples=200, random_state=1)
    X_train, X_test, y_train, y_test = split(X, y)
    regr = MLPRegressor(random_state=seed, max_iter=500).fit(X_train, y_train)
    return regr.score(X_test, y_test)


@client("gallery")
def activations_on_moons(MLPClassifier, MLPRegressor, seed):
    """The four activations on moons (scaled), test accuracy each."""
    X, y = make_moons(n_samples=300, noise=0.25, random_state=0)
    X_train, X_test, y_train, y_test = split(X, y)
    out = {}
    for act in ("identity", "logistic", "tanh", "relu"):
        clf = make_pipeline(StandardScaler(), MLPClassifier(activation=act, random_state=seed))
        out[act] = clf.fit(X_train, y_train).score(X_test, y_test)
    return {"score": float(np.mean(list(out.values()))), **out}
