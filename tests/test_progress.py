"""The time-left estimate (skmlp._progress) on recorded timings, and the progress bar."""

import io
import re

import numpy as np
import pytest

from skmlp._progress import ProgressBar, estimate_left, format_seconds

# The README's main job (digits, 6 architectures x 3 folds x 20 epochs): CV fits
# have 1198 training rows, so about 6 * 1198 * 20 operations per parameter.
FLOPS_PER_PARAM = 6 * 1198 * 20
SIZES = [33738] * 3 + [35018] * 3 + [725258] * 3 + [732426] * 3 + [2535498] * 3 + [2549578] * 3

# (parameters, seconds) of each CV fit, in the order they ended, from
# `skmlp run --backend tensorflow` with the code of commit 8cca246 on the shared
# 2-core machine under load (5 to 10 runnable processes); 754 s for the CV.
SECONDS = [18.98, 14.52, 7.9, 9.53, 12.01, 12.65, 12.47, 24.45, 25.73, 39.14, 42.72, 33.95,
           63.9, 75.47, 64.67, 90.2, 73.39, 118.66]  # fmt: skip
RECORDED = list(zip(SIZES, SECONDS, strict=True))

# The same job on JAX with the fused epoch compiled once per structure and ahead
# of the search (2026-12-04, quiet machine, machine_gflops() = 92.8): CV fits of
# 838 rows, 40 s for the CV; each size's first fit (the slowest) first.
FLOPS_PER_PARAM_JAX = 6 * 838 * 20
SECONDS_JAX = [0.79, 0.17, 0.17, 0.39, 0.27, 0.23, 1.87, 1.78, 1.68, 1.82, 1.38, 1.23,
               3.34, 3.03, 2.91, 3.71, 3.36, 3.33]  # fmt: skip
RECORDED_JAX = list(zip(SIZES, SECONDS_JAX, strict=True))


def _old_straight_line(done, remaining):
    """The estimate skmlp printed before: a line through (size, seconds)."""
    p, t = np.array(done, dtype=float).T
    b, a = np.polyfit(p, t, 1)
    return sum(max(a, 0.0) + max(b, 0.0) * r for r in remaining)


@pytest.mark.parametrize("gflops", [50.0, 90.0, 200.0])  # matrix-product speeds seen here
def test_the_issue_case_is_no_longer_wildly_off(gflops):
    # Four fits seen, the first two sizes nearly equal, ~2 minutes left: the
    # straight line printed "~25446s left".
    done = [(33738, 6.0)] * 3 + [(35018, 7.7)]
    remaining = SIZES[4:]
    truth = 120.0
    assert _old_straight_line(done, remaining) > 100 * truth  # the case is the bad one
    estimate = estimate_left(done, remaining, FLOPS_PER_PARAM, gflops)
    assert truth / 3 < estimate < 3 * truth


@pytest.mark.parametrize("gflops", [50.0, 90.0, 200.0])
def test_recorded_run_estimates_stay_within_a_factor_of_five(gflops):
    for k in range(1, len(RECORDED)):
        done, rest = RECORDED[:k], RECORDED[k:]
        truth = sum(t for _, t in rest)
        estimate = estimate_left(done, [p for p, _ in rest], FLOPS_PER_PARAM, gflops)
        if k == 1:  # the first fit holds its compile: no estimate until the second
            assert estimate is None
            continue
        assert truth / 5 < estimate < 5 * truth, (k, estimate, truth)


@pytest.mark.parametrize(("gflops", "factor"), [(50.0, 5), (92.8, 2), (200.0, 5)])
def test_recorded_fast_run_estimates_stay_close(gflops, factor):
    # fits 20-100 times faster than the TensorFlow run above: the machine-speed
    # prior must not predict minutes for a run that has 40 s left
    for k in range(1, len(RECORDED_JAX)):
        done, rest = RECORDED_JAX[:k], RECORDED_JAX[k:]
        truth = sum(t for _, t in rest)
        estimate = estimate_left(done, [p for p, _ in rest], FLOPS_PER_PARAM_JAX, gflops)
        if k == 1:
            assert estimate is None
            continue
        assert truth / factor < estimate < factor * truth, (k, estimate, truth)


def test_estimate_is_bounded_by_fixed_and_proportional_cost():
    # one size seen, nothing known about the machine: between "fixed cost only"
    # and "cost proportional to size"
    estimate = estimate_left([(1000, 2.0)], [9000])
    assert 2.0 <= estimate <= 18.0
    # a fitted line never extrapolates faster than the slowest seconds/parameter
    assert estimate_left([(1000, 1.0), (3000, 30.0)], [100000]) <= 1000.0 * 100000 / 3000 * 30


def test_format_seconds():
    assert format_seconds(None) == "?"
    assert format_seconds(42.4) == "~42s"
    assert format_seconds(125) == "~2m05s"
    assert format_seconds(2 * 3600 + 60 * 7) == "~2h07m"


def test_progress_bar_plain_lines_off_a_terminal():
    out = io.StringIO()
    bar = ProgressBar(18, "CV fits", stream=out)
    bar.update(4, 52.0, 120.0, " for the CV")
    bar.close()
    assert out.getvalue() == "  CV fits 4/18 done, 52s elapsed, ~2m00s left for the CV\n"


def test_progress_bar_fits_the_terminal(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setenv("COLUMNS", "60")  # a narrow terminal
    out = Terminal()
    bar = ProgressBar(18, "CV fits", stream=out)
    bar.update(4, 52.0, 120.0)
    bar.close()
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue()).replace("\r", "\n")
    lines = [line for line in text.splitlines() if "CV fits" in line]
    assert lines and all(len(line.strip()) <= 60 for line in lines)
    assert "4/18" in lines[-1]
