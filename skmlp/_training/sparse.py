"""Sparse inputs: made dense once when small, else one minibatch at a time."""

from __future__ import annotations

import keras
import numpy as np
import scipy.sparse as sp

__all__ = ["SPARSE_DENSE_BYTES", "SparseBatches", "densify_if_small", "fit_sparse"]

#: A sparse ``X`` whose dense copy fits in this many bytes is made dense once and
#: trained like a dense array (the compiled fast paths); a larger one is made
#: dense one minibatch at a time.
SPARSE_DENSE_BYTES = 64 * 2**20


def dense_bytes(X) -> int:
    """Bytes of ``X`` made dense."""
    return int(X.shape[0]) * int(X.shape[1]) * np.dtype(X.dtype).itemsize


def densify_if_small(X, validation):
    """``X`` and the validation set made dense when ``X``'s dense copy is small enough."""
    if sp.issparse(X) and dense_bytes(X) <= SPARSE_DENSE_BYTES:
        X = X.toarray()
        if validation is not None and sp.issparse(validation[0]):
            validation = (validation[0].toarray(), *validation[1:])
    return X, validation


class SparseBatches(keras.utils.PyDataset):
    """Minibatches of a sparse matrix, each made dense only when Keras asks for it.

    The row order of every epoch is drawn from ``rng``, the fit's own generator,
    never from NumPy's global one (which any thread may draw from).
    """

    def __init__(self, X, y, sample_weight, batch_size, *, shuffle, rng):
        super().__init__()
        self.X, self.y, self.sample_weight = X, y, sample_weight
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self._rng = rng
        self._order = self._new_order()

    def _new_order(self):
        n = self.X.shape[0]
        return self._rng.permutation(n) if self.shuffle else np.arange(n)

    def __len__(self):
        return -(-self.X.shape[0] // self.batch_size)

    def __getitem__(self, index):
        rows = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        batch = (self.X[rows].toarray(), self.y[rows])
        if self.sample_weight is not None:
            batch += (self.sample_weight[rows],)
        return batch

    def on_epoch_end(self):
        self._order = self._new_order()


def fit_sparse(model, X, y, *, sample_weight, batch_size, epochs, shuffle, validation,
               callbacks, rng):  # fmt: skip
    """``model.fit`` on minibatches of the sparse ``X``, each made dense when trained."""
    data = SparseBatches(X, y, sample_weight, batch_size, shuffle=shuffle, rng=rng)
    val = None
    if validation is not None:
        val = SparseBatches(validation[0], validation[1], None, batch_size, shuffle=False, rng=rng)
    # shuffle=False: the rows are shuffled by ``rng`` above; Keras would
    # also shuffle the order of the minibatches, with Python's global
    # ``random``, unseeded for the fit
    return model.fit(
        data, epochs=epochs, validation_data=val, shuffle=False, verbose=0, callbacks=callbacks
    )
