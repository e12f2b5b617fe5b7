"""The skmlp command line: help, errors (one line, exit 2), run and predict."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from skmlp.cli import main
from skmlp.datasets import load_digits, write_idx


@pytest.fixture(autouse=True)
def _in_a_fresh_folder(tmp_path, monkeypatch):
    """No test depends on, or writes to, the folder pytest was started in."""
    monkeypatch.chdir(tmp_path)


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
    assert f"best by CV accuracy: mlp2  ->  {out / 'best_model.skmlp'}" in printed
    model = out / "best_model.skmlp"

    digits = load_digits()
    X = digits.X_test[:5]
    import skmlp

    expected = skmlp.load(model).predict(X)
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
    # the joblib copy predicts the same, when the user opts in to unpickling it
    joblib_model = str(out / "best_model.joblib")
    assert main(["predict", joblib_model, str(tmp_path / "x.npy"), "--trust-pickle"]) == 0
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


# ----------------------------------------------------- predict's inputs
@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    import skmlp
    from skmlp.experiment import make_pipeline

    digits = load_digits()
    pipe = make_pipeline(16, max_iter=2, hidden_layer_sizes=(16,), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(digits.X_train, digits.y_train)
    path = skmlp.save(pipe, tmp_path_factory.mktemp("m") / "best_model.skmlp")
    X = digits.X_test[:20]
    return str(path), X, pipe.predict(X)


def _predict(model, path, capsys, *extra):
    code = main(["predict", model, str(path), *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    "write",
    [
        lambda X, p: pd.DataFrame(X).to_csv(p, index=False),  # pandas' header 0..63
        lambda X, p: pd.DataFrame(X, columns=[f"pixel{i}" for i in range(64)]).to_csv(
            p, index=False
        ),
        lambda X, p: pd.DataFrame(X).to_csv(p, index=False, header=False),
        lambda X, p: pd.DataFrame(X).to_csv(p),  # pandas' defaults: header and index
    ],
    ids=["pandas-header", "pixel-names", "no-header", "pandas-index"],
)
def test_csv_header_is_detected_and_nothing_shifts(write, model_file, tmp_path, capsys):
    model, X, expected = model_file
    write(X, tmp_path / "x.csv")
    code, out, err = _predict(model, tmp_path / "x.csv", capsys)
    assert code == 0, err
    table = pd.read_csv(__import__("io").StringIO(out))
    assert len(table) == len(X)  # 20 images in, 20 predictions out
    np.testing.assert_array_equal(table["prediction"], expected)


def _csv(path, rows):
    path.write_text("".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


@pytest.mark.parametrize(
    "rows, extra, needle",
    [
        ([["12", "3O"] + ["1"] * 62, ["2"] * 64], [], "first row is a header.*--header"),
        ([["1"] * 64, ["2"] * 64, ["3", "x"] + ["1"] * 62], [], "data row 3.*column 2: 'x'"),
        ([["1"] * 64, ["2"] * 63], [], "data row 2.*63 cells"),
        ([[f"p{i}" for i in range(64)], ["1"] * 63 + ["x"]], [], "data row 1.*column 64"),
        ([["1"] * 64, ["2"] * 64], ["--header", "no", "--output", "."], "is a folder"),
        ([[f"p{i}" for i in range(64)]], [], "header row but no data rows"),
        ([], [], "empty"),
    ],
    ids=["typo-in-row-0", "bad-cell", "ragged", "bad-cell-after-header", "output-folder",
         "header-only", "empty"],
)  # fmt: skip
def test_bad_csv_is_a_one_line_error(rows, extra, needle, model_file, tmp_path, capsys):
    path = _csv(tmp_path / "x.csv", rows)
    code, out, err = _predict(model_file[0], path, capsys, *extra)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("skmlp: error:"), err
    assert __import__("re").search(needle, err), err


def test_index_column_without_header_is_named(model_file, tmp_path, capsys):
    model, X, _ = model_file
    pd.DataFrame(X).to_csv(tmp_path / "x.csv", header=False)
    code, _, err = _predict(model, tmp_path / "x.csv", capsys)
    assert code == 2 and "looks like a row index" in err


def test_explicit_header_option(model_file, tmp_path, capsys):
    model, X, expected = model_file
    pd.DataFrame(X).to_csv(tmp_path / "x.csv", index=False)
    code, out, _ = _predict(model, tmp_path / "x.csv", capsys, "--header", "yes")
    assert code == 0
    table = pd.read_csv(__import__("io").StringIO(out))
    np.testing.assert_array_equal(table["prediction"], expected)


@pytest.mark.parametrize(
    "array, needle",
    [(np.float64(3.0), "single value"), (np.array(["a", "b"]), "must hold finite numbers"),
     (np.zeros((0, 64)), "no rows")],
    ids=["0-d", "strings", "no-rows"],
)  # fmt: skip
def test_bad_npy_is_a_one_line_error(array, needle, model_file, tmp_path, capsys):
    np.save(tmp_path / "x.npy", array)
    code, _, err = _predict(model_file[0], tmp_path / "x.npy", capsys)
    assert code == 2 and err.count("\n") == 1 and needle in err, err


# ------------------------------ the rules of skmlp._features, for predict
def test_more_sources_predict_the_same(model_file, tmp_path, capsys):
    pytest.importorskip("pyarrow")
    model, X, expected = model_file
    frame = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(64)])
    frame.to_csv(tmp_path / "x.csv.gz", index=False)
    frame.to_parquet(tmp_path / "x.parquet", index=False)
    np.savez(tmp_path / "x.npz", X=X)
    for name in ["x.csv.gz", "x.parquet", "x.npz"]:
        code, out, err = _predict(model, tmp_path / name, capsys)
        assert code == 0, err
        table = pd.read_csv(__import__("io").StringIO(out))
        np.testing.assert_array_equal(table["prediction"], expected)


def _bomb(path):
    """A tiny .npy whose header declares 10**12 float64 values."""
    header = {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)}
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
    return path


@pytest.mark.parametrize(
    "write, needle",
    [
        (lambda p: write_idx(p.with_suffix(".dat"), np.zeros((2, 8, 8), np.uint8)) or
         p.with_suffix(".dat"), "not a file skmlp reads"),
        (lambda p: _bomb(p.with_suffix(".npy")), "declares 8,000,000,000,000 bytes"),
        (lambda p: np.save(p.with_suffix(".npy"), np.full((2, 64), np.nan)) or
         p.with_suffix(".npy"), "must hold finite numbers, not NaN or inf"),
        (lambda p: np.save(p.with_suffix(".npy"), np.ones((2, 64), bool)) or
         p.with_suffix(".npy"), "must hold finite numbers, not bool values"),
        (lambda p: _csv(p.with_suffix(".csv"), [[f"p{i}" for i in range(63)], ["1"] * 64]),
         r"data row 1 \(line 2\) has 64 cells, the header has 63"),
        (lambda p: p.with_suffix(".npy"), r"data file .*x\.npy does not exist"),
    ],
    ids=["idx-without-its-name", "npy-bomb", "npy-nan", "npy-bool", "csv-short-header",
         "missing"],
)  # fmt: skip
def test_predict_input_rules(write, needle, model_file, tmp_path, capsys):
    path = write(tmp_path / "x")
    code, out, err = _predict(model_file[0], path, capsys)
    assert code == 2 and out == "", err
    assert err.count("\n") == 1 and __import__("re").search(needle, err), err


def test_a_column_of_booleans_is_not_read_as_numbers(model_file, tmp_path, capsys):
    # pandas reads a column of True/False as 1.0/0.0 when told to read floats
    path = _csv(tmp_path / "x.csv", [["True"] + ["0"] * 63, ["False"] + ["1"] * 63])
    code, out, err = _predict(model_file[0], path, capsys, "--header", "no")
    assert code == 2 and out == "", err
    assert "data row 1 (line 1), column 1: 'True' is not a number" in err, err


def test_an_idx_file_over_the_memory_budget_is_refused(model_file, tmp_path, capsys,
                                                      monkeypatch):  # fmt: skip
    import skmlp._features

    path = tmp_path / "x-idx3-ubyte"
    write_idx(path, np.zeros((5, 8, 8), np.uint8))  # 320 bytes of pixels
    monkeypatch.setattr(skmlp._features, "memory_budget", lambda: 100)
    code, _, err = _predict(model_file[0], path, capsys)
    assert code == 2 and "over the limit of 100 bytes" in err, err


def test_help_points_to_the_safe_model_first(capsys):
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    out = capsys.readouterr().out
    assert "best_model.skmlp" in out and "--trust-pickle" in out
    assert "best_model.joblib" not in out.split("--trust-pickle")[0].split("safe")[0]
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "predict results/mnist/best_model.skmlp" in out


def test_default_out_depends_on_the_dataset(tmp_path, capsys):
    """The README's digits run, then an MNIST run in the same folder: not refused as a clash."""
    quick = ["--architectures", "mlp2", "--epochs", "1", "--cv", "2", "--n-train", "100",
             "--n-test", "50", "--no-plots", "--quiet"]  # fmt: skip
    assert main(["run", *quick]) == 0
    assert (tmp_path / "skmlp_results" / "digits" / "best_model.skmlp").is_file()
    capsys.readouterr()
    assert main(["run", "--dataset", "mnist", "--data-dir", str(tmp_path / "no"), *quick]) == 2
    err = capsys.readouterr().err
    assert "MNIST handwritten digits not found" in err and "other settings" not in err
