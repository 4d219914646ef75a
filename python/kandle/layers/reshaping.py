"""Flatten, Reshape, RepeatVector, Permute and Identity."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from kandle.errors import InvalidArgumentError, ShapeError
from kandle.layers.layer import Layer, ShapeLike


class Flatten(Layer):
    """Flattens every axis but the batch axis: ``(batch, d1, d2, ...) -> (batch, d1*d2*...)``.

    >>> import kandle as kd
    >>> kd.layers.Flatten()(kd.ops.ones((2, 3, 4))).shape
    (2, 12)
    """

    _engine_class = "Flatten"

    def __init__(self, data_format: str | None = None, **kwargs: Any) -> None:
        if data_format not in (None, "channels_last"):
            raise InvalidArgumentError(
                f"Flatten: only data_format='channels_last' is supported, got {data_format!r}"
            )
        super().__init__(**kwargs)
        self.data_format = "channels_last"

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


def _check_rank(layer: Layer, input_shape: ShapeLike, rank: int) -> None:
    if len(input_shape) != rank:
        raise ShapeError(
            f"Input 0 of layer {layer.name!r} is incompatible with the layer: expected "
            f"ndim={rank}, found ndim={len(input_shape)}. Full shape received: "
            f"{tuple(input_shape)}"
        )


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
        _check_rank(self, input_shape, 2)

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
        _check_rank(self, input_shape, len(self.dims) + 1)

    def compute_output_shape(self, input_shape: ShapeLike) -> tuple[int | None, ...]:
        return (input_shape[0], *(input_shape[d] for d in self.dims))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "dims": self.dims}
