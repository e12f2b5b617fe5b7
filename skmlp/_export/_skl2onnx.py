"""sklearn-onnx converters for skmlp's estimators and :class:`~skmlp.PixelScaler`.

:func:`register_onnx_converters` registers, for each class, a shape calculator and
a converter (``skl2onnx.update_registered_converter``), after which
``skl2onnx.to_onnx`` converts pipelines that hold them as it converts
scikit-learn's own. The classifier's outputs are those of sklearn-onnx's
``MLPClassifier`` converter: ``label`` (int64 for integer classes, string for
strings; for multilabel targets an int64 ``(rows, labels)`` indicator matrix) and
``probabilities`` (float, ``(rows, classes)``), or, under sklearn-onnx's default
option ``zipmap=True``, ``output_label`` and ``output_probability`` (a list of
dictionaries); the regressor's is ``variable`` (``(rows, outputs)``).
"""

from __future__ import annotations

import numpy as np

from ._network import ExportError, emit_network, network_steps

__all__ = ["register_onnx_converters"]

#: The classifier's options, as sklearn-onnx's ``MLPClassifier`` converter has them.
CLASSIFIER_OPTIONS = {"zipmap": [True, False, "columns"], "nocl": [True, False]}


class _ContainerWriter:
    """:class:`._network.GraphWriter` over sklearn-onnx's scope and container."""

    def __init__(self, scope, container):
        self.scope, self.container = scope, container

    def constant(self, array: np.ndarray, hint: str) -> str:
        from onnx import TensorProto, numpy_helper

        name = self.scope.get_unique_variable_name(hint)
        array = np.asarray(array)
        if array.dtype.kind in "OUS":  # strings: no raw data in a TensorProto
            values = [str(v).encode("utf-8") for v in array.ravel()]
            self.container.add_initializer(name, TensorProto.STRING, list(array.shape), values)
        else:
            tensor = numpy_helper.from_array(np.ascontiguousarray(array), name)
            self.container.add_initializer(name, None, None, tensor)
        return name

    def node(self, op_type: str, inputs: list[str], hint: str, output=None, **attrs) -> str:
        output = output or self.scope.get_unique_variable_name(hint)
        self.container.add_node(
            op_type, inputs, output, name=self.scope.get_unique_operator_name(op_type), **attrs
        )
        return output


def _float_dtype(variable):
    from skl2onnx.common.data_types import DoubleTensorType

    return np.float64 if isinstance(variable.type, DoubleTensorType) else np.float32


def _tensor_type(dtype):
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    return DoubleTensorType if dtype == np.float64 else FloatTensorType


def _cast_input(g: _ContainerWriter, variable, dtype) -> str:
    from onnx import TensorProto

    to = TensorProto.DOUBLE if dtype == np.float64 else TensorProto.FLOAT
    return g.node("Cast", [variable.full_name], "cast_input", to=to)


def _check_types(operator, n_outputs: int) -> None:
    from skl2onnx.common.data_types import (
        BooleanTensorType,
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
    )
    from skl2onnx.common.utils import check_input_and_output_numbers, check_input_and_output_types

    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=n_outputs)
    good = [BooleanTensorType, DoubleTensorType, FloatTensorType, Int64TensorType]
    check_input_and_output_types(operator, good_input_types=good)


def label_classes(est) -> np.ndarray:
    """The classes of a classifier as ONNX labels: int64 or strings; else refuse."""
    classes = np.asarray(est.classes_)
    where = type(est).__name__
    if classes.ndim != 1 or len(classes) < 2:
        raise ExportError(f"{where}: fitted on {len(classes)} class(es); export needs 2 or more")
    if classes.dtype.kind in "biu":
        return classes.astype(np.int64)
    if classes.dtype.kind == "f":
        if not np.all(classes == np.round(classes)):
            raise ExportError(f"{where}: classes {classes[:5]} are not whole numbers or strings; "
                              "ONNX labels are int64 or strings")  # fmt: skip
        return classes.astype(np.int64)
    if all(isinstance(c, str) for c in classes.tolist()):
        return classes.astype(str)
    raise ExportError(f"{where}: classes mix types; ONNX labels are int64 or strings")


# --------------------------------------------------------------- classifier
def _classifier_shapes(operator) -> None:
    from skl2onnx.common.data_types import Int64TensorType, StringTensorType
    from skl2onnx.common.utils_classifier import get_label_classes

    _check_types(operator, 2)
    est = operator.raw_operator
    label_classes(est)  # refuses what ONNX labels cannot hold
    n = operator.inputs[0].get_first_dimension()
    classes = np.asarray(get_label_classes(operator.scope_inst, est))
    if est._y_type == "multilabel-indicator":
        operator.outputs[0].type = Int64TensorType([n, len(classes)])
    elif classes.dtype.kind in "OUS":
        operator.outputs[0].type = StringTensorType([n])
    else:
        operator.outputs[0].type = Int64TensorType([n])
    proba_type = _tensor_type(_float_dtype(operator.inputs[0]))
    operator.outputs[1].type = proba_type([n, len(classes)])


def _convert_classifier(scope, operator, container) -> None:
    from onnx import TensorProto

    est, g = operator.raw_operator, _ContainerWriter(scope, container)
    dtype = _float_dtype(operator.inputs[0])
    x = _cast_input(g, operator.inputs[0], dtype)
    out = emit_network(network_steps(est.model_, type(est).__name__), g, x, dtype)
    label, proba = operator.outputs[0].full_name, operator.outputs[1].full_name
    if est._y_type == "multilabel-indicator":  # sklearn-onnx: Binarizer(0.5), cast to int64
        g.node("Identity", [out], "proba", output=proba)
        above = g.node("Greater", [out, g.constant(np.array(0.5, dtype), "half")], "above")
        g.node("Cast", [above], "label", output=label, to=TensorProto.INT64)
        return
    if est._y_type == "binary":  # one logistic unit p: probabilities [1 - p, p]
        negative = g.node("Sub", [g.constant(np.array(1.0, dtype), "one"), out], "negative")
        g.node("Concat", [negative, out], "proba", output=proba, axis=1)
        above = g.node("Greater", [out, g.constant(np.array(0.5, dtype), "half")], "above")
        index = g.node("Cast", [above], "index", to=TensorProto.INT64)
        shape = g.constant(np.array([-1], np.int64), "shape")
        index = g.node("Reshape", [index, shape], "index")
    else:
        g.node("Identity", [out], "proba", output=proba)
        index = g.node("ArgMax", [out], "index", axis=1, keepdims=0)
    if scope.get_options(est, dict(nocl=False))["nocl"]:  # indices instead of labels
        classes = np.arange(est.n_classes_, dtype=np.int64)
    else:
        classes = label_classes(est)
    g.node("Gather", [g.constant(classes, "classes"), index], "label", output=label, axis=0)


# ---------------------------------------------------------------- regressor
def _regressor_shapes(operator) -> None:
    _check_types(operator, 1)
    est = operator.raw_operator
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = _tensor_type(_float_dtype(operator.inputs[0]))([n, est.n_outputs_])


def _convert_regressor(scope, operator, container) -> None:
    est, g = operator.raw_operator, _ContainerWriter(scope, container)
    dtype = _float_dtype(operator.inputs[0])
    x = _cast_input(g, operator.inputs[0], dtype)
    out = emit_network(network_steps(est.model_, type(est).__name__), g, x, dtype)
    g.node("Identity", [out], "variable", output=operator.outputs[0].full_name)


# -------------------------------------------------------------- PixelScaler
def _pixel_shapes(operator) -> None:
    from skl2onnx.common.data_types import FloatTensorType
    from skl2onnx.common.utils import check_input_and_output_numbers

    check_input_and_output_numbers(operator, input_count_range=1, output_count_range=1)
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = FloatTensorType([n, operator.raw_operator.n_features_in_])


def _convert_pixels(scope, operator, container) -> None:
    """``X.astype(float32) / float32(pixel_max)``, as :meth:`PixelScaler.transform`."""
    g = _ContainerWriter(scope, container)
    x = _cast_input(g, operator.inputs[0], np.float32)
    pixel_max = g.constant(np.array(operator.raw_operator.pixel_max, np.float32), "pixel_max")
    g.node("Div", [x, pixel_max], "scaled", output=operator.outputs[0].full_name)


def register_onnx_converters() -> None:
    """Teach sklearn-onnx to convert skmlp's estimators and :class:`~skmlp.PixelScaler`.

    After this call, ``skl2onnx.to_onnx`` converts pipelines holding
    :class:`~skmlp.MLPClassifier`, :class:`~skmlp.MLPRegressor` and
    :class:`~skmlp.PixelScaler` as it converts scikit-learn's own estimators. The
    networks are written from their fitted Keras weights (``Gemm`` nodes and
    activations; batch normalisation folded into the next layer; dropout left out,
    as at inference). The outputs are those of sklearn-onnx's ``MLPClassifier`` and
    ``MLPRegressor``: ``label`` and ``probabilities`` for a classifier (with
    ``zipmap`` and ``nocl`` options as there; sklearn-onnx's default is
    ``zipmap=True``), ``variable`` for a regressor. Calling it again does nothing
    new.

    Raises
    ------
    ImportError
        sklearn-onnx is not installed (``pip install "skmlp[export]"``).

    Examples
    --------
    >>> import skmlp
    >>> skmlp.register_onnx_converters()  # then skl2onnx.to_onnx(pipeline, X[:1])
    """
    try:
        from skl2onnx import update_registered_converter
    except ImportError:
        raise ImportError(
            "exporting to ONNX needs sklearn-onnx and onnx: pip install 'skmlp[export]'"
        ) from None

    from .._classifier import MLPClassifier
    from .._preprocessing import PixelScaler
    from .._regressor import MLPRegressor

    update_registered_converter(
        MLPClassifier, "SkmlpMLPClassifier", _classifier_shapes, _convert_classifier,
        options=CLASSIFIER_OPTIONS,
    )  # fmt: skip
    update_registered_converter(
        MLPRegressor, "SkmlpMLPRegressor", _regressor_shapes, _convert_regressor
    )
    update_registered_converter(PixelScaler, "SkmlpPixelScaler", _pixel_shapes, _convert_pixels)
