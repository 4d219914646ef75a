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

import json
from collections.abc import Callable
from typing import Any

from kandle import _core
from kandle._core import Tensor

_REDUCTIONS = ("sum_over_batch_size", "sum", "none", None, "mean", "mean_with_sample_weight")


def _standardize_reduction(reduction: str | None) -> str | None:
    if reduction not in _REDUCTIONS:
        raise ValueError(
            f"Invalid value for argument `reduction`. Expected one of {_REDUCTIONS}. "
            f"Received: reduction={reduction!r}"
        )
    return reduction


class Loss:
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

    _class_name: str | None = None

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
        if self._class_name is not None:
            config = {"reduction": self.reduction, **self._options()}
            self._engine = _core.Loss(self._class_name, json.dumps(config))

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
    return total * (0.0 if divisor == 0 else 1.0 / divisor)


class MeanSquaredError(Loss):
    """Mean of squares of errors: ``mean(square(y_true - y_pred), axis=-1)``, reduced.

    >>> import kandle as kd
    >>> float(kd.losses.MeanSquaredError()([[0.0, 1.0]], [[1.0, 1.0]]))
    0.5
    """

    _class_name = "MeanSquaredError"

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

    _class_name = "MeanAbsoluteError"

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

    _class_name = "Huber"
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

    _class_name = "BinaryCrossentropy"
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

    _class_name = "CategoricalCrossentropy"
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

    _class_name = "SparseCategoricalCrossentropy"
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

        return convert_to_tensor(self.fn(y_true, y_pred))


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


def _function(class_name: str, options: dict[str, Any]) -> _core.Loss:
    return _core.Loss(class_name, json.dumps({"reduction": None, **options}))


def _snake_case(name: str) -> str:
    """Keras's ``to_snake_case``."""
    import re

    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error

_CLASSES: dict[str, type[Loss]] = {
    cls.__name__: cls
    for cls in (
        MeanSquaredError,
        MeanAbsoluteError,
        Huber,
        BinaryCrossentropy,
        CategoricalCrossentropy,
        SparseCategoricalCrossentropy,
    )
}
# Keras's string identifiers of loss functions, with the Loss class each one builds.
_FUNCTIONS: dict[str, type[Loss]] = {
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "MSE": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
    "MAE": MeanAbsoluteError,
    "huber": Huber,
    "binary_crossentropy": BinaryCrossentropy,
    "bce": BinaryCrossentropy,
    "BCE": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
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
        cls = _CLASSES.get(identifier) or _FUNCTIONS.get(identifier)
        if cls is None:
            raise ValueError(
                f"Could not interpret loss identifier: {identifier!r}. "
                f"Known names: {sorted(set(_CLASSES) | set(_FUNCTIONS))}"
            )
        return cls()
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
    "mean_squared_error",
    "mean_absolute_error",
    "huber",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "mse",
    "MSE",
    "mae",
    "MAE",
    "get",
]
