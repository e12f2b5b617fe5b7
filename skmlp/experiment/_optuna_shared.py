"""What several processes sharing one Optuna study need: other draws, one schema.

**Draws.** Optuna seeds a sampler once per process. Two ``skmlp run`` processes
of one config sharing a study would then draw the same candidates in turn
(trials 0 and 1 alike, 2 and 3, ...: each candidate fitted twice), and a run
resumed after a kill would draw again what the killed run drew.
:class:`TrialSeededSampler` gives each trial a sampler seeded by
``(random_state, trial number)``: numbers are unique in a study, so no two
trials share a seed, and one process alone draws what it drew before.

**Schema.** Processes that open a new database at the same moment all create
Optuna's tables, and PostgreSQL refuses all but one (Optuna issue #1092);
:func:`rdb_storage` tries again, when the tables exist.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from optuna.samplers import BaseSampler

__all__ = ["TrialSeededSampler", "rdb_storage"]

#: Attempts at opening a database whose tables another process may be creating.
_ATTEMPTS = 5


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


def rdb_storage(url: str, **kwargs):
    """Optuna's ``RDBStorage`` of ``url``, tried again while another process makes its tables."""
    from optuna.storages import RDBStorage
    from sqlalchemy.exc import SQLAlchemyError

    for attempt in range(_ATTEMPTS):
        try:
            return RDBStorage(url, **kwargs)
        except SQLAlchemyError:
            if attempt == _ATTEMPTS - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover
