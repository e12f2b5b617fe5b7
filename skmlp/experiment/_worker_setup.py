"""What each Dask worker of ``skmlp run --dask-scheduler`` sets before a backend loads.

Imported only with Dask (it needs ``distributed``): see :mod:`.cluster`.
"""

from __future__ import annotations

from distributed.diagnostics.plugin import WorkerPlugin

from .._backend import share_gpu_memory


class GpuWorkerSetup(WorkerPlugin):
    """A Dask worker plugin: each worker shares its GPU's memory (set before the backend loads).

    It sets ``XLA_PYTHON_CLIENT_PREALLOCATE=false`` (JAX takes memory as it needs
    it, not 75% of the device at start) and ``TF_FORCE_GPU_ALLOW_GROWTH=true``
    (TensorFlow's memory growth) in the worker's environment, unless set there
    already: :func:`skmlp._backend.share_gpu_memory`. Which device a worker uses
    is the worker's start-up's choice (``CUDA_VISIBLE_DEVICES`` per worker, or
    ``dask cuda worker``).
    """

    name = "skmlp-gpu-memory"
    idempotent = True

    def setup(self, worker=None):
        """Apply the settings in the worker's process."""
        share_gpu_memory()
