"""Pixel scaling as a fitted transformer, so saved pipelines take raw pixels."""

from __future__ import annotations

from numbers import Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["PixelScaler"]


class PixelScaler(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Divide pixel values by their largest possible value, giving floats in [0, 1].

    The seed notebook's ``X / 255`` as a pipeline step: a model saved with it
    takes raw ``uint8`` pixels. Unlike :class:`~sklearn.preprocessing.MinMaxScaler`
    it learns nothing from the data, so every fold and every dataset scales alike.

    Parameters
    ----------
    pixel_max : float, default=255.0
        The largest possible pixel value (255 for MNIST, 16 for scikit-learn's
        digits).

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from skmlp import PixelScaler
    >>> PixelScaler().fit_transform(np.array([[0, 51, 255]], dtype=np.uint8))
    array([[0. , 0.2, 1. ]], dtype=float32)
    """

    _parameter_constraints: ClassVar[dict] = {
        "pixel_max": [Interval(Real, 0, None, closed="neither")]
    }

    def __init__(self, pixel_max=255.0):
        self.pixel_max = pixel_max

    def fit(self, X, y=None):
        """Check X and record its number of features.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Pixels.
        y : None
            Ignored.

        Returns
        -------
        self : PixelScaler
            The fitted scaler.
        """
        self._validate_params()
        validate_data(self, X, reset=True)
        return self

    def transform(self, X):
        """Scale pixels to [0, 1] as float32.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Pixels.

        Returns
        -------
        ndarray of shape (n_samples, n_features), float32
            ``X / pixel_max``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float32)
        return X / np.float32(self.pixel_max)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
