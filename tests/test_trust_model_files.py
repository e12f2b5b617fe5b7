"""Issue 24, findings 3 and 6: ``.skmlp`` files that passed every budget and still allocated.

Finding 3: the allowlist checked class names wherever they appeared, and Keras builds
whatever object a config names in whatever place: a Dense layer with a huge
``lora_rank``, or a Dense layer as another layer's activation or initializer, loaded
and allocated without bound. The config is now checked place by place
(``skmlp/_persistence/_schema.py``). Finding 6: members sharing their bytes (a zip
bomb by overlap) were each read whole; the central directory is now checked first.
The hostile files come from ``tests/_hostile_models.py`` at a small scale; its
``CASES`` (the issue's full scale) are run once here through the command line.
"""

import io
import warnings
import zipfile

import numpy as np
import pytest
from _hostile import _first_dense, _layers, edit_config, peak_allocation
from _hostile_models import (
    CASES,
    config_edit,
    dense_as_activation,
    dense_as_initializer,
    legit_model,
    lora_rank,
    member_past_the_data,
    overlapping_inner_members,
    overlapping_members,
    shared_object_swap,
)
from sklearn.exceptions import ConvergenceWarning

import skmlp
from skmlp import MLPClassifier, MLPRegressor, ModelFileError
from skmlp.cli import main

MAX_REFUSAL_ALLOCATION = 4 * 2**20  # as tests/test_security.py


@pytest.fixture(scope="module")
def legit(tmp_path_factory):
    folder = tmp_path_factory.mktemp("legit")
    return legit_model(folder), folder


def _refused(data: bytes, tmp_path, match: str) -> str:
    path = tmp_path / "hostile.skmlp"
    path.write_bytes(data)
    assert len(data) < 2**20, "hostile files are small"
    with pytest.raises(ModelFileError, match=match) as info:
        skmlp.load(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message  # one line, naming the file

    def again():
        with pytest.raises(ModelFileError):
            skmlp.load(path)

    peak = peak_allocation(again)
    assert peak < MAX_REFUSAL_ALLOCATION, f"the refusal allocated {peak / 2**20:.1f} MiB"
    return message


# ---------------------------------------------------------------- finding 3
def test_3_lora_rank_is_refused(legit, tmp_path):
    _refused(lora_rank(legit[0], rank=4), tmp_path,
             r"\(Dense\)\.lora_rank is 4, not null")  # fmt: skip


def test_3_dense_layer_as_activation_is_refused(legit, tmp_path):
    match = r"\(Dense\)\.activation is .*Dense.*, not one of \[null, \"linear\""
    message = _refused(dense_as_activation(legit[0], units=16), tmp_path, match)
    assert '"relu"' in message  # activations are Keras' own names, nothing else


def test_3_dense_layer_as_initializer_is_refused(legit, tmp_path):
    _refused(dense_as_initializer(legit[0], units=16), tmp_path,
             r"names 'keras.layers.Dense' at .*kernel_initializer, which is not one of the "
             r"Keras initializers skmlp loads there")  # fmt: skip


def test_3_shared_object_cannot_swap_in_a_layer(legit, tmp_path):
    """An allowed class with the shared-object id of a Dense layer would be that layer."""
    _refused(shared_object_swap(legit[0], units=16), tmp_path, "kernel_regularizer")

    def zeros_shared_with_a_regularizer(config):
        first = _first_dense(config)["config"]
        first["kernel_regularizer"] = {"module": "keras.regularizers", "class_name": "L2",
                                       "config": {"l2": 0.1}, "shared_object_id": 3}  # fmt: skip
        first["bias_initializer"] = {"module": "keras.initializers", "class_name": "Zeros",
                                     "config": {}, "shared_object_id": 3}  # fmt: skip

    _refused(edit_config(legit[0], zeros_shared_with_a_regularizer), tmp_path,
             "shares object 3 between different objects")  # fmt: skip


@pytest.mark.parametrize(
    "layer, key, value, match",
    [
        ("Dense", "activation", "hard_silu", "activation is .*not one of"),
        ("Dense", "activation", {"module": "keras.layers", "class_name": "Dropout",
                                 "config": {"rate": 0.5}}, "activation is .*not one of"),
        ("Dense", "kernel_regularizer", {"module": "keras.regularizers", "class_name": "L2",
                                         "config": {"l2": 1e300}}, r"l2 is 1e\+300, outside"),
        ("Dense", "kernel_regularizer", {"module": "keras.initializers", "class_name": "Zeros",
                                         "config": {}}, "Keras regularizers skmlp loads there"),
        ("Dropout", "seed", 2**40, "seed is 1099511627776, not an integer in"),
        ("Dropout", "noise_shape", [None, 5], "noise_shape is .*not null"),
        ("Dense", "dtype", {"module": "keras", "class_name": "DTypePolicy",
                            "config": {"name": "int64"}},
         r"dtype \(DTypePolicy\)\.name is \"int64\""),
    ],
)  # fmt: skip
def test_3_argument_out_of_its_place_or_range_is_refused(layer, key, value, match, legit, tmp_path):
    _refused(config_edit(legit[0], layer, key, value), tmp_path, match)


def test_3_optimizer_and_compile_settings_are_bounded(legit, tmp_path):
    def accumulate(config):
        config["compile_config"]["optimizer"]["config"]["gradient_accumulation_steps"] = 2**30

    _refused(edit_config(legit[0], accumulate), tmp_path, "gradient_accumulation_steps is")

    def metric_object(config):
        config["compile_config"]["metrics"] = [_layers(config)[-1]]

    _refused(edit_config(legit[0], metric_object), tmp_path, r"metrics\[0\] is")


def test_3_units_must_match_the_weights_present(legit, tmp_path):
    """A hidden layer one unit wider, every shape after it consistent: the weights file
    still holds more bytes than the parameters (optimizer slots), but not its kernel."""

    def widen(config):
        layers = _layers(config)
        first = layers.index(_first_dense(config))
        layers[first]["config"]["units"] = 9
        for layer in layers[first + 1 :]:
            if "build_config" in layer:
                layer["build_config"]["input_shape"] = [None, 9]
            if layer["class_name"] == "Dense":
                break

    _refused(edit_config(legit[0], widen), tmp_path,
             r"weight array layers/dense/vars/0 has shape \(64, 8\), but the network's config "
             r"builds it as \(64, 9\)")  # fmt: skip


def _round_trip(est, X, y, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    back = skmlp.load(skmlp.save(est, tmp_path / "m.skmlp"))
    np.testing.assert_allclose(back.predict(X), est.predict(X))


@pytest.mark.parametrize(
    "make",
    [
        lambda: MLPClassifier((4, 3), batch_norm=True, dropout=0.2, input_dropout=0.1,
                              max_norm=2.0, alpha=0.1, weight_decay=0.01, random_state=0),
        lambda: MLPClassifier((4,), solver="sgd", momentum=0.5, activation="tanh"),
        lambda: MLPClassifier((4,), solver="lbfgs", activation="logistic", alpha=0.01),
        lambda: MLPClassifier((4,), activation="swish", kernel_initializer="orthogonal"),
        lambda: MLPClassifier((), kernel_initializer="variance_scaling"),
        lambda: MLPRegressor(hidden_layer_sizes=(4,), loss="poisson", activation="gelu"),
        lambda: MLPRegressor(hidden_layer_sizes=(4,), batch_norm=True, activation="leaky_relu"),
    ],
)  # fmt: skip
def test_3_every_network_skmlp_saves_still_loads(make, tmp_path):
    """Ordinary use (passes before the change too)."""
    rng = np.random.RandomState(0)
    X = rng.rand(30, 5)
    est = make()
    y = np.abs(X[:, 0]) if isinstance(est, MLPRegressor) else np.arange(30) % 3
    est.set_params(max_iter=2)
    _round_trip(est, X, y, tmp_path)


def test_3_first_format_file_still_loads():
    """The first released format (ordinary use; passes before the change too)."""
    from pathlib import Path

    model = skmlp.load(Path(__file__).parent / "data" / "first_format.skmlp")
    assert model.predict(np.zeros((2, 64))).shape == (2,)


# ---------------------------------------------------------------- finding 6
def test_6_overlapping_members_are_refused(legit, tmp_path):
    data = overlapping_members(legit[0], count=60, size=2 * 2**20)  # 120 MB before the check
    _refused(data, tmp_path, r"members models/pad_\d+\.bin and models/pad_\d+\.bin overlap")


def test_6_overlapping_network_members_are_refused(legit, tmp_path):
    _refused(overlapping_inner_members(legit[0]), tmp_path,
             r"\(Keras archive\): members .* overlap")  # fmt: skip


def test_6_member_names_reach_the_message_escaped(legit, tmp_path):
    """A member name with a newline and a terminal escape sequence: one plain line."""
    data = overlapping_inner_members(legit[0], count=2, prefix="assets/\x1b[2J\nx")
    message = _refused(data, tmp_path, r"members assets/\\x1b\[2J\\nx0 and")
    assert "\x1b" not in message


def test_6_member_running_past_its_data_is_refused(legit, tmp_path):
    _refused(member_past_the_data(legit[0]), tmp_path, "past the member data's end")


def test_6_every_member_is_read_once(legit, tmp_path, monkeypatch):
    opened = []
    real = zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):
        if self.filename in (None, str(path)):  # the file, and the network inside it
            opened.append(getattr(name, "filename", name))  # (not Keras' read of a clean copy)
        return real(self, name, *args, **kwargs)

    path = tmp_path / "ok.skmlp"
    path.write_bytes(legit[0])
    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    skmlp.load(path)
    assert sorted(opened) == sorted(set(opened)), f"read more than once: {opened}"
    with zipfile.ZipFile(io.BytesIO(legit[0])) as zf:
        assert set(zf.namelist()) <= set(opened)


# ------------------------------------------------ the benchmark's cases, full scale
@pytest.mark.parametrize("finding, name, make", CASES, ids=[c[1] for c in CASES])
def test_full_scale_cases_are_refused_on_the_command_line(finding, name, make, legit, tmp_path,
                                                          monkeypatch, capsys):  # fmt: skip
    for source in ("legit.skmlp", "x.npy"):
        (tmp_path / source).write_bytes((legit[1] / source).read_bytes())
    args = make(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "hostile.skmlp" in err, err
