"""The activation layers: Activation, and Keras's ReLU, LeakyReLU, ELU, Softmax and PReLU."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from kandle import activations, initializers, regularizers
from kandle._core import Tensor
from kandle.errors import InvalidArgumentError, ShapeError
from kandle.layers.dense import check_no_constraint
from kandle.layers.layer import Layer, ShapeLike


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


def _non_negative(layer: str, arg: str, value: Any, allow_none: bool = False) -> float | None:
    """``value`` as a float >= 0 (or None where allowed), or an error naming ``arg``."""
    if value is None and allow_none:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not math.isfinite(value)
        or value < 0
    ):
        expected = "None or a number >= 0" if allow_none else "a number >= 0"
        raise InvalidArgumentError(f"{layer}: `{arg}` must be {expected}, got {arg}={value!r}")
    return float(value)


class ReLU(Layer):
    """Keras's ReLU layer: ``x`` above ``threshold`` (else 0), capped at ``max_value``,
    and ``negative_slope * (x - threshold)`` below the threshold.

    >>> import kandle as kd
    >>> layer = kd.layers.ReLU(max_value=10, negative_slope=0.5)
    >>> layer(kd.tensor([-10.0, -5.0, 0.0, 5.0, 20.0])).numpy()
    array([-5. , -2.5,  0. ,  5. , 10. ], dtype=float32)
    """

    _engine_class = "ReLU"

    def __init__(
        self,
        max_value: float | None = None,
        negative_slope: float = 0.0,
        threshold: float = 0.0,
        **kwargs: Any,
    ) -> None:
        self.max_value = _non_negative("ReLU", "max_value", max_value, allow_none=True)
        self.negative_slope = _non_negative("ReLU", "negative_slope", negative_slope)
        self.threshold = _non_negative("ReLU", "threshold", threshold)
        super().__init__(**kwargs)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "max_value": self.max_value,
            "negative_slope": self.negative_slope,
            "threshold": self.threshold,
        }


class LeakyReLU(Layer):
    """``x`` for ``x >= 0``, else ``negative_slope * x`` (Keras's default slope: 0.3).

    >>> import kandle as kd
    >>> kd.layers.LeakyReLU(negative_slope=0.5)(kd.tensor([-10.0, 5.0])).numpy()
    array([-5.,  5.], dtype=float32)
    """

    _engine_class = "LeakyReLU"

    def __init__(self, negative_slope: float = 0.3, **kwargs: Any) -> None:
        if "alpha" in kwargs:  # Keras's deprecated name of the slope
            negative_slope = kwargs.pop("alpha")
        self.negative_slope = _non_negative("LeakyReLU", "negative_slope", negative_slope)
        super().__init__(**kwargs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(Layer):
    """Exponential linear unit: ``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)``.

    >>> import kandle as kd
    >>> [round(v, 4) for v in kd.layers.ELU(alpha=2.0)(kd.tensor([-1.0, 3.0])).numpy().tolist()]
    [-1.2642, 3.0]
    """

    _engine_class = "ELU"

    def __init__(self, alpha: float = 1.0, **kwargs: Any) -> None:
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)):
            raise InvalidArgumentError(f"ELU: `alpha` must be a number, got alpha={alpha!r}")
        self.alpha = float(alpha)
        super().__init__(**kwargs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(Layer):
    """``exp(x) / sum(exp(x))`` along ``axis`` (an int, or a list of ints normalized
    together). Keras's ``mask`` call argument is not supported.

    >>> import kandle as kd
    >>> kd.layers.Softmax()(kd.tensor([[1.0, 2.0, 1.0]])).numpy()
    array([[0.21194157, 0.5761169 , 0.21194157]], dtype=float32)
    """

    _engine_class = "Softmax"

    def __init__(self, axis: int | Sequence[int] = -1, **kwargs: Any) -> None:
        def is_int(a: Any) -> bool:
            return isinstance(a, (int, np.integer)) and not isinstance(a, bool)

        if isinstance(axis, (list, tuple)):
            if not axis or not all(is_int(a) for a in axis):
                raise InvalidArgumentError(
                    f"Softmax: `axis` must be an int or a non-empty list of ints, got axis={axis!r}"
                )
            self.axis: int | list[int] = [int(a) for a in axis]
        elif isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
            self.axis = int(axis)
        else:
            raise InvalidArgumentError(
                f"Softmax: `axis` must be an int or a non-empty list of ints, got axis={axis!r}"
            )
        super().__init__(**kwargs)

    def build(self, input_shape: ShapeLike) -> None:
        rank = len(input_shape)
        for a in self.axis if isinstance(self.axis, list) else [self.axis]:
            if not -rank <= a < rank:
                raise ShapeError(
                    f"Softmax {self.name!r}: `axis` {a} is out of bounds for inputs of rank "
                    f"{rank} (shape {tuple(input_shape)})"
                )

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


class PReLU(Layer):
    """Parametric ReLU: ``x`` for ``x > 0``, else ``alpha * x``, where ``alpha`` is a
    trained weight of the input's shape without the batch axis; ``shared_axes`` (numbered
    from 1) share one alpha along those axes, e.g. ``[1, 2]`` gives one per channel of an
    image.

    >>> import kandle as kd
    >>> layer = kd.layers.PReLU(alpha_initializer=kd.initializers.Constant(0.25), shared_axes=[1])
    >>> layer(kd.tensor([[[-4.0, 2.0], [-8.0, -1.0]]])).numpy()
    array([[[-1.  ,  2.  ],
            [-2.  , -0.25]]], dtype=float32)
    >>> layer.alpha.shape
    (1, 2)
    """

    _engine_class = "PReLU"

    def __init__(
        self,
        alpha_initializer: Any = "Zeros",
        alpha_regularizer: Any = None,
        alpha_constraint: Any = None,
        shared_axes: int | Sequence[int] | None = None,
        **kwargs: Any,
    ) -> None:
        check_no_constraint("PReLU", alpha_constraint=alpha_constraint)
        if shared_axes is None:
            self.shared_axes: list[int] | None = None
        else:
            axes: list[Any] = (
                list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            )
            if not all(
                isinstance(a, (int, np.integer)) and not isinstance(a, bool) and a >= 1
                for a in axes
            ):
                raise InvalidArgumentError(
                    "PReLU: `shared_axes` must be None, an int or a list of ints >= 1 (the batch "
                    f"axis cannot be shared), got shared_axes={shared_axes!r}"
                )
            self.shared_axes = [int(a) for a in axes]
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha: Any = None

    def build(self, input_shape: ShapeLike) -> None:
        shape = list(input_shape[1:])
        if len(input_shape) < 2:
            raise ShapeError(
                f"PReLU {self.name!r}: expected inputs with a batch axis and at least one more, "
                f"got shape {tuple(input_shape)}"
            )
        for axis in self.shared_axes or []:
            if axis > len(shape):
                raise ShapeError(
                    f"PReLU {self.name!r}: `shared_axes` {self.shared_axes} must name axes of "
                    f"inputs of rank {len(input_shape)}, got shape {tuple(input_shape)}"
                )
            shape[axis - 1] = 1
        if any(d is None for d in shape):
            raise ShapeError(
                f"PReLU {self.name!r}: every axis without shared alpha needs a known size, got "
                f"shape {tuple(input_shape)} (share the unknown axes with `shared_axes`)"
            )
        self.alpha = self.add_weight(
            tuple(int(d) for d in shape),  # type: ignore[arg-type]
            initializer=self.alpha_initializer,
            name="alpha",
        )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": None,
            "shared_axes": self.shared_axes,
        }
