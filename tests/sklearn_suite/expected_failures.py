"""scikit-learn's MLP tests that skmlp is expected to fail, each with its reason.

Keys are pytest test names in scikit-learn's ``neural_network/tests/test_mlp.py``
(with the parameter id for parametrized tests). Only tests that assert the exact
numbers of scikit-learn's own optimizer or read its private attributes belong here.
``pytest`` applies them as strict expected failures: a listed test that passes
fails the run, as does an unlisted test that fails.
"""

EXPECTED_FAILURES: dict[str, str] = {
    "test_fit": (
        "sets scikit-learn's private optimizer state (_coef_velocity, _coef_grads, ...) "
        "by hand and checks the exact weights of one step of its own SGD code"
    ),
    "test_gradient": (
        "calls scikit-learn's private _loss_grad_lbfgs; skmlp's L-BFGS gradient is "
        "checked against finite differences in tests/test_lbfgs.py instead"
    ),
    "test_lbfgs_regression[X0-y0]": (
        "asserts R^2 > 0.98 for logistic units, which depends on the initial weights' random "
        "stream: from scikit-learn's initialisation rule L-BFGS stalls at R^2 0.813 for 4 of "
        "random_state 0-7 in scikit-learn itself (2, 4, 6, 7) and for 3 in skmlp (1, 2, 5); "
        "this test's random_state=1 is one of skmlp's (with the seed notebook's start, "
        "kernel_initializer='seed_notebook', all 8 reach 0.99)"
    ),
    "test_lbfgs_regression_maxfun[X0-y0]": (
        "asserts that max_fun=10 stops L-BFGS before it converges, which depends on the "
        "path from the initial weights: with identity activation skmlp's float64 run "
        "converges after 9 iterations (status 0, no warning), as scikit-learn's own "
        "MLPRegressor does with random_state=0 or 3"
    ),
}
