"""Checkpoints of the refits of ``skmlp run``: a killed refit resumes from its last epoch.

Each refit of a minibatch solver (``"adam"``, ``"sgd"``) trains with Keras'
``BackupAndRestore`` (paired with :class:`~skmlp._callbacks.EstimatorBackup`) in
``OUT/refits/<name>.backup/``, saved after the first epoch that ends at least
:data:`BACKUP_EVERY_S` seconds after the last save (so a refit shorter than that
saves nothing and costs nothing); a run killed mid-refit and run again resumes
that refit after its last saved epoch. The folder is
deleted when the fit ends, and again once the refit's record is written.

The backup is a record read back from a results folder, so it is checked before
the fit starts (:func:`resume_epoch`): only the files a backup holds, each a
regular file (no link followed) within :data:`~skmlp._callbacks.MAX_BACKUP_BYTES`,
the refit's key (``refit.json``), Keras' epoch within the fit's epochs and matched
by skmlp's own state file of that epoch (not caught between two saves), and the
weights file plain stored numbers (no links, external or compressed arrays). A
backup that fails any check, or that the fit then cannot restore, is set aside as
``<name>.backup.discarded`` with a one-line note, and the refit starts over.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import warnings
from pathlib import Path

from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from .._callbacks import MAX_BACKUP_BYTES, BackupError, check_callbacks
from .._io import _TEMP_NAME
from .._persistence._keras import plain_arrays
from .._persistence._limits import ModelFileError
from ._files import write_json
from .records import RECORD_BYTES, RecordError, read_bytes, read_record, refuse_link

#: The files of a refit's backup: Keras' two, skmlp's two slots, the refit's key.
_FILES = re.compile(
    r"latest\.weights\.h5|training_metadata\.json|skmlp_estimator_[01]\.(json|npz)|refit\.json"
)
#: Least seconds of training between two backups of a refit: saving a network
#: costs tens of milliseconds, far more than an epoch of a small one.
BACKUP_EVERY_S = 10.0
_clock = time.monotonic  # tests replace it
#: Most entries looked at in a backup folder.
MAX_FILES = 32
#: What a damaged or hostile backup makes the checks or Keras' restore raise.
_BAD_BACKUP = (RecordError, BackupError, ModelFileError, OSError, ValueError, KeyError)


def backup_folder(out: Path, name: str) -> Path:
    """Where the refit of candidate ``name`` keeps its backup."""
    return Path(out) / "refits" / f"{name}.backup"


def _entries(folder: Path) -> set:
    """The names in ``folder``, each a file a backup holds; stale temporaries removed."""
    names = set()
    with os.scandir(folder) as entries:
        for count, entry in enumerate(entries, start=1):
            path = folder / entry.name
            if count > MAX_FILES:
                raise RecordError(f"{folder}: more than {MAX_FILES} files; not a refit's backup")
            refuse_link(path)
            if not entry.is_file(follow_symlinks=False):
                raise RecordError(f"{path}: not a regular file")
            if _TEMP_NAME.fullmatch(entry.name):  # a save cut short
                path.unlink()
                continue
            if not _FILES.fullmatch(entry.name):
                raise RecordError(f"{path}: not a file of a refit's backup")
            size = entry.stat(follow_symlinks=False).st_size
            if size > MAX_BACKUP_BYTES:
                raise RecordError(f"{path}: {size:,} bytes, over the {MAX_BACKUP_BYTES:,} limit")
            names.add(entry.name)
    return names


def _epoch(path: Path, high: int) -> int:
    """The ``epoch`` of a backup's JSON record, an integer in [1, ``high``].

    (skmlp's state files hold infinities, as JSON's ``Infinity``, until a best score is seen.)
    """
    try:
        record = json.loads(read_bytes(path, RECORD_BYTES).decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise RecordError(f"{path}: not valid JSON ({str(exc)[:80]})") from None
    epoch = record.get("epoch") if isinstance(record, dict) else None
    if isinstance(epoch, bool) or not isinstance(epoch, int) or not 1 <= epoch <= high:
        raise RecordError(f"{path}: its epoch is not a number from 1 to {high}")
    return epoch


def _check(folder: Path, key: str, max_iter: int) -> int:
    """The epoch the backup in ``folder`` resumes after (0: none); ``RecordError`` if bad."""
    if not os.path.lexists(folder):
        return 0
    refuse_link(folder)
    if not folder.is_dir():
        raise RecordError(f"{folder}: not a folder")
    names = _entries(folder)
    if "training_metadata.json" not in names:  # killed before the first epoch was saved
        shutil.rmtree(folder)  # its own files only: _entries refused anything else
        return 0
    if read_record(folder / "refit.json") != {"key": key}:
        raise RecordError(f"{folder}: a backup of other settings or data (its key differs)")
    # the fit stops after max_iter epochs: a backup that far would never be resumed
    epoch = _epoch(folder / "training_metadata.json", max_iter - 1)
    # skmlp's state is saved before Keras' weights, then Keras' epoch: the newest state
    # must be of Keras' epoch, else the fit was killed between the saves
    slots = {}
    for slot in (0, 1):
        if f"skmlp_estimator_{slot}.json" in names:
            slots[slot] = _epoch(folder / f"skmlp_estimator_{slot}.json", max_iter)
    if slots.get(epoch % 2) != epoch or max(slots.values()) != epoch:
        raise RecordError(f"{folder}: the fit was killed between two saves of epoch {epoch}")
    needed = {"latest.weights.h5", f"skmlp_estimator_{epoch % 2}.npz"}
    if not needed <= names:
        raise RecordError(f"{folder}: {', '.join(sorted(needed - names))} missing")
    weights = folder / "latest.weights.h5"
    plain_arrays(read_bytes(weights, MAX_BACKUP_BYTES, "weights file"), str(weights))
    return epoch


def set_aside(folder: Path, reason: str, log) -> None:
    """Rename a backup that cannot be resumed to ``<name>.backup.discarded``, and say so."""
    aside = folder.with_name(folder.name + ".discarded")
    if aside.is_dir() and not aside.is_symlink():
        shutil.rmtree(aside)  # one set aside earlier
    elif os.path.lexists(aside):
        aside.unlink()
    os.replace(folder, aside)
    reason = str(reason).splitlines()[0][:300] if str(reason) else type(reason).__name__
    log(f"  {reason}; set aside as {aside.name}, the refit starts over")


def resume_epoch(folder: Path, key: str, max_iter: int, log) -> int:
    """Check the backup in ``folder`` (setting a bad one aside) and ready the folder.

    Returns the epoch the refit resumes after (0: from the start).
    """
    try:
        epoch = _check(folder, key, max_iter)
    except _BAD_BACKUP as exc:
        set_aside(folder, exc, log)
        epoch = 0
    if epoch == 0:
        folder.mkdir(parents=True, exist_ok=True)
        write_json(folder / "refit.json", {"key": key})
    return epoch


def _fit(model, folder: Path, X, y):
    """Fit ``model`` with its network backed up in ``folder``; its callbacks as they were."""
    import keras

    class TimedBackup(keras.callbacks.BackupAndRestore):
        """``BackupAndRestore`` saving only after epochs :data:`BACKUP_EVERY_S` apart."""

        def on_train_begin(self, logs=None):
            super().on_train_begin(logs)
            self._last_save, self._decided = _clock(), {}

        def saves_epoch(self, epoch: int) -> bool:
            """Whether this epoch is backed up (asked first by the estimator's backup)."""
            if epoch not in self._decided:
                now = _clock()
                self._decided = {epoch: now - self._last_save >= BACKUP_EVERY_S}
                if self._decided[epoch]:
                    self._last_save = now
            return self._decided[epoch]

        def on_epoch_end(self, epoch, logs=None):
            if self.saves_epoch(epoch):
                super().on_epoch_end(epoch, logs)

    mlp = model[-1]
    callbacks = mlp.callbacks
    backup = TimedBackup(str(folder))
    mlp.set_params(callbacks=[*check_callbacks(callbacks), backup])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)
    finally:
        mlp.set_params(callbacks=callbacks)
    return model


def fit_resumably(model, X, y, folder: Path, key: str, log):
    """Fit the refit pipeline ``model``, resuming from the backup in ``folder`` if any.

    A backup that the fit cannot restore is set aside, and the refit starts over.
    Solvers that cannot resume (``"lbfgs"``) fit without a backup.
    """
    mlp = model[-1]
    if mlp.solver not in ("adam", "sgd"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return model.fit(X, y)
    fresh = clone(model)
    epoch = resume_epoch(folder, key, mlp.max_iter, log)
    if epoch:
        log(f"  resuming from {folder.name}: after epoch {epoch} of {mlp.max_iter}")
    try:
        return _fit(model, folder, X, y)
    except _BAD_BACKUP as exc:
        if not epoch or not folder.is_dir():
            raise
        set_aside(folder, f"{folder}: cannot be restored ({exc})", log)
    resume_epoch(folder, key, mlp.max_iter, log)
    return _fit(fresh, folder, X, y)


def remove_backup(folder: Path) -> None:
    """Delete a refit's backup once its record is written (Keras deletes it first)."""
    if os.path.lexists(folder):
        if folder.is_symlink() or not folder.is_dir():
            folder.unlink()
        else:
            shutil.rmtree(folder)
