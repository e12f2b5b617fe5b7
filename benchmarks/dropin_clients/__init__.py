"""Client programs for ``bench_dropin_clients.py``: code a scikit-learn user writes.

Each client is a function ``client(MLPClassifier, MLPRegressor, seed)`` that returns a
score (a float, higher is better, on the scale of an accuracy or an R^2) or a dict with a
``"score"`` key and other facts. It is written against scikit-learn's API only: the
benchmark passes scikit-learn's classes or skmlp's, as a user swapping the import would.
Data sets are small and offline (scikit-learn's bundled sets and generators); every
random_state is ``seed``, so a client run over several seeds shows scikit-learn's own
spread.
"""

from . import gallery, habits, tools, workflow  # noqa: F401  (registers the clients)
from ._registry import CLIENTS

__all__ = ["CLIENTS"]
