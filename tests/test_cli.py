"""The skmlp command line: help, errors (one line, exit 2), run and predict."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from skmlp.cli import main
from skmlp.datasets import load_digits, write_idx


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for needle in ["run", "predict", "--data-dir", "SKMLP_DATA", "examples:"]:
        assert needle in out


def test_help_does_not_import_keras():
    code = "import sys; from skmlp.cli import _parser; _parser(); print('keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_python_dash_m(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "skmlp", "run", "--help"], capture_output=True, text=True
    )
    assert out.returncode == 0 and "--epochs" in out.stdout


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["run", "--dataset", "cifar"], "unknown dataset 'cifar'"),
        (["run", "--dataset", "mnist", "--data-dir", "/nonexistent/x"], "MNIST handwritten"),
        (["run", "--architectures", "mlp2,big"], "Unknown architecture 'big'"),
        (["run", "--out", "/proc/skmlp-cannot-write"], "not writable"),
        (["predict", "/nonexistent/model.joblib", "x.npy"], "does not exist"),
    ],
)
def test_user_errors_are_one_line_exit_2(argv, needle, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("skmlp: error:"), err
    assert needle in err
    assert "Traceback" not in err


def test_run_and_predict(tmp_path, capsys):
    out = tmp_path / "res"
    argv = ["run", "--architectures", "mlp2", "--epochs", "2", "--cv", "2", "--out", str(out)]
    assert main([*argv, "--quiet", "--no-plots"]) == 0
    printed = capsys.readouterr().out
    assert "mlp2" in printed and "best by CV accuracy: mlp2" in printed
    model = out / "best_model.joblib"

    digits = load_digits()
    X = digits.X_test[:5]
    import joblib

    expected = joblib.load(model).predict(X)
    np.save(tmp_path / "x.npy", X)
    pd.DataFrame(X).to_csv(tmp_path / "x.csv", index=False, header=False)
    write_idx(tmp_path / "x-idx3-ubyte.gz", X.reshape(5, 8, 8))
    for name in ["x.npy", "x.csv", "x-idx3-ubyte.gz"]:
        assert main(["predict", str(model), str(tmp_path / name)]) == 0
        captured = capsys.readouterr()
        table = pd.read_csv(__import__("io").StringIO(captured.out))
        np.testing.assert_array_equal(table["prediction"], expected)
        # the command names its backend, on stderr so that stdout stays CSV
        import keras

        assert f"Keras backend {keras.backend.backend()}" in captured.err
    # the pickle-free copy predicts the same
    assert main(["predict", str(out / "best_model.skmlp"), str(tmp_path / "x.npy")]) == 0
    table = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    np.testing.assert_array_equal(table["prediction"], expected)

    assert main(["predict", str(model), str(tmp_path / "x.npy"), "--proba",
                 "--output", str(tmp_path / "p.csv")]) == 0  # fmt: skip
    table = pd.read_csv(tmp_path / "p.csv")
    assert len(table) == 5 and {"p_0", "p_9"} <= set(table.columns)
    np.testing.assert_allclose(table.filter(like="p_").sum(axis=1), 1, atol=1e-4)

    # a wrong number of features is a one-line error
    np.save(tmp_path / "bad.npy", np.zeros((2, 10)))
    assert main(["predict", str(model), str(tmp_path / "bad.npy")]) == 2
    assert "features" in capsys.readouterr().err
