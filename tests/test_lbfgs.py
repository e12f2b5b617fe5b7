"""skmlp._training.lbfgs: full-batch L-BFGS over a Keras model's own loss and gradients.

Every test runs on this session's Keras backend; ``test_other_backend`` runs this
file again in a subprocess on the other one (JAX under TensorFlow and the other
way round), so both backends are always checked.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from skmlp._training.lbfgs import check_lbfgs_compatible, fit_lbfgs, lbfgs_objective

BACKEND = keras.backend.backend()
# TensorFlow differentiates a float64 model; JAX (without x64) computes in float32
FLOAT64 = BACKEND == "tensorflow"
DTYPE = "float64" if FLOAT64 else "float32"

rng = np.random.RandomState(0)
X = rng.normal(size=(60, 4))
W_TRUE = rng.normal(size=(4, 3))
Y_CLASS = np.argmax(X @ W_TRUE + 0.5 * rng.normal(size=(60, 3)), axis=1)
Y_REG = X @ W_TRUE[:, 0] + 0.1 * rng.normal(size=60)


@pytest.fixture(autouse=True)
def _floatx():
    """Keras' losses compute in ``floatx``: make it the models' dtype during each test."""
    before = keras.config.floatx()
    keras.config.set_floatx(DTYPE)
    yield
    keras.config.set_floatx(before)


def _mlp(n_out, hidden=(6,), *, activation="tanh", out="softmax", l2=1e-3, bn=False,
         dropout=0.0, loss="sparse_categorical_crossentropy", seed=0):  # fmt: skip
    """A small Keras MLP, compiled, in ``DTYPE``."""
    reg = keras.regularizers.L2(l2) if l2 else None
    layers = [keras.Input((X.shape[1],), dtype=DTYPE)]
    for i, width in enumerate(hidden):
        init = keras.initializers.GlorotUniform(seed=seed + i)
        layers.append(keras.layers.Dense(width, activation=activation, kernel_regularizer=reg,
                                         kernel_initializer=init, dtype=DTYPE))  # fmt: skip
        if bn:
            layers.append(keras.layers.BatchNormalization(dtype=DTYPE))
        if dropout:
            layers.append(keras.layers.Dropout(dropout, seed=seed))
    init = keras.initializers.GlorotUniform(seed=seed)
    layers.append(keras.layers.Dense(n_out, activation=out, kernel_regularizer=reg,
                                     kernel_initializer=init, dtype=DTYPE))  # fmt: skip
    model = keras.Sequential(layers)
    model.compile(optimizer="adam", loss=loss)
    return model


def _numpy_objective(w, X, y, l2):
    """The reference: a tanh MLP, softmax, mean log loss + ``l2 * ||kernels||^2``, in NumPy."""
    n_in, n_hid, n_out = X.shape[1], 6, 3
    sizes = [n_in * n_hid, n_hid, n_hid * n_out, n_out]
    W1, b1, W2, b2 = np.split(w, np.cumsum(sizes)[:-1])
    W1, W2 = W1.reshape(n_in, n_hid), W2.reshape(n_hid, n_out)
    z = np.tanh(X @ W1 + b1) @ W2 + b2
    z -= z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(y)), y].mean() + l2 * (np.sum(W1**2) + np.sum(W2**2))


def test_objective_is_the_loss_plus_penalty_and_its_gradient():
    model = _mlp(3, l2=0.01)
    func, w0 = lbfgs_objective(model, X, Y_CLASS)
    w = w0 + 0.3 * np.random.RandomState(1).normal(size=w0.shape)  # not the initial point
    value, grad = func(w)
    assert grad.dtype == np.float64 and grad.shape == w.shape
    rtol = 1e-7 if FLOAT64 else 1e-5  # Keras clips probabilities at 1e-7
    assert value == pytest.approx(_numpy_objective(w, X, Y_CLASS, 0.01), rel=rtol)
    # central finite differences of the float64 NumPy reference
    eps = 1e-6
    numeric = np.array([
        (_numpy_objective(w + eps * e, X, Y_CLASS, 0.01)
         - _numpy_objective(w - eps * e, X, Y_CLASS, 0.01)) / (2 * eps)
        for e in np.eye(len(w))
    ])  # fmt: skip
    np.testing.assert_allclose(grad, numeric, rtol=1e-6 if FLOAT64 else 1e-3,
                               atol=1e-8 if FLOAT64 else 1e-5)  # fmt: skip


def test_regression_reaches_the_ridge_solution():
    # a linear model with squared error and an L2 penalty has a closed-form optimum:
    # mean((Xw + b - y)^2) + l2 * ||w||^2
    l2 = 0.05
    model = _mlp(1, hidden=(), out="linear", l2=l2, loss="mean_squared_error")
    result = fit_lbfgs(model, X, Y_REG, max_iter=500, tol=1e-8)
    Xc, yc = X - X.mean(axis=0), Y_REG - Y_REG.mean()
    coef = np.linalg.solve(Xc.T @ Xc / len(X) + l2 * np.eye(X.shape[1]), Xc.T @ yc / len(X))
    intercept = Y_REG.mean() - X.mean(axis=0) @ coef
    kernel, bias = (keras.ops.convert_to_numpy(v) for v in model.trainable_variables)
    np.testing.assert_allclose(kernel.ravel(), coef, atol=1e-5 if FLOAT64 else 1e-3)
    np.testing.assert_allclose(bias, [intercept], atol=1e-5 if FLOAT64 else 1e-3)
    optimum = np.mean((X @ coef + intercept - Y_REG) ** 2) + l2 * coef @ coef
    assert result.fun == pytest.approx(optimum, rel=1e-6 if FLOAT64 else 1e-4)
    assert result.status == 0, result.message


def test_classification_matches_logistic_regression():
    # a softmax layer with mean log loss + l2 ||W||^2 is scikit-learn's multinomial
    # LogisticRegression with C = 1 / (2 * l2 * n_samples), found by another solver
    l2 = 0.01
    model = _mlp(3, hidden=(), l2=l2)
    fit_lbfgs(model, X, Y_CLASS, max_iter=500, tol=1e-8)
    reference = LogisticRegression(C=1 / (2 * l2 * len(X)), tol=1e-10, max_iter=10_000)
    reference.fit(X, Y_CLASS)
    proba = keras.ops.convert_to_numpy(model(X.astype(DTYPE), training=False))
    np.testing.assert_allclose(proba, reference.predict_proba(X), atol=1e-5 if FLOAT64 else 1e-3)


def test_hidden_layer_fit_converges_and_sets_the_weights():
    model = _mlp(3, hidden=(8,), l2=1e-4)
    func, w0 = lbfgs_objective(model, X, Y_CLASS)
    start = func(w0)[0]
    result = fit_lbfgs(model, X, Y_CLASS, max_iter=300, tol=1e-5)
    assert result.fun < 0.1 * start
    # the model holds the optimum: its training loss is the final objective
    func, w_model = lbfgs_objective(model, X, Y_CLASS)
    np.testing.assert_allclose(w_model, result.x, rtol=1e-6)
    assert func(w_model)[0] == pytest.approx(result.fun, rel=1e-5)
    assert np.mean(np.argmax(keras.ops.convert_to_numpy(model(X.astype(DTYPE))), 1) == Y_CLASS) == 1


@pytest.mark.parametrize("max_iter, max_fun", [(3, 15000), (200, 10)])
def test_max_iter_and_max_fun_are_respected(max_iter, max_fun):
    model = _mlp(3, hidden=(8,))
    result = fit_lbfgs(model, X, Y_CLASS, max_iter=max_iter, max_fun=max_fun, tol=0.0)
    assert result.status == 1  # stopped by a limit, not converged
    assert result.nit <= max_iter
    # scipy finishes the line search under way, so it may pass max_fun by a few
    assert result.nfev <= max_fun + 20
    if max_fun == 10:
        assert result.nfev >= max_fun


def test_objective_is_compiled_once_per_fit():
    calls = []

    class Counting(keras.layers.Layer):
        def call(self, x):
            calls.append(1)  # runs once per trace (or eager call), not per evaluation
            return x

    model = keras.Sequential([
        keras.Input((X.shape[1],), dtype=DTYPE), Counting(dtype=DTYPE),
        keras.layers.Dense(3, activation="softmax", dtype=DTYPE),
    ])  # fmt: skip
    model.compile(loss="sparse_categorical_crossentropy")
    before = len(calls)
    result = fit_lbfgs(model, X, Y_CLASS, max_iter=50, tol=0.0)
    assert result.nfev >= 20
    assert len(calls) - before <= 2


def test_batch_norm_objective_is_deterministic_and_statistics_follow_the_weights():
    model = _mlp(3, hidden=(8,), bn=True)
    func, w0 = lbfgs_objective(model, X, Y_CLASS)
    assert func(w0)[0] == func(w0)[0]
    np.testing.assert_array_equal(func(w0)[1], func(w0)[1])
    result = fit_lbfgs(model, X, Y_CLASS, max_iter=100)
    # inference mode uses the moving statistics: set from the final weights, they are
    # the full-batch statistics the objective used, so the loss is the same
    evaluated = model.evaluate(X.astype(DTYPE), Y_CLASS, verbose=0, batch_size=len(X))
    assert evaluated == pytest.approx(result.fun, rel=1e-3)
    bn = next(lay for lay in model.layers if isinstance(lay, keras.layers.BatchNormalization))
    assert bn.momentum == 0.99  # restored after the refresh


def test_sample_weight_is_weighted_as_keras_weights_it():
    # Keras divides the weighted sum by the number of rows: weights 0 and 2 on
    # halves give the mean loss over the weighted half
    model = _mlp(3)
    keep = np.arange(len(X)) % 2 == 0
    func_w, w0 = lbfgs_objective(model, X, Y_CLASS, sample_weight=2.0 * keep)
    func_half, _ = lbfgs_objective(model, X[keep], Y_CLASS[keep])
    value_w, grad_w = func_w(w0)
    value_half, grad_half = func_half(w0)
    assert value_w == pytest.approx(value_half, rel=1e-5)
    np.testing.assert_allclose(grad_w, grad_half, rtol=1e-4, atol=1e-7)


def test_verbose_prints_iterations(capsys):
    fit_lbfgs(_mlp(3), X, Y_CLASS, max_iter=3, tol=0.0, verbose=True)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines] == [f"Iteration {i}" for i in (1, 2, 3)]
    assert all(float(line.split("= ")[1]) > 0 for line in lines)


def test_dropout_is_refused():
    with pytest.raises(ValueError, match=r"cannot train with dropout=0\.3"):
        check_lbfgs_compatible(dropout=0.3)
    model = _mlp(3, dropout=0.2)
    w_before = [keras.ops.convert_to_numpy(v) for v in model.trainable_variables]
    with pytest.raises(ValueError, match="random layer 'dropout"):
        fit_lbfgs(model, X, Y_CLASS)
    # refused before any training
    for v, before in zip(model.trainable_variables, w_before, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(v), before)
    check_lbfgs_compatible(_mlp(3), dropout=0.0)  # no dropout: accepted


# ---------------------------------------------------------------- the estimators
@pytest.fixture
def default_floatx(_floatx):
    """The estimators run under Keras' default floatx (float32), as for users."""
    keras.config.set_floatx("float32")


def _network_dtype(est):
    return est.model_.get_layer("output").compute_dtype


@pytest.mark.usefixtures("default_floatx")
def test_estimators_run_lbfgs_in_float64_on_float64_data_where_the_backend_can():
    from skmlp import MLPClassifier, MLPRegressor
    from skmlp._backend import computes_float64

    expected = "float64" if computes_float64() else "float32"
    reg = MLPRegressor(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=30, random_state=0).fit(
        X, Y_REG
    )
    assert _network_dtype(reg) == expected
    assert reg.predict(X).dtype == np.float64 and reg.coefs_[0].dtype == np.float64
    clf = MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=30, random_state=0)
    assert _network_dtype(clf.fit(X.astype(np.float32), Y_CLASS)) == "float32"
    # the stochastic solvers compute in float32 whatever the data
    adam = MLPRegressor(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(X, Y_REG)
    assert _network_dtype(adam) == "float32"


@pytest.mark.usefixtures("default_floatx")
def test_lbfgs_weights_are_repetitions():
    # scikit-learn's objective: a weight of k is k copies of the row (and 0 none)
    from skmlp import MLPRegressor
    from skmlp._backend import computes_float64

    sw = np.tile([0, 1, 2, 3], len(X) // 4)
    # a strictly convex objective (ridge regression: no hidden layer), solved to
    # L-BFGS' precision, so that both fits reach the one optimum
    est = MLPRegressor(
        hidden_layer_sizes=(), solver="lbfgs", max_iter=1000, tol=1e-12, alpha=1.0,
        random_state=0,
    )  # fmt: skip
    weighted = est.fit(X, Y_REG, sample_weight=sw).predict(X)
    repeated = est.fit(np.repeat(X, sw, axis=0), np.repeat(Y_REG, sw)).predict(X)
    # float32 moves the optimum by ~1e-4 relative; float64 reaches scikit-learn's 1e-7
    rtol = 1e-7 if computes_float64() else 1e-3
    np.testing.assert_allclose(weighted, repeated, rtol=rtol, atol=1e-9)
    # and the penalty counts the weights, not the rows: the optimum is not plain
    # least squares on the weighted rows' count
    unweighted = est.fit(X[sw > 0], Y_REG[sw > 0]).predict(X)
    assert not np.allclose(weighted, unweighted, rtol=1e-3)


@pytest.mark.usefixtures("default_floatx")
def test_float64_network_is_not_continued_by_a_float32_solver():
    from skmlp import MLPRegressor
    from skmlp._backend import computes_float64

    if not computes_float64():
        pytest.skip("this backend computes lbfgs in float32")
    est = MLPRegressor(
        hidden_layer_sizes=(8,), solver="lbfgs", max_iter=20, warm_start=True, random_state=0
    )
    est.fit(X, Y_REG)
    before = [c.copy() for c in est.coefs_]
    with pytest.raises(ValueError, match="trained by solver='lbfgs' in float64"):
        est.set_params(solver="adam").fit(X, Y_REG)
    for c, b in zip(est.coefs_, before, strict=True):
        np.testing.assert_array_equal(c, b)
    est.set_params(solver="lbfgs").fit(X, Y_REG)  # lbfgs continues it


@pytest.mark.usefixtures("default_floatx")
def test_float64_network_survives_a_model_file(tmp_path):
    import skmlp

    est = skmlp.MLPRegressor(
        hidden_layer_sizes=(8,), solver="lbfgs", max_iter=30, random_state=0
    ).fit(X, Y_REG)
    skmlp.save(est, tmp_path / "m.skmlp")
    loaded = skmlp.load(tmp_path / "m.skmlp")
    assert _network_dtype(loaded) == _network_dtype(est)
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


OTHER = "jax" if BACKEND == "tensorflow" else "tensorflow"


@pytest.mark.skipif(importlib.util.find_spec(OTHER) is None, reason=f"{OTHER} is not installed")
@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("SKMLP_LBFGS_SUBPROCESS") == "1", reason="already the other backend's run"
)
def test_other_backend():
    env = dict(os.environ, KERAS_BACKEND=OTHER, TF_CPP_MIN_LOG_LEVEL="3",
               SKMLP_LBFGS_SUBPROCESS="1")  # fmt: skip
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
         str(Path(__file__).resolve())],
        cwd=root, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    summary = out.stdout.strip().splitlines()[-1]
    assert " passed" in summary and " failed" not in summary, summary
