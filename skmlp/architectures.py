"""The seed notebook's six MNIST architectures, as data and as a search grid.

Each :class:`Architecture` records the hidden widths, whether batch
normalisation and dropout follow every hidden layer (and at which rate), the
parameter count for 784 inputs and 10 classes, and the test accuracy the 2019
notebook reported (chosen on the test set, so an optimistic reference).

The seed notebook started these networks from its He-style normal
(``kernel_initializer="seed_notebook"``), not from the estimators' default
scikit-learn start: ``skmlp run`` (:data:`skmlp.experiment.SEED_SETTINGS`) and
:meth:`Architecture.estimator_params` name it explicitly, so the recorded seed
tables stay what a rerun gives.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

__all__ = ["SEED_ARCHITECTURES", "Architecture", "get_architecture", "param_grid"]


@dataclass(frozen=True)
class Architecture:
    """One MLP architecture of the experiment.

    Parameters
    ----------
    name : str
        Short unique name, used in reports and file names.
    hidden_layer_sizes : tuple of int
        Width of each hidden layer.
    batch_norm : bool
        Batch normalisation after each hidden layer.
    dropout : float
        Dropout rate after each hidden layer (0 for none).
    seed_params : int or None
        Parameter count the seed notebook printed (784 inputs, 10 classes).
    seed_test_accuracy : float or None
        Test accuracy (%) the seed notebook reported.
    """

    name: str
    hidden_layer_sizes: tuple[int, ...]
    batch_norm: bool = False
    dropout: float = 0.0
    seed_params: int | None = None
    seed_test_accuracy: float | None = None

    @property
    def params(self) -> dict:
        """The MLPClassifier parameters of this architecture."""
        return {
            "hidden_layer_sizes": self.hidden_layer_sizes,
            "batch_norm": self.batch_norm,
            "dropout": self.dropout,
        }

    def estimator_params(self) -> dict:
        """:attr:`params` and the seed notebook's initializer: the seed's network.

        Returns
        -------
        dict
            ``params`` with ``kernel_initializer="seed_notebook"``; pass it to
            :class:`skmlp.MLPClassifier` to start as the seed notebook did.

        Examples
        --------
        >>> from skmlp.architectures import get_architecture
        >>> get_architecture("mlp2").estimator_params()["kernel_initializer"]
        'seed_notebook'
        """
        return {**self.params, "kernel_initializer": "seed_notebook"}

    def n_params(self, n_features: int = 784, n_classes: int = 10) -> int:
        """Parameter count of this network (what :func:`skmlp.build_mlp` builds).

        Parameters
        ----------
        n_features : int, default=784
            Number of inputs.
        n_classes : int, default=10
            Number of output units.

        Returns
        -------
        int
            Weights and biases of every Dense layer, plus 4 per unit of each batch
            normalisation layer (scale, offset, moving mean and variance).

        Examples
        --------
        >>> from skmlp.architectures import get_architecture
        >>> get_architecture("mlp2-bn-do").n_params()
        219338
        """
        from ._model import mlp_param_count  # imports Keras: not at this module's import

        return mlp_param_count(
            n_features, self.hidden_layer_sizes, n_classes, batch_norm=self.batch_norm
        )

    def as_dict(self) -> dict:
        """All fields as a plain dict (for JSON and DataFrames)."""
        return asdict(self)


#: The six architectures of the seed notebook, in its order.
SEED_ARCHITECTURES: tuple[Architecture, ...] = (
    Architecture("mlp2", (256, 64), False, 0.0, 218_058, 97.87),
    Architecture("mlp2-bn-do", (256, 64), True, 0.3, 219_338, 98.12),
    Architecture("mlp3", (1024, 512, 256), False, 0.0, 1_462_538, 98.37),
    Architecture("mlp3-bn-do", (1024, 512, 256), True, 0.5, 1_469_706, 98.59),
    Architecture("mlp5", (2048, 1024, 256, 128, 64), False, 0.0, 4_010_058, 98.53),
    Architecture("mlp5-bn-do", (2048, 1024, 256, 128, 64), True, 0.5, 4_024_138, 98.42),
)


def get_architecture(name: str) -> Architecture:
    """Return the seed architecture called ``name``.

    Parameters
    ----------
    name : str
        One of ``mlp2``, ``mlp2-bn-do``, ``mlp3``, ``mlp3-bn-do``, ``mlp5``,
        ``mlp5-bn-do``.

    Returns
    -------
    Architecture
        The architecture.
    """
    for arch in SEED_ARCHITECTURES:
        if arch.name == name:
            return arch
    names = ", ".join(a.name for a in SEED_ARCHITECTURES)
    raise ValueError(f"Unknown architecture {name!r}; choose from {names}.")


def param_grid(
    architectures: Iterable[Architecture] = SEED_ARCHITECTURES, prefix: str = "mlp__"
) -> list[dict]:
    """Turn architectures into a :class:`~sklearn.model_selection.GridSearchCV` grid.

    A list of one-point grids, so the search tries exactly these architectures,
    not every combination of their widths, batch norm and dropout.

    Parameters
    ----------
    architectures : iterable of Architecture, default=SEED_ARCHITECTURES
        The architectures.
    prefix : str, default="mlp\\_\\_"
        Prefix of the parameter names: the MLP step's name in the pipeline and
        two underscores (``"mlp__"``); ``""`` for a bare MLPClassifier.

    Returns
    -------
    list of dict
        ``[{"mlp__hidden_layer_sizes": [...], "mlp__batch_norm": [...],
        "mlp__dropout": [...]}, ...]``.

    Examples
    --------
    >>> from skmlp.architectures import param_grid
    >>> param_grid()[1]
    {'mlp__hidden_layer_sizes': [(256, 64)], 'mlp__batch_norm': [True], 'mlp__dropout': [0.3]}
    """
    return [{f"{prefix}{k}": [v] for k, v in arch.params.items()} for arch in architectures]
