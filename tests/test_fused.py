"""The fused JAX epoch (skmlp._training.fused) computes what ``Model.fit`` computes.

The comparison runs in a subprocess on the JAX backend (tests/_fused_cases.py),
so it holds whichever backend this test session uses.
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed"),
]


@pytest.fixture(scope="module")
def cases():
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3")
    script = Path(__file__).with_name("_fused_cases.py")
    out = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


CASES = ["bn_dropout_validation", "weights_sgd_no_shuffle", "early_stopping", "warm_start",
         "blocks_of_4", "partial_fit", "controls"]  # fmt: skip


# With batch normalisation, the gradient of the bias before it is zero up to
# rounding, and Adam rescales that rounding noise into full-size updates of that
# bias; so float rounding (the padded last batch sums in another order) moves the
# trajectories apart by ~1e-3 over a few epochs. test_padded_step_is_train_step
# checks those cases' step exactly.
RTOL = {"bn_dropout_validation": 1e-2, "warm_start": 1e-2, "blocks_of_4": 1e-2}


@pytest.mark.parametrize("name", CASES)
def test_fused_epoch_matches_fit(cases, name):
    fit, fused = cases[name]["fit"], cases[name]["fused"]
    # the fused path really ran (and the reference did not)
    assert fit["fused_calls"] == 0
    assert fused["fused_calls"] >= 1
    assert fused["n_iter"] == fit["n_iter"]
    assert fused["history"].keys() == fit["history"].keys()
    rtol = RTOL.get(name, 1e-4)
    for key in fit["history"]:
        # where rounding moves the trajectories apart, an accuracy may differ by a
        # prediction or two of the 180 scored rows (1/180 = 0.0056)
        atol = 0.012 if name in RTOL and "accuracy" in key else 1e-6
        np.testing.assert_allclose(fused["history"][key], fit["history"][key], rtol=rtol,
                                   atol=atol, err_msg=key)  # fmt: skip
    np.testing.assert_allclose(fused["proba"], fit["proba"], rtol=rtol, atol=100 * rtol * 1e-3)
    np.testing.assert_allclose(fused["coef_sum"], fit["coef_sum"], rtol=rtol)


def test_cases_train_for_real(cases):
    # the comparison is not vacuous: the losses move and the cases differ
    loss = cases["bn_dropout_validation"]["fit"]["history"]["loss"]
    assert loss[-1] < loss[0]
    assert "val_loss" in cases["bn_dropout_validation"]["fit"]["history"]
    assert cases["early_stopping"]["fit"]["n_iter"] < 4  # it did stop early
    # n_iter_ counts the last fit's epochs, the history both fits'
    assert cases["warm_start"]["fit"]["n_iter"] == 4
    assert len(cases["warm_start"]["fit"]["history"]["loss"]) == 8


def test_jax_padded_prediction_matches_predict(cases):
    for n, diff in cases["predict"].items():
        assert diff < 1e-5, n


def test_padded_step_is_train_step(cases):
    # the last, smaller minibatch, padded to the full batch shape (batch norm and
    # dropout included), against Keras' train_step on its real rows
    diff = cases["padded_step"]
    assert diff["changed"] > 1e-3  # the step changed the network
    assert diff["outputs"] < 1e-5
    assert diff["non_trainable"] < 1e-6
    assert diff["metrics"] < 1e-6


def test_one_training_program_per_structure(cases):
    # compiled ahead (on the background thread), then reused by fits of 700 and
    # 1111 rows and by partial_fit calls of 333 and 17 rows: no other compile
    assert cases["compiles"] == {"ahead": 1, "after_fits": 1}


def test_an_interrupted_run_drops_queued_compiles():
    # skmlp run's KeyboardInterrupt handler calls cancel_pending: the compile
    # running finishes, the queued ones are dropped (Python would wait for them)
    import time

    import skmlp._training.background as background

    running = background._worker().submit(time.sleep, 0.3)
    while not running.running():
        time.sleep(0.01)
    queued = [background._worker().submit(time.sleep, 0.3) for _ in range(3)]
    background.cancel_pending()
    assert all(future.cancelled() for future in queued)
    assert running.result(timeout=10) is None
    # a later compile gets a new worker
    assert background._worker().submit(lambda: 7).result(timeout=10) == 7
