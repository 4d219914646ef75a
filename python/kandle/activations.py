"""Activation functions, by name or as functions (``kandle.activations``).

Definitions and defaults are Keras 3's; each runs as one op of the Rust engine, with
its gradient.

>>> import kandle as kd
>>> kd.activations.get("relu")(kd.tensor([-1.0, 2.0])).numpy()
array([0., 2.], dtype=float32)
>>> kd.activations.leaky_relu(kd.tensor([-10.0, 5.0])).numpy()
array([-2.,  5.], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kandle import _core, ops
from kandle._core import Tensor
from kandle.errors import InvalidArgumentError

Activation = Callable[..., Tensor]
ArrayLike = Any


def linear(x: ArrayLike) -> Tensor:
    """The identity."""
    return ops.convert_to_tensor(x)


def relu(x: ArrayLike) -> Tensor:
    """``max(x, 0)``."""
    return ops.relu(x)


def relu6(x: ArrayLike) -> Tensor:
    """``min(max(x, 0), 6)``."""
    return _core.activation(x, "relu6")


def leaky_relu(x: ArrayLike, negative_slope: float = 0.2) -> Tensor:
    """``x`` for ``x >= 0``, else ``negative_slope * x``."""
    return _core.leaky_relu(x, negative_slope)


def elu(x: ArrayLike, alpha: float = 1.0) -> Tensor:
    """``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``."""
    return _core.elu(x, alpha)


def selu(x: ArrayLike) -> Tensor:
    """``scale * elu(x, alpha)`` with ``alpha = 1.67326324`` and ``scale = 1.05070098``."""
    return _core.activation(x, "selu")


def gelu(x: ArrayLike, approximate: bool = False) -> Tensor:
    """Gaussian error linear unit ``x * P(X <= x)`` for a standard normal X; with
    ``approximate``, ``0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3)))``."""
    return _core.gelu(x, approximate)


def silu(x: ArrayLike) -> Tensor:
    """``x * sigmoid(x)`` (also called swish)."""
    return _core.activation(x, "silu")


swish = silu


def softplus(x: ArrayLike) -> Tensor:
    """``log(exp(x) + 1)``, computed without overflow."""
    return _core.activation(x, "softplus")


def softsign(x: ArrayLike) -> Tensor:
    """``x / (abs(x) + 1)``."""
    return _core.activation(x, "softsign")


def sigmoid(x: ArrayLike) -> Tensor:
    """``1 / (1 + exp(-x))``."""
    return ops.sigmoid(x)


def hard_sigmoid(x: ArrayLike) -> Tensor:
    """``relu6(x + 3) / 6``, a piecewise-linear sigmoid."""
    return _core.activation(x, "hard_sigmoid")


def hard_silu(x: ArrayLike) -> Tensor:
    """``x * hard_sigmoid(x)`` (also called hard_swish)."""
    return _core.activation(x, "hard_silu")


hard_swish = hard_silu


def log_sigmoid(x: ArrayLike) -> Tensor:
    """``log(sigmoid(x))``, computed without overflow."""
    return _core.activation(x, "log_sigmoid")


def mish(x: ArrayLike) -> Tensor:
    """``x * tanh(softplus(x))``."""
    return _core.activation(x, "mish")


def tanh(x: ArrayLike) -> Tensor:
    """The hyperbolic tangent."""
    return ops.tanh(x)


def exponential(x: ArrayLike) -> Tensor:
    """``exp(x)``."""
    return ops.exp(x)


def softmax(x: ArrayLike, axis: int = -1) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``axis``, computed stably."""
    return ops.softmax(x, axis)


def log_softmax(x: ArrayLike, axis: int = -1) -> Tensor:
    """``x - log(sum(exp(x)))`` along ``axis``, computed stably."""
    return ops.log_softmax(x, axis)


# The engine's names (`ActivationFn::from_name`), each this module's function of that
# name, so that a layer's config names an activation the Rust training loop can run.
_BY_NAME: dict[str, Activation] = {name: globals()[name] for name in _core.ACTIVATION_NAMES}


def get(identifier: str | Activation | None) -> Activation:
    """The activation called ``identifier``; None means linear; a callable is returned as is.

    >>> import kandle as kd
    >>> kd.activations.get(None) is kd.activations.linear
    True
    """
    if identifier is None:
        return linear
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]
    if callable(identifier) and not isinstance(identifier, str):
        return identifier
    raise InvalidArgumentError(
        f"Could not interpret activation function identifier: {identifier!r}; "
        f"expected one of {sorted(_BY_NAME)}, a callable or None"
    )


def serialize(activation: Activation) -> str:
    """The name of an activation function (its Keras config value).

    >>> import kandle as kd
    >>> kd.activations.serialize(kd.activations.gelu)
    'gelu'
    """
    for name, fn in _BY_NAME.items():
        if fn is activation:
            # An alias serializes to the name Keras gives its function (silu, not swish).
            return getattr(fn, "__name__", name)
    return getattr(activation, "__name__", repr(activation))


def is_builtin(activation: Activation) -> bool:
    """Whether ``activation`` is one of kandle's named activations (which the engine runs)."""
    return any(fn is activation for fn in _BY_NAME.values())


__all__ = sorted([*_BY_NAME, "get", "serialize", "is_builtin"])
