"""The registry of clients and the small data sets they share."""

from __future__ import annotations

import numpy as np
from sklearn import datasets
from sklearn.model_selection import train_test_split

CLIENTS: dict = {}  # name -> (function, group)


def client(group: str):
    """Register a client function under its own name, in ``group``."""

    def register(fn):
        CLIENTS[fn.__name__] = (fn, group)
        return fn

    return register


def split(X, y, **kwargs):
    """A fixed 75/25 train/test split, stratified for class labels.

    The split does not move with the seed: a client's spread over seeds is the
    estimator's own (its initial weights, shuffling and validation split).
    """
    strat = y if np.asarray(y).dtype.kind in "iUO" and np.asarray(y).ndim == 1 else None
    return train_test_split(X, y, random_state=0, stratify=strat, **kwargs)


def iris(**kwargs):
    return datasets.load_iris(return_X_y=True, **kwargs)


def wine(**kwargs):
    return datasets.load_wine(return_X_y=True, **kwargs)


def cancer(**kwargs):
    return datasets.load_breast_cancer(return_X_y=True, **kwargs)


def digits(**kwargs):
    return datasets.load_digits(return_X_y=True, **kwargs)


def diabetes(**kwargs):
    return datasets.load_diabetes(return_X_y=True, **kwargs)
