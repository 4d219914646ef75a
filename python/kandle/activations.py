"""Activation functions, by name or as functions (``kandle.activations``).

>>> import kandle as kd
>>> kd.activations.get("relu")(kd.tensor([-1.0, 2.0])).numpy()
array([0., 2.], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Callable

from kandle import ops
from kandle._core import Tensor
from kandle.errors import InvalidArgumentError

Activation = Callable[[Tensor], Tensor]


def linear(x: Tensor) -> Tensor:
    return ops.convert_to_tensor(x)


def relu(x: Tensor) -> Tensor:
    return ops.relu(x)


def sigmoid(x: Tensor) -> Tensor:
    return ops.sigmoid(x)


def tanh(x: Tensor) -> Tensor:
    return ops.tanh(x)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    return ops.softmax(x, axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    return ops.log_softmax(x, axis)


_BY_NAME: dict[str, Activation] = {
    "linear": linear,
    "relu": relu,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "softmax": softmax,
    "log_softmax": log_softmax,
}


def get(identifier: str | Activation | None) -> Activation:
    """The activation called ``identifier``; None means linear; a callable is returned."""
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]
    raise InvalidArgumentError(
        f"Could not interpret activation function identifier: {identifier!r}; "
        f"expected one of {sorted(_BY_NAME)}, a callable or None"
    )


def serialize(activation: Activation) -> str:
    """The name of an activation function (its Keras config value)."""
    for name, fn in _BY_NAME.items():
        if fn is activation:
            return name
    return getattr(activation, "__name__", repr(activation))
