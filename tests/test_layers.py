"""Layers, initializers and regularizers against independent numpy references."""

import numpy as np
import pytest

import kandle as kd
from helpers import assert_tensor_close, f64, grads, randn

EPS = 1e-3  # Keras's default epsilon for both normalization layers


def make(cls, *args, **kwargs):
    return getattr(kd.layers, cls)(*args, **kwargs)


# (class, args, kwargs, input shape, expected output shape)
LAYER_CASES = [
    ("Dense", (4,), {"activation": "gelu"}, (3, 5), (3, 4)),
    ("Dense", (2,), {"use_bias": False, "kernel_regularizer": "l2"}, (3, 2, 5), (3, 2, 2)),
    ("Activation", ("selu",), {}, (3, 5), (3, 5)),
    ("Dropout", (0.3,), {"seed": 4}, (3, 5), (3, 5)),
    ("Flatten", (), {}, (3, 2, 5), (3, 10)),
    ("Reshape", ((5, -1),), {}, (3, 10), (3, 5, 2)),
    ("BatchNormalization", (), {"momentum": 0.9}, (6, 5), (6, 5)),
    ("LayerNormalization", (), {"axis": [1, 2]}, (3, 2, 5), (3, 2, 5)),
    ("Embedding", (7, 3), {}, (3, 4), (3, 4, 3)),
]
CASE_IDS = [f"{c[0]}-{i}" for i, c in enumerate(LAYER_CASES)]


def layer_input(cls, shape, rng):
    if cls == "Embedding":
        return rng.integers(0, 7, shape).astype(np.float32)
    return randn(rng, shape)


@pytest.mark.parametrize("case", LAYER_CASES, ids=CASE_IDS)
def test_shapes_engine_and_compute_output_shape(case, rng):
    cls, args, kwargs, in_shape, out_shape = case
    layer = make(cls, *args, **kwargs)
    assert not layer.built
    x = layer_input(cls, in_shape, rng)
    for training in (None, False, True):
        y = layer(x, training=training)
        assert isinstance(y, kd.Tensor) and y.shape == out_shape
    assert layer.built and isinstance(layer._engine, kd._core.Layer)
    assert layer.compute_output_shape((None, *in_shape[1:])) == (None, *out_shape[1:])
    assert layer.compute_output_shape(in_shape) == out_shape


@pytest.mark.parametrize("case", LAYER_CASES, ids=CASE_IDS)
def test_config_round_trip(case, rng):
    cls, args, kwargs, in_shape, _ = case
    layer = make(cls, *args, **kwargs)
    x = layer_input(cls, in_shape, rng)
    layer(x)
    config = layer.get_config()
    assert config["name"] == layer.name and config["trainable"] is True
    assert config["dtype"] == "float32"
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(clone(x).numpy(), layer(x).numpy())
    for a, b in zip(clone.get_weights(), layer.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_unique_names():
    a, b = kd.layers.BatchNormalization(), kd.layers.BatchNormalization()
    assert a.name.startswith("batch_normalization") and a.name != b.name


def test_direct_build_makes_the_engine():
    # A model builds layers from a shape with an unknown batch size.
    layer = kd.layers.Dense(3)
    layer.build((None, 4))
    assert layer.built and layer._engine is not None
    assert layer(np.ones((2, 4), np.float32)).shape == (2, 3)


# --------------------------------------------------------------------------- Dense


def test_dense_keras_layout_weights_and_names(rng):
    layer = kd.layers.Dense(3)
    layer(randn(rng, (2, 4)))
    assert [w.name for w in layer.weights] == ["kernel", "bias"]
    assert layer.weight.shape == (3, 4) and layer.kernel.shape == (4, 3)
    kernel, bias = layer.get_weights()
    assert kernel.shape == (4, 3) and bias.shape == (3,)
    np.testing.assert_array_equal(kernel, layer.weight.numpy().T)
    new_kernel, new_bias = randn(rng, (4, 3)), randn(rng, (3,))
    layer.set_weights([new_kernel, new_bias])
    np.testing.assert_array_equal(layer.weight.numpy(), new_kernel.T)
    x = randn(rng, (5, 4))
    assert_tensor_close(layer(x), f64(x) @ f64(new_kernel) + f64(new_bias))


def test_set_weights_rejects_wrong_count_and_shapes_changing_nothing(rng):
    layer = kd.layers.Dense(3, name="head")
    layer(randn(rng, (2, 4)))
    before = layer.get_weights()
    with pytest.raises(ValueError) as info:
        layer.set_weights([before[0]])
    assert "'head'" in str(info.value) and "1" in str(info.value) and "2" in str(info.value)
    with pytest.raises(ValueError) as info:
        # A right kernel and a wrong bias: the kernel must not be written either.
        layer.set_weights([randn(rng, (4, 3)), randn(rng, (4,))])
    assert "(3,)" in str(info.value) and "(4,)" in str(info.value)
    with pytest.raises(ValueError) as info:
        layer.set_weights([randn(rng, (3, 4)), before[1]])  # candle layout, not Keras's
    assert "(4, 3)" in str(info.value) and "(3, 4)" in str(info.value)
    for a, b in zip(layer.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_dense_unfused_and_python_activations(rng):
    x = randn(rng, (3, 4))
    layer = kd.layers.Dense(2, activation="leaky_relu", bias_initializer="ones")
    layer(x)  # build
    z = f64(x) @ f64(layer.kernel.numpy()) + 1.0
    assert_tensor_close(layer(x), np.where(z >= 0, z, 0.2 * z), rtol=1e-5, atol=1e-6)

    def double(t):
        return t * 2.0

    custom = kd.layers.Dense(2, activation=double)
    custom(x)
    z = f64(x) @ f64(custom.kernel.numpy())
    assert_tensor_close(custom(x), 2 * z, rtol=1e-5, atol=1e-6)


def test_dense_regularization_penalty(rng):
    layer = kd.layers.Dense(
        3,
        kernel_regularizer=kd.regularizers.L2(0.1),
        bias_regularizer={"class_name": "L1", "config": {"l1": 0.5}},
        bias_initializer=kd.initializers.Constant(-2.0),
    )
    layer(randn(rng, (2, 4)))
    kernel, bias = (f64(w) for w in layer.get_weights())
    expected = 0.1 * (kernel**2).sum() + 0.5 * np.abs(bias).sum()
    np.testing.assert_allclose(float(layer.regularization()), expected, rtol=1e-5)
    plain = kd.layers.Dense(2)
    plain(randn(rng, (1, 4)))
    assert plain.regularization() is None
    # The penalty has a gradient: d/dW 0.1 * sum(W^2) = 0.2 W.
    gw, gb = grads(layer.regularization(), layer.trainable_weights)
    np.testing.assert_allclose(gw, 0.2 * layer.weight.numpy(), rtol=1e-5)
    np.testing.assert_allclose(gb, 0.5 * np.sign(bias), rtol=1e-5)


def test_dense_one_gradient_step_lowers_the_loss(rng):
    kd.utils.set_random_seed(0)
    layer = kd.layers.Dense(1, activation="silu")
    x, y = randn(rng, (16, 3)), randn(rng, (16, 1))

    def loss():
        return ((layer(x, training=True) - kd.tensor(y)) ** 2).mean()

    before = float(loss())
    kd.optimizers.SGD(learning_rate=0.1).apply(
        kd.grad(loss(), layer.trainable_weights), layer.trainable_weights
    )
    assert float(loss()) < before


@pytest.mark.parametrize("units", [0, -3, 2.5, True])
def test_dense_rejects_bad_units(units):
    with pytest.raises(ValueError, match="units"):
        kd.layers.Dense(units)


# --------------------------------------------------------------------------- Dropout


def test_dropout_training_versus_inference(rng):
    rate = 0.3
    layer = kd.layers.Dropout(rate)
    x = rng.uniform(1, 2, (200, 100)).astype(np.float32)
    np.testing.assert_array_equal(layer(x).numpy(), x)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    y = layer(x, training=True).numpy()
    dropped = y == 0
    assert abs(dropped.mean() - rate) < 0.01
    np.testing.assert_allclose(y[~dropped], x[~dropped] / (1 - rate), rtol=1e-6)


def test_dropout_is_deterministic_under_set_random_seed(rng):
    x = randn(rng, (8, 8))
    kd.utils.set_random_seed(5)
    first = kd.layers.Dropout(0.5)(x, training=True).numpy()
    kd.utils.set_random_seed(5)
    second = kd.layers.Dropout(0.5)(x, training=True).numpy()
    kd.utils.set_random_seed(6)
    other = kd.layers.Dropout(0.5)(x, training=True).numpy()
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)
    # A seeded layer repeats whatever the global seed, and advances between calls.
    a, b = kd.layers.Dropout(0.5, seed=3), kd.layers.Dropout(0.5, seed=3)
    np.testing.assert_array_equal(a(x, training=True).numpy(), b(x, training=True).numpy())
    assert not np.array_equal(
        a(x, training=True).numpy(), b(np.ones_like(x), training=True).numpy()
    )


def test_dropout_noise_shape_shares_the_mask_along_axes():
    x = np.ones((6, 10), np.float32)
    y = kd.layers.Dropout(0.5, noise_shape=(None, 1), seed=0)(x, training=True).numpy()
    assert all(len(set(row)) == 1 for row in y.tolist())


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5, float("nan"), "0.5"])
def test_dropout_rejects_bad_rates(rate):
    with pytest.raises(ValueError, match="rate"):
        kd.layers.Dropout(rate)


def test_dropout_gradient_uses_the_mask(rng):
    kd.utils.set_random_seed(1)
    x0 = randn(rng, (4, 5))
    x = kd.Variable(x0)
    y = kd.layers.Dropout(0.5)(x, training=True)
    (g,) = grads(y.sum(), [x])
    mask = y.numpy() / np.where(x0 == 0, 1, x0)
    np.testing.assert_allclose(g, mask, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- Flatten / Reshape


def test_flatten_and_reshape_values(rng):
    x = randn(rng, (2, 3, 4))
    np.testing.assert_array_equal(kd.layers.Flatten()(x).numpy(), x.reshape(2, 12))
    np.testing.assert_array_equal(kd.layers.Reshape((4, 3))(x).numpy(), x.reshape(2, 4, 3))
    np.testing.assert_array_equal(kd.layers.Reshape((-1,))(x).numpy(), x.reshape(2, 12))
    assert kd.layers.Flatten()(np.ones(5, np.float32)).shape == (5, 1)
    assert kd.layers.Flatten().compute_output_shape((None, 3, None)) == (None, None)


def test_reshape_rejects_incompatible_sizes(rng):
    with pytest.raises(ValueError) as info:
        kd.layers.Reshape((5, -1))(randn(rng, (2, 12)))
    assert "12" in str(info.value) and "(5, -1)" in str(info.value)
    layer = kd.layers.Reshape((3, 4))
    layer(randn(rng, (2, 12)))
    with pytest.raises(ValueError):
        layer(randn(rng, (2, 10)))  # a later call with other sizes fails in the engine
    for bad in [(-1, -1), (2, -3), ("a",)]:
        with pytest.raises(ValueError):
            kd.layers.Reshape(bad)


# --------------------------------------------------------------------------- BatchNormalization


def bn_reference(x, gamma, beta, mean, var):
    return gamma * (f64(x) - mean) / np.sqrt(var + EPS) + beta


def test_batch_norm_training_and_inference(rng):
    layer = kd.layers.BatchNormalization(momentum=0.8)
    x = randn(rng, (16, 3), 3.0) + 5
    layer(x)  # build (inference: no statistics change)
    assert [w.name for w in layer.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.trainable for w in layer.weights] == [True, True, False, False]
    assert len(layer.trainable_weights) == 2 and len(layer.non_trainable_weights) == 2
    np.testing.assert_array_equal(layer.moving_mean.numpy(), np.zeros(3))
    gamma, beta = randn(rng, (3,)), randn(rng, (3,))
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    batch_mean, batch_var = f64(x).mean(axis=0), f64(x).var(axis=0)  # biased variance
    y = layer(x, training=True)
    assert_tensor_close(
        y, bn_reference(x, gamma, beta, batch_mean, batch_var), rtol=1e-4, atol=1e-5
    )
    expected_mean = 0.2 * batch_mean
    expected_var = 0.8 * 1.0 + 0.2 * batch_var
    np.testing.assert_allclose(layer.moving_mean.numpy(), expected_mean, rtol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.numpy(), expected_var, rtol=1e-5)
    # Inference normalizes with the moving statistics and leaves them alone.
    assert_tensor_close(
        layer(x), bn_reference(x, gamma, beta, expected_mean, expected_var), rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(layer.moving_mean.numpy(), expected_mean, rtol=1e-5)


def test_batch_norm_over_a_middle_axis_and_without_scale(rng):
    layer = kd.layers.BatchNormalization(axis=1, center=False, scale=False)
    x = randn(rng, (4, 3, 5))
    y = layer(x, training=True)
    assert [w.name for w in layer.weights] == ["moving_mean", "moving_variance"]
    mean = f64(x).mean(axis=(0, 2), keepdims=True)
    var = f64(x).var(axis=(0, 2), keepdims=True)
    assert_tensor_close(y, (f64(x) - mean) / np.sqrt(var + EPS), rtol=1e-4, atol=1e-5)
    assert layer.moving_mean.shape == (3,)


def test_batch_norm_gradient_step(rng):
    layer = kd.layers.BatchNormalization()
    x, c = randn(rng, (8, 3)), f64(randn(rng, (8, 3)))
    layer(x)
    loss = (layer(x, training=True) * kd.tensor(c)).sum()
    g_gamma, g_beta = grads(loss, layer.trainable_weights)
    xhat = (f64(x) - f64(x).mean(0)) / np.sqrt(f64(x).var(0) + EPS)
    np.testing.assert_allclose(g_gamma, (c * xhat).sum(0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(g_beta, c.sum(0), rtol=1e-5, atol=1e-5)


def test_batch_norm_wrong_feature_count(rng):
    layer = kd.layers.BatchNormalization()
    layer(randn(rng, (2, 3)))
    with pytest.raises(ValueError) as info:
        layer(randn(rng, (2, 4)))
    assert "3" in str(info.value) and "(2, 4)" in str(info.value)


# --------------------------------------------------------------------------- LayerNormalization


def test_layer_norm_forward_and_gradient(rng):
    layer = kd.layers.LayerNormalization()
    x = randn(rng, (4, 6), 2.0)
    layer(x)
    assert [w.name for w in layer.weights] == ["gamma", "beta"]
    gamma, beta = randn(rng, (6,)), randn(rng, (6,))
    layer.set_weights([gamma, beta])
    mean, var = f64(x).mean(-1, keepdims=True), f64(x).var(-1, keepdims=True)
    xhat = (f64(x) - mean) / np.sqrt(var + EPS)
    assert_tensor_close(layer(x), gamma * xhat + beta, rtol=1e-4, atol=1e-5)
    # Training and inference agree: no batch statistics.
    np.testing.assert_array_equal(layer(x, training=True).numpy(), layer(x).numpy())
    c = f64(randn(rng, (4, 6)))
    g_gamma, g_beta = grads((layer(x) * kd.tensor(c)).sum(), layer.trainable_weights)
    np.testing.assert_allclose(g_gamma, (c * xhat).sum(0), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(g_beta, c.sum(0), rtol=1e-5, atol=1e-5)


def test_layer_norm_over_several_axes(rng):
    layer = kd.layers.LayerNormalization(axis=[1, 2], center=False, scale=False)
    x = randn(rng, (3, 2, 4))
    mean, var = f64(x).mean((1, 2), keepdims=True), f64(x).var((1, 2), keepdims=True)
    assert_tensor_close(layer(x), (f64(x) - mean) / np.sqrt(var + EPS), rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------------- Embedding


def test_embedding_lookup_gradient_and_default_initializer(rng):
    kd.utils.set_random_seed(0)
    layer = kd.layers.Embedding(10, 4)
    idx = np.array([[1, 2, 1], [9, 0, 1]])
    y = layer(idx)
    (table,) = layer.get_weights()
    assert table.shape == (10, 4) and layer.weights[0].name == "embeddings"
    assert np.abs(table).max() <= 0.05  # Keras's "uniform": RandomUniform(-0.05, 0.05)
    assert_tensor_close(y, f64(table)[idx])
    c = f64(randn(rng, (2, 3, 4)))
    (g,) = grads((layer(idx) * kd.tensor(c)).sum(), layer.trainable_weights)
    expected = np.zeros((10, 4))
    np.add.at(expected, idx, c)  # rows picked several times sum their gradients
    np.testing.assert_allclose(g, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("index", [10, -1, 57])
def test_embedding_rejects_out_of_range_indices(index):
    layer = kd.layers.Embedding(10, 2)
    with pytest.raises(ValueError) as info:
        layer(np.array([[0, index]]))
    assert str(index) in str(info.value) and "input_dim 10" in str(info.value)


def test_embedding_rejects_bad_dims():
    for args in [(0, 2), (3, -1), (2.5, 2)]:
        with pytest.raises(ValueError):
            kd.layers.Embedding(*args)


def test_embedding_takes_keras_s_activity_regularizer_and_input_length_keywords():
    """Keras's Embedding takes the base layer's ``activity_regularizer`` (and writes it,
    None, in its config) and drops Keras 2's ``input_length`` with a warning."""
    layer = kd.layers.Embedding(10, 3, activity_regularizer=None, name="e")
    assert layer.activity_regularizer is None
    assert layer.get_config()["activity_regularizer"] is None
    with pytest.warns(UserWarning, match="`input_length` is deprecated") as caught:
        old_style = kd.layers.Embedding(10, 3, input_length=4)
    assert caught[0].filename == __file__
    assert old_style.compute_output_shape((None, 4)) == (None, 4, 3)
    # kandle has no per-layer activity regularizer: refused by name, never ignored.
    for cls, args in [("Embedding", (10, 3)), ("Dense", (2,)), ("Flatten", ())]:
        with pytest.raises(kd.errors.InvalidArgumentError, match="activity_regularizer='l2'"):
            make(cls, *args, activity_regularizer="l2")


# --------------------------------------------------------------------------- initializers


@pytest.mark.parametrize(
    "name, cls",
    [
        ("glorot_uniform", "GlorotUniform"),
        ("uniform", "RandomUniform"),
        ("normal", "RandomNormal"),
        ("he_normal", "HeNormal"),
        ("lecun_uniform", "LecunUniform"),
        ("zeros", "Zeros"),
        ("ones", "Ones"),
        ("GlorotNormal", "GlorotNormal"),
    ],
)
def test_initializer_names(name, cls):
    assert type(kd.initializers.get(name)).__name__ == cls


def test_initializer_values_and_configs():
    assert kd.initializers.RandomUniform().get_config() == {
        "minval": -0.05,
        "maxval": 0.05,
        "seed": None,
    }
    assert kd.initializers.RandomNormal().get_config() == {
        "mean": 0.0,
        "stddev": 0.05,
        "seed": None,
    }
    np.testing.assert_array_equal(kd.initializers.Constant(3.0)((2, 2)), np.full((2, 2), 3.0))
    u = kd.initializers.RandomUniform(1.0, 2.0)((1000,))
    assert u.dtype == np.float32 and u.min() >= 1.0 and u.max() < 2.0
    n = kd.initializers.RandomNormal(mean=5.0, stddev=2.0)((20000,))
    assert abs(n.mean() - 5.0) < 0.1 and abs(n.std() - 2.0) < 0.1
    he = kd.initializers.HeUniform()((400, 300))
    assert np.abs(he).max() <= np.sqrt(6 / 400) and np.abs(he).max() > 0.9 * np.sqrt(6 / 400)
    seeded = kd.initializers.GlorotNormal(seed=4)
    np.testing.assert_array_equal(seeded((3, 3)), seeded((3, 3)))
    for init in [
        kd.initializers.Constant(2.0),
        kd.initializers.HeNormal(seed=1),
        kd.initializers.RandomUniform(-1.0, 1.0),
    ]:
        config = kd.initializers.serialize(init)
        assert config["class_name"] == type(init).__name__
        assert kd.initializers.get(config) == init
    with pytest.raises(ValueError, match="glorot_uniform"):
        kd.initializers.get("glorot")


# --------------------------------------------------------------------------- regularizers


def test_regularizers_keras_defaults_values_and_configs():
    w = kd.tensor([[1.0, -2.0], [3.0, 0.5]])
    sq, ab = 1 + 4 + 9 + 0.25, 1 + 2 + 3 + 0.5
    np.testing.assert_allclose(float(kd.regularizers.L2()(w)), 0.01 * sq, rtol=1e-6)
    np.testing.assert_allclose(float(kd.regularizers.L1()(w)), 0.01 * ab, rtol=1e-6)
    assert float(kd.regularizers.L1L2()(w)) == 0.0  # Keras: both default to 0
    np.testing.assert_allclose(
        float(kd.regularizers.L1L2(l1=0.1, l2=0.2)(w)), 0.1 * ab + 0.2 * sq, rtol=1e-6
    )
    assert kd.regularizers.get("l2") == kd.regularizers.L2(0.01)
    assert kd.regularizers.get(None) is None
    config = kd.regularizers.serialize(kd.regularizers.L1L2(l1=0.3))
    assert config["class_name"] == "L1L2" and config["config"] == {"l1": 0.3, "l2": 0.0}
    assert kd.regularizers.get(config) == kd.regularizers.L1L2(l1=0.3)
    for bad in [-0.1, float("inf"), "x"]:
        with pytest.raises(ValueError):
            kd.regularizers.L2(bad)
    with pytest.raises(ValueError, match="l1_l2"):
        kd.regularizers.get("l3")
