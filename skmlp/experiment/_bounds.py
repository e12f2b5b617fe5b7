"""The bounds of an experiment's settings, each derived from memory or time.

Every number a search file or :class:`~skmlp.experiment.ExperimentConfig` holds
has a bound here, checked by :meth:`ExperimentConfig.validate` before any data
loads; the only check that needs the data (the networks' exact size, which
depends on the number of features and classes) runs once the data is read and
before the first fit (:func:`check_network_memory`).

Bounds from time: a search runs at most :data:`MAX_CANDIDATES` candidates and
:data:`MAX_FITS` fits (candidates times folds, over every round of a halving
search); even digits' fastest fit takes a tenth of a second, so the largest
search allowed runs for hours, and none is refused that could finish in a day
on one machine. Bounds from memory: the search's plan (one number per fit) is
bounded by :data:`MAX_FITS`, a search file by :data:`MAX_CONFIG_BYTES` and
:data:`MAX_DEPTH`, and each network by the memory its fits take
(:data:`skmlp._model.TRAIN_BYTES_PER_PARAM` bytes a parameter, measured by
``benchmarks/bench_fit_memory.py``) times the fits that run at once.
"""

from __future__ import annotations

import math
import os
from numbers import Integral, Real

#: The largest search file read: a search file is a few hundred bytes.
MAX_CONFIG_BYTES = 2**20
#: Tables and lists nested in a search file (``search.space.hidden_layer_sizes =
#: [[64, 64]]`` is 5 deep, counting the file itself).
MAX_DEPTH = 8
#: Characters of one string in a search file (a path, a name, a choice).
MAX_STRING = 4096
#: Values one list of the search space may hold.
MAX_VALUES = 1000
#: Candidates of one search (a grid's size, or ``n_iter``).
MAX_CANDIDATES = 10_000
#: Fits of one search: candidates times folds, over every round of a halving search.
MAX_FITS = 100_000
#: Rounds of a successive-halving search (its ``factor`` must shrink the candidates
#: to one in at most this many).
MAX_ROUNDS = 30
#: The largest halving ``factor``: more keeps one candidate after the first round.
MAX_FACTOR = 1000
#: Integer settings, each with its smallest and largest value.
INTEGER_BOUNDS = {
    "cv": (2, 100),
    "epochs": (1, 100_000),
    "batch_size": (1, 2**24),
    "n_iter": (1, MAX_CANDIDATES),
    "report_top": (1, MAX_CANDIDATES),
    "random_state": (0, 2**32 - 1),  # numpy's seeds
    "n_train": (20, 2**40),
    "n_test": (20, 2**40),
    "min_resources": (1, 2**40),
}


class BoundError(ValueError):
    """A setting outside its bound (re-raised as a :class:`ConfigError` with its file)."""


def check_integer(name: str, value, low: int | None = None, high: int | None = None) -> None:
    """Refuse a value that is not an integer in ``INTEGER_BOUNDS[name]`` (or ``low..high``)."""
    bound_low, bound_high = INTEGER_BOUNDS.get(name, (low, high))
    low = bound_low if low is None else low
    high = bound_high if high is None else high
    if isinstance(value, bool) or not isinstance(value, Integral) or not low <= value <= high:
        raise BoundError(f"{name} must be an integer >= {low} and <= {high:,}, got {value!r}")


def check_real(name: str, value, low: float, high: float, *, open_low=False, open_high=False):
    """Refuse a value that is not a finite number from ``low`` to ``high`` (each end
    included unless ``open_low`` / ``open_high``)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, Real)
        or not math.isfinite(value)
        or not (low < value if open_low else low <= value)
        or not (value < high if open_high else value <= high)
    ):
        raise BoundError(
            f"{name} must be a number {'>' if open_low else '>='} {low} and "
            f"{'<' if open_high else '<='} {high}, got {value!r}"
        )


def check_structure(raw, where) -> None:
    """Refuse a parsed search file nested deeper than :data:`MAX_DEPTH`, with an overlong
    string or list."""
    stack = [(raw, 1, "")]
    while stack:
        value, depth, key = stack.pop()
        if depth > MAX_DEPTH:
            raise BoundError(f"{where}: nested more than {MAX_DEPTH} deep (at {key or 'the top'})")
        if isinstance(value, str) and len(value) > MAX_STRING:
            raise BoundError(f"{where}: {key} is a string of {len(value):,} characters, "
                             f"more than {MAX_STRING:,}")  # fmt: skip
        elif isinstance(value, list):
            if len(value) > MAX_VALUES:
                raise BoundError(f"{where}: {key} lists {len(value):,} values, more than "
                                 f"{MAX_VALUES:,}")  # fmt: skip
            stack.extend((v, depth + 1, f"{key}[{i}]") for i, v in enumerate(value))
        elif isinstance(value, dict):
            stack.extend((v, depth + 1, f"{key}.{k}" if key else str(k)) for k, v in value.items())


def n_candidates(config) -> int:
    """The candidates a search draws or enumerates, computed without listing them."""
    if config.search in ("random", "halving-random"):
        return config.n_iter
    if config.search == "optuna":  # a study with a timeout only stops at MAX_CANDIDATES
        return config.n_trials or 1
    total = 0
    for grid in config.param_space():
        total += math.prod(len(v) for v in grid.values())
    return total


def check_search_size(config) -> None:
    """Refuse a search of more than :data:`MAX_CANDIDATES` candidates or :data:`MAX_FITS`
    fits, or a halving search of more than :data:`MAX_ROUNDS` rounds."""
    n = n_candidates(config)
    if n > MAX_CANDIDATES:
        raise BoundError(
            f"the search has {n:,} candidates, more than {MAX_CANDIDATES:,}: list fewer values"
        )
    splits = 1 if config.validation_size is not None else config.cv
    fits = n * splits
    if config.search.startswith("halving"):
        rounds = 1 + math.floor(math.log(max(n, 1)) / math.log(config.factor))
        if rounds > MAX_ROUNDS:
            raise BoundError(
                f"factor={config.factor} needs {rounds:,} halving rounds for {n} candidates, "
                f"more than {MAX_ROUNDS}: choose a factor of at least "
                f"{max(n, 2) ** (1 / (MAX_ROUNDS - 1)):.3g}"
            )
        fits = sum(math.ceil(n / config.factor**i) for i in range(rounds)) * splits
    if fits > MAX_FITS:
        raise BoundError(f"the search makes {fits:,} fits, more than {MAX_FITS:,}")


def concurrent_fits(n_jobs, dask: bool) -> int:
    """How many fits run at once in this process's machine."""
    if dask or n_jobs is None:
        return 1  # on a cluster every worker has its own memory
    return os.cpu_count() or 1 if n_jobs < 0 else n_jobs


def check_network_memory(config, n_features: int, n_outputs: int, n_jobs=1) -> None:
    """Refuse a search whose largest network cannot be trained in this machine's memory.

    Parameters
    ----------
    config : ExperimentConfig
        Its candidates' ``hidden_layer_sizes`` (the architectures, the search
        space or the fixed estimator setting).
    n_features, n_outputs : int
        The network's input and output widths; before the data is read, 1 and 1
        (a lower bound of every network's size).
    n_jobs : int or None, default=1
        Fits that run at once on this machine (each takes its own memory).

    Raises
    ------
    BoundError
        Naming the network, its parameters and the memory it would take.
    """
    from .._model import MAX_PARAMS, TRAIN_BYTES_PER_PARAM, _physical_memory, mlp_param_count

    widths = _candidate_widths(config)
    largest = max(widths, key=lambda h: mlp_param_count(n_features, h, n_outputs))
    n_params = mlp_param_count(n_features, largest, n_outputs)
    memory = _physical_memory() or 2**34
    at_once = concurrent_fits(n_jobs, bool(config.dask_scheduler))
    budget = min(MAX_PARAMS, memory // (TRAIN_BYTES_PER_PARAM * at_once))
    if n_params > budget:
        raise BoundError(
            f"hidden_layer_sizes={list(largest)} makes a network of {n_params:,} parameters; "
            f"{at_once} fit(s) at once at {TRAIN_BYTES_PER_PARAM} bytes a parameter fit "
            f"{budget:,} in this machine's {memory / 2**30:.1f} GiB: use smaller layers"
            + (" or fewer jobs" if at_once > 1 else "")
        )


def _candidate_widths(config) -> list[tuple]:
    from .._model import check_hidden_layer_sizes
    from ..architectures import get_architecture

    fixed = config.estimator.get("hidden_layer_sizes", (100,))
    if config.space is None:
        return [tuple(get_architecture(n).hidden_layer_sizes) for n in config.architectures]
    values = config.space.get("hidden_layer_sizes")
    if isinstance(values, dict):  # layers and widths (Optuna): the widest and deepest
        return [(max(values["widths"]),) * values["layers"][1]]
    if values is None and "architecture" in config.space:
        return [tuple(get_architecture(n).hidden_layer_sizes)
                for n in config.space["architecture"]]  # fmt: skip
    return [check_hidden_layer_sizes(v) for v in (values if values else [fixed])]
