"""Tensor operations, as functions (``kandle.ops`` mirrors ``keras.ops``).

>>> import kandle as kd
>>> kd.ops.softmax(kd.tensor([[1.0, 1.0]])).numpy()
array([[0.5, 0.5]], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from kandle import _core
from kandle._core import Tensor
from kandle.errors import InvalidArgumentError

ArrayLike = Any
Shape = int | Sequence[int]
Axis = int | Sequence[int] | None


def convert_to_tensor(x: ArrayLike, dtype: Any = None, sparse: Any = None) -> Tensor:
    """``x`` as a float32 Tensor (a Tensor is returned as it is).

    kandle computes in float32: ``dtype`` may be None or a float type."""
    if dtype is not None:
        _float_dtype(dtype, "convert_to_tensor")
    if sparse:
        raise InvalidArgumentError("convert_to_tensor: sparse tensors are not supported")
    return x if isinstance(x, Tensor) else _core.tensor(x)


def convert_to_numpy(x: ArrayLike) -> np.ndarray:
    """``x`` as a numpy array (a copy of a Tensor's values)."""
    return x.numpy() if isinstance(x, Tensor) else np.asarray(x)


# The dtypes a kandle Tensor stands for (it holds float32).
_FLOAT_DTYPES = ("float32", "float16", "bfloat16", "float64", "float")


def _float_dtype(dtype: Any, op: str) -> None:
    name = getattr(dtype, "name", dtype)
    if str(name) not in _FLOAT_DTYPES:
        raise InvalidArgumentError(f"{op}: kandle tensors hold float32 only, got dtype={dtype!r}")


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


def square(x: ArrayLike) -> Tensor:
    """``x * x``."""
    return convert_to_tensor(x) ** 2


def maximum(x1: ArrayLike, x2: ArrayLike) -> Tensor:
    """The elementwise maximum, broadcast; a tie splits the gradient evenly (as JAX)."""
    return _core.maximum(x1, x2)


def minimum(x1: ArrayLike, x2: ArrayLike) -> Tensor:
    """The elementwise minimum, broadcast; a tie splits the gradient evenly (as JAX)."""
    return _core.minimum(x1, x2)


def clip(x: ArrayLike, x_min: float, x_max: float) -> Tensor:
    """``x`` limited to ``[x_min, x_max]``; the gradient passes inside the bounds."""
    return _core.clip(x, float(x_min), float(x_max))


def less(x1: ArrayLike, x2: ArrayLike) -> Tensor:
    """1 where ``x1 < x2``, else 0 (kandle's tensors hold float32; also ``x1 < x2``)."""
    return _core.compare(x1, x2, "less")


def less_equal(x1: ArrayLike, x2: ArrayLike) -> Tensor:
    """1 where ``x1 <= x2``, else 0."""
    return _core.compare(x1, x2, "less_equal")


def greater(x1: ArrayLike, x2: ArrayLike) -> Tensor:
    """1 where ``x1 > x2``, else 0."""
    return _core.compare(x1, x2, "greater")


def greater_equal(x1: ArrayLike, x2: ArrayLike) -> Tensor:
    """1 where ``x1 >= x2``, else 0."""
    return _core.compare(x1, x2, "greater_equal")


def equal(x1: ArrayLike, x2: ArrayLike) -> Tensor:
    """1 where ``x1 == x2``, else 0 (``==`` on Tensors is identity, as for Variables)."""
    return _core.compare(x1, x2, "equal")


def not_equal(x1: ArrayLike, x2: ArrayLike) -> Tensor:
    """1 where ``x1 != x2``, else 0."""
    return _core.compare(x1, x2, "not_equal")


def where(condition: ArrayLike, x1: ArrayLike, x2: ArrayLike) -> Tensor:
    """``x1`` where ``condition`` is nonzero, else ``x2``, broadcast together.

    >>> import kandle as kd
    >>> kd.ops.where([1, 0, 1], [1.0, 2.0, 3.0], 0.0).numpy()
    array([1., 0., 3.], dtype=float32)
    """
    return _core.where(condition, x1, x2)


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


def min(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return _core.min(x, axis, keepdims)


def argmax(x: ArrayLike, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """The index of the largest value along ``axis`` (None: of the flattened ``x``), the
    first on a tie. kandle tensors hold float32: the indices are whole-number floats.

    >>> import kandle as kd
    >>> kd.ops.argmax([[1.0, 3.0], [4.0, 2.0]], axis=-1).numpy()
    array([1., 0.], dtype=float32)
    """
    return _core.argmax(x, axis, keepdims)


def _axis_of(axis: int, rank: int, op: str) -> int:
    """``axis`` in ``0..rank`` (a negative one counts from the end)."""
    if not -rank <= axis < rank:
        raise InvalidArgumentError(f"{op}: expected an axis in [{-rank}, {rank}), got axis={axis}")
    return axis % rank


def expand_dims(x: ArrayLike, axis: int | Sequence[int]) -> Tensor:
    """``x`` with new axes of size 1 at ``axis`` (positions in the result)."""
    x = convert_to_tensor(x)
    axes = [axis] if isinstance(axis, int) else list(axis)
    rank = x.ndim + len(axes)
    at = sorted(_axis_of(a, rank, "expand_dims") for a in axes)
    shape = list(x.shape)
    for a in at:
        shape.insert(a, 1)
    return x.reshape(tuple(shape))


def squeeze(x: ArrayLike, axis: int | Sequence[int] | None = None) -> Tensor:
    """``x`` without its axes of size 1 (only those of ``axis`` when given)."""
    x = convert_to_tensor(x)
    if axis is None:
        drop = {i for i, d in enumerate(x.shape) if d == 1}
    else:
        drop = {_axis_of(a, x.ndim, "squeeze") for a in ([axis] if isinstance(axis, int) else axis)}
        for a in drop:
            if x.shape[a] != 1:
                raise InvalidArgumentError(
                    f"squeeze: cannot select an axis to squeeze out which has size not equal "
                    f"to one, got axis {a} of size {x.shape[a]} (shape {tuple(x.shape)})"
                )
    return x.reshape(tuple(d for i, d in enumerate(x.shape) if i not in drop))


def stack(x: Sequence[ArrayLike], axis: int = 0) -> Tensor:
    """The tensors of ``x`` (one shape) joined along a new axis ``axis``."""
    tensors = [convert_to_tensor(t) for t in x]
    if not tensors:
        raise InvalidArgumentError("stack: expected at least one tensor, got none")
    return _core.concatenate([expand_dims(t, axis) for t in tensors], axis)


def take(x: ArrayLike, indices: ArrayLike, axis: int | None = None) -> Tensor:
    """Elements of ``x`` at whole-number ``indices`` along ``axis`` (None: of the
    flattened ``x``), as ``numpy.take``; a negative index counts from the end.

    >>> import kandle as kd
    >>> kd.ops.take([[1.0, 2.0], [3.0, 4.0]], [1, 0], axis=0).numpy()
    array([[3., 4.],
           [1., 2.]], dtype=float32)
    """
    return _core.take(x, indices, axis)


def cast(x: ArrayLike, dtype: Any) -> Tensor:
    """``x`` as ``dtype``. kandle tensors hold float32: a float dtype returns ``x``; an
    integer or bool dtype rounds towards zero (bool: nonzero to 1) and records no
    gradient, as Keras's cast to an integer type."""
    x = convert_to_tensor(x)
    name = str(getattr(dtype, "name", dtype))
    if name in _FLOAT_DTYPES:
        return x
    if name == "bool":
        return _core.tensor(x.numpy() != 0)
    if name.startswith(("int", "uint")):
        return _core.tensor(np.trunc(x.numpy()))
    raise InvalidArgumentError(f"cast: unsupported dtype {dtype!r}")


def ones_like(x: ArrayLike, dtype: Any = None) -> Tensor:
    """Ones of ``x``'s shape."""
    return ones(convert_to_tensor(x).shape)


def zeros_like(x: ArrayLike, dtype: Any = None) -> Tensor:
    """Zeros of ``x``'s shape."""
    return zeros(convert_to_tensor(x).shape)


def reshape(x: ArrayLike, newshape: Shape) -> Tensor:
    """The values of ``x`` in ``newshape`` (one size may be -1, inferred)."""
    return convert_to_tensor(x).reshape(newshape)


def transpose(x: ArrayLike, axes: Sequence[int] | None = None) -> Tensor:
    return convert_to_tensor(x).transpose(None if axes is None else tuple(axes))


def matmul(x1: ArrayLike, x2: ArrayLike) -> Tensor:
    """Matrix product with ``numpy.matmul``'s rules (batched, broadcasting)."""
    return _core.matmul(x1, x2)


def concatenate(xs: Sequence[ArrayLike], axis: int = 0) -> Tensor:
    return _core.concatenate([convert_to_tensor(x) for x in xs], axis)


def softmax(x: ArrayLike, axis: int = -1) -> Tensor:
    return _core.softmax(x, axis)


def log_softmax(x: ArrayLike, axis: int = -1) -> Tensor:
    return _core.log_softmax(x, axis)


__all__ = [
    "abs",
    "add",
    "arange",
    "argmax",
    "cast",
    "clip",
    "concatenate",
    "convert_to_numpy",
    "convert_to_tensor",
    "expand_dims",
    "maximum",
    "min",
    "minimum",
    "ones_like",
    "square",
    "squeeze",
    "stack",
    "take",
    "where",
    "zeros_like",
    "divide",
    "equal",
    "greater",
    "greater_equal",
    "less",
    "less_equal",
    "not_equal",
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
