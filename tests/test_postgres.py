"""A real PostgreSQL server (tests/_postgres.py) and Optuna studies stored in it.

The server comes from Debian's postgresql package (``.ci/run`` installs it when
it runs as root); without it these tests skip, saying why.
"""

import os
import socket

import _postgres
import pytest

sqlalchemy = pytest.importorskip("sqlalchemy")


def _setting(url, name):
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sqlalchemy.text(f"SHOW {name}")).scalar()
    finally:
        engine.dispose()


def _port_open(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_server_listens_on_loopback_only_as_unprivileged_user(postgres_url):
    assert postgres_url.startswith("postgresql+psycopg://")
    assert _setting(postgres_url, "listen_addresses") == "127.0.0.1"
    # the socket folder is the server's own, closed to others, owned by a user other than root
    folder = _setting(postgres_url, "unix_socket_directories")
    info = os.stat(folder)
    assert info.st_mode & 0o777 == 0o700
    assert info.st_uid != 0


def test_server_stopped_and_removed_after_a_failure():
    if _postgres.unavailable():
        pytest.skip(_postgres.unavailable())
    seen = {}
    with pytest.raises(RuntimeError, match="a failing test"):
        with _postgres.postgres_server() as url:
            seen["port"] = sqlalchemy.engine.make_url(url).port
            seen["folder"] = _setting(url, "unix_socket_directories")
            assert _port_open(seen["port"]) and os.path.isdir(seen["folder"])
            raise RuntimeError("a failing test")
    assert not os.path.exists(seen["folder"])
    assert not _port_open(seen["port"])


def test_optuna_rdb_storage_on_postgres(postgres_url):
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(postgres_url)
    study = optuna.create_study(
        study_name="rdb-check", storage=storage, sampler=optuna.samplers.TPESampler(seed=0)
    )
    study.optimize(lambda t: (t.suggest_float("x", -3, 3) - 1) ** 2, n_trials=5)
    # read back through a new connection: what the first wrote is in the server
    again = optuna.load_study(
        study_name="rdb-check", storage=optuna.storages.RDBStorage(postgres_url)
    )
    trials = again.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert [t.number for t in trials] == list(range(5))
    assert [t.params for t in trials] == [t.params for t in study.trials]
    assert again.best_value == min(t.value for t in study.trials)
    storage.engine.dispose()
