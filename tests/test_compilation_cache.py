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


def _fresh_fit(tmp_path, cache):
    env = {**os.environ, "KERAS_BACKEND": "jax", "SKMLP_COMPILATION_CACHE": cache,
           "XDG_CACHE_HOME": str(tmp_path / "xdg")}  # fmt: skip
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    out = subprocess.run([sys.executable, "-c", _FIT], env=env, capture_output=True,
                         text=True, timeout=300, cwd=tmp_path)  # fmt: skip
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


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
