"""The backend-specific tests, run again on the other Keras backend.

skmlp trains through different code on each backend (TensorFlow's compiled
engine, JAX's fused epoch), so a test of training that passes on one says little
about the other. The modules marked ``backend`` run here in a pytest subprocess on
the backend this session does not use (JAX under the default TensorFlow run,
TensorFlow under ``KERAS_BACKEND=jax pytest``); ``tests/test_lbfgs.py`` and
``tests/test_fused.py`` cross backends on their own.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest

OTHER = "jax" if keras.backend.backend() == "tensorflow" else "tensorflow"
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec(OTHER) is None, reason=f"{OTHER} is not installed")
@pytest.mark.skipif(
    os.environ.get("SKMLP_OTHER_BACKEND_RUN") == "1", reason="already the other backend's run"
)
def test_backend_specific_tests_pass_on_the_other_backend():
    env = dict(os.environ, KERAS_BACKEND=OTHER, TF_CPP_MIN_LOG_LEVEL="3",
               SKMLP_OTHER_BACKEND_RUN="1")  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "backend",
         "--deselect", "tests/test_classifier.py::test_pipeline_grid_search_stratified_parallel",
         "-o", "addopts=--strict-markers", "tests"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert " passed" in summary and " failed" not in summary, summary
