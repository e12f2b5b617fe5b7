"""skmlp: scikit-learn multilayer perceptrons trained with Keras 3.

``from skmlp import MLPClassifier`` (or ``MLPRegressor``) gives a scikit-learn
estimator whose network is a Keras model, with batch normalisation and dropout as
plain hyperparameters.

Importing skmlp is cheap: Keras and its backend are imported the first time a
name that needs them is used.
"""

from importlib import import_module

from ._backend import limit_backend_threads

__version__ = "0.1.0"

# Before any Keras backend is imported: give TensorFlow the thread budget that
# joblib's workers (or the user) set in OMP_NUM_THREADS, see skmlp._backend.
limit_backend_threads()

# public name -> module that defines it; loaded on first access (PEP 562)
_LAZY = {
    "MLPClassifier": "skmlp._classifier",
    "KerasMLPClassifier": "skmlp._classifier",
    "MLPRegressor": "skmlp._regressor",
    "build_mlp": "skmlp._model",
    "PixelScaler": "skmlp._preprocessing",
    "TabularEncoder": "skmlp._tabular",
    "save": "skmlp._persistence",
    "load": "skmlp._persistence",
    "load_pickle": "skmlp._persistence",
    "ModelFileError": "skmlp._persistence",
    "export": "skmlp._export",
    "register_onnx_converters": "skmlp._export",
}

__all__ = [
    "KerasMLPClassifier",
    "MLPClassifier",
    "MLPRegressor",
    "ModelFileError",
    "PixelScaler",
    "TabularEncoder",
    "__version__",
    "build_mlp",
    "export",
    "load",
    "load_pickle",
    "register_onnx_converters",
    "save",
]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'skmlp' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
