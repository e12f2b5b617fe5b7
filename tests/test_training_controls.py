"""The training controls skmlp adds for better MLPs: each one's effect, measured.

Input dropout, the max-norm constraint, decoupled weight decay (AdamW) and the
``"cosine"`` / ``"step"`` learning-rate schedules. (The fused JAX epoch trains
them as ``Model.fit`` does: tests/test_fused.py, case ``controls``.)
"""

import warnings

import numpy as np
import pytest

import skmlp
from skmlp import MLPClassifier, MLPRegressor
from skmlp._schedules import LearningRateSchedule

# trains through the backend-specific paths: run on the other backend too
# (tests/test_other_backend.py)
pytestmark = pytest.mark.backend


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Maximum iterations.*")
        yield


def test_cosine_and_step_schedules():
    cosine = LearningRateSchedule(1.0, "cosine", max_iter=8)
    step = LearningRateSchedule(1.0, "step", max_iter=8)
    for _ in range(10):  # two epochs past max_iter keep the last rate
        cosine.iteration_ends(0)
        step.iteration_ends(0)
    expected = [(1 + np.cos(np.pi * min(k, 7) / 8)) / 2 for k in range(11)]
    np.testing.assert_allclose(cosine.rates, expected)
    assert cosine.rates[7] == pytest.approx(0.0381, abs=1e-4)  # the last epoch's, not 0
    assert step.rates == [1.0] * 4 + [0.1] * 2 + [0.01] * 5
    # a schedule of one epoch does not decay
    assert LearningRateSchedule(1.0, "step", max_iter=1).learning_rate == 1.0


def test_step_schedule_is_what_sgd_steps_with(digits_split):
    # Full-batch SGD without momentum keeps no optimizer state, so a fit under the
    # "step" schedule equals four warm-started one-epoch fits at its four rates.
    X, _, y, _ = digits_split
    X, y = X[:300], y[:300]
    common = dict(hidden_layer_sizes=(16,), solver="sgd", momentum=0.0, batch_size=300,
                  shuffle=False, alpha=0.0, random_state=0, n_iter_no_change=np.inf)  # fmt: skip
    scheduled = MLPClassifier(learning_rate="step", learning_rate_init=0.5, max_iter=4, **common)
    scheduled.fit(X, y)
    assert scheduled._optimizer.rates[:4] == pytest.approx([0.5, 0.5, 0.05, 0.005])
    by_hand = MLPClassifier(max_iter=1, warm_start=True, **common)
    for rate in (0.5, 0.5, 0.05, 0.005):
        by_hand.set_params(learning_rate_init=rate).fit(X, y)
    for a, b in zip(scheduled.coefs_, by_hand.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    constant = MLPClassifier(learning_rate_init=0.5, max_iter=4, **common).fit(X, y)
    assert not np.allclose(constant.coefs_[0], scheduled.coefs_[0], atol=1e-4)


def test_adam_follows_the_epoch_schedules_only(digits_split):
    # What Adam trained with, not what the schedule object lists: Adam keeps its
    # state over warm-started fits, so a cosine fit of 3 epochs equals three
    # one-epoch fits at the cosine's rates set by hand (fixed minibatches)
    X, _, y, _ = digits_split
    X, y = X[:300], y[:300]
    common = dict(hidden_layer_sizes=(16,), batch_size=100, shuffle=False, alpha=0.0,
                  random_state=0, n_iter_no_change=np.inf)  # fmt: skip
    cosine = MLPClassifier(learning_rate="cosine", learning_rate_init=0.01, max_iter=3, **common)
    cosine.fit(X, y)
    assert cosine._optimizer.rates[:3] == pytest.approx([1e-2, 0.75e-2, 0.25e-2])
    by_hand = MLPClassifier(max_iter=1, warm_start=True, **common)
    for rate in (1e-2, 0.75e-2, 0.25e-2):
        by_hand.set_params(learning_rate_init=rate).fit(X, y)
    for a, b in zip(cosine.coefs_, by_hand.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    constant = MLPClassifier(learning_rate_init=0.01, max_iter=3, **common).fit(X, y)
    assert not np.allclose(constant.coefs_[0], cosine.coefs_[0], atol=1e-3)
    # scikit-learn's SGD schedules leave Adam's rate alone: invscaling is constant
    inv = MLPClassifier(learning_rate="invscaling", learning_rate_init=0.01, max_iter=3, **common)
    inv.fit(X, y)
    assert inv._optimizer.rates == [1e-2] * 4
    for a, b in zip(inv.coefs_, constant.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)


def test_weight_decay_is_decoupled_and_spares_biases(digits_split):
    # One full-batch SGD step from the same initial weights W0 with gradient g:
    #   no decay, rate r:   W1 = W0 - r g;   no decay, rate 2r:  W3 = W0 - 2r g
    #   decay d, rate r:    W2 = W0 - r d W0 - r g
    # so W1 - W2 = r d W0 = r d (2 W1 - W3); the biases are not decayed: b1 == b2.
    X, _, y, _ = digits_split
    X, y = X[:300], y[:300]
    common = dict(hidden_layer_sizes=(16,), solver="sgd", momentum=0.0, batch_size=300,
                  shuffle=False, alpha=0.0, random_state=0, max_iter=1)  # fmt: skip
    r, d = 0.1, 0.5
    plain = MLPClassifier(learning_rate_init=r, **common).fit(X, y)
    double = MLPClassifier(learning_rate_init=2 * r, **common).fit(X, y)
    decayed = MLPClassifier(learning_rate_init=r, weight_decay=d, **common).fit(X, y)
    for w1, w2, w3 in zip(plain.coefs_, decayed.coefs_, double.coefs_, strict=True):
        np.testing.assert_allclose(w1 - w2, r * d * (2 * w1 - w3), atol=1e-6)
        assert np.abs(w1 - w2).max() > 1e-3  # the decay did something
    for b1, b2 in zip(plain.intercepts_, decayed.intercepts_, strict=True):
        np.testing.assert_allclose(b1, b2, atol=1e-7)


def test_weight_decay_leaves_the_output_bias_free():
    # Every input 0 and 90% of rows in class 0: only the output bias can learn the
    # prior, and it must reach logit(0.1) while a strong decay pulls every kernel
    # to 0. A decayed bias would settle where its gradient balances the decay,
    # near P(class 1) = 0.37 instead of 0.1. (The seed notebook's start, whose biases
    # are 0, unlike scikit-learn's: a single step from it cannot show their decay.)
    X = np.zeros((200, 2), np.float32)
    y = (np.arange(200) >= 180).astype(int)
    clf = MLPClassifier((4,), solver="sgd", momentum=0.0, learning_rate_init=1.0,
                        weight_decay=0.5, alpha=0.0, batch_size=200, max_iter=150,
                        n_iter_no_change=1000, random_state=0,
                        kernel_initializer="seed_notebook").fit(X, y)  # fmt: skip
    assert clf.predict_proba(X[:1])[0, 1] == pytest.approx(0.1, abs=0.01)
    assert np.abs(clf.coefs_[-1]).max() < 1e-6  # the kernels decayed away


def test_adamw_shrinks_the_weights(digits_split):
    X, _, y, _ = digits_split
    common = dict(hidden_layer_sizes=(32,), max_iter=8, random_state=0, alpha=0.0)
    adam = MLPClassifier(**common).fit(X, y)
    adamw = MLPClassifier(weight_decay=5.0, **common).fit(X, y)
    # 56 steps at rate 1e-3 multiply the kernels by (1 - 5e-3) ** 56 = 0.76 beside Adam
    assert np.linalg.norm(adamw.coefs_[0]) < 0.85 * np.linalg.norm(adam.coefs_[0])
    assert adamw.score(X, y) > adam.score(X, y) - 0.1  # and learns about as well


def test_max_norm_bounds_every_hidden_unit(digits_split):
    X, _, y, _ = digits_split
    common = dict(hidden_layer_sizes=(32, 16), max_iter=5, random_state=0,
                  learning_rate_init=0.05)  # fmt: skip
    free = MLPClassifier(**common).fit(X, y)
    bounded = MLPClassifier(max_norm=1.5, **common).fit(X, y)
    # without the constraint these weights grow past it; with it no unit does
    assert max(np.linalg.norm(w, axis=0).max() for w in free.coefs_[:-1]) > 1.5
    for w in bounded.coefs_[:-1]:
        assert np.linalg.norm(w, axis=0).max() <= 1.5 + 1e-5
    assert bounded.score(X, y) > 0.8


def test_input_dropout_drops_inputs_in_training_only(digits_split):
    X, _, y, _ = digits_split
    clf = MLPClassifier((32,), input_dropout=0.5, max_iter=3, random_state=0).fit(X, y)
    layer = clf.model_.get_layer("input_dropout")
    assert clf.model_.layers[0] is layer and layer.rate == 0.5
    assert clf.n_params_ == MLPClassifier((32,), max_iter=1, random_state=0).fit(X, y).n_params_
    # random in training, deterministic in prediction
    x = X[:50]
    train = [np.asarray(clf.model_(x, training=True)) for _ in range(2)]
    assert not np.allclose(train[0], train[1])
    np.testing.assert_array_equal(clf.predict_proba(x), clf.predict_proba(x))
    # half the pixels of each row are dropped (kept ones scaled by 2)
    dropped = np.asarray(layer(x, training=True))
    kept = dropped != 0
    assert 0.4 < kept[x != 0].mean() < 0.6
    np.testing.assert_allclose(dropped[kept], 2 * x[kept], rtol=1e-6)


def test_controls_are_searchable_and_saved(digits_split, tmp_path):
    X, X_test, y, _ = digits_split
    # a learning rate that pushes the hidden units past the max-norm bound, so that
    # a model loaded without its constraint would show it
    params = dict(input_dropout=0.1, max_norm=1.0, weight_decay=0.01, learning_rate="cosine")
    small = dict(hidden_layer_sizes=(16,), max_iter=2, random_state=0, learning_rate_init=0.05,
                 **params)  # fmt: skip
    for est in (MLPClassifier(**small), MLPRegressor(**small)):
        est.fit(X, y)
        path = tmp_path / f"{type(est).__name__}.skmlp"
        skmlp.save(est, path)
        back = skmlp.load(path)
        assert back.get_params() == est.get_params()
        np.testing.assert_allclose(back.predict(X_test), est.predict(X_test), rtol=1e-6)
        # training on after loading keeps the constraint, which binds: the largest
        # unit sits at the bound
        back.set_params(warm_start=True, max_iter=1).fit(X, y)
        largest = np.linalg.norm(back.coefs_[0], axis=0).max()
        assert 0.99 <= largest <= 1.0 + 1e-5, largest


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(input_dropout=1.0), "input_dropout"),
        (dict(max_norm=0.0), "max_norm"),
        (dict(weight_decay=-1.0), "weight_decay"),
        (dict(learning_rate="linear"), "learning_rate"),
        (dict(solver="lbfgs", weight_decay=0.1), "solver='lbfgs' cannot train with weight_decay"),
        (dict(solver="lbfgs", max_norm=3.0), "solver='lbfgs' cannot train with max_norm"),
        (dict(solver="lbfgs", input_dropout=0.2), "input_dropout"),
    ],
)
def test_bad_controls_fail_before_training(small_data, params, match):
    X, y = small_data
    with pytest.raises(ValueError, match=match):
        MLPClassifier((4,), **params).fit(X, y)
