"""Records read back from a results folder, each checked before it is used or reported.

A results folder may be shared, copied or edited: nothing in it is trusted as written.

* Links: no file or subfolder of a results folder is a symbolic link
  (:func:`check_results_folder`, before the data loads); files are opened with
  ``O_NOFOLLOW`` (:func:`read_bytes`), and a link is refused, never read nor
  written through.
* Budgets: a JSON record is read only up to :data:`RECORD_BYTES`, a CSV table up
  to :data:`TABLE_BYTES`, a test split up to what its number of rows needs, and a
  folder up to :data:`MAX_ENTRIES` files: each checked on the open file before
  anything is read.
* Numbers: every number of a record has a type and a range
  (:func:`fit_record_problem`, :func:`refit_record_problem`); NaN and infinity
  are not JSON and are refused.
* Damage and lies: a CV fit or refit record that breaks these rules is a damaged
  cache entry: it is set aside (renamed ``*.discarded``) and the fit runs again.
  A record that parses but does not match what can be recomputed (a refit's
  scores against its model, a test split against its seed, a finished run's
  results against its models) is refused with a one-line error naming the file.
  CV scores replayed from ``fits/`` cannot be recomputed without refitting:
  every report says how many were read back.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path

__all__ = ["RecordError"]

#: Largest JSON record read back (a fit record with its history is a few KB).
RECORD_BYTES = 16 * 2**20
#: Largest CSV table read back (results, ranking, cv_results).
TABLE_BYTES = 32 * 2**20
#: Most files looked at in one subfolder of a results folder.
MAX_ENTRIES = 100_000
#: The subfolders a run writes.
SUBFOLDERS = ("fits", "refits", "models", "plots")
#: The files a run writes in the results folder itself.
TOP_FILES = frozenset(
    (
        "run.json", "results.csv", "results.md", "ranking.csv", "cv_results.csv",
        "best_model.skmlp", "best_model.joblib", "test_split.json", ".write-test",
        "tracking.json", "mlflow.db", "mlflow-artifacts", "tensorboard", "tensorboard.partial",
    )
)  # fmt: skip
#: A name skmlp gives a candidate (and so a file): the seed's names or c01, c02, ...
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
#: Where a fit ran: ``client`` or a Dask worker's address (``tcp://host:port``).
_PLACE = re.compile(r"client|[a-z]{2,10}://[A-Za-z0-9_.:\[\]%-]{1,200}")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO must not block the open


class RecordError(ValueError):
    """A record of a results folder that is refused: one line naming the file."""


def _link_error(path) -> RecordError:
    return RecordError(
        f"{path}: a symbolic link in a results folder; skmlp neither reads nor writes "
        "through links there (remove it, or choose another --out)"
    )


def refuse_link(path) -> None:
    """Raise :class:`RecordError` if ``path`` is a symbolic link."""
    if os.path.islink(path):
        raise _link_error(path)


def check_results_folder(out: Path) -> None:
    """Refuse links and oversized subfolders in ``out``, before anything is read.

    ``out`` itself was named by the user and may be a link; what skmlp keeps
    in it may not.
    """
    folders = [out] + [out / d for d in SUBFOLDERS]
    for folder in folders:
        if folder != out:
            refuse_link(folder)
            if not folder.exists():
                continue
            if not folder.is_dir():
                raise RecordError(f"{folder}: not a folder; skmlp keeps its records there")
        with os.scandir(folder) as entries:
            for count, entry in enumerate(entries, start=1):
                if count > MAX_ENTRIES:
                    raise RecordError(
                        f"{folder}: holds more than {MAX_ENTRIES:,} files; not a folder of "
                        "skmlp's records (choose another --out)"
                    )
                # in the folder itself, the files skmlp writes (the lock has its own check)
                ours = folder != out or entry.name in TOP_FILES or entry.name in SUBFOLDERS
                if ours and entry.is_symlink():
                    raise _link_error(Path(entry.path))
                record = entry.name.endswith(".json") and entry.name != "test_split.json"
                if ours and record and entry.stat(follow_symlinks=False).st_size > RECORD_BYTES:
                    read_bytes(entry.path, RECORD_BYTES)  # its one-line refusal


def read_bytes(path, budget: int, what: str = "record") -> bytes:
    """The bytes of a regular file, opened without following a link, at most ``budget``."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK)
    except OSError as exc:
        if os.path.islink(path):
            raise _link_error(path) from None
        raise OSError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise RecordError(f"{path}: not a regular file; refusing to read it as a {what}")
        if info.st_size > budget:
            raise RecordError(
                f"{path}: {info.st_size:,} bytes, over the {budget:,}-byte limit of a {what}; "
                "not written by skmlp: delete it (or the folder) to recompute it"
            )
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(budget + 1)
        if len(data) > budget:  # grew while being read
            raise RecordError(f"{path}: over the {budget:,}-byte limit of a {what}")
        return data
    finally:
        os.close(fd)


def _no_constant(name):
    raise ValueError(f"{name} is not a number JSON allows")


def read_record(path, budget: int = RECORD_BYTES):
    """A JSON record: no link, at most ``budget`` bytes, no NaN; one-line errors."""
    data = read_bytes(path, budget)
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
        raise RecordError(
            f"{path}: not valid JSON ({reason}); the file is damaged: delete it (or the "
            "whole folder) to recompute what it held"
        ) from None


# ----------------------------------------------------------------- schemas
def _number(value, low: float, high: float, integer: bool = False) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if integer and not isinstance(value, int):
        return False
    return math.isfinite(value) and low <= value <= high


def _history_problem(history) -> str | None:
    if not isinstance(history, dict) or len(history) > 100:
        return "history is not a table of curves"
    for name, curve in history.items():
        if not isinstance(curve, list) or not all(_number(v, -1e30, 1e30) for v in curve):
            return f"history[{str(name)[:40]!r}] is not a list of finite numbers"
    return None


_FIT_FIELDS = {
    "fit_time": (0, 1e8, False),
    "n_iter": (0, 10**7, True),
    "n_train": (1, 10**10, True),
    "n_test": (1, 10**10, True),
    "n_params": (1, 10**13, True),
}


def fit_record_problem(record, key: str | None = None) -> str | None:
    """What is wrong with a CV fit record (``None``: nothing), ``key`` its expected key."""
    if not isinstance(record, dict):
        return "not a JSON object"
    if not isinstance(record.get("key"), str) or (key is not None and record["key"] != key):
        return "no key, or not the key of its file name"
    params = record.get("params")
    if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
        return "params is not a table of settings"
    problem = _scores_problem(record.get("scores"))
    if problem:
        return problem
    for name, (low, high, integer) in _FIT_FIELDS.items():
        if not _number(record.get(name), low, high, integer):
            return f"{name} is not a number in [{low}, {high:g}]"
    if "started" in record and not _number(record["started"], 0, 1e11):
        return "started is not a time"
    ran_on = record.get("ran_on", "client")
    if not isinstance(ran_on, str) or not _PLACE.fullmatch(ran_on):
        return "ran_on is not a worker's address or 'client'"
    return _history_problem(record.get("history", {}))


def _scores_problem(scores) -> str | None:
    """A fold's scores: a classifier's accuracy and log-loss, or a regressor's R², MAE and
    RMSE (each negated), and at most a few other finite scores (``[search] scoring``)."""
    if not isinstance(scores, dict) or len(scores) > 8:
        return "scores is not a table of a few scores"
    if "accuracy" in scores:
        if not (_number(scores["accuracy"], 0, 1)
                and _number(scores.get("neg_log_loss"), -1e6, 0)):  # fmt: skip
            return "scores is not an accuracy in [0, 1] and a finite log-loss"
    elif not (
        _number(scores.get("r2"), -1e12, 1)
        and _number(scores.get("neg_mean_absolute_error"), -1e300, 0)
        and _number(scores.get("neg_root_mean_squared_error"), -1e300, 0)
    ):
        return "scores is not an accuracy and log-loss, nor an R², MAE and RMSE"
    if not all(isinstance(k, str) and _number(v, -1e300, 1e300) for k, v in scores.items()):
        return "a score is not a finite number"
    return None


_REFIT_FIELDS = {
    "fit_time": (0, 1e8, False),
    "n_iter": (0, 10**7, True),
    "n_params": (1, 10**13, True),
}
#: A refit's scores: a classifier's, or a regressor's.
_REFIT_SCORES = (
    {"train_loss": (0, 1e6, False), "train_accuracy": (0, 1, False),
     "test_loss": (0, 1e6, False), "test_accuracy": (0, 1, False)},
    {"train_r2": (-1e12, 1, False), "train_mae": (0, 1e300, False),
     "train_rmse": (0, 1e300, False), "test_r2": (-1e12, 1, False),
     "test_mae": (0, 1e300, False), "test_rmse": (0, 1e300, False)},
)  # fmt: skip


def refit_record_problem(record, key: str) -> str | None:
    """What is wrong with a refit record (``None``: nothing)."""
    if not isinstance(record, dict):
        return "not a JSON object"
    if record.get("key") != key:
        return "made with other settings or data (its key differs)"
    if not isinstance(record.get("model_sha256"), str) or not _SHA256.fullmatch(
        record["model_sha256"]
    ):
        return "model_sha256 is not a SHA-256"
    fields = _REFIT_FIELDS | _REFIT_SCORES["train_r2" in record]
    for name, (low, high, integer) in fields.items():
        if not _number(record.get(name), low, high, integer):
            return f"{name} is not a number in [{low}, {high:g}]"
    return _history_problem(record.get("history", {}))


def run_record_problem(record) -> str | None:
    """What is wrong with ``run.json`` (``None``: nothing)."""
    if not isinstance(record, dict) or not isinstance(record.get("config_key"), str):
        return "not a run record (no config_key)"
    if not isinstance(record.get("complete", False), bool):
        return "complete is not true or false"
    if record.get("complete"):
        if not isinstance(record.get("best_architecture"), str) or not _PLAIN_NAME.fullmatch(
            record["best_architecture"]
        ):
            return "best_architecture is not a candidate's name"
        artefacts = record.get("artefacts", {})
        if not isinstance(artefacts, dict) or not all(
            v is None or (isinstance(v, str) and _SHA256.fullmatch(v)) for v in artefacts.values()
        ):
            return "artefacts is not a table of SHA-256 checksums"
    return None


def plain_name(name, path) -> str:
    """A candidate name read from ``path``, checked to be a plain file name."""
    if not isinstance(name, str) or not _PLAIN_NAME.fullmatch(name) or ".." in name:
        raise RecordError(f"{path}: {str(name)[:60]!r} is not a candidate name skmlp writes")
    return name


# ------------------------------------------------------- the CV fit cache
def load_fit_record(path: Path, key: str | None = None) -> dict | None:
    """A valid CV fit record at ``path``, or ``None`` (absent or damaged)."""
    if not os.path.lexists(path):
        return None
    try:
        record = read_record(path)
    except RecordError:
        return None
    return None if fit_record_problem(record, key or Path(path).stem) else record


def fit_records(store: Path, log=None) -> list[dict]:
    """The valid fit records in ``store``; damaged ones are set aside (and logged).

    Links and over-budget files are refused (:class:`RecordError`): they are
    not damage a killed run could leave.
    """
    records = []
    for path in sorted(Path(store).glob("*.json")):
        refuse_link(path)
        try:
            record = read_record(path)
            problem = fit_record_problem(record, path.stem)
        except RecordError as exc:
            if "-byte limit" in str(exc):
                raise
            problem = "not valid JSON"
        if problem is None:
            records.append(record)
            continue
        if log is not None:
            try:
                os.replace(path, path.with_name(path.name + ".discarded"))
            except OSError:
                pass
            log(f"{path}: {problem}; set aside as {path.name}.discarded, the fit runs again")
    return records


# ------------------------------------------------------- the test split
def check_split_record(path: Path, n_rows: int, source_sha: str, test_size, name: str, split):
    """The test rows recorded in ``test_split.json``, checked to be an honest split.

    The record must be of this data (``source_sha``), of the config's
    ``test_size``, and its rows exactly ``split(seed)``: the stratified split
    of the seed it records (a seed of the record's own, so that the split made
    once is kept; any seed gives a fair split, no seed gives a forged one).
    """
    record = read_record(path, budget=65536 + 24 * n_rows)
    if not isinstance(record, dict):
        raise RecordError(f"{path}: not a test-split record")
    if record.get("source_sha256") != source_sha:
        raise RecordError(
            f"{path} records a split of other data than {name}: delete it, or use another "
            "output folder"
        )
    seed, rows = record.get("random_state"), record.get("test_rows")
    if record.get("n_rows") != n_rows or record.get("test_size") != test_size:
        raise RecordError(
            f"{path}: records a split of {str(record.get('n_rows'))[:20]} rows with test_size "
            f"{str(record.get('test_size'))[:20]}; the data have {n_rows} rows and the config's "
            f"test_size is {test_size}: delete it to make the split again"
        )
    if not _number(seed, 0, 2**32 - 1, integer=True) or not isinstance(rows, list):
        raise RecordError(f"{path}: random_state or test_rows is missing or out of range")
    expected = split(seed)
    if len(rows) != len(expected) or rows != expected.tolist():
        raise RecordError(
            f"{path}: its {len(rows)} test rows are not the stratified split of random_state="
            f"{seed} ({len(expected)} rows): the file was changed; delete it to make the split "
            "again"
        )
    return expected
