"""``skmlp run --track``: MLflow (a real server, the local store), TensorBoard, resume."""

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

from skmlp.experiment import ConfigError, ExperimentConfig, load_config, run_experiment
from skmlp.experiment.records import RecordError
from skmlp.experiment.tracking import STATE_BYTES, check_tracking, read_state

mlflow = pytest.importorskip("mlflow", reason="the tracking extra: pip install 'skmlp[tracking]'")
pytest.importorskip("tensorboard")

TINY = dict(dataset="digits", architectures=["mlp2", "mlp2-bn-do"], cv=2, epochs=2,
            n_train=300, n_test=100)  # fmt: skip


def _client(uri):
    return mlflow.MlflowClient(tracking_uri=uri)


def _runs(client, label="digits"):
    """The parent runs and the child runs of experiment ``skmlp-<label>``."""
    experiment = client.get_experiment_by_name(f"skmlp-{label}")
    if experiment is None:
        return [], []
    runs = client.search_runs([experiment.experiment_id], max_results=1000)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return parents, children


def _sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def _check_logged(client, result, tmp_path):
    """The parent run, one child per candidate (params, scores, curves), the models."""
    parents, children = _runs(client)
    assert len(parents) == 1
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    assert parent.data.params["dataset_sha256"] == result.record["dataset"]["sha256"]
    assert parent.data.tags["skmlp.best"] == result.best_architecture
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parent.info.run_id}
    ranking = result.ranking.set_index("candidate")
    assert sorted(c.info.run_name for c in children) == sorted(ranking.index)
    cv = result.cv_results.set_index("candidate")
    for child in children:
        name = child.info.run_name
        assert child.data.params["hidden_layer_sizes"] == str(
            cv.loc[name, "param_estimator__mlp__hidden_layer_sizes"]
        )
        metrics = child.data.metrics
        assert metrics["cv_accuracy_mean"] == pytest.approx(ranking.loc[name, "cv_accuracy_mean"])
        for fold in range(TINY["cv"]):
            assert metrics[f"fold{fold}_accuracy"] == pytest.approx(
                cv.loc[name, f"split{fold}_test_accuracy"]
            )
        curve = client.get_metric_history(child.info.run_id, "epoch_loss")
        assert [m.step for m in curve] == list(range(TINY["epochs"]))
        np.testing.assert_allclose([m.value for m in curve], result.histories[name]["loss"])
        # the model artifact: the very bytes of the refit's .skmlp file
        got = client.download_artifacts(child.info.run_id, f"model/{name}.skmlp", str(tmp_path))
        assert _sha256(got) == _sha256(result.out / "models" / f"{name}.skmlp")
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"best_model.skmlp", "run.json", "results.csv", "plots"} <= artifacts
    return parent


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    out = tmp_path_factory.mktemp("tracked")
    config = ExperimentConfig(**TINY, track=["mlflow", "tensorboard"])
    return run_experiment(config, out=out, verbose=False)


@pytest.mark.slow  # seconds: keeps the fast loop under 5 minutes
def test_local_store_holds_the_search(tracked, tmp_path):
    client = _client(f"sqlite:///{tracked.out / 'mlflow.db'}")
    _check_logged(client, tracked, tmp_path)
    state = json.loads((tracked.out / "tracking.json").read_text())
    assert state["mlflow"]["logged"] and state["tensorboard"]["logged"]


@pytest.mark.slow  # seconds: keeps the fast loop under 5 minutes
def test_tensorboard_events_read_back(tracked):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    top = EventAccumulator(str(tracked.out / "tensorboard"))
    top.Reload()
    assert "_hparams_/experiment" in top.PluginTagToContent("hparams")
    ranking = tracked.ranking.set_index("candidate")
    for name in ranking.index:
        events = EventAccumulator(str(tracked.out / "tensorboard" / name))
        events.Reload()
        assert "_hparams_/session_start_info" in events.PluginTagToContent("hparams")
        (mean,) = events.Scalars("cv/cv_accuracy_mean")
        assert mean.value == pytest.approx(ranking.loc[name, "cv_accuracy_mean"])
        curve = events.Scalars("refit/epoch_val_loss")
        assert [e.step for e in curve] == list(range(TINY["epochs"]))
        np.testing.assert_allclose([e.value for e in curve],
                                   tracked.histories[name]["val_loss"], rtol=1e-6)  # fmt: skip


@pytest.mark.slow  # seconds: keeps the fast loop under 5 minutes
def test_resumed_run_continues_the_same_mlflow_run(tmp_path, monkeypatch, capsys):
    from skmlp.experiment import run as run_module

    config = ExperimentConfig(**TINY, track="mlflow")
    out = tmp_path / "out"
    refit_top = run_module._refit_top

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # killed after the search, before the refits

    monkeypatch.setattr(run_module, "_refit_top", killed)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(config, out=out, verbose=False)
    client = _client(f"sqlite:///{out / 'mlflow.db'}")
    (started,), _ = _runs(client)
    assert started.info.status == "RUNNING"
    monkeypatch.setattr(run_module, "_refit_top", refit_top)
    result = run_experiment(config, out=out, verbose=False)  # the same command again
    parent = _check_logged(client, result, tmp_path)
    assert parent.info.run_id == started.info.run_id
    # a complete run reloaded logs nothing again
    run_experiment(config, out=out)
    assert "already logged" in capsys.readouterr().out
    parents, children = _runs(client)
    assert len(parents) == 1 and len(children) == len(result.ranking)
    history = client.get_metric_history(children[0].info.run_id, "epoch_loss")
    assert len(history) == TINY["epochs"]


# ------------------------------------------------------------ a real server
def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path):
    """``mlflow server`` on 127.0.0.1: SQLite backend, artifacts in tmp_path."""
    port = _free_port()
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1",
               "--port", str(port), "--workers", "1",
               "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
               "--artifacts-destination", str(tmp_path / "server-artifacts")]  # fmt: skip
    env = os.environ | {"MLFLOW_DISABLE_TELEMETRY": "true"}
    log = open(tmp_path / "server.log", "wb")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    uri = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        if server.poll() is not None or time.time() > deadline:
            server.kill()
            server.wait()
            tail = (tmp_path / "server.log").read_text(errors="replace")[-300:]
            pytest.skip(f"mlflow server did not start on 127.0.0.1:{port}: {tail}")
        time.sleep(0.5)
    yield uri
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    log.close()


@pytest.mark.slow
def test_real_tracking_server(mlflow_server, tmp_path, monkeypatch):
    # the environment's MLFLOW_TRACKING_URI does not redirect a run's logging: only
    # --tracking-uri (here the config's tracking_uri, as the command line sets it) does
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    local = run_experiment(ExperimentConfig(**TINY, track="mlflow"), out=tmp_path / "local",
                           verbose=False)  # fmt: skip
    assert (local.out / "mlflow.db").is_file()
    assert _runs(_client(mlflow_server)) == ([], [])
    config = ExperimentConfig(**TINY, track="mlflow", tracking_uri=mlflow_server)
    result = run_experiment(config, out=tmp_path / "served", verbose=False)
    assert not (result.out / "mlflow.db").exists()
    _check_logged(_client(mlflow_server), result, tmp_path)


# ------------------------------------------------------ settings refused
@pytest.mark.parametrize(
    "track, uri, match",
    [
        ("wandb", None, "unknown tracker 'wandb'"),
        (["mlflow", 3], None, "track must be"),
        ({"mlflow": 1}, None, "track must be a string or a list"),
        ("tensorboard", "http://127.0.0.1:5000", "is for --track mlflow"),
        ("mlflow", "ftp://host/x", "scheme must be"),
        ("mlflow", "/tmp/mlruns", "scheme must be"),
        ("mlflow", "file:///tmp/mlruns", "scheme must be"),
        ("mlflow", "http://", "name a server"),
        ("mlflow", "http://host:5000/some/path", "name a server"),
        ("mlflow", "http://user:secret@host:5000", "holds a password"),
        ("mlflow", "http://host:99999", "(?i)port"),
        ("mlflow", "http://host:0", "no port 0"),
        ("mlflow", "http://host\n:5000", "control characters"),
        ("mlflow", "sqlite://", "empty database path"),
        ("mlflow", "http://h/" + "a" * 3000, "1 to 2000 characters"),
    ],
)
def test_bad_tracking_settings_are_one_line_errors(track, uri, match):
    with pytest.raises(ValueError, match=match) as info:
        check_tracking(track, uri)
    assert "\n" not in str(info.value)
    config = ExperimentConfig(**TINY, track=track, tracking_uri=uri)
    with pytest.raises(ValueError, match=match):
        config.validate()  # before any data loads


def test_a_config_file_may_not_name_the_tracking_store(tmp_path):
    path = tmp_path / "search.toml"
    path.write_text('[tracking]\ntrack = "mlflow"\n')
    assert load_config(path).track == "mlflow"
    path.write_text('[tracking]\ntrack = "mlflow"\ntracking_uri = "http://attacker:80"\n')
    with pytest.raises(ConfigError, match="not read from a config file"):
        load_config(path)
    path.write_text('[tracking]\ntrack = "comet"\n')
    with pytest.raises(ConfigError, match=r"search\.toml: unknown tracker 'comet'"):
        load_config(path)
    path.write_text('[tracking]\nlogger = "mlflow"\n')
    with pytest.raises(ConfigError, match="logger"):
        load_config(path)


def test_tracking_settings_do_not_change_the_runs_identity():
    plain = ExperimentConfig(**TINY)
    assert ExperimentConfig(**TINY, track="mlflow", tracking_uri="http://h:1").key() == plain.key()


@pytest.mark.parametrize(
    "content, match",
    [
        (b"{not json", "not JSON"),
        (json.dumps({"mlflow": {"run_id": "../../etc/passwd"}}).encode(), "mlflow.run_id"),
        (json.dumps({"mlflow": {"experiment_id": "1; DROP"}}).encode(), "mlflow.experiment_id"),
        (json.dumps({"mlflow": {"logged": "yes"}}).encode(), "mlflow.logged"),
        (json.dumps({"mlflow": {"uri": "x" * 3000}}).encode(), "mlflow.uri"),
        (json.dumps({"mlflow": {"token": "x"}}).encode(), "a table of uri"),
        (json.dumps({"wandb": {}}).encode(), "not a table of config_key"),
        (json.dumps({"tensorboard": {"logged": 1}}).encode(), "tensorboard is not"),
        (json.dumps([1, 2]).encode(), "not a table"),
        (b" " * (STATE_BYTES + 1), "larger than|more than|budget|bytes"),
    ],
)
def test_hostile_tracking_record_is_refused(tmp_path, content, match):
    (tmp_path / "tracking.json").write_bytes(content)
    with pytest.raises(RecordError, match=match) as info:
        read_state(tmp_path, "k")
    assert "\n" not in str(info.value) and "tracking.json" in str(info.value)


def test_tracking_record_through_a_link_is_refused(tmp_path):
    target = tmp_path / "elsewhere.json"
    target.write_text(json.dumps({"config_key": "k", "mlflow": {"run_id": "a" * 32}}))
    out = tmp_path / "out"
    out.mkdir()
    (out / "tracking.json").symlink_to(target)
    with pytest.raises(RecordError, match="symbolic link"):
        read_state(out, "k")
    # and from the command line: one line, before any data loads
    from skmlp.cli import main

    code = main(["run", "--track", "mlflow", "--n-train", "300", "--epochs", "1",
                 "--out", str(out), "--quiet"])  # fmt: skip
    assert code == 2
    assert not (out / "run.json").exists()


_WITHOUT_THE_EXTRA = """
import sys
sys.modules["mlflow"] = None  # installed nowhere
from skmlp.cli import main
sys.exit(main(["run", "--track", "mlflow", "--out", sys.argv[1], "--n-train", "300",
               "--epochs", "1", "--cv", "2", "--architectures", "mlp2", "--no-plots"]))
"""


@pytest.mark.slow  # seconds: keeps the fast loop under 5 minutes
def test_without_the_tracking_extra_the_error_names_the_install(tmp_path):
    out = subprocess.run([sys.executable, "-c", _WITHOUT_THE_EXTRA, str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert out.returncode == 2, out.stderr[-2000:]
    assert out.stderr.strip().splitlines()[-1] == (
        "skmlp: error: --track mlflow needs mlflow: pip install 'skmlp[tracking]' (or 'mlflow>=3')"
    )
    assert not (tmp_path / "out" / "run.json").exists()  # before any data loads


def _store(tmp_path, name):
    """A tracking object whose local store is ``tmp_path/name/mlflow.db``, and that store."""
    from types import SimpleNamespace

    from skmlp.experiment._mlflow import client

    out = tmp_path / name
    out.mkdir()
    tracking = SimpleNamespace(out=out, local=True, uri=f"sqlite:///{out / 'mlflow.db'}",
                               _client=None, log=print)  # fmt: skip
    return client(tracking), out


def _default_location(db):
    import sqlite3

    with sqlite3.connect(db) as con:
        query = "SELECT artifact_location FROM experiments WHERE experiment_id = 0"
        return con.execute(query).fetchone()[0]


def test_a_new_local_store_starts_from_the_kept_empty_database(tmp_path, monkeypatch):
    """The first store is kept, empty, as a template; the next is a copy naming its own folder."""
    from skmlp.experiment._mlflow_template import template_path

    monkeypatch.setenv("SKMLP_COMPILATION_CACHE", str(tmp_path / "cache" / "jax"))
    template = template_path()
    assert template.parent == tmp_path / "cache" / "mlflow" and not template.exists()
    first, _ = _store(tmp_path, "one")
    first.create_experiment("kept out of the template")
    assert template.is_file()  # kept before anything was logged
    second, out = _store(tmp_path, "two")
    assert [e.name for e in second.search_experiments()] == ["Default"]
    assert _default_location(out / "mlflow.db") == (out / "mlflow-artifacts" / "0").as_uri()
    run = second.create_run(second.create_experiment("x"))  # MLflow finds its schema current
    second.log_metric(run.info.run_id, "m", 1.0)
    assert second.get_run(run.info.run_id).data.metrics == {"m": 1.0}


@pytest.mark.parametrize("kind", ["link", "garbage", "not MLflow's"])
def test_a_hostile_template_is_ignored_and_replaced(tmp_path, monkeypatch, kind):
    from skmlp.experiment._mlflow_template import template_path

    monkeypatch.setenv("SKMLP_COMPILATION_CACHE", str(tmp_path / "cache" / "jax"))
    template = template_path()
    template.parent.mkdir(parents=True)
    target = tmp_path / "elsewhere.db"
    target.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    if kind == "link":
        template.symlink_to(target)
    elif kind == "garbage":
        template.write_bytes(b"#!/bin/sh\nrm -rf ~\n")
    else:  # an SQLite header, not MLflow's schema
        template.write_bytes(target.read_bytes())
    c, _ = _store(tmp_path, "run")
    assert [e.name for e in c.search_experiments()] == ["Default"]  # MLflow made the store
    assert target.read_bytes() == b"SQLite format 3\x00" + b"\x00" * 100  # never written
    if kind != "link":  # replaced by the good one MLflow just made
        assert template.read_bytes()[:16] == b"SQLite format 3\x00"
        assert template.stat().st_size > 100_000
