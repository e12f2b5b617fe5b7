"""The fixed table of classes a model file may name; nothing else is ever built."""

from __future__ import annotations

# Estimators whose Keras network is stored beside their state.
_NETWORK_CLASSES = ("MLPClassifier", "MLPRegressor")


def _classes():
    """The fixed table of classes a file may name: nothing else is ever built."""
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    from .._classifier import MLPClassifier
    from .._preprocessing import PixelScaler
    from .._tabular import TabularEncoder

    table = {
        "MLPClassifier": MLPClassifier,
        "PixelScaler": PixelScaler,
        "StandardScaler": StandardScaler,
        "MinMaxScaler": MinMaxScaler,
        "TabularEncoder": TabularEncoder,
    }
    try:  # the regressor, where this skmlp has one
        from .._regressor import MLPRegressor
    except ImportError:
        pass
    else:
        table["MLPRegressor"] = MLPRegressor
    return table


def _supported_names() -> str:
    return ", ".join(sorted(_classes()))
