"""The solvers: one table from a ``solver`` name to its Keras optimizer.

Each row names the Keras optimizer class a solver compiles the network with and
how the estimator's parameters map onto that class's arguments. The parameter
constraints (the ``solver`` option), the network builder
(:meth:`BaseMultilayerPerceptron._keras_build_fn
<skmlp._base.BaseMultilayerPerceptron._keras_build_fn>`) and the model-file
allowlist (:mod:`skmlp._persistence`) all read this table, so a new solver is one
row here (plus its parameters, see CONTRIBUTING.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["SOLVERS", "STOCHASTIC_SOLVERS", "Solver", "make_optimizer", "optimizer_classes"]


def _decay(params) -> float | None:
    return float(params["weight_decay"]) or None


@dataclass(frozen=True)
class Solver:
    """One solver: its Keras optimizer class and the mapping of the estimator's parameters.

    Parameters
    ----------
    keras_class : str
        Name of the class in :mod:`keras.optimizers`.
    arguments : callable
        ``arguments(params) -> dict``: the class's keyword arguments from the
        estimator's parameters (``get_params(deep=False)``).
    stochastic : bool
        Whether the solver trains on minibatches (and offers ``partial_fit``).
    """

    keras_class: str
    arguments: Callable[[dict], dict]
    stochastic: bool = True


def _adam(p) -> dict:
    return dict(
        learning_rate=float(p["learning_rate_init"]),
        beta_1=float(p["beta_1"]),
        beta_2=float(p["beta_2"]),
        epsilon=float(p["epsilon"]),
        weight_decay=_decay(p),
    )


def _sgd(p) -> dict:
    return dict(
        learning_rate=float(p["learning_rate_init"]),
        momentum=float(p["momentum"]),
        nesterov=bool(p["nesterovs_momentum"]) and p["momentum"] > 0,
        weight_decay=_decay(p),
    )


#: ``solver`` name -> :class:`Solver`.
SOLVERS = {
    "adam": Solver("Adam", _adam),
    "sgd": Solver("SGD", _sgd),
    # L-BFGS trains without the optimizer (skmlp._training.lbfgs); SGD gives the
    # model one to continue with, should the solver change under warm_start
    "lbfgs": Solver("SGD", _sgd, stochastic=False),
}

#: The solvers that train on minibatches.
STOCHASTIC_SOLVERS = tuple(name for name, solver in SOLVERS.items() if solver.stochastic)


def make_optimizer(params: dict):
    """The Keras optimizer of ``params["solver"]``, configured from ``params``.

    Parameters
    ----------
    params : dict
        The estimator's parameters (``get_params(deep=False)``).

    Returns
    -------
    keras.optimizers.Optimizer
    """
    import keras

    solver = SOLVERS[params["solver"]]
    return getattr(keras.optimizers, solver.keras_class)(**solver.arguments(params))


def optimizer_classes() -> set:
    """Names of the Keras optimizer classes the solvers compile with (for the allowlist)."""
    return {solver.keras_class for solver in SOLVERS.values()}
