"""The Dense (fully connected) layer."""

from __future__ import annotations

from typing import Any

from kandle import _core, activations, initializers
from kandle._core import Tensor
from kandle.errors import InvalidArgumentError, ShapeError
from kandle.layers.layer import Layer

# Activations computed inside the fused Dense op; others run after it.
_FUSED = {"linear", "relu", "sigmoid", "tanh"}


class Dense(Layer):
    """``activation(inputs @ weight.T + bias)`` over the last axis of the inputs.

    Weights follow candle and PyTorch: ``weight`` has shape ``(units, in)`` and ``bias``
    ``(units,)``. ``kernel`` gives the Keras layout ``(in, units)``. Defaults are Keras's:
    glorot_uniform kernel, zero bias.

    >>> import kandle as kd
    >>> layer = kd.layers.Dense(3, activation="relu")
    >>> layer(kd.ops.ones((2, 4))).shape
    (2, 3)
    >>> layer.weight.shape, layer.kernel.shape
    ((3, 4), (4, 3))
    """

    def __init__(
        self,
        units: int,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
            raise InvalidArgumentError(
                f"Received an invalid value for `units`, expected a positive integer. "
                f"Received: units={units!r}"
            )
        super().__init__(name=name, **kwargs)
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.weight: Any = None
        self.bias: Any = None

    def build(self, input_shape: tuple[int, ...]) -> None:
        if len(input_shape) == 0 or input_shape[-1] == 0:
            raise ShapeError(
                f"Dense {self.name!r}: expected inputs with a non-empty last axis, "
                f"got shape {tuple(input_shape)}"
            )
        fan_in = input_shape[-1]
        # Keras draws the kernel in its (in, units) layout; we store its transpose.
        kernel = self.kernel_initializer((fan_in, self.units))
        self.weight = self.add_weight((self.units, fan_in), initializer=lambda _: kernel.T,
                                      name="weight")
        if self.use_bias:
            self.bias = self.add_weight((self.units,), initializer=self.bias_initializer,
                                        name="bias")
        self.input_dim = fan_in

    @property
    def kernel(self) -> Tensor:
        """The weight in Keras's layout ``(in, units)`` (a copy)."""
        return self.weight.T

    def call(self, inputs: Tensor) -> Tensor:
        if inputs.ndim == 0 or inputs.shape[-1] != self.input_dim:
            raise ShapeError(
                f"Input 0 of layer {self.name!r} is incompatible with the layer: expected axis -1 "
                f"of input shape to have value {self.input_dim}, but received input with shape "
                f"{tuple(inputs.shape)}"
            )
        name = activations.serialize(self.activation)
        fused = name if name in _FUSED else "linear"
        y = _core.linear(inputs, self.weight, self.bias, fused)
        return y if name in _FUSED else self.activation(y)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
        }
