"""A fitted pipeline as one ONNX graph, through sklearn-onnx and skmlp's converters."""

from __future__ import annotations

import numpy as np

from ._network import ExportError
from ._skl2onnx import label_classes, register_onnx_converters

__all__ = ["onnx_model", "unsupported_step"]


def _is_container(step) -> bool:
    """A pipeline, column transformer or feature union: sklearn-onnx converts its parts."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import FeatureUnion, Pipeline

    return isinstance(step, Pipeline | ColumnTransformer | FeatureUnion)


def _parts(step) -> list:
    """``(name, part)`` of a pipeline, column transformer or feature union."""
    if hasattr(step, "steps"):
        return list(step.steps)
    if hasattr(step, "transformers_"):
        return [(name, part) for name, part, _ in step.transformers_]
    if hasattr(step, "transformer_list"):
        return list(step.transformer_list)
    return []


def _leaves(model, name: str = "model"):
    """Every ``(name, step)`` that is not a container, depth first."""
    if isinstance(model, str) or model is None:  # "passthrough", "drop", None
        return
    if _is_container(model):
        for part_name, part in _parts(model):
            yield from _leaves(part, part_name)
    else:
        yield name, model


def unsupported_step(model, name: str = "model"):
    """The first ``(name, step)`` that sklearn-onnx has no converter for, or ``None``.

    Parameters
    ----------
    model : estimator or Pipeline
        The fitted model (after :func:`register_onnx_converters`).
    name : str, default="model"
        The model's own name.

    Returns
    -------
    tuple of (str, object) or None
    """
    from skl2onnx._supported_operators import sklearn_operator_name_map

    return next(
        ((n, s) for n, s in _leaves(model, name) if type(s) not in sklearn_operator_name_map), None
    )


def _final(model):
    return model.steps[-1][1] if hasattr(model, "steps") else model


def _input_types(model):
    from skl2onnx.common.data_types import FloatTensorType

    n_features = getattr(model, "n_features_in_", None)
    if n_features is None:
        n_features = getattr(_final(model), "n_features_in_", None)
    if not isinstance(n_features, int | np.integer) or n_features < 1:
        raise ExportError("the model records no number of input features (is it fitted?)")
    return [("X", FloatTensorType([None, int(n_features)]))]


def onnx_model(model, where: str = "model", *, zipmap=False, target_opset=None,
               initial_types=None):  # fmt: skip
    """Convert a fitted estimator or pipeline to an ``onnx.ModelProto``.

    Parameters
    ----------
    model : estimator or Pipeline
        Fitted.
    where : str, default="model"
        What to name in errors (the file).
    zipmap : bool or "columns", default=False
        sklearn-onnx's option for classifiers: ``False`` gives tensors.
    target_opset : int or None, default=None
        ONNX opset; ``None``: the newest sklearn-onnx supports.
    initial_types : list or None, default=None
        sklearn-onnx's inputs; default one float tensor ``X`` of the model's
        features.

    Returns
    -------
    onnx.ModelProto
    """
    register_onnx_converters()
    from skl2onnx import convert_sklearn
    from sklearn.base import is_classifier

    found = unsupported_step(model)
    if found is not None:
        step_name, step = found
        raise ExportError(
            f"{where}: step {step_name!r} ({type(step).__name__}) has no ONNX converter in "
            "sklearn-onnx; export converts skmlp's estimators and PixelScaler and what "
            "sklearn-onnx converts (scalers, encoders, imputers, column transformers)"
        )
    final = _final(model)
    if is_classifier(final):
        label_classes(final)  # refused before sklearn-onnx's own, longer errors
    options = {id(final): {"zipmap": zipmap}} if is_classifier(final) else None
    try:
        return convert_sklearn(
            model,
            initial_types=initial_types or _input_types(model),
            options=options,
            target_opset=target_opset,
            name=type(final).__name__,
        )
    except ExportError as exc:
        raise ExportError(f"{where}: {exc}") from None
    except Exception as exc:  # sklearn-onnx's errors run over many lines
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        named = [f"step {n!r} ({type(s).__name__})" for n, s in _leaves(model)
                 if type(s).__name__ in first]  # fmt: skip
        what = named[0] if named else "it"
        raise ExportError(f"{where}: sklearn-onnx cannot convert {what}: {first}") from None
