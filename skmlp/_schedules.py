"""Learning-rate schedules of the stochastic solvers, with scikit-learn's semantics.

scikit-learn's ``SGDOptimizer`` changes its learning rate at the end of an epoch
(``"invscaling"``) or when the stopping rule fires (``"adaptive"``); Adam keeps
``learning_rate_init``. skmlp adds two schedules over ``max_iter`` epochs that
both solvers follow: ``"cosine"`` and ``"step"`` decay.
:class:`LearningRateSchedule` holds that rule and the current rate; the
training loop (:mod:`skmlp._stopping`) calls it at every epoch end and copies
:attr:`~LearningRateSchedule.learning_rate` into the Keras optimizer, which
then uses it for the next epoch's steps.
"""

from __future__ import annotations

import math

__all__ = ["EPOCH_SCHEDULES", "SCHEDULES", "LearningRateSchedule"]

#: The values of the estimators' ``learning_rate`` parameter.
SCHEDULES = ("constant", "invscaling", "adaptive", "cosine", "step")
#: The schedules over ``max_iter`` epochs, which Adam follows too (scikit-learn's
#: three apply to SGD only).
EPOCH_SCHEDULES = ("cosine", "step")

# scikit-learn stops an "adaptive" schedule once the rate has fallen this low.
_MIN_ADAPTIVE_RATE = 1e-6


class LearningRateSchedule:
    """The learning rate of one training run and the rule that changes it.

    Parameters
    ----------
    learning_rate_init : float
        The rate at the start.
    schedule : {"constant", "invscaling", "adaptive", "cosine", "step"}, \
default="constant"
        ``"constant"`` keeps ``learning_rate_init``. ``"invscaling"`` sets the
        rate to ``learning_rate_init / (t + 1) ** power_t`` after each epoch,
        ``t`` being the number of samples trained on so far. ``"adaptive"``
        divides the rate by 5 each time the stopping rule fires, and stops
        training only once the rate is at most ``1e-6``. ``"cosine"`` trains
        epoch ``k`` (from 0) at ``learning_rate_init * (1 + cos(pi * k /
        max_iter)) / 2``: from the full rate down to nearly 0 at the last
        epoch. ``"step"`` divides the rate by 10 after half of ``max_iter``
        epochs and again after three quarters. Epochs past ``max_iter`` (more
        ``partial_fit`` calls) keep the last epoch's rate.
    power_t : float, default=0.5
        Exponent of ``"invscaling"``.
    max_iter : int, default=200
        Number of epochs ``"cosine"`` and ``"step"`` decay over.

    Attributes
    ----------
    learning_rate : float
        The current rate.

    Examples
    --------
    >>> from skmlp._schedules import LearningRateSchedule
    >>> schedule = LearningRateSchedule(0.1, "invscaling", power_t=0.5)
    >>> schedule.iteration_ends(99)
    >>> round(schedule.learning_rate, 6)
    0.01
    >>> cosine = LearningRateSchedule(0.1, "cosine", max_iter=4)
    >>> for _ in range(3):
    ...     cosine.iteration_ends(0)
    >>> [round(rate, 4) for rate in cosine.rates]
    [0.1, 0.0854, 0.05, 0.0146]
    """

    def __init__(
        self, learning_rate_init: float, schedule: str = "constant", power_t=0.5, max_iter=200
    ):
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}.")
        self.learning_rate_init = float(learning_rate_init)
        self.schedule = schedule
        self.power_t = float(power_t)
        self.max_iter = max(int(max_iter), 1)
        self.epochs = 0
        self.learning_rate = self._epoch_rate(0)
        #: the rate of every epoch so far, the current one last
        self.rates = [self.learning_rate]

    def _epoch_rate(self, epoch: int) -> float:
        """The rate of epoch ``epoch`` (from 0) under an epoch schedule."""
        k = min(epoch, self.max_iter - 1)
        if self.schedule == "cosine":
            return self.learning_rate_init * (1.0 + math.cos(math.pi * k / self.max_iter)) / 2.0
        if self.schedule == "step":
            drops = sum(0 < edge <= k for edge in (self.max_iter // 2, 3 * self.max_iter // 4))
            return self.learning_rate_init / 10.0**drops
        return self.learning_rate_init

    def iteration_ends(self, time_step: int) -> None:
        """Update the rate at the end of an epoch.

        Parameters
        ----------
        time_step : int
            Number of samples trained on so far (the estimators' ``t_``).
        """
        self.epochs += 1
        if self.schedule == "invscaling":
            self.learning_rate = self.learning_rate_init / (time_step + 1) ** self.power_t
        elif self.schedule in EPOCH_SCHEDULES:
            self.learning_rate = self._epoch_rate(self.epochs)
        self.rates.append(self.learning_rate)

    def trigger_stopping(self, msg: str, verbose) -> bool:
        """Decide what the stopping rule firing means: stop, or lower the rate.

        Parameters
        ----------
        msg : str
            Why the rule fired, printed when ``verbose``.
        verbose : bool or int
            Print what is decided.

        Returns
        -------
        bool
            True when training should stop.
        """
        if self.schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= _MIN_ADAPTIVE_RATE:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(msg + f" Setting learning rate to {self.learning_rate:f}")
        return False
