"""Convolution layers: Conv1D and Conv2D (channels last)."""

from __future__ import annotations

from typing import Any

import numpy as np

from kandle import activations, initializers, regularizers
from kandle._core import Tensor
from kandle.errors import InvalidArgumentError, ShapeError
from kandle.layers.dense import FusedActivationLayer, check_no_constraint
from kandle.layers.layer import Layer, ShapeLike


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def standardize_tuple(value: Any, rank: int, argument: str) -> tuple[int, ...]:
    """One positive integer per spatial axis, from an integer or a sequence of ``rank``
    (Keras's ``standardize_tuple``); the error names ``argument``."""
    values = (value,) * rank if _is_int(value) else value
    try:
        values = tuple(values)
    except TypeError:
        values = ()
    if len(values) != rank or not all(_is_int(v) and v > 0 for v in values):
        raise InvalidArgumentError(
            f"The `{argument}` argument must be a tuple of {rank} positive integers. "
            f"Received: {argument}={value!r}"
        )
    return tuple(int(v) for v in values)


def standardize_padding(padding: Any, allow_causal: bool = False) -> str:
    """Keras's padding names, any case: "valid", "same" (and "causal" for Conv1D)."""
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    name = padding.lower() if isinstance(padding, str) else padding
    if name not in allowed:
        raise InvalidArgumentError(
            f"The `padding` argument must be one of {allowed}. Received: padding={padding!r}"
        )
    return str(name)


def check_data_format(layer: str, data_format: Any) -> str:
    """kandle computes channels last; ``channels_first`` is refused, naming the argument."""
    if data_format not in (None, "channels_last"):
        raise InvalidArgumentError(
            f"{layer}: only data_format='channels_last' is supported (inputs of shape "
            f"(batch, ..., channels)), got data_format={data_format!r}"
        )
    return "channels_last"


def window_output_length(
    length: int | None, size: int, stride: int, dilation: int, padding: str
) -> int | None:
    """The number of window positions along an axis of ``length`` (Keras's formula)."""
    if length is None:
        return None
    if padding == "valid":
        return (length - dilation * (size - 1) - 1) // stride + 1
    return -(-length // stride)  # "same" and "causal": ceil(length / stride)


def check_input_rank(layer: Layer, input_shape: ShapeLike, rank: int) -> None:
    """Keras's message for an input of the wrong rank (``rank`` spatial axes)."""
    if len(input_shape) != rank + 2:
        raise ShapeError(
            f"Input 0 of layer {layer.name!r} is incompatible with the layer: expected "
            f"ndim={rank + 2}, found ndim={len(input_shape)}. Full shape received: "
            f"{tuple(input_shape)}"
        )


class _Windowed(FusedActivationLayer):
    """What the convolution layers share: the engine runs the window (with a built-in
    activation fused, a Python one after it), and the output shape follows the window.
    A subclass sets ``_rank`` (spatial axes) and ``_out_channels``."""

    _rank: int = 2
    # Set by the subclasses' constructors and build.
    input_channels: int | None
    kernel_size: tuple[int, ...]
    strides: tuple[int, ...]
    dilation_rate: tuple[int, ...]
    padding: str

    def _out_channels(self, channels: int | None) -> int | None:
        raise NotImplementedError

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        if inputs.ndim != self._rank + 2 or inputs.shape[-1] != self.input_channels:
            raise ShapeError(
                f"Input 0 of layer {self.name!r} is incompatible with the layer: expected "
                f"ndim={self._rank + 2} and axis -1 of input shape to have value "
                f"{self.input_channels}, but received input with shape {tuple(inputs.shape)}"
            )
        return self._forward_then_activation(inputs, training)

    def compute_output_shape(self, input_shape: ShapeLike) -> tuple[int | None, ...]:
        check_input_rank(self, input_shape, self._rank)
        shape = tuple(input_shape)
        spatial = tuple(
            window_output_length(length, size, stride, dilation, self.padding)
            for length, size, stride, dilation in zip(
                shape[1:-1], self.kernel_size, self.strides, self.dilation_rate
            )
        )
        if any(length is not None and length <= 0 for length in spatial):
            raise ShapeError(
                f"{type(self).__name__} {self.name!r}: computed output size would be zero or "
                f"negative: the window (kernel_size={self.kernel_size}, "
                f"dilation_rate={self.dilation_rate}) is larger than the input (shape "
                f"{shape}, padding={self.padding!r})"
            )
        return (shape[0], *spatial, self._out_channels(shape[-1]))


class _Conv(_Windowed):
    """The shared part of Conv1D and Conv2D: arguments, weights, shapes and config.

    The kernel is held in Keras's layout ``(*kernel_size, in / groups, filters)``, which
    is also what ``get_weights`` gives; the numbers are computed by the engine.
    """

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: Any = 1,
        groups: int = 1,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        cls = type(self).__name__
        rank = self._rank
        if not _is_int(filters) or filters <= 0:
            raise InvalidArgumentError(
                "Invalid value for argument `filters`. Expected a strictly positive value. "
                f"Received filters={filters!r}."
            )
        if not _is_int(groups) or groups <= 0:
            raise InvalidArgumentError(
                f"The number of groups must be a positive integer. Received: groups={groups!r}."
            )
        if filters % groups != 0:
            raise InvalidArgumentError(
                "The number of filters must be evenly divisible by the number of groups. "
                f"Received: groups={groups}, filters={filters}."
            )
        kernel_size = standardize_tuple(kernel_size, rank, "kernel_size")
        strides = standardize_tuple(strides, rank, "strides")
        dilation_rate = standardize_tuple(dilation_rate, rank, "dilation_rate")
        if max(strides) > 1 and max(dilation_rate) > 1:
            raise InvalidArgumentError(
                "`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                f"Received: strides={strides} and dilation_rate={dilation_rate}"
            )
        padding = standardize_padding(padding, allow_causal=rank == 1)
        data_format = check_data_format(cls, data_format)
        check_no_constraint(
            cls,
            kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint,
            activity_regularizer=activity_regularizer,
        )
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = kernel_size
        self.strides = strides
        self.padding = padding
        self.data_format = data_format
        self.dilation_rate = dilation_rate
        self.groups = int(groups)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel: Any = None
        self.bias: Any = None
        self.input_channels: int | None = None

    def build(self, input_shape: ShapeLike) -> None:
        check_input_rank(self, input_shape, self._rank)
        channels = input_shape[-1]
        if not channels or channels % self.groups != 0:
            raise InvalidArgumentError(
                "The number of input channels must be evenly divisible by the number of "
                f"groups. Received groups={self.groups}, but the input has {channels} "
                f"channels (full input shape is {tuple(input_shape)})."
            )
        # Checks that the window fits the input before any weight exists.
        self.compute_output_shape(input_shape)
        shape = (*self.kernel_size, channels // self.groups, self.filters)
        self.kernel = self.add_weight(shape, initializer=self.kernel_initializer, name="kernel")
        if self.use_bias:
            self.bias = self.add_weight(
                (self.filters,), initializer=self.bias_initializer, name="bias"
            )
        self.input_channels = int(channels)

    def _out_channels(self, channels: int | None) -> int | None:
        return self.filters

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": list(self.dilation_rate),
            "groups": self.groups,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": None,
            "kernel_constraint": None,
            "bias_constraint": None,
        }


class Conv1D(_Conv):
    """1-D convolution over ``(batch, steps, channels)`` inputs.

    ``padding`` may be "valid", "same" or "causal" (zeros before the sequence only, so
    that output ``t`` sees inputs up to ``t``). The kernel has Keras's layout
    ``(kernel_size, in / groups, filters)``.

    >>> import kandle as kd
    >>> layer = kd.layers.Conv1D(4, 3, padding="causal")
    >>> layer(kd.ops.ones((2, 10, 3))).shape
    (2, 10, 4)
    >>> layer.kernel.shape
    (3, 3, 4)
    """

    _engine_class = "Conv1D"
    _rank = 1


class Conv2D(_Conv):
    """2-D convolution over ``(batch, height, width, channels)`` inputs.

    Defaults are Keras's: stride 1, "valid" padding, glorot_uniform kernel of shape
    ``(kh, kw, in / groups, filters)`` (Keras's layout, as ``get_weights`` gives it) and
    a zero bias. ``strides``, ``dilation_rate`` and ``groups`` work as in Keras;
    ``data_format="channels_first"`` is refused.

    >>> import kandle as kd
    >>> layer = kd.layers.Conv2D(32, 3, activation="relu")
    >>> layer(kd.ops.ones((2, 28, 28, 1))).shape
    (2, 26, 26, 32)
    >>> [w.shape for w in layer.get_weights()]
    [(3, 3, 1, 32), (32,)]
    """

    _engine_class = "Conv2D"
    _rank = 2


class Conv2DTranspose(_Conv):
    """The transposed 2-D convolution (the adjoint of Conv2D with the same window):
    each input pixel spreads its channels, times the kernel, over an output window, so
    that ``strides`` upsample. The kernel has Keras's layout ``(kh, kw, filters, in)``.

    Output size per axis: ``input * stride`` ("same"), ``input * stride + max(kernel -
    stride, 0)`` ("valid"). ``output_padding`` other than None is refused.

    >>> import kandle as kd
    >>> layer = kd.layers.Conv2DTranspose(8, 3, strides=2, padding="same")
    >>> layer(kd.ops.ones((2, 7, 7, 4))).shape
    (2, 14, 14, 8)
    >>> layer.kernel.shape
    (3, 3, 8, 4)
    """

    _engine_class = "Conv2DTranspose"
    _rank = 2

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = (1, 1),
        padding: str = "valid",
        output_padding: Any = None,
        data_format: str | None = None,
        dilation_rate: Any = (1, 1),
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        if output_padding is not None:
            raise InvalidArgumentError(
                "Conv2DTranspose: only output_padding=None is supported, got "
                f"output_padding={output_padding!r}"
            )
        super().__init__(
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint,
            **kwargs,
        )

    def build(self, input_shape: ShapeLike) -> None:
        check_input_rank(self, input_shape, self._rank)
        channels = input_shape[-1]
        if not channels:
            raise ShapeError(
                f"Conv2DTranspose {self.name!r}: the input's channels (last axis) must be known "
                f"and non-zero, got input shape {tuple(input_shape)}"
            )
        shape = (*self.kernel_size, self.filters, int(channels))
        self.kernel = self.add_weight(shape, initializer=self.kernel_initializer, name="kernel")
        if self.use_bias:
            self.bias = self.add_weight(
                (self.filters,), initializer=self.bias_initializer, name="bias"
            )
        self.input_channels = int(channels)

    def compute_output_shape(self, input_shape: ShapeLike) -> tuple[int | None, ...]:
        check_input_rank(self, input_shape, self._rank)
        shape = tuple(input_shape)
        spatial: list[int | None] = []
        for length, size, stride, dilation in zip(
            shape[1:-1], self.kernel_size, self.strides, self.dilation_rate
        ):
            span = dilation * (size - 1) + 1
            if length is None:
                spatial.append(None)
            elif self.padding == "same":
                spatial.append(length * stride)
            else:
                spatial.append(length * stride + max(span - stride, 0))
        return (shape[0], *spatial, self.filters)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["groups"]
        keys = list(config)
        # Keras's order: output_padding after padding.
        at = keys.index("padding") + 1
        items = list(config.items())
        return dict(items[:at] + [("output_padding", None)] + items[at:])


class DepthwiseConv2D(_Windowed):
    """Convolves each input channel with its own ``depth_multiplier`` filters:
    ``(batch, height, width, channels) -> (..., channels * depth_multiplier)``.

    The kernel has Keras's layout ``(kh, kw, channels, depth_multiplier)``; output
    channel ``c * depth_multiplier + m`` comes from input channel ``c``.

    >>> import kandle as kd
    >>> layer = kd.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same")
    >>> layer(kd.ops.ones((2, 8, 8, 3))).shape
    (2, 8, 8, 6)
    >>> [w.shape for w in layer.get_weights()]
    [(3, 3, 3, 2), (6,)]
    """

    _engine_class = "DepthwiseConv2D"
    _separable = False

    def __init__(
        self,
        kernel_size: Any,
        strides: Any = (1, 1),
        padding: str = "valid",
        depth_multiplier: int = 1,
        data_format: str | None = None,
        dilation_rate: Any = (1, 1),
        activation: Any = None,
        use_bias: bool = True,
        depthwise_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        depthwise_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        depthwise_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        self._init_depthwise(
            kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate
        )
        check_no_constraint(
            type(self).__name__,
            depthwise_constraint=depthwise_constraint,
            bias_constraint=bias_constraint,
            activity_regularizer=activity_regularizer,
        )
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.input_channels: int | None = None

    def _init_depthwise(
        self,
        kernel_size: Any,
        strides: Any,
        padding: str,
        depth_multiplier: Any,
        data_format: str | None,
        dilation_rate: Any,
    ) -> None:
        if not _is_int(depth_multiplier) or depth_multiplier <= 0:
            raise InvalidArgumentError(
                "Invalid value for argument `depth_multiplier`. Expected a strictly positive "
                f"value. Received depth_multiplier={depth_multiplier!r}."
            )
        self.kernel_size = standardize_tuple(kernel_size, 2, "kernel_size")
        self.strides = standardize_tuple(strides, 2, "strides")
        self.dilation_rate = standardize_tuple(dilation_rate, 2, "dilation_rate")
        self.padding = standardize_padding(padding)
        self.data_format = check_data_format(type(self).__name__, data_format)
        self.depth_multiplier = int(depth_multiplier)

    def _check_input(self, input_shape: ShapeLike) -> int:
        check_input_rank(self, input_shape, 2)
        channels = input_shape[-1]
        if not channels:
            raise ShapeError(
                f"{type(self).__name__} {self.name!r}: the input's channels (last axis) must be "
                f"known and non-zero, got input shape {tuple(input_shape)}"
            )
        # Checks that the window fits the input before any weight exists.
        self.compute_output_shape(input_shape)
        self.input_channels = int(channels)
        return int(channels)

    def build(self, input_shape: ShapeLike) -> None:
        channels = self._check_input(input_shape)
        self.kernel = self.add_weight(
            (*self.kernel_size, channels, self.depth_multiplier),
            initializer=self.depthwise_initializer,
            name="kernel",
        )
        if self.use_bias:
            self.bias = self.add_weight(
                (channels * self.depth_multiplier,), initializer=self.bias_initializer, name="bias"
            )

    def _out_channels(self, channels: int | None) -> int | None:
        return None if channels is None else channels * self.depth_multiplier

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "depth_multiplier": self.depth_multiplier,
            "data_format": self.data_format,
            "dilation_rate": list(self.dilation_rate),
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": None,
            "depthwise_constraint": None,
            "bias_constraint": None,
        }


class SeparableConv2D(DepthwiseConv2D):
    """A depthwise convolution (each input channel with its own ``depth_multiplier``
    filters) followed by a 1x1 convolution to ``filters`` channels, then the bias.

    Weights, in Keras's order and layouts: ``depthwise_kernel`` ``(kh, kw, in,
    depth_multiplier)``, ``pointwise_kernel`` ``(1, 1, in * depth_multiplier, filters)``,
    ``bias`` ``(filters,)``.

    >>> import kandle as kd
    >>> layer = kd.layers.SeparableConv2D(8, 3, activation="relu")
    >>> layer(kd.ops.ones((2, 10, 10, 4))).shape
    (2, 8, 8, 8)
    >>> [w.shape for w in layer.get_weights()]
    [(3, 3, 4, 1), (1, 1, 4, 8), (8,)]
    """

    _engine_class = "SeparableConv2D"

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = (1, 1),
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: Any = (1, 1),
        depth_multiplier: int = 1,
        activation: Any = None,
        use_bias: bool = True,
        depthwise_initializer: Any = "glorot_uniform",
        pointwise_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        depthwise_regularizer: Any = None,
        pointwise_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        depthwise_constraint: Any = None,
        pointwise_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        if not _is_int(filters) or filters <= 0:
            raise InvalidArgumentError(
                "Invalid value for argument `filters`. Expected a strictly positive value. "
                f"Received filters={filters!r}."
            )
        check_no_constraint("SeparableConv2D", pointwise_constraint=pointwise_constraint)
        super().__init__(
            kernel_size,
            strides=strides,
            padding=padding,
            depth_multiplier=depth_multiplier,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            use_bias=use_bias,
            depthwise_initializer=depthwise_initializer,
            bias_initializer=bias_initializer,
            depthwise_regularizer=depthwise_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            depthwise_constraint=depthwise_constraint,
            bias_constraint=bias_constraint,
            **kwargs,
        )
        self.filters = int(filters)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)

    def build(self, input_shape: ShapeLike) -> None:
        channels = self._check_input(input_shape)
        self.depthwise_kernel = self.add_weight(
            (*self.kernel_size, channels, self.depth_multiplier),
            initializer=self.depthwise_initializer,
            name="depthwise_kernel",
        )
        self.pointwise_kernel = self.add_weight(
            (1, 1, channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer,
            name="pointwise_kernel",
        )
        if self.use_bias:
            self.bias = self.add_weight(
                (self.filters,), initializer=self.bias_initializer, name="bias"
            )

    def _out_channels(self, channels: int | None) -> int | None:
        return self.filters

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        return {
            "name": config["name"],
            "trainable": config["trainable"],
            "dtype": config["dtype"],
            "filters": self.filters,
            "kernel_size": config["kernel_size"],
            "strides": config["strides"],
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": config["dilation_rate"],
            "depth_multiplier": self.depth_multiplier,
            "activation": config["activation"],
            "use_bias": self.use_bias,
            "depthwise_initializer": config["depthwise_initializer"],
            "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
            "bias_initializer": config["bias_initializer"],
            "depthwise_regularizer": config["depthwise_regularizer"],
            "pointwise_regularizer": regularizers.serialize(self.pointwise_regularizer),
            "bias_regularizer": config["bias_regularizer"],
            "activity_regularizer": None,
            "depthwise_constraint": None,
            "pointwise_constraint": None,
            "bias_constraint": None,
        }


__all__ = ["Conv1D", "Conv2D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D"]
