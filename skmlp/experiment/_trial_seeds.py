"""An Optuna sampler seeded per trial: no trial draws what another drew.

Optuna seeds a sampler once per process. Processes sharing a study are numbered
and seeded apart (:mod:`._claims`), but a folder run again after a kill joins
with its number, hence its seed, again, and its sampler would draw once more the
candidates the killed run drew (each fitted twice). :class:`TrialSeededSampler`
gives each trial a sampler seeded by ``(seed, trial number)``: numbers are
unique in a study, so no two trials share a seed, and one process alone draws
what it drew before.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from optuna.samplers import BaseSampler

__all__ = ["TrialSeededSampler"]


def trial_seed(random_state: int, number: int) -> int:
    """The seed of trial ``number``'s sampler (32 bits, from both numbers)."""
    return int(np.random.SeedSequence([int(random_state), int(number)]).generate_state(1)[0])


class TrialSeededSampler(BaseSampler):
    """An Optuna sampler made anew for each trial, seeded by its number.

    Parameters
    ----------
    make : callable
        ``make(seed)`` returns the sampler a trial draws from (TPE, random,
        CMA-ES: they keep what they learn in the study, not in the object).
    random_state : int or None
        With the trial's number, the seed of each trial's sampler; ``None``:
        unseeded.
    """

    def __init__(self, make: Callable[[int | None], BaseSampler], random_state: int | None):
        self._make, self._random_state = make, random_state
        self._inner = make(random_state)

    def before_trial(self, study, trial) -> None:
        seed = None if self._random_state is None else trial_seed(self._random_state, trial.number)
        self._inner = self._make(seed)
        self._inner.before_trial(study, trial)

    def infer_relative_search_space(self, study, trial):
        return self._inner.infer_relative_search_space(study, trial)

    def sample_relative(self, study, trial, search_space):
        return self._inner.sample_relative(study, trial, search_space)

    def sample_independent(self, study, trial, param_name, param_distribution):
        return self._inner.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study, trial, state, values) -> None:
        self._inner.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self._inner.reseed_rng()
