"""Tensor operations, as functions (``kandle.ops`` mirrors ``keras.ops``).

>>> import kandle as kd
>>> kd.ops.softmax(kd.tensor([[1.0, 1.0]])).numpy()
array([[0.5, 0.5]], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kandle import _core
from kandle._core import Tensor

ArrayLike = Any
Shape = int | Sequence[int]
Axis = int | Sequence[int] | None


def convert_to_tensor(x: ArrayLike) -> Tensor:
    """``x`` as a float32 Tensor (a Tensor is returned as it is)."""
    return x if isinstance(x, Tensor) else _core.tensor(x)


def zeros(shape: Shape) -> Tensor:
    return _core.full(shape, 0.0)


def ones(shape: Shape) -> Tensor:
    return _core.full(shape, 1.0)


def full(shape: Shape, fill_value: float) -> Tensor:
    return _core.full(shape, fill_value)


def arange(n: int) -> Tensor:
    """``[0, 1, ..., n - 1]``."""
    return _core.arange(n)


def add(x: ArrayLike, y: ArrayLike) -> Tensor:
    return convert_to_tensor(x) + y


def subtract(x: ArrayLike, y: ArrayLike) -> Tensor:
    return convert_to_tensor(x) - y


def multiply(x: ArrayLike, y: ArrayLike) -> Tensor:
    return convert_to_tensor(x) * y


def divide(x: ArrayLike, y: ArrayLike) -> Tensor:
    return convert_to_tensor(x) / y


def power(x: ArrayLike, p: float) -> Tensor:
    return convert_to_tensor(x) ** p


def negative(x: ArrayLike) -> Tensor:
    return -convert_to_tensor(x)


def exp(x: ArrayLike) -> Tensor:
    return convert_to_tensor(x).exp()


def log(x: ArrayLike) -> Tensor:
    return convert_to_tensor(x).log()


def sqrt(x: ArrayLike) -> Tensor:
    return convert_to_tensor(x).sqrt()


def abs(x: ArrayLike) -> Tensor:  # noqa: A001 - keras.ops.abs
    return convert_to_tensor(x).abs()


def tanh(x: ArrayLike) -> Tensor:
    return convert_to_tensor(x).tanh()


def sigmoid(x: ArrayLike) -> Tensor:
    return convert_to_tensor(x).sigmoid()


def relu(x: ArrayLike) -> Tensor:
    return convert_to_tensor(x).relu()


def sum(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return convert_to_tensor(x).sum(axis=axis, keepdims=keepdims)


def mean(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    return convert_to_tensor(x).mean(axis=axis, keepdims=keepdims)


def max(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return convert_to_tensor(x).max(axis=axis, keepdims=keepdims)


def reshape(x: ArrayLike, new_shape: Shape) -> Tensor:
    return convert_to_tensor(x).reshape(new_shape)


def transpose(x: ArrayLike, axes: Sequence[int] | None = None) -> Tensor:
    return convert_to_tensor(x).transpose(axes)


def matmul(x1: ArrayLike, x2: ArrayLike) -> Tensor:
    """Matrix product with ``numpy.matmul``'s rules (batched, broadcasting)."""
    return _core.matmul(x1, x2)


def concatenate(xs: Sequence[ArrayLike], axis: int = 0) -> Tensor:
    return _core.concatenate(list(xs), axis)


def softmax(x: ArrayLike, axis: int = -1) -> Tensor:
    return _core.softmax(x, axis)


def log_softmax(x: ArrayLike, axis: int = -1) -> Tensor:
    return _core.log_softmax(x, axis)


__all__ = [
    "abs",
    "add",
    "arange",
    "concatenate",
    "convert_to_tensor",
    "divide",
    "exp",
    "full",
    "log",
    "log_softmax",
    "matmul",
    "max",
    "mean",
    "multiply",
    "negative",
    "ones",
    "power",
    "relu",
    "reshape",
    "sigmoid",
    "softmax",
    "sqrt",
    "subtract",
    "sum",
    "tanh",
    "transpose",
    "zeros",
]
