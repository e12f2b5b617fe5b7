"""A real PostgreSQL server (tests/_postgres.py) and Optuna studies stored in it.

The server comes from Debian's postgresql package (``.ci/run`` installs it when
it runs as root); without it these tests skip, saying why.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import _postgres
import pytest

sqlalchemy = pytest.importorskip("sqlalchemy")
REPO = Path(__file__).resolve().parents[1]
N_TRIALS = 6


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


def test_optuna_rdb_storage_on_postgres(postgres_db):
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(postgres_db)
    study = optuna.create_study(
        study_name="rdb-check", storage=storage, sampler=optuna.samplers.TPESampler(seed=0)
    )
    study.optimize(lambda t: (t.suggest_float("x", -3, 3) - 1) ** 2, n_trials=5)
    # read back through a new connection: what the first wrote is in the server
    again = optuna.load_study(
        study_name="rdb-check", storage=optuna.storages.RDBStorage(postgres_db)
    )
    trials = again.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert [t.number for t in trials] == list(range(5))
    assert [t.params for t in trials] == [t.params for t in study.trials]
    assert again.best_value == min(t.value for t in study.trials)
    storage.engine.dispose()


def _two_runs_config(folder: Path) -> Path:
    """A seeded TPE study on 300 digits, 6 trials of 3 epochs, no pruning: every trial completes."""
    path = folder / "search.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            name = "two-runs"
            [data]
            dataset = "digits"
            n_train = 300
            n_test = 100
            [estimator]
            max_iter = 3
            batch_size = 50
            [search]
            kind = "optuna"
            n_trials = {N_TRIALS}
            pruner = "none"
            validation_size = 0.3
            report_top = 1
            random_state = 0
            [search.space]
            hidden_layer_sizes = [[8], [16]]
            learning_rate_init = {{ distribution = "loguniform", low = 1e-3, high = 0.1 }}
            """
        )
    )
    return path


def _skmlp_run(config: Path, out: Path, storage: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p))  # fmt: skip
    # JAX starts and fits these small networks faster than TensorFlow: both runs use it
    env["KERAS_BACKEND"] = "jax"
    command = [sys.executable, "-m", "skmlp", "run", "--config", str(config), "--out", str(out),
               "--storage", storage, "--no-plots"]  # fmt: skip
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=out.parent,
    )


# ask() outside optimize(): Optuna warns that the heartbeat is for optimize()
@pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")
def test_processes_sharing_a_study_draw_other_candidates(postgres_db, tmp_path):
    # two processes joining one study as skmlp run joins it (a number each, claimed in the
    # database), asking in turn as two machines do: with one seed they would draw each
    # candidate twice, and a resumed process what it drew before its kill
    pytest.importorskip("optuna")
    from skmlp.experiment import load_config
    from skmlp.experiment._claims import Claims
    from skmlp.experiment.optuna_search import open_study, study_name, suggest

    config = load_config(_two_runs_config(tmp_path))

    def join(url, owner):
        process = Claims(url, study_name(config), owner, owner).process_number()
        return open_study(url, "db", config, 1, process), process

    (a, first), (b, second) = join(postgres_db, "a" * 32), join(postgres_db, "b" * 32)
    assert (first, second) == (0, 1)
    drawn = []
    for i in range(8):
        study = (a, b)[i % 2]
        trial = study.ask()
        drawn.append(json.dumps(suggest(trial, config), sort_keys=True))
        study.tell(trial, float(i))
    assert len(set(drawn)) == len(drawn), drawn
    # a folder run again (after a kill) joins with its number again: it must not draw
    # again what it drew before
    again, number = join(postgres_db, "a" * 32)
    assert number == first
    for i in range(4):
        trial = again.ask()
        drawn.append(json.dumps(suggest(trial, config), sort_keys=True))
        again.tell(trial, float(i))
    assert len(set(drawn)) == len(drawn), drawn


@pytest.mark.slow
def test_runs_share_one_study_and_report_once(postgres_db, tmp_path):
    optuna = pytest.importorskip("optuna")
    config = _two_runs_config(tmp_path)
    outs = [tmp_path / "machine-a", tmp_path / "machine-b"]
    runs = [_skmlp_run(config, out, postgres_db) for out in outs]  # both at once
    texts = [run.communicate(timeout=240)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], "\n".join(t[-1500:] for t in texts)

    # through Optuna: one study, n_trials complete trials, each drawn and fitted once; a
    # trial a process began when the other had filled the study fails before it draws
    (summary,) = optuna.get_all_study_summaries(postgres_db)
    every = optuna.load_study(study_name=summary.study_name, storage=postgres_db).trials
    trials = [t for t in every if t.state.name == "COMPLETE"]
    assert len(trials) == N_TRIALS
    assert len({t.number for t in every}) == len(every)
    for t in every:
        assert t in trials or (
            t.state.name == "FAIL" and not t.params and "folds" not in t.user_attrs
        )
    drawn = [json.dumps(t.params, sort_keys=True) for t in trials]
    assert len(set(drawn)) == N_TRIALS, f"trials drew the same parameters: {sorted(drawn)}"

    # exactly one folder holds the report; it has one fit record per trial (one validation
    # split), the study's own, and the other folder has no report and no record
    reporting = [out for out in outs if (out / "results.csv").exists()]
    assert len(reporting) == 1, [sorted(p.name for p in out.iterdir()) for out in outs]
    (reporter,) = reporting
    (other,) = [out for out in outs if out != reporter]
    report_files = ("results.csv", "results.md", "ranking.csv", "best_model.skmlp", "fits")
    assert all((reporter / name).exists() for name in report_files)
    assert not any((other / name).exists() for name in report_files)
    keys = sorted(f["key"] for t in trials for f in t.user_attrs["folds"])
    assert sorted(p.stem for p in (reporter / "fits").glob("*.json")) == keys
    assert len(set(keys)) == N_TRIALS

    # the other run's last line says who reports: the reporter's folder, or, when it
    # stopped while the reporter still ran a trial, the process that ends the study
    last = texts[outs.index(other)].strip().splitlines()[-1]
    assert last.startswith("skmlp: study ") and "ranks, refits and reports it" in last
    assert str(reporter.resolve()) in last or "the process that ends the study" in last

    # a third machine joining the finished study finds the claim taken (the two above
    # reach it together only when they finish at the same moment): it trains nothing,
    # writes no report, and names the reporter's folder
    late = tmp_path / "machine-c"
    run = _skmlp_run(config, late, postgres_db)
    text = run.communicate(timeout=120)[0]
    assert run.returncode == 0, text[-1500:]
    assert not any((late / name).exists() for name in report_files)
    assert "no new trial: the study has its 6 trials" in text
    last = text.strip().splitlines()[-1]
    assert last.startswith("skmlp: study ") and f"{reporter.resolve()} (pid " in last
    assert len(optuna.load_study(study_name=summary.study_name, storage=postgres_db).trials) == len(
        every
    )
