"""Trust: no model file a user is handed can run code, exhaust memory or escape as a traceback.

The hostile files come from ``tests/_hostile.py``, generated from one small legitimate
model; each must be refused with a message saying why, and while allocating little
(``peak_allocation``): a budget checked only after the bytes it bounds were allocated
still refuses, but too late. ``benchmarks/bench_hostile_files.py`` measures the memory
their loading takes in a fresh process.
"""

import os
import re
import stat
import warnings
import zipfile

import joblib
import numpy as np
import pytest
from _hostile import (
    assert_refused_without_import,
    canary_module,
    evil_pickle,
    extra_inner_member,
    hostile_files,
    network_naming_module,
    peak_allocation,
)
from sklearn.exceptions import ConvergenceWarning

import skmlp
from skmlp import ModelFileError
from skmlp.cli import main
from skmlp.datasets import load_digits
from skmlp.experiment import make_pipeline


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.fixture(scope="module")
def legit(digits, tmp_path_factory):
    """A small fitted pipeline, its .skmlp bytes and its joblib path."""
    pipe = make_pipeline(16, max_iter=1, hidden_layer_sizes=(8,), batch_norm=True, dropout=0.1,
                         random_state=0)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(digits.X_train, digits.y_train)
    folder = tmp_path_factory.mktemp("legit")
    path = skmlp.save(pipe, folder / "model.skmlp")
    joblib.dump(pipe, folder / "model.joblib")
    return pipe, path.read_bytes(), folder / "model.joblib"


@pytest.fixture(scope="module")
def cases(legit):
    return hostile_files(legit[1])


CASES = [
    "truncated", "empty", "pickle-renamed", "joblib-zlib-renamed", "bzip2-member",
    "deflate-bomb", "duplicate-manifest", "deep-manifest", "deep-manifest-json",
    "huge-manifest", "manifest-repeated-key", "long-label", "padded-labels",
    "array-shape-lies", "steps-malformed", "float-word", "state-sets-method",
    "state-wrong-type", "classes-vs-outputs", "features-vs-inputs", "network-member-missing",
    "wide-layer", "absurd-width", "build-config-lies", "keras-internal-module",
    "keras-backend-module", "lambda-layer", "deep-config", "h5-unallocated-weights",
    "duplicate-inner-member", "inner-bzip2",
]  # fmt: skip


def test_the_case_list_is_complete(cases):
    assert sorted(cases) == sorted(CASES)


#: The most memory Python may allocate (what tracemalloc sees: bytes objects, NumPy
#: buffers) while refusing any hostile case. Measured (Python 3.11, TensorFlow backend)
#: on the unbroken loader: at most 1.4 MiB (long-label and padded-labels, which parse a
#: manifest of 20,000 labels), 0.6 MiB for the rest (0.2 MiB for deflate-bomb). With
#: every zip member decompressed before its size is checked, deflate-bomb (a 75 KB
#: file) takes 141 MiB and huge-manifest 46 MiB: 4 MiB lies well between.
MAX_REFUSAL_ALLOCATION = 4 * 2**20


def _refuse(path, reason):
    with pytest.raises(ModelFileError, match=reason) as info:
        skmlp.load(path)
    assert str(path) in str(info.value)  # every refusal names the file


@pytest.mark.parametrize("case", CASES)
def test_hostile_file_is_refused_with_model_file_error(case, cases, tmp_path):
    data, reason = cases[case]
    path = tmp_path / f"{case}.skmlp"
    path.write_bytes(data)
    assert len(data) < 2**20, "hostile files are small"
    _refuse(path, reason)  # also imports and caches what a load needs once, uncounted
    peak = peak_allocation(lambda: _refuse(path, reason))
    assert peak < MAX_REFUSAL_ALLOCATION, (
        f"refusing {case} allocated {peak / 2**20:.1f} MiB: a budget checked too late?"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # nothing left beside it


def test_a_pickle_renamed_skmlp_never_runs(tmp_path, capsys):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.skmlp"
    path.write_bytes(evil_pickle(marker))
    with pytest.raises(ModelFileError, match="pickle"):
        skmlp.load(path)
    np.save(tmp_path / "x.npy", np.zeros((2, 64)))
    assert main(["predict", str(path), str(tmp_path / "x.npy")]) == 2
    err = capsys.readouterr().err
    assert "--trust-pickle" in err and err.count("\n") == 1
    assert not marker.exists()


def test_truncated_skmlp_is_never_unpickled_even_when_pickles_are_trusted(legit, tmp_path, capsys):
    path = tmp_path / "best_model.skmlp"
    path.write_bytes(legit[1][: len(legit[1]) // 2])
    np.save(tmp_path / "x.npy", np.zeros((2, 64)))
    assert main(["predict", str(path), str(tmp_path / "x.npy"), "--trust-pickle"]) == 2
    assert "not a complete zip archive" in capsys.readouterr().err
    with pytest.raises(ModelFileError, match="zip archive"):
        skmlp.load_pickle(path)


def test_joblib_needs_the_explicit_opt_in(legit, digits, tmp_path, capsys):
    pipe, _, joblib_path = legit
    with pytest.raises(ModelFileError, match=r"skmlp\.load_pickle"):
        skmlp.load(joblib_path)
    np.testing.assert_array_equal(
        skmlp.load_pickle(joblib_path).predict(digits.X_test), pipe.predict(digits.X_test)
    )
    np.save(tmp_path / "x.npy", digits.X_test[:3])
    assert main(["predict", str(joblib_path), str(tmp_path / "x.npy")]) == 2
    assert "--trust-pickle" in capsys.readouterr().err
    assert main(["predict", str(joblib_path), str(tmp_path / "x.npy"), "--trust-pickle"]) == 0
    assert capsys.readouterr().out.count("\n") == 4  # header + 3 rows


def test_only_the_expected_network_members_reach_keras(legit, digits, tmp_path, monkeypatch):
    import keras

    seen = []
    real = keras.saving.load_model

    def spy(path, *args, **kwargs):
        with zipfile.ZipFile(path) as zf:
            seen.append(sorted(zf.namelist()))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(keras.saving, "load_model", spy)
    path = tmp_path / "extra.skmlp"
    path.write_bytes(extra_inner_member(legit[1]))
    model = skmlp.load(path)
    assert seen == [["config.json", "metadata.json", "model.weights.h5"]]
    np.testing.assert_array_equal(model.predict(digits.X_test), legit[0].predict(digits.X_test))


@pytest.mark.parametrize("named", ["keras-backend", "canary"])
def test_a_file_cannot_make_skmlp_import_a_module(named, legit, tmp_path):
    """A network naming a layer from some module is refused without importing it.

    The Keras backend module is imported already (under TensorFlow), so only the
    import spy can see it imported again; the canary module is importable but never
    imported, so importing it would also add it to sys.modules and write its marker.
    """
    with canary_module(tmp_path / "modules") as (canary, marker):
        module = canary if named == "canary" else "keras.src.backend.tensorflow.core"
        path = tmp_path / "m.skmlp"
        path.write_bytes(network_naming_module(legit[1], module))
        match = rf"names '{re.escape(module)}\.Dense'.*not one of the Keras layers skmlp loads"
        assert_refused_without_import(lambda: skmlp.load(path), module, marker, match)


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_follow_the_umask(umask, mode, legit, tmp_path):
    old = os.umask(umask)
    try:
        skmlp.save(legit[0], tmp_path / "m.skmlp")
        from skmlp._io import atomic_write_json

        atomic_write_json(tmp_path / "r.json", {"a": 1})
    finally:
        os.umask(old)
    for name in ["m.skmlp", "r.json"]:
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name


def test_legit_file_still_round_trips(legit, digits, tmp_path):
    path = tmp_path / "ok.skmlp"
    path.write_bytes(legit[1])
    np.testing.assert_array_equal(
        skmlp.load(path).predict_proba(digits.X_test), legit[0].predict_proba(digits.X_test)
    )


def test_file_format_is_told_by_content(legit, tmp_path):
    from skmlp._persistence import file_format

    for name, data, kind in [
        ("a.joblib", legit[1], "zip"),
        ("a.skmlp", legit[2].read_bytes(), "pickle"),
        ("b.skmlp", b"", "empty"),
        ("c.skmlp", b"hello", "unknown"),
    ]:
        (tmp_path / name).write_bytes(data)
        assert file_format(tmp_path / name) == kind
