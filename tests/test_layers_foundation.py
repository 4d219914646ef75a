"""Dense, mean_squared_error, SGD and seeding, checked against numpy recomputations."""

import numpy as np
import pytest

import kandle as kd
from helpers import ACTIVATIONS_REF, assert_tensor_close, f64, grads, randn, sigmoid_ref

ACTIVATION_NAMES = list(ACTIVATIONS_REF)


def built_dense(units, in_features, seed=0, **kwargs):
    kd.utils.set_random_seed(seed)
    layer = kd.layers.Dense(units, **kwargs)
    layer(np.zeros((1, in_features), dtype=np.float32))
    return layer


def glorot_limit(fan_in, fan_out):
    return np.sqrt(6.0 / (fan_in + fan_out))


# --------------------------------------------------------------------------- Dense


def test_dense_builds_on_first_call(rng):
    layer = kd.layers.Dense(5)
    x = randn(rng, (3, 7))
    out = layer(x)
    assert isinstance(out, kd.Tensor) and out.shape == (3, 5)
    w, b = layer.weight, layer.bias
    assert isinstance(w, kd.Variable) and isinstance(b, kd.Variable)
    assert w.shape == (5, 7) and b.shape == (5,)
    assert w.trainable and b.trainable
    np.testing.assert_array_equal(b.numpy(), np.zeros(5))
    w_before = w.numpy()
    # A second call reuses the weights: no rebuild, no redraw.
    layer(randn(rng, (2, 7)))
    np.testing.assert_array_equal(layer.weight.numpy(), w_before)
    # trainable_weights are the layer's own variables: updates through them reach the layer.
    tw = layer.trainable_weights
    assert len(tw) == 2 and tw[0].shape == (5, 7) and tw[1].shape == (5,)
    new_w, new_b = randn(rng, (5, 7)), randn(rng, (5,))
    tw[0].assign(new_w)
    tw[1].assign(new_b)
    np.testing.assert_array_equal(layer.weight.numpy(), new_w)
    np.testing.assert_array_equal(layer.bias.numpy(), new_b)
    assert_tensor_close(layer(x), f64(x) @ f64(new_w).T + f64(new_b))


@pytest.mark.parametrize("in_features, units", [(7, 5), (400, 300), (1, 1), (784, 100)], ids=str)
def test_glorot_uniform_bound(in_features, units):
    layer = built_dense(units, in_features, seed=1)
    w = layer.weight.numpy()
    assert w.shape == (units, in_features)
    assert np.all(np.abs(w) <= glorot_limit(in_features, units) + 1e-7)


def test_glorot_uniform_statistics():
    limit = glorot_limit(400, 300)
    w = built_dense(300, 400, seed=3).weight.numpy()
    # U(-l, l) has std l / sqrt(3) and mean 0; 120,000 draws pin both down tightly.
    assert abs(w.std() - limit / np.sqrt(3)) < 0.1 * limit / np.sqrt(3)
    assert abs(w.mean()) < 0.02 * limit
    assert w.max() > 0.95 * limit and w.min() < -0.95 * limit  # fills the whole interval
    assert len(np.unique(w)) > 100_000


@pytest.mark.parametrize("activation", ACTIVATION_NAMES, ids=str)
@pytest.mark.parametrize("use_bias", [True, False], ids=["bias", "no_bias"])
def test_dense_forward_matches_numpy(activation, use_bias, rng):
    layer = built_dense(4, 6, activation=activation, use_bias=use_bias)
    if use_bias:
        layer.bias.assign(randn(rng, (4,)))
    else:
        assert layer.bias is None
        assert len(layer.trainable_weights) == 1
        assert layer.trainable_weights[0].shape == (4, 6)
    x = randn(rng, (5, 6), 2.0)
    z = f64(x) @ f64(layer.weight.numpy()).T
    if use_bias:
        z = z + f64(layer.bias.numpy())
    assert_tensor_close(layer(x), ACTIVATIONS_REF[activation](z))


@pytest.mark.parametrize(
    "make_input", [np.asarray, kd.tensor, lambda a: a.tolist()], ids=["ndarray", "tensor", "list"]
)
def test_dense_accepts_arrays_tensors_and_lists(make_input, rng):
    layer = built_dense(3, 4)
    x = randn(rng, (2, 4))
    expected = f64(x) @ f64(layer.weight.numpy()).T
    assert_tensor_close(layer(make_input(x)), expected)


def _activation_derivative(activation, z, c):
    """Gradient of sum(act(z) * c) with respect to z, derived by hand."""
    if activation in (None, "linear"):
        return c
    if activation == "relu":
        return c * (z > 0)
    if activation == "sigmoid":
        s = sigmoid_ref(z)
        return c * s * (1 - s)
    if activation == "tanh":
        return c * (1 - np.tanh(z) ** 2)
    s = ACTIVATIONS_REF["softmax"](z)
    return s * (c - (s * c).sum(axis=-1, keepdims=True))


@pytest.mark.parametrize("activation", ACTIVATION_NAMES, ids=str)
def test_dense_gradients(activation, rng):
    layer = built_dense(4, 6, activation=activation)
    layer.bias.assign(randn(rng, (4,)))
    x, c = randn(rng, (5, 6)), f64(randn(rng, (5, 4)))
    loss = (layer(x) * kd.tensor(c)).sum()
    w, b = f64(layer.weight.numpy()), f64(layer.bias.numpy())
    dz = _activation_derivative(activation, f64(x) @ w.T + b, c)
    gw, gb = grads(loss, layer.trainable_weights)
    np.testing.assert_allclose(gw, dz.T @ f64(x), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gb, dz.sum(axis=0), rtol=1e-5, atol=1e-5)


def test_dense_gradient_with_respect_to_input(rng):
    layer = built_dense(3, 4, activation="tanh")
    x0, c = randn(rng, (2, 4)), f64(randn(rng, (2, 3)))
    x = kd.Variable(x0)
    w = f64(layer.weight.numpy())
    z = f64(x0) @ w.T
    (gx,) = grads((layer(x) * kd.tensor(c)).sum(), [x])
    np.testing.assert_allclose(gx, (c * (1 - np.tanh(z) ** 2)) @ w, rtol=1e-5, atol=1e-5)


def test_dense_wrong_feature_dim_after_build(rng):
    layer = built_dense(3, 4)
    with pytest.raises(kd.errors.ShapeError) as info:
        layer(randn(rng, (2, 5)))
    assert isinstance(info.value, ValueError)
    assert "4" in str(info.value) and "5" in str(info.value)


@pytest.mark.parametrize("units", [0, -1, -10])
def test_dense_rejects_non_positive_units(units):
    with pytest.raises(ValueError) as info:
        kd.layers.Dense(units)
    assert "units" in str(info.value)


def test_set_random_seed_makes_weights_reproducible():
    first = built_dense(8, 5, seed=0).weight.numpy()
    second = built_dense(8, 5, seed=0).weight.numpy()
    other = built_dense(8, 5, seed=1).weight.numpy()
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)
    # Two layers built after one seeding draw different weights.
    kd.utils.set_random_seed(0)
    a, b = kd.layers.Dense(8), kd.layers.Dense(8)
    a(np.zeros((1, 5), np.float32))
    b(np.zeros((1, 5), np.float32))
    assert not np.array_equal(a.weight.numpy(), b.weight.numpy())


def test_seeded_mlp_forward_matches_numpy(rng):
    kd.utils.set_random_seed(0)
    hidden = kd.layers.Dense(100, activation="relu")
    head = kd.layers.Dense(10)
    x = rng.uniform(0, 1, (1, 784)).astype(np.float32)
    out = head(hidden(x))
    assert out.shape == (1, 10)
    assert hidden.weight.shape == (100, 784) and head.weight.shape == (10, 100)
    h = np.maximum(f64(x) @ f64(hidden.weight.numpy()).T + f64(hidden.bias.numpy()), 0.0)
    expected = h @ f64(head.weight.numpy()).T + f64(head.bias.numpy())
    assert_tensor_close(out, expected, rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------------- losses


@pytest.mark.parametrize("shape", [(4, 3), (5, 1), (2, 3, 4), (6,)], ids=str)
def test_mean_squared_error_reduces_last_axis(shape, rng):
    y_true, y_pred = randn(rng, shape), randn(rng, shape)
    expected = ((f64(y_true) - f64(y_pred)) ** 2).mean(axis=-1)
    result = kd.losses.mean_squared_error(kd.tensor(y_true), kd.tensor(y_pred))
    assert_tensor_close(result, expected)
    assert result.shape == shape[:-1]
    # Raw numpy inputs work too.
    assert_tensor_close(kd.losses.mean_squared_error(y_true, y_pred), expected)


def test_mean_squared_error_gradient(rng):
    y_true, p0 = randn(rng, (4, 3)), randn(rng, (4, 3))
    p = kd.Variable(p0)
    loss = kd.losses.mean_squared_error(y_true, p).mean()
    (g,) = grads(loss, [p])
    np.testing.assert_allclose(g, 2 * (f64(p0) - f64(y_true)) / 12, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- SGD


def _two_variables(rng):
    x1, x2 = randn(rng, (2, 3)), randn(rng, (4,))
    g1, g2 = randn(rng, (2, 3)), randn(rng, (4,))
    return (x1, x2), (g1, g2), [kd.Variable(x1), kd.Variable(x2)]


@pytest.mark.parametrize("method", ["apply", "apply_gradients"])
def test_sgd_step(method, rng):
    (x1, x2), (g1, g2), variables = _two_variables(rng)
    opt = kd.optimizers.SGD(learning_rate=0.1)
    gradients = [kd.tensor(g1), kd.tensor(g2)]
    if method == "apply":
        opt.apply(gradients, variables)
    else:
        opt.apply_gradients(zip(gradients, variables))
    for v, x, g in zip(variables, (x1, x2), (g1, g2)):
        np.testing.assert_allclose(v.numpy(), f64(x) - 0.1 * f64(g), rtol=1e-6, atol=1e-7)


def test_sgd_default_learning_rate_is_keras_default(rng):
    (x1, x2), (g1, g2), variables = _two_variables(rng)
    kd.optimizers.SGD().apply([kd.tensor(g1), kd.tensor(g2)], variables)
    np.testing.assert_allclose(variables[0].numpy(), f64(x1) - 0.01 * f64(g1), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(variables[1].numpy(), f64(x2) - 0.01 * f64(g2), rtol=1e-6, atol=1e-7)


def test_sgd_updates_variables_in_place_from_kd_grad(rng):
    x0 = randn(rng, (3, 3))
    v = kd.Variable(x0)
    opt = kd.optimizers.SGD(learning_rate=0.25)
    for step in range(1, 4):
        opt.apply(kd.grad((v * v).sum(), [v]), [v])
        # d/dv sum(v^2) = 2v, so each step scales v by (1 - 2 * 0.25) = 0.5.
        np.testing.assert_allclose(v.numpy(), f64(x0) * 0.5**step, rtol=1e-6, atol=1e-7)


def test_sgd_rejects_mismatched_lists(rng):
    (_, _), (g1, _), variables = _two_variables(rng)
    with pytest.raises(ValueError):
        kd.optimizers.SGD().apply([kd.tensor(g1)], variables)
