"""Progress of long runs: an estimate of the time left, and a bar that fits the terminal.

The estimate models a fit's seconds as ``a + b * n_params``: a fixed cost per fit
(building, compiling, Python) plus a cost that grows with the network. Fitting
``b`` from two nearly equal network sizes is what made an earlier version
print "~25446s left" two minutes before the end: a tiny difference in size
turned timing noise into a huge slope. Here ``b`` comes from the data only when
the sizes seen span a factor of ``SPAN`` or more; before that it comes from the
machine, ``6 * rows * epochs`` floating-point operations per parameter at half
the one-core matrix-product speed :func:`machine_gflops` measures; and it is
never larger than the largest seconds-per-parameter seen, so no estimate
exceeds "every fit is as slow per parameter as the slowest one so far".
The first fit of each size also compiles the network; that extra is measured
(first fit against the later ones of its size) and added once per size still
to come.
"""

from __future__ import annotations

import functools
import sys
import time

import numpy as np

__all__ = ["ProgressBar", "estimate_left", "machine_gflops"]

#: Sizes must span this factor before the growth with size is fitted from timings.
SPAN = 3.0
#: Share of the machine's one-core matrix-product speed that training small
#: networks reaches (small batches, per-step overheads, several cores): measured
#: fits ran at 5-25 % on TensorFlow and 50-190 % with the fused JAX epoch.
EFFICIENCY = 0.5


@functools.cache
def machine_gflops() -> float:
    """Float32 matrix-product speed of this process, in GFLOP/s.

    The best of 20 products of 256 x 256 matrices (a few milliseconds): the
    best, because a busy machine makes single tries up to 100 times slower.
    """
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a = rng.random((256, 256), dtype=np.float32)
    best = np.inf
    with threadpool_limits(1):  # one core: idle BLAS threads spin on a busy machine
        for _ in range(20):
            start = time.perf_counter()
            a @ a
            best = min(best, time.perf_counter() - start)
    return 2 * 256**3 / max(best, 1e-9) / 1e9


def estimate_left(
    done: list[tuple[float, float]],
    remaining: list[float],
    flops_per_param: float | None = None,
    gflops: float | None = None,
) -> float | None:
    """Seconds the ``remaining`` fits (their parameter counts) will take.

    Parameters
    ----------
    done : list of (float, float)
        (parameter count, seconds) of the fits finished in this run.
    remaining : list of float
        Parameter counts of the fits still to run.
    flops_per_param : float or None, default=None
        Floating-point operations a fit spends per network parameter (about
        ``6 * rows * epochs``); with ``gflops`` it gives the growth with size
        until the timings span sizes a factor :data:`SPAN` apart.
    gflops : float or None, default=None
        Matrix-product speed of the machine in GFLOP/s; ``None`` measures it
        (:func:`machine_gflops`) when ``flops_per_param`` is given.

    Returns
    -------
    float or None
        The estimate; ``0.0`` when nothing remains; ``None`` before any fit
        ended, and while only first fits of their sizes ended although a size
        already seen is still to come (its second fit separates the compile
        cost from the rest).
    """
    if not remaining:
        return 0.0
    if not done:
        return None
    # The first fit of a network size also compiles it (skmlp compiles once per
    # structure): model the later fits, and add that extra once per new size.
    first, later = {}, []
    for size, seconds in done:
        if size in first:
            later.append((size, seconds))
        else:
            first[size] = seconds
    extras = [
        max(first[size] - float(np.median([s for q, s in later if q == size])), 0.0)
        for size in first
        if any(q == size for q, _ in later)
    ]
    if not later and any(size in first for size in remaining):
        # one fit of each size so far, and its compile cost is still inside it:
        # the next fit of a size already seen tells them apart, so wait for it
        return None
    points = later or list(first.items())
    extra = float(np.median(extras)) if extras else 0.0
    a, b = _line(np.array(points, dtype=float).T, flops_per_param, gflops)
    new_sizes = set(remaining) - set(first)
    return float(sum(a + b * r for r in remaining) + extra * len(new_sizes))


def _line(points, flops_per_param, gflops) -> tuple[float, float]:
    """Fixed seconds ``a`` and seconds per parameter ``b`` of a fit, from (sizes, seconds)."""
    p, t = points
    ceiling = float(np.max(t / p))  # slowest seconds per parameter seen
    if p.max() >= SPAN * p.min():
        b, a = np.polyfit(p, t, 1)
        if a < 0:  # no negative fixed cost: the best line through the origin
            a, b = 0.0, float(p @ t / (p @ p))
        if b < 0:
            a, b = float(t.mean()), 0.0
    else:
        if flops_per_param is not None:
            speed = gflops if gflops is not None else machine_gflops()
            b = flops_per_param / (EFFICIENCY * speed * 1e9)
        else:
            b = 0.5 * ceiling  # no information: half fixed, half proportional
        b = min(b, float(np.min(t / p)))
        a = float(np.mean(t - b * p))
    return max(float(a), 0.0), min(max(float(b), 0.0), ceiling)


def format_seconds(seconds: float | None) -> str:
    """``"~2m05s"``-style text, or ``"?"`` when unknown."""
    if seconds is None:
        return "?"
    seconds = round(seconds)
    if seconds < 60:
        return f"~{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"~{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"~{hours}h{minutes:02d}m"


class ProgressBar:
    """A one-line progress bar (rich) on a terminal; plain lines elsewhere.

    Parameters
    ----------
    total : int
        Number of steps.
    description : str
        What is counted, such as ``"CV fits"``.
    stream : file-like, default=None
        Where to write; ``None`` is :data:`sys.stdout`. Not a terminal (a log
        file, a pipe, a notebook's captured output): one line per update.
    plain : bool, default=False
        One line per update even on a terminal.
    """

    def __init__(self, total: int, description: str, stream=None, plain: bool = False):
        self.total = total
        self.description = description
        self.stream = stream if stream is not None else sys.stdout
        self._bar = None
        self._task = None
        isatty = getattr(self.stream, "isatty", lambda: False)
        if isatty() and not plain:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(bar_width=None),
                MofNCompleteColumn(),
                TextColumn("{task.fields[times]}"),
                console=Console(file=self.stream),
                expand=True,
                transient=False,
            )
            self._task = self._bar.add_task(description, total=total, times="")
            self._bar.start()

    def update(self, done: int, elapsed: float, left: float | None, what: str = "") -> None:
        """Show ``done`` of ``total``, seconds ``elapsed`` and the estimate ``left``."""
        times = f"{elapsed:.0f}s elapsed, {format_seconds(left)} left{what}"
        if self._bar is not None:
            self._bar.update(self._task, completed=done, times=times)
        else:
            print(f"  {self.description} {done}/{self.total} done, {times}", file=self.stream,
                  flush=True)  # fmt: skip

    def close(self) -> None:
        """Stop the bar (leaving its last state on screen)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
