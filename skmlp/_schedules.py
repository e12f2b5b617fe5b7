"""Learning-rate schedules of the stochastic solvers, with scikit-learn's semantics.

scikit-learn's ``SGDOptimizer`` changes its learning rate at the end of an epoch
(``"invscaling"``) or when the stopping rule fires (``"adaptive"``); Adam keeps
``learning_rate_init``. :class:`LearningRateSchedule` holds that rule and the
current rate; the training loop (:mod:`skmlp._stopping`) calls it at every epoch
end and copies :attr:`~LearningRateSchedule.learning_rate` into the Keras
optimizer, which then uses it for the next epoch's steps.
"""

from __future__ import annotations

__all__ = ["SCHEDULES", "LearningRateSchedule"]

#: The values of the estimators' ``learning_rate`` parameter.
SCHEDULES = ("constant", "invscaling", "adaptive")

# scikit-learn stops an "adaptive" schedule once the rate has fallen this low.
_MIN_ADAPTIVE_RATE = 1e-6


class LearningRateSchedule:
    """The learning rate of one training run and the rule that changes it.

    Parameters
    ----------
    learning_rate_init : float
        The rate at the start.
    schedule : {"constant", "invscaling", "adaptive"}, default="constant"
        ``"constant"`` keeps ``learning_rate_init``. ``"invscaling"`` sets the
        rate to ``learning_rate_init / (t + 1) ** power_t`` after each epoch,
        ``t`` being the number of samples trained on so far. ``"adaptive"``
        divides the rate by 5 each time the stopping rule fires, and stops
        training only once the rate is at most ``1e-6``.
    power_t : float, default=0.5
        Exponent of ``"invscaling"``.

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
    """

    def __init__(self, learning_rate_init: float, schedule: str = "constant", power_t=0.5):
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}.")
        self.learning_rate_init = float(learning_rate_init)
        self.schedule = schedule
        self.power_t = float(power_t)
        self.learning_rate = float(learning_rate_init)

    def iteration_ends(self, time_step: int) -> None:
        """Update the rate at the end of an epoch.

        Parameters
        ----------
        time_step : int
            Number of samples trained on so far (the estimators' ``t_``).
        """
        if self.schedule == "invscaling":
            self.learning_rate = self.learning_rate_init / (time_step + 1) ** self.power_t

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
