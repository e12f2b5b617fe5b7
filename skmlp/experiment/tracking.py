"""Tracking a run in MLflow or TensorBoard: ``skmlp run --track mlflow|tensorboard``.

:func:`check_tracking` checks the settings before any data loads;
:class:`Tracking` logs a run: :meth:`Tracking.begin` when its record is started,
:meth:`Tracking.end` once its result is complete (or a finished run is reloaded).
Everything logged is read from the finished :class:`~.reports.ExperimentResult`
and its folder, so a fresh run and a reloaded one log the same things.

MLflow (``--track mlflow``)
    One parent run per experiment (its settings as params, the dataset's SHA-256
    as a tag and param, the best model, the tables, ``run.json`` and the plots as
    artifacts) and one child run per candidate: its parameters, its per-fold and
    mean CV scores, and for a refitted candidate its test scores, the per-epoch
    curves of its refit (step metrics) and its ``.skmlp`` model. The store is
    ``sqlite:///OUT/mlflow.db`` (artifacts in ``OUT/mlflow-artifacts``) unless
    ``--tracking-uri`` names another: MLflow 3 refuses its ``mlruns`` file
    store (it is in maintenance mode), so the local default is a SQLite file.
    ``MLFLOW_TRACKING_URI`` from the environment is ignored (with a note): a run
    contacts only what its command line names. MLflow's usage telemetry is
    turned off (``MLFLOW_DISABLE_TELEMETRY``) for the same reason.
TensorBoard (``--track tensorboard``)
    Event files under ``OUT/tensorboard``: one folder per candidate holding its
    CV scores (per fold and mean), its refit's per-epoch curves and its
    hyper-parameters, and an HParams table (``tensorboard.plugins.hparams``) at
    the top. Written by tensorboard's own writer (which imports TensorFlow, one
    of skmlp's requirements, where installed: its start-up lines are hidden).

A resumed run continues the same MLflow run: ``OUT/tracking.json`` keeps its id
and what was logged, read back within :data:`STATE_BYTES`, never through a link,
every field checked. A run already logged is not logged again.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from ._mlflow import PARAM_CHARS

__all__ = ["TRACKERS", "Tracking", "check_tracking"]

#: What ``--track`` takes.
TRACKERS = ("mlflow", "tensorboard")
#: The package each tracker needs (``pip install 'skmlp[tracking]'`` has both).
_NEEDS = {"mlflow": ("mlflow", "mlflow>=3"), "tensorboard": ("tensorboard", "tensorboard>=2.16")}
#: The file of a results folder that remembers the tracking runs.
STATE_FILE = "tracking.json"
#: Largest ``tracking.json`` read back.
STATE_BYTES = 64 * 2**10
#: Longest tracking URI taken.
MAX_URI = 2000
#: Tracking stores a URI may name: a server, or a database.
URI_SCHEMES = ("http", "https", "sqlite", "postgresql", "mysql", "mssql")
_RUN_ID = re.compile(r"[0-9a-f]{32}")
_EXPERIMENT_ID = re.compile(r"[0-9]{1,20}")


class TrackingError(ValueError):
    """A tracking setting or record that is refused: one line."""


def check_tracking(track, uri=None) -> tuple:
    """The trackers ``track`` names, checked, in :data:`TRACKERS` order.

    Parameters
    ----------
    track : str, sequence of str or None
        ``"mlflow"``, ``"tensorboard"``, both (a list, or one string separated
        by commas), or ``None`` / empty: no tracking.
    uri : str or None, default=None
        An MLflow tracking URI (``http(s)://host:port`` or a database URL);
        ``None``: the output folder's own SQLite store.

    Returns
    -------
    tuple of str

    Raises
    ------
    ValueError
        An unknown tracker, a bad URI, or a URI without ``mlflow``.
    ImportError
        A tracker whose package is not installed, naming what to install.
    """
    if track is not None and not isinstance(track, (str, list, tuple)):
        raise TrackingError(f"track must be a string or a list, got {type(track).__name__}")
    names = track.split(",") if isinstance(track, str) else list(track or ())
    if len(names) > len(TRACKERS) * 2 or not all(isinstance(n, str) for n in names):
        raise TrackingError(f"track must be one or more of {', '.join(TRACKERS)}")
    names = {n.strip() for n in names if n.strip()}
    unknown = sorted(names - set(TRACKERS))
    if unknown:
        raise TrackingError(
            f"unknown tracker {unknown[0][:40]!r}; track takes {' and/or '.join(TRACKERS)}"
        )
    if uri is not None:
        if "mlflow" not in names:
            raise TrackingError("--tracking-uri is for --track mlflow")
        check_uri(uri)
    for name in (n for n in TRACKERS if n in names):
        module, requirement = _NEEDS[name]
        try:
            missing = importlib.util.find_spec(module) is None
        except (ImportError, ValueError):  # hidden, or half-installed
            missing = True
        if missing:
            raise ImportError(
                f"--track {name} needs {module}: pip install 'skmlp[tracking]' (or '{requirement}')"
            )
    return tuple(n for n in TRACKERS if n in names)


def check_uri(uri) -> str:
    """``uri`` if it names a tracking server or database; else a one-line error."""
    if not isinstance(uri, str) or not uri or len(uri) > MAX_URI:
        raise TrackingError(f"--tracking-uri must be a URI of 1 to {MAX_URI} characters")
    if any(c.isspace() or not c.isprintable() for c in uri):
        raise TrackingError("--tracking-uri holds spaces or control characters")
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError as exc:
        raise TrackingError(f"--tracking-uri {uri[:80]!r}: {exc}") from None
    scheme = parts.scheme.split("+")[0]  # postgresql+psycopg2://
    if scheme not in URI_SCHEMES:
        raise TrackingError(
            f"--tracking-uri {uri[:80]!r}: the scheme must be one of {', '.join(URI_SCHEMES)} "
            "(MLflow 3 no longer takes a folder: use sqlite:///PATH/mlflow.db)"
        )
    if scheme in ("http", "https") and (not parts.hostname or parts.path not in ("", "/")):
        raise TrackingError(f"--tracking-uri {uri[:80]!r}: name a server, http(s)://HOST:PORT")
    if parts.password is not None:
        raise TrackingError(
            "--tracking-uri holds a password, which run.json would record: set "
            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD instead"
        )
    if port == 0 or (scheme == "sqlite" and not parts.path.strip("/")):
        raise TrackingError(f"--tracking-uri {uri[:80]!r}: no port 0, no empty database path")
    return uri


# -------------------------------------------------------------- the state
def read_state(out: Path, key: str) -> dict:
    """``OUT/tracking.json``, checked; ``{}`` when absent or kept for other settings."""
    from .records import RecordError, read_bytes

    path = out / STATE_FILE
    if not os.path.lexists(path):
        return {}
    blob = read_bytes(path, STATE_BYTES, "tracking record")  # no link, within the budget
    try:
        state = json.loads(blob)
    except (ValueError, RecursionError):
        raise RecordError(f"{path}: not JSON; not skmlp's tracking record") from None
    problem = _state_problem(state)
    if problem:
        raise RecordError(f"{path}: {problem}; not skmlp's tracking record (delete it)")
    return state if state.get("config_key") == key else {}


def _state_problem(state) -> str | None:
    if not isinstance(state, dict) or set(state) - {"config_key", *TRACKERS}:
        return "not a table of config_key, mlflow and tensorboard"
    if not isinstance(state.get("config_key", ""), str) or len(state.get("config_key", "")) > 64:
        return "config_key is not a run's key"
    tb, ml = state.get("tensorboard", {}), state.get("mlflow", {})
    if (
        not isinstance(tb, dict)
        or set(tb) - {"logged"}
        or not isinstance(tb.get("logged", False), bool)
    ):
        return "tensorboard is not a table of logged (true or false)"
    if not isinstance(ml, dict) or set(ml) - {"uri", "experiment_id", "run_id", "logged"}:
        return "mlflow is not a table of uri, experiment_id, run_id and logged"
    checks = {
        "uri": lambda v: isinstance(v, str) and 0 < len(v) <= MAX_URI,
        "experiment_id": lambda v: isinstance(v, str) and _EXPERIMENT_ID.fullmatch(v),
        "run_id": lambda v: isinstance(v, str) and _RUN_ID.fullmatch(v),
        "logged": lambda v: isinstance(v, bool),
    }
    bad = [k for k, v in ml.items() if not checks[k](v)]
    return f"mlflow.{bad[0]} is not what skmlp writes there" if bad else None


# ---------------------------------------------------------- the tracking
class Tracking:
    """The trackers of one run, and what they logged (``OUT/tracking.json``).

    Parameters
    ----------
    track : tuple of str
        From :func:`check_tracking`; empty: every method does nothing.
    uri : str or None
        The MLflow tracking URI; ``None``: ``sqlite:///OUT/mlflow.db``.
    out : pathlib.Path
        The (locked) output folder.
    key : str
        The run's config key.
    log : callable
        Prints a progress line.
    label : str, default="run"
        The run's name: the MLflow experiment is ``skmlp-<label>``.
    """

    def __init__(self, track, uri, out: Path, key: str, log, label: str = "run"):
        self.track, self.out, self.key, self.log = tuple(track), out, key, log
        self.label = label
        self.local = uri is None
        self.uri = uri or f"sqlite:///{(out / 'mlflow.db').resolve()}"
        self.state = read_state(out, key) if self.track else {}
        self._client = None
        self._starting = self._failed = self._started = None

    def _save(self) -> None:
        from ._files import write_json

        write_json(self.out / STATE_FILE, {"config_key": self.key, **self.state})

    def begin(self, record: dict) -> None:
        """Start (or continue) the MLflow run of a run whose ``run.json`` is ``record``.

        The local store is opened on a background thread, while the search runs
        (importing MLflow and creating its database take seconds); a store that
        ``--tracking-uri`` names is contacted at once, so that an unreachable
        server is reported before the search.
        """
        if "mlflow" not in self.track:
            return
        if self.local:
            self._starting = threading.Thread(target=self._start, args=(record,), daemon=True,
                                              name="skmlp-mlflow-start")  # fmt: skip
            self._starting.start()
        else:
            self._start(record)
            self._wait()

    def _start(self, record: dict) -> None:
        from ._mlflow import start_parent

        try:
            started, cpu = time.perf_counter(), time.thread_time()
            self.state["mlflow"] = start_parent(self, record, self.label)
            self._save()
            self._started = (f"MLflow: started in {time.perf_counter() - started:.1f}s "
                             f"({time.thread_time() - cpu:.2f}s CPU)")  # fmt: skip
        except BaseException as exc:  # raised where the run waits for it
            self._failed = exc

    def _wait(self) -> None:
        """Wait for :meth:`begin`'s thread; raise what it raised."""
        waited = time.perf_counter()
        if self._starting is not None:
            self._starting.join()
            self._starting = None
        if self._failed is not None:
            failed, self._failed = self._failed, None
            raise failed
        if self._started:
            self.log(f"{self._started} (waited {time.perf_counter() - waited:.1f}s for it)")
            self._started = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        """Wait for :meth:`begin`'s thread (an interrupted run's MLflow run is then saved)."""
        if self._starting is not None:
            self._starting.join(timeout=120)
            self._starting = None

    def end(self, result) -> None:
        """Log a complete run's ``result``, unless it was logged already."""
        self._wait()
        ml = self.state.get("mlflow", {})
        ml_done = ml.get("logged") and ml.get("uri") == self.uri
        tb_done = self.state.get("tensorboard", {}).get("logged")
        todo = ("mlflow" in self.track and not ml_done) or (
            "tensorboard" in self.track and not tb_done
        )
        rows = candidates(result) if todo else []  # once, for both trackers
        if "mlflow" in self.track:
            if ml_done:
                self.log(f"MLflow: already logged as run {ml['run_id']}")
            else:
                from ._mlflow import log_result, start_parent

                if not ml.get("run_id") or ml.get("uri") != self.uri:
                    self.state["mlflow"] = start_parent(self, result.record, self.label)
                    self._save()
                started, cpu = time.perf_counter(), time.thread_time()
                best = result.results.set_index("architecture").loc[result.best_architecture]
                log_result(self, result, rows, refit_metrics(best.to_dict()))
                self.state["mlflow"]["logged"] = True
                self._save()
                self.log(f"MLflow: logged run {self.state['mlflow']['run_id']} to "
                         f"{self.uri} in {time.perf_counter() - started:.1f}s "
                         f"({time.thread_time() - cpu:.2f}s CPU)")  # fmt: skip
        if "tensorboard" in self.track:
            if tb_done:
                self.log(f"TensorBoard: already written to {self.out / 'tensorboard'}")
                return
            write_tensorboard(self.out, rows)
            self.state["tensorboard"] = {"logged": True}
            self._save()
            self.log(f"TensorBoard: wrote {self.out / 'tensorboard'} "
                     f"(tensorboard --logdir {self.out / 'tensorboard'})")  # fmt: skip


def open_tracking(ctx) -> Tracking:
    """The :class:`Tracking` of a run (its :class:`~.run.RunContext`), its record read back."""
    config = ctx.config
    track = check_tracking(config.track, config.tracking_uri)
    return Tracking(track, config.tracking_uri, ctx.out, config.key(), ctx.log, config.label)


# ------------------------------------------------------ what is logged
def candidates(result) -> list[dict]:
    """One entry per candidate: name, params, metrics, fold scores, refit (or ``None``)."""
    import pandas as pd

    from .records import plain_name

    ranking = result.ranking if result.ranking is not None else result.results
    name_col = "candidate" if "candidate" in ranking.columns else "architecture"
    refits = {r["architecture"]: r for r in result.results.to_dict("records")}
    rows = []
    for row in ranking.to_dict("records"):
        name = plain_name(str(row[name_col]), Path(result.out) / "ranking.csv")
        table = result.cv_results
        cv = table[table["candidate"].astype(str) == name] if "candidate" in table else table[:0]
        cv = cv.iloc[-1].to_dict() if len(cv) else {}  # its last round
        params = {
            k.split("__")[-1]: str(v)[:PARAM_CHARS]
            for k, v in cv.items()
            if k.startswith("param_") and not (isinstance(v, float) and pd.isna(v))
        }
        if not params and isinstance(row.get("params"), str):
            params = {"params": row["params"][:PARAM_CHARS]}
        folds = {
            f"fold{m.group(1)}_{m.group(2)}": float(v)
            for k, v in cv.items()
            if (m := re.fullmatch(r"split(\d+)_test_(\w+)", k)) and _number(v)
        }
        metrics = {k: float(v) for k, v in row.items() if k != name_col and _number(v)}
        refit = refits.get(name)
        rows.append({"name": name, "params": params, "metrics": metrics, "folds": folds,
                     "refitted": refit is not None,
                     "scores": metrics | folds | refit_metrics(refit),
                     "curves": curves(result.histories.get(name) or {})})  # fmt: skip
    return rows


def _number(value) -> bool:
    import math

    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def refit_metrics(refit: dict | None) -> dict:
    """A refitted candidate's test and train scores and times."""
    if refit is None:
        return {}
    keep = ("train_", "test_", "refit_time_s", "epochs_run")
    return {k if k.startswith(("train_", "test_", "refit_")) else f"refit_{k}": float(v)
            for k, v in refit.items() if k.startswith(keep) and _number(v)}  # fmt: skip


def curves(history: dict) -> dict:
    """A refit's per-epoch curves: ``{name: [value per epoch]}``, finite numbers only."""
    return {
        f"epoch_{k}": [float(v) if _number(v) else float("nan") for v in values]
        for k, values in history.items()
        if isinstance(values, list) and len(values) <= 100_000
    }


def write_tensorboard(out: Path, rows: list[dict]) -> None:
    """The run's candidates (:func:`candidates`) as TensorBoard event files under
    ``out/tensorboard`` (replaced whole)."""
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.plugins.hparams import summary_v2 as hp
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    from .._backend import quiet_tensorflow_start
    from .records import refuse_link

    quiet_tensorflow_start()  # tensorboard's writer imports it: without its chatter

    def write(folder, summaries):
        writer = EventFileWriter(str(folder))
        for step, summary in summaries:
            writer.add_event(event_pb2.Event(wall_time=time.time(), step=step, summary=summary))
        writer.close()

    def scalar(tag, value):
        return summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)])

    final, partial = out / "tensorboard", out / "tensorboard.partial"
    for folder in (final, partial):
        refuse_link(folder)
        if folder.exists():
            shutil.rmtree(folder)
    names, metric_tags = set(), set()
    for row in rows:
        events = [(0, hp.hparams_pb(row["params"], trial_id=row["name"]))]
        names.update(row["params"])
        values = {f"cv/{k}": v for k, v in row["metrics"].items()}
        values |= {f"cv/{k}": v for k, v in row["folds"].items()}
        values |= {f"refit/{k}": v for k, v in row["scores"].items() if k not in row["metrics"]
                   and k not in row["folds"]}  # fmt: skip
        metric_tags.update(values)
        events += [(0, scalar(tag, v)) for tag, v in values.items()]
        for tag, series in row["curves"].items():
            events += [(i, scalar(f"refit/{tag}", v)) for i, v in enumerate(series)]
        write(partial / row["name"], events)
    config = hp.hparams_config_pb(
        hparams=[hp.HParam(n) for n in sorted(names)],
        metrics=[hp.Metric(t) for t in sorted(metric_tags) if not t.startswith("cv/fold")],
    )
    write(partial, [(0, config)])
    partial.rename(final)
