"""The Activation layer."""

from __future__ import annotations

from typing import Any

from kandle import activations
from kandle._core import Tensor
from kandle.layers.layer import Layer


class Activation(Layer):
    """Applies an activation function (a name from ``kandle.activations`` or a callable).

    >>> import kandle as kd
    >>> kd.layers.Activation("relu")(kd.tensor([[-1.0, 2.0]])).numpy()
    array([[0., 2.]], dtype=float32)
    """

    _engine_class = "Activation"

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def _make_engine(self) -> None:
        # A Python callable has no engine counterpart: `call` applies it directly.
        if activations.is_builtin(self.activation):
            super()._make_engine()

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        if self._engine is None:
            return self.activation(inputs)
        return self._engine.forward(inputs, bool(training))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}
