"""Pickling and deep-copying Keras models, as joblib and ``clone`` need them.

scikeras supplies the pickling of Keras models (through Keras' saving code);
this module installs it on :class:`keras.Model` without importing TensorFlow
on other backends. Imported by :mod:`skmlp._base`, after scikeras.
"""

import keras
from scikeras import _saving_utils

from ._backend import quiet_backend_deprecations, tensorflow_hidden

__all__ = []


def _unpack_keras_model(model_bytes):
    """scikeras' unpickling of a Keras model, without importing TensorFlow on JAX.

    Keras' saving code calls NumPy APIs that NumPy 2 deprecates; their warnings
    (errors under ``-W error``) are silenced here, as everywhere skmlp calls it.
    """
    with tensorflow_hidden(), quiet_backend_deprecations():
        return _saving_utils.unpack_keras_model(model_bytes)


def _pack_keras_model(model):
    """scikeras' ``keras.Model.__reduce__``, without importing TensorFlow on JAX.

    scikeras pickles Keras models through Keras' saving code, which imports
    TensorFlow whatever the backend (seconds, and CUDA lines on stderr).
    """
    with tensorflow_hidden(), quiet_backend_deprecations():
        _, args = _saving_utils.pack_keras_model(model)
    return _unpack_keras_model, args


def _deepcopy_keras_model(model, memo):
    """scikeras' ``keras.Model.__deepcopy__``, without importing TensorFlow on JAX."""
    with tensorflow_hidden(), quiet_backend_deprecations():
        return _saving_utils.deepcopy_model(model, memo)


keras.Model.__reduce__ = _pack_keras_model
keras.Model.__deepcopy__ = _deepcopy_keras_model
