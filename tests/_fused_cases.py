"""Fit the same estimators with and without the fused JAX epoch; print JSON.

Run by tests/test_fused.py in a subprocess with ``KERAS_BACKEND=jax``; not a
test module itself.
"""

import json
import os
import sys
import warnings


def _record(clf, X):
    import numpy as np

    return {
        "history": clf.history_,
        "n_iter": clf.n_iter_,
        "proba": clf.predict_proba(X[:50]).tolist(),
        "coef_sum": [float(np.abs(c).sum()) for c in clf.coefs_],
    }


def _with_block_steps(steps, make):
    import skmlp._training.fused as fused

    old, fused.MAX_BLOCK_STEPS = fused.MAX_BLOCK_STEPS, steps
    try:
        return make()
    finally:
        fused.MAX_BLOCK_STEPS = old


def _padded_step_vs_train_step(X, y):
    """One padded step against Keras' ``train_step`` on the same 17 rows, same state."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    import skmlp._training.fused as fused
    from skmlp import MLPClassifier

    clf = MLPClassifier((48, 24), batch_norm=True, dropout=0.3, max_iter=1, batch_size=64,
                        random_state=0).fit(X, y)  # fmt: skip
    model = clf.model_

    def state():
        return model._get_jax_state(trainable_variables=True, non_trainable_variables=True,
                                    optimizer_variables=True, metrics_variables=True)  # fmt: skip

    xr, yr = X[:17], y[:17].astype(np.int64)
    ref = jax.jit(lambda s, d: model.train_step(s, d)[1])(state(), (xr, yr))
    xp, yp = np.zeros((64, X.shape[1]), X.dtype), np.zeros(64, np.int64)
    xp[:17], yp[:17] = xr, yr
    step = jax.jit(lambda s, d, n: fused._padded_train_step(model, s, d, n))
    out = step(state(), (xp, yp), jnp.int32(17))

    def rel(a, b):
        a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
        return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a)), 1e-12))

    def outputs(values):
        return model.stateless_call(values[0], values[1], X[:200], training=False)[0]

    return {
        # moving statistics and the dropout seed state
        "non_trainable": max(rel(a, b) for a, b in zip(ref[1], out[1], strict=True)),
        # the loss tracker's and accuracy's totals and counts
        "metrics": max(rel(a, b) for a, b in zip(ref[3], out[3], strict=True)),
        # what the network predicts after the step
        "outputs": rel(outputs(ref), outputs(out)),
        "changed": rel(outputs(ref), outputs(state())),
    }


def _compiles_of_one_structure(X, y):
    """XLA compilations of the training program across fits of one structure."""
    import jax
    import numpy as np

    import skmlp._training.background as background
    from skmlp import MLPClassifier

    names = []

    def listener(event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            names.append(str(kwargs.get("fun_name", "")))

    jax.monitoring.register_event_duration_secs_listener(listener)

    def blocks():
        return sum("block" in name for name in names)

    params = dict(hidden_layer_sizes=(40,), batch_norm=True, dropout=0.1, batch_size=50,
                  max_iter=2, random_state=0)  # fmt: skip
    MLPClassifier(**params)._compile_ahead(X, y)
    background._worker().submit(lambda: None).result()  # the queued compile has run
    ahead = blocks()
    MLPClassifier(**params).fit(X[:700], y[:700])  # 14 batches of 50
    MLPClassifier(**params).fit(X[:1111], y[:1111])  # 22 batches and 11 rows
    pf = MLPClassifier(**params).partial_fit(X[:333], y[:333], classes=np.unique(y))
    pf.partial_fit(X[333:350], y[333:350])  # fewer rows than a batch
    return {"ahead": ahead, "after_fits": blocks()}


def main():
    import keras
    import numpy as np
    from sklearn.datasets import load_digits

    import skmlp._training.epochs as core  # where train_epochs calls fused_fit
    from skmlp import MLPClassifier

    assert keras.backend.backend() == "jax", keras.backend.backend()
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    weights = np.random.RandomState(0).uniform(0.5, 2.0, len(y))
    calls = {"n": 0}
    fused = core.fused_fit

    def counting(*args, **kwargs):
        calls["n"] += 1
        return fused(*args, **kwargs)

    core.fused_fit = counting
    base = dict(batch_size=64, max_iter=4, random_state=0)
    cases = {
        # 1617 training rows: 25 batches of 64 and a remainder of 17
        "bn_dropout_validation": lambda: MLPClassifier(
            (48, 24), batch_norm=True, dropout=0.3, monitor_validation=True, **base
        ).fit(X, y),
        "weights_sgd_no_shuffle": lambda: MLPClassifier(
            (32,),
            solver="sgd",
            learning_rate_init=0.05,
            shuffle=False,
            class_weight="balanced",
            **base,
        ).fit(X, y, sample_weight=weights),
        "early_stopping": lambda: MLPClassifier(
            (32,), early_stopping=True, n_iter_no_change=1, tol=0.5, dropout=0.2, **base
        ).fit(X, y),
        "warm_start": lambda: (
            MLPClassifier((32,), batch_norm=True, warm_start=True, **base)
            .fit(X, y)
            .fit(X[:900], y[:900])
        ),
        # blocks of 4 minibatch slots: 6 full blocks, a block of 1, the remainder
        "blocks_of_4": lambda: _with_block_steps(
            4,
            lambda: MLPClassifier(
                (48,), batch_norm=True, dropout=0.2, monitor_validation=True, **base
            ).fit(X, y),
        ),
        # the training controls: input dropout, max-norm, AdamW decay, cosine rate
        "controls": lambda: MLPClassifier(
            (48,),
            input_dropout=0.2,
            dropout=0.2,
            max_norm=1.0,
            weight_decay=0.05,
            learning_rate="cosine",
            learning_rate_init=0.01,
            **base,
        ).fit(X, y),
        "partial_fit": lambda: (
            MLPClassifier((32,), dropout=0.1, **base)
            .partial_fit(X[:1000], y[:1000], classes=np.arange(10))
            .partial_fit(X[1000:], y[1000:])
        ),
    }
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, make in cases.items():
            out[name] = {}
            for mode in ("fit", "fused"):
                os.environ["SKMLP_FUSED_EPOCHS"] = "1" if mode == "fused" else "0"
                before = calls["n"]
                clf = make()
                out[name][mode] = _record(clf, X)
                out[name][mode]["fused_calls"] = calls["n"] - before
        # prediction: padded power-of-two chunks give what Model.predict gives
        clf = MLPClassifier((32,), batch_norm=True, **base).fit(X, y)
        big = np.tile(X, (3, 1))[:5000]  # two chunks, the second padded
        out["predict"] = {
            str(n): float(np.abs(clf.predict_proba(big[:n])
                                 - clf.model_.predict(big[:n], verbose=0)).max())
            for n in (1, 3, 1000, 5000)
        }  # fmt: skip
    out["padded_step"] = _padded_step_vs_train_step(X, y)
    out["compiles"] = _compiles_of_one_structure(X, y)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
