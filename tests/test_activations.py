"""kandle.activations against independent numpy references (float64, math.erf for gelu)."""

import math

import numpy as np
import pytest

import kandle as kd
from helpers import assert_tensor_close, f64, grads, log_softmax_ref, sigmoid_ref, softmax_ref

_erf = np.vectorize(math.erf)
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def softplus_ref(x):
    x = f64(x)
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def hard_sigmoid_ref(x):
    return np.clip(f64(x) + 3, 0, 6) / 6


REFERENCES = {
    "linear": f64,
    "relu": lambda x: np.maximum(f64(x), 0),
    "relu6": lambda x: np.clip(f64(x), 0, 6),
    "sigmoid": sigmoid_ref,
    "tanh": lambda x: np.tanh(f64(x)),
    "softmax": softmax_ref,
    "log_softmax": log_softmax_ref,
    "gelu": lambda x: 0.5 * f64(x) * (1 + _erf(f64(x) / math.sqrt(2))),
    "silu": lambda x: f64(x) * sigmoid_ref(x),
    "swish": lambda x: f64(x) * sigmoid_ref(x),
    "elu": lambda x: np.where(f64(x) > 0, f64(x), np.expm1(np.minimum(f64(x), 0))),
    "selu": lambda x: (
        SELU_SCALE * np.where(f64(x) > 0, f64(x), SELU_ALPHA * np.expm1(np.minimum(f64(x), 0)))
    ),
    "softplus": softplus_ref,
    "softsign": lambda x: f64(x) / (1 + np.abs(f64(x))),
    "leaky_relu": lambda x: np.where(f64(x) >= 0, f64(x), 0.2 * f64(x)),
    "exponential": lambda x: np.exp(f64(x)),
    "mish": lambda x: f64(x) * np.tanh(softplus_ref(x)),
    "hard_sigmoid": hard_sigmoid_ref,
    "hard_silu": lambda x: f64(x) * hard_sigmoid_ref(x),
    "hard_swish": lambda x: f64(x) * hard_sigmoid_ref(x),
    "log_sigmoid": lambda x: -softplus_ref(-f64(x)),
}


def inputs(rng):
    # Both signs, past relu6's 6 and hard_sigmoid's ±3, away from kinks.
    x = rng.uniform(-8, 8, (4, 5))
    x[np.abs(x) < 0.05] = 0.5
    return x.astype(np.float32)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_forward_matches_numpy(name, rng):
    x = inputs(rng)
    expected = REFERENCES[name](x)
    assert_tensor_close(kd.activations.get(name)(kd.tensor(x)), expected, rtol=1e-5, atol=1e-6)
    # By function and on raw arrays too.
    assert_tensor_close(getattr(kd.activations, name)(x), expected, rtol=1e-5, atol=1e-6)


def test_keras_defaults_and_parameters(rng):
    x = inputs(rng)
    # Keras 3: leaky_relu's negative_slope is 0.2; elu's alpha is 1; gelu is exact.
    assert_tensor_close(
        kd.activations.leaky_relu(x, negative_slope=0.5),
        np.where(f64(x) >= 0, f64(x), 0.5 * f64(x)),
    )
    assert_tensor_close(
        kd.activations.elu(x, alpha=2.0),
        np.where(f64(x) > 0, f64(x), 2.0 * np.expm1(np.minimum(f64(x), 0))),
        rtol=1e-5,
        atol=1e-6,
    )
    tanh_form = (
        0.5 * f64(x) * (1 + np.tanh(math.sqrt(2 / math.pi) * (f64(x) + 0.044715 * f64(x) ** 3)))
    )
    assert_tensor_close(kd.activations.gelu(x, approximate=True), tanh_form, rtol=1e-5, atol=1e-6)
    assert_tensor_close(kd.activations.softmax(x, axis=0), softmax_ref(x, axis=0))


def test_extremes_stay_finite():
    x = kd.tensor([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    for name in REFERENCES:
        if name in ("exponential", "linear", "relu", "leaky_relu", "elu", "selu"):
            continue
        y = kd.activations.get(name)(x).numpy()
        assert np.isfinite(y).all(), name
    np.testing.assert_allclose(
        kd.activations.softplus(x).numpy(), [0, 0, math.log(2), 50, 1000], atol=1e-6
    )


DERIVATIVES = {
    "gelu": lambda x: (
        0.5 * (1 + _erf(x / math.sqrt(2))) + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    ),
    "silu": lambda x: sigmoid_ref(x) * (1 + x * (1 - sigmoid_ref(x))),
    "elu": lambda x: np.where(x > 0, 1.0, np.exp(np.minimum(x, 0))),
    "selu": lambda x: SELU_SCALE * np.where(x > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(x, 0))),
    "softplus": sigmoid_ref,
    "leaky_relu": lambda x: np.where(x > 0, 1.0, 0.2),
    "relu6": lambda x: ((x > 0) & (x < 6)).astype(float),
    "hard_sigmoid": lambda x: ((x > -3) & (x < 3)) / 6.0,
}


@pytest.mark.parametrize("name", sorted(DERIVATIVES))
def test_gradients_match_hand_derivatives(name, rng):
    x0 = inputs(rng)
    x, c = kd.Variable(x0), f64(rng.standard_normal(x0.shape))
    (g,) = grads((kd.activations.get(name)(x) * kd.tensor(c)).sum(), [x])
    np.testing.assert_allclose(g, c * DERIVATIVES[name](f64(x0)), rtol=1e-4, atol=1e-5)


def test_get_and_serialize():
    assert kd.activations.get(None) is kd.activations.linear
    assert kd.activations.get("gelu") is kd.activations.gelu

    def custom(x):
        return x

    assert kd.activations.get(custom) is custom
    assert kd.activations.serialize(kd.activations.get("swish")) == "silu"
    assert kd.activations.serialize(kd.activations.relu6) == "relu6"
    assert kd.activations.serialize(custom) == "custom"


@pytest.mark.parametrize("bad", ["relux", "", 3, ["relu"]])
def test_unknown_activation_lists_names(bad):
    with pytest.raises(ValueError) as info:
        kd.activations.get(bad)
    message = str(info.value)
    assert repr(bad) in message and "gelu" in message and "leaky_relu" in message
