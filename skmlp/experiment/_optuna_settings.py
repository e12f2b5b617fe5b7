"""The settings of an Optuna search, checked before any data loads.

``[search] kind = "optuna"`` takes ``sampler``, ``pruner``, ``n_trials``,
``timeout`` and ``budget_epochs`` (:func:`check_optuna_settings`); the study's
database comes from the command line only (``skmlp run --storage URL``, checked
by :func:`check_storage_url`, which parses it and contacts nothing). The study
itself runs in :mod:`.optuna_search`. Its space may draw a number of hidden
layers and then each layer's width (:func:`check_layer_space`).
"""

from __future__ import annotations

from ._bounds import MAX_CANDIDATES, MAX_STRING, BoundError, check_integer, check_real

__all__ = ["check_layer_space", "check_optuna_settings", "check_storage_url", "require_optuna"]

#: The samplers a study may use, each seeded by the config's ``random_state``.
SAMPLERS = ("tpe", "random", "cmaes")
#: The pruners: Optuna's ``MedianPruner``, ``HyperbandPruner``, or none.
PRUNERS = ("median", "hyperband", "none")
#: The longest ``timeout``: 30 days, in seconds.
MAX_TIMEOUT = 30 * 86400
#: The largest ``budget_epochs``.
MAX_BUDGET_EPOCHS = 10**9
#: The databases a study may live in (SQLAlchemy dialects Optuna supports).
DIALECTS = ("sqlite", "postgresql", "mysql")
#: The most hidden layers, and width choices, of ``hidden_layer_sizes = {layers, widths}``.
MAX_LAYERS, MAX_WIDTHS = 32, 100
_INSTALL = 'pip install "skmlp[optuna]"'
_OPTUNA_ONLY = {"sampler": "tpe", "pruner": "median", "n_trials": None, "timeout": None,
                "budget_epochs": None}  # fmt: skip


def require_optuna() -> None:
    """Refuse an Optuna search where Optuna or SQLAlchemy is not installed."""
    try:
        import optuna  # noqa: F401
        import sqlalchemy  # noqa: F401
    except ImportError as exc:
        raise BoundError(
            f'search kind "optuna" needs Optuna and SQLAlchemy ({exc.name} is not '
            f"installed): {_INSTALL}"
        ) from None


def check_optuna_settings(config) -> None:
    """Refuse Optuna settings that cannot run, before any data loads (:class:`BoundError`)."""
    if config.search != "optuna":
        named = [k for k, default in _OPTUNA_ONLY.items() if getattr(config, k) != default]
        if named:
            raise BoundError(
                f'search.{named[0]} is a setting of kind = "optuna"; this search is '
                f"{config.search!r}"
            )
        return
    require_optuna()
    if config.sampler not in SAMPLERS:
        raise BoundError(
            f"search.sampler must be one of {', '.join(SAMPLERS)}, got {config.sampler!r}"
        )
    if config.pruner not in PRUNERS:
        raise BoundError(
            f"search.pruner must be one of {', '.join(PRUNERS)}, got {config.pruner!r}"
        )
    if config.n_trials is None and config.timeout is None:
        raise BoundError('kind = "optuna" needs n_trials or timeout (seconds), or both')
    if config.n_trials is not None:
        check_integer("n_trials", config.n_trials, 1, MAX_CANDIDATES)
    if config.timeout is not None:
        check_real("timeout", config.timeout, 0, MAX_TIMEOUT, open_low=True)
    if config.budget_epochs is not None:
        check_integer("budget_epochs", config.budget_epochs, 1, MAX_BUDGET_EPOCHS)
    if config.sampler == "cmaes":
        _check_cmaes(config)


def check_layer_space(spec: dict, where: str, search: str) -> None:
    """Refuse a ``hidden_layer_sizes = {layers = [low, high], widths = [...]}`` table that
    is not an Optuna search's, or whose counts and widths break their bounds."""
    if search != "optuna":
        raise BoundError(f'{where}: layers and widths are drawn by kind = "optuna" only')
    if set(spec) != {"layers", "widths"}:
        raise BoundError(
            f"{where}: a table of layers and widths takes exactly 'layers' (the fewest and "
            "most layers) and 'widths' (the choices of each layer's width)"
        )
    layers, widths = spec["layers"], spec["widths"]

    def integer(n) -> bool:
        return isinstance(n, int) and not isinstance(n, bool)

    if not (
        isinstance(layers, list)
        and len(layers) == 2
        and all(integer(n) for n in layers)
        and 1 <= layers[0] <= layers[1] <= MAX_LAYERS
    ):
        raise BoundError(
            f"{where}.layers must be [fewest, most] with 1 <= fewest <= most <= "
            f"{MAX_LAYERS}, got {str(layers)[:80]}"
        )
    if not (
        isinstance(widths, list)
        and 0 < len(widths) <= MAX_WIDTHS
        and all(integer(w) and w > 0 for w in widths)
    ):
        raise BoundError(
            f"{where}.widths must be a list of 1 to {MAX_WIDTHS} positive integers, "
            f"got {str(widths)[:80]}"
        )


def _check_cmaes(config) -> None:
    """CMA-ES draws numbers: every dimension of the space must be a distribution."""
    space = config.space if config.space is not None else {"architecture": config.architectures}
    listed = [k for k, v in space.items() if not isinstance(v, dict) or "layers" in v]
    if listed:
        raise BoundError(
            f"sampler cmaes draws numbers only; search.space.{listed[0]} is a list of "
            "choices (use sampler tpe or random, or give it a distribution)"
        )
    try:
        import cmaes  # noqa: F401
    except ImportError:
        raise BoundError("sampler cmaes needs the cmaes package: pip install cmaes") from None


def check_storage_url(url) -> str:
    """Check a ``--storage`` URL without contacting it; return it with its password hidden.

    Parameters
    ----------
    url : str
        An SQLAlchemy URL of an SQLite, PostgreSQL or MySQL database.

    Returns
    -------
    str
        The URL as logs and records show it (``***`` for a password).

    Raises
    ------
    BoundError
        On a string that is not such a URL, or names another database.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if not isinstance(url, str) or not 0 < len(url) <= MAX_STRING:
        raise BoundError(f"--storage must be a URL of at most {MAX_STRING} characters")
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise BoundError(
            f"--storage {url[:80]!r} is not an SQLAlchemy URL (such as sqlite:///study.db "
            "or postgresql+psycopg://user@host/db)"
        ) from None
    if parsed.get_backend_name() not in DIALECTS:
        raise BoundError(
            f"--storage: {parsed.get_backend_name()!r} databases are not supported; "
            f"use one of {', '.join(DIALECTS)}"
        )
    return parsed.render_as_string(hide_password=True)


def check_run_storage(config, storage) -> str:
    """A run's ``storage``: for an Optuna search only, and a URL (:func:`check_storage_url`)."""
    if config.search != "optuna":
        raise BoundError(f'--storage is for kind = "optuna" searches; this one is {config.search}')
    return check_storage_url(storage)
