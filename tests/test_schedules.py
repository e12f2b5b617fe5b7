"""The training-loop pieces without training: learning-rate schedules and the stopping rule."""

from types import SimpleNamespace

import numpy as np
import pytest

from skmlp._schedules import LearningRateSchedule
from skmlp._stopping import update_no_improvement_count


def test_constant_schedule_never_changes():
    schedule = LearningRateSchedule(0.1, "constant")
    schedule.iteration_ends(1000)
    assert schedule.learning_rate == 0.1
    assert schedule.trigger_stopping("no progress.", verbose=False) is True


def test_invscaling_follows_scikit_learn():
    # scikit-learn's SGDOptimizer: learning_rate_init / (t + 1) ** power_t after each epoch
    schedule = LearningRateSchedule(0.2, "invscaling", power_t=0.25)
    schedule.iteration_ends(8)
    assert schedule.learning_rate == pytest.approx(0.2 / 9**0.25)
    assert schedule.trigger_stopping("no progress.", verbose=False) is True


def test_adaptive_divides_by_five_then_stops(capsys):
    schedule = LearningRateSchedule(1e-3, "adaptive")
    rates = []
    while not schedule.trigger_stopping("Training loss did not improve.", verbose=True):
        rates.append(schedule.learning_rate)
    np.testing.assert_allclose(rates, [1e-3 / 5**k for k in range(1, len(rates) + 1)])
    assert rates[-1] <= 1e-6 < rates[-2]
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("Setting learning rate to 0.000200")
    assert out[-1].endswith("Learning rate too small. Stopping.")


def test_unknown_schedule_is_refused():
    with pytest.raises(ValueError, match="schedule"):
        LearningRateSchedule(0.1, "linear")


def _estimator(**state):
    base = dict(tol=0.1, _no_improvement_count=0, best_loss_=np.inf, history_={"loss": []})
    return SimpleNamespace(**(base | state))


def test_training_loss_rule():
    est = _estimator()
    counts = []
    for loss in [1.0, 0.95, 0.8, 0.85, 0.79]:
        est.history_["loss"].append(loss)
        update_no_improvement_count(est, early_stopping=False)
        counts.append(est._no_improvement_count)
    # improving by less than tol counts as no improvement; the best loss is still kept
    assert counts == [0, 1, 0, 1, 2]
    assert est.best_loss_ == 0.79


def test_validation_score_rule():
    est = _estimator(best_validation_score_=-np.inf)
    improved = [
        update_no_improvement_count(est, early_stopping=True, score=score)
        for score in [0.5, 0.55, 0.7, float("nan")]
    ]
    assert improved == [True, True, True, False]
    assert est.best_validation_score_ == 0.7
    assert est._no_improvement_count == 0  # nan < best + tol is False, as in scikit-learn
