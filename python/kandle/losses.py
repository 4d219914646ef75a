"""Losses (``kandle.losses``), with Keras 3 semantics.

A loss *function* (``mean_squared_error``, ``binary_crossentropy``, ...) returns one value
per sample. A :class:`Loss` object also weights those values by ``sample_weight`` and
reduces them (``"sum_over_batch_size"`` by default). The numbers are computed in Rust,
from autograd ops, so gradients flow to ``y_pred``.

>>> import kandle as kd
>>> kd.losses.mean_squared_error([[0.0, 1.0]], [[1.0, 1.0]]).numpy()
array([0.5], dtype=float32)
>>> round(float(kd.losses.BinaryCrossentropy()([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])), 3)
0.815
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from kandle import _core
from kandle._config import CheckedArguments, engine_json
from kandle._core import Tensor
from kandle.errors import InvalidArgumentError

_REDUCTIONS = ("sum_over_batch_size", "sum", "none", None, "mean", "mean_with_sample_weight")


def _standardize_reduction(reduction: str | None) -> str | None:
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"Invalid value for argument `reduction`. Expected one of {_REDUCTIONS}. "
            f"Received: reduction={reduction!r}"
        )
    return reduction


class Loss(CheckedArguments):
    """Base class of losses: ``loss(y_true, y_pred, sample_weight=None)`` returns the
    per-sample values of ``call``, times ``sample_weight``, reduced by ``reduction``.

    Subclasses implement ``call(y_true, y_pred)`` (per-sample values, from kandle ops).
    The built-in losses compute everything in the Rust engine.

    >>> import kandle as kd
    >>> class Doubled(kd.losses.Loss):
    ...     def call(self, y_true, y_pred):
    ...         return kd.losses.mean_squared_error(y_true, y_pred) * 2.0
    >>> float(Doubled()([[0.0], [0.0]], [[1.0], [2.0]]))
    5.0
    """

    _engine_class: str | None = None

    def __init__(
        self,
        name: str | None = None,
        reduction: str | None = "sum_over_batch_size",
        dtype: Any = None,
    ) -> None:
        self.name = name or _snake_case(type(self).__name__)
        self.reduction = _standardize_reduction(reduction)
        self.dtype = dtype
        self._engine: _core.Loss | None = None

    # The class-specific config keys (beyond name and reduction), attributes of the
    # same name.
    _option_names: tuple[str, ...] = ()

    def _options(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._option_names}

    def _build_engine(self) -> None:
        if self._engine_class is not None:
            config = {"reduction": self.reduction, **self._options()}
            self._engine = _core.Loss(self._engine_class, engine_json(config))

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        """The per-sample loss values."""
        if self._engine is None:
            raise NotImplementedError(f"{type(self).__name__} must implement call()")
        return self._engine.per_sample(y_true, y_pred)

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        if self._engine is not None:
            return self._engine(y_true, y_pred, sample_weight)
        return _reduce(self.call(y_true, y_pred), sample_weight, self.reduction)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction, **self._options()}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} reduction={self.reduction!r}>"


def _reduce(values: Any, sample_weight: Any, reduction: str | None) -> Tensor:
    """Keras's weighting and reduction for losses whose ``call`` is written in Python."""
    from kandle.ops import convert_to_tensor

    values = convert_to_tensor(values)
    if sample_weight is not None:
        weight = convert_to_tensor(sample_weight)
        if weight.ndim == values.ndim + 1 and weight.shape[-1] == 1:
            weight = weight.reshape(weight.shape[:-1])
        elif values.ndim == weight.ndim + 1 and values.shape[-1] == 1:
            values = values.reshape(values.shape[:-1])
        values = values * weight
    if reduction in (None, "none") or values.ndim == 0:
        return values
    total = values.sum()
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        divisor = float(convert_to_tensor(sample_weight).sum())
    else:
        divisor = float(values.size)
    if divisor == 0:
        # Keras's divide_no_nan: 0, even when the sum is NaN or infinite.
        return convert_to_tensor(0.0)
    return total * (1.0 / divisor)


def _number(value: Any, name: str, owner: str) -> float:
    """``value`` as a finite float, or an error naming the argument."""
    if isinstance(value, bool) or not hasattr(value, "__float__") or isinstance(value, str):
        raise InvalidArgumentError(f"{owner}: expected {name} to be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise InvalidArgumentError(f"{owner}: expected {name} to be finite, got {name}={number}")
    return number


def _numbers(value: Any, name: str, owner: str) -> float | list[float]:
    """A number or a list of numbers (Keras's per-class ``alpha``), as given."""
    if isinstance(value, (list, tuple)):
        return [_number(v, name, owner) for v in value]
    return _number(value, name, owner)


def _axes(value: Any, owner: str) -> Any:
    """None, an integer or a tuple/list of integers, kept in the form given."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return type(value)(_integer(a, "axis", owner) for a in value)
    return _integer(value, "axis", owner)


def _integer(value: Any, name: str, owner: str) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise InvalidArgumentError(f"{owner}: expected {name} to be an integer, got {value!r}")
    return int(value)


class MeanSquaredError(Loss):
    """Mean of squares of errors: ``mean(square(y_true - y_pred), axis=-1)``, reduced.

    >>> import kandle as kd
    >>> float(kd.losses.MeanSquaredError()([[0.0, 1.0]], [[1.0, 1.0]]))
    0.5
    """

    _engine_class = "MeanSquaredError"

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "mean_squared_error",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self._build_engine()


class MeanAbsoluteError(Loss):
    """Mean of absolute errors: ``mean(abs(y_true - y_pred), axis=-1)``, reduced.

    >>> import kandle as kd
    >>> float(kd.losses.MeanAbsoluteError()([[0.0, 1.0]], [[1.0, 3.0]]))
    1.5
    """

    _engine_class = "MeanAbsoluteError"

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "mean_absolute_error",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self._build_engine()


class Huber(Loss):
    """Huber loss: ``0.5 * e**2`` where ``|e| <= delta``, else ``delta * |e| - 0.5 * delta**2``,
    averaged over the last axis, then reduced.

    >>> import kandle as kd
    >>> round(float(kd.losses.Huber()([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])), 3)
    0.155
    """

    _engine_class = "Huber"
    _option_names = ("delta",)

    def __init__(
        self,
        delta: float = 1.0,
        reduction: str | None = "sum_over_batch_size",
        name: str = "huber_loss",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.delta = float(delta)
        self._build_engine()


class BinaryCrossentropy(Loss):
    """Cross-entropy for binary (0 or 1) labels, averaged over ``axis``, then reduced.

    ``y_pred`` holds probabilities (clipped to ``[1e-7, 1 - 1e-7]``), or logits with
    ``from_logits=True`` (computed in an overflow-free form). ``label_smoothing`` in
    ``[0, 1]`` squeezes labels towards 0.5: ``y * (1 - ls) + 0.5 * ls``.

    >>> import kandle as kd
    >>> bce = kd.losses.BinaryCrossentropy(from_logits=True)
    >>> round(float(bce([[0, 1], [0, 0]], [[-18.6, 0.51], [2.94, -12.8]])), 3)
    0.865
    """

    _engine_class = "BinaryCrossentropy"
    _option_names = ("from_logits", "label_smoothing", "axis")

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str | None = "sum_over_batch_size",
        name: str = "binary_crossentropy",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)
        self.axis = int(axis)
        self._build_engine()


class CategoricalCrossentropy(Loss):
    """Cross-entropy for one-hot labels: ``-sum(y_true * log(probabilities), axis)``, reduced.

    Probabilities are ``y_pred`` renormalized to sum to 1 and clipped to
    ``[1e-7, 1 - 1e-7]``, or ``softmax(y_pred)`` with ``from_logits=True``.
    ``label_smoothing`` gives ``y * (1 - ls) + ls / num_classes``.

    >>> import kandle as kd
    >>> cce = kd.losses.CategoricalCrossentropy()
    >>> round(float(cce([[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])), 3)
    1.177
    """

    _engine_class = "CategoricalCrossentropy"
    _option_names = ("from_logits", "label_smoothing", "axis")

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str | None = "sum_over_batch_size",
        name: str = "categorical_crossentropy",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)
        self.axis = int(axis)
        self._build_engine()


class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy for integer class labels (shape ``(batch,)`` or ``(batch, 1)``), reduced.

    Labels must be integers in ``[0, num_classes)``, except ``ignore_class``, whose samples
    count for nothing (the mean is then over the other samples).

    >>> import kandle as kd
    >>> scce = kd.losses.SparseCategoricalCrossentropy()
    >>> round(float(scce([1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])), 3)
    1.177
    """

    _engine_class = "SparseCategoricalCrossentropy"
    _option_names = ("from_logits", "ignore_class")

    def __init__(
        self,
        from_logits: bool = False,
        ignore_class: int | None = None,
        reduction: str | None = "sum_over_batch_size",
        name: str = "sparse_categorical_crossentropy",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = bool(from_logits)
        self.ignore_class = None if ignore_class is None else int(ignore_class)
        self._build_engine()


class KLDivergence(Loss):
    """Kullback-Leibler divergence: ``sum(y_true * log(y_true / y_pred), axis=-1)``, with
    both clipped to ``[1e-7, 1]``, then reduced.

    >>> import kandle as kd
    >>> round(float(kd.losses.KLDivergence()([[0.5, 0.5]], [[0.25, 0.75]])), 4)
    0.1438
    """

    _engine_class = "KLDivergence"

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "kl_divergence",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self._build_engine()


class Poisson(Loss):
    """Poisson loss: ``mean(y_pred - y_true * log(y_pred + 1e-7), axis=-1)``, reduced.

    >>> import kandle as kd
    >>> round(float(kd.losses.Poisson()([[0.0, 1.0]], [[1.0, 1.0]])), 4)
    1.0
    """

    _engine_class = "Poisson"

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "poisson",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self._build_engine()


class LogCosh(Loss):
    """Logarithm of the hyperbolic cosine of the error, ``mean(log(cosh(y_pred - y_true)),
    axis=-1)``, reduced: like half the squared error for small errors and like the absolute
    error for large ones.

    >>> import kandle as kd
    >>> round(float(kd.losses.LogCosh()([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]])), 3)
    0.108
    """

    _engine_class = "LogCosh"

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "log_cosh",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self._build_engine()


class Hinge(Loss):
    """Hinge loss: ``mean(maximum(1 - y_true * y_pred, 0), axis=-1)``, reduced.

    Labels are expected to be -1 or 1; labels that are all 0 or 1 are converted to -1 or 1.

    >>> import kandle as kd
    >>> round(float(kd.losses.Hinge()([[0.0, 1.0], [0.0, 0.0]], [[0.6, 0.4], [0.4, 0.6]])), 3)
    1.3
    """

    _engine_class = "Hinge"

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "hinge",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self._build_engine()


class SquaredHinge(Loss):
    """Squared hinge loss: ``mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1)``,
    reduced; 0/1 labels are converted to -1/1.

    >>> import kandle as kd
    >>> sh = kd.losses.SquaredHinge()
    >>> round(float(sh([[0.0, 1.0], [0.0, 0.0]], [[0.6, 0.4], [0.4, 0.6]])), 3)
    1.86
    """

    _engine_class = "SquaredHinge"

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "squared_hinge",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self._build_engine()


class CategoricalHinge(Loss):
    """Categorical hinge loss: ``maximum(neg - pos + 1, 0)`` with
    ``pos = sum(y_true * y_pred, axis=-1)`` and ``neg = max((1 - y_true) * y_pred, axis=-1)``,
    reduced.

    >>> import kandle as kd
    >>> ch = kd.losses.CategoricalHinge()
    >>> round(float(ch([[0.0, 1.0], [0.0, 0.0]], [[0.6, 0.4], [0.4, 0.6]])), 3)
    1.4
    """

    _engine_class = "CategoricalHinge"

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "categorical_hinge",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self._build_engine()


class CosineSimilarity(Loss):
    """Negative cosine similarity along ``axis``: ``-sum(l2_normalize(y_true) *
    l2_normalize(y_pred), axis)``, reduced. -1 means the same direction, 0 orthogonal (or
    a zero vector), 1 opposite directions.

    Keras's ``get_config`` leaves ``axis`` out; kandle's includes it, so that a round trip
    keeps it.

    >>> import kandle as kd
    >>> cs = kd.losses.CosineSimilarity()
    >>> round(float(cs([[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]])), 4)
    -0.5
    """

    _engine_class = "CosineSimilarity"
    _option_names = ("axis",)

    def __init__(
        self,
        axis: int = -1,
        reduction: str | None = "sum_over_batch_size",
        name: str = "cosine_similarity",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.axis = _integer(axis, "axis", "CosineSimilarity")
        self._build_engine()


class MeanAbsolutePercentageError(Loss):
    """``100 * mean(abs((y_true - y_pred) / maximum(abs(y_true), 1e-7)), axis=-1)``, reduced.

    >>> import kandle as kd
    >>> mape = kd.losses.MeanAbsolutePercentageError()
    >>> round(float(mape([[2.0, 4.0]], [[1.0, 5.0]])), 3)
    37.5
    """

    _engine_class = "MeanAbsolutePercentageError"

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "mean_absolute_percentage_error",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self._build_engine()


class MeanSquaredLogarithmicError(Loss):
    """``mean(square(log(y_pred + 1) - log(y_true + 1)), axis=-1)``, with both first raised
    to at least 1e-7, then reduced.

    >>> import kandle as kd
    >>> msle = kd.losses.MeanSquaredLogarithmicError()
    >>> round(float(msle([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]])), 3)
    0.24
    """

    _engine_class = "MeanSquaredLogarithmicError"

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "mean_squared_logarithmic_error",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self._build_engine()


class BinaryFocalCrossentropy(Loss):
    """Binary cross-entropy scaled by the focal factor ``(1 - p_t) ** gamma`` (Lin et al.,
    2018), averaged over ``axis``, then reduced. ``p_t`` is the probability given to the
    true label; with ``apply_class_balancing`` entries are also weighted by ``alpha`` for
    label 1 and ``1 - alpha`` for label 0. ``from_logits`` and ``label_smoothing`` are
    those of :class:`BinaryCrossentropy`.

    >>> import kandle as kd
    >>> bfce = kd.losses.BinaryFocalCrossentropy(gamma=2.0)
    >>> round(float(bfce([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])), 3)
    0.268
    """

    _engine_class = "BinaryFocalCrossentropy"
    _option_names = (
        "from_logits",
        "label_smoothing",
        "axis",
        "apply_class_balancing",
        "alpha",
        "gamma",
    )

    def __init__(
        self,
        apply_class_balancing: bool = False,
        alpha: float = 0.25,
        gamma: float = 2.0,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str | None = "sum_over_batch_size",
        name: str = "binary_focal_crossentropy",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        owner = "BinaryFocalCrossentropy"
        self.apply_class_balancing = bool(apply_class_balancing)
        self.alpha = _number(alpha, "alpha", owner)
        self.gamma = _number(gamma, "gamma", owner)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _number(label_smoothing, "label_smoothing", owner)
        self.axis = _integer(axis, "axis", owner)
        self._build_engine()


class CategoricalFocalCrossentropy(Loss):
    """Categorical cross-entropy scaled by ``alpha * (1 - p) ** gamma`` per class (Lin et
    al., 2018), summed over ``axis``, then reduced. ``alpha`` is one number or one per
    class. ``from_logits`` and ``label_smoothing`` are those of
    :class:`CategoricalCrossentropy`.

    >>> import kandle as kd
    >>> cfce = kd.losses.CategoricalFocalCrossentropy()
    >>> round(float(cfce([[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])), 3)
    0.233
    """

    _engine_class = "CategoricalFocalCrossentropy"
    _option_names = ("from_logits", "label_smoothing", "axis", "alpha", "gamma")

    def __init__(
        self,
        alpha: float | list[float] = 0.25,
        gamma: float = 2.0,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str | None = "sum_over_batch_size",
        name: str = "categorical_focal_crossentropy",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        owner = "CategoricalFocalCrossentropy"
        self.alpha = _numbers(alpha, "alpha", owner)
        self.gamma = _number(gamma, "gamma", owner)
        self.from_logits = bool(from_logits)
        self.label_smoothing = _number(label_smoothing, "label_smoothing", owner)
        self.axis = _integer(axis, "axis", owner)
        self._build_engine()


class Dice(Loss):
    """Dice loss: ``1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + 1e-7)``, the
    sums over ``axis`` (all axes by default, giving one value for the batch), reduced.

    >>> import kandle as kd
    >>> y_true = [[[[1.0], [1.0]], [[0.0], [0.0]]], [[[1.0], [1.0]], [[0.0], [0.0]]]]
    >>> y_pred = [[[[0.0], [1.0]], [[0.0], [1.0]]], [[[0.4], [0.0]], [[0.0], [0.9]]]]
    >>> per_sample = kd.losses.Dice(axis=(1, 2, 3), reduction=None)(y_true, y_pred)
    >>> [round(v, 4) for v in per_sample.numpy().tolist()]
    [0.5, 0.7576]
    >>> round(float(kd.losses.Dice()(y_true, y_pred)), 4)
    0.6164
    """

    _engine_class = "Dice"
    _option_names = ("axis",)

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "dice",
        axis: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.axis = _axes(axis, "Dice")
        self._build_engine()


class Tversky(Loss):
    """Tversky loss (Salehi et al., 2017): ``1 - tp / (tp + alpha * fp + beta * fn + 1e-7)``
    with Keras's terms ``tp = sum(y_true * y_pred)``, ``fp = sum((1 - y_pred) * y_true)``
    and ``fn = sum(y_pred * (1 - y_true))``, the sums over ``axis`` (all axes by default),
    reduced. ``alpha = beta = 0.5`` is the Dice loss.

    >>> import kandle as kd
    >>> y_true = [[1.0, 1.0, 0.0, 0.0]]
    >>> y_pred = [[0.0, 1.0, 0.0, 1.0]]
    >>> round(float(kd.losses.Tversky(alpha=0.7, beta=0.3)(y_true, y_pred)), 4)
    0.5
    """

    _engine_class = "Tversky"
    _option_names = ("alpha", "beta", "axis")

    def __init__(
        self,
        alpha: float = 0.5,
        beta: float = 0.5,
        reduction: str | None = "sum_over_batch_size",
        name: str = "tversky",
        axis: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.alpha = _number(alpha, "alpha", "Tversky")
        self.beta = _number(beta, "beta", "Tversky")
        self.axis = _axes(axis, "Tversky")
        self._build_engine()


class LossFunctionWrapper(Loss):
    """A :class:`Loss` around a Python function ``fn(y_true, y_pred)`` of per-sample values.

    >>> import kandle as kd
    >>> wrapped = kd.losses.LossFunctionWrapper(kd.losses.mean_absolute_error)
    >>> float(wrapped([[0.0, 1.0]], [[1.0, 3.0]]))
    1.5
    """

    def __init__(
        self,
        fn: Callable[[Any, Any], Any],
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            name=name or getattr(fn, "__name__", None), reduction=reduction, dtype=dtype
        )
        self.fn = fn

    def call(self, y_true: Any, y_pred: Any) -> Tensor:
        from kandle.ops import convert_to_tensor

        y_true, y_pred = _same_rank(convert_to_tensor(y_true), convert_to_tensor(y_pred))
        return convert_to_tensor(self.fn(y_true, y_pred))


def _same_rank(x1: Tensor, x2: Tensor) -> tuple[Tensor, Tensor]:
    """Keras's ``squeeze_or_expand_to_same_rank``: where the ranks differ by one and the
    larger ends in a size-1 axis, that axis is dropped (or, against a rank-1 tensor,
    one is added to the smaller)."""
    from kandle.ops import expand_dims, squeeze

    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1:
            x2 = expand_dims(x2, -1)
        else:
            x1 = squeeze(x1, -1)
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1:
            x1 = expand_dims(x1, -1)
        else:
            x2 = squeeze(x2, -1)
    return x1, x2


def mean_squared_error(y_true: Any, y_pred: Any) -> Tensor:
    """``mean(square(y_true - y_pred), axis=-1)``, one value per sample."""
    return _core.mean_squared_error(y_true, y_pred)


def mean_absolute_error(y_true: Any, y_pred: Any) -> Tensor:
    """``mean(abs(y_true - y_pred), axis=-1)``, one value per sample."""
    return _function("MeanAbsoluteError", {}).per_sample(y_true, y_pred)


def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> Tensor:
    """The Huber loss averaged over the last axis, one value per sample."""
    return _function("Huber", {"delta": float(delta)}).per_sample(y_true, y_pred)


def binary_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Tensor:
    """Binary cross-entropy averaged over ``axis``, one value per sample."""
    options = {"from_logits": from_logits, "label_smoothing": label_smoothing, "axis": axis}
    return _function("BinaryCrossentropy", options).per_sample(y_true, y_pred)


def categorical_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Tensor:
    """Categorical cross-entropy along ``axis``, one value per sample."""
    options = {"from_logits": from_logits, "label_smoothing": label_smoothing, "axis": axis}
    return _function("CategoricalCrossentropy", options).per_sample(y_true, y_pred)


def sparse_categorical_crossentropy(
    y_true: Any, y_pred: Any, from_logits: bool = False, ignore_class: int | None = None
) -> Tensor:
    """Cross-entropy of integer labels, one value per sample (0 where ``ignore_class``)."""
    options = {"from_logits": from_logits, "ignore_class": ignore_class}
    return _function("SparseCategoricalCrossentropy", options).per_sample(y_true, y_pred)


def kl_divergence(y_true: Any, y_pred: Any) -> Tensor:
    """``sum(y_true * log(y_true / y_pred), axis=-1)``, both clipped to ``[1e-7, 1]``."""
    return _function("KLDivergence", {}).per_sample(y_true, y_pred)


def poisson(y_true: Any, y_pred: Any) -> Tensor:
    """``mean(y_pred - y_true * log(y_pred + 1e-7), axis=-1)``, one value per sample."""
    return _function("Poisson", {}).per_sample(y_true, y_pred)


def log_cosh(y_true: Any, y_pred: Any) -> Tensor:
    """``mean(log(cosh(y_pred - y_true)), axis=-1)``, one value per sample."""
    return _function("LogCosh", {}).per_sample(y_true, y_pred)


def hinge(y_true: Any, y_pred: Any) -> Tensor:
    """``mean(maximum(1 - y_true * y_pred, 0), axis=-1)``; 0/1 labels become -1/1."""
    return _function("Hinge", {}).per_sample(y_true, y_pred)


def squared_hinge(y_true: Any, y_pred: Any) -> Tensor:
    """``mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1)``; 0/1 labels become -1/1."""
    return _function("SquaredHinge", {}).per_sample(y_true, y_pred)


def categorical_hinge(y_true: Any, y_pred: Any) -> Tensor:
    """``maximum(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)`` per sample."""
    return _function("CategoricalHinge", {}).per_sample(y_true, y_pred)


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    """``-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)``."""
    options = {"axis": _integer(axis, "axis", "cosine_similarity")}
    return _function("CosineSimilarity", options).per_sample(y_true, y_pred)


def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> Tensor:
    """``100 * mean(abs((y_true - y_pred) / maximum(abs(y_true), 1e-7)), axis=-1)``."""
    return _function("MeanAbsolutePercentageError", {}).per_sample(y_true, y_pred)


def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> Tensor:
    """``mean(square(log(y_pred + 1) - log(y_true + 1)), axis=-1)``, both at least 1e-7."""
    return _function("MeanSquaredLogarithmicError", {}).per_sample(y_true, y_pred)


def binary_focal_crossentropy(
    y_true: Any,
    y_pred: Any,
    apply_class_balancing: bool = False,
    alpha: float = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Tensor:
    """Binary focal cross-entropy averaged over ``axis``, one value per sample."""
    return BinaryFocalCrossentropy(
        apply_class_balancing, alpha, gamma, from_logits, label_smoothing, axis, reduction=None
    ).call(y_true, y_pred)


def categorical_focal_crossentropy(
    y_true: Any,
    y_pred: Any,
    alpha: float | list[float] = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Tensor:
    """Categorical focal cross-entropy along ``axis``, one value per sample."""
    return CategoricalFocalCrossentropy(
        alpha, gamma, from_logits, label_smoothing, axis, reduction=None
    ).call(y_true, y_pred)


def dice(y_true: Any, y_pred: Any, axis: Any = None) -> Tensor:
    """``1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + 1e-7)`` over ``axis``."""
    return Dice(reduction=None, axis=axis).call(y_true, y_pred)


def tversky(
    y_true: Any, y_pred: Any, alpha: float = 0.5, beta: float = 0.5, axis: Any = None
) -> Tensor:
    """``1 - tp / (tp + alpha * fp + beta * fn + 1e-7)`` over ``axis`` (see :class:`Tversky`)."""
    return Tversky(alpha, beta, reduction=None, axis=axis).call(y_true, y_pred)


def _function(class_name: str, options: dict[str, Any]) -> _core.Loss:
    return _core.Loss(class_name, engine_json({"reduction": None, **options}))


# Keras's `to_snake_case`, once, in the engine.
_snake_case = _core.snake_case


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kl_divergence

_CLASSES: dict[str, type[Loss]] = {
    cls.__name__: cls
    for cls in (
        MeanSquaredError,
        MeanAbsoluteError,
        Huber,
        BinaryCrossentropy,
        CategoricalCrossentropy,
        SparseCategoricalCrossentropy,
        KLDivergence,
        Poisson,
        LogCosh,
        Hinge,
        SquaredHinge,
        CategoricalHinge,
        CosineSimilarity,
        MeanAbsolutePercentageError,
        MeanSquaredLogarithmicError,
        BinaryFocalCrossentropy,
        CategoricalFocalCrossentropy,
        Dice,
        Tversky,
    )
}
# The built-in loss functions, by the name the engine knows them (MeanMetricWrapper runs
# these in Rust).
_BUILTIN_FUNCTIONS: dict[Callable[..., Any], str] = {
    fn: fn.__name__
    for fn in (
        mean_squared_error,
        mean_absolute_error,
        huber,
        binary_crossentropy,
        categorical_crossentropy,
        sparse_categorical_crossentropy,
        kl_divergence,
        poisson,
        log_cosh,
        hinge,
        squared_hinge,
        categorical_hinge,
        cosine_similarity,
        mean_absolute_percentage_error,
        mean_squared_logarithmic_error,
        binary_focal_crossentropy,
        categorical_focal_crossentropy,
        dice,
        tversky,
    )
}


def get(identifier: Any) -> Loss:
    """A :class:`Loss` from a Keras identifier: a class or function name (``"mse"``,
    ``"BinaryCrossentropy"``, ...), a ``{"class_name", "config"}`` dict, a Loss object,
    a Loss class, or a Python callable ``f(y_true, y_pred)`` (wrapped).

    >>> import kandle as kd
    >>> kd.losses.get("mse").name
    'mean_squared_error'
    >>> type(kd.losses.get("SparseCategoricalCrossentropy")).__name__
    'SparseCategoricalCrossentropy'
    """
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, dict):
        cls = _CLASSES.get(identifier.get("class_name", ""))
        if cls is None:
            raise ValueError(
                f"Could not interpret loss identifier: {identifier!r}. "
                f"Known classes: {sorted(_CLASSES)}"
            )
        return cls.from_config(dict(identifier.get("config", {})))
    if isinstance(identifier, str):
        # Class names, their snake_case and Keras's aliases, resolved by the engine's
        # one list of names (kandle.model::names in Rust).
        return _CLASSES[_core.resolve_class("loss", identifier, list(_CLASSES))]()
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return LossFunctionWrapper(identifier)
    raise ValueError(
        f"Could not interpret loss identifier: {identifier!r}. Expected a string, a Loss, "
        "or a callable f(y_true, y_pred)"
    )


__all__ = [
    "Loss",
    "LossFunctionWrapper",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "Huber",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "KLDivergence",
    "Poisson",
    "LogCosh",
    "Hinge",
    "SquaredHinge",
    "CategoricalHinge",
    "CosineSimilarity",
    "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError",
    "BinaryFocalCrossentropy",
    "CategoricalFocalCrossentropy",
    "Dice",
    "Tversky",
    "mean_squared_error",
    "mean_absolute_error",
    "huber",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "kl_divergence",
    "poisson",
    "log_cosh",
    "hinge",
    "squared_hinge",
    "categorical_hinge",
    "cosine_similarity",
    "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error",
    "binary_focal_crossentropy",
    "categorical_focal_crossentropy",
    "dice",
    "tversky",
    "mse",
    "MSE",
    "mae",
    "MAE",
    "mape",
    "MAPE",
    "msle",
    "MSLE",
    "kld",
    "KLD",
    "get",
]
