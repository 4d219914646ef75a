"""Pooling layers (channels last): MaxPooling1D/2D, AveragePooling1D/2D and the global
max and average poolings."""

from __future__ import annotations

from typing import Any

from kandle.errors import ShapeError
from kandle.layers.convolutional import (
    check_data_format,
    check_input_rank,
    standardize_padding,
    standardize_tuple,
    window_output_length,
)
from kandle.layers.layer import Layer, ShapeLike


class _Pooling(Layer):
    """A max or average window moved over the spatial axes; Keras's defaults
    (``strides=None`` means ``pool_size``, ``padding="valid"``)."""

    _rank: int = 2

    def __init__(
        self,
        pool_size: Any = 2,
        strides: Any = None,
        padding: str = "valid",
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        pool_size = standardize_tuple(pool_size, self._rank, "pool_size")
        strides = (
            pool_size if strides is None else standardize_tuple(strides, self._rank, "strides")
        )
        padding = standardize_padding(padding)
        data_format = check_data_format(type(self).__name__, data_format)
        super().__init__(**kwargs)
        self.pool_size = pool_size
        self.strides = strides
        self.padding = padding
        self.data_format = data_format

    def build(self, input_shape: ShapeLike) -> None:
        # Checks the rank and that the window fits, with a clear error, before data flows.
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape: ShapeLike) -> tuple[int | None, ...]:
        check_input_rank(self, input_shape, self._rank)
        shape = tuple(input_shape)
        spatial = tuple(
            window_output_length(length, size, stride, 1, self.padding)
            for length, size, stride in zip(shape[1:-1], self.pool_size, self.strides)
        )
        if any(length is not None and length <= 0 for length in spatial):
            raise ShapeError(
                f"{type(self).__name__} {self.name!r}: computed output size would be zero or "
                f"negative: pool_size={self.pool_size} is larger than the input (shape "
                f"{shape}, padding={self.padding!r})"
            )
        return (shape[0], *spatial, shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "pool_size": list(self.pool_size),
            "padding": self.padding,
            "strides": list(self.strides),
            "data_format": self.data_format,
        }


class MaxPooling1D(_Pooling):
    """The maximum over windows of ``pool_size`` steps of ``(batch, steps, channels)``.

    >>> import kandle as kd
    >>> kd.layers.MaxPooling1D(2)(kd.tensor([[[1.0], [3.0], [2.0], [5.0]]])).numpy().ravel()
    array([3., 5.], dtype=float32)
    """

    _engine_class = "MaxPooling1D"
    _rank = 1


class MaxPooling2D(_Pooling):
    """The maximum over ``pool_size`` windows of ``(batch, height, width, channels)``.

    >>> import kandle as kd
    >>> kd.layers.MaxPooling2D(2)(kd.ops.ones((2, 27, 27, 32))).shape
    (2, 13, 13, 32)
    """

    _engine_class = "MaxPooling2D"
    _rank = 2


class _AveragePooling(_Pooling):
    """Keras's average poolings take no default ``pool_size``."""

    def __init__(
        self,
        pool_size: Any,
        strides: Any = None,
        padding: str = "valid",
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling1D(_AveragePooling):
    """The mean over windows of ``pool_size`` steps; with ``padding="same"`` the padding
    is not counted.

    >>> import kandle as kd
    >>> kd.layers.AveragePooling1D(2)(kd.tensor([[[1.0], [3.0], [2.0], [6.0]]])).numpy().ravel()
    array([2., 4.], dtype=float32)
    """

    _engine_class = "AveragePooling1D"
    _rank = 1


class AveragePooling2D(_AveragePooling):
    """The mean over ``pool_size`` windows of ``(batch, height, width, channels)``.

    >>> import kandle as kd
    >>> kd.layers.AveragePooling2D(2, padding="same")(kd.ops.ones((1, 5, 5, 3))).shape
    (1, 3, 3, 3)
    """

    _engine_class = "AveragePooling2D"
    _rank = 2


class _GlobalPooling(Layer):
    """A max or mean over all spatial axes; ``keepdims`` keeps them with size 1."""

    _rank: int = 2

    def __init__(
        self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any
    ) -> None:
        data_format = check_data_format(type(self).__name__, data_format)
        super().__init__(**kwargs)
        self.data_format = data_format
        self.keepdims = bool(keepdims)

    def build(self, input_shape: ShapeLike) -> None:
        check_input_rank(self, input_shape, self._rank)

    def compute_output_shape(self, input_shape: ShapeLike) -> tuple[int | None, ...]:
        check_input_rank(self, input_shape, self._rank)
        shape = tuple(input_shape)
        if self.keepdims:
            return (shape[0], *(1,) * self._rank, shape[-1])
        return (shape[0], shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalMaxPooling1D(_GlobalPooling):
    """The maximum over the steps of ``(batch, steps, channels)``.

    >>> import kandle as kd
    >>> kd.layers.GlobalMaxPooling1D()(kd.ops.ones((2, 7, 3))).shape
    (2, 3)
    """

    _engine_class = "GlobalMaxPooling1D"
    _rank = 1


class GlobalMaxPooling2D(_GlobalPooling):
    """The maximum over height and width of ``(batch, height, width, channels)``.

    >>> import kandle as kd
    >>> kd.layers.GlobalMaxPooling2D(keepdims=True)(kd.ops.ones((2, 4, 4, 3))).shape
    (2, 1, 1, 3)
    """

    _engine_class = "GlobalMaxPooling2D"
    _rank = 2


class GlobalAveragePooling1D(_GlobalPooling):
    """The mean over the steps of ``(batch, steps, channels)``.

    >>> import kandle as kd
    >>> kd.layers.GlobalAveragePooling1D()(kd.tensor([[[1.0], [3.0]]])).numpy()
    array([[2.]], dtype=float32)
    """

    _engine_class = "GlobalAveragePooling1D"
    _rank = 1


class GlobalAveragePooling2D(_GlobalPooling):
    """The mean over height and width of ``(batch, height, width, channels)``.

    >>> import kandle as kd
    >>> kd.layers.GlobalAveragePooling2D()(kd.ops.ones((2, 4, 4, 3))).shape
    (2, 3)
    """

    _engine_class = "GlobalAveragePooling2D"
    _rank = 2
