"""Prediction in chunks, compiled once per network structure."""

from __future__ import annotations

import math

import keras
import numpy as np
import scipy.sparse as sp

from .._backend import compiles_per_shape
from .fused import padded_rows
from .reuse import compile_forward_later, predicting

__all__ = ["compile_prediction_ahead", "forward"]

# Prediction runs through ``Model.predict_on_batch`` in chunks of this many rows.
# It skips the set-up that ``Model.predict`` pays at every call, and 4096-row
# chunks are as fast as the best batch size for 10,000 rows
# (benchmarks/results/compare_*.md). Sparse inputs are made dense
# one chunk at a time.
PREDICT_CHUNK = 4096
#: On JAX, which compiles once per input shape, chunks of this many rows, the
#: last one padded; fewer rows are padded to a power of two (at least
#: ``JAX_MIN_ROWS``). A structure then predicts with at most 3 compiled programs.
JAX_CHUNK = 512
JAX_MIN_ROWS = 128


def jax_rows(n_samples: int) -> int:
    """Rows of each compiled prediction call on JAX for an input of ``n_samples`` rows."""
    return padded_rows(n_samples, JAX_CHUNK, JAX_MIN_ROWS)


def forward(model, X):
    """Outputs of ``model`` for ``X`` (dense or CSR, the network's dtype), chunk by chunk."""
    # JAX compiles once per input shape: pad each chunk to one of a few sizes
    # (JAX_CHUNK, smaller powers of two for smaller inputs), so that inputs
    # of any size reuse few compiled functions. Rows are independent at
    # inference (batch norm uses its moving statistics), so padding changes
    # no output. TensorFlow relaxes its traced shapes itself.
    jax = compiles_per_shape()
    step = JAX_CHUNK if jax else PREDICT_CHUNK
    size = jax_rows(X.shape[0])
    out = []
    with predicting(model) as predict_on_batch:  # compiled once per structure
        for start in range(0, X.shape[0], step):
            chunk = X[start : start + step]
            if sp.issparse(chunk):
                chunk = chunk.toarray()
            n = chunk.shape[0]
            if jax and n < size:
                chunk = np.concatenate([chunk, np.zeros((size - n, X.shape[1]), chunk.dtype)])
            out.append(keras.ops.convert_to_numpy(predict_on_batch(chunk))[:n])
    return np.concatenate(out) if len(out) > 1 else out[0]


def compile_prediction_ahead(model, n_samples: int, validation_fraction: float | None) -> None:
    """Queue the compiles of the predictions a fit on ``n_samples`` rows will make.

    Scoring, and the validation score of each epoch when ``validation_fraction``
    is given (JAX only; elsewhere nothing is compiled ahead).
    """
    rows = {jax_rows(n_samples)}
    if validation_fraction is not None:
        rows.add(jax_rows(math.ceil(validation_fraction * n_samples)))
    for n in sorted(rows):
        compile_forward_later(model, n)
