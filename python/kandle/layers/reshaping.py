"""Flatten and Reshape."""

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
        fits = total % known == 0 if -1 in self.target_shape and known else total == known
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
