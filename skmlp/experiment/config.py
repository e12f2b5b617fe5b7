"""What an experiment runs: :class:`ExperimentConfig`, and search files in TOML.

A config names the data, the preprocessing, the estimator's fixed settings, the
search space and the search (grid, random, or successive halving over epochs or
training rows), the validation scheme and the seed. :func:`load_config` reads one
from a TOML file and checks every key and value before anything is loaded or
trained; :data:`SEED_CONFIG` is the seed notebook's six architectures, what
``skmlp run`` runs without ``--config``.

A search file looks like this (every section and key is optional)::

    name = "mnist-halving"              # the default output folder's name

    [data]
    dataset = "mnist"                   # or path = "train.csv" and target = "label",
                                        # or npz = "data.npz", sklearn = "iris",
                                        # openml = "mnist_784"
    [preprocessing]
    scaler = "auto"                     # pixels / standard / minmax / none

    [estimator]                         # fixed MLPClassifier settings
    max_iter = 40
    learning_rate = "cosine"

    [search]
    kind = "halving-random"             # grid / random / halving-grid / halving-random
    n_iter = 24                         # candidates drawn (random kinds)
    resource = "epochs"                 # or "samples" (halving kinds)
    cv = 3                              # stratified folds, or instead:
    # validation_size = 10000           # one stratified split (rows or a fraction)
    random_state = 0

    [search.space]
    hidden_layer_sizes = [[1024, 1024], [2048, 2048]]
    dropout = { distribution = "uniform", low = 0.2, high = 0.5 }
    learning_rate_init = { distribution = "loguniform", low = 1e-4, high = 3e-3 }

    [tracking]
    track = ["mlflow", "tensorboard"]   # or one of them (skmlp[tracking]); the MLflow
                                        # store is named on the command line only
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import stat
import tomllib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from numbers import Integral, Real
from pathlib import Path

from ..architectures import SEED_ARCHITECTURES, Architecture, get_architecture
from ._bounds import (
    MAX_CONFIG_BYTES,
    MAX_DEPTH,
    MAX_FACTOR,
    MAX_VALUES,
    BoundError,
    check_integer,
    check_network_memory,
    check_real,
    check_search_size,
    check_structure,
)
from .tabular import PREPROCESSING_KEYS
from .tracking import check_tracking

__all__ = [
    "DISTRIBUTIONS",
    "SEARCH_KINDS",
    "SEED_CONFIG",
    "SEED_SETTINGS",
    "ConfigError",
    "ExperimentConfig",
    "load_config",
]

#: The seed notebook's training settings: Adam at Keras' defaults, batch 100,
#: 20 epochs, no L2 penalty, no early stop (every epoch runs), and its He-style
#: initial weights. The estimators' default ``kernel_initializer="auto"`` is
#: scikit-learn's start; the experiment names the seed's explicitly, so that
#: ``skmlp run`` trains what the recorded seed tables were trained with.
SEED_SETTINGS = {
    "solver": "adam",
    "learning_rate_init": 1e-3,
    "batch_size": 100,
    "max_iter": 20,
    "alpha": 0.0,
    "tol": 0.0,
    "kernel_initializer": "seed_notebook",
}

#: The searches a config can name.
SEARCH_KINDS = ("grid", "random", "halving-grid", "halving-random", "optuna")
#: The distributions a random search's space can name, with their keys.
DISTRIBUTIONS = {
    "uniform": "real numbers spread evenly from low to high",
    "loguniform": "positive real numbers spread evenly in log scale from low to high",
    "randint": "integers from low to high, both included",
}
_SCALERS = ("auto", "pixels", "standard", "minmax", "none", "tabular")
_DATA_SOURCES = ("dataset", "path", "npz", "sklearn", "openml")
# estimator settings the experiment owns (its seed, its output, fresh fits)
_EXPERIMENT_ONLY = ("random_state", "verbose", "warm_start")


class ConfigError(ValueError):
    """A search file or configuration that cannot run, with what is wrong in it."""


def _type_name(value) -> str:
    return f"{type(value).__name__} {value!r}"


def _mlp_class(task: str = "auto"):
    """The estimator of a task: MLPRegressor for regression, else MLPClassifier."""
    if task == "regression":
        from .._regressor import MLPRegressor

        return MLPRegressor
    from .._classifier import MLPClassifier

    return MLPClassifier


def _mlp_params(task: str = "auto") -> dict:
    return _mlp_class(task)().get_params()


def _check_mlp_value(name: str, value, where: str, task: str = "auto") -> None:
    """Refuse a value the estimator would refuse, naming where it came from."""
    from sklearn.utils._param_validation import InvalidParameterError

    try:
        est = _mlp_class(task)(**{name: value})
        est._validate_params()
        if name == "hidden_layer_sizes":
            est._check_params()
    except (InvalidParameterError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


@dataclass
class ExperimentConfig:
    """Settings of one experiment run; everything that changes its numbers.

    Parameters
    ----------
    dataset : str, default="digits"
        A built-in dataset (``"digits"``, ``"mnist"``, ``"fashion-mnist"``), or
        the label of the data named by ``data``.
    architectures : sequence of str
        Names from :data:`skmlp.architectures.SEED_ARCHITECTURES`: the
        candidates when ``space`` is ``None``.
    cv : int, default=3
        Number of stratified folds (when ``validation_size`` is ``None``).
    epochs : int, default=20
        Epochs of every fit (the estimator's ``max_iter``; the largest resource
        of a halving search over epochs).
    batch_size : int, default=100
        Minibatch size.
    learning_rate_init : float, default=1e-3
        Initial learning rate.
    validation_fraction : float, default=0.1
        Part of the training set held out, in the final refits only, to draw
        validation loss curves; 0 disables the curves.
    random_state : int, default=0
        Seed of the folds, the candidates drawn and every network.
    n_train, n_test : int or None, default=None
        Use a stratified subsample of this many training / test rows (for quick
        runs); ``None`` uses all.
    data : dict or None, default=None
        Your own data (see :func:`skmlp.experiment.data.load_data`): one of
        ``path`` (CSV or Parquet, with ``target``), ``npz``, ``sklearn`` or
        ``openml``, and optionally ``test_path`` or ``test_size``.
    preprocessing : {"auto", "pixels", "standard", "minmax", "none"}, default="auto"
        The pipeline's first step: ``"pixels"`` divides by the largest pixel
        value, ``"standard"`` and ``"minmax"`` are scikit-learn's scalers,
        ``"none"`` passes the features as they are; ``"auto"`` is ``"pixels"``
        for the image datasets and ``"standard"`` otherwise.
    estimator : dict, default={}
        Further fixed :class:`~skmlp.MLPClassifier` settings.
    space : dict or None, default=None
        The search space: each key an :class:`~skmlp.MLPClassifier` parameter
        (or ``"architecture"``, built-in architecture names), each value a list
        of choices or, for the random kinds, a distribution (a dict with
        ``distribution`` and ``low``, ``high``). ``None``: the architectures.
    search : {"grid", "random", "halving-grid", "halving-random", "optuna"}, default="grid"
        The search; ``"optuna"`` is an Optuna study (:mod:`.optuna_search`).
    n_iter : int, default=10
        Candidates drawn by the random kinds.
    resource : {"epochs", "samples"}, default="epochs"
        What successive halving gives more of to the candidates it keeps.
    factor : float, default=3
        Successive halving keeps 1 / ``factor`` of the candidates at each round
        and gives them ``factor`` times the resource.
    min_resources : int or None, default=None
        The first round's epochs or training rows; ``None``: scikit-learn's
        choice for rows, ``epochs / factor ** (rounds - 1)`` for epochs.
    validation_size : float, int or None, default=None
        Instead of ``cv`` folds, one stratified split of the training set
        holding out this many rows (an int) or this fraction (a float).
    report_top : int, default=6
        How many candidates, best by CV first, are refitted on the whole
        training set and scored once on the test set.
    task : {"auto", "classification", "regression"}, default="auto"
        ``MLPClassifier`` or ``MLPRegressor``; ``"auto"`` reads a float target
        of more than 20 distinct values as a quantity (regression), anything
        else as classes (:func:`skmlp.experiment.tasks.infer_task`).
    scoring : str or None, default=None
        A scikit-learn scorer name that ranks the candidates (and drives
        halving); ``None``: accuracy, or R² for regression. Every fold stores
        accuracy and log-loss (R², MAE, RMSE) beside it.
    tabular : dict, default={}
        Settings of the table encoder (:class:`skmlp.TabularEncoder`):
        ``categorical``, ``integer_categories``, ``max_categories``, ``max_width``.
    name : str or None, default=None
        The run's name: the default output folder is ``skmlp_results/<name>``.
        One folder name of at most 100 letters, digits, ``.``, ``-`` or ``_``,
        never a path.
    sampler : {"tpe", "random", "cmaes"}, default="tpe"
        The Optuna study's sampler, seeded by ``random_state`` (``search="optuna"``).
    pruner : {"median", "hyperband", "none"}, default="median"
        What stops the Optuna study's unpromising fits, from their validation
        score at each epoch.
    n_trials : int or None, default=None
        Trials of the Optuna study (complete and pruned ones, over every
        process sharing its storage).
    timeout : float or None, default=None
        Seconds after which this process starts no new trial.
    budget_epochs : int or None, default=None
        No new trial starts once the trials have trained this many epochs in all.
    dask_scheduler : str or None, default=None
        Address of a Dask scheduler to run the search's fits on (not part of
        the run's identity: the results are the same). Set from the command
        line (``--dask-scheduler``) or in Python; :func:`load_config` refuses it
        in a file.
    track : str, sequence of str or None, default=None
        Log the run to ``"mlflow"``, ``"tensorboard"`` or both
        (:mod:`skmlp.experiment.tracking`); a config file sets it in
        ``[tracking]``. Not part of the run's identity.
    tracking_uri : str or None, default=None
        The MLflow store (``http(s)://HOST:PORT`` or a database URL); ``None``:
        ``sqlite:///OUT/mlflow.db``. From the command line (``--tracking-uri``)
        or Python only: :func:`load_config` refuses it in a file.
    """

    dataset: str = "digits"
    architectures: Sequence[str] = field(
        default_factory=lambda: [a.name for a in SEED_ARCHITECTURES]
    )
    cv: int = 3
    epochs: int = 20
    batch_size: int = 100
    learning_rate_init: float = 1e-3
    validation_fraction: float = 0.1
    random_state: int = 0
    n_train: int | None = None
    n_test: int | None = None
    data: dict | None = None
    preprocessing: str = "auto"
    estimator: dict = field(default_factory=dict)
    space: dict | None = None
    search: str = "grid"
    n_iter: int = 10
    resource: str = "epochs"
    factor: float = 3
    min_resources: int | None = None
    validation_size: float | None = None
    report_top: int = 6
    task: str = "auto"
    scoring: str | None = None
    tabular: dict = field(default_factory=dict)
    name: str | None = None
    sampler: str = "tpe"
    pruner: str = "median"
    n_trials: int | None = None
    timeout: float | None = None
    budget_epochs: int | None = None
    dask_scheduler: str | None = None
    track: str | Sequence[str] | None = None
    tracking_uri: str | None = None

    def validate(self) -> None:
        """Raise :class:`ConfigError` on a bad setting, before any data loads.

        Every number is checked against its bound (:mod:`skmlp.experiment._bounds`):
        the search's candidates, fits and halving rounds, and the largest network
        against this machine's memory.
        """
        try:
            self._validate()
        except BoundError as exc:
            raise ConfigError(str(exc)) from None

    def _validate(self) -> None:
        from ..datasets import _LOADERS

        if self.data is None and self.dataset not in _LOADERS:
            raise ConfigError(
                f"unknown dataset {self.dataset!r}; choose one of {', '.join(sorted(_LOADERS))}"
            )
        if self.name is not None and not _PLAIN_NAME.fullmatch(str(self.name)):
            raise ConfigError(
                f"name {self.name!r} must be a plain folder name of at most 100 letters, "
                "digits, '.', '-' or '_' (no '/', no '..'): it names the default output "
                "folder skmlp_results/<name>"
            )
        if self.space is None:
            if not self.architectures:
                raise ConfigError("no architectures to run")
            for name in self.architectures:
                get_architecture(name)
            if len(set(self.architectures)) != len(self.architectures):
                raise ConfigError("architectures are listed twice")
        for name in ("cv", "epochs", "batch_size", "n_iter", "report_top", "random_state"):
            check_integer(name, getattr(self, name))
        for name in ("n_train", "n_test", "min_resources"):
            if getattr(self, name) is not None:
                check_integer(name, getattr(self, name))
        check_real("validation_fraction", self.validation_fraction, 0, 1, open_high=True)
        if self.search not in SEARCH_KINDS:
            raise ConfigError(
                f"search must be one of {', '.join(SEARCH_KINDS)}, got {self.search!r}"
            )
        if self.resource not in ("epochs", "samples"):
            raise ConfigError(f"resource must be 'epochs' or 'samples', got {self.resource!r}")
        check_real("factor", self.factor, 1, MAX_FACTOR, open_low=True)
        if self.resource == "epochs" and self.min_resources and self.min_resources > self.epochs:
            raise ConfigError(
                f"min_resources={self.min_resources} epochs is more than epochs={self.epochs}"
            )
        # what the estimator takes from these settings, checked as it would
        for name, value in (("max_iter", self.epochs), ("batch_size", self.batch_size),
                            ("learning_rate_init", self.learning_rate_init)):  # fmt: skip
            _check_mlp_value(name, value, name if name != "max_iter" else "epochs")
        vs = self.validation_size
        if vs is not None and not (
            (isinstance(vs, float) and 0 < vs < 1)
            or (isinstance(vs, Integral) and not isinstance(vs, bool) and 2 <= vs <= 2**40)
        ):
            raise ConfigError(
                f"validation_size must be a fraction in (0, 1) or a number of rows >= 2, got {vs!r}"
            )
        if self.preprocessing not in _SCALERS:
            raise ConfigError(
                f"preprocessing must be one of {', '.join(_SCALERS)}, got {self.preprocessing!r}"
            )
        from .tabular import check_settings

        check_settings(self)
        _check_estimator(self.estimator, "estimator", self.task)
        _check_space(self.space, self.search, self.resource, self.task)
        from ._optuna_settings import check_optuna_settings

        check_optuna_settings(self)
        # bounds from time and memory: needs no data (the networks' size is checked
        # again, exactly, once the data is read)
        check_search_size(self)
        check_network_memory(self, 1, 1)
        check_tracking(self.track, self.tracking_uri)  # and that its package is installed

    def key(self) -> str:
        """A short hash of the settings: runs with equal keys compute the same thing."""
        settings = asdict(self)
        for name in ("dask_scheduler", "track", "tracking_uri"):  # they change no number
            settings.pop(name)
        for name, default in _NEW_DEFAULTS.items():  # runs from before they existed
            if settings[name] == default:
                settings.pop(name)
        blob = json.dumps(settings, sort_keys=True, default=_jsonable)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @property
    def archs(self) -> list[Architecture]:
        """The architectures, as objects."""
        return [get_architecture(n) for n in self.architectures]

    @property
    def label(self) -> str:
        """The run's name, else the dataset's: the default output folder."""
        return self.name or self.dataset

    def param_space(self) -> list[dict]:
        """The search space as scikit-learn takes it: a list of dicts of ``mlp__`` keys.

        ``"architecture"`` expands to one dict per architecture, holding its
        ``hidden_layer_sizes``, ``batch_norm`` and ``dropout``.
        """
        space = dict(self.space) if self.space is not None else {"architecture": self.architectures}
        space = {k: _scipy(v) if isinstance(v, dict) and "layers" not in v else _choices(k, v)
                 for k, v in space.items()}  # fmt: skip
        names = space.pop("architecture", None)
        rest = {f"mlp__{k}": v for k, v in space.items()}
        if names is None:
            return [rest]
        return [
            {**{f"mlp__{k}": [v] for k, v in get_architecture(n).params.items()}, **rest}
            for n in names
        ]


#: Settings added after runs were recorded, left out of a run's key at their defaults.
_NEW_DEFAULTS = {
    "task": "auto", "scoring": None, "tabular": {},
    "sampler": "tpe", "pruner": "median", "n_trials": None, "timeout": None, "budget_epochs": None,
}  # fmt: skip


def _jsonable(value):
    if isinstance(value, tuple | list):
        return list(value)
    return repr(value)


def _choices(name: str, values) -> list:
    if isinstance(values, dict):  # layers and widths (Optuna): each count at each width
        low, high = values["layers"]
        return [(w,) * n for n in range(low, high + 1) for w in values["widths"]]
    if name == "hidden_layer_sizes":
        return [tuple(v) if isinstance(v, list) else v for v in values]
    return list(values)


def _scipy(spec: dict):
    """A frozen scipy distribution from a checked ``{distribution, low, high}`` table."""
    from scipy import stats

    low, high = spec["low"], spec["high"]
    kind = spec["distribution"]
    if kind == "uniform":
        return stats.uniform(low, high - low)
    if kind == "loguniform":
        return stats.loguniform(low, high)
    return stats.randint(low, high + 1)


def _check_estimator(settings: dict, where: str, task: str = "auto") -> None:
    if not isinstance(settings, dict):
        raise ConfigError(
            f"{where} must be a table of MLPClassifier settings, got {_type_name(settings)}"
        )
    known = _mlp_params(task)
    for name, value in settings.items():
        if name not in known or name in _EXPERIMENT_ONLY:
            raise ConfigError(_unknown(name, where, set(known) - set(_EXPERIMENT_ONLY)))
        _check_mlp_value(name, _choices(name, [value])[0], f"{where}.{name}", task)


def _unknown(name, where, known) -> str:
    return f"unknown key {name!r} in [{where}]; known keys: {', '.join(sorted(known))}"


def _number_kind(name: str) -> str | None:
    """``"integer"`` or ``"real"``: what a distribution may draw for a parameter; ``None``
    for a parameter that is not one number (``hidden_layer_sizes``, names, switches)."""
    from sklearn.utils._param_validation import Interval

    from .._base import PARAMETER_CONSTRAINTS

    intervals = [c for c in PARAMETER_CONSTRAINTS.get(name, ()) if isinstance(c, Interval)]
    if not intervals or name == "hidden_layer_sizes":
        return None
    return "integer" if all(c.type is Integral for c in intervals) else "real"


def _check_distribution(name: str, spec: dict, where: str, task: str = "auto") -> None:
    kind = spec.get("distribution")
    number = _number_kind(name)
    if number is None:
        raise ConfigError(
            f"{where}: {name} is not one number, so no distribution can draw it; "
            "list its choices instead"
        )
    if number == "integer" and kind in ("uniform", "loguniform"):
        raise ConfigError(
            f"{where}: {name} takes integers; a {kind} distribution draws real numbers "
            "(use randint)"
        )
    if kind not in DISTRIBUTIONS:
        raise ConfigError(
            f"{where}: unknown distribution {kind!r}; choose one of "
            + "; ".join(f"{k} ({v})" for k, v in DISTRIBUTIONS.items())
        )
    extra = set(spec) - {"distribution", "low", "high"}
    if extra or "low" not in spec or "high" not in spec:
        raise ConfigError(
            f"{where}: a {kind} distribution takes exactly 'low' and 'high'"
            + (f" (unknown: {', '.join(sorted(extra))})" if extra else "")
        )
    low, high = spec["low"], spec["high"]
    number = Integral if kind == "randint" else Real
    for bound, value in (("low", low), ("high", high)):
        if isinstance(value, bool) or not isinstance(value, number) or not math.isfinite(value):
            raise ConfigError(
                f"{where}.{bound} must be {'an integer' if kind == 'randint' else 'a number'}, "
                f"got {_type_name(value)}"
            )
    if not low < high:
        raise ConfigError(f"{where}: low must be below high, got low={low}, high={high}")
    if kind == "loguniform" and low <= 0:
        raise ConfigError(f"{where}: a loguniform distribution needs low > 0, got {low}")
    for value in (low, high):  # the estimator accepts both ends
        _check_mlp_value(name, value, where, task)


def _check_space(space, search: str, resource: str, task: str = "auto") -> None:
    if space is None:
        return
    if not isinstance(space, dict) or not space:
        raise ConfigError(f"search.space must be a non-empty table, got {_type_name(space)}")
    known = set(_mlp_params(task)) - set(_EXPERIMENT_ONLY)
    arch_keys = set(Architecture.__dataclass_fields__) & known
    for name, values in space.items():
        where = f"search.space.{name}"
        if name == "architecture":
            if not isinstance(values, list) or not values:
                raise ConfigError(f"{where} must be a list of architecture names")
            for n in values:
                try:
                    get_architecture(n)
                except (KeyError, ValueError) as exc:
                    raise ConfigError(f"{where}: {exc}") from None
            clash = arch_keys & set(space)
            if clash:
                raise ConfigError(
                    f"search.space names both architecture and {', '.join(sorted(clash))}, "
                    "which an architecture sets"
                )
            continue
        if name == "max_iter" and resource == "epochs" and search.startswith("halving"):
            raise ConfigError(f"{where}: a halving search over epochs sets max_iter itself")
        if name not in known:
            raise ConfigError(_unknown(name, "search.space", known | {"architecture"}))
        if name == "hidden_layer_sizes" and isinstance(values, dict) and "layers" in values:
            from ._optuna_settings import check_layer_space

            try:  # a number of layers, then a width for each: Optuna only
                check_layer_space(values, where, search)
            except BoundError as exc:
                raise ConfigError(str(exc)) from None
        elif isinstance(values, dict):
            if search not in ("random", "halving-random", "optuna"):
                raise ConfigError(
                    f"{where}: a {search} search needs a list of values, not a distribution "
                    "(distributions are for the random kinds and optuna)"
                )
            _check_distribution(name, values, where, task)
        elif isinstance(values, list) and 0 < len(values) <= MAX_VALUES:
            for value in _choices(name, values):
                _check_mlp_value(name, value, where, task)
        else:
            raise ConfigError(
                f"{where} must be a list of 1 to {MAX_VALUES} values or a "
                f"distribution table, got {_type_name(values)[:80]}"
            )


# --------------------------------------------------------------- TOML files
_SECTIONS = {
    None: {"name", "data", "preprocessing", "estimator", "search", "tracking"},
    "tracking": {"track", "tracking_uri"},
    "data": {
        *_DATA_SOURCES,
        "target",
        "test_path",
        "test_size",
        "n_train",
        "n_test",
        "version",
        "drop_missing_target",
    },
    "preprocessing": {"scaler", *PREPROCESSING_KEYS},
    "search": {
        "kind",
        "space",
        "n_iter",
        "resource",
        "factor",
        "min_resources",
        "cv",
        "validation_size",
        "random_state",
        "report_top",
        "validation_fraction",
        "dask_scheduler",
        "scoring",
        "sampler",
        "pruner",
        "n_trials",
        "timeout",
        "budget_epochs",
        "storage",
    },
}
# (key, types, what) of the scalar settings
_TYPES = {
    "name": (str, "a string"),
    "n_iter": (int, "an integer"),
    "min_resources": (int, "an integer"),
    "cv": (int, "an integer"),
    "random_state": (int, "an integer"),
    "report_top": (int, "an integer"),
    "n_train": (int, "an integer"),
    "n_test": (int, "an integer"),
    "factor": ((int, float), "a number"),
    "validation_size": ((int, float), "a number"),
    "validation_fraction": ((int, float), "a number"),
    "test_size": ((int, float), "a number"),
    "kind": (str, "a string"),
    "resource": (str, "a string"),
    "scaler": (str, "a string"),
    "dask_scheduler": (str, "a string"),
    "target": (str, "a string"),
    "version": (int, "an integer"),
    "scoring": (str, "a string"),
    "sampler": (str, "a string"),
    "pruner": (str, "a string"),
    "n_trials": (int, "an integer"),
    "timeout": ((int, float), "a number of seconds"),
    "budget_epochs": (int, "an integer"),
    "storage": (str, "a string"),
    "drop_missing_target": (bool, "true or false"),
    "categorical": (list, "a list of column names"),
    **{k: (int, "an integer") for k in ("integer_categories", "max_categories", "max_width")},
    **{k: (str, "a string") for k in (*_DATA_SOURCES, "test_path")},
}


#: A run's name: one folder name under ``skmlp_results/``, never a path.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,99}")


def _check_table(table, section, path) -> None:
    where = section or "the top level"
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [{section}] must be a table, got {_type_name(table)}")
    for key, value in table.items():
        if key not in _SECTIONS[section]:
            raise ConfigError(f"{path}: {_unknown(key, where, _SECTIONS[section])}")
        if key in _TYPES:
            types, what = _TYPES[key]
            if (isinstance(value, bool) and types is not bool) or not isinstance(value, types):
                name = f"{section}.{key}" if section else key
                raise ConfigError(f"{path}: {name} must be {what}, got {_type_name(value)}")


#: Settings only the command line may name: each says where your data, trials or results
#: go (and a cluster runs code in your process); a config file holding one is refused.
_COMMAND_LINE_ONLY = {
    "dask_scheduler": ("search", "choose where your data is sent and whose code runs",
                       "the cluster", "--dask-scheduler ADDRESS"),
    "storage": ("search", "choose which database your trials are sent to", "it", "--storage URL"),
    "tracking_uri": ("tracking", "choose where your results are sent", "it",
                     "--tracking-uri URI"),
}  # fmt: skip


def _refuse_command_line_only(path: Path, settings: dict) -> None:
    for key, (section, why, what, flag) in _COMMAND_LINE_ONLY.items():
        if key in settings:
            raise ConfigError(
                f"{path}: {section}.{key} is not read from a config file (a file must not "
                f"{why}); name {what} on the command line: skmlp run --config FILE {flag}"
            )


def load_config(path: str | Path) -> ExperimentConfig:
    """Read and check a search file (TOML).

    Parameters
    ----------
    path : str or path
        The file; its relative data paths are relative to its folder.

    Returns
    -------
    ExperimentConfig
        The checked configuration.

    Raises
    ------
    ConfigError
        On a file that is not TOML, an unknown key, a value of the wrong type,
        a bad distribution or any setting the estimator refuses; the message
        names the key.
    """
    path = Path(path)
    raw = _read_toml(path)
    _check_table(raw, None, path)
    for section in ("data", "preprocessing", "search", "tracking"):
        _check_table(raw.get(section, {}), section, path)
    data = dict(raw.get("data", {}))
    search = dict(raw.get("search", {}))
    estimator = dict(raw.get("estimator", {}))
    if not isinstance(raw.get("estimator", {}), dict):
        raise ConfigError(f"{path}: [estimator] must be a table")
    settings = {}
    sources = [k for k in _DATA_SOURCES if k in data]
    if len(sources) > 1:
        raise ConfigError(f"{path}: [data] names {' and '.join(sources)}; name one source")
    if "dataset" in data:
        settings["dataset"] = data.pop("dataset")
    for key in ("n_train", "n_test"):
        if key in data:
            settings[key] = data.pop(key)
    if data:
        if "path" in data:
            data["path"] = str(path.parent / data["path"])
        if "npz" in data:
            data["npz"] = str(path.parent / data["npz"])
        if "test_path" in data:
            data["test_path"] = str(path.parent / data["test_path"])
        settings["data"] = data
        settings["dataset"] = Path(data.get("path") or data.get("npz") or "").stem or str(
            data.get("sklearn") or data.get("openml")
        )
    preprocessing = dict(raw.get("preprocessing", {}))
    if "scaler" in preprocessing:
        settings["preprocessing"] = preprocessing.pop("scaler")
    if preprocessing:
        settings["tabular"] = preprocessing
    if "task" in estimator:
        settings["task"] = estimator.pop("task")
    # the estimator's training settings the experiment owns
    for key, target in (
        ("max_iter", "epochs"),
        ("batch_size", "batch_size"),
        ("learning_rate_init", "learning_rate_init"),
    ):
        if key in estimator:
            settings[target] = estimator.pop(key)
    settings["estimator"] = estimator
    if "kind" in search:
        settings["search"] = search.pop("kind")
    if "space" in search:
        settings["space"] = search.pop("space")
    settings.update(search)
    if "name" in raw:
        settings["name"] = raw["name"]
    settings.update(raw.get("tracking", {}))  # track, and tracking_uri to be refused
    _refuse_command_line_only(path, settings)
    config = ExperimentConfig(**settings)
    try:
        config.validate()
    except (KeyError, ValueError, TypeError) as exc:  # ConfigError is a ValueError
        message = str(exc.args[0] if isinstance(exc, KeyError) and exc.args else exc)
        raise ConfigError(f"{path}: {message}") from None
    return config


def _read_toml(path: Path) -> dict:
    """A search file's TOML, within :data:`MAX_CONFIG_BYTES` and
    :data:`MAX_DEPTH`."""
    limit = MAX_CONFIG_BYTES
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise ConfigError(f"{path}: not a regular file")
        with open(path, "rb") as f:
            blob = f.read(limit + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config: {exc.strerror or exc}") from None
    if len(blob) > limit:
        raise ConfigError(f"{path}: larger than {limit:,} bytes, the most a search file may be")
    try:
        raw = tomllib.loads(blob.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a valid TOML file: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: not a search file: nested more than {MAX_DEPTH} deep") from None
    try:
        check_structure(raw, path)
    except BoundError as exc:
        raise ConfigError(str(exc)) from None
    return raw


#: The seed notebook's six architectures: ``skmlp run`` without ``--config``.
SEED_CONFIG = ExperimentConfig()
