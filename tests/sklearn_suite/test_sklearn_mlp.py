"""scikit-learn's own MLP tests, run against skmlp.

``make_suite.py`` writes scikit-learn's installed ``neural_network/tests/test_mlp.py``
with its estimator import swapped for skmlp's into a temporary directory; this
module executes that file so that pytest collects each of its tests here, under its
own name. ``conftest.py`` runs their bodies in one subprocess on JAX (see there) and
applies ``expected_failures.py``. The tests below check the harness itself.
"""

import atexit
import difflib
import json
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_suite

_DIR = Path(tempfile.mkdtemp(prefix="skmlp-sklearn-suite-"))
atexit.register(shutil.rmtree, _DIR, ignore_errors=True)
#: The generated file; conftest.py recognises scikit-learn's tests by it.
SKLEARN_SUITE = make_suite.generate(_DIR)
# scikit-learn's tests, defined in this module's namespace so pytest collects them here
exec(compile(SKLEARN_SUITE.read_text(encoding="utf-8"), str(SKLEARN_SUITE), "exec"))


def test_only_the_import_is_swapped():
    original = make_suite.sklearn_test_file().read_text(encoding="utf-8").splitlines()
    generated = SKLEARN_SUITE.read_text(encoding="utf-8").splitlines()
    changed = [
        line for line in difflib.unified_diff(original, generated, lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]  # fmt: skip
    assert changed == [
        "-from sklearn.neural_network import MLPClassifier, MLPRegressor",
        "+from skmlp import MLPClassifier, MLPRegressor",
    ]


def test_swap_refuses_an_unknown_import():
    with pytest.raises(ValueError, match="exactly one line"):
        make_suite.swap_import("from sklearn.neural_network import MLPClassifier\n")


def test_expected_failures_name_tests_of_the_suite(request):
    names = {item.name for item in request.node.parent.collect() if isinstance(item, pytest.Item)}
    expected = make_suite.load_expected_failures()
    assert set(expected) <= names, sorted(set(expected) - names)
    assert all(isinstance(reason, str) and reason.strip() for reason in expected.values())


def test_outcomes_are_recorded_per_test(tmp_path):
    phases = [
        ("test_a[x]", "setup", "passed"), ("test_a[x]", "call", "passed"),
        ("test_a[x]", "teardown", "passed"),
        ("test_b", "setup", "passed"), ("test_b", "call", "failed"),
        ("test_b", "teardown", "failed"),
        ("test_c", "setup", "skipped"), ("test_c", "teardown", "passed"),
        ("test_d", "setup", "failed"), ("test_d", "teardown", "passed"),
        ("test_e", "setup", "passed"),  # killed while running
    ]  # fmt: skip
    record = tmp_path / "outcomes.jsonl"
    record.write_text("".join(
        json.dumps({"name": n, "when": w, "outcome": o, "duration": 1.0, "text": f"{n} {w}"}) + "\n"
        for n, w, o in phases
    ))  # fmt: skip
    assert make_suite.read_outcomes(record) == {
        "test_a[x]": ("passed", "", 3.0),
        "test_b": ("failed", "test_b call", 3.0),
        "test_c": ("skipped", "test_c setup", 2.0),
        "test_d": ("error", "test_d setup", 2.0),
        "test_e": ("running", "", 1.0),
    }
