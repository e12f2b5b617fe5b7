"""Backend set-up before Keras is imported: thread limits and the command's choice."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from skmlp._backend import BACKEND_PREFERENCE, _pick_backend, choose_backend, limit_backend_threads


def test_omp_threads_size_tensorflow_pools():
    env = {"OMP_NUM_THREADS": "1"}
    assert limit_backend_threads(env) == 1
    assert env["TF_NUM_INTRAOP_THREADS"] == "1"
    assert env["TF_NUM_INTEROP_THREADS"] == "1"


def test_explicit_tensorflow_threads_win():
    env = {"OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "4"}
    limit_backend_threads(env)
    assert env["TF_NUM_INTRAOP_THREADS"] == "4"


@pytest.mark.parametrize("value", [None, "", "auto", "0", "-2"])
def test_no_or_bad_omp_value_changes_nothing(value):
    env = {} if value is None else {"OMP_NUM_THREADS": value}
    before = dict(env)
    assert limit_backend_threads(env) is None
    assert env == before


def test_joblib_workers_get_limited_tensorflow_threads():
    # what GridSearchCV(n_jobs=2) workers see: joblib's OMP_NUM_THREADS, mapped
    from joblib import Parallel, delayed

    def worker_env():
        import skmlp  # noqa: F401 (its import applies the limit)

        return os.environ.get("OMP_NUM_THREADS"), os.environ.get("TF_NUM_INTRAOP_THREADS")

    env = dict(os.environ)
    for key in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ.pop(key, None)
    try:
        results = Parallel(n_jobs=2)(delayed(worker_env)() for _ in range(2))
    finally:
        os.environ.clear()
        os.environ.update(env)
    expected = str(max(os.cpu_count() // 2, 1))
    assert results == [(expected, expected)] * 2


def test_requested_backend_wins(tmp_path):
    env = {"KERAS_BACKEND": "torch", "KERAS_HOME": str(tmp_path)}
    assert _pick_backend("tensorflow", env)[0] == "tensorflow"
    assert env["KERAS_BACKEND"] == "tensorflow"


def test_unknown_backend_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown Keras backend 'numpy'"):
        _pick_backend("numpy", {"KERAS_HOME": str(tmp_path)})


def test_user_choice_is_kept(tmp_path):
    env = {"KERAS_BACKEND": "jax", "KERAS_HOME": str(tmp_path)}
    backend, why = _pick_backend(None, env)
    assert (backend, env["KERAS_BACKEND"]) == ("jax", "jax")
    assert "KERAS_BACKEND" in why
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "jax"}))
    assert _pick_backend(None, {"KERAS_HOME": str(tmp_path)})[0] == "jax"


def test_untested_backends_are_not_offered(tmp_path):
    # PyTorch is not tested in CI, so skmlp neither offers nor accepts it
    assert "torch" not in BACKEND_PREFERENCE
    with pytest.raises(ValueError, match="unknown Keras backend 'torch'"):
        _pick_backend("torch", {"KERAS_HOME": str(tmp_path)})
    env = {"KERAS_BACKEND": "torch", "KERAS_HOME": str(tmp_path)}
    with pytest.raises(ImportError, match="skmlp runs on jax and tensorflow only"):
        _pick_backend(None, env)
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "torch"}))
    with pytest.raises(ImportError, match=r"keras\.json setting selects Keras backend 'torch'"):
        _pick_backend(None, {"KERAS_HOME": str(tmp_path)})


@pytest.mark.slow  # a subprocess importing Keras
def test_library_refuses_an_untested_backend_on_import():
    # Keras' numpy backend is installed with Keras itself (torch may not be)
    env = {**os.environ, "KERAS_BACKEND": "numpy"}
    code = "import skmlp; skmlp.MLPClassifier"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode == 1
    assert "selects Keras backend 'numpy'; skmlp runs on jax and tensorflow only" in proc.stderr


def test_fastest_installed_when_nothing_chosen(tmp_path):
    # Keras' own default keras.json ("tensorflow") is not a choice
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "tensorflow"}))
    env = {"KERAS_HOME": str(tmp_path)}
    backend, why = _pick_backend(None, env)
    fastest = "jax" if importlib.util.find_spec("jax") else "tensorflow"
    assert backend == env["KERAS_BACKEND"] == fastest
    assert "fastest installed" in why


def test_after_keras_import_the_backend_is_fixed():
    import keras

    current = keras.backend.backend()
    assert choose_backend(None, {})[0] == current
    other = "jax" if current != "jax" else "tensorflow"
    with pytest.raises(ValueError, match="already running"):
        choose_backend(other, {})


def test_command_says_which_backend(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["KERAS_HOME"] = str(tmp_path)
    code = "from skmlp._backend import choose_backend; print(*choose_backend(), sep='|')"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    backend, why = out.stdout.strip().split("|")
    assert backend == ("jax" if importlib.util.find_spec("jax") else "tensorflow")
    assert why.startswith("the fastest installed")


@pytest.mark.slow  # a subprocess importing Keras
def test_quiet_tensorflow_start_hides_only_known_lines():
    from skmlp._backend import _GPU_NODES

    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("TensorFlow is not installed")
    if any(os.path.exists(p) for p in _GPU_NODES):
        pytest.skip("a GPU machine: nothing is hidden there")
    code = (
        "import os, sys\n"
        "import skmlp._backend as b\n"
        "hidden = b.quiet_tensorflow_start()\n"
        "print(len(hidden))\n"
        "os.write(2, b'a real error after start-up\\n')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr
    if int(out.stdout.split()[-1]) == 0:
        pytest.skip("this TensorFlow prints no start-up lines here")
    assert "cuInit" not in out.stderr and "cudart_stub" not in out.stderr
    assert "a real error after start-up" in out.stderr


@pytest.mark.slow  # a subprocess importing Keras
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="needs JAX")
def test_jax_fit_save_load_pickle_never_import_tensorflow(tmp_path):
    # Keras' seeding and config serialization import TensorFlow whatever the
    # backend (seconds, and CUDA lines on stderr): skmlp hides it on JAX.
    code = """
import sys
import numpy as np
import skmlp
X = np.random.RandomState(0).rand(40, 3)
y = np.arange(40) % 2
clf = skmlp.MLPClassifier(hidden_layer_sizes=(4,), batch_norm=True, max_iter=2).fit(X, y)
path = skmlp.save(clf, sys.argv[1])
again = skmlp.load(path)
assert (again.predict(X) == clf.predict(X)).all()
import copy, joblib
joblib.dump(clf, sys.argv[1] + ".joblib")
assert (joblib.load(sys.argv[1] + ".joblib").predict(X) == clf.predict(X)).all()
copy.deepcopy(clf)
print("tensorflow" in sys.modules)
"""
    env = dict(os.environ, KERAS_BACKEND="jax")
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code, str(tmp_path / "m.skmlp")],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False"
    assert "cuda" not in out.stderr.lower()
