"""The background compile thread: XLA compiles queued while training goes on.

One thread compiles, in the order queued, what the fused epoch
(:mod:`skmlp._training.fused`) and the shared prediction functions
(:mod:`skmlp._training.reuse`) will run; XLA releases the GIL while it compiles,
so compiling overlaps with training. Nothing here imports Keras or a backend:
``skmlp run`` calls :func:`cancel_pending` when interrupted, whatever was imported.
"""

from __future__ import annotations

import threading

__all__ = ["cancel_pending", "compile_in_background"]

_WORKER: list = []  # the background compile thread's executor, made on first use
_LOCK = threading.Lock()


def _worker():
    """One background thread for XLA compiles: queued compiles run in order."""
    from concurrent.futures import ThreadPoolExecutor

    with _LOCK:
        if not _WORKER:
            _WORKER.append(ThreadPoolExecutor(1, thread_name_prefix="skmlp-compile"))
        return _WORKER[0]


def compile_in_background(lowered):
    """Queue ``lowered.compile()`` on the background compile thread; returns its future."""
    return _worker().submit(_compile_quietly, lowered)


def cancel_pending() -> None:
    """Drop the queued compiles that have not started (the one running finishes).

    Python waits for the queue at exit; an interrupted run calls this so that
    it stops within one compile instead of after all it had queued.
    """
    with _LOCK:
        if _WORKER:
            _WORKER[0].shutdown(wait=False, cancel_futures=True)
            _WORKER.clear()


def _compile_quietly(lowered):
    # a failure here resurfaces, with its traceback, when the function is called
    try:
        lowered.compile()
    except Exception:
        pass
