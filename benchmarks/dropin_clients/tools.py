"""Clients that hand the MLP to scikit-learn's tools: searches, inspection, ensembles."""

from __future__ import annotations

import numpy as np
from scipy.stats import loguniform
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import make_classification
from sklearn.ensemble import (
    BaggingClassifier,
    RandomForestClassifier,
    StackingClassifier,
    VotingClassifier,
)
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.inspection import PartialDependenceDisplay, permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import (
    GridSearchCV,
    HalvingGridSearchCV,
    HalvingRandomSearchCV,
    RandomizedSearchCV,
    cross_val_predict,
    cross_val_score,
    cross_validate,
    learning_curve,
    validation_curve,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ._registry import cancer, client, diabetes, digits, iris, split, wine


def _scaled(est):
    return make_pipeline(StandardScaler(), est)


@client("tools")
def cross_validate_multi_metric(MLPClassifier, MLPRegressor, seed):
    """cross_validate with three metrics and train scores on scaled breast cancer."""
    X, y = cancer()
    cv = cross_validate(_scaled(MLPClassifier(random_state=seed)), X, y, cv=5,
                        scoring=["accuracy", "roc_auc", "f1"], return_train_score=True)  # fmt: skip
    return {"score": float(np.mean(cv["test_accuracy"])),
            "roc_auc": float(np.mean(cv["test_roc_auc"]))}  # fmt: skip


@client("tools")
def grid_search_iris(MLPClassifier, MLPRegressor, seed):
    """GridSearchCV over alpha and hidden_layer_sizes on raw iris: best_score_."""
    X, y = iris()
    grid = {"alpha": [1e-4, 1e-2, 1.0], "hidden_layer_sizes": [(50,), (100,)]}
    search = GridSearchCV(MLPClassifier(random_state=seed, max_iter=300), grid, cv=3)
    search.fit(X, y)
    return {"score": search.best_score_, "best_params": str(search.best_params_)}


@client("tools")
def grid_search_n_jobs2(MLPClassifier, MLPRegressor, seed):
    """GridSearchCV(n_jobs=2) on a scaled wine pipeline: joblib worker processes."""
    X, y = wine()
    grid = {"mlpclassifier__alpha": [1e-4, 1e-1], "mlpclassifier__learning_rate_init": [1e-3, 1e-2]}
    search = GridSearchCV(_scaled(MLPClassifier(random_state=seed)), grid, cv=3, n_jobs=2)
    return search.fit(X, y).best_score_


@client("tools")
def randomized_search_wine(MLPClassifier, MLPRegressor, seed):
    """RandomizedSearchCV with log-uniform alpha and learning rate on scaled wine."""
    X, y = wine()
    dist = {"mlpclassifier__alpha": loguniform(1e-5, 1e0),
            "mlpclassifier__learning_rate_init": loguniform(1e-4, 1e-1)}  # fmt: skip
    search = RandomizedSearchCV(_scaled(MLPClassifier(random_state=seed)), dist, n_iter=5,
                                cv=3, random_state=0)  # fmt: skip
    return search.fit(X, y).best_score_


@client("tools")
def halving_grid_search(MLPClassifier, MLPRegressor, seed):
    """HalvingGridSearchCV over alpha and sizes on raw iris (resource: samples)."""
    X, y = iris()
    grid = {"alpha": [1e-4, 1e-3, 1e-2, 1e-1], "hidden_layer_sizes": [(20,), (100,)]}
    search = HalvingGridSearchCV(MLPClassifier(random_state=seed), grid, cv=3, random_state=0)
    return search.fit(X, y).best_score_


@client("tools")
def halving_random_search_max_iter(MLPClassifier, MLPRegressor, seed):
    """HalvingRandomSearchCV with max_iter as the resource (set_params(max_iter=...))."""
    X, y = digits()
    X = X / 16.0
    dist = {"alpha": loguniform(1e-5, 1e-1), "learning_rate_init": loguniform(1e-4, 1e-2)}
    search = HalvingRandomSearchCV(MLPClassifier(random_state=seed), dist, resource="max_iter",
                                   max_resources=40, min_resources=5, n_candidates=6, cv=3,
                                   random_state=0)  # fmt: skip
    return search.fit(X, y).best_score_


@client("tools")
def permutation_importance_n_jobs1(MLPClassifier, MLPRegressor, seed):
    """permutation_importance (n_jobs=1) of a scaled MLPRegressor on diabetes."""
    X, y = diabetes()
    X_train, X_test, y_train, y_test = split(X, y)
    est = _scaled(MLPRegressor(hidden_layer_sizes=(50,), max_iter=1000, random_state=seed))
    est.fit(X_train, y_train)
    r = permutation_importance(est, X_test, y_test, n_repeats=5, random_state=0, n_jobs=1)
    return {"score": est.score(X_test, y_test), "top_feature": int(np.argmax(r.importances_mean))}


@client("tools")
def permutation_importance_n_jobs2(MLPClassifier, MLPRegressor, seed):
    """permutation_importance (n_jobs=2) of a scaled MLPClassifier on wine."""
    X, y = wine()
    X_train, X_test, y_train, y_test = split(X, y)
    est = _scaled(MLPClassifier(random_state=seed)).fit(X_train, y_train)
    r = permutation_importance(est, X_test, y_test, n_repeats=5, random_state=0, n_jobs=2)
    assert r.importances.shape == (13, 5)
    return {"score": est.score(X_test, y_test), "top_feature": int(np.argmax(r.importances_mean))}


@client("tools")
def partial_dependence_display(MLPClassifier, MLPRegressor, seed):
    """PartialDependenceDisplay.from_estimator (individual and average) of a regressor."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X, y = diabetes()
    est = _scaled(MLPRegressor(hidden_layer_sizes=(50,), max_iter=1000, random_state=seed))
    est.fit(X, y)
    disp = PartialDependenceDisplay.from_estimator(est, X, [2, 8], kind="both", subsample=50,
                                                   grid_resolution=20, random_state=0)  # fmt: skip
    plt.close("all")
    assert disp.axes_.shape == (1, 2)
    return est.score(X, y)


@client("tools")
def calibrated_sigmoid(MLPClassifier, MLPRegressor, seed):
    """CalibratedClassifierCV(method="sigmoid", cv=3): 1 - Brier score on breast cancer."""
    X, y = cancer()
    X_train, X_test, y_train, y_test = split(X, y)
    cal = CalibratedClassifierCV(_scaled(MLPClassifier(random_state=seed)), cv=3)
    cal.fit(X_train, y_train)
    return 1 - brier_score_loss(y_test, cal.predict_proba(X_test)[:, 1])


@client("tools")
def voting_soft(MLPClassifier, MLPRegressor, seed):
    """VotingClassifier(voting="soft") of a logistic regression, a forest and an MLP on wine."""
    X, y = wine()
    X_train, X_test, y_train, y_test = split(X, y)
    vote = VotingClassifier(
        [("lr", _scaled(LogisticRegression())),
         ("rf", RandomForestClassifier(n_estimators=50, random_state=0)),
         ("mlp", _scaled(MLPClassifier(random_state=seed)))], voting="soft")  # fmt: skip
    vote.fit(X_train, y_train)
    assert vote.predict_proba(X_test).shape == (len(X_test), 3)
    return vote.score(X_test, y_test)


@client("tools")
def stacking_classifier(MLPClassifier, MLPRegressor, seed):
    """StackingClassifier: forest and MLP under a logistic regression, breast cancer."""
    X, y = cancer()
    X_train, X_test, y_train, y_test = split(X, y)
    stack = StackingClassifier(
        [("rf", RandomForestClassifier(n_estimators=50, random_state=0)),
         ("mlp", _scaled(MLPClassifier(random_state=seed)))],
        final_estimator=LogisticRegression(), cv=3)  # fmt: skip
    return stack.fit(X_train, y_train).score(X_test, y_test)


@client("tools")
def bagging_classifier(MLPClassifier, MLPRegressor, seed):
    """BaggingClassifier of 5 MLPs on raw iris (each member a clone with its own seed)."""
    X, y = iris()
    X_train, X_test, y_train, y_test = split(X, y)
    bag = BaggingClassifier(MLPClassifier(max_iter=300), n_estimators=5, random_state=seed)
    return bag.fit(X_train, y_train).score(X_test, y_test)


@client("tools")
def learning_curve_digits(MLPClassifier, MLPRegressor, seed):
    """learning_curve at three training sizes on digits, 3 folds: last test score."""
    X, y = digits()
    _sizes, _train, test = learning_curve(MLPClassifier(random_state=seed, max_iter=50), X / 16.0,
                                        y, train_sizes=[0.2, 0.5, 1.0], cv=3)  # fmt: skip
    return {"score": float(test[-1].mean()), "small_size_score": float(test[0].mean())}


@client("tools")
def validation_curve_alpha(MLPClassifier, MLPRegressor, seed):
    """validation_curve over alpha on scaled wine: best mean test score."""
    X, y = wine()
    _, test = validation_curve(_scaled(MLPClassifier(random_state=seed)), X, y,
                               param_name="mlpclassifier__alpha",
                               param_range=[1e-4, 1e-2, 1, 10], cv=3)  # fmt: skip
    return {"score": float(test.mean(axis=1).max()), "by_alpha": test.mean(axis=1).tolist()}


@client("tools")
def cross_val_predict_proba(MLPClassifier, MLPRegressor, seed):
    """cross_val_predict(method="predict_proba") on scaled wine: one-vs-rest ROC AUC."""
    X, y = wine()
    proba = cross_val_predict(_scaled(MLPClassifier(random_state=seed)), X, y, cv=5,
                              method="predict_proba")  # fmt: skip
    assert proba.shape == (len(y), 3)
    return roc_auc_score(y, proba, multi_class="ovr")


@client("tools")
def cross_val_score_n_jobs2(MLPClassifier, MLPRegressor, seed):
    """cross_val_score(n_jobs=2) of a raw MLPClassifier on breast cancer, then the final fit."""
    X, y = cancer()
    scores = cross_val_score(MLPClassifier(random_state=seed), X, y, cv=4, n_jobs=2)
    final = MLPClassifier(random_state=seed).fit(X, y)
    return {"score": float(np.mean(scores)), "train_score": final.score(X, y)}


@client("tools")
def make_scorer_fbeta(MLPClassifier, MLPRegressor, seed):
    """cross_val_score with make_scorer(fbeta_score, beta=2) on an imbalanced problem."""
    from sklearn.metrics import fbeta_score, make_scorer

    X, y = make_classification(n_samples=600, weights=[0.85, 0.15], random_state=0)
    scorer = make_scorer(fbeta_score, beta=2)
    return float(np.mean(cross_val_score(_scaled(MLPClassifier(random_state=seed)), X, y, cv=3,
                                         scoring=scorer)))  # fmt: skip


@client("tools")
def imbalanced_no_class_weight(MLPClassifier, MLPRegressor, seed):
    """Imbalanced data (95/5) with no class_weight: balanced accuracy on a test split."""
    from sklearn.metrics import balanced_accuracy_score

    X, y = make_classification(n_samples=1000, weights=[0.95, 0.05], flip_y=0, random_state=3)
    X_train, X_test, y_train, y_test = split(X, y)
    clf = _scaled(MLPClassifier(random_state=seed)).fit(X_train, y_train)
    return balanced_accuracy_score(y_test, clf.predict(X_test))


@client("tools")
def sample_weight_fit(MLPClassifier, MLPRegressor, seed):
    """fit(sample_weight=...) up-weighting the minority class (scikit-learn >= 1.7)."""
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.utils.class_weight import compute_sample_weight

    X, y = make_classification(n_samples=1000, weights=[0.9, 0.1], random_state=3)
    X_train, X_test, y_train, y_test = split(StandardScaler().fit_transform(X), y)
    clf = MLPClassifier(random_state=seed)
    clf.fit(X_train, y_train, sample_weight=compute_sample_weight("balanced", y_train))
    return balanced_accuracy_score(y_test, clf.predict(X_test))
