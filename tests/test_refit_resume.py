"""A refit inside ``skmlp run`` killed with SIGKILL resumes from its last epoch.

The runs are ``skmlp run`` processes on JAX (the fused epoch, where a resumed fit
draws the same row orders and so ends with the uninterrupted fit's weights). The
killed one kills itself with ``SIGKILL`` right after the refit's backup of epoch
``KILL_AFTER`` is saved: a real kill, at a known epoch. The hostile backups are
checked without training.
"""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import skmlp
from skmlp.experiment._refit_backup import resume_epoch

HAVE_JAX = importlib.util.find_spec("jax") is not None
EPOCHS, KILL_AFTER = 40, 7
CONFIG = f"""
name = "refit-resume"
[data]
dataset = "digits"
n_train = 300
n_test = 100
[estimator]
max_iter = {EPOCHS}
batch_size = 50
[search]
kind = "grid"
validation_size = 0.25
validation_fraction = 0.2
report_top = 1
[search.space]
hidden_layer_sizes = [[8]]
dropout = [0.2]
"""
#: ``skmlp run`` that kills itself after the refit's backup of epoch KILL_AFTER.
KILLER = """
import os, runpy, signal, sys
import keras
import skmlp.experiment._refit_backup as refit_backup
refit_backup.BACKUP_EVERY_S = 0.0  # every epoch: the kill lands at a known one
save = keras.callbacks.BackupAndRestore.on_epoch_end
def on_epoch_end(self, epoch, logs=None):
    save(self, epoch, logs)
    if epoch + 1 == int(os.environ["KILL_AFTER"]):
        os.kill(os.getpid(), signal.SIGKILL)
keras.callbacks.BackupAndRestore.on_epoch_end = on_epoch_end
sys.argv[0] = "skmlp"
runpy.run_module("skmlp", run_name="__main__")
"""


def _run(config, out, *, kill=False):
    argv = ["-c", KILLER] if kill else ["-m", "skmlp"]
    argv += ["run", "--config", str(config), "--out", str(out), "--no-plots", "--backend", "jax"]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="jax", PYTHONPATH=root,
               KILL_AFTER=str(KILL_AFTER))  # fmt: skip
    return subprocess.run([sys.executable, *argv], env=env, capture_output=True, text=True,
                          timeout=600)  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A run killed mid-refit and run again, a plain run with a hostile backup planted."""
    if not HAVE_JAX:
        pytest.skip("JAX is not installed (the resumed refit equals the plain one on JAX)")
    tmp = tmp_path_factory.mktemp("refit")
    config = tmp / "search.toml"
    config.write_text(textwrap.dedent(CONFIG))
    killed = _run(config, tmp / "killed", kill=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    backups = list((tmp / "killed" / "refits").glob("*.backup"))
    assert len(backups) == 1 and not list((tmp / "killed" / "refits").glob("*.json"))
    meta = json.loads((backups[0] / "training_metadata.json").read_text())
    resumed = _run(config, tmp / "killed")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    # a hostile backup where the plain run's refit will look: a link and garbage
    planted = tmp / "plain" / "refits" / backups[0].name
    planted.mkdir(parents=True)
    (tmp / "secret.h5").write_bytes(b"not yours")
    (planted / "latest.weights.h5").symlink_to(tmp / "secret.h5")
    (planted / "training_metadata.json").write_bytes(b"\xff garbage")
    plain = _run(config, tmp / "plain")
    assert plain.returncode == 0, plain.stderr[-3000:]
    assert (tmp / "secret.h5").read_bytes() == b"not yours"
    return {"tmp": tmp, "meta": meta, "resumed": resumed.stdout, "plain": plain.stdout,
            "name": backups[0].name.removesuffix(".backup")}  # fmt: skip


def _refit(out, name):
    record = json.loads((out / "refits" / f"{name}.json").read_text())
    return record, skmlp.load(out / "models" / f"{name}.skmlp")[-1]


@pytest.mark.slow
def test_a_killed_refit_resumes_from_its_last_epoch_to_the_uninterrupted_result(runs):
    tmp, name = runs["tmp"], runs["name"]
    assert runs["meta"]["epoch"] == KILL_AFTER  # killed mid-refit, its epochs backed up
    assert f"resuming from {name}.backup: after epoch {KILL_AFTER} of {EPOCHS}" in runs["resumed"]
    assert "resuming from" not in runs["plain"]
    resumed, resumed_mlp = _refit(tmp / "killed", name)
    plain, plain_mlp = _refit(tmp / "plain", name)
    assert resumed["n_iter"] == plain["n_iter"] == EPOCHS
    assert resumed["history"].keys() == plain["history"].keys()
    for key, curve in plain["history"].items():
        assert len(resumed["history"][key]) == EPOCHS
        np.testing.assert_allclose(resumed["history"][key], curve, rtol=1e-5, err_msg=key)
    for key in ("test_accuracy", "test_loss", "train_accuracy", "train_loss"):
        np.testing.assert_allclose(resumed[key], plain[key], rtol=1e-5, err_msg=key)
    for a, b in zip(resumed_mlp.coefs_ + resumed_mlp.intercepts_,
                    plain_mlp.coefs_ + plain_mlp.intercepts_, strict=True):  # fmt: skip
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert resumed_mlp.callbacks is None  # the backup callback is not part of the model
    for out in ("killed", "plain"):  # removed once the record is written
        assert not list((tmp / out / "refits").glob("*.backup"))


@pytest.mark.slow
def test_a_hostile_backup_in_a_run_is_set_aside_and_the_refit_starts_over(runs):
    tmp, name = runs["tmp"], runs["name"]
    notes = [line for line in runs["plain"].splitlines() if "set aside" in line]
    assert len(notes) == 1 and "latest.weights.h5: a symbolic link" in notes[0]
    assert f"{name}.backup.discarded" in notes[0] and "the refit starts over" in notes[0]
    assert (tmp / "plain" / "refits" / f"{name}.backup.discarded").is_dir()


# ------------------------------------------------ hostile backups, no training
KEY = "k" * 64


@pytest.fixture
def backup(tmp_path):
    """A well-formed backup after epoch 3 of 10 (weights from a real Keras save)."""
    folder = tmp_path / "c01.backup"
    folder.mkdir()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.save_weights(str(folder / "latest.weights.h5"))
    (folder / "training_metadata.json").write_text('{"epoch": 3, "batch": 0}')
    (folder / "refit.json").write_text(json.dumps({"key": KEY}))
    (folder / "skmlp_estimator_1.json").write_text('{"epoch": 3}')
    (folder / "skmlp_estimator_0.json").write_text('{"epoch": 2}')
    (folder / "skmlp_estimator_1.npz").write_bytes(b"")
    return folder


def _external_link(path):
    import h5py

    with h5py.File(path, "w") as f:
        f["layers"] = h5py.ExternalLink("/etc/passwd", "/")


def _replace_by_link(path):
    path.unlink()
    path.symlink_to("/etc/passwd")


def _folder_a_link(folder):
    """The backup folder itself a link to a good backup elsewhere."""
    folder.rename(folder.with_name("elsewhere"))
    folder.symlink_to(folder.with_name("elsewhere"))


@pytest.mark.parametrize(
    "damage, note",
    [
        (lambda f: None, None),
        (lambda f: (f / "evil.sh").write_text("rm -rf /"), "not a file of a refit's backup"),
        (lambda f: (f / "refit.json").write_text('{"key": "other"}'), "its key differs"),
        (lambda f: (f / "training_metadata.json").write_text('{"epoch": 10}'), "from 1 to 9"),
        (lambda f: (f / "training_metadata.json").write_bytes(b"\x00" * 9), "not valid JSON"),
        (lambda f: (f / "skmlp_estimator_0.json").write_text('{"epoch": 4}'), "between two saves"),
        (lambda f: (f / "skmlp_estimator_1.npz").unlink(), "skmlp_estimator_1.npz missing"),
        (lambda f: (f / "latest.weights.h5").write_bytes(b"garbage"), "unreadable weights"),
        (lambda f: _external_link(f / "latest.weights.h5"), "holds a link"),
        (lambda f: os.truncate(f / "latest.weights.h5", 2**29), "over the 268,435,456 limit"),
        (lambda f: _replace_by_link(f / "skmlp_estimator_1.npz"), "symbolic link"),
        (lambda f: (f / "sub").mkdir(), "not a regular file"),
        (_folder_a_link, "c01.backup: a symbolic link"),
    ],
)  # fmt: skip
def test_a_damaged_or_hostile_backup_is_set_aside_with_a_note(backup, damage, note):
    damage(backup)
    notes = []
    epoch = resume_epoch(backup, KEY, 10, notes.append)
    if note is None:
        assert epoch == 3 and notes == []
        return
    assert epoch == 0 and len(notes) == 1 and note in notes[0], notes
    assert "set aside as c01.backup.discarded, the refit starts over" in notes[0]
    assert (backup.parent / "c01.backup.discarded").is_dir()
    # a fresh backup folder, holding only the refit's key
    assert sorted(p.name for p in backup.iterdir()) == ["refit.json"]


def test_a_backup_killed_before_its_first_epoch_starts_over_quietly(backup):
    (backup / "training_metadata.json").unlink()
    notes = []
    assert resume_epoch(backup, KEY, 10, notes.append) == 0 and notes == []
    assert sorted(p.name for p in backup.iterdir()) == ["refit.json"]


class _Interrupt(keras.callbacks.Callback):
    def __init__(self, at=2):
        super().__init__()
        self.at = at

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise KeyboardInterrupt


def _digits_pipe(max_iter, callbacks=None):
    from sklearn.datasets import load_digits
    from sklearn.pipeline import make_pipeline

    from skmlp import MLPClassifier

    X, y = load_digits(return_X_y=True)
    mlp = MLPClassifier((8,), max_iter=max_iter, random_state=0, callbacks=callbacks)
    return make_pipeline(mlp), X[:200] / 16, y[:200]


@pytest.mark.parametrize("every, saved", [(None, []), (0.0, [1, 2, 3, 4]), (10.0, [2, 4])])
def test_backups_are_at_least_backup_every_s_apart_and_both_halves_agree(
    tmp_path, monkeypatch, every, saved
):
    """Keras' backup and skmlp's state save the same epochs, none closer than the interval."""
    import skmlp.experiment._refit_backup as refit_backup
    from skmlp.experiment._refit_backup import fit_resumably

    if every is not None:  # else the real clock: a fit of a second saves nothing
        ticks = iter(range(6, 600, 6))  # each look at the clock: 6 s later
        monkeypatch.setattr(refit_backup, "_clock", lambda: next(ticks))
        monkeypatch.setattr(refit_backup, "BACKUP_EVERY_S", every)
    keras_saves = []
    real_save = keras.callbacks.BackupAndRestore._save_model

    def save(self):
        keras_saves.append(self._current_epoch)
        real_save(self)

    monkeypatch.setattr(keras.callbacks.BackupAndRestore, "_save_model", save)
    folder = tmp_path / "c01.backup"
    pipe, X, y = _digits_pipe(6, _Interrupt(at=4))
    with pytest.raises(KeyboardInterrupt):
        fit_resumably(pipe, X, y, folder, KEY, print)
    assert keras_saves == saved
    assert resume_epoch(folder, KEY, 6, print) == (saved[-1] if saved else 0)
    slots = {p.name: json.loads(p.read_text())["epoch"] for p in folder.glob("skmlp_*.json")}
    assert slots == {f"skmlp_estimator_{e % 2}.json": e for e in saved[-2:]}


def test_a_backup_the_fit_cannot_restore_is_set_aside_and_the_refit_starts_over(
    tmp_path, monkeypatch
):
    import skmlp.experiment._refit_backup as refit_backup

    monkeypatch.setattr(refit_backup, "BACKUP_EVERY_S", 0.0)
    from sklearn.datasets import load_digits
    from sklearn.pipeline import make_pipeline

    from skmlp import MLPClassifier
    from skmlp.experiment._refit_backup import fit_resumably

    X, y = load_digits(return_X_y=True)
    X, y = X[:200] / 16, y[:200]
    folder, notes = tmp_path / "c01.backup", []
    pipe = make_pipeline(MLPClassifier((8,), max_iter=4, random_state=0))
    interrupted = pipe.set_params(mlpclassifier__callbacks=_Interrupt())
    with pytest.raises(KeyboardInterrupt):
        fit_resumably(interrupted, X, y, folder, KEY, notes.append)
    assert resume_epoch(folder, KEY, 4, notes.append) == 2 and notes == []
    (folder / "skmlp_estimator_0.npz").write_bytes(b"PK garbage")  # passes the file checks
    model = fit_resumably(pipe.set_params(mlpclassifier__callbacks=None), X, y, folder, KEY,
                          notes.append)  # fmt: skip
    assert notes[0] == "  resuming from c01.backup: after epoch 2 of 4"
    assert "skmlp_estimator_0.npz: unreadable" in notes[1] and "starts over" in notes[1]
    assert model[-1].n_iter_ == 4 and len(model[-1].loss_curve_) == 4
    assert model[-1].callbacks is None and not folder.exists()
