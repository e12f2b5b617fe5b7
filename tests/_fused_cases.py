"""Fit the same estimators with and without the fused JAX epoch; print JSON.

Run by tests/test_fused.py in a subprocess with ``KERAS_BACKEND=jax``; not a
test module itself.
"""

import json
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


def main():
    import keras
    import numpy as np
    from sklearn.datasets import load_digits

    import skmlp._base as core
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
                MLPClassifier._fused_epochs = mode == "fused"
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
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
