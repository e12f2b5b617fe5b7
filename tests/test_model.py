"""build_mlp: the network, without any training."""

import math

import keras
import numpy as np
import pytest

from skmlp import build_mlp
from skmlp._model import seed_initializer

# The seed notebook's six architectures and the parameter counts its
# model.summary() printed.
SEED_PARAMS = [
    ((256, 64), False, 0.0, 218_058),
    ((256, 64), True, 0.3, 219_338),
    ((1024, 512, 256), False, 0.0, 1_462_538),
    ((1024, 512, 256), True, 0.5, 1_469_706),
    ((2048, 1024, 256, 128, 64), False, 0.0, 4_010_058),
    ((2048, 1024, 256, 128, 64), True, 0.5, 4_024_138),
]


@pytest.mark.parametrize("widths, bn, rate, n_params", SEED_PARAMS)
def test_seed_parameter_counts(widths, bn, rate, n_params):
    model = build_mlp(784, 10, widths, batch_norm=bn, dropout=rate)
    assert model.count_params() == n_params


def test_layer_order_follows_the_seed():
    model = build_mlp(20, 3, (8, 4), batch_norm=True, dropout=0.25)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == [
        "Dense", "BatchNormalization", "Dropout",
        "Dense", "BatchNormalization", "Dropout",
        "Dense",
    ]  # fmt: skip
    assert model.layers[-1].activation.__name__ == "softmax"
    assert model.layers[2].rate == 0.25
    assert model.output_shape == (None, 3)


def test_no_optional_layers_by_default():
    model = build_mlp(5, 2, (7,))
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dense"]


def test_seed_initializer_stddev():
    # the seed's formula: sqrt(2 / (fan_in + 1)); 0.088 for a 256-wide input
    assert seed_initializer(256).stddev == pytest.approx(math.sqrt(2 / 257))
    model = build_mlp(784, 10, (1024, 512), kernel_initializer="seed_notebook")
    init = model.layers[1].kernel_initializer
    assert isinstance(init, keras.initializers.RandomNormal)
    assert init.stddev == pytest.approx(math.sqrt(2 / 1025))
    # the empirical spread of the drawn weights matches
    kernel = keras.ops.convert_to_numpy(model.layers[0].kernel)
    assert np.std(kernel) == pytest.approx(math.sqrt(2 / 785), rel=0.02)


def test_non_relu_and_named_initializers():
    tanh = build_mlp(10, 3, (6,), activation="tanh", kernel_initializer="seed_notebook")
    assert isinstance(tanh.layers[0].kernel_initializer, keras.initializers.GlorotUniform)
    named = build_mlp(10, 3, (6,), kernel_initializer="he_uniform")
    assert isinstance(named.layers[0].kernel_initializer, keras.initializers.HeUniform)


def test_l2_applies_to_kernels_only():
    model = build_mlp(4, 2, (3,), l2=0.5)
    assert model.layers[0].kernel_regularizer is not None
    assert model.layers[0].bias_regularizer is None


def test_forward_pass_gives_probabilities():
    model = build_mlp(6, 4, (5, 5), batch_norm=True, dropout=0.5)
    out = keras.ops.convert_to_numpy(model(np.ones((3, 6), dtype="float32"), training=False))
    assert out.shape == (3, 4)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_classes=1), "n_classes"),
        (dict(hidden_layer_sizes=(4, 0)), "hidden_layer_sizes"),
        (dict(dropout=1.0), "dropout"),
        (dict(activation="softplus2"), "activation"),
    ],
)
def test_build_mlp_rejects_bad_arguments(kwargs, match):
    args = dict(n_features=4, n_classes=3, hidden_layer_sizes=(4,)) | kwargs
    with pytest.raises(ValueError, match=match):
        build_mlp(**args)


@pytest.mark.parametrize("init", ["auto", "seed_notebook", "he_normal", "zeros"])
def test_seed_fixes_every_random_part(init):
    def weights(seed):
        model = build_mlp(6, 3, (5, 4), dropout=0.5, kernel_initializer=init, seed=seed)
        x = np.ones((64, 6), dtype="float32")
        # dropout in training mode draws from the layers' own seed generators
        out = keras.ops.convert_to_numpy(model(x, training=True))
        return [*model.get_weights(), out]

    for a, b in zip(weights(1), weights(1), strict=True):
        np.testing.assert_array_equal(a, b)
    if init != "zeros":
        assert not np.allclose(weights(1)[0], weights(2)[0])


def test_param_count_matches_the_built_network():
    from skmlp._model import mlp_param_count

    for sizes, bn, n_out, act in [((7,), False, 1, "logistic"), ((8, 4), True, 3, "softmax")]:
        model = build_mlp(5, n_out, sizes, batch_norm=bn, output_activation=act)
        assert mlp_param_count(5, sizes, n_out, batch_norm=bn) == model.count_params()


def test_param_budget_refuses_huge_networks():
    from skmlp._model import MAX_PARAMS, check_param_budget, mlp_param_count

    check_param_budget(mlp_param_count(784, (256, 64), 10))
    with pytest.raises(ValueError, match="parameters, more than"):
        check_param_budget(mlp_param_count(10, (10**9,), 2))
    with pytest.raises(ValueError, match="use smaller hidden_layer_sizes"):
        check_param_budget(MAX_PARAMS + 1)


@pytest.mark.parametrize(
    "activation, keras_name",
    [("logistic", "sigmoid"), ("identity", "linear"), ("exp", "exponential")],
)
def test_output_activations(activation, keras_name):
    model = build_mlp(4, 1, (3,), output_activation=activation)
    assert model.layers[-1].activation.__name__ == keras_name
    with pytest.raises(ValueError, match="output_activation"):
        build_mlp(4, 1, (3,), output_activation="relu")


@pytest.mark.parametrize(
    "name, std, bound",
    [
        ("glorot_uniform", math.sqrt(2 / (300 + 200)), math.sqrt(6 / 500)),
        ("he_uniform", math.sqrt(2 / 300), math.sqrt(6 / 300)),
        ("lecun_normal", math.sqrt(1 / 300), 2 * math.sqrt(1 / 300) / 0.87962566103423978),
        ("he_normal", math.sqrt(2 / 300), 2 * math.sqrt(2 / 300) / 0.87962566103423978),
        ("glorot_normal", math.sqrt(2 / 500), 2 * math.sqrt(2 / 500) / 0.87962566103423978),
        ("random_normal", 0.05, None),
        ("random_uniform", 0.05 * 2 / math.sqrt(12), 0.05),
        ("truncated_normal", None, 0.1),
    ],
)
def test_seeded_initializers_are_drawn_with_numpy(name, std, bound):
    from skmlp._model import _initializers, host_draw

    init, _ = _initializers(name, "relu", 300, 200, seed=7)
    values = host_draw(init, (300, 200))
    assert values is not None and values.shape == (300, 200)
    np.testing.assert_array_equal(values, host_draw(init, (300, 200)))  # seeded
    assert abs(values.mean()) < 0.01
    if std is not None:
        assert values.std() == pytest.approx(std, rel=0.03)
    if bound is not None:
        assert np.abs(values).max() <= bound
        assert np.abs(values).max() > 0.9 * bound


def test_built_network_holds_the_numpy_draws_and_names_the_keras_initializer():
    from skmlp._model import _initializers, _layer_seeds, host_draw

    for rule, kind in [("seed_notebook", "RandomNormal"), ("auto", "RandomUniform")]:
        model = build_mlp(6, 3, (5, 4), seed=11, kernel_initializer=rule)
        seeds = _layer_seeds(11, 5)
        first = model.get_layer("hidden_1")
        kernel_init, bias_init = _initializers(rule, "relu", 6, 5, seeds[0])
        pairs = [(kernel_init, first.kernel)]
        if rule == "auto":  # scikit-learn draws the biases too; the seed's are zeros
            pairs.append((bias_init, first.bias))
        else:
            assert not keras.ops.convert_to_numpy(first.bias).any()
        for init, weight in pairs:
            expected = host_draw(init, tuple(weight.shape))
            drawn = keras.ops.convert_to_numpy(weight)
            if keras.backend.backend() == "jax":  # drawn with NumPy there only
                np.testing.assert_allclose(drawn, expected, rtol=1e-6)
            else:
                assert not np.allclose(drawn, expected)
        assert type(first.kernel_initializer).__name__ == kind
        assert first.kernel_initializer.seed == seeds[0]
    # not a distribution skmlp draws itself: Keras draws it
    assert host_draw(keras.initializers.Orthogonal(seed=1), (3, 3)) is None
    orthogonal = build_mlp(6, 3, (5,), kernel_initializer="orthogonal", seed=1)
    kernel = keras.ops.convert_to_numpy(orthogonal.get_layer("hidden_1").kernel)
    np.testing.assert_allclose(kernel.T @ kernel, np.eye(5), atol=1e-5)  # Keras' orthogonal
