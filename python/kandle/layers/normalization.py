"""BatchNormalization, LayerNormalization and UnitNormalization."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kandle import initializers, regularizers
from kandle.errors import InvalidArgumentError, ShapeError
from kandle.layers.dense import check_no_constraint
from kandle.layers.layer import Layer, ShapeLike


def _axis_index(layer: Layer, axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise ShapeError(
            f"{type(layer).__name__} {layer.name!r}: axis {axis} is out of range for inputs of "
            f"rank {rank}"
        )
    return axis % rank


def _check_epsilon(epsilon: Any) -> float:
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not epsilon > 0:
        raise InvalidArgumentError(f"`epsilon` must be a positive number, got epsilon={epsilon!r}")
    return float(epsilon)


class BatchNormalization(Layer):
    """Normalizes each feature (along ``axis``) to zero mean and unit variance, then scales
    by ``gamma`` and shifts by ``beta``.

    In training it uses the batch's mean and (biased) variance over every axis but
    ``axis``, and updates ``moving = moving * momentum + batch * (1 - momentum)``; in
    inference it uses the moving statistics. Weights, in Keras's order: gamma, beta,
    moving_mean, moving_variance (the last two non-trainable).

    >>> import kandle as kd
    >>> bn = kd.layers.BatchNormalization()
    >>> y = bn(kd.tensor([[1.0, 2.0], [3.0, 6.0]]), training=True)
    >>> [round(v, 4) for v in y.numpy()[0].tolist()]  # (x - mean) / sqrt(var + 1e-3)
    [-0.9995, -0.9999]
    >>> [round(v, 2) for v in bn.moving_mean.numpy().tolist()]
    [0.02, 0.04]
    """

    _engine_class = "BatchNormalization"

    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        moving_mean_initializer: Any = "zeros",
        moving_variance_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        synchronized: bool = False,
        **kwargs: Any,
    ) -> None:
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise InvalidArgumentError(f"BatchNormalization: `axis` must be an int, got {axis!r}")
        if (
            isinstance(momentum, bool)
            or not isinstance(momentum, (int, float))
            or not 0 <= momentum <= 1
        ):
            raise InvalidArgumentError(
                f"BatchNormalization: `momentum` must be in [0, 1], got momentum={momentum!r}"
            )
        check_no_constraint(
            "BatchNormalization", beta_constraint=beta_constraint, gamma_constraint=gamma_constraint
        )
        if synchronized:
            raise InvalidArgumentError("BatchNormalization: synchronized=True is not supported")
        super().__init__(**kwargs)
        self.axis = axis
        self.momentum = float(momentum)
        self.epsilon = _check_epsilon(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.gamma: Any = None
        self.beta: Any = None
        self.moving_mean: Any = None
        self.moving_variance: Any = None

    def build(self, input_shape: ShapeLike) -> None:
        axis = _axis_index(self, self.axis, len(input_shape))
        features = input_shape[axis]
        if not features:
            raise ShapeError(
                f"BatchNormalization {self.name!r}: axis {self.axis} of the input shape "
                f"{tuple(input_shape)} must have a known, non-zero size"
            )
        shape = (int(features),)
        if self.scale:
            self.gamma = self.add_weight(shape, initializer=self.gamma_initializer, name="gamma")
        if self.center:
            self.beta = self.add_weight(shape, initializer=self.beta_initializer, name="beta")
        self.moving_mean = self.add_weight(
            shape, initializer=self.moving_mean_initializer, name="moving_mean", trainable=False
        )
        self.moving_variance = self.add_weight(
            shape,
            initializer=self.moving_variance_initializer,
            name="moving_variance",
            trainable=False,
        )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": None,
            "gamma_constraint": None,
            "synchronized": False,
        }


class LayerNormalization(Layer):
    """Normalizes each sample over ``axis`` (an int or a list of ints) to zero mean and
    unit variance, then scales by ``gamma`` and shifts by ``beta`` (weights of the
    normalized axes' shape).

    >>> import kandle as kd
    >>> ln = kd.layers.LayerNormalization()
    >>> [round(v, 4) for v in ln(kd.tensor([[1.0, 3.0]])).numpy()[0].tolist()]
    [-0.9995, 0.9995]
    """

    _engine_class = "LayerNormalization"

    def __init__(
        self,
        axis: int | Sequence[int] = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        rms_scaling: bool = False,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(axis, (list, tuple)):
            if not axis or not all(isinstance(a, int) and not isinstance(a, bool) for a in axis):
                raise InvalidArgumentError(
                    "LayerNormalization: `axis` must be an int or a non-empty list of ints, "
                    f"got {axis!r}"
                )
            axis = list(axis)
        elif isinstance(axis, bool) or not isinstance(axis, int):
            raise InvalidArgumentError(
                f"LayerNormalization: `axis` must be an int or a list of ints, got {axis!r}"
            )
        if rms_scaling:
            raise InvalidArgumentError("LayerNormalization: rms_scaling=True is not supported")
        check_no_constraint(
            "LayerNormalization", beta_constraint=beta_constraint, gamma_constraint=gamma_constraint
        )
        super().__init__(**kwargs)
        self.axis: int | list[int] = axis
        self.epsilon = _check_epsilon(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.gamma: Any = None
        self.beta: Any = None

    def build(self, input_shape: ShapeLike) -> None:
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        positions = sorted({_axis_index(self, a, len(input_shape)) for a in axes})
        shape = tuple(input_shape[a] for a in positions)
        if not all(shape):
            raise ShapeError(
                f"LayerNormalization {self.name!r}: the normalized axes {self.axis} of input "
                f"shape {tuple(input_shape)} must have known, non-zero sizes"
            )
        sizes = tuple(int(d) for d in shape if d is not None)  # all known (checked above)
        if self.scale:
            self.gamma = self.add_weight(sizes, initializer=self.gamma_initializer, name="gamma")
        if self.center:
            self.beta = self.add_weight(sizes, initializer=self.beta_initializer, name="beta")

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "rms_scaling": False,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": None,
            "gamma_constraint": None,
        }


class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm over ``axis`` (an int or a list of ints):
    ``x * min(1 / sqrt(sum(x**2)), 1e12)``.

    >>> import kandle as kd
    >>> kd.layers.UnitNormalization()(kd.tensor([[3.0, 4.0]])).numpy()
    array([[0.6, 0.8]], dtype=float32)
    """

    _engine_class = "UnitNormalization"

    def __init__(self, axis: int | Sequence[int] = -1, **kwargs: Any) -> None:
        if isinstance(axis, (list, tuple)) and all(
            isinstance(a, int) and not isinstance(a, bool) for a in axis
        ):
            axis = list(axis)
        elif isinstance(axis, bool) or not isinstance(axis, int):
            raise InvalidArgumentError(
                "Invalid value for `axis` argument: expected an int or a list/tuple of ints. "
                f"Received: axis={axis!r}"
            )
        super().__init__(**kwargs)
        self.axis: int | list[int] = axis

    def compute_output_shape(self, input_shape: ShapeLike) -> tuple[int | None, ...]:
        for a in self.axis if isinstance(self.axis, list) else [self.axis]:
            if not -len(input_shape) <= a < len(input_shape):
                raise ShapeError(
                    f"Axis {self.axis} is out of bounds for input shape {tuple(input_shape)}."
                )
        return tuple(input_shape)

    def build(self, input_shape: ShapeLike) -> None:
        self.compute_output_shape(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}
