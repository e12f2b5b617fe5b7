"""The training wing: how a network's epochs run, on every backend.

The estimators (:mod:`skmlp._base`) decide *what* to train; this package decides
*how*, per backend and input:

``fused``
    The fused JAX epoch: one compiled call per block of minibatches.
``engine``
    Keras' own ``Model.fit`` (TensorFlow; JAX for data the fused epoch cannot
    hold), run by a shared engine model per structure.
``sparse``
    Sparse inputs too large to make dense at once, one minibatch at a time.
``lbfgs``
    Full-batch L-BFGS over the network's Keras loss and gradients.
``reuse``
    Compile once per network structure: the caches the paths above share.
``background``
    The background compile thread (imports neither Keras nor a backend).
"""

from .._backend import use_compilation_cache

# Before the first compilation: JAX keeps compiled programs in the user's cache
# folder, so fresh processes (joblib workers) load them (skmlp._backend).
use_compilation_cache()
