"""Export to ONNX and SavedModel (issue 30): onnxruntime computes what skmlp predicts."""

import json
import os
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, StandardScaler

import skmlp
from skmlp import MLPClassifier, MLPRegressor, PixelScaler
from skmlp.cli import main

ort = pytest.importorskip("onnxruntime")
skl2onnx = pytest.importorskip("skl2onnx")

ATOL = 1e-5
_X, _Y = load_digits(return_X_y=True)
X = _X.astype(np.float32)
ROWS = X[:400]
TINY = {"max_iter": 3, "random_state": 0}


def _fit(pipe, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return pipe.fit(X, y)


#: Every architecture family, each behind a scaler; activations spread across them.
FAMILIES = {
    "plain": lambda: (
        make_pipeline(PixelScaler(16), MLPClassifier((16,), **TINY)),
        _Y,
    ),
    "batch-norm-dropout": lambda: (
        make_pipeline(
            StandardScaler(),
            MLPClassifier(
                (16, 8), batch_norm=True, dropout=0.2, input_dropout=0.1, activation="gelu", **TINY
            ),
        ),
        _Y,
    ),
    "max-norm": lambda: (
        make_pipeline(
            MinMaxScaler(), MLPClassifier((16,), max_norm=0.5, activation="swish", **TINY)
        ),
        _Y,
    ),
    "binary-strings": lambda: (
        make_pipeline(StandardScaler(), MLPClassifier((8,), activation="selu", **TINY)),
        np.where(_Y > 4, "high", "low"),
    ),
    "multilabel": lambda: (
        make_pipeline(StandardScaler(), MLPClassifier((16,), activation="tanh", **TINY)),
        np.column_stack([_Y % 2, _Y > 4, _Y == 3]).astype(int),
    ),
    "regressor": lambda: (
        make_pipeline(
            StandardScaler(),
            MLPRegressor(hidden_layer_sizes=(16,), batch_norm=True, activation="elu", **TINY),
        ),
        np.column_stack([_Y, (_Y % 3) * 0.5]),
    ),
    "regressor-one-output": lambda: (
        make_pipeline(
            PixelScaler(16), MLPRegressor(hidden_layer_sizes=(16,), activation="leaky_relu", **TINY)
        ),
        _Y.astype(float),
    ),
}


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("family", FAMILIES)
def test_onnxruntime_computes_what_skmlp_predicts(family, tmp_path):
    pipe, y = FAMILIES[family]()
    _fit(pipe, y)
    path = skmlp.export(pipe, tmp_path / "m.onnx")
    session = _session(path)
    assert [i.name for i in session.get_inputs()] == ["X"]
    outputs = session.run(None, {"X": ROWS})
    names = [o.name for o in session.get_outputs()]
    if family.startswith("regressor"):
        assert names == ["variable"]
        expected = pipe.predict(ROWS).reshape(len(ROWS), -1)
        np.testing.assert_allclose(outputs[0], expected, atol=ATOL, rtol=ATOL)
        return
    assert names == ["label", "probabilities"]
    label, proba = outputs
    expected = pipe.predict_proba(ROWS)
    np.testing.assert_allclose(proba, expected, atol=ATOL)
    # labels agree wherever the decision is not within ATOL of a tie
    if family == "multilabel":
        clear = np.abs(expected - 0.5) > ATOL
        np.testing.assert_array_equal(label[clear], pipe.predict(ROWS)[clear])
    else:
        top2 = np.sort(expected, axis=1)[:, -2:]
        clear = top2[:, 1] - top2[:, 0] > ATOL
        assert clear.mean() > 0.9
        np.testing.assert_array_equal(label[clear], pipe.predict(ROWS)[clear])


def test_skl2onnx_to_onnx_converts_a_pipeline_holding_skmlp(tmp_path):
    pipe, y = FAMILIES["batch-norm-dropout"]()
    _fit(pipe, y)
    skmlp.register_onnx_converters()
    onx = skl2onnx.to_onnx(pipe, X[:1])  # sklearn-onnx's defaults: zipmap=True
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["output_label", "output_probability"]
    _, maps = session.run(None, {"X": ROWS[:50]})
    proba = np.array([[row[c] for c in pipe.classes_] for row in maps])
    np.testing.assert_allclose(proba, pipe.predict_proba(ROWS[:50]), atol=ATOL)
    # and the tensor outputs with zipmap=False, as sklearn-onnx's MLPClassifier
    onx = skl2onnx.to_onnx(pipe, X[:1], options={MLPClassifier: {"zipmap": False}})
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["label", "probabilities"]


def test_tabular_preprocessing_is_converted_by_sklearn_onnx(tmp_path):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder

    columns = ColumnTransformer([
        ("numbers", make_pipeline(SimpleImputer(), StandardScaler()), list(range(2, 64))),
        ("codes", OneHotEncoder(handle_unknown="ignore"), [0, 1]),
    ])  # fmt: skip
    with_gaps = X.copy()
    with_gaps[::7, 20] = np.nan
    pipe = make_pipeline(columns, MLPClassifier((16,), **TINY))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(with_gaps, _Y)
    path = skmlp.export(pipe, tmp_path / "m.onnx")
    _, proba = _session(path).run(None, {"X": with_gaps[:300]})
    np.testing.assert_allclose(proba, pipe.predict_proba(with_gaps[:300]), atol=ATOL)


@pytest.fixture(scope="module")
def fitted():
    return _fit(make_pipeline(PixelScaler(16), MLPClassifier((8,), **TINY)), _Y)


def _one_line(exc_info):
    message = str(exc_info.value)
    assert "\n" not in message
    return message


class _Doubler(FunctionTransformer):
    """A transformer sklearn-onnx has no converter for."""


def test_an_unsupported_step_is_named_in_one_line(fitted, tmp_path):
    for step, name in [(_Doubler(), "'_doubler' (_Doubler)"),
                       (FunctionTransformer(np.sqrt),  # converted only as the identity
                        "'functiontransformer' (FunctionTransformer)")]:  # fmt: skip
        pipe = make_pipeline(step, fitted[-1])
        with pytest.raises(ValueError) as exc_info:
            skmlp.export(pipe, tmp_path / "m.onnx")
        assert f"step {name}" in _one_line(exc_info)
        assert not (tmp_path / "m.onnx").exists()


def test_an_unsupported_layer_or_activation_is_named_in_one_line(tmp_path):
    import keras

    pipe = _fit(make_pipeline(StandardScaler(), MLPClassifier((8,), **TINY)), _Y)
    mlp = pipe[-1]
    original = mlp.model_
    mlp.model_.layers[0].activation = keras.activations.get("softplus")
    with pytest.raises(ValueError) as exc_info:
        skmlp.export(pipe, tmp_path / "m.onnx")
    assert "activation 'softplus'" in _one_line(exc_info)
    mlp.model_ = keras.Sequential([keras.Input((64,)), keras.layers.Dense(8),
                                   keras.layers.LayerNormalization(name="ln"),
                                   keras.layers.Dense(10, activation="softmax")])  # fmt: skip
    with pytest.raises(ValueError) as exc_info:
        skmlp.export(pipe, tmp_path / "m.onnx")
    assert "layer 'ln' (LayerNormalization)" in _one_line(exc_info)
    mlp.model_ = original


def test_output_rules(fitted, tmp_path):
    out = tmp_path / "m.onnx"
    skmlp.export(fitted, out)
    with pytest.raises(ValueError) as exc_info:
        skmlp.export(fitted, out)
    assert "exists; pass --force" in _one_line(exc_info)
    skmlp.export(fitted, out, force=True)
    link = tmp_path / "link.onnx"
    os.symlink(tmp_path / "elsewhere.onnx", link)
    with pytest.raises(ValueError) as exc_info:
        skmlp.export(fitted, link, force=True)
    assert "symbolic link" in _one_line(exc_info)
    assert not (tmp_path / "elsewhere.onnx").exists()


# ------------------------------------------------------------ the command line
@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "res"
    argv = ["run", "--architectures", "mlp2,mlp2-bn-do", "--epochs", "1", "--cv", "2",
            "--n-train", "400", "--out", str(out), "--quiet", "--no-plots"]  # fmt: skip
    assert main(argv) == 0
    return out


def _front_matter(card: str) -> dict:
    head, sep, _ = card.partition("\n---\n")
    assert card.startswith("---\n") and sep
    pairs = (line.split(": ", 1) for line in head.splitlines()[1:])
    return {key: json.loads(value) for key, value in pairs}


@pytest.mark.slow  # a tiny skmlp run first (about 10 s)
def test_cli_exports_the_best_model_with_its_card(run_folder, tmp_path, capsys):
    model = run_folder / "best_model.skmlp"
    out = tmp_path / "digits.onnx"
    assert main(["export", str(model), str(out), "--card"]) == 0
    pipe = skmlp.load(model)
    _, proba = _session(out).run(None, {"X": X[:100]})
    np.testing.assert_allclose(proba, pipe.predict_proba(X[:100]), atol=ATOL)
    card = (tmp_path / "digits.md").read_text()
    meta = _front_matter(card)
    record = json.loads((run_folder / "run.json").read_text())
    assert meta["library_name"] == "skmlp" and meta["datasets"] == ["digits"]
    assert meta["model-index"][0]["name"] == record["best_architecture"]
    assert record["dataset"]["sha256"] in card and record["artefacts"]["best_model.skmlp"] in card
    assert "mlp2-bn-do" in card and "best mean cross-validated accuracy" in card
    assert main(["export", str(model), str(out), "--card"]) == 2  # exists, no --force
    assert "exists" in capsys.readouterr().err


def _refused(argv, capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("skmlp: error: ")
    return err


@pytest.mark.slow
def test_cli_refuses_hostile_models_and_records(run_folder, tmp_path, capsys):
    import shutil

    from _hostile_models import lora_rank

    model = run_folder / "best_model.skmlp"
    hostile = tmp_path / "hostile.skmlp"
    hostile.write_bytes(lora_rank(model.read_bytes(), rank=2**20))
    assert "hostile.skmlp" in _refused(["export", str(hostile), str(tmp_path / "h.onnx")], capsys)
    assert not (tmp_path / "h.onnx").exists()
    pickle = str(run_folder / "best_model.joblib")
    assert "pickle" in _refused(["export", pickle, str(tmp_path / "p.onnx")], capsys)
    # a card needs the run's records, and a model that is the one they vouch for
    alone = tmp_path / "alone" / "best_model.skmlp"
    alone.parent.mkdir()
    shutil.copyfile(model, alone)
    assert "no run.json" in _refused(["export", str(alone), str(tmp_path / "a.onnx"), "--card"],
                                     capsys)  # fmt: skip
    copy = tmp_path / "copy"
    shutil.copytree(run_folder, copy)
    shutil.copyfile(copy / "models" / "mlp2-bn-do.skmlp", copy / "best_model.skmlp")
    err = _refused(["export", str(copy / "best_model.skmlp"), str(tmp_path / "c.onnx"), "--card"],
                   capsys)  # fmt: skip
    assert "SHA-256 is not the one" in err and not (tmp_path / "c.onnx").exists()
    shutil.copyfile(model, copy / "best_model.skmlp")
    import pandas as pd

    results = pd.read_csv(copy / "results.csv")
    results.loc[0, "cv_accuracy_mean"] = 1.5
    results.to_csv(copy / "results.csv", index=False)
    err = _refused(["export", str(copy / "best_model.skmlp"), str(tmp_path / "c.onnx"), "--card"],
                   capsys)  # fmt: skip
    assert "results.csv: cv_accuracy_mean is not a number in [0, 1]" in err
    (copy / "results.csv").unlink()
    os.symlink(run_folder / "results.csv", copy / "results.csv")
    err = _refused(["export", str(copy / "best_model.skmlp"), str(tmp_path / "c.onnx"), "--card"],
                   capsys)  # fmt: skip
    assert "symbolic link" in err


@pytest.mark.slow
def test_savedmodel_holds_the_network(run_folder, tmp_path, capsys):
    pytest.importorskip("tensorflow")
    import tensorflow as tf

    model = run_folder / "best_model.skmlp"
    out = tmp_path / "served"
    err = _refused(["export", str(model), str(out), "--format", "savedmodel"], capsys)
    assert "step 'scale' (PixelScaler) would be left out" in err
    argv = ["export", str(model), str(out), "--format", "savedmodel", "--network-only"]
    assert main(argv) == 0
    pipe = skmlp.load(model)
    served = tf.saved_model.load(str(out))
    scaled = pipe[:-1].transform(X[:50])
    proba = np.asarray(served.serve(tf.constant(scaled)))
    np.testing.assert_allclose(proba, pipe.predict_proba(X[:50]), atol=ATOL)


_WITHOUT_THE_EXTRA = """
import importlib.abc, sys, warnings
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("onnx", "skl2onnx", "onnxruntime"):
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, Hide())
warnings.simplefilter("ignore")
import numpy as np, skmlp
est = skmlp.MLPClassifier(hidden_layer_sizes=(4,), max_iter=2)
est.fit(np.random.rand(20, 3), np.arange(20) % 2)
try:
    skmlp.export(est, sys.argv[1])
except ImportError as exc:
    print(exc)
"""


def test_without_the_export_extra_the_error_names_the_install(tmp_path):
    # a machine with skmlp but not its `export` extra: one line saying what to install
    # (it was "No module named 'onnx'")
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _WITHOUT_THE_EXTRA, str(tmp_path / "m.onnx")],
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == (
        "exporting to ONNX needs sklearn-onnx and onnx: pip install 'skmlp[export]'"
    )
    assert not (tmp_path / "m.onnx").exists()
