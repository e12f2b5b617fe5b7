"""Shared test set-up: a quiet TensorFlow and small fixed data sets."""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# JAX's compiled programs go to a folder of this test session (shared with the
# processes the tests start), never into the user's own cache
if "SKMLP_COMPILATION_CACHE" not in os.environ:
    _CACHE = tempfile.mkdtemp(prefix="skmlp-test-jax-cache-")
    os.environ["SKMLP_COMPILATION_CACHE"] = _CACHE
    atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
# Pin the backend for the whole session (``KERAS_BACKEND=jax pytest`` runs it on
# JAX), so that the ``skmlp`` command's automatic choice never switches it.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


@pytest.fixture(scope="session")
def digits_split():
    """scikit-learn's digits scaled to [0, 1], split 70/30 stratified."""
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    return train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)


@pytest.fixture(scope="session")
def small_data():
    """200 rows of 3 well-separated classes in 5 features."""
    rng = np.random.RandomState(0)
    centers = rng.normal(scale=4.0, size=(3, 5))
    y = np.repeat(np.arange(3), 70)[:200]
    X = centers[y] + rng.normal(size=(200, 5))
    return X.astype(np.float32), y


@pytest.fixture(scope="session")
def postgres_url():
    """A PostgreSQL server of this test session on 127.0.0.1 (tests/_postgres.py).

    Skips, saying why, where no server can be started (no Debian postgresql
    package, no unprivileged user to run it as, no psycopg).
    """
    import _postgres

    reason = _postgres.unavailable()
    if reason:
        pytest.skip(reason)
    with _postgres.postgres_server() as url:
        yield url


@pytest.fixture
def postgres_db(postgres_url):
    """The URL of a new, empty database of this test on the session's PostgreSQL server."""
    import _postgres

    return _postgres.new_database(postgres_url)
