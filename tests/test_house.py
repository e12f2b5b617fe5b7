"""The package's shape: sizes, import cycles, and the one-place tables (issue 23).

``tools/house.py`` measures the package; these tests hold it to the limits that
CONTRIBUTING.md states, and check that the tables a change goes through (network
hyperparameters, solvers, the estimators' hooks) are the ones the code reads.
"""

import inspect
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import house  # noqa: E402


def test_no_file_class_or_function_over_the_limits():
    over = house.summary()["over"]
    assert over == [], f"over {house.MAX_FILE_LINES}/{house.MAX_CLASS_LINES}/" \
        f"{house.MAX_FUNCTION_LINES} lines: {over}"  # fmt: skip


def test_no_import_cycle():
    assert house.summary()["cycles"] == []


def test_the_measure_sees_cycles_and_long_functions(tmp_path):
    # the two checks above must be able to fail
    pkg = tmp_path / "skmlp"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from .b import g\n")
    (pkg / "b.py").write_text("from .a import f\n\ndef g():\n" + "    x = 1\n" * 90)
    old = house.ROOT
    house.ROOT = tmp_path
    try:
        summary = house.summary(pkg)
    finally:
        house.ROOT = old
    assert summary["cycles"] == [["skmlp.a", "skmlp.b"]]
    assert [o[1] for o in summary["over"]] == ["skmlp/b.py:g"]


def test_backend_branches_live_in_the_training_wing():
    allowed = {"skmlp/_backend.py"}
    found = set()
    for path in (ROOT / "skmlp").rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if re.search(r"keras\.backend\.backend\(\) [!=]=", path.read_text()):
            found.add(rel)
    assert {f for f in found if not f.startswith("skmlp/_training/")} <= allowed


@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor"])
def test_network_hyperparameters_reach_build_mlp_by_name(name):
    import skmlp
    from skmlp._model import NETWORK_CONSTRAINTS, NETWORK_PARAMS_DOC, build_mlp

    est = getattr(skmlp, name)
    builder = inspect.signature(build_mlp).parameters
    params = est().get_params()
    for key in NETWORK_CONSTRAINTS:
        assert builder[key].kind is inspect.Parameter.KEYWORD_ONLY, key
        assert key in params, key
        assert f"\n    {key} : " in "\n    " + NETWORK_PARAMS_DOC, key
    # every parameter of the signature is constrained and documented
    assert set(params) == set(est._parameter_constraints)
    for key in params:
        assert f"\n    {key} : " in est.__doc__, key


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_network_hyperparameter_is_passed_on_to_the_network(monkeypatch):
    # the builder receives each network hyperparameter under its own name
    import numpy as np

    import skmlp._base as base
    from skmlp import MLPClassifier
    from skmlp._model import NETWORK_CONSTRAINTS

    seen = {}
    real = base.build_mlp

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(base, "build_mlp", spy)
    X = np.random.RandomState(0).rand(20, 3).astype(np.float32)
    y = np.arange(20) % 2
    clf = MLPClassifier((4,), dropout=0.25, max_norm=2.0, max_iter=1).fit(X, y)
    assert {k: seen[k] for k in NETWORK_CONSTRAINTS} == {
        k: getattr(clf, k) for k in NETWORK_CONSTRAINTS
    }


def test_solvers_come_from_one_table():
    from skmlp import MLPClassifier
    from skmlp._optimizers import SOLVERS, STOCHASTIC_SOLVERS, make_optimizer
    from skmlp._persistence._keras import _KERAS_CLASSES

    options = MLPClassifier._parameter_constraints["solver"][0].options
    assert options == set(SOLVERS)
    for name, solver in SOLVERS.items():
        assert _KERAS_CLASSES[solver.keras_class] == "keras.optimizers"
        opt = make_optimizer({**MLPClassifier(solver=name).get_params(), "weight_decay": 0.1})
        assert type(opt).__name__ == solver.keras_class
        assert opt.weight_decay == pytest.approx(0.1)
    assert STOCHASTIC_SOLVERS == ("adam", "sgd")


def test_an_estimator_missing_a_hook_cannot_be_made():
    from skmlp._base import BaseMultilayerPerceptron

    hooks = BaseMultilayerPerceptron.__abstractmethods__
    assert hooks == {"_encode_targets", "_stratify", "_compile_loss", "_score_outputs"}

    class Incomplete(BaseMultilayerPerceptron):
        def __init__(self, hidden_layer_sizes=(10,)):
            self._store_params(locals())

    with pytest.raises(TypeError, match="abstract"):
        Incomplete()
