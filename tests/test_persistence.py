"""skmlp.save / skmlp.load: pickle-free model files."""

import hashlib
import importlib.util
import io
import json
import os
import re
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pytest
from _hostile import assert_refused_without_import, canary_module
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import skmlp
from skmlp import MLPClassifier, ModelFileError, PixelScaler
from skmlp.datasets import load_digits
from skmlp.experiment import make_pipeline


def _quiet_fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.fixture(scope="module")
def pipeline(digits):
    pipe = make_pipeline(16, max_iter=3, batch_norm=True, dropout=0.2, random_state=0)
    return _quiet_fit(pipe, digits.X_train, digits.y_train)


@pytest.fixture
def saved(pipeline, tmp_path):
    return skmlp.save(pipeline, tmp_path / "model.skmlp")


def test_experiment_pipeline_round_trip(pipeline, saved, digits):
    loaded = skmlp.load(saved)
    assert isinstance(loaded, Pipeline) and [n for n, _ in loaded.steps] == ["scale", "mlp"]
    np.testing.assert_array_equal(
        loaded.predict_proba(digits.X_test), pipeline.predict_proba(digits.X_test)
    )
    mlp, orig = loaded.named_steps["mlp"], pipeline.named_steps["mlp"]
    assert mlp.get_params() == orig.get_params()
    assert mlp.history_ == orig.history_ and mlp.n_iter_ == orig.n_iter_
    np.testing.assert_array_equal(mlp.classes_, orig.classes_)
    assert mlp.classes_.dtype == orig.classes_.dtype
    for a, b in zip(mlp.coefs_, orig.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("labels", ["int", "str", "object"])
def test_estimator_round_trip_label_types(labels, digits, tmp_path):
    y = digits.y_train
    if labels == "str":
        y = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                      "nine"])[y]  # fmt: skip
    elif labels == "object":
        y = np.array([f"c{v}" for v in y], dtype=object)
    clf = _quiet_fit(MLPClassifier((16,), max_iter=2, random_state=0), digits.X_train / 16, y)
    loaded = skmlp.load(skmlp.save(clf, tmp_path / "m.skmlp"))
    X = digits.X_test / 16
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    assert loaded.classes_.dtype == clf.classes_.dtype


def test_round_trip_after_warm_start_keeps_training_state(digits, tmp_path):
    X, y = digits.X_train / 16, digits.y_train
    clf = MLPClassifier((16,), max_iter=2, warm_start=True, random_state=0,
                        class_weight={0: 2.0})  # fmt: skip
    _quiet_fit(clf, X, y)
    _quiet_fit(clf, X, y)  # warm start: 4 epochs in all
    loaded = skmlp.load(skmlp.save(clf, tmp_path / "w.skmlp"))
    # n_iter_ counts the last fit's epochs (scikit-learn's rule), the curve all of them
    assert loaded.n_iter_ == 2 and len(loaded.loss_curve_) == 4
    assert loaded.class_weight == {0: 2.0}
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    # the optimizer state travelled: one more epoch on each gives the same weights
    joblib_copy = joblib.load(_joblib(clf, tmp_path))
    _quiet_fit(loaded, X, y)
    _quiet_fit(joblib_copy, X, y)
    assert loaded.n_iter_ == 2 and len(loaded.loss_curve_) == 6
    np.testing.assert_allclose(loaded.coefs_[0], joblib_copy.coefs_[0], rtol=1e-5, atol=1e-6)


def _joblib(obj, tmp_path):
    path = tmp_path / "copy.joblib"
    joblib.dump(obj, path)
    return path


def test_standard_scaler_pipeline(digits, tmp_path):
    mlp = MLPClassifier((8,), max_iter=2, random_state=0)
    pipe = Pipeline([("std", StandardScaler()), ("mlp", mlp)])
    _quiet_fit(pipe, digits.X_train, digits.y_train)
    loaded = skmlp.load(skmlp.save(pipe, tmp_path / "s.skmlp"))
    np.testing.assert_array_equal(loaded.predict_proba(digits.X_test),
                                  pipe.predict_proba(digits.X_test))  # fmt: skip


def test_unsupported_step_points_to_joblib(digits, tmp_path):
    pipe = Pipeline([("scale", PixelScaler(16)), ("svc", SVC())]).fit(
        digits.X_train, digits.y_train
    )
    with pytest.raises(TypeError, match=r"SVC.*joblib\.dump"):
        skmlp.save(pipe, tmp_path / "x.skmlp")
    assert not (tmp_path / "x.skmlp").exists()


def test_unfitted_is_refused(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        skmlp.save(MLPClassifier(), tmp_path / "u.skmlp")


# ----------------------------------------------------------- integrity
def _rewrite(path, change):
    """Rewrite a zip, passing each member's bytes through change(name, data)."""
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members = {n: change(n, d) for n, d in members.items()}
    members = {n: d for n, d in members.items() if d is not None}
    with zipfile.ZipFile(path, "w") as zf:
        for n, d in members.items():
            zf.writestr(n, d)


def test_truncated_file_is_refused(saved):
    data = saved.read_bytes()
    saved.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="not a complete zip archive"):
        skmlp.load(saved)


def test_altered_network_is_refused(saved):
    def flip(name, data):
        if name.endswith(".keras"):
            data = bytearray(data)
            data[len(data) // 2] ^= 0xFF
        return bytes(data)

    _rewrite(saved, flip)
    with pytest.raises(ModelFileError, match=r"models/mlp\.keras does not match its checksum"):
        skmlp.load(saved)


def test_altered_manifest_is_refused(saved):
    _rewrite(saved, lambda n, d: d.replace(b'"dropout"', b'"dr0pout"') if n == "skmlp.json" else d)
    with pytest.raises(ModelFileError, match="manifest does not match its checksum"):
        skmlp.load(saved)


def test_foreign_files_are_refused(tmp_path, pipeline):
    joblib_file = _joblib(pipeline, tmp_path)
    with pytest.raises(ModelFileError, match="not an skmlp model file"):
        skmlp.load(joblib_file)  # a pickle is never unpickled
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(ModelFileError, match=r"no skmlp\.json manifest"):
        skmlp.load(other)
    with pytest.raises(FileNotFoundError):
        skmlp.load(tmp_path / "missing.skmlp")


def _edit_manifest(path, edit):
    """Change the manifest and re-sign it, as a malicious author could."""
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    manifest = json.loads(members["skmlp.json"])
    edit(manifest, members)
    members["skmlp.json"] = json.dumps(manifest).encode()
    members["skmlp.json.sha256"] = hashlib.sha256(members["skmlp.json"]).hexdigest().encode()
    for name, data in list(members.items()):
        if name in manifest["members"]:
            manifest["members"][name] = hashlib.sha256(data).hexdigest()
    members["skmlp.json"] = json.dumps(manifest).encode()
    members["skmlp.json.sha256"] = hashlib.sha256(members["skmlp.json"]).hexdigest().encode()
    with zipfile.ZipFile(path, "w") as zf:
        for n, d in members.items():
            zf.writestr(n, d)


def test_newer_format_says_why(saved):
    _edit_manifest(saved, lambda m, _: m.update(format_version=99))
    with pytest.raises(ModelFileError, match=r"format 99.*reads formats up to 1.*upgrade skmlp"):
        skmlp.load(saved)


@pytest.mark.parametrize("named", ["os", "canary"])
def test_file_naming_other_classes_imports_nothing(named, saved, tmp_path):
    """A re-signed file naming a class of some module is refused without importing it.

    ``os`` is imported already, so only the import spy can see it imported again; the
    canary module is importable but never imported, so importing it would also add it
    to sys.modules and write its marker.
    """
    with canary_module(tmp_path / "modules") as (canary, marker):
        module, cls = ("os", "system") if named == "os" else (canary, "Evil")
        _edit_manifest(
            saved, lambda m, _: m["object"]["steps"][0][1].update({"class": f"{module}.{cls}"})
        )
        match = rf"class '{re.escape(module)}\.{cls}' is not one skmlp loads"
        assert_refused_without_import(lambda: skmlp.load(saved), module, marker, match)


def _edit_network(path, edit):
    def change(manifest, members):
        data = members["models/mlp.keras"]
        with zipfile.ZipFile(io.BytesIO(data)) as inner:
            files = {n: inner.read(n) for n in inner.namelist()}
        config = json.loads(files["config.json"])
        edit(config)
        files["config.json"] = json.dumps(config).encode()
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as out:
            for n, d in files.items():
                out.writestr(n, d)
        members["models/mlp.keras"] = buf.getvalue()

    _edit_manifest(path, change)


@pytest.mark.parametrize(
    "layer",
    [
        {"module": "keras.layers", "class_name": "Lambda", "config": {"function": "x"}},
        {"module": "os", "class_name": "system", "config": {}},
        {"module": "keras.layers", "class_name": "Dense", "registered_name": "evil>Dense",
         "config": {}},
    ],
)  # fmt: skip
def test_network_naming_other_layers_is_refused(saved, layer):
    _edit_network(saved, lambda cfg: cfg["config"]["layers"].append(layer))
    with pytest.raises(ModelFileError, match="not one of the Keras layers skmlp loads"):
        skmlp.load(saved)


def test_random_state_instance_is_stored_as_none(digits, tmp_path):
    clf = _quiet_fit(
        MLPClassifier((8,), max_iter=1, random_state=np.random.RandomState(0)),
        digits.X_train / 16,
        digits.y_train,
    )
    with pytest.warns(UserWarning, match="saved as None"):
        path = skmlp.save(clf, tmp_path / "r.skmlp")
    assert skmlp.load(path).random_state is None


def _odd_layout():
    """Layers in places and with flags skmlp never writes, which the loader still counts."""
    import keras

    L = keras.layers
    return keras.Sequential([
        keras.Input((5,)), L.BatchNormalization(center=False), L.Dense(4, use_bias=False),
        L.BatchNormalization(scale=False), L.Dropout(0.1),
        L.BatchNormalization(center=False, scale=False), L.Dense(3), L.BatchNormalization(),
    ])  # fmt: skip


@pytest.mark.parametrize(
    "network",
    [
        lambda: skmlp.build_mlp(5, 3, ()),
        lambda: skmlp.build_mlp(5, 3, (4, 6), batch_norm=True, dropout=0.2, input_dropout=0.1),
        lambda: skmlp.build_mlp(5, 1, (4,), output_activation="identity", dtype="float64"),
        _odd_layout,
    ],
    ids=["no-hidden", "batch-norm-dropout", "regression", "odd-layout"],
)
def test_parameter_count_from_the_config_is_keras_count(network):
    """The count the weights are checked against is exactly what Keras will build."""
    from skmlp._persistence._keras import _keras_bytes, _network_shape

    model = network()
    with zipfile.ZipFile(io.BytesIO(_keras_bytes(model))) as zf:
        config = json.loads(zf.read("config.json"))
    assert _network_shape(config, "test")["n_params"] == model.count_params()


# ---------------------------------------------------------- stored state
def test_each_estimator_declares_its_stored_state_once():
    """The loader checks the keys each estimator declares in _STATE_KEYS: one check each."""
    from skmlp._persistence._classes import _NETWORK_CLASSES, _classes
    from skmlp._persistence._state import _LEGACY_STATE, STATE_CHECKS, STATE_SCHEMAS, _state_keys

    declared = set()
    for name in _NETWORK_CLASSES:
        cls = _classes()[name]
        keys = cls._STATE_KEYS
        assert len(set(keys)) == len(keys), name
        assert not set(keys) - set(STATE_CHECKS), f"{name} stores a key without a check"
        assert STATE_SCHEMAS[name]["required"] <= set(_state_keys(cls)), name
        declared |= set(keys)
    assert set(STATE_CHECKS) == declared, "a check for a key no estimator stores"
    assert not set(_LEGACY_STATE) & declared


def test_stored_state_is_the_declared_state():
    X, y = np.random.RandomState(0).rand(40, 3), np.arange(40) % 2
    clf = _quiet_fit(MLPClassifier((4,), max_iter=2, random_state=0), X, y)
    reg = skmlp.MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    reg = _quiet_fit(reg, X, X[:, 0])
    for est in (clf, reg):
        assert set(est._get_state()) == set(type(est)._STATE_KEYS)


def test_state_from_earlier_versions_still_loads(saved, pipeline, digits):
    """``_fit_batch_size``, which the first format stored and nothing stores now, loads."""

    def state(manifest):
        return manifest["object"]["steps"][1][1]["state"]

    _edit_manifest(saved, lambda m, _: state(m).update(_fit_batch_size=200))
    loaded = skmlp.load(saved)
    assert loaded.named_steps["mlp"]._fit_batch_size == 200  # set, as it always was
    np.testing.assert_array_equal(
        loaded.predict_proba(digits.X_test), pipeline.predict_proba(digits.X_test)
    )
    _edit_manifest(saved, lambda m, _: state(m).update(_fit_batch_size=0))
    with pytest.raises(ModelFileError, match="'_fit_batch_size' is not a positive integer"):
        skmlp.load(saved)
    _edit_manifest(saved, lambda m, _: state(m).update(_batch_size=200))
    with pytest.raises(ModelFileError, match="unexpected stored attribute '_batch_size'"):
        skmlp.load(saved)


DATA = Path(__file__).parent / "data"


def test_first_format_file_still_loads_and_predicts_the_same():
    """A file written by the first released format's code (commit 345f36c) loads today.

    ``tests/data/first_format.skmlp`` and the predictions in ``first_format.json``
    were both written by that commit's code (``tests/data/README.md`` has the
    command); the file lacks the keys later versions store and holds
    ``_fit_batch_size``, so it exercises the loader's branches for old files.
    """
    from sklearn.datasets import load_digits as sklearn_digits

    record = json.loads((DATA / "first_format.json").read_text())
    assert record["written_by"]["module"] == "skmlp._persistence"  # not today's code
    model = skmlp.load(DATA / "first_format.skmlp")
    assert [name for name, _ in model.steps] == ["scale", "mlp"]
    mlp = model.named_steps["mlp"]
    assert (mlp._y_type, mlp.out_activation_, mlp.n_outputs_) == ("multiclass", "softmax", 10)
    X, y = sklearn_digits(return_X_y=True)
    rows = record["rows"]
    np.testing.assert_allclose(
        model.predict_proba(X[rows]), record["predict_proba"], rtol=0, atol=1e-6
    )
    np.testing.assert_array_equal(model.predict(X[rows]), record["predict"])
    # no stored dtypes: a float32 network, float32 weights, and it keeps training as one
    assert mlp.coefs_[0].dtype == np.float32
    mlp.partial_fit(model[:-1].transform(X), y)
    assert mlp.n_iter_ == 6 and len(mlp.loss_curve_) == 6


@pytest.mark.slow  # a subprocess importing Keras
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX is not installed")
def test_file_from_tensorflow_loads_under_jax(saved, pipeline, digits, tmp_path):
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("this test saves under TensorFlow")
    np.save(tmp_path / "X.npy", digits.X_test)
    np.save(tmp_path / "expected.npy", pipeline.predict_proba(digits.X_test))
    code = (
        "import numpy as np, skmlp, keras, sys;"
        "assert keras.backend.backend() == 'jax';"
        f"m = skmlp.load({str(saved)!r});"
        f"p = m.predict_proba(np.load({str(tmp_path / 'X.npy')!r}));"
        f"e = np.load({str(tmp_path / 'expected.npy')!r});"
        "print(np.abs(p - e).max())"
    )
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert float(out.stdout.strip().splitlines()[-1]) < 1e-5


def test_savable_initializers_are_the_model_file_schemas():
    from skmlp._model import SAVABLE_INITIALIZERS
    from skmlp._persistence._schema import CLASSES

    assert SAVABLE_INITIALIZERS == set(CLASSES["initializer"])


def _keras_initializer_names():
    import keras

    return sorted(
        name for name in dir(keras.initializers)
        if name[0].islower() and not name.startswith("_")
        and name not in ("deserialize", "get", "serialize")
    )  # fmt: skip


@pytest.mark.parametrize("name", _keras_initializer_names())
def test_every_keras_initializer_saves_and_loads_or_is_refused_before_training(name, tmp_path):
    # an estimator that trains must also save and load; 'stft' trained, saved, then
    # failed at load (the model-file schema does not list Keras' STFT initializer)
    X = np.random.RandomState(0).rand(12, 4)
    y = np.arange(12) % 2
    est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, kernel_initializer=name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
    except ValueError as exc:
        assert not hasattr(est, "model_"), "refused only after training"
        assert "kernel_initializer" in str(exc) and "\n" not in str(exc)
        return
    path = tmp_path / "m.skmlp"
    skmlp.save(est, path)
    np.testing.assert_array_equal(skmlp.load(path).predict(X), est.predict(X))
