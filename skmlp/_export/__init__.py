"""Serving formats: a fitted model as one ONNX graph, a TF SavedModel, a model card.

The package, by concern: ``_network`` (a fitted Keras network as ONNX nodes, read
layer by layer), ``_skl2onnx`` (sklearn-onnx converters for skmlp's classes),
``_onnx`` (a pipeline to an ONNX model), ``_out`` (the output's rules), ``_api``
(:func:`export`: files, formats) and ``_card`` (a model card from a run's records).
"""

from ._api import FORMATS, export
from ._network import ExportError
from ._out import check_out
from ._skl2onnx import register_onnx_converters

__all__ = [
    "FORMATS",
    "ExportError",
    "check_out",
    "export",
    "register_onnx_converters",
]
