"""Run scikit-learn's MLP tests (collected in test_sklearn_mlp.py) in one subprocess.

Every test of scikit-learn's ``test_mlp.py`` is collected here, in this pytest
session, so each has its own id and outcome; but its body runs in one pytest
subprocess on one Keras backend (``make_suite.DEFAULT_BACKEND``, JAX, or
``SKMLP_SKLEARN_SUITE_BACKEND``), whichever backend this session uses. The first
such test to run starts the subprocess for all the selected ones; each test then
reports its own outcome from the subprocess' JUnit XML: a failure is raised here
with the subprocess' report. ``expected_failures.py`` turns into strict xfail
markers, so a listed test that passes fails, as does an unlisted one that fails.
"""

import importlib.util
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_suite
from make_suite import pytest_generate_tests  # noqa: F401  (global_random_seed)

_RESULTS = pytest.StashKey[dict]()


class SklearnTestFailed(AssertionError):
    """A test of scikit-learn's suite failed in the subprocess."""


def _backend() -> str:
    chosen = os.environ.get("SKMLP_SKLEARN_SUITE_BACKEND")
    if chosen:
        return chosen
    if importlib.util.find_spec(make_suite.DEFAULT_BACKEND) is not None:
        return make_suite.DEFAULT_BACKEND
    return "tensorflow"


def _suite_file(item) -> Path | None:
    """The generated file if ``item`` is one of scikit-learn's tests, else None."""
    suite = getattr(getattr(item, "module", None), "SKLEARN_SUITE", None)
    function = getattr(item, "function", None)
    if suite is None or function is None:
        return None
    return suite if function.__code__.co_filename == str(suite) else None


def pytest_collection_modifyitems(config, items):
    expected = make_suite.load_expected_failures()
    for item in items:
        if _suite_file(item) is not None:
            # all of them run in one subprocess of a minute or more
            item.add_marker(pytest.mark.slow)
        if _suite_file(item) is not None and item.name in expected:
            item.add_marker(
                pytest.mark.xfail(reason=expected[item.name], strict=True, raises=SklearnTestFailed)
            )


def _run_all(item, suite: Path) -> dict:
    """Run every selected scikit-learn test in one subprocess; name -> (outcome, text)."""
    selected = [other.name for other in item.session.items if _suite_file(other) == suite]
    backend = _backend()
    outcomes, process = make_suite.run_suite(suite, backend=backend, select=selected)
    tail = (process.stdout[-3000:] + "\n" + process.stderr).strip()
    missing = ("error", f"no outcome from the pytest subprocess on {backend}:\n{tail}")
    return {name: outcomes.get(name, missing) for name in selected} | {"_backend": backend}


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    suite = _suite_file(pyfuncitem)
    if suite is None:
        return None
    stash = pyfuncitem.session.stash
    if _RESULTS not in stash:
        stash[_RESULTS] = _run_all(pyfuncitem, suite)
    results = stash[_RESULTS]
    outcome, text = results.get(pyfuncitem.name, ("error", "not run in the subprocess"))
    if outcome == "passed":
        return True
    if outcome == "skipped":
        pytest.skip(text)
    raise SklearnTestFailed(
        f"{outcome} in the KERAS_BACKEND={results['_backend']} subprocess; "
        "rerun with `python tests/sklearn_suite/make_suite.py --run --verbose`:\n" + text
    )
