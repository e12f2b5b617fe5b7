"""A fitted Keras network as ONNX nodes, read layer by layer from its weights.

:func:`network_steps` turns the layers :func:`skmlp.build_mlp` builds into a short
list of steps in float64: an affine map per ``Dense`` layer with its activation;
batch normalisation in inference mode (its moving statistics folded into a scale
and a shift, and those into the next ``Dense`` layer); nothing for ``Dropout``
(the identity at inference); and nothing for a max-norm constraint (it shaped the
weights during training; the weights are what is exported). Any other layer, or an
activation without an exact ONNX form, is refused naming it.

:func:`emit_network` writes the steps as ONNX nodes (``Gemm`` and the activations)
through a small graph interface (:class:`GraphWriter`), so the same code serves the
sklearn-onnx converter (:mod:`._skl2onnx`) and any other writer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import numpy as np

__all__ = ["ExportError", "GraphWriter", "emit_network", "network_steps"]

#: Keras' constants of ``selu`` (``keras.activations.selu``).
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
#: Keras' default slope of ``leaky_relu``.
_LEAKY_SLOPE = 0.2


class ExportError(ValueError):
    """A model that cannot be exported exactly: one line naming what and why."""


class GraphWriter(Protocol):
    """Where :func:`emit_network` writes: constants and nodes, each output a fresh name."""

    def constant(self, array: np.ndarray, hint: str) -> str: ...

    def node(self, op_type: str, inputs: list[str], hint: str, **attrs) -> str: ...


def _array(variable) -> np.ndarray:
    import keras

    return np.asarray(keras.ops.convert_to_numpy(variable), dtype=np.float64)


def _activation_name(layer) -> str:
    name = layer.get_config().get("activation")
    return "linear" if name is None else name


def _dense_step(layer, where: str) -> list:
    if getattr(layer, "lora_enabled", False) or getattr(layer, "quantization_mode", None):
        raise ExportError(
            f"{where}: layer {layer.name!r} is LoRA-enabled or quantized; export supports "
            "plain Dense layers only"
        )
    kernel = _array(layer.kernel)
    bias = _array(layer.bias) if layer.use_bias else np.zeros(kernel.shape[1])
    activation = _activation_name(layer)
    if activation not in ACTIVATION_NODES:
        raise ExportError(
            f"{where}: layer {layer.name!r} has activation {activation!r}, which has no exact "
            f"ONNX form here (supported: {', '.join(sorted(ACTIVATION_NODES))})"
        )
    return [("affine", kernel, bias), ("activation", activation)]


def _batch_norm_step(layer, where: str) -> tuple:
    axis = layer.axis if isinstance(layer.axis, int) else tuple(layer.axis)
    if axis not in (-1, 1, (1,), (-1,)):
        raise ExportError(f"{where}: layer {layer.name!r} normalises axis {axis}, not features")
    mean, variance = _array(layer.moving_mean), _array(layer.moving_variance)
    gamma = _array(layer.gamma) if layer.scale else np.ones_like(mean)
    beta = _array(layer.beta) if layer.center else np.zeros_like(mean)
    scale = gamma / np.sqrt(variance + float(layer.epsilon))
    return ("scale", scale, beta - mean * scale)


def network_steps(model, where: str = "model") -> list[tuple]:
    """The inference steps of a fitted network, in float64.

    Parameters
    ----------
    model : keras.Model
        A network built by :func:`skmlp.build_mlp` (``Dense``, ``BatchNormalization``
        and ``Dropout`` layers).
    where : str, default="model"
        What to name in an error (the file or the step).

    Returns
    -------
    list of tuple
        ``("affine", W, b)``, ``("scale", s, t)`` (``x * s + t``) and
        ``("activation", name)`` steps; each scale that a ``Dense`` layer follows is
        folded into it.

    Raises
    ------
    ExportError
        A layer or activation that has no exact ONNX form here.
    """
    import keras

    steps = []
    for layer in model.layers:
        kind = type(layer)
        if kind in (keras.layers.Dropout, keras.layers.InputLayer):
            continue  # the identity at inference
        if kind is keras.layers.Dense:
            steps += _dense_step(layer, where)
        elif kind is keras.layers.BatchNormalization:
            steps.append(_batch_norm_step(layer, where))
        else:
            raise ExportError(
                f"{where}: layer {layer.name!r} ({kind.__name__}) cannot be exported; "
                "supported layers: Dense, BatchNormalization, Dropout"
            )
    return _fold(steps)


def _fold(steps: list) -> list:
    """Fold each ``scale`` step into the ``affine`` step right after it."""
    out = []
    for step in steps:
        if step[0] == "affine" and out and out[-1][0] == "scale":
            _, s, t = out.pop()
            _, kernel, bias = step
            step = ("affine", s[:, None] * kernel, t @ kernel + bias)
        out.append(step)
    return out


# ------------------------------------------------------------- activations
def _unary(op_type: str, **attrs) -> Callable:
    return lambda g, x, dtype: g.node(op_type, [x], op_type.lower(), **attrs)


def _swish(g, x, dtype):
    return g.node("Mul", [x, g.node("Sigmoid", [x], "sigmoid")], "swish")


def _gelu(g, x, dtype):
    """Keras' exact GELU, ``0.5 * x * (1 + erf(x / sqrt(2)))``."""
    erf = g.node("Erf", [g.node("Div", [x, g.constant(np.array(math.sqrt(2.0), dtype), "sqrt2")],
                                "gelu_div")], "gelu_erf")  # fmt: skip
    one_plus = g.node("Add", [erf, g.constant(np.array(1.0, dtype), "one")], "gelu_add")
    half_x = g.node("Mul", [x, g.constant(np.array(0.5, dtype), "half")], "gelu_half")
    return g.node("Mul", [half_x, one_plus], "gelu")


#: Keras activation name -> writer of its ONNX nodes (``linear``: none).
ACTIVATION_NODES = {
    "linear": lambda g, x, dtype: x,
    "relu": _unary("Relu"),
    "tanh": _unary("Tanh"),
    "sigmoid": _unary("Sigmoid"),
    "elu": _unary("Elu", alpha=1.0),
    "selu": _unary("Selu", alpha=_SELU_ALPHA, gamma=_SELU_SCALE),
    "leaky_relu": _unary("LeakyRelu", alpha=_LEAKY_SLOPE),
    "silu": _swish,
    "swish": _swish,
    "gelu": _gelu,
    "exponential": _unary("Exp"),
    "softmax": _unary("Softmax", axis=1),
}


def emit_network(steps: list, graph: GraphWriter, x: str, dtype=np.float32) -> str:
    """Write :func:`network_steps`' steps as ONNX nodes; return the output's name.

    Parameters
    ----------
    steps : list of tuple
        From :func:`network_steps`.
    graph : GraphWriter
        Receives the constants and nodes.
    x : str
        Name of the network's input, a ``(rows, features)`` tensor of ``dtype``.
    dtype : numpy dtype, default=numpy.float32
        The dtype the graph computes in (the weights are cast to it).

    Returns
    -------
    str
        Name of the network's output.
    """
    dtype = np.dtype(dtype)
    for step in steps:
        if step[0] == "affine":
            kernel = graph.constant(step[1].astype(dtype), "coefficient")
            bias = graph.constant(step[2].astype(dtype), "intercepts")
            x = graph.node("Gemm", [x, kernel, bias], "gemm")
        elif step[0] == "scale":
            x = graph.node("Mul", [x, graph.constant(step[1].astype(dtype), "bn_scale")], "bn")
            x = graph.node("Add", [x, graph.constant(step[2].astype(dtype), "bn_shift")], "bn")
        else:
            x = ACTIVATION_NODES[step[1]](graph, x, dtype)
    return x
