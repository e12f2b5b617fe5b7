"""benchmarks/bench_dropin_clients.py's own functions, in-process, on two real clients.

The benchmark itself (63 clients, subprocesses, both backends) is never a test; this
checks that its outcome rules say what they claim: a client that runs on both sides is
judged against scikit-learn's seeds, a client that raises is a FAIL with the
exception's first line, and one that fits no MLP is NOT-MLP.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

bench = pytest.importorskip("bench_dropin_clients")
from dropin_clients import CLIENTS  # noqa: E402


def _sides():
    from sklearn.neural_network import MLPClassifier as SkC
    from sklearn.neural_network import MLPRegressor as SkR

    from skmlp import MLPClassifier, MLPRegressor

    return (SkC, SkR), (MLPClassifier, MLPRegressor)


def test_two_clients_judged_against_sklearn_seeds():
    sk_classes, our_classes = _sides()
    fit_before = our_classes[0].__dict__.get("fit")
    fn = CLIENTS["verbose_training"][0]
    sk = {"rows": bench.run_client(fn, sk_classes, [0, 1])}
    ours = {"rows": bench.run_client(fn, our_classes, [0])}
    assert our_classes[0].__dict__.get("fit") is fit_before  # the counting wrapper is gone
    assert all(r["mlp_fits"] == 1 for r in sk["rows"] + ours["rows"])
    cell = bench.judge(sk, ours, floor=0.02)
    assert cell["outcome"] in ("PASS", "DIFF")
    assert cell["outcome"] == ("PASS" if abs(cell["diff"]) <= cell["tolerance"] else "DIFF")
    mean = cell["score"] - cell["diff"]  # scikit-learn's mean over its seeds
    for offset, outcome in (
        (0.0, "PASS"),
        (0.9 * cell["tolerance"], "PASS"),
        (1.1 * cell["tolerance"], "DIFF"),
        (-1.1 * cell["tolerance"], "DIFF"),
    ):
        moved = {"rows": [dict(ours["rows"][0], score=mean + offset)]}
        assert bench.judge(sk, moved, floor=0.02)["outcome"] == outcome, offset

    def broken(MLPClassifier, MLPRegressor, seed):
        MLPClassifier(hidden_layer_sizes=(-1,)).fit([[0.0], [1.0]], [0, 1])
        return 1.0

    failed = bench.judge(sk, {"rows": bench.run_client(broken, our_classes, [0])}, floor=0.02)
    assert failed["outcome"] == "FAIL" and "\n" not in failed["note"] and failed["note"]

    rbm = CLIENTS["plot_rbm_logistic"][0]
    no_mlp = {"rows": bench.run_client(rbm, sk_classes, [0])}
    assert no_mlp["rows"][0]["mlp_fits"] == 0
    assert bench.judge(no_mlp, no_mlp, floor=0.02)["outcome"] == "NOT-MLP"
    record = {"group": "habits", "sklearn": sk, "trees": {"after": cell}}
    text, totals = bench.table({"verbose_training": record}, ["after"])
    assert "| verbose_training | habits |" in text
    assert totals["after"]["outcomes"] == {cell["outcome"]: 1}
