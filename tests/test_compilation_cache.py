"""JAX's persistent compilation cache: fresh processes load what earlier ones compiled."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from skmlp._backend import compilation_cache_dir


def test_cache_folder_is_the_users_cache_folder(tmp_path):
    home = Path.home() / ".cache" / "skmlp" / "jax"
    assert compilation_cache_dir({}) == home
    assert compilation_cache_dir({"SKMLP_COMPILATION_CACHE": "1"}) == home
    xdg = {"XDG_CACHE_HOME": str(tmp_path)}
    assert compilation_cache_dir(xdg) == tmp_path / "skmlp" / "jax"
    # a relative XDG_CACHE_HOME is invalid (XDG spec): never the current folder
    assert compilation_cache_dir({"XDG_CACHE_HOME": "rel"}) == home


@pytest.mark.parametrize("off", ["0", "off", "false", "no", ""])
def test_env_var_turns_the_cache_off(off):
    assert compilation_cache_dir({"SKMLP_COMPILATION_CACHE": off}) is None


def test_env_var_names_a_folder(tmp_path):
    env = {"SKMLP_COMPILATION_CACHE": str(tmp_path / "c")}
    assert compilation_cache_dir(env) == tmp_path / "c"


# a fit in a fresh JAX process; prints the cache folder JAX uses and the cache hits
_FIT = """
import json, warnings
import jax, numpy as np
hits = []
jax.monitoring.register_event_listener(
    lambda name, **kw: hits.append(name) if name.endswith("/cache_hits") else None)
warnings.simplefilter("ignore")
from skmlp import MLPClassifier
X = np.random.RandomState(0).rand(40, 4)
MLPClassifier(hidden_layer_sizes=(7,), max_iter=3, random_state=0).fit(X, np.arange(40) % 3)
print(json.dumps({"dir": jax.config.jax_compilation_cache_dir, "hits": len(hits)}))
"""


def _run_jax(tmp_path, cache, code, *args) -> str:
    """Run ``code`` in a fresh JAX process with ``SKMLP_COMPILATION_CACHE=cache``; its stdout."""
    env = {**os.environ, "KERAS_BACKEND": "jax", "SKMLP_COMPILATION_CACHE": str(cache),
           "XDG_CACHE_HOME": str(tmp_path / "xdg")}  # fmt: skip
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], env=env,
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)  # fmt: skip
    assert out.returncode == 0, out.stderr[-4000:]
    return out.stdout


def _fresh_fit(tmp_path, cache):
    return json.loads(_run_jax(tmp_path, cache, _FIT).strip().splitlines()[-1])


@pytest.mark.slow  # fresh processes importing Keras
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="needs JAX")
def test_second_fresh_process_loads_programs_from_the_cache(tmp_path):
    cache = tmp_path / "cache"
    first = _fresh_fit(tmp_path, str(cache))
    assert first["dir"] == str(cache)
    entries = sorted(p.name for p in cache.iterdir())
    assert entries, "the first process wrote no compiled program"
    assert cache.stat().st_mode & 0o777 == 0o700
    second = _fresh_fit(tmp_path, str(cache))
    # the training programs (at least) come from the first process' entries
    assert second["hits"] >= 3, second
    assert sorted(p.name for p in cache.iterdir()) == entries  # nothing compiled anew


@pytest.mark.slow  # a fresh process importing Keras
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="needs JAX")
def test_cache_off_writes_nothing(tmp_path):
    result = _fresh_fit(tmp_path, "0")
    assert result == {"dir": None, "hits": 0}
    assert not (tmp_path / "xdg" / "skmlp").exists()
    assert [p.name for p in tmp_path.iterdir()] in ([], ["xdg"])  # nor the current folder


# a search's fits in joblib worker processes; each scoring call notes its process
_SEARCH = """
import json, os, sys, warnings
warnings.simplefilter("ignore")
import numpy as np
from sklearn.model_selection import cross_validate
from skmlp import MLPClassifier

def scorer(est, X, y):
    import jax
    with open(sys.argv[2], "a") as f:
        f.write(json.dumps([os.getpid(), jax.config.jax_compilation_cache_dir]) + "\\n")
    return est.score(X, y)

X = np.random.RandomState(0).rand(60, 4)
y = np.arange(60) % 3
est = MLPClassifier(hidden_layer_sizes=(7,), max_iter=3, random_state=0)
cross_validate(est, X, y, cv=2, n_jobs=int(sys.argv[1]), scoring=scorer)
print(os.getpid())
"""


@pytest.mark.slow  # fresh processes and joblib workers importing Keras
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="needs JAX")
def test_joblib_workers_load_programs_from_the_cache(tmp_path):
    cache = tmp_path / "cache"

    def search(n_jobs, log):
        stdout = _run_jax(tmp_path, cache, _SEARCH, n_jobs, log)
        calls = [json.loads(line) for line in log.read_text().splitlines()]
        return int(stdout.split()[-1]), calls

    search(1, tmp_path / "first.log")  # one process compiles every program, into the cache
    entries = sorted(p.name for p in cache.iterdir())
    assert entries
    parent, calls = search(2, tmp_path / "workers.log")
    # the fits were scored in worker processes, which used the cache ...
    assert len(calls) == 2 and all(pid != parent for pid, _ in calls), (parent, calls)
    assert {folder for _, folder in calls} == {str(cache)}
    # ... and compiled nothing anew: every program came from the first process' entries
    assert sorted(p.name for p in cache.iterdir()) == entries


@pytest.mark.slow  # a fresh process importing Keras
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="needs JAX")
def test_cache_has_a_size_limit(tmp_path):
    from skmlp._backend import COMPILATION_CACHE_MAX_BYTES

    code = (
        "import jax, skmlp._training; "
        "print(jax.config.jax_compilation_cache_dir, jax.config.jax_compilation_cache_max_size)"
    )
    folder, limit = _run_jax(tmp_path, tmp_path / "c", code).split()
    # JAX trims the folder to this size only with filelock installed: a dependency
    assert (folder, int(limit)) == (str(tmp_path / "c"), COMPILATION_CACHE_MAX_BYTES)


@pytest.mark.slow  # fresh processes importing Keras
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="needs JAX")
def test_entries_written_without_the_size_limit_do_not_block_new_ones(tmp_path):
    # a cache folder filled by JAX without filelock (no size limit, no -atime stamps),
    # as every skmlp before filelock became a dependency left it
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    (cache / "jit_old-0123-cache").write_bytes(b"x" * 64)
    code = _FIT.replace(
        'warnings.simplefilter("ignore")',
        'warnings.simplefilter("ignore")\n'
        'warnings.filterwarnings("error", message=".*persistent compilation cache")',
    )
    # JAX warned "Error writing persistent compilation cache entry" at every compile: with
    # that warning an error, the process fails (_run_jax asserts it exits with 0)
    _run_jax(tmp_path, cache, code)
    written = {p.name for p in cache.iterdir() if p.name.endswith("-cache")}
    assert len(written) > 1, written  # the fit's programs were stored beside the old entry
