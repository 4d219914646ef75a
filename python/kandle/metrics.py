"""Metrics (``kandle.metrics``), with Keras 3 semantics.

A metric accumulates over batches with ``update_state(y_true, y_pred, sample_weight=None)``
and reads the running value with ``result()``. The state lives in the Rust engine
(``_engine``), which the training loop updates directly.

>>> import kandle as kd
>>> m = kd.metrics.BinaryAccuracy()
>>> m.update_state([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])
>>> m.result()
0.75
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

from kandle import _core
from kandle import losses as _losses
from kandle._config import CheckedArguments, engine_json
from kandle.losses import (
    _BUILTIN_FUNCTIONS,
    _snake_case,
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_hinge,
    hinge,
    huber,
    kl_divergence,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
)

# Keras names metrics created without a name per process: precision, precision_1, ...
_name_counts: defaultdict[str, int] = defaultdict(int)


def _auto_name(cls_name: str) -> str:
    base = _snake_case(cls_name)
    count = _name_counts[base]
    _name_counts[base] += 1
    return base if count == 0 else f"{base}_{count}"


class Metric(CheckedArguments):
    """Base class of metrics: ``update_state``, ``result``, ``reset_state``, ``name``.

    Built-in metrics keep their state in the Rust engine; ``_engine_class`` names the
    engine class and ``_options()`` its config. A metric written in Python (a subclass
    without an engine class) keeps its state in variables made by ``add_variable``
    (or ``add_weight``), updates them with ``assign`` in ``update_state`` and computes
    ``result()`` with ``kandle.ops``; ``fit`` and ``evaluate`` call it back per batch.

    >>> import kandle as kd
    >>> m = kd.metrics.MeanSquaredError()
    >>> m.update_state([[0.0, 1.0]], [[1.0, 1.0]])
    >>> m.update_state([[0.0, 0.0]], [[0.0, 0.0]])
    >>> m.result()
    0.25
    >>> class Largest(kd.metrics.Metric):
    ...     def __init__(self, name="largest"):
    ...         super().__init__(name=name)
    ...         self.top = self.add_variable(shape=(), initializer="zeros", name="top")
    ...     def update_state(self, y_true, y_pred, sample_weight=None):
    ...         self.top.assign(kd.ops.maximum(self.top, kd.ops.max(y_pred)))
    ...     def result(self):
    ...         return self.top.value
    >>> m = Largest()
    >>> m.update_state([[0.0]], [[3.0], [2.0]])
    >>> float(m.result())
    3.0
    """

    _engine_class: str = ""

    def __init__(self, name: str | None = None, dtype: Any = None) -> None:
        self._init_identity(name, dtype)
        # A metric written in Python has no engine class: its own methods run.
        self._engine: Any = (
            _core.Metric(self._engine_class, engine_json(self._options()))
            if self._engine_class
            else None
        )

    def _init_identity(self, name: str | None, dtype: Any) -> None:
        """The name, dtype and (no) variables every metric starts with."""
        self.name = name if name is not None else _auto_name(type(self).__name__)
        self.dtype = dtype or "float32"
        self._variables: list[Any] = []

    # The class-specific config keys (beyond name and dtype), attributes of the same name.
    _option_names: tuple[str, ...] = ()

    def _options(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._option_names}

    def _python_only(self, method: str) -> NotImplementedError:
        return NotImplementedError(f"{type(self).__name__} must implement {method}()")

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Accumulates the statistics of one batch."""
        if self._engine is None:
            raise self._python_only("update_state")
        self._engine.update_state(y_true, y_pred, sample_weight)

    def result(self) -> Any:
        """The running value: a float, or a float32 array where Keras's is one (several
        thresholds, per-class scores)."""
        if self._engine is None:
            raise self._python_only("result")
        return self._engine.result()

    def reset_state(self) -> None:
        """Forgets everything accumulated (a Python metric's variables become zeros, as
        in Keras)."""
        if self._engine is None:
            for variable in self._variables:
                variable.assign(np.zeros(variable.shape, np.float32))
            return
        self._engine.reset_state()

    # ---- kandle: metric state written in Python ------------------------------------
    def add_variable(
        self,
        shape: Any,
        initializer: Any,
        dtype: Any = None,
        aggregation: str = "sum",
        name: str | None = None,
    ) -> Any:
        """A non-trainable Variable of ``shape`` filled by ``initializer`` (a
        :mod:`kandle.initializers` name or object), tracked as this metric's state."""
        from kandle import initializers
        from kandle._core import Variable

        shape = tuple(shape) if shape is not None else ()
        value = np.asarray(initializers.get(initializer)(shape), dtype=np.float32)
        variable = Variable(value, trainable=False, name=name or "variable")
        self._variables.append(variable)
        return variable

    def add_weight(
        self,
        shape: Any = (),
        initializer: Any = None,
        dtype: Any = None,
        name: str | None = None,
    ) -> Any:
        """``add_variable`` with Keras's older signature (zeros by default)."""
        return self.add_variable(shape, initializer or "zeros", dtype=dtype, name=name)

    @property
    def variables(self) -> list[Any]:
        return list(self._variables)

    # ---- end kandle: metric state written in Python --------------------------------

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, **self._options()}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


class Mean(Metric):
    """The (weighted) mean of the values given to ``update_state(values, sample_weight)``.

    >>> import kandle as kd
    >>> m = kd.metrics.Mean()
    >>> m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    >>> m.result()
    2.0
    """

    _engine_class = "Mean"

    def __init__(self, name: str = "mean", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)

    def update_state(self, values: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        self._engine.update_state(0.0, values, sample_weight)


class BinaryAccuracy(Metric):
    """How often ``y_pred > threshold`` equals the binary label.

    >>> import kandle as kd
    >>> m = kd.metrics.BinaryAccuracy()
    >>> m.update_state([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]], sample_weight=[1, 0, 0, 1])
    >>> m.result()
    0.5
    """

    _engine_class = "BinaryAccuracy"
    _option_names = ("threshold",)

    def __init__(
        self, name: str = "binary_accuracy", dtype: Any = None, threshold: float = 0.5
    ) -> None:
        self.threshold = float(threshold)
        super().__init__(name=name, dtype=dtype)


class CategoricalAccuracy(Metric):
    """How often the argmax of ``y_pred`` equals the argmax of the one-hot ``y_true``.

    >>> import kandle as kd
    >>> m = kd.metrics.CategoricalAccuracy()
    >>> m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    >>> m.result()
    0.5
    """

    _engine_class = "CategoricalAccuracy"

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)


class SparseCategoricalAccuracy(Metric):
    """How often the argmax of ``y_pred`` equals the integer label.

    >>> import kandle as kd
    >>> m = kd.metrics.SparseCategoricalAccuracy()
    >>> m.update_state([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
    >>> m.result()
    0.5
    """

    _engine_class = "SparseCategoricalAccuracy"

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)


class TopKCategoricalAccuracy(Metric):
    """How often the one-hot target is among the top ``k`` predictions (ties count as in).

    >>> import kandle as kd
    >>> m = kd.metrics.TopKCategoricalAccuracy(k=1)
    >>> m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    >>> m.result()
    0.5
    """

    _engine_class = "TopKCategoricalAccuracy"
    _option_names = ("k",)

    def __init__(
        self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype: Any = None
    ) -> None:
        self.k = int(k)
        super().__init__(name=name, dtype=dtype)


class SparseTopKCategoricalAccuracy(Metric):
    """How often the integer target is among the top ``k`` predictions.

    >>> import kandle as kd
    >>> m = kd.metrics.SparseTopKCategoricalAccuracy(k=1)
    >>> m.update_state([2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    >>> m.result()
    0.5
    """

    _engine_class = "SparseTopKCategoricalAccuracy"
    _option_names = ("k",)

    def __init__(
        self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy", dtype: Any = None
    ) -> None:
        self.k = int(k)
        super().__init__(name=name, dtype=dtype)


class MeanSquaredError(Metric):
    """The running mean of ``mean(square(y_true - y_pred), axis=-1)``.

    >>> import kandle as kd
    >>> m = kd.metrics.MeanSquaredError()
    >>> m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
    >>> m.result()
    0.25
    """

    _engine_class = "MeanSquaredError"

    def __init__(self, name: str = "mean_squared_error", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)


class MeanAbsoluteError(Metric):
    """The running mean of ``mean(abs(y_true - y_pred), axis=-1)``.

    >>> import kandle as kd
    >>> m = kd.metrics.MeanAbsoluteError()
    >>> m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
    >>> m.result()
    0.25
    """

    _engine_class = "MeanAbsoluteError"

    def __init__(self, name: str = "mean_absolute_error", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)


class RootMeanSquaredError(Metric):
    """``sqrt`` of the running mean of squared errors.

    >>> import kandle as kd
    >>> m = kd.metrics.RootMeanSquaredError()
    >>> m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
    >>> m.result()
    0.5
    """

    _engine_class = "RootMeanSquaredError"

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)


def _threshold_list(thresholds: Any, default: float) -> list[float]:
    """Keras's ``parse_init_thresholds``: the thresholds as a list (``default`` for None)."""
    if thresholds is None:
        return [default]
    return [float(t) for t in np.asarray(thresholds, dtype=np.float64).reshape(-1)]


class Sum(Metric):
    """The (weighted) sum of the values given to ``update_state(values, sample_weight)``.

    >>> import kandle as kd
    >>> m = kd.metrics.Sum()
    >>> m.update_state([1, 3, 5, 7])
    >>> m.result()
    16.0
    >>> m.reset_state()
    >>> m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    >>> m.result()
    4.0
    """

    _engine_class = "Sum"

    def __init__(self, name: str = "sum", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)

    def update_state(self, values: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        self._engine.update_state(0.0, values, sample_weight)


def _json_value(value: Any) -> Any:
    """NumPy scalars and arrays as Python values; anything else as its repr, which the
    engine then rejects with the name of the argument."""
    return value.tolist() if hasattr(value, "tolist") else repr(value)


def _builtin_name(fn: Any) -> str | None:
    """The engine's name for one of kandle's loss functions, else None."""
    return next((name for f, name in _BUILTIN_FUNCTIONS.items() if f is fn), None)


def _serialize_function(fn: Callable[..., Any]) -> dict[str, Any]:
    """A function in the serialized form Keras writes (for its own and users' functions)."""
    name = getattr(fn, "__name__", repr(fn))
    return {
        "module": "builtins",
        "class_name": "function",
        "config": name,
        "registered_name": "function",
    }


def _builtin_function(name: str) -> Callable[..., Any]:
    for fn, fn_name in _BUILTIN_FUNCTIONS.items():
        if fn_name == name:
            return fn
    raise ValueError(
        f"Could not interpret the metric function {name!r}: expected one of "
        f"{sorted(_BUILTIN_FUNCTIONS.values())} or the function itself"
    )


class MeanMetricWrapper(Mean):
    """The (weighted) running mean of ``fn(y_true, y_pred, **kwargs)``, a function of
    per-sample values, as ``keras.metrics.MeanMetricWrapper``.

    With one of kandle's loss functions (``kd.losses.mean_squared_error``,
    ``kd.losses.binary_crossentropy``, ...; also under ``kd.metrics``) the metric runs in
    the Rust engine, also inside ``fit``. Any other Python function computes with
    kandle ops in ``update_state``; inside ``fit`` the batch loop calls it back per
    batch (Keras names it after the function).

    >>> import kandle as kd
    >>> m = kd.metrics.MeanMetricWrapper(kd.losses.binary_crossentropy, from_logits=True)
    >>> m.update_state([[0.0, 1.0]], [[-2.0, 3.0]])
    >>> round(m.result(), 4)
    0.0878
    >>> def abs_error(y_true, y_pred):
    ...     return abs(kd.ops.convert_to_tensor(y_true) - y_pred)
    >>> m = kd.metrics.MeanMetricWrapper(abs_error, name="abs_error")
    >>> m.update_state([1.0, 2.0], [1.5, 1.0])
    >>> m.result()
    0.75
    """

    _engine_class = "MeanMetricWrapper"

    def __init__(
        self, fn: Callable[..., Any], name: str | None = None, dtype: Any = None, **kwargs: Any
    ) -> None:
        if not callable(fn):
            raise TypeError(f"MeanMetricWrapper: expected fn to be callable, got {fn!r}")
        self._fn = fn
        self._fn_kwargs = kwargs
        self._init_identity(name, dtype)
        # Subclasses and kandle's own functions run in the engine; any other function is
        # called here and its values averaged by an engine `Mean`.
        self._in_engine = isinstance(self, _LossMetric) or _builtin_name(fn) is not None
        if self._in_engine:
            options = json.dumps(self._options(), default=_json_value)
            self._state = _core.Metric(self._engine_class, options)
        else:
            self._state = _core.Metric("Mean", "{}")

    def _options(self) -> dict[str, Any]:
        if isinstance(self, _LossMetric):
            return super()._options()
        return {"fn": _builtin_name(self._fn), **self._fn_kwargs}

    # The engine metric the training loop updates directly; None for a Python
    # function, whose values this wrapper computes when the loop calls it back.
    @property
    def _engine(self) -> Any:  # type: ignore[override]
        return self._state if self._in_engine else None

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        if self._in_engine:
            self._state.update_state(y_true, y_pred, sample_weight)
        else:
            values = self._fn(y_true, y_pred, **self._fn_kwargs)
            self._state.update_state(0.0, values, sample_weight)

    def result(self) -> Any:
        return self._state.result()

    def reset_state(self) -> None:
        self._state.reset_state()

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dtype": self.dtype,
            "fn": _serialize_function(self._fn),
            **self._fn_kwargs,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        config = dict(config)
        fn = config.pop("fn")
        if isinstance(fn, dict):
            fn = fn.get("config")
        if isinstance(fn, str):
            fn = _builtin_function(fn)
        return cls(fn, **config)


class _LossMetric(MeanMetricWrapper):
    """A Keras metric class around one loss function: Keras's config (no ``fn``), and the
    engine class of the same name."""

    _loss_function: Callable[..., Any]

    def __init__(self, name: str, dtype: Any = None, **kwargs: Any) -> None:
        for key, value in kwargs.items():
            setattr(self, key, value)
        super().__init__(type(self)._loss_function, name=name, dtype=dtype, **kwargs)

    def get_config(self) -> dict[str, Any]:
        return Metric.get_config(self)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        return cls(**config)


class BinaryCrossentropy(_LossMetric):
    """The running mean of the binary cross-entropy (see
    :class:`kandle.losses.BinaryCrossentropy`).

    >>> import kandle as kd
    >>> m = kd.metrics.BinaryCrossentropy()
    >>> m.update_state([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
    >>> round(m.result(), 4)
    0.8149
    """

    _engine_class = "BinaryCrossentropy"
    _loss_function = binary_crossentropy
    _option_names = ("from_logits", "label_smoothing")

    def __init__(
        self,
        name: str = "binary_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
        label_smoothing: float = 0,
    ) -> None:
        label_smoothing = _losses._number(label_smoothing, "label_smoothing", type(self).__name__)
        super().__init__(
            name, dtype, from_logits=bool(from_logits), label_smoothing=label_smoothing
        )


class CategoricalCrossentropy(_LossMetric):
    """The running mean of the categorical cross-entropy (see
    :class:`kandle.losses.CategoricalCrossentropy`).

    >>> import kandle as kd
    >>> m = kd.metrics.CategoricalCrossentropy()
    >>> m.update_state([[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    >>> round(m.result(), 4)
    1.1769
    """

    _engine_class = "CategoricalCrossentropy"
    _loss_function = categorical_crossentropy
    _option_names = ("from_logits", "label_smoothing", "axis")

    def __init__(
        self,
        name: str = "categorical_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
        label_smoothing: float = 0,
        axis: int = -1,
    ) -> None:
        owner = type(self).__name__
        label_smoothing = _losses._number(label_smoothing, "label_smoothing", owner)
        axis = _losses._integer(axis, "axis", owner)
        super().__init__(
            name, dtype, from_logits=bool(from_logits), label_smoothing=label_smoothing, axis=axis
        )


class SparseCategoricalCrossentropy(_LossMetric):
    """The running mean of the cross-entropy of integer labels; samples of
    ``ignore_class`` do not count.

    >>> import kandle as kd
    >>> m = kd.metrics.SparseCategoricalCrossentropy()
    >>> m.update_state([1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    >>> round(m.result(), 4)
    1.1769
    """

    _engine_class = "SparseCategoricalCrossentropy"
    _loss_function = sparse_categorical_crossentropy
    _option_names = ("from_logits", "ignore_class", "axis")

    def __init__(
        self,
        name: str = "sparse_categorical_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
        ignore_class: int | None = None,
        axis: int = -1,
    ) -> None:
        owner = type(self).__name__
        if ignore_class is not None:
            ignore_class = _losses._integer(ignore_class, "ignore_class", owner)
        axis = _losses._integer(axis, "axis", owner)
        super().__init__(
            name, dtype, from_logits=bool(from_logits), ignore_class=ignore_class, axis=axis
        )


class KLDivergence(_LossMetric):
    """The running mean of the Kullback-Leibler divergence
    ``sum(y_true * log(y_true / y_pred), axis=-1)`` (both clipped to ``[1e-7, 1]``).

    >>> import kandle as kd
    >>> m = kd.metrics.KLDivergence()
    >>> m.update_state([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
    >>> round(m.result(), 4)
    0.4581
    """

    _engine_class = "KLDivergence"
    _loss_function = kl_divergence

    def __init__(self, name: str = "kl_divergence", dtype: Any = None) -> None:
        super().__init__(name, dtype)


class Poisson(_LossMetric):
    """The running mean of the Poisson loss ``mean(y_pred - y_true * log(y_pred), axis=-1)``.

    >>> import kandle as kd
    >>> m = kd.metrics.Poisson()
    >>> m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
    >>> round(m.result(), 4)
    0.5
    """

    _engine_class = "Poisson"
    _loss_function = poisson

    def __init__(self, name: str = "poisson", dtype: Any = None) -> None:
        super().__init__(name, dtype)


class LogCoshError(_LossMetric):
    """The running mean of ``mean(log(cosh(y_pred - y_true)), axis=-1)``.

    >>> import kandle as kd
    >>> m = kd.metrics.LogCoshError()
    >>> m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
    >>> round(m.result(), 3)
    0.108
    """

    _engine_class = "LogCoshError"
    _loss_function = log_cosh

    def __init__(self, name: str = "logcosh", dtype: Any = None) -> None:
        super().__init__(name, dtype)


def _cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Any:
    """The cosine similarity along ``axis`` (the loss's negative)."""
    return -_losses.cosine_similarity(y_true, y_pred, axis=axis)


class CosineSimilarity(_LossMetric):
    """The running mean of the cosine similarity along ``axis``:
    ``sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)``.

    Keras's ``get_config`` leaves ``axis`` out; kandle's includes it.

    >>> import kandle as kd
    >>> m = kd.metrics.CosineSimilarity(axis=1)
    >>> m.update_state([[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]])
    >>> round(m.result(), 4)
    0.5
    """

    _engine_class = "CosineSimilarity"
    _loss_function = _cosine_similarity
    _option_names = ("axis",)

    def __init__(self, name: str = "cosine_similarity", dtype: Any = None, axis: int = -1) -> None:
        super().__init__(name, dtype, axis=_losses._integer(axis, "axis", "CosineSimilarity"))


class Hinge(_LossMetric):
    """The running mean of the hinge loss ``mean(maximum(1 - y_true * y_pred, 0), axis=-1)``
    (0/1 labels become -1/1).

    >>> import kandle as kd
    >>> m = kd.metrics.Hinge()
    >>> m.update_state([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
    >>> round(m.result(), 4)
    1.3
    """

    _engine_class = "Hinge"
    _loss_function = hinge

    def __init__(self, name: str = "hinge", dtype: Any = None) -> None:
        super().__init__(name, dtype)


class SquaredHinge(_LossMetric):
    """The running mean of ``mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1)``.

    >>> import kandle as kd
    >>> m = kd.metrics.SquaredHinge()
    >>> m.update_state([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
    >>> round(m.result(), 4)
    1.86
    """

    _engine_class = "SquaredHinge"
    _loss_function = squared_hinge

    def __init__(self, name: str = "squared_hinge", dtype: Any = None) -> None:
        super().__init__(name, dtype)


class CategoricalHinge(_LossMetric):
    """The running mean of the categorical hinge loss (see
    :class:`kandle.losses.CategoricalHinge`).

    >>> import kandle as kd
    >>> m = kd.metrics.CategoricalHinge()
    >>> m.update_state([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
    >>> round(m.result(), 4)
    1.4
    """

    _engine_class = "CategoricalHinge"
    _loss_function = categorical_hinge

    def __init__(self, name: str = "categorical_hinge", dtype: Any = None) -> None:
        super().__init__(name, dtype)


class MeanAbsolutePercentageError(_LossMetric):
    """The running mean of ``100 * mean(abs((y_true - y_pred) / y_true), axis=-1)`` (the
    denominator at least 1e-7).

    >>> import kandle as kd
    >>> m = kd.metrics.MeanAbsolutePercentageError()
    >>> m.update_state([[2.0, 4.0]], [[1.0, 5.0]])
    >>> m.result()
    37.5
    """

    _engine_class = "MeanAbsolutePercentageError"
    _loss_function = mean_absolute_percentage_error

    def __init__(self, name: str = "mean_absolute_percentage_error", dtype: Any = None) -> None:
        super().__init__(name, dtype)


class MeanSquaredLogarithmicError(_LossMetric):
    """The running mean of ``mean(square(log(y_pred + 1) - log(y_true + 1)), axis=-1)``.

    >>> import kandle as kd
    >>> m = kd.metrics.MeanSquaredLogarithmicError()
    >>> m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
    >>> round(m.result(), 4)
    0.1201
    """

    _engine_class = "MeanSquaredLogarithmicError"
    _loss_function = mean_squared_logarithmic_error

    def __init__(self, name: str = "mean_squared_logarithmic_error", dtype: Any = None) -> None:
        super().__init__(name, dtype)


def _even_thresholds(num_thresholds: int) -> list[float]:
    """The inner thresholds Keras spaces evenly between 0 and 1."""
    return [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]


class _ConfusionCount(Metric):
    def __init__(
        self,
        thresholds: float | list[float] | None = None,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        self.init_thresholds = thresholds
        super().__init__(name=name, dtype=dtype)
        self.thresholds = _threshold_list(thresholds, 0.5)

    def _options(self) -> dict[str, Any]:
        return {"thresholds": self.init_thresholds}


class TruePositives(_ConfusionCount):
    """The weighted count of positive labels predicted above ``thresholds`` (default
    0.5); with a list of thresholds, one count per threshold.

    >>> import kandle as kd
    >>> m = kd.metrics.TruePositives()
    >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    >>> m.result()
    2.0
    """

    _engine_class = "TruePositives"


class FalsePositives(_ConfusionCount):
    """The weighted count of negative labels predicted above ``thresholds``.

    >>> import kandle as kd
    >>> m = kd.metrics.FalsePositives(thresholds=[0.3, 0.6])
    >>> m.update_state([0, 1, 0, 0], [0, 0, 1, 0.5])
    >>> m.result().tolist()
    [2.0, 1.0]
    """

    _engine_class = "FalsePositives"


class TrueNegatives(_ConfusionCount):
    """The weighted count of negative labels predicted at or below ``thresholds``.

    >>> import kandle as kd
    >>> m = kd.metrics.TrueNegatives()
    >>> m.update_state([0, 1, 0, 0], [1, 1, 0, 0])
    >>> m.result()
    2.0
    """

    _engine_class = "TrueNegatives"


class FalseNegatives(_ConfusionCount):
    """The weighted count of positive labels predicted at or below ``thresholds``.

    >>> import kandle as kd
    >>> m = kd.metrics.FalseNegatives()
    >>> m.update_state([0, 1, 1, 1], [0, 1, 0, 0])
    >>> m.result()
    2.0
    """

    _engine_class = "FalseNegatives"


class _ThresholdMetric(Metric):
    def __init__(
        self,
        thresholds: float | list[float] | None = None,
        top_k: int | None = None,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        super().__init__(name=name, dtype=dtype)
        # Keras's NEG_INF is the default threshold with top_k.
        self.thresholds = _threshold_list(thresholds, 0.5 if top_k is None else -1e10)

    def _options(self) -> dict[str, Any]:
        return {"thresholds": self.init_thresholds, "top_k": self.top_k, "class_id": self.class_id}


class Precision(_ThresholdMetric):
    """``true_positives / (true_positives + false_positives)``, with predictions above
    ``thresholds`` (default 0.5) or among the ``top_k`` counting as positive; with a
    list of thresholds, one value per threshold. ``class_id`` restricts it to one
    column of a ``(batch, classes)`` output.

    >>> import kandle as kd
    >>> m = kd.metrics.Precision()
    >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    >>> round(m.result(), 4)
    0.6667
    """

    _engine_class = "Precision"


class Recall(_ThresholdMetric):
    """``true_positives / (true_positives + false_negatives)``.

    >>> import kandle as kd
    >>> m = kd.metrics.Recall()
    >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    >>> round(m.result(), 4)
    0.6667
    """

    _engine_class = "Recall"


# Keras's AUCCurve.from_str and AUCSummationMethod.from_str: accepted spellings and the
# name get_config reports. Other values go to the engine, which rejects them.
_AUC_CURVES = {"ROC": "ROC", "roc": "ROC", "PR": "PR", "pr": "PR", "PRGAIN": "PRGAIN",
               "prgain": "PRGAIN"}  # fmt: skip
_AUC_SUMMATIONS = {
    "interpolation": "interpolation",
    "Interpolation": "interpolation",
    "majoring": "majoring",
    "Majoring": "majoring",
    "minoring": "minoring",
    "Minoring": "minoring",
}


class AUC(Metric):
    """Area under the ROC (default), PR or PRGAIN curve, by a Riemann sum over
    ``num_thresholds`` thresholds (plus ``-1e-7`` and ``1 + 1e-7``); for PR with
    ``summation_method="interpolation"``, Davis & Goadrich's interpolation. With
    ``multi_label=True``, one curve per column of ``(batch, labels)`` predictions,
    averaged (weighted by ``label_weights`` if given).

    >>> import kandle as kd
    >>> m = kd.metrics.AUC(num_thresholds=3)
    >>> m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    >>> m.result()
    0.75
    """

    _engine_class = "AUC"
    _option_names = (
        "num_thresholds",
        "curve",
        "summation_method",
        "multi_label",
        "num_labels",
        "label_weights",
        "from_logits",
    )

    def __init__(
        self,
        num_thresholds: int = 200,
        curve: str = "ROC",
        summation_method: str = "interpolation",
        name: str | None = None,
        dtype: Any = None,
        thresholds: list[float] | None = None,
        multi_label: bool = False,
        num_labels: int | None = None,
        label_weights: Any = None,
        from_logits: bool = False,
    ) -> None:
        if thresholds is not None:
            try:
                thresholds = sorted(_threshold_list(thresholds, 0.5))
            except (TypeError, ValueError):
                thresholds = list(thresholds)  # not numbers: the engine names the bad value
            num_thresholds = len(thresholds) + 2
        self.num_thresholds = num_thresholds
        self.curve = _AUC_CURVES.get(curve, curve)
        self.summation_method = _AUC_SUMMATIONS.get(summation_method, summation_method)
        self._init_thresholds = thresholds
        self.multi_label = multi_label
        self.num_labels = num_labels
        self.label_weights = (
            None if label_weights is None else np.asarray(label_weights, np.float32).tolist()
        )
        self.from_logits = from_logits
        super().__init__(name=name, dtype=dtype)

    @property
    def thresholds(self) -> list[float]:
        """All the thresholds, with the end points ``-1e-7`` and ``1 + 1e-7``."""
        inner = self._init_thresholds
        if inner is None:
            inner = _even_thresholds(self.num_thresholds)
        return [0.0 - 1e-7, *inner, 1.0 + 1e-7]

    def _options(self) -> dict[str, Any]:
        options = super()._options()
        if self._init_thresholds is not None:
            options["thresholds"] = self._init_thresholds
        return options


class _RateAtRate(Metric):
    # The name of the constrained rate's argument: specificity, sensitivity, ...
    _constraint: str = ""

    def __init__(
        self,
        value: float,
        num_thresholds: int = 200,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        setattr(self, self._constraint, value)
        self.num_thresholds = num_thresholds
        self.class_id = class_id
        super().__init__(name=name, dtype=dtype)

    @property
    def thresholds(self) -> list[float]:
        """``num_thresholds`` thresholds evenly spaced from 0 to 1 (0.5 if just one)."""
        if self.num_thresholds == 1:
            return [0.5]
        return [0.0, *_even_thresholds(self.num_thresholds), 1.0]

    def _options(self) -> dict[str, Any]:
        return {
            "class_id": self.class_id,
            "num_thresholds": self.num_thresholds,
            self._constraint: getattr(self, self._constraint),
        }


class SensitivityAtSpecificity(_RateAtRate):
    """The best sensitivity (recall) over ``num_thresholds`` evenly spaced thresholds
    whose specificity is at least ``specificity``.

    >>> import kandle as kd
    >>> m = kd.metrics.SensitivityAtSpecificity(0.5)
    >>> m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
    >>> m.result()
    0.5
    """

    _engine_class = "SensitivityAtSpecificity"
    _constraint = "specificity"

    def __init__(
        self,
        specificity: float,
        num_thresholds: int = 200,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(specificity, num_thresholds, class_id, name, dtype)


class SpecificityAtSensitivity(_RateAtRate):
    """The best specificity over the thresholds whose sensitivity is at least
    ``sensitivity``.

    >>> import kandle as kd
    >>> m = kd.metrics.SpecificityAtSensitivity(0.5)
    >>> m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
    >>> round(m.result(), 4)
    0.6667
    """

    _engine_class = "SpecificityAtSensitivity"
    _constraint = "sensitivity"

    def __init__(
        self,
        sensitivity: float,
        num_thresholds: int = 200,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)


class PrecisionAtRecall(_RateAtRate):
    """The best precision over the thresholds whose recall is at least ``recall``.

    >>> import kandle as kd
    >>> m = kd.metrics.PrecisionAtRecall(0.5)
    >>> m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
    >>> m.result()
    0.5
    """

    _engine_class = "PrecisionAtRecall"
    _constraint = "recall"

    def __init__(
        self,
        recall: float,
        num_thresholds: int = 200,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(recall, num_thresholds, class_id, name, dtype)


class RecallAtPrecision(_RateAtRate):
    """The best recall over the thresholds whose precision is at least ``precision``.

    >>> import kandle as kd
    >>> m = kd.metrics.RecallAtPrecision(0.8)
    >>> m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    >>> m.result()
    0.5
    """

    _engine_class = "RecallAtPrecision"
    _constraint = "precision"

    def __init__(
        self,
        precision: float,
        num_thresholds: int = 200,
        class_id: int | None = None,
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(precision, num_thresholds, class_id, name, dtype)


class FBetaScore(Metric):
    """The F-beta score of a ``(batch, classes)`` output: ``(1 + beta^2) * precision *
    recall / (beta^2 * precision + recall)``, per class (``average=None``, an array) or
    averaged (``"micro"``, ``"macro"``, ``"weighted"``). Predictions above ``threshold``
    are positive; without one, each row's maximum is.

    >>> import kandle as kd
    >>> m = kd.metrics.FBetaScore(beta=2.0, threshold=0.5)
    >>> m.update_state([[1, 1, 1], [1, 0, 0], [1, 1, 0]],
    ...                [[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]])
    >>> [round(float(v), 4) for v in m.result()]
    [0.3846, 0.9091, 0.8333]
    """

    _engine_class = "FBetaScore"
    _option_names: tuple[str, ...] = ("average", "beta", "threshold")

    def __init__(
        self,
        average: str | None = None,
        beta: float = 1.0,
        threshold: float | None = None,
        name: str = "fbeta_score",
        dtype: Any = None,
    ) -> None:
        self.average = average
        self.beta = beta
        self.threshold = threshold
        super().__init__(name=name, dtype=dtype)


class F1Score(FBetaScore):
    """The F1 score: :class:`FBetaScore` with ``beta=1``.

    >>> import kandle as kd
    >>> m = kd.metrics.F1Score(threshold=0.5)
    >>> m.update_state([[1, 1, 1], [1, 0, 0], [1, 1, 0]],
    ...                [[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]])
    >>> [round(float(v), 4) for v in m.result()]
    [0.5, 0.8, 0.6667]
    """

    _engine_class = "F1Score"
    _option_names = ("average", "threshold")

    def __init__(
        self,
        average: str | None = None,
        threshold: float | None = None,
        name: str = "f1_score",
        dtype: Any = None,
    ) -> None:
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)


class R2Score(Metric):
    """The coefficient of determination of each output of a ``(batch, outputs)``
    regression, aggregated by ``class_aggregation`` (``"uniform_average"``,
    ``"variance_weighted_average"``, or None for one score per output) and adjusted for
    ``num_regressors`` independent variables when that is not 0.

    >>> import kandle as kd
    >>> m = kd.metrics.R2Score()
    >>> m.update_state([[1], [4], [3]], [[2], [4], [4]])
    >>> round(m.result(), 6)
    0.571429
    """

    _engine_class = "R2Score"
    _option_names = ("class_aggregation", "num_regressors")

    def __init__(
        self,
        class_aggregation: str | None = "uniform_average",
        num_regressors: int = 0,
        name: str = "r2_score",
        dtype: Any = None,
    ) -> None:
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        super().__init__(name=name, dtype=dtype)


_CLASSES: dict[str, type[Metric]] = {
    cls.__name__: cls
    for cls in (
        Mean,
        BinaryAccuracy,
        CategoricalAccuracy,
        SparseCategoricalAccuracy,
        TopKCategoricalAccuracy,
        SparseTopKCategoricalAccuracy,
        MeanSquaredError,
        MeanAbsoluteError,
        RootMeanSquaredError,
        TruePositives,
        FalsePositives,
        TrueNegatives,
        FalseNegatives,
        Precision,
        Recall,
        AUC,
        SensitivityAtSpecificity,
        SpecificityAtSensitivity,
        PrecisionAtRecall,
        RecallAtPrecision,
        FBetaScore,
        F1Score,
        R2Score,
        Sum,
        MeanMetricWrapper,
        BinaryCrossentropy,
        CategoricalCrossentropy,
        SparseCategoricalCrossentropy,
        KLDivergence,
        Poisson,
        LogCoshError,
        CosineSimilarity,
        Hinge,
        SquaredHinge,
        CategoricalHinge,
        MeanAbsolutePercentageError,
        MeanSquaredLogarithmicError,
    )
}


def _is_binary_loss(loss: Any) -> bool:
    name = loss if isinstance(loss, str) else type(loss).__name__
    return name in ("binary_crossentropy", "bce", "BCE", "BinaryCrossentropy")


def _is_sparse_loss(loss: Any) -> bool:
    name = loss if isinstance(loss, str) else type(loss).__name__
    return name in ("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy")


def _shape(x: Any) -> tuple[int, ...]:
    shape = getattr(x, "shape", None)
    return tuple(shape) if shape is not None else np.shape(x)


def get(identifier: Any, y_true: Any = None, y_pred: Any = None, loss: Any = None) -> Metric:
    """A :class:`Metric` from a Keras identifier, as Keras's ``compile`` resolves it.

    ``"accuracy"``/``"acc"`` become BinaryAccuracy when ``y_pred``'s last dimension is 1,
    SparseCategoricalAccuracy when ``y_true`` has a lower rank than ``y_pred`` or a last
    dimension of 1 while ``y_pred``'s is larger, and CategoricalAccuracy otherwise (Keras
    3's ``get_metric``). Without ``y_true``/``y_pred``, a binary or sparse ``loss``
    decides instead. A metric given as a string is named by that string.

    >>> import numpy as np
    >>> import kandle as kd
    >>> m = kd.metrics.get("acc", y_true=np.zeros((4,)), y_pred=np.zeros((4, 3)))
    >>> type(m).__name__, m.name
    ('SparseCategoricalAccuracy', 'acc')
    """
    if identifier is None:
        raise ValueError("Expected a metric, received None")
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        if y_true is not None and y_pred is not None:
            # The engine owns the rule (the Rust model's compile uses it too).
            class_name = _core.accuracy_class(list(_shape(y_true)), list(_shape(y_pred)))
            return _CLASSES[class_name](name=identifier)
        if _is_binary_loss(loss):
            return BinaryAccuracy(name=identifier)
        if _is_sparse_loss(loss):
            return SparseCategoricalAccuracy(name=identifier)
        return CategoricalAccuracy(name=identifier)
    if isinstance(identifier, dict):
        cls = _CLASSES.get(identifier.get("class_name", ""))
        if cls is None:
            raise ValueError(
                f"Could not interpret metric identifier: {identifier!r}. "
                f"Known classes: {sorted(_CLASSES)}"
            )
        return cls.from_config(dict(identifier.get("config", {})))
    if isinstance(identifier, str):
        # As losses.get: the engine's one list of names (also "accuracy" and "acc",
        # resolved above by the shapes).
        return _CLASSES[_core.resolve_class("metric", identifier, list(_CLASSES))](name=identifier)
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier) and not isinstance(identifier, type):
        # Keras's compile wraps a function, named after it.
        return MeanMetricWrapper(identifier, name=getattr(identifier, "__name__", None))
    raise ValueError(
        f"Could not interpret metric identifier: {identifier!r}. Expected a string, a dict "
        "or a Metric"
    )


__all__ = [
    "Metric",
    "Mean",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "SparseCategoricalAccuracy",
    "TopKCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "RootMeanSquaredError",
    "TruePositives",
    "FalsePositives",
    "TrueNegatives",
    "FalseNegatives",
    "Precision",
    "Recall",
    "AUC",
    "SensitivityAtSpecificity",
    "SpecificityAtSensitivity",
    "PrecisionAtRecall",
    "RecallAtPrecision",
    "FBetaScore",
    "F1Score",
    "R2Score",
    "Sum",
    "MeanMetricWrapper",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "KLDivergence",
    "Poisson",
    "LogCoshError",
    "CosineSimilarity",
    "Hinge",
    "SquaredHinge",
    "CategoricalHinge",
    "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError",
    "binary_crossentropy",
    "binary_focal_crossentropy",
    "categorical_crossentropy",
    "categorical_focal_crossentropy",
    "categorical_hinge",
    "hinge",
    "huber",
    "kl_divergence",
    "log_cosh",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "poisson",
    "sparse_categorical_crossentropy",
    "squared_hinge",
    "get",
]
