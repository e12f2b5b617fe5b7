"""Pure Keras builders for the multilayer perceptron.

Nothing here trains or touches data: :func:`build_mlp` turns hyperparameters into
an uncompiled :class:`keras.Model`, so the network can be inspected and tested
without fitting anything. The estimators (:mod:`skmlp._base`) compile and train
what this module builds.
"""

from __future__ import annotations

import itertools
import math
import os
import re
from collections.abc import Sequence
from numbers import Integral, Real

import keras
import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ._backend import compiles_per_shape

__all__ = [
    "ACTIVATIONS",
    "INITIALIZER_RULES",
    "NETWORK_CONSTRAINTS",
    "NETWORK_PARAMS_DOC",
    "OUTPUT_ACTIVATIONS",
    "build_mlp",
    "check_hidden_layer_sizes",
    "check_kernel_initializer",
    "check_param_budget",
    "decay_kernels_only",
    "l2_factor",
    "mlp_param_count",
    "seed_initializer",
    "set_l2",
    "sklearn_init_bound",
]

#: scikit-learn activation names and the Keras activation each maps to. Keras
#: names that scikit-learn lacks are accepted as they are.
ACTIVATIONS = {
    "identity": "linear",
    "logistic": "sigmoid",
    "tanh": "tanh",
    "relu": "relu",
    "elu": "elu",
    "selu": "selu",
    "gelu": "gelu",
    "swish": "swish",
    "leaky_relu": "leaky_relu",
}

#: The estimators' network hyperparameters: the keyword arguments of
#: :func:`build_mlp` that the estimators pass on under the same names, with
#: their scikit-learn parameter constraints. A new one is a keyword argument of
#: :func:`build_mlp`, an entry here and in :data:`NETWORK_PARAMS_DOC`, and a
#: parameter of each estimator's signature (CONTRIBUTING.md).
NETWORK_CONSTRAINTS = {
    "activation": [StrOptions(set(ACTIVATIONS))],
    "batch_norm": ["boolean"],
    "dropout": [Interval(Real, 0, 1, closed="left")],
    "kernel_initializer": [str],
    "input_dropout": [Interval(Real, 0, 1, closed="left")],
    "max_norm": [Interval(Real, 0, None, closed="neither"), None],
}

#: The estimators' documentation of the network hyperparameters (numpydoc, put
#: into their docstrings after the training parameters).
NETWORK_PARAMS_DOC = """\
activation : {"relu", "identity", "logistic", "tanh", "elu", "selu", "gelu", \
"swish", "leaky_relu"}, default="relu"
        Activation of the hidden layers: scikit-learn's four names, and some of
        Keras'.
    batch_norm : bool, default=False
        Add batch normalisation after every hidden layer (skmlp addition).
    dropout : float, default=0.0
        Dropout rate in [0, 1) after every hidden layer (skmlp addition).
    kernel_initializer : str, default="auto"
        Initial weights. ``"auto"``: scikit-learn's MLP start, in every layer
        weights and biases drawn uniformly from ``[-b, b]``, ``b = sqrt(6 /
        (fan_in + fan_out))`` (``sqrt(2 / (fan_in + fan_out))`` when
        ``activation="logistic"``). ``"seed_notebook"``: the seed notebook's
        ``RandomNormal(0, sqrt(2 / (fan_in + 1)))`` for ReLU-family hidden
        layers, Glorot uniform otherwise, zero biases (what ``skmlp run`` and the
        seed architectures' recorded results use). Or any Keras initializer name,
        such as ``"he_normal"`` or ``"glorot_uniform"`` (zero biases). Until
        this release ``"auto"`` meant ``"seed_notebook"``: a network saved
        then loads with its trained weights; only a new fit starts differently.
    input_dropout : float, default=0.0
        Dropout rate in [0, 1) on the input features, before the first hidden
        layer (skmlp addition; Srivastava et al. 2014 drop 20% of MNIST's
        pixels). Not with ``"lbfgs"``.
    max_norm : float or None, default=None
        Max-norm constraint on the hidden layers' weights (skmlp addition): after
        every update, each hidden unit's vector of incoming weights is rescaled
        to an L2 norm of at most ``max_norm`` (Keras' ``MaxNorm``; Srivastava et
        al. 2014 use 3-4 with dropout). The output layer is not constrained.
        ``None`` constrains nothing. Not with ``"lbfgs"``."""

#: Output activations of the estimators' networks (scikit-learn's ``out_activation_``
#: names) and the Keras activation of each.
OUTPUT_ACTIVATIONS = {
    "softmax": "softmax",
    "logistic": "sigmoid",
    "identity": "linear",
    "exp": "exponential",
}

#: The most parameters a network may have, whatever the memory: 2**31 float32
#: weights are 8 GiB before gradients and optimizer state.
MAX_PARAMS = 2**31

#: Bytes of memory a fit takes per parameter, measured: weights, gradients and
#: Adam's moments are 16, but the backend's copies, the best weights kept by early
#: stopping and saving the model take more. ``benchmarks/bench_fit_memory.py``
#: measured at most 74 (TensorFlow, a fit of 20 million parameters with early
#: stopping, then saved); issue 24 measured 83.
TRAIN_BYTES_PER_PARAM = 84

#: The ``kernel_initializer`` values that are not Keras initializer names:
#: scikit-learn's start and the seed notebook's.
INITIALIZER_RULES = ("auto", "seed_notebook")

# Activations whose layers get the seed notebook's He-style normal initializer
# under ``kernel_initializer="seed_notebook"``.
_RELU_FAMILY = {"relu", "elu", "selu", "gelu", "swish", "leaky_relu"}


def seed_initializer(fan_in: int, seed: int | None = None) -> keras.initializers.Initializer:
    """Return the seed notebook's initializer for a ReLU layer.

    ``RandomNormal(mean=0, stddev=sqrt(2 / (fan_in + 1)))``: He initialisation with
    the bias counted as one more input.

    Parameters
    ----------
    fan_in : int
        Number of inputs to the layer.
    seed : int or None, default=None
        Seed of the initializer; ``None`` draws from Keras' global seed state.

    Returns
    -------
    keras.initializers.RandomNormal
        The initializer.

    Examples
    --------
    >>> from skmlp._model import seed_initializer
    >>> round(seed_initializer(256).stddev, 3)
    0.088
    """
    if fan_in < 1:
        raise ValueError(f"fan_in must be >= 1, got {fan_in}.")
    return keras.initializers.RandomNormal(
        mean=0.0, stddev=math.sqrt(2.0 / (fan_in + 1)), seed=seed
    )


#: The Keras initializer classes a saved network may name: the ``"initializer"``
#: kind of the model-file schema (``skmlp._persistence._schema.CLASSES``; a test
#: keeps the two equal), so that whatever trains also saves and loads.
SAVABLE_INITIALIZERS = frozenset({
    "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity",
    "LecunNormal", "LecunUniform", "Ones", "Orthogonal", "RandomNormal", "RandomUniform",
    "TruncatedNormal", "VarianceScaling", "Zeros",
})  # fmt: skip


def check_kernel_initializer(name: str) -> None:
    """Raise ``ValueError`` unless ``name`` is a rule of :data:`INITIALIZER_RULES` or the
    name of a Keras initializer that model files accept (:data:`SAVABLE_INITIALIZERS`).

    Parameters
    ----------
    name : str
        The ``kernel_initializer`` value.
    """
    if name in INITIALIZER_RULES:
        return
    try:
        kind = type(keras.initializers.get(name)).__name__
    except (ValueError, KeyError, TypeError):  # Keras' 'constant' needs a value: KeyError
        raise ValueError(
            "kernel_initializer must be 'auto', 'seed_notebook' or a Keras initializer "
            f"name such as 'he_normal', got {name!r}."
        ) from None
    if kind not in SAVABLE_INITIALIZERS:
        raise ValueError(
            f"kernel_initializer={name!r} (Keras' {kind}) is not one a saved model may hold; "
            "use 'auto', 'seed_notebook' or one of " + ", ".join(sorted(SAVABLE_INITIALIZERS)) + "."
        )


def _named_initializer(name: str, seed: int | None):
    init = keras.initializers.get(name)
    config = init.get_config()
    if seed is not None and "seed" in config:  # a random initializer: seed it
        init = type(init).from_config({**config, "seed": seed})
    return init


def sklearn_init_bound(activation: str, fan_in: int, fan_out: int) -> float:
    """Half-width of scikit-learn's uniform start for one layer (its ``_init_coef``).

    ``sqrt(6 / (fan_in + fan_out))`` (Glorot uniform), ``sqrt(2 / (fan_in +
    fan_out))`` when the hidden activation is ``"logistic"``; the same in every
    layer, the output layer included, for the weights and the biases.

    Parameters
    ----------
    activation : str
        The network's hidden activation.
    fan_in, fan_out : int
        Inputs and outputs of the layer.

    Returns
    -------
    float

    Examples
    --------
    >>> from skmlp._model import sklearn_init_bound
    >>> round(sklearn_init_bound("relu", 4, 2), 3), round(sklearn_init_bound("logistic", 4, 2), 3)
    (1.0, 0.577)
    """
    factor = 2.0 if activation == "logistic" else 6.0
    return math.sqrt(factor / (int(fan_in) + int(fan_out)))


def _initializers(name: str, activation: str, fan_in: int, fan_out: int, seed, output=False):
    """The kernel and bias initializers of one Dense layer under ``kernel_initializer=name``."""
    if name == "auto":  # scikit-learn's start: weights and biases from U(-b, b)
        bound = sklearn_init_bound(activation, fan_in, fan_out)
        bias_seed = None if seed is None else _layer_seeds(seed, 1)[0]
        return (
            keras.initializers.RandomUniform(-bound, bound, seed=seed),
            keras.initializers.RandomUniform(-bound, bound, seed=bias_seed),
        )
    if name == "seed_notebook":
        if not output and activation in _RELU_FAMILY:
            return seed_initializer(fan_in, seed=seed), "zeros"
        return keras.initializers.GlorotUniform(seed=seed), "zeros"
    return _named_initializer(name, seed), "zeros"


def _truncated_normal(rng, shape, stddev) -> np.ndarray:
    """Normal draws redrawn until within two standard deviations, as Keras does."""
    out = rng.normal(0.0, 1.0, shape)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = rng.normal(0.0, 1.0, int(bad.sum()))
        bad = np.abs(out) > 2.0
    return out * stddev


def host_draw(init, shape) -> np.ndarray | None:
    """Draw ``init``'s initial values with NumPy, or ``None`` if it is not supported.

    Keras draws initial weights with the backend's random functions; on JAX each
    new weight shape compiles its own random program. The seeded random
    initializers of Keras are drawn here instead, with
    ``numpy.random.default_rng(seed)`` and the same distribution, so building
    costs no compilation (used on JAX only; other backends draw without
    compiling). (An unseeded Keras initializer holds a
    seed drawn from Python's ``random`` when it is made.) Other initializers
    return ``None`` and are left to Keras.
    """
    seed = getattr(init, "seed", None)
    if not isinstance(seed, int | np.integer):
        return None
    rng = np.random.default_rng(int(seed))
    kind = type(init)
    if kind is keras.initializers.RandomNormal:
        return rng.normal(init.mean, init.stddev, shape)
    if kind is keras.initializers.RandomUniform:
        return rng.uniform(init.minval, init.maxval, shape)
    if kind is keras.initializers.TruncatedNormal:
        return init.mean + _truncated_normal(rng, shape, init.stddev)
    if isinstance(init, keras.initializers.VarianceScaling) and len(shape) == 2:
        fan_in, fan_out = shape
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[init.mode]
        scale = init.scale / max(1.0, n)
        if init.distribution == "truncated_normal":
            # Keras' constant: the standard deviation of a unit normal truncated at +-2
            return _truncated_normal(rng, shape, math.sqrt(scale) / 0.87962566103423978)
        if init.distribution == "untruncated_normal":
            return rng.normal(0.0, math.sqrt(scale), shape)
        if init.distribution == "uniform":
            limit = math.sqrt(3.0 * scale)
            return rng.uniform(-limit, limit, shape)
    return None


class _HostInitializer:
    """Build-time stand-in for a Keras initializer: :func:`host_draw`, else Keras."""

    def __init__(self, init):
        self.init = keras.initializers.get(init)

    def __call__(self, shape, dtype=None):
        # only JAX compiles per shape; elsewhere Keras' own draws cost nothing
        values = None
        if compiles_per_shape():
            values = host_draw(self.init, tuple(int(d) for d in shape))
        if values is None:
            return self.init(shape, dtype=dtype)
        return values.astype(keras.backend.standardize_dtype(dtype or "float32"))


def _layer_seeds(seed: int | None, n: int) -> list:
    """``n`` independent seeds derived from ``seed`` (``None``s when it is ``None``)."""
    if seed is None:
        return [None] * n
    return [int(s) for s in np.random.SeedSequence(int(seed)).generate_state(n) % 2**31]


def check_hidden_layer_sizes(sizes) -> tuple:
    """``hidden_layer_sizes`` as a tuple of positive ints; raise on anything else.

    Parameters
    ----------
    sizes : int or sequence of int
        The estimator's ``hidden_layer_sizes``.

    Returns
    -------
    tuple of int
    """
    if isinstance(sizes, Integral) and not isinstance(sizes, bool):
        sizes = [sizes]
    try:
        sizes = list(sizes)
    except TypeError:
        raise TypeError(
            f"hidden_layer_sizes must be an int or a sequence of ints, got {sizes!r}."
        ) from None
    for w in sizes:
        if isinstance(w, bool) or not isinstance(w, Integral):
            raise TypeError(f"hidden_layer_sizes must contain ints, got {sizes!r}.")
    if any(w <= 0 for w in sizes):
        raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
    return tuple(int(w) for w in sizes)


def mlp_param_count(
    n_features: int, hidden_layer_sizes: Sequence[int], n_outputs: int, *, batch_norm=False
) -> int:
    """Number of parameters of the network :func:`build_mlp` would build.

    Computed from the sizes alone, so that a network too large to allocate can be
    refused before anything is built.

    Parameters
    ----------
    n_features : int
        Number of input features.
    hidden_layer_sizes : sequence of int
        Width of each hidden layer.
    n_outputs : int
        Number of output units.
    batch_norm : bool, default=False
        Count the four vectors of each hidden layer's batch normalisation.

    Returns
    -------
    int
        The parameter count, trainable or not.

    Examples
    --------
    >>> from skmlp._model import mlp_param_count
    >>> mlp_param_count(784, (256, 64), 10, batch_norm=True)
    219338
    """
    units = [int(n_features), *(int(w) for w in hidden_layer_sizes), int(n_outputs)]
    count = sum((fan_in + 1) * fan_out for fan_in, fan_out in itertools.pairwise(units))
    if batch_norm:
        count += 4 * sum(units[1:-1])
    return count


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_param_budget(n_params: int) -> None:
    """Refuse a network that cannot be trained in this machine's memory.

    The budget is :data:`MAX_PARAMS` parameters, and at most what the physical
    memory holds at :data:`TRAIN_BYTES_PER_PARAM` bytes per parameter (measured:
    weights, gradients, Adam's moments, the backend's copies, early stopping's
    best weights and saving).

    Parameters
    ----------
    n_params : int
        Number of parameters of the network (:func:`mlp_param_count`).

    Raises
    ------
    ValueError
        If the network is over the budget.
    """
    budget = MAX_PARAMS
    memory = _physical_memory()
    if memory:
        budget = min(budget, memory // TRAIN_BYTES_PER_PARAM)
    if n_params > budget:
        raise ValueError(
            f"The network would have {n_params:,} parameters, more than the {budget:,} that "
            f"fit in memory here (at most {MAX_PARAMS:,}, and {TRAIN_BYTES_PER_PARAM} bytes "
            "per parameter of physical memory for training); use smaller hidden_layer_sizes."
        )


def _check_build_args(n_features, n_classes, hidden_layer_sizes, activation, output_activation,
                      dropout, input_dropout, max_norm) -> list:  # fmt: skip
    """Check :func:`build_mlp`'s arguments; return the hidden widths as ints."""
    if int(n_features) < 1:
        raise ValueError(f"n_features must be >= 1, got {n_features}.")
    if output_activation not in OUTPUT_ACTIVATIONS:
        raise ValueError(
            f"Unknown output_activation {output_activation!r}; choose one of "
            f"{sorted(OUTPUT_ACTIVATIONS)}."
        )
    if int(n_classes) < (2 if output_activation == "softmax" else 1):
        raise ValueError(
            f"n_classes must be >= {2 if output_activation == 'softmax' else 1} for a "
            f"{output_activation} output, got {n_classes}."
        )
    if activation not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}.")
    for label, rate in (("dropout", dropout), ("input_dropout", input_dropout)):
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"{label} must be in [0, 1), got {rate}.")
    if max_norm is not None and not float(max_norm) > 0:
        raise ValueError(f"max_norm must be > 0 or None, got {max_norm}.")
    widths = [int(w) for w in hidden_layer_sizes]
    if any(w < 1 for w in widths):
        raise ValueError(f"hidden_layer_sizes must all be > 0, got {list(hidden_layer_sizes)}.")
    return widths


def build_mlp(
    n_features: int,
    n_classes: int,
    hidden_layer_sizes: Sequence[int] = (100,),
    *,
    activation: str = "relu",
    batch_norm: bool = False,
    dropout: float = 0.0,
    input_dropout: float = 0.0,
    max_norm: float | None = None,
    kernel_initializer: str = "auto",
    l2: float = 0.0,
    seed: int | None = None,
    name: str = "mlp",
    output_activation: str = "softmax",
    dtype: str = "float32",
) -> keras.Model:
    """Build an uncompiled Keras MLP network.

    The network is ``Input -> Dropout? -> [Dense(width, activation) ->
    BatchNormalization? -> Dropout?] * n_hidden -> Dense(n_classes,
    output_activation)``: batch normalisation and dropout follow every hidden
    layer, in the order the seed notebook used.

    Parameters
    ----------
    n_features : int
        Number of input features.
    n_classes : int
        Number of output units: the classes (at least 2) for a softmax output;
        any positive number for the other output activations.
    hidden_layer_sizes : sequence of int, default=(100,)
        Width of each hidden layer; empty for a multinomial logistic regression.
    activation : str, default="relu"
        A key of :data:`ACTIVATIONS` (scikit-learn or Keras name).
    batch_norm : bool, default=False
        Add a :class:`keras.layers.BatchNormalization` after each hidden layer.
    dropout : float, default=0.0
        Dropout rate in ``[0, 1)`` after each hidden layer; ``0`` adds no layer.
    input_dropout : float, default=0.0
        Dropout rate in ``[0, 1)`` on the inputs; ``0`` adds no layer.
    max_norm : float or None, default=None
        Constrain each hidden unit's incoming weight vector to an L2 norm of at
        most this (:class:`keras.constraints.MaxNorm` on the hidden kernels,
        applied by the optimizer after each update); ``None``: no constraint.
    kernel_initializer : str, default="auto"
        ``"auto"``: scikit-learn's start, weights and biases of every layer from
        ``U(-b, b)`` with ``b =`` :func:`sklearn_init_bound`. ``"seed_notebook"``:
        :func:`seed_initializer` for ReLU-family hidden layers, Glorot uniform
        otherwise (and for the output layer), zero biases. Any other value is a
        Keras initializer name such as ``"he_normal"`` (zero biases).
    l2 : float, default=0.0
        L2 penalty factor on every kernel (not on biases), as
        :class:`keras.regularizers.L2` takes it.
    seed : int or None, default=None
        Seeds every random part of the network, each layer's initializer and
        dropout with its own seed derived from this one, so that the network does
        not depend on Keras' global seed state (which other threads can advance).
        ``None`` leaves them to Keras' global state.
    name : str, default="mlp"
        Name of the model.
    output_activation : {"softmax", "logistic", "identity", "exp"}, default="softmax"
        Activation of the output layer, by scikit-learn's ``out_activation_``
        name: softmax for multiclass problems, logistic (sigmoid) units for
        binary and multilabel ones, identity or exp for regression.
    dtype : {"float32", "float64"}, default="float32"
        The dtype every layer computes and keeps its weights in.

    Returns
    -------
    keras.Model
        An uncompiled model mapping ``(batch, n_features)`` inputs to
        ``(batch, n_classes)`` outputs.

    Examples
    --------
    >>> from skmlp import build_mlp
    >>> model = build_mlp(784, 10, (256, 64), batch_norm=True, dropout=0.3)
    >>> model.count_params()
    219338
    """
    widths = _check_build_args(n_features, n_classes, hidden_layer_sizes, activation,
                               output_activation, dropout, input_dropout, max_norm)  # fmt: skip

    regularizer = keras.regularizers.L2(l2) if l2 > 0 else None
    layers = [keras.Input(shape=(int(n_features),), name="features", dtype=dtype)]
    # per hidden layer: a kernel seed and a dropout seed; then the output kernel's,
    # then the input dropout's (a prefix of the seeds is the same for any count)
    seeds = _layer_seeds(seed, 2 * len(widths) + 2)
    if input_dropout > 0:
        layers.append(
            keras.layers.Dropout(
                float(input_dropout), seed=seeds[-1], name="input_dropout", dtype=dtype
            )
        )
    units = [int(n_features), *widths, int(n_classes)]
    for i, width in enumerate(widths, start=1):
        kernel, bias = _initializers(
            kernel_initializer, activation, units[i - 1], width, seeds[2 * i - 2]
        )
        layers.append(
            keras.layers.Dense(
                width,
                activation=ACTIVATIONS[activation],
                kernel_initializer=_HostInitializer(kernel),
                bias_initializer=_HostInitializer(bias),
                kernel_regularizer=regularizer,
                kernel_constraint=None
                if max_norm is None
                else keras.constraints.MaxNorm(float(max_norm), axis=0),
                name=f"hidden_{i}",
                dtype=dtype,
            )
        )
        if batch_norm:
            layers.append(keras.layers.BatchNormalization(name=f"batch_norm_{i}", dtype=dtype))
        if dropout > 0:
            layers.append(
                keras.layers.Dropout(
                    float(dropout), seed=seeds[2 * i - 1], name=f"dropout_{i}", dtype=dtype
                )
            )
    kernel, bias = _initializers(
        kernel_initializer, activation, units[-2], units[-1], seeds[-2], output=True
    )
    layers.append(
        keras.layers.Dense(
            int(n_classes),
            activation=OUTPUT_ACTIVATIONS[output_activation],
            kernel_initializer=_HostInitializer(kernel),
            bias_initializer=_HostInitializer(bias),
            kernel_regularizer=regularizer,
            name="output",
            dtype=dtype,
        )
    )
    model = keras.Sequential(layers, name=name)  # builds: the weights are drawn here
    for layer in model.layers:
        for attr in ("kernel_initializer", "bias_initializer"):
            if isinstance(getattr(layer, attr, None), _HostInitializer):
                setattr(layer, attr, getattr(layer, attr).init)  # what its config says
    return model


def l2_factor(alpha: float, divisor: float) -> float:
    """The L2 factor of :func:`build_mlp` that gives scikit-learn's penalty.

    scikit-learn adds ``0.5 * alpha * ||W||^2`` divided by the minibatch size
    (the stochastic solvers) or by the sample count (L-BFGS) to the mean loss.

    Parameters
    ----------
    alpha : float
        The estimator's ``alpha``.
    divisor : float
        The minibatch size, or the sample count for L-BFGS.

    Returns
    -------
    float
    """
    return 0.5 * float(alpha) / max(float(divisor), 1.0)


def set_l2(model, l2: float) -> None:
    """Give every kernel of a network :func:`build_mlp` built the L2 factor ``l2``.

    The weights are kept. The model's compiled training and evaluation
    functions, which hold the old factor, are dropped (shared compiled code is
    found by the network's config, which names the factor).

    Parameters
    ----------
    model : keras.Model
        The network.
    l2 : float
        The new factor; ``0`` removes the penalty.
    """
    regularizer = keras.regularizers.L2(l2) if l2 > 0 else None
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            layer.kernel_regularizer = regularizer
            layer.kernel.regularizer = regularizer
    model.train_function = model.test_function = None


#: Variables that decoupled weight decay leaves alone: biases and batch
#: normalisation's scale and offset (matched in the variables' names).
_NO_DECAY = ("bias", "gamma", "beta")


def decay_kernels_only(optimizer) -> None:
    """Restrict an optimizer's decoupled weight decay to the kernels.

    Keras decays every trainable variable unless told otherwise, and the
    exclusions are not part of an optimizer's config: an optimizer rebuilt
    from a config (a loaded model, TensorFlow's training engine) needs them
    again. Harmless without weight decay, and on a built optimizer.

    Parameters
    ----------
    optimizer : keras.optimizers.Optimizer or None
        The optimizer to restrict.
    """
    if optimizer is None or not getattr(optimizer, "weight_decay", None):
        return
    if getattr(optimizer, "_exclude_from_weight_decay_pattern", None) is not None:
        return
    if getattr(optimizer, "built", False):
        # Keras refuses the public call once built; its cache is then rebuilt
        optimizer._exclude_from_weight_decay_pattern = re.compile("|".join(_NO_DECAY))
        optimizer._exclude_from_weight_decay_cache = {}
        return
    optimizer.exclude_from_weight_decay(var_names=list(_NO_DECAY))
