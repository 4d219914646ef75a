"""Tensor operations, as functions (``kandle.ops`` mirrors ``keras.ops``).

>>> import kandle as kd
>>> kd.ops.softmax(kd.tensor([[1.0, 1.0]])).numpy()
array([[0.5, 0.5]], dtype=float32)
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
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


def sin(x: ArrayLike) -> Tensor:
    """``sin(x)``, elementwise (radians)."""
    return convert_to_tensor(x).sin()


def cos(x: ArrayLike) -> Tensor:
    """``cos(x)``, elementwise (radians)."""
    return convert_to_tensor(x).cos()


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


# --- More of keras.ops ----------------------------------------------------------------
#
# Differentiable ops below are composed of the engine's differentiable ops (their
# gradients come from autodiff). Ops whose Keras gradient is zero or undefined (floor,
# round, sign, comparisons, indices, masks) compute their values in numpy and return
# a Tensor with no gradient path, which ``kd.grad`` reads as a zero gradient, as Keras's.


def _values(x: ArrayLike) -> np.ndarray:
    """The float32 values of ``x`` (a Tensor's, or ``x`` converted as kandle converts)."""
    return convert_to_tensor(x).numpy()


def _constant(values: ArrayLike) -> Tensor:
    """A Tensor of ``values`` that records no gradient path."""
    return _core.tensor(np.asarray(values, dtype=np.float32))


def _axes_of(axis: Axis, rank: int, op: str) -> tuple[int, ...]:
    """``axis`` (None: every axis) as sorted non-negative axes, each once."""
    if axis is None:
        return tuple(range(rank))
    axes = [axis] if isinstance(axis, int) else list(axis)
    at = [_axis_of(int(a), rank, op) for a in axes]
    if len(set(at)) != len(at):
        raise InvalidArgumentError(f"{op}: expected each axis once, got axis={axis}")
    return tuple(sorted(at))


def _flatten(x: Tensor) -> Tensor:
    return x.reshape((-1,))


def _slice_along(x: Tensor, at: int, start: int, stop: int) -> Tensor:
    """``x[start:stop]`` along axis ``at``."""
    key = [builtins.slice(None)] * x.ndim
    key[at] = builtins.slice(start, stop)
    return x[tuple(key)]


def shape(x: ArrayLike) -> tuple[Any, ...]:
    """The shape of ``x`` as a tuple of ints (None for an unknown size of a symbolic
    tensor), as ``keras.ops.shape``.

    >>> import kandle as kd
    >>> kd.ops.shape(kd.ops.zeros((2, 3)))
    (2, 3)
    """
    if isinstance(x, Tensor):
        return tuple(x.shape)
    found = getattr(x, "shape", None)
    if found is not None and not isinstance(x, np.ndarray):
        return tuple(found)
    return tuple(np.shape(x))


def stop_gradient(variable: ArrayLike) -> Tensor:
    """The values of ``variable`` as a Tensor that autodiff treats as a constant: no
    gradient flows through it.

    >>> import kandle as kd
    >>> v = kd.Variable([1.0, 2.0])
    >>> kd.grad((kd.ops.stop_gradient(v) * v).sum(), [v])[0].numpy()
    array([1., 2.], dtype=float32)
    """
    return _core.tensor(variable)


def var(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """The variance (population: divided by the count) along ``axis``.

    >>> import kandle as kd
    >>> kd.ops.var([1.0, 2.0, 3.0, 4.0]).numpy()
    array(1.25, dtype=float32)
    """
    return _mean_and_var(convert_to_tensor(x), axis, keepdims)[1]


def _mean_and_var(x: Tensor, axis: Axis, keepdims: bool) -> tuple[Tensor, Tensor]:
    """The mean of ``x`` along ``axis`` (its axes kept) and the variance."""
    centre = x.mean(axis=axis, keepdims=True)
    centered = x - centre
    return centre, (centered * centered).mean(axis=axis, keepdims=keepdims)


def std(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """The standard deviation (population) along ``axis``: ``sqrt(var(x))``.

    >>> import kandle as kd
    >>> kd.ops.std([1.0, 3.0]).numpy()
    array(1., dtype=float32)
    """
    return var(x, axis, keepdims).sqrt()


def moments(
    x: ArrayLike, axes: Axis, keepdims: bool = False, synchronized: bool = False
) -> tuple[Tensor, Tensor]:
    """``(mean, variance)`` of ``x`` along ``axes``. kandle runs on one device, so
    ``synchronized`` (across replicas) gives the same values.

    >>> import kandle as kd
    >>> mean, variance = kd.ops.moments([[1.0, 2.0], [3.0, 6.0]], axes=[0])
    >>> mean.numpy(), variance.numpy()
    (array([2., 4.], dtype=float32), array([1., 4.], dtype=float32))
    """
    del synchronized  # one device: nothing to synchronize
    x = convert_to_tensor(x)
    at = _axes_of(axes, x.ndim, "moments")
    centre, variance = _mean_and_var(x, at, keepdims)
    return (centre if keepdims else squeeze(centre, at)), variance


def average(x: ArrayLike, axis: int | None = None, weights: ArrayLike | None = None) -> Tensor:
    """The mean of ``x`` along ``axis`` (None: of all values), weighted by ``weights``
    when given, as ``numpy.average``: ``weights`` has ``x``'s shape, or is 1-D with
    ``x.shape[axis]`` values.

    >>> import kandle as kd
    >>> kd.ops.average([1.0, 2.0, 4.0], weights=[1.0, 1.0, 2.0]).numpy()
    array(2.75, dtype=float32)
    """
    x = convert_to_tensor(x)
    if weights is None:
        return x.mean(axis=axis)
    w = convert_to_tensor(weights)
    if w.shape != x.shape:
        if axis is None:
            raise InvalidArgumentError(
                f"average: axis must be specified when shapes of x and weights differ, got "
                f"x.shape={tuple(x.shape)}, weights.shape={tuple(w.shape)}"
            )
        at = _axis_of(axis, x.ndim, "average")
        if w.ndim != 1 or w.shape[0] != x.shape[at]:
            raise InvalidArgumentError(
                f"average: weights must have x's shape {tuple(x.shape)} or be 1-D of length "
                f"x.shape[{axis}]={x.shape[at]}, got weights.shape={tuple(w.shape)}"
            )
        along = [1] * x.ndim
        along[at] = x.shape[at]
        w = w.reshape(tuple(along))
    return (x * w).sum(axis=axis) / w.sum(axis=axis)


def norm(x: ArrayLike, ord: Any = None, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """The vector or matrix norm of ``x``, as ``numpy.linalg.norm``. Vector norms
    (``axis`` an int, or None for a 1-D ``x``): ``ord`` None or 2, ``inf``, ``-inf``, 0
    (the count of nonzero values), or any other number p (``sum(abs(x)**p)**(1/p)``).
    Matrix norms (``axis`` a pair, or None for a 2-D ``x``): None or ``"fro"``, 1, -1,
    ``inf``, ``-inf``. The nuclear and spectral norms (``"nuc"``, 2, -2) need an SVD,
    which kandle does not have: they raise. With ``ord`` None and ``axis`` None, the
    2-norm of all values, for any rank.

    >>> import kandle as kd
    >>> kd.ops.norm([3.0, -4.0]).numpy()
    array(5., dtype=float32)
    >>> kd.ops.norm([[1.0, -2.0], [3.0, 4.0]], ord=1).numpy()
    array(6., dtype=float32)
    """
    x = convert_to_tensor(x)
    if axis is None:
        if ord is None:
            return _two_norm(x, tuple(range(x.ndim)), keepdims)
        if x.ndim not in (1, 2):
            raise InvalidArgumentError(
                f"norm: with an ord and no axis, x must be 1-D or 2-D, got x.ndim={x.ndim}"
            )
        axes: tuple[int, ...] = tuple(range(x.ndim))
    else:
        axes = tuple([axis] if isinstance(axis, int) else axis)
        if len(axes) not in (1, 2):
            raise InvalidArgumentError(f"norm: expected 1 or 2 axes, got axis={axis}")
        axes = tuple(_axis_of(int(a), x.ndim, "norm") for a in axes)
        if len(set(axes)) != len(axes):
            raise InvalidArgumentError(f"norm: expected two different axes, got axis={axis}")
    if len(axes) == 1:
        return _vector_norm(x, ord, axes[0], keepdims)
    return _matrix_norm(x, ord, axes, keepdims)


def _two_norm(x: Tensor, axes: tuple[int, ...], keepdims: bool) -> Tensor:
    return (x * x).sum(axis=axes, keepdims=keepdims).sqrt()


def _vector_norm(x: Tensor, ord: Any, at: int, keepdims: bool) -> Tensor:
    if not isinstance(ord, (int, float, type(None))):
        raise InvalidArgumentError(
            f"norm: invalid norm order {ord!r} for vectors; expected None or a number"
        )
    if ord is None or ord == 2:
        return _two_norm(x, (at,), keepdims)
    if ord == np.inf:
        return x.abs().max(axis=at, keepdims=keepdims)
    if ord == -np.inf:
        return min(x.abs(), axis=at, keepdims=keepdims)
    if ord == 0:
        return _constant(np.sum(_values(x) != 0, axis=at, keepdims=keepdims))
    if ord == 1:
        return x.abs().sum(axis=at, keepdims=keepdims)
    return (x.abs() ** float(ord)).sum(axis=at, keepdims=keepdims) ** (1.0 / float(ord))


def _matrix_norm(x: Tensor, ord: Any, axes: tuple[int, ...], keepdims: bool) -> Tensor:
    rows, cols = axes
    if ord is None or ord == "fro":
        return _two_norm(x, axes, keepdims)
    if ord in (1, -1, np.inf, -np.inf) and not isinstance(ord, bool):
        # 1: the largest column sum of absolute values; inf: the largest row sum.
        summed, over = (rows, cols) if ord in (1, -1) else (cols, rows)
        sums = x.abs().sum(axis=summed, keepdims=True)
        result = sums.max(axis=over, keepdims=True) if ord > 0 else min(sums, over, True)
        return result if keepdims else squeeze(result, axes)
    if ord in ("nuc", 2, -2):
        raise InvalidArgumentError(
            f"norm: ord={ord!r} (a matrix norm from singular values) is not supported: "
            "kandle has no SVD"
        )
    raise InvalidArgumentError(
        f"norm: invalid norm order {ord!r} for matrices; expected one of None, 'fro', "
        "1, -1, inf, -inf"
    )


def logsumexp(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:
    """``log(sum(exp(x)))`` along ``axis``, computed stably (the maximum is taken out
    first).

    >>> import kandle as kd
    >>> kd.ops.logsumexp([1000.0, 1000.0]).numpy()
    array(1000.6932, dtype=float32)
    """
    x = convert_to_tensor(x)
    top = x.max(axis=axis, keepdims=True).numpy()
    shift = np.where(np.isfinite(top), top, 0.0)
    summed = (x - _constant(shift)).exp().sum(axis=axis, keepdims=keepdims)
    return summed.log() + _constant(shift.reshape(summed.shape))


def rsqrt(x: ArrayLike) -> Tensor:
    """``1 / sqrt(x)``."""
    return 1.0 / convert_to_tensor(x).sqrt()


def log1p(x: ArrayLike) -> Tensor:
    """``log(1 + x)``, accurate for small ``x`` (Kahan's correction of ``1 + x``'s
    rounding), with the gradient ``1 / (1 + x)``.

    >>> import kandle as kd
    >>> kd.ops.log1p(1e-10).numpy()
    array(1.e-10, dtype=float32)
    """
    x = convert_to_tensor(x)
    u = x + 1.0
    # Kahan: log(u) * x / (u - 1) undoes the rounding of u = 1 + x.
    return _kahan(x, u, u.log(), lambda uv: uv - np.float32(1))


def expm1(x: ArrayLike) -> Tensor:
    """``exp(x) - 1``, accurate for small ``x`` (Kahan's correction), with the gradient
    ``exp(x)``.

    >>> import kandle as kd
    >>> kd.ops.expm1(1e-10).numpy()
    array(1.e-10, dtype=float32)
    """
    x = convert_to_tensor(x)
    u = x.exp()
    # Kahan: (u - 1) * x / log(u) undoes the rounding of u = exp(x).
    return _kahan(x, u, u - 1.0, np.log)


def _kahan(x: Tensor, u: Tensor, f: Tensor, g: Callable[[np.ndarray], np.ndarray]) -> Tensor:
    """``f`` (a function of ``u``, ``1 + x`` or ``exp(x)`` rounded to float32) times
    ``x / g(u)``, where ``{f, g}`` are ``log(u)`` and ``u - 1``: this undoes the rounding
    of ``u`` (there is none to undo where ``|x| >= 1``). The correction is a constant:
    the gradient stays ``f``'s."""
    xv, uv, fv = x.numpy(), u.numpy(), f.numpy()
    d = uv - np.float32(1)
    mid = (d != 0) & (np.abs(xv) < 1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        factor = xv / np.where(mid, g(uv), np.float32(1))
        correction = np.where(mid, fv * factor - fv, np.float32(0))
    # Where u rounds to 1, f is x to float32's precision.
    return where(_constant(d == 0), x, f + _constant(correction))


def softplus(x: ArrayLike) -> Tensor:
    """``log(exp(x) + 1)``, computed without overflow."""
    return _core.activation(x, "softplus")


def silu(x: ArrayLike) -> Tensor:
    """``x * sigmoid(x)`` (also called swish)."""
    return _core.activation(x, "silu")


def gelu(x: ArrayLike, approximate: bool = True) -> Tensor:
    """Gaussian error linear unit. With ``approximate`` (``keras.ops.gelu``'s default),
    ``0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3)))``; otherwise
    ``x * P(X <= x)`` for a standard normal X."""
    return _core.gelu(x, bool(approximate))


def elu(x: ArrayLike, alpha: float = 1.0) -> Tensor:
    """``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``."""
    return _core.elu(x, float(alpha))


def leaky_relu(x: ArrayLike, negative_slope: float = 0.2) -> Tensor:
    """``x`` for ``x >= 0``, else ``negative_slope * x``."""
    return _core.leaky_relu(x, float(negative_slope))


def categorical_crossentropy(
    target: ArrayLike, output: ArrayLike, from_logits: bool = False, axis: int = -1
) -> Tensor:
    """``-sum(target * log(p), axis)`` per sample, as ``keras.ops.categorical_crossentropy``:
    ``p`` is ``softmax(output)`` with ``from_logits``, else ``output`` renormalized to sum
    to 1 along ``axis`` and clipped to ``[1e-7, 1 - 1e-7]``.

    >>> import kandle as kd
    >>> kd.ops.categorical_crossentropy([[0.0, 1.0]], [[0.5, 0.5]]).numpy()
    array([0.6931472], dtype=float32)
    """
    target = convert_to_tensor(target)
    output = convert_to_tensor(output)
    if target.shape != output.shape:
        raise InvalidArgumentError(
            "Arguments `target` and `output` must have the same shape. Received: "
            f"target.shape={tuple(target.shape)}, output.shape={tuple(output.shape)}"
        )
    if target.ndim < 1:
        raise InvalidArgumentError(
            "Arguments `target` and `output` must be at least rank 1. Received: "
            f"target.shape={tuple(target.shape)}, output.shape={tuple(output.shape)}"
        )
    if from_logits:
        log_prob = log_softmax(output, axis)
    else:
        output = output / output.sum(axis=axis, keepdims=True)
        log_prob = clip(output, 1e-7, 1.0 - 1e-7).log()
    return -(target * log_prob).sum(axis=axis)


def mod(x1: ArrayLike, x2: ArrayLike) -> Tensor:
    """The remainder of ``x1 / x2`` with the sign of ``x2``, as ``numpy.mod``. The
    gradient is 1 for ``x1`` and ``-floor(x1 / x2)`` for ``x2``, as Keras's.

    >>> import kandle as kd
    >>> kd.ops.mod([5.0, -5.0], 3.0).numpy()
    array([2., 1.], dtype=float32)
    """
    a = convert_to_tensor(x1)
    b = convert_to_tensor(x2)
    av, bv = a.numpy(), b.numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        quotient = np.floor_divide(av, bv)
        exact = np.mod(av, bv)
    composed = a - b * _constant(quotient)
    # The values are numpy's; the composition carries the gradient.
    return composed + _constant(exact - composed.numpy())


def cumsum(x: ArrayLike, axis: int | None = None, dtype: Any = None) -> Tensor:
    """Running sums along ``axis`` (None: of the flattened ``x``), differentiable
    (a scan of log2(n) shifted additions).

    >>> import kandle as kd
    >>> kd.ops.cumsum([1.0, 2.0, 3.0]).numpy()
    array([1., 3., 6.], dtype=float32)
    """
    if dtype is not None:
        _float_dtype(dtype, "cumsum")
    x = convert_to_tensor(x)
    if axis is None:
        x, axis = _flatten(x), 0
    at = _axis_of(axis, x.ndim, "cumsum")
    n = x.shape[at]
    step = 1
    while step < n:
        pad_shape = list(x.shape)
        pad_shape[at] = step
        shifted = _core.concatenate([zeros(tuple(pad_shape)), _slice_along(x, at, 0, n - step)], at)
        x = x + shifted
        step *= 2
    return x


def prod(x: ArrayLike, axis: Axis = None, keepdims: bool = False, dtype: Any = None) -> Tensor:
    """The product of the values along ``axis`` (None: all), differentiable (a tree of
    pairwise products, so zeros get their exact gradient).

    >>> import kandle as kd
    >>> kd.ops.prod([[1.0, 2.0], [3.0, 4.0]], axis=1).numpy()
    array([ 2., 12.], dtype=float32)
    """
    if dtype is not None:
        _float_dtype(dtype, "prod")
    x = convert_to_tensor(x)
    at = _axes_of(axis, x.ndim, "prod")
    kept = [i for i in range(x.ndim) if i not in at]
    kept_shape = tuple(x.shape[i] for i in kept)
    count = int(np.prod([x.shape[i] for i in at], dtype=np.int64))
    flat = x.transpose(tuple(kept + list(at))).reshape((*kept_shape, count))
    if count == 0:
        flat = ones((*kept_shape, 1))
    while flat.shape[-1] > 1:
        n = flat.shape[-1]
        if n % 2:
            flat = _core.concatenate([flat, ones((*kept_shape, 1))], -1)
            n += 1
        flat = flat[..., : n // 2] * flat[..., n // 2 :]
    out_shape = (
        tuple(1 if i in at else d for i, d in enumerate(x.shape)) if keepdims else kept_shape
    )
    return flat.reshape(out_shape)


def tile(x: ArrayLike, repeats: int | Sequence[int]) -> Tensor:
    """``x`` repeated ``repeats[i]`` times along each axis i, as ``numpy.tile`` (a shorter
    ``repeats`` is padded with ones in front; a longer one gives ``x`` leading axes).

    >>> import kandle as kd
    >>> kd.ops.tile([1.0, 2.0], 2).numpy()
    array([1., 2., 1., 2.], dtype=float32)
    """
    x = convert_to_tensor(x)
    reps = [int(r) for r in np.atleast_1d(np.asarray(repeats))]
    if builtins.any(r < 0 for r in reps):
        raise InvalidArgumentError(f"tile: expected repeats >= 0, got repeats={repeats}")
    rank = builtins.max(x.ndim, len(reps))
    reps = [1] * (rank - len(reps)) + reps
    x = x.reshape((1,) * (rank - x.ndim) + tuple(x.shape))
    for at, r in enumerate(reps):
        if r != 1:
            x = take(x, np.tile(np.arange(x.shape[at]), r), axis=at)
    return x


def repeat(x: ArrayLike, repeats: int | Sequence[int], axis: int | None = None) -> Tensor:
    """Each element of ``x`` repeated along ``axis`` (None: of the flattened ``x``),
    ``repeats`` times (an int) or ``repeats[i]`` times for element i, as ``numpy.repeat``.

    >>> import kandle as kd
    >>> kd.ops.repeat([1.0, 2.0], 2).numpy()
    array([1., 1., 2., 2.], dtype=float32)
    """
    x = convert_to_tensor(x)
    if axis is None:
        x, axis = _flatten(x), 0
    at = _axis_of(axis, x.ndim, "repeat")
    counts = np.asarray(repeats)
    if counts.ndim > 1 or (counts.ndim == 1 and counts.shape[0] not in (1, x.shape[at])):
        raise InvalidArgumentError(
            f"repeat: expected an int or {x.shape[at]} counts for axis {axis}, got "
            f"repeats={repeats}"
        )
    if np.any(counts < 0) or not np.all(counts == np.round(counts)):
        raise InvalidArgumentError(f"repeat: expected whole counts >= 0, got repeats={repeats}")
    return take(x, np.repeat(np.arange(x.shape[at]), counts.astype(np.int64)), axis=at)


def broadcast_to(x: ArrayLike, shape: Shape) -> Tensor:
    """``x`` broadcast to ``shape`` by numpy's rules (the gradient sums back).

    >>> import kandle as kd
    >>> kd.ops.broadcast_to([1.0, 2.0], (2, 2)).numpy()
    array([[1., 2.],
           [1., 2.]], dtype=float32)
    """
    x = convert_to_tensor(x)
    target = (int(shape),) if isinstance(shape, int) else tuple(int(d) for d in shape)
    fits = len(target) >= x.ndim and builtins.all(
        d in (1, t) for d, t in zip(x.shape, target[len(target) - x.ndim :], strict=True)
    )
    if not fits or builtins.min(target, default=0) < 0:
        raise InvalidArgumentError(
            f"broadcast_to: cannot broadcast x of shape {tuple(x.shape)} to shape={target}"
        )
    # Each axis of size 1 (x's own, or a new leading one) tiled to the target size.
    padded = (1,) * (len(target) - x.ndim) + tuple(x.shape)
    return tile(x, [t if d == 1 else 1 for d, t in zip(padded, target, strict=True)])


def flip(x: ArrayLike, axis: Axis = None) -> Tensor:
    """``x`` with the order of its elements reversed along ``axis`` (None: every axis).

    >>> import kandle as kd
    >>> kd.ops.flip([1.0, 2.0, 3.0]).numpy()
    array([3., 2., 1.], dtype=float32)
    """
    x = convert_to_tensor(x)
    at = _axes_of(axis, x.ndim, "flip")
    key = tuple(
        builtins.slice(None, None, -1) if i in at else builtins.slice(None) for i in range(x.ndim)
    )
    return x[key] if at else x


def slice(inputs: ArrayLike, start_indices: Sequence[int], shape: Sequence[int]) -> Tensor:  # noqa: A001
    """The block of ``inputs`` that starts at ``start_indices`` and has ``shape`` (a size
    of -1 takes the rest of that axis), as ``keras.ops.slice``. A block that does not fit
    inside ``inputs`` raises (JAX would move it silently).

    >>> import kandle as kd
    >>> kd.ops.slice([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], (0, 1), (2, 2)).numpy()
    array([[2., 3.],
           [5., 6.]], dtype=float32)
    """
    x = convert_to_tensor(inputs)
    starts = [int(s) for s in np.atleast_1d(np.asarray(start_indices))]
    sizes = [int(s) for s in np.atleast_1d(np.asarray(shape))]
    if len(starts) != x.ndim or len(sizes) != x.ndim:
        raise InvalidArgumentError(
            f"slice: expected start_indices and shape of length {x.ndim} (the rank of "
            f"inputs), got start_indices={start_indices}, shape={shape}"
        )
    key = []
    for at, (start, size, d) in enumerate(zip(starts, sizes, x.shape, strict=True)):
        size = d - start if size == -1 else size
        if start < 0 or size < 0 or start + size > d:
            raise InvalidArgumentError(
                f"slice: the block at start_indices={start_indices} with shape={shape} does "
                f"not fit in inputs of shape {tuple(x.shape)} (axis {at})"
            )
        key.append(builtins.slice(start, start + size))
    return x[tuple(key)]


def split(x: ArrayLike, indices_or_sections: int | Sequence[int], axis: int = 0) -> list[Tensor]:
    """``x`` cut along ``axis`` into ``indices_or_sections`` equal parts (an int), or at
    the given indices, as ``numpy.split``.

    >>> import kandle as kd
    >>> [t.numpy() for t in kd.ops.split([1.0, 2.0, 3.0, 4.0], 2)]
    [array([1., 2.], dtype=float32), array([3., 4.], dtype=float32)]
    """
    x = convert_to_tensor(x)
    at = _axis_of(axis, x.ndim, "split")
    n = x.shape[at]
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections <= 0 or n % sections:
            raise InvalidArgumentError(
                f"split: array split does not result in an equal division: {n} elements "
                f"along axis {axis} into indices_or_sections={sections}"
            )
        cuts = [n // sections * i for i in range(1, sections)]
    else:
        cuts = [int(i) for i in indices_or_sections]
    return [_slice_along(x, at, lo, hi) for lo, hi in zip([0, *cuts], [*cuts, n], strict=True)]


def pad(
    x: ArrayLike, pad_width: Any, mode: str = "constant", constant_values: Any = None
) -> Tensor:
    """``x`` padded by ``pad_width`` (numpy's forms: ``n``, ``(before, after)`` or one
    pair per axis). ``mode``: ``"constant"`` (``constant_values``, default 0),
    ``"edge"``, ``"reflect"``, ``"symmetric"`` or ``"wrap"``, as ``numpy.pad``.

    >>> import kandle as kd
    >>> kd.ops.pad([1.0, 2.0], (1, 2)).numpy()
    array([0., 1., 2., 0., 0.], dtype=float32)
    """
    x = convert_to_tensor(x)
    modes = ("constant", "edge", "reflect", "symmetric", "wrap")
    if mode not in modes:
        raise InvalidArgumentError(f"pad: expected mode in {modes}, got mode={mode!r}")
    if constant_values is not None and mode != "constant":
        raise InvalidArgumentError(
            "pad: constant_values can only be set with mode='constant', got "
            f"mode={mode!r}, constant_values={constant_values!r}"
        )
    try:
        widths = np.broadcast_to(np.asarray(pad_width), (x.ndim, 2))
    except ValueError:
        raise InvalidArgumentError(
            f"pad: expected pad_width as n, (before, after) or {x.ndim} such pairs, got "
            f"pad_width={pad_width!r}"
        ) from None
    if np.any(widths < 0) or not np.all(widths == np.round(widths)):
        raise InvalidArgumentError(f"pad: expected whole widths >= 0, got pad_width={pad_width!r}")
    fill = np.broadcast_to(
        np.asarray(0.0 if constant_values is None else constant_values), (x.ndim, 2)
    )
    for at in range(x.ndim):
        before, after = int(widths[at, 0]), int(widths[at, 1])
        if before == after == 0:
            continue
        if mode == "constant":
            pieces = []
            for width, value in ((before, fill[at, 0]), (after, fill[at, 1])):
                side = list(x.shape)
                side[at] = width
                pieces.append(full(tuple(side), float(value)))
            x = _core.concatenate([pieces[0], x, pieces[1]], at)
        else:
            if x.shape[at] == 0:
                raise InvalidArgumentError(f"pad: cannot pad an empty axis {at} in mode={mode!r}")
            source = np.pad(np.arange(x.shape[at]), (before, after), mode=mode)  # type: ignore[call-overload]
            x = take(x, source, axis=at)
    return x


def sort(x: ArrayLike, axis: int = -1) -> Tensor:
    """The values of ``x`` in ascending order along ``axis`` (NaN last), differentiable:
    each gradient goes back to the element it came from.

    >>> import kandle as kd
    >>> kd.ops.sort([3.0, 1.0, 2.0]).numpy()
    array([1., 2., 3.], dtype=float32)
    """
    x = convert_to_tensor(x)
    if axis is None:
        x, axis = _flatten(x), 0
    at = _axis_of(axis, x.ndim, "sort")
    order = np.argsort(x.numpy(), axis=at, kind="stable")
    return _gather_along(x, order, at)


def _gather_along(x: Tensor, order: np.ndarray, at: int) -> Tensor:
    """``take_along_axis(x, order, at)``, differentiable (a gather of the flat values)."""
    positions = np.arange(x.size).reshape(x.shape)
    return take(_flatten(x), np.take_along_axis(positions, order, axis=at), axis=None)


def top_k(x: ArrayLike, k: int, sorted: bool = True) -> tuple[Tensor, Tensor]:
    """``(values, indices)`` of the ``k`` largest entries along the last axis, largest
    first (on a tie, the lower index first). ``values`` is differentiable; the
    indices are whole-number floats (kandle tensors hold float32).

    >>> import kandle as kd
    >>> values, indices = kd.ops.top_k([1.0, 5.0, 3.0], 2)
    >>> values.numpy(), indices.numpy()
    (array([5., 3.], dtype=float32), array([1., 2.], dtype=float32))
    """
    del sorted  # the result is always sorted, which Keras allows for sorted=False
    x = convert_to_tensor(x)
    if x.ndim < 1:
        raise InvalidArgumentError("top_k: expected x of rank >= 1, got a scalar")
    n = x.shape[-1]
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= n:
        raise InvalidArgumentError(
            f"top_k: expected k an int in [0, {n}] (the size of x's last axis), got k={k!r}"
        )
    values = x.numpy()
    # Largest first, NaN counted largest (as JAX's top_k), ties by the lower index.
    key = np.where(np.isnan(values), -np.inf, -values)
    order = np.lexsort((~np.isnan(values), key), axis=-1) if values.size else np.argsort(key)
    order = order[..., :k]
    return _gather_along(x, order, x.ndim - 1), _constant(order)


def dot(x1: ArrayLike, x2: ArrayLike) -> Tensor:
    """The dot product, as ``numpy.dot``: a product with a scalar, the inner product of
    vectors, the matrix product; for N-D, a sum over the last axis of ``x1`` and the
    second-to-last of ``x2``.

    >>> import kandle as kd
    >>> kd.ops.dot([1.0, 2.0], [3.0, 4.0]).numpy()
    array(11., dtype=float32)
    """
    a = convert_to_tensor(x1)
    b = convert_to_tensor(x2)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    contracted = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if a.shape[-1] != contracted:
        raise InvalidArgumentError(
            f"dot: shapes {tuple(a.shape)} and {tuple(b.shape)} not aligned: "
            f"{a.shape[-1]} (x1's last axis) != {contracted}"
        )
    if b.ndim > 2:  # move x2's contracted axis to the front: (n, rest...)
        b = b.transpose((b.ndim - 2, *range(b.ndim - 2), b.ndim - 1))
    # x2 as an (n, m) matrix.
    product = matmul(a.reshape((-1, contracted)), b.reshape((contracted, -1)))
    return product.reshape(tuple(a.shape[:-1]) + tuple(b.shape[1:]))


def einsum(subscripts: str, *operands: ArrayLike, **kwargs: Any) -> Tensor:
    """Einstein summation, as ``numpy.einsum``: ``subscripts`` like ``"ij,jk->ik"``
    (``...`` for broadcast axes; without ``->``, the labels seen once, sorted).
    Differentiable: a repeated label within one operand takes its diagonal, then the
    operands are multiplied with broadcasting and summed over the labels not kept.

    >>> import kandle as kd
    >>> kd.ops.einsum("ij,j->i", [[1.0, 2.0], [3.0, 4.0]], [1.0, 1.0]).numpy()
    array([3., 7.], dtype=float32)
    """
    if kwargs:
        raise InvalidArgumentError(f"einsum: unsupported arguments {sorted(kwargs)}")
    if not isinstance(subscripts, str):
        raise InvalidArgumentError(f"einsum: expected subscripts a str, got {subscripts!r}")
    tensors = [convert_to_tensor(t) for t in operands]
    spec = subscripts.replace(" ", "")
    inputs, arrow, output = spec.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(tensors):
        raise InvalidArgumentError(
            f"einsum: subscripts name {len(terms)} operands, got {len(tensors)} operands"
        )
    used = set(spec) - set(".,->")
    if not builtins.all(c.isalpha() for c in used):
        raise InvalidArgumentError(f"einsum: invalid subscripts {subscripts!r}")
    free = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in used]
    broadcast_rank = 0
    for term, t in zip(terms, tensors, strict=True):
        if "..." in term:
            broadcast_rank = builtins.max(broadcast_rank, t.ndim - (len(term) - 3))
    ellipsis = "".join(free[:broadcast_rank])
    labelled = []
    for term, t in zip(terms, tensors, strict=True):
        if "..." in term:
            own = t.ndim - (len(term) - 3)
            term = term.replace("...", ellipsis[broadcast_rank - own :] if own else "")
        if "." in term or len(term) != t.ndim:
            raise InvalidArgumentError(
                f"einsum: subscripts {term!r} do not match an operand of shape {tuple(t.shape)}"
            )
        labelled.append((term, t))
    if arrow:
        output = output.replace("...", ellipsis)
    else:
        seen = "".join(term for term, _ in labelled)
        output = ellipsis + "".join(
            sorted(c for c in set(seen) if seen.count(c) == 1 and c not in ellipsis)
        )
    sizes: dict[str, int] = {}
    for term, t in labelled:
        for c, d in zip(term, t.shape, strict=True):
            if sizes.get(c, 1) not in (1, d) and d != 1:
                raise InvalidArgumentError(
                    f"einsum: label {c!r} has sizes {sizes[c]} and {d} in {subscripts!r}"
                )
            sizes[c] = builtins.max(sizes.get(c, 1), d)
    if len(set(output)) != len(output) or builtins.any(c not in sizes for c in output):
        raise InvalidArgumentError(f"einsum: invalid output subscripts in {subscripts!r}")
    labels = list(output) + sorted(set(sizes) - set(output))
    product: Tensor | None = None
    for term, t in labelled:
        t, term = _einsum_diagonal(t, term)
        # Lay the operand out on every label: its own in order, size 1 for the others.
        order = sorted(range(len(term)), key=lambda i: labels.index(term[i]))
        t = t.transpose(tuple(order)) if t.ndim > 1 else t
        present = {term[i]: t.shape[k] for k, i in enumerate(order)}
        t = t.reshape(tuple(present.get(c, 1) for c in labels))
        product = t if product is None else product * t
    assert product is not None
    summed = tuple(range(len(output), len(labels)))
    if summed:
        product = product.sum(axis=summed)
    return broadcast_to(product, tuple(sizes[c] for c in output))


def _einsum_diagonal(t: Tensor, term: str) -> tuple[Tensor, str]:
    """An operand whose ``term`` repeats a label, as its diagonal over that label."""
    unique = "".join(dict.fromkeys(term))
    if unique == term:
        return t, term
    for c in unique:
        dims = {t.shape[i] for i, label in enumerate(term) if label == c}
        if len(dims) > 1:
            raise InvalidArgumentError(
                f"einsum: repeated label {c!r} of {term!r} has different sizes {sorted(dims)}"
            )
    size = {c: t.shape[term.index(c)] for c in unique}
    grids = np.indices(tuple(size[c] for c in unique))
    strides = np.arange(t.size).reshape(t.shape)
    flat = strides[tuple(grids[unique.index(c)] for c in term)]
    return take(_flatten(t), flat, axis=None), unique


# --- Values without a gradient path (Keras's gradient is zero or undefined) -----------


def floor(x: ArrayLike) -> Tensor:
    """The largest whole number <= ``x``. The gradient is zero (as Keras's)."""
    return _constant(np.floor(_values(x)))


def round(x: ArrayLike, decimals: int = 0) -> Tensor:  # noqa: A001 - keras.ops.round
    """``x`` rounded to ``decimals`` places, halves to even, as ``numpy.round``. The
    gradient is zero (as Keras's).

    >>> import kandle as kd
    >>> kd.ops.round([0.5, 1.5, 2.5, -0.5]).numpy()
    array([ 0.,  2.,  2., -0.], dtype=float32)
    """
    return _constant(np.round(_values(x), int(decimals)))


def sign(x: ArrayLike) -> Tensor:
    """-1, 0 or 1 by the sign of ``x`` (NaN stays NaN). The gradient is zero."""
    return _constant(np.sign(_values(x)))


def argmin(x: ArrayLike, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """The index of the smallest value along ``axis`` (None: of the flattened ``x``), the
    first on a tie. kandle tensors hold float32: the indices are whole-number floats.

    >>> import kandle as kd
    >>> kd.ops.argmin([[1.0, 3.0], [4.0, 2.0]], axis=-1).numpy()
    array([0., 1.], dtype=float32)
    """
    return _core.argmax(-_values(x), axis, keepdims)


def any(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """1 where any value along ``axis`` is nonzero, else 0 (kandle's tensors hold
    float32; Keras returns bools)."""
    xv = _values(x)
    return _constant(np.any(xv != 0, axis=_axes_of(axis, xv.ndim, "any"), keepdims=keepdims))


def all(x: ArrayLike, axis: Axis = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """1 where every value along ``axis`` is nonzero, else 0 (float32 for bools)."""
    xv = _values(x)
    return _constant(np.all(xv != 0, axis=_axes_of(axis, xv.ndim, "all"), keepdims=keepdims))


def logical_and(x1: ArrayLike, x2: ArrayLike) -> Tensor:
    """1 where both ``x1`` and ``x2`` are nonzero, else 0, broadcast."""
    a, b = _values(x1), _values(x2)
    try:
        return _constant(np.logical_and(a != 0, b != 0))
    except ValueError:
        raise InvalidArgumentError(
            f"logical_and: shapes {a.shape} and {b.shape} do not broadcast"
        ) from None


def isnan(x: ArrayLike) -> Tensor:
    """1 where ``x`` is NaN, else 0."""
    return _constant(np.isnan(_values(x)))


def nan_to_num(
    x: ArrayLike, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
) -> Tensor:
    """``x`` with NaN replaced by ``nan``, +inf by ``posinf`` and -inf by ``neginf``
    (default: the largest and smallest float32). The gradient passes where ``x`` is
    finite.

    >>> import kandle as kd
    >>> kd.ops.nan_to_num([float("nan"), 1.0, float("-inf")], neginf=-9.0).numpy()
    array([ 0.,  1., -9.], dtype=float32)
    """
    x = convert_to_tensor(x)
    xv = x.numpy()
    replaced = np.nan_to_num(xv, nan=nan, posinf=posinf, neginf=neginf)
    return where(_constant(np.isfinite(xv)), x, _constant(replaced))


def one_hot(
    x: ArrayLike, num_classes: int, axis: int = -1, dtype: Any = None, sparse: bool = False
) -> Tensor:
    """Rows of ``num_classes`` zeros with a 1 at each class index of ``x`` (an index
    outside ``[0, num_classes)`` gives a row of zeros, as Keras's), on a new axis
    ``axis``. kandle tensors hold float32.

    >>> import kandle as kd
    >>> kd.ops.one_hot([0, 2], 3).numpy()
    array([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    if sparse:
        raise InvalidArgumentError("one_hot: sparse tensors are not supported")
    if dtype is not None:
        name = str(getattr(dtype, "name", dtype))
        if name not in _FLOAT_DTYPES and name != "bool" and not name.startswith(("int", "uint")):
            raise InvalidArgumentError(f"one_hot: unsupported dtype {dtype!r}")
    if (
        isinstance(num_classes, bool)
        or not isinstance(num_classes, (int, np.integer))
        or num_classes < 0
    ):
        raise InvalidArgumentError(
            f"one_hot: expected num_classes an int >= 0, got {num_classes!r}"
        )
    xv = _values(x)
    if not np.all(xv == np.round(xv)):
        raise InvalidArgumentError("one_hot: expected whole-number class indices in x")
    at = _axis_of(axis, xv.ndim + 1, "one_hot")
    hot = xv[..., None] == np.arange(num_classes, dtype=np.float32)
    return _constant(np.moveaxis(hot, -1, at))


def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> Tensor:  # noqa: N803
    """An ``N`` x ``M`` (default N) matrix of zeros with ones on diagonal ``k``."""
    if dtype is not None:
        _float_dtype(dtype, "eye")
    for name, value in (("N", N), ("M", M), ("k", k)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, np.integer))
        ):
            raise InvalidArgumentError(f"eye: expected {name} an int, got {name}={value!r}")
    if N < 0 or (M is not None and M < 0):
        raise InvalidArgumentError(f"eye: expected sizes >= 0, got N={N}, M={M}")
    return _constant(np.eye(N, M, k))


def linspace(
    start: ArrayLike,
    stop: ArrayLike,
    num: int = 50,
    endpoint: bool = True,
    retstep: bool = False,
    dtype: Any = None,
    axis: int = 0,
) -> Tensor | tuple[Tensor, Tensor]:
    """``num`` evenly spaced values from ``start`` to ``stop`` (included with
    ``endpoint``), as ``numpy.linspace``; with ``retstep``, ``(values, step)``.
    Differentiable in ``start`` and ``stop`` when they are Tensors.

    >>> import kandle as kd
    >>> kd.ops.linspace(0.0, 1.0, 5).numpy()
    array([0.  , 0.25, 0.5 , 0.75, 1.  ], dtype=float32)
    """
    if dtype is not None:
        _float_dtype(dtype, "linspace")
    if isinstance(num, bool) or not isinstance(num, (int, np.integer)) or num < 0:
        raise InvalidArgumentError(f"linspace: expected num an int >= 0, got num={num!r}")
    if not isinstance(start, Tensor) and not isinstance(stop, Tensor):
        values, step = np.linspace(
            np.asarray(start, np.float64),
            np.asarray(stop, np.float64),
            num,
            endpoint=endpoint,
            retstep=True,
            axis=axis,
        )
        result = _constant(values)
        return (result, _constant(step)) if retstep else result
    s, e = convert_to_tensor(start), convert_to_tensor(stop)
    batch = tuple(np.broadcast_shapes(tuple(s.shape), tuple(e.shape)))
    div = num - 1 if endpoint else num
    fractions = np.arange(num, dtype=np.float64) / div if div > 0 else np.zeros(num)
    along = (num,) + (1,) * len(batch)
    delta = e - s
    spaced = s + delta * _constant(fractions.reshape(along))
    if endpoint and num > 1:  # the last value is exactly ``stop``, as numpy's
        spaced = where(_constant(np.arange(num).reshape(along) == num - 1), e, spaced)
    order = list(range(1, len(batch) + 1))
    order.insert(_axis_of(axis, len(batch) + 1, "linspace"), 0)
    spaced = spaced.transpose(tuple(order)) if batch else spaced
    if retstep:
        return spaced, delta / float(div) if div > 0 else delta * float("nan")
    return spaced


__all__ = [
    "abs",
    "add",
    "all",
    "any",
    "arange",
    "argmax",
    "argmin",
    "average",
    "broadcast_to",
    "cast",
    "categorical_crossentropy",
    "clip",
    "concatenate",
    "convert_to_numpy",
    "convert_to_tensor",
    "cos",
    "cumsum",
    "divide",
    "dot",
    "einsum",
    "elu",
    "equal",
    "exp",
    "expand_dims",
    "expm1",
    "eye",
    "flip",
    "floor",
    "full",
    "gelu",
    "greater",
    "greater_equal",
    "isnan",
    "leaky_relu",
    "less",
    "less_equal",
    "linspace",
    "log",
    "log1p",
    "log_softmax",
    "logical_and",
    "logsumexp",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mod",
    "moments",
    "multiply",
    "nan_to_num",
    "negative",
    "norm",
    "not_equal",
    "one_hot",
    "ones",
    "ones_like",
    "pad",
    "power",
    "prod",
    "relu",
    "repeat",
    "reshape",
    "round",
    "rsqrt",
    "shape",
    "sigmoid",
    "sign",
    "silu",
    "sin",
    "slice",
    "softmax",
    "softplus",
    "sort",
    "split",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "std",
    "stop_gradient",
    "subtract",
    "sum",
    "take",
    "tanh",
    "tile",
    "top_k",
    "transpose",
    "var",
    "where",
    "zeros",
    "zeros_like",
]
