"""The estimators' public surface: scikit-learn's, and skmlp's documented additions.

skmlp's estimators inherit from scikeras' ``BaseWrapper`` (model life cycle only);
its public names that mean nothing in skmlp (a Keras model or ``build_fn`` of
the user's, routed parameters, encoders, ``initialize``) are removed here:
reading one raises :class:`AttributeError` naming what skmlp offers instead, so
``hasattr`` is false, and ``dir()`` does not list them. scikeras' ``_more_tags``
goes too: scikit-learn >= 1.6 reads ``__sklearn_tags__``, and warns about
estimators that still define the old hook.
"""

from __future__ import annotations

__all__ = ["SCIKERAS_LEFTOVERS", "hide_scikeras_leftovers"]

#: scikeras' names removed from the estimators, each with what skmlp offers instead.
SCIKERAS_LEFTOVERS = {
    "build_fn": "the network is set by hidden_layer_sizes and skmlp's other parameters",
    "model": "the network is set by hidden_layer_sizes and skmlp's other parameters; "
    "the fitted Keras model is model_",
    "initialize": "fit, partial_fit or warm_start build the network",
    "initialized_": "check_is_fitted(estimator) tells whether the network is built",
    "current_epoch": "n_iter_ is the number of epochs trained",
    "feature_encoder": "use a Pipeline for feature transformations",
    "target_encoder": "classes_ holds the labels; targets are encoded internally",
    "scorer": "score(X, y) scores the estimator",
    "_more_tags": "scikit-learn >= 1.6 reads __sklearn_tags__",
}


class _Removed:
    """A class attribute that hides an inherited one: reading it raises AttributeError."""

    def __init__(self, instead: str):
        self.instead = instead

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, owner=None):
        raise AttributeError(
            f"{(owner or type(obj)).__name__} has no attribute {self.name!r} "
            f"(a scikeras name; in skmlp, {self.instead})"
        )


def _dir_without_leftovers(self):
    return [name for name in object.__dir__(self) if name not in SCIKERAS_LEFTOVERS]


def hide_scikeras_leftovers(cls) -> None:
    """Remove :data:`SCIKERAS_LEFTOVERS` from ``cls`` and its subclasses."""
    for name, instead in SCIKERAS_LEFTOVERS.items():
        removed = _Removed(instead)
        removed.__set_name__(cls, name)
        setattr(cls, name, removed)
    cls.__dir__ = _dir_without_leftovers
