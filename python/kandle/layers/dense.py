"""The Dense (fully connected) layer."""

from __future__ import annotations

from typing import Any

import numpy as np

from kandle import activations, initializers, regularizers
from kandle._core import Tensor
from kandle.errors import InvalidArgumentError, ShapeError
from kandle.layers.layer import Layer, ShapeLike


def check_no_constraint(layer: str, **constraints: Any) -> None:
    """kandle has no weight constraints yet; refuse one rather than ignore it."""
    for arg, value in constraints.items():
        if value is not None:
            raise InvalidArgumentError(f"{layer}: `{arg}` is not supported, got {value!r}")


class FusedActivationLayer(Layer):
    """A layer whose engine op fuses its activation (Dense, the convolutions): a
    built-in activation runs in the engine; a Python one after the engine's linear
    output."""

    activation: Any

    def _engine_config(self) -> dict[str, Any]:
        config = self.get_config()
        if not activations.is_builtin(self.activation):
            config["activation"] = "linear"
        return config

    def _forward_then_activation(self, inputs: Tensor, training: bool) -> Tensor:
        y = self._engine.forward(inputs, bool(training))
        return y if activations.is_builtin(self.activation) else self.activation(y)


class Dense(FusedActivationLayer):
    """``activation(inputs @ kernel + bias)`` over the last axis of the inputs.

    Weights follow candle and PyTorch: ``weight`` has shape ``(units, in)`` and ``bias``
    ``(units,)``. ``kernel`` gives the Keras layout ``(in, units)``, as do
    ``get_weights``/``set_weights``. Defaults are Keras's: glorot_uniform kernel, zero bias.
    Regularizer penalties (``regularization()``) are added to the loss by ``fit``.

    >>> import kandle as kd
    >>> layer = kd.layers.Dense(3, activation="relu", kernel_regularizer="l2")
    >>> layer(kd.ops.ones((2, 4))).shape
    (2, 3)
    >>> layer.weight.shape, layer.kernel.shape
    ((3, 4), (4, 3))
    >>> [w.shape for w in layer.get_weights()]
    [(4, 3), (3,)]
    """

    _engine_class = "Dense"

    def __init__(
        self,
        units: int,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise InvalidArgumentError(
                f"Received an invalid value for `units`, expected a positive integer. "
                f"Received: units={units!r}"
            )
        check_no_constraint(
            "Dense", kernel_constraint=kernel_constraint, bias_constraint=bias_constraint
        )
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.weight: Any = None
        self.bias: Any = None
        self.input_dim: int | None = None

    def build(self, input_shape: ShapeLike) -> None:
        if len(input_shape) == 0 or not input_shape[-1]:
            raise ShapeError(
                f"Dense {self.name!r}: expected inputs with a known, non-empty last axis, "
                f"got shape {tuple(input_shape)}"
            )
        fan_in = int(input_shape[-1])
        # Keras draws the kernel in its (in, units) layout; we store its transpose.
        kernel = np.asarray(self.kernel_initializer((fan_in, self.units)), dtype=np.float32)
        self.weight = self.add_weight(
            (self.units, fan_in), initializer=lambda _: kernel.T, name="kernel"
        )
        if self.use_bias:
            self.bias = self.add_weight(
                (self.units,), initializer=self.bias_initializer, name="bias"
            )
        self.input_dim = fan_in

    @property
    def kernel(self) -> Tensor:
        """The weight in Keras's layout ``(in, units)`` (a copy)."""
        return self.weight.T

    def _to_keras_layout(self, index: int, value: np.ndarray) -> np.ndarray:
        return value.T if index == 0 else value

    def _from_keras_layout(self, index: int, value: np.ndarray) -> np.ndarray:
        return value.T if index == 0 else value

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        if inputs.ndim == 0 or inputs.shape[-1] != self.input_dim:
            raise ShapeError(
                f"Input 0 of layer {self.name!r} is incompatible with the layer: expected axis -1 "
                f"of input shape to have value {self.input_dim}, but received input with shape "
                f"{tuple(inputs.shape)}"
            )
        return self._forward_then_activation(inputs, training)

    def compute_output_shape(self, input_shape: ShapeLike) -> tuple[int | None, ...]:
        return (*tuple(input_shape)[:-1], self.units)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": None,
            "bias_constraint": None,
        }
