"""Flatten, Reshape, RepeatVector, Permute and Identity, and the layers that pad, crop
and up-sample channels-last sequences and images."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from kandle.errors import InvalidArgumentError, ShapeError
from kandle.layers.convolutional import _is_int, check_data_format, check_input_rank
from kandle.layers.layer import Layer, ShapeLike


class Flatten(Layer):
    """Flattens every axis but the batch axis: ``(batch, d1, d2, ...) -> (batch, d1*d2*...)``.

    >>> import kandle as kd
    >>> kd.layers.Flatten()(kd.ops.ones((2, 3, 4))).shape
    (2, 12)
    """

    _engine_class = "Flatten"

    def __init__(self, data_format: str | None = None, **kwargs: Any) -> None:
        self.data_format = check_data_format("Flatten", data_format)
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape: ShapeLike) -> tuple[int | None, ...]:
        shape = tuple(input_shape)
        rest = shape[1:]
        size = None if any(d is None for d in rest) else math.prod(rest)  # type: ignore[arg-type]
        return (shape[0] if shape else None, size)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshapes each sample to ``target_shape`` (batch axis kept); one entry may be -1.

    >>> import kandle as kd
    >>> kd.layers.Reshape((3, -1))(kd.ops.ones((2, 12))).shape
    (2, 3, 4)
    """

    _engine_class = "Reshape"

    def __init__(self, target_shape: Sequence[int], **kwargs: Any) -> None:
        target = tuple(target_shape)
        if (
            not all(isinstance(d, int) and not isinstance(d, bool) for d in target)
            or sum(d == -1 for d in target) > 1
            or any(d < -1 for d in target)
        ):
            raise InvalidArgumentError(
                f"Reshape: `target_shape` must be a tuple of non-negative integers with at "
                f"most one -1, got target_shape={target_shape!r}"
            )
        super().__init__(**kwargs)
        self.target_shape = target

    def compute_output_shape(self, input_shape: ShapeLike) -> tuple[int | None, ...]:
        shape = tuple(input_shape)
        rest = shape[1:]
        if any(d is None for d in rest):
            sizes = tuple(None if d == -1 else d for d in self.target_shape)
            return (shape[0], *sizes)
        total = math.prod(rest)  # type: ignore[arg-type]
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape and known == 0:
            raise ShapeError(
                f"Reshape {self.name!r}: the -1 of target_shape {self.target_shape} cannot be "
                "inferred when another entry is 0 (as in numpy)"
            )
        fits = total % known == 0 if -1 in self.target_shape else total == known
        if not fits:
            raise ShapeError(
                f"Reshape {self.name!r}: the total size of the new array must be unchanged: "
                f"input shape {shape} ({total} elements per sample), "
                f"target_shape {self.target_shape}"
            )
        sizes = tuple(total // known if d == -1 else d for d in self.target_shape)
        return (shape[0], *sizes)

    def build(self, input_shape: ShapeLike) -> None:
        # Checks the sizes once, with a clear error, before any data flows.
        self.compute_output_shape(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Identity(Layer):
    """Returns its input unchanged: a placeholder where no operation is wanted.

    >>> import kandle as kd
    >>> kd.layers.Identity()(kd.tensor([[1.0, 2.0]])).numpy()
    array([[1., 2.]], dtype=float32)
    """

    _engine_class = "Identity"


class RepeatVector(Layer):
    """Repeats each sample ``n`` times: ``(batch, features) -> (batch, n, features)``.

    >>> import kandle as kd
    >>> kd.layers.RepeatVector(3)(kd.ops.ones((2, 4))).shape
    (2, 3, 4)
    """

    _engine_class = "RepeatVector"

    def __init__(self, n: int, **kwargs: Any) -> None:
        if not isinstance(n, int) or isinstance(n, bool):
            raise InvalidArgumentError(
                f"RepeatVector: expected an integer value for `n`, got {type(n).__name__} (n={n!r})"
            )
        if n <= 0:
            raise InvalidArgumentError(
                f"Argument `n` should be a positive integer. Received: n={n}"
            )
        super().__init__(**kwargs)
        self.n = n

    def build(self, input_shape: ShapeLike) -> None:
        check_input_rank(self, input_shape, 0)

    def compute_output_shape(self, input_shape: ShapeLike) -> tuple[int | None, ...]:
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "n": self.n}


class Permute(Layer):
    """Permutes the non-batch axes: ``dims`` (numbered from 1) lists them in their new
    order, so ``(2, 1)`` swaps the two axes of each sample.

    >>> import kandle as kd
    >>> kd.layers.Permute((2, 1))(kd.ops.ones((2, 10, 64))).shape
    (2, 64, 10)
    """

    _engine_class = "Permute"

    def __init__(self, dims: Sequence[int], **kwargs: Any) -> None:
        dims = tuple(dims)
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise InvalidArgumentError(
                "Invalid permutation argument `dims` for Permute Layer. The set of indices in "
                f"`dims` must be consecutive and start from 1. Received dims={dims}"
            )
        super().__init__(**kwargs)
        self.dims = dims

    def build(self, input_shape: ShapeLike) -> None:
        check_input_rank(self, input_shape, len(self.dims) - 1)

    def compute_output_shape(self, input_shape: ShapeLike) -> tuple[int | None, ...]:
        return (input_shape[0], *(input_shape[d] for d in self.dims))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "dims": self.dims}


def _pair(layer: str, arg: str, value: Any) -> tuple[int, int]:
    """An int ``n`` as ``(n, n)``, or a pair of ints, each >= 0; else an error naming ``arg``."""
    pair = (value, value) if _is_int(value) else value
    if (
        not isinstance(pair, (tuple, list))
        or len(pair) != 2
        or not all(_is_int(v) and v >= 0 for v in pair)
    ):
        raise InvalidArgumentError(
            f"{layer}: `{arg}` must be an int or a pair of ints, each >= 0, got {arg}={value!r}"
        )
    return (int(pair[0]), int(pair[1]))


def _pairs_2d(layer: str, arg: str, value: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    """Keras's 2-D spelling: an int, a pair of ints (symmetric per axis), or a pair of
    ``(before, after)`` pairs."""
    if _is_int(value):
        p = _pair(layer, arg, value)
        return (p, p)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise InvalidArgumentError(
            f"{layer}: `{arg}` must be an int, a pair of ints or a pair of (before, after) "
            f"pairs, each >= 0, got {arg}={value!r}"
        )
    return (_pair(layer, arg, value[0]), _pair(layer, arg, value[1]))


def _positive_sizes(layer: str, value: Any, n: int) -> tuple[int, ...]:
    sizes = (value,) * n if _is_int(value) else value
    if (
        not isinstance(sizes, (tuple, list))
        or len(sizes) != n
        or not all(_is_int(v) and v > 0 for v in sizes)
    ):
        expected = "a positive int" if n == 1 else f"a positive int or {n} positive ints"
        raise InvalidArgumentError(f"{layer}: `size` must be {expected}, got size={value!r}")
    return tuple(int(v) for v in sizes)


def _grown(size: int | None, before: int, after: int) -> int | None:
    return None if size is None else size + before + after


class ZeroPadding1D(Layer):
    """Adds zeros at the start and end of the steps axis of ``(batch, steps, channels)``
    data; ``padding`` is an int (both ends) or a pair ``(start, end)``.

    >>> import kandle as kd
    >>> kd.layers.ZeroPadding1D(padding=(1, 2))(kd.ops.ones((2, 3, 4))).shape
    (2, 6, 4)
    """

    _engine_class = "ZeroPadding1D"

    def __init__(self, padding: int | Sequence[int] = 1, data_format: Any = None, **kwargs: Any):
        self.padding = _pair("ZeroPadding1D", "padding", padding)
        self.data_format = check_data_format("ZeroPadding1D", data_format)
        super().__init__(**kwargs)

    def build(self, input_shape: ShapeLike) -> None:
        check_input_rank(self, input_shape, 1)

    def compute_output_shape(self, input_shape: ShapeLike) -> tuple[int | None, ...]:
        batch, steps, channels = tuple(input_shape)
        return (batch, _grown(steps, *self.padding), channels)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


class ZeroPadding2D(Layer):
    """Adds rows and columns of zeros around ``(batch, rows, cols, channels)`` images.

    ``padding`` is an int (the same on every side), a pair ``(rows, cols)`` (symmetric)
    or ``((top, bottom), (left, right))``.

    >>> import kandle as kd
    >>> kd.layers.ZeroPadding2D(padding=((1, 0), (2, 2)))(kd.ops.ones((1, 3, 3, 2))).shape
    (1, 4, 7, 2)
    """

    _engine_class = "ZeroPadding2D"

    def __init__(self, padding: Any = (1, 1), data_format: Any = None, **kwargs: Any):
        self.padding = _pairs_2d("ZeroPadding2D", "padding", padding)
        self.data_format = check_data_format("ZeroPadding2D", data_format)
        super().__init__(**kwargs)

    def build(self, input_shape: ShapeLike) -> None:
        check_input_rank(self, input_shape, 2)

    def compute_output_shape(self, input_shape: ShapeLike) -> tuple[int | None, ...]:
        batch, rows, cols, channels = tuple(input_shape)
        (top, bottom), (left, right) = self.padding
        return (batch, _grown(rows, top, bottom), _grown(cols, left, right), channels)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


def _cropped(layer: Layer, input_shape: ShapeLike, cropping: Sequence[tuple[int, int]]) -> list:
    """The spatial sizes left after ``cropping``; each must keep at least one position."""
    sizes = []
    for axis, (start, end) in enumerate(cropping, start=1):
        size = input_shape[axis]
        if size is not None and start + end >= size:
            raise ShapeError(
                f"{type(layer).__name__} {layer.name!r}: `cropping` {tuple(cropping)} must be "
                f"smaller than the input's spatial sizes: axis {axis} has size {size}, input "
                f"shape {tuple(input_shape)}"
            )
        sizes.append(None if size is None else size - start - end)
    return sizes


class Cropping1D(Layer):
    """Removes steps from the start and end of ``(batch, steps, channels)`` data;
    ``cropping`` is an int (both ends) or a pair ``(start, end)``.

    >>> import kandle as kd
    >>> kd.layers.Cropping1D(cropping=(1, 2))(kd.ops.ones((2, 6, 4))).shape
    (2, 3, 4)
    """

    _engine_class = "Cropping1D"

    def __init__(self, cropping: int | Sequence[int] = (1, 1), **kwargs: Any):
        self.cropping = _pair("Cropping1D", "cropping", cropping)
        super().__init__(**kwargs)

    def build(self, input_shape: ShapeLike) -> None:
        check_input_rank(self, input_shape, 1)
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape: ShapeLike) -> tuple[int | None, ...]:
        (steps,) = _cropped(self, input_shape, [self.cropping])
        return (input_shape[0], steps, input_shape[2])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": self.cropping}


class Cropping2D(Layer):
    """Removes rows and columns from the edges of ``(batch, rows, cols, channels)``
    images. ``cropping`` is an int (the same on every side), a pair ``(rows, cols)``
    (symmetric) or ``((top, bottom), (left, right))``.

    >>> import kandle as kd
    >>> kd.layers.Cropping2D(cropping=((2, 2), (4, 4)))(kd.ops.ones((2, 28, 28, 3))).shape
    (2, 24, 20, 3)
    """

    _engine_class = "Cropping2D"

    def __init__(self, cropping: Any = ((0, 0), (0, 0)), data_format: Any = None, **kwargs: Any):
        self.cropping = _pairs_2d("Cropping2D", "cropping", cropping)
        self.data_format = check_data_format("Cropping2D", data_format)
        super().__init__(**kwargs)

    def build(self, input_shape: ShapeLike) -> None:
        check_input_rank(self, input_shape, 2)
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape: ShapeLike) -> tuple[int | None, ...]:
        rows, cols = _cropped(self, input_shape, self.cropping)
        return (input_shape[0], rows, cols, input_shape[3])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": self.cropping, "data_format": self.data_format}


def _times(size: int | None, factor: int) -> int | None:
    return None if size is None else size * factor


class UpSampling1D(Layer):
    """Repeats each step ``size`` times along the steps axis of ``(batch, steps,
    channels)`` data.

    >>> import kandle as kd
    >>> kd.layers.UpSampling1D(size=2)(kd.tensor([[[1.0], [2.0]]])).numpy()[0, :, 0]
    array([1., 1., 2., 2.], dtype=float32)
    """

    _engine_class = "UpSampling1D"

    def __init__(self, size: int = 2, **kwargs: Any):
        if not _is_int(size) or size <= 0:
            raise InvalidArgumentError(
                f"UpSampling1D: `size` must be a positive int, got size={size!r}"
            )
        self.size = int(size)
        super().__init__(**kwargs)

    def build(self, input_shape: ShapeLike) -> None:
        check_input_rank(self, input_shape, 1)

    def compute_output_shape(self, input_shape: ShapeLike) -> tuple[int | None, ...]:
        return (input_shape[0], _times(input_shape[1], self.size), input_shape[2])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": self.size}


class UpSampling2D(Layer):
    """Repeats each row ``size[0]`` times and each column ``size[1]`` times of
    ``(batch, rows, cols, channels)`` images (nearest-neighbour interpolation, the only
    one supported).

    >>> import kandle as kd
    >>> kd.layers.UpSampling2D(size=(2, 3))(kd.ops.ones((1, 4, 4, 2))).shape
    (1, 8, 12, 2)
    """

    _engine_class = "UpSampling2D"

    def __init__(
        self,
        size: int | Sequence[int] = (2, 2),
        data_format: Any = None,
        interpolation: str = "nearest",
        **kwargs: Any,
    ):
        self.size = _positive_sizes("UpSampling2D", size, 2)
        self.data_format = check_data_format("UpSampling2D", data_format)
        if not isinstance(interpolation, str) or interpolation.lower() != "nearest":
            raise InvalidArgumentError(
                "UpSampling2D: only interpolation='nearest' is supported, got "
                f"interpolation={interpolation!r}"
            )
        self.interpolation = "nearest"
        super().__init__(**kwargs)

    def build(self, input_shape: ShapeLike) -> None:
        check_input_rank(self, input_shape, 2)

    def compute_output_shape(self, input_shape: ShapeLike) -> tuple[int | None, ...]:
        return (
            input_shape[0],
            _times(input_shape[1], self.size[0]),
            _times(input_shape[2], self.size[1]),
            input_shape[3],
        )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "size": self.size,
            "data_format": self.data_format,
            "interpolation": self.interpolation,
        }
