"""A search's fits on a Dask cluster whose workers need not share the client's disk.

The workers may be other machines: nothing a worker computes is written to its
own disk. What travels:

* to the workers: the pickled estimators and the training data (joblib's Dask
  backend), the scores of the fits the client already holds (``done`` of
  :class:`~skmlp.experiment.search._ResumableFit`, so a resumed search
  recomputes none) and the name of the run's record queue;
* back to the client: each fit's record (scores, timings, key, history and the
  worker's address, computed in the worker) through a :class:`distributed.Queue`
  named per run and results folder, which the client drains while the search
  runs and once it ends. Only the client writes the results folder.

The queue lives on the scheduler: records of fits that ended after their client
was killed wait there for the next run of the same folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
import threading
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import joblib

from ._files import write_json
from .records import RECORD_BYTES, _no_constant, fit_record_problem, fit_records

#: How long ``--dask-scheduler`` waits for the scheduler to answer.
CONNECT_TIMEOUT = "20s"
#: Seconds between two drains of the record queue while a search runs.
_DRAIN_EVERY = 0.5


def channel_name(store) -> str:
    """The record queue of the store ``store`` of this machine: one per results folder."""
    where = f"{socket.gethostname()}:{Path(store).resolve()}"
    return "skmlp-records-" + hashlib.sha256(where.encode()).hexdigest()[:20]


def send_record(channel: str | None, record: dict) -> None:
    """In a Dask worker: send a fit's record to the client through the queue ``channel``."""
    from distributed import Queue

    if channel is None:
        raise RuntimeError(
            "a fit of skmlp's resumable search ran on a Dask worker without a way to send "
            "its record back; fit the search with make_search(...).fit or skmlp run"
        )
    # as JSON text, the very text the client writes (Dask's own encoding makes lists tuples)
    Queue(channel).put(json.dumps(record, sort_keys=True, default=str))


class ClientGone(RuntimeError):
    """A fit not started on a Dask worker: the client that asked for it is gone."""


def check_still_wanted(worker) -> None:
    """In a Dask worker: raise :class:`ClientGone` if the running task was cancelled.

    The scheduler cancels a killed or interrupted client's tasks; a task
    already running (joblib's tasks run a batch of fits) is told, and starts no
    further fit. A fit already running ends, and its record waits in the queue
    for the next run of the same folder.
    """
    try:
        task = worker.state.tasks.get(worker.get_current_task())
    except Exception:  # not in a task: nothing to cancel
        return
    if task is None or task.state == "cancelled":
        raise ClientGone("the client of this search is gone: the fit is not started")


def _dask_client():
    """The Dask client of joblib's active Dask backend, or ``None`` under another backend."""
    backend, _ = joblib.parallel.get_active_backend()
    if "DaskDistributedBackend" not in {c.__name__ for c in type(backend).__mro__}:
        return None
    return backend.client


@contextmanager
def records_from_workers(search, client=None, log=None, report=None):
    """Bring the records of ``search``'s fits on Dask workers into its store.

    Under joblib's Dask backend (or with ``client``), the search's
    :class:`~skmlp.experiment.search._ResumableFit` is told the fits already
    stored (``done``) and the run's queue (``channel``); the client writes the
    records it drains from that queue, records of an earlier, killed client
    first, and calls ``report(store, progress)`` after each drain (with the
    search's ``progress``). Elsewhere it does nothing.
    """
    client = client or _dask_client()
    if client is None:
        yield
        return
    from distributed import Queue

    wrapper = search.estimator
    store = Path(wrapper.store)
    queue = Queue(channel_name(store), client=client)
    _drain(queue, store, log)  # what fits that outlived a killed client sent
    done = {r["key"]: r["scores"] for r in fit_records(store)}
    search.set_params(estimator__done=done, estimator__channel=queue.name)
    stop = threading.Event()

    def loop():
        while not stop.wait(_DRAIN_EVERY):
            if _drain(queue, store, log) and report and wrapper.progress:
                report(store, wrapper.progress)

    thread = threading.Thread(target=loop, name="skmlp-records", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        _drain(queue, store, log)


def _parse(text) -> tuple[dict | None, str | None]:
    """A record sent by a worker, and what is wrong with it (``None``: nothing)."""
    if not isinstance(text, str) or len(text) > RECORD_BYTES:
        return None, "not a JSON text within the record budget"
    try:
        record = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return None, "not valid JSON"
    return record, fit_record_problem(record)


def _drain(queue, store: Path, log) -> int:
    """Write the records waiting in ``queue`` into ``store``; return how many."""
    try:
        records = queue.get(batch=True)
    except Exception:  # the client is closing: the next run drains what is left
        return 0
    for text in records:
        record, problem = _parse(text)
        if problem is not None:
            if log is not None:
                log(f"a record from a Dask worker was refused: {problem}")
            continue
        write_json(store / f"{record['key']}.json", record)
    return len(records)


def worker_environment() -> dict:
    """What a worker's process uses: the settings of
    :class:`~skmlp.experiment._worker_setup.GpuWorkerSetup` and its devices."""
    keys = ("XLA_PYTHON_CLIENT_PREALLOCATE", "TF_FORCE_GPU_ALLOW_GROWTH", "CUDA_VISIBLE_DEVICES")
    env = {k: os.environ.get(k) for k in keys}
    env["backend_loaded"] = any(m in sys.modules for m in ("jax", "tensorflow", "torch"))
    return env


def fit_on_dask(search, address: str, X, y, log, report=None) -> dict:
    """Run ``search``'s fits on the Dask cluster at ``address``; return the fits by place.

    Every fit goes to the cluster, even one of a single thread (joblib would run
    ``n_jobs=1`` in this process). On an interrupt (or when this process is
    killed) the scheduler cancels the queued fits and the workers start no
    further fit (:func:`check_still_wanted`); a fit already running ends, and its
    record waits for the next run. ``report`` as in :func:`records_from_workers`.
    """
    try:
        from distributed import Client
    except ImportError:
        raise ImportError("--dask-scheduler needs Dask: pip install 'skmlp[dask]'") from None
    log(f"connecting to the Dask scheduler at {address} (the training data will go there)")
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT)
    except OSError as exc:
        raise OSError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    with client:
        from ._worker_setup import GpuWorkerSetup

        client.register_plugin(GpuWorkerSetup())
        threads = sum(client.nthreads().values())
        log(
            f"running the fits on the Dask cluster at {address} "
            f"({len(client.nthreads())} workers, {threads} threads)"
        )
        search.set_params(n_jobs=-1)
        with (
            _every_fit_on(client),
            records_from_workers(search, client, log, report),
        ):
            keys = {r["key"] for r in fit_records(search.estimator.store)}  # once drained
            search.fit(X, y)
    return fits_by_place(search.estimator.store, keys)


@contextmanager
def _every_fit_on(client):
    """joblib's Dask backend, never running the fits in this process.

    joblib runs ``Parallel`` in the calling process, one task after the other,
    when the backend offers one job: the Dask backend offers the cluster's
    threads, so a cluster of one single-threaded worker got none of the fits.
    Here it offers at least two; the scheduler queues what its threads cannot
    take yet.
    """
    from joblib._dask import DaskDistributedBackend

    class EveryFitOnTheCluster(DaskDistributedBackend):
        def effective_n_jobs(self, n_jobs):
            return max(2, super().effective_n_jobs(n_jobs))

    joblib.register_parallel_backend("skmlp-dask", EveryFitOnTheCluster)
    with joblib.parallel_config(backend="skmlp-dask", client=client):
        yield


def fits_by_place(store, old_keys=()) -> dict:
    """How many of the fits in ``store`` (other than ``old_keys``) ran where."""
    places = Counter(
        r.get("ran_on", "client") for r in fit_records(store) if r["key"] not in set(old_keys)
    )
    places.setdefault("client", 0)
    return dict(sorted(places.items(), key=lambda kv: (kv[0] == "client", kv[0])))


def describe_places(places: dict) -> str:
    """``places`` in words: ``4 on worker tcp://...; 0 in the client``."""
    parts = [
        f"{n} in the client" if where == "client" else f"{n} on worker {where}"
        for where, n in places.items()
    ]
    return "; ".join(parts)
