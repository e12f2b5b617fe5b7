"""Keras backend set-up that must happen before Keras is imported.

Nothing here imports Keras or a backend: these functions only read and set
environment variables, which the backends read once, when they are imported.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import sys
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "MAX_SEED",
    "check_supported",
    "choose_backend",
    "compiles_per_shape",
    "keras_seed",
    "limit_backend_threads",
    "quiet_backend_deprecations",
    "quiet_tensorflow_start",
    "set_random_seed",
    "tensorflow_hidden",
    "use_compilation_cache",
]

# The Keras backends skmlp is tested on, fastest first as measured on CPUs
# (benchmarks/results/compare_*.md): JAX with skmlp's fused epoch, then TensorFlow.
# PyTorch is not offered: CI does not run the estimator tests on it.
BACKEND_PREFERENCE = ("jax", "tensorflow")


#: What :func:`share_gpu_memory` sets: JAX allocates as it needs, TensorFlow grows.
GPU_SHARING = {"XLA_PYTHON_CLIENT_PREALLOCATE": "false", "TF_FORCE_GPU_ALLOW_GROWTH": "true"}


def share_gpu_memory(environ=None) -> dict:
    """Let a process take GPU memory as it needs it, not all of it at start.

    JAX preallocates 75% of a device's memory when it starts, and TensorFlow
    all of it: on a GPU shared by several processes (Dask workers, a notebook)
    the second one then fails. This sets ``XLA_PYTHON_CLIENT_PREALLOCATE=false``
    and ``TF_FORCE_GPU_ALLOW_GROWTH=true`` unless they are set already; it acts
    only before the backend is imported.

    Parameters
    ----------
    environ : mapping, default=None
        The environment to update; ``None`` means :data:`os.environ`.

    Returns
    -------
    dict
        The settings now in ``environ``.
    """
    environ = os.environ if environ is None else environ
    for key, value in GPU_SHARING.items():
        environ.setdefault(key, value)
    return {key: environ[key] for key in GPU_SHARING}


def limit_backend_threads(environ=None) -> int | None:
    """Size TensorFlow's thread pools from ``OMP_NUM_THREADS`` when it is set.

    joblib sets ``OMP_NUM_THREADS`` (and the BLAS variables) to
    ``cpu_count // n_jobs`` in the worker processes of ``GridSearchCV(n_jobs=k)``
    so that the workers do not each start a thread per core. TensorFlow ignores
    that variable and sizes its own pools by the core count; this maps it onto
    ``TF_NUM_INTRAOP_THREADS`` and ``TF_NUM_INTEROP_THREADS``, unless they are
    set already. A user's own ``OMP_NUM_THREADS`` is honoured the same way.
    JAX (XLA) and PyTorch read ``OMP_NUM_THREADS`` themselves or manage their pools.

    Parameters
    ----------
    environ : mapping, default=None
        The environment to read and update; ``None`` means :data:`os.environ`.

    Returns
    -------
    int or None
        The thread count applied, or ``None`` when ``OMP_NUM_THREADS`` is unset
        or not a positive integer.
    """
    environ = os.environ if environ is None else environ
    try:
        n = int(environ.get("OMP_NUM_THREADS", ""))
    except ValueError:
        return None
    if n < 1:
        return None
    environ.setdefault("TF_NUM_INTRAOP_THREADS", str(n))
    environ.setdefault("TF_NUM_INTEROP_THREADS", str(n))
    return n


def _configured_backend(environ) -> str | None:
    """The backend the user chose: ``KERAS_BACKEND``, or keras.json if not the default."""
    if environ.get("KERAS_BACKEND"):
        return environ["KERAS_BACKEND"]
    home = environ.get("KERAS_HOME") or str(Path.home() / ".keras")
    try:
        chosen = json.loads((Path(home) / "keras.json").read_text()).get("backend")
    except (OSError, ValueError, AttributeError):
        return None
    # Keras writes {"backend": "tensorflow"} into keras.json by itself on first
    # import, so only another value is a choice somebody made.
    return chosen if chosen and chosen != "tensorflow" else None


def check_supported(backend: str, source: str = "the Keras backend") -> None:
    """Refuse a Keras backend skmlp is not tested on (only JAX and TensorFlow are).

    Parameters
    ----------
    backend : str
        The backend's name, as ``keras.backend.backend()`` gives it.
    source : str
        Where the choice came from, for the message.

    Raises
    ------
    ImportError
        If ``backend`` is not one of :data:`BACKEND_PREFERENCE`.
    """
    if backend not in BACKEND_PREFERENCE:
        names = " and ".join(BACKEND_PREFERENCE)
        raise ImportError(
            f"{source} selects Keras backend {backend!r}; skmlp runs on {names} only "
            f"(set KERAS_BACKEND=jax or tensorflow)"
        )


def choose_backend(requested: str | None = None, environ=None) -> tuple[str, str]:
    """Pick the Keras backend for the ``skmlp`` command, before Keras is imported.

    The order is: ``requested`` (the ``--backend`` option), then the user's own
    choice (``KERAS_BACKEND``, or a ``backend`` other than Keras' default in
    ``keras.json``), then the fastest installed backend. The choice is written to
    ``KERAS_BACKEND`` in ``environ``. Only the command line calls this: the
    library never changes a user's backend.

    Parameters
    ----------
    requested : str or None, default=None
        A backend name the user asked for explicitly.
    environ : mapping, default=None
        The environment to read and update; ``None`` means :data:`os.environ`.

    Returns
    -------
    backend : str
        The backend chosen.
    reason : str
        Why, in a few words, for the command's output.

    Raises
    ------
    ValueError
        If ``requested`` is not a known backend.
    ImportError
        If ``requested`` is not installed, or no backend is.
    """
    environ = os.environ if environ is None else environ
    if "keras" in sys.modules:  # too late to choose: Keras has fixed its backend
        import keras

        current = keras.backend.backend()
        if requested is not None and requested != current:
            raise ValueError(
                f"Keras is already running on {current}; --backend {requested} "
                "must be chosen before Keras is imported"
            )
        return current, "Keras was already imported"
    return _pick_backend(requested, environ)


def _pick_backend(requested, environ) -> tuple[str, str]:
    """:func:`choose_backend`'s rule, for a Keras that is not imported yet."""
    if requested is not None:
        if requested not in BACKEND_PREFERENCE:
            names = ", ".join(BACKEND_PREFERENCE)
            raise ValueError(f"unknown Keras backend {requested!r}; choose one of {names}")
        if importlib.util.find_spec(requested) is None:
            raise ImportError(
                f"Keras backend {requested!r} is not installed; "
                f"install it (for JAX: pip install 'skmlp[jax]')"
            )
        environ["KERAS_BACKEND"] = requested
        return requested, "chosen with --backend"
    configured = _configured_backend(environ)
    if configured:
        check_supported(configured, "your KERAS_BACKEND / keras.json setting")
        environ["KERAS_BACKEND"] = configured
        return configured, "your KERAS_BACKEND / keras.json setting"
    for name in BACKEND_PREFERENCE:
        if importlib.util.find_spec(name) is not None:
            environ["KERAS_BACKEND"] = name
            return name, "the fastest installed; choose with --backend or KERAS_BACKEND"
    raise ImportError("no Keras backend is installed: pip install tensorflow (or 'skmlp[jax]')")


# Lines TensorFlow's C++ runtime writes to stderr on every start of a machine
# without a GPU, whatever TF_CPP_MIN_LOG_LEVEL says (they come before its
# logging is set up, or from the CUDA platform probe). Only these are hidden.
_TF_START_NOISE = (
    "All log messages before absl::InitializeLog() is called",
    "cudart_stub.cc",
    "Could not find cuda drivers on your machine",
    "failed call to cuInit",
    "cpu_feature_guard.cc",
    "To enable the following instructions:",
    "oneDNN custom operations are on",
    "Unable to register cuDNN factory",
    "Unable to register cuFFT factory",
    "Unable to register cuBLAS factory",
    "computation placer already registered",
)
_GPU_NODES = ("/dev/nvidia0", "/dev/nvidiactl", "/proc/driver/nvidia", "/dev/kfd")


def quiet_tensorflow_start(stderr_fd: int = 2) -> list[str]:
    """Import TensorFlow without its CPU-only start-up chatter; return the lines hidden.

    On a machine without a GPU, TensorFlow prints CUDA and CPU-feature lines
    (``E0000 ... failed call to cuInit`` reads like an error) that
    ``TF_CPP_MIN_LOG_LEVEL`` does not stop. This imports TensorFlow and probes
    its devices with the process' stderr captured, then writes back every line
    that is not one of those known messages, so real errors still show. Where a
    GPU device node exists, nothing is captured: CUDA messages may matter there.

    Parameters
    ----------
    stderr_fd : int, default=2
        The file descriptor to capture.

    Returns
    -------
    list of str
        The lines that were hidden.
    """
    if "tensorflow" in sys.modules or any(os.path.exists(p) for p in _GPU_NODES):
        if "tensorflow" not in sys.modules:
            import tensorflow  # noqa: F401
        return []
    sys.stderr.flush()
    saved = os.dup(stderr_fd)
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), stderr_fd)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()
        finally:
            sys.stderr.flush()
            os.dup2(saved, stderr_fd)
            os.close(saved)
        capture.seek(0)
        lines = capture.read().decode(errors="replace").splitlines()
    hidden = [line for line in lines if any(n in line for n in _TF_START_NOISE)]
    kept = [line for line in lines if line not in hidden]
    if kept:
        print("\n".join(kept), file=sys.stderr, flush=True)
    return hidden


@contextmanager
def quiet_backend_deprecations():
    """Silence DeprecationWarnings raised inside Keras and its backends.

    Keras and TensorFlow call deprecated NumPy and Python APIs inside ``fit`` and
    when they save a network; under ``-W error`` those warnings would make every
    ``fit`` (and every pickle) raise although nothing in the user's code is
    deprecated. Warnings from other modules pass.
    """
    with warnings.catch_warnings():
        for module in ("keras", "tensorflow", "jax", "numpy", "optree", "absl", "h5py"):
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=module)
        yield


@contextmanager
def tensorflow_hidden():
    """Within the block, Keras finds no TensorFlow, unless it is in use already.

    Keras imports TensorFlow, when installed, to seed ``tf.random`` and to
    check for ``tf.TensorShape`` while serializing configs, whatever the
    backend: seconds and hundreds of megabytes in a JAX process. When the
    backend is not TensorFlow and TensorFlow is not imported yet, this hides it
    for the block and lets Keras look for it again afterwards.
    """
    import keras

    if keras.backend.backend() == "tensorflow" or "tensorflow" in sys.modules:
        yield
        return
    sys.modules["tensorflow"] = None  # makes ``import tensorflow`` raise ImportError
    try:
        yield
    finally:
        del sys.modules["tensorflow"]
        from keras.src.utils import module_utils

        lazy = getattr(module_utils, "tensorflow", None)
        if getattr(lazy, "_available", None) is False:
            lazy._available = None  # look again next time


def set_random_seed(seed: int, tensorflow: bool = True) -> None:
    """:func:`keras.utils.set_random_seed` inside :func:`tensorflow_hidden`.

    With ``tensorflow=False`` TensorFlow's global seed is left alone (Python's,
    NumPy's and Keras' own generators are seeded): ``tf.random.set_seed`` clears
    TensorFlow's kernel cache, which the next step pays for
    (``benchmarks/results/partial_fit_before.md``). Training that
    draws nothing from TensorFlow's global seed (its shuffles come from NumPy,
    its dropout from Keras' seed generators) uses that.
    """
    import keras

    if tensorflow:
        with tensorflow_hidden():
            keras.utils.set_random_seed(seed)
        return
    from keras.src.utils import module_utils

    lazy = module_utils.tensorflow
    saved = lazy._available
    lazy._available = False  # what keras.utils.set_random_seed asks before seeding tf
    try:
        keras.utils.set_random_seed(seed)
    finally:
        lazy._available = saved


#: Seeds are taken modulo this (np.iinfo(np.int32).max), what every backend accepts.
MAX_SEED = 2**31 - 1


@contextmanager
def keras_seed(seed: int, tensorflow: bool = True):
    """Seed Python, NumPy and the Keras backend; restore Python's and NumPy's state after.

    ``keras.utils.set_random_seed`` is the one call that seeds every backend
    (TensorFlow, JAX, PyTorch). It also reseeds the global ``random`` and
    ``numpy.random`` generators, which belong to the user: their states are put
    back when the block ends. ``tensorflow=False`` leaves TensorFlow's global
    seed alone (see :func:`set_random_seed`).
    """
    import numpy as np

    py_state = random.getstate()
    np_state = np.random.get_state()  # noqa: NPY002 (the user's global state)
    # keras.utils.set_random_seed, no TF import
    set_random_seed(int(seed) % MAX_SEED, tensorflow=tensorflow)
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)  # noqa: NPY002


def compiles_per_shape() -> bool:
    """Whether the active Keras backend compiles a program per input shape (JAX does).

    Returns
    -------
    bool
        True on JAX, where each new shape costs a compilation.
    """
    import keras

    return keras.backend.backend() == "jax"


def computes_float64() -> bool:
    """Whether the active Keras backend computes in float64 when asked to.

    TensorFlow, PyTorch and NumPy do; JAX only when its ``jax_enable_x64``
    option is on (otherwise it silently truncates float64 to float32).

    Returns
    -------
    bool
        True when a float64 Keras model really computes in float64.
    """
    import keras

    if keras.backend.backend() != "jax":
        return True
    import jax

    return bool(jax.config.read("jax_enable_x64"))


#: Largest size of skmlp's compilation cache folder where the ``filelock`` package is
#: installed (JAX needs it to drop the least recently used programs beyond it).
COMPILATION_CACHE_MAX_BYTES = 512 * 1024**2


def compilation_cache_dir(environ=None) -> Path | None:
    """The folder of JAX's persistent compilation cache that skmlp asks for, or None.

    ``SKMLP_COMPILATION_CACHE`` decides: unset (or ``1``) means the user's cache
    folder, ``$XDG_CACHE_HOME/skmlp/jax`` or ``~/.cache/skmlp/jax``; ``0`` (or
    ``off``, ``false``, ``no``, empty) turns the cache off; anything else is the
    folder to use. The current folder is never used by default.

    Parameters
    ----------
    environ : mapping, default=None
        The environment to read; ``None`` means :data:`os.environ`.

    Returns
    -------
    pathlib.Path or None
        The folder, or None when the cache is off.
    """
    environ = os.environ if environ is None else environ
    value = environ.get("SKMLP_COMPILATION_CACHE", "1").strip()
    if value.lower() in ("0", "off", "false", "no", ""):
        return None
    if value.lower() not in ("1", "on", "true", "yes"):
        return Path(value).expanduser().absolute()
    base = environ.get("XDG_CACHE_HOME") or ""
    base = Path(base).expanduser() if Path(base).expanduser().is_absolute() else None
    return (base or Path.home() / ".cache") / "skmlp" / "jax"


def use_compilation_cache(environ=None) -> str | None:
    """Let JAX keep compiled programs on disk, so a fresh process need not compile again.

    On JAX, a first fit spends most of its time compiling the training programs
    (about a second for a small network); every new process (a script run again,
    each joblib worker of a search) paid it again. This points JAX's persistent
    compilation cache at :func:`compilation_cache_dir` (created with mode 0700)
    and lets it keep programs however quickly they compiled, so a fresh process
    loads the programs an earlier one compiled for the same network and shapes.
    Nothing happens on another backend, when ``SKMLP_COMPILATION_CACHE=0``, when
    the user has set JAX's own ``jax_compilation_cache_dir`` (theirs is kept), or
    after JAX's cache was set up (JAX reads the setting at its first compilation).

    Parameters
    ----------
    environ : mapping, default=None
        The environment to read; ``None`` means :data:`os.environ`.

    Returns
    -------
    str or None
        The cache folder JAX now uses, or None when skmlp set none.
    """
    import keras

    if keras.backend.backend() != "jax":
        return None
    import jax

    folder = compilation_cache_dir(environ)
    if folder is None or jax.config.jax_compilation_cache_dir:
        return None
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return None  # a read-only home: train without the cache
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    if importlib.util.find_spec("filelock") is not None:  # JAX's size limit needs it
        _date_undated_entries(folder)
        jax.config.update("jax_compilation_cache_max_size", COMPILATION_CACHE_MAX_BYTES)
    return str(folder)


def _date_undated_entries(folder: Path) -> None:
    """Give every program in ``folder`` the last-use stamp JAX's size limit reads.

    With a size limit, JAX keeps a ``KEY-atime`` file beside each ``KEY-cache``
    entry and reads all of them before writing a new one; an entry written
    without the limit (by JAX without ``filelock``, or an older skmlp) has
    none, and then no new program can be stored (a warning at every compile).
    Such entries are stamped as the oldest, to be dropped first. Links and
    anything but plain files are left alone.
    """
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    names = {entry.name for entry in entries}
    for entry in entries:
        if not entry.name.endswith("-cache") or not entry.is_file(follow_symlinks=False):
            continue
        stamp = folder / (entry.name.removesuffix("-cache") + "-atime")
        if stamp.name not in names:
            try:
                with open(stamp, "xb") as f:  # never through a link, never over a stamp
                    f.write((0).to_bytes(8, "little"))
            except OSError:
                pass
