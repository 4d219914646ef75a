"""The base class of all layers."""

from __future__ import annotations

import functools
import inspect
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from kandle import _core, initializers
from kandle._config import CheckedArguments, engine_json
from kandle._core import Tensor, Variable
from kandle.errors import InvalidArgumentError, ShapeError

# Keras names layers per process: dense, dense_1, dense_2, ...
_name_counts: defaultdict[str, int] = defaultdict(int)

ShapeLike = Sequence[int | None]


def _unique_name(cls_name: str) -> str:
    base = _core.snake_case(cls_name)
    count = _name_counts[base]
    _name_counts[base] += 1
    return base if count == 0 else f"{base}_{count}"


def _check_dtype(dtype: Any) -> None:
    """kandle computes in float32 only; accept Keras's spellings of it."""
    name = dtype
    if isinstance(dtype, dict):  # a serialized DTypePolicy
        name = (dtype.get("config") or {}).get("name")
    if name not in (None, "float32"):
        raise InvalidArgumentError(f"kandle layers compute in float32 only, got dtype={dtype!r}")


def _wrap_build(build: Callable[..., None]) -> Callable[..., None]:
    """Marks the layer built and makes its engine once ``build`` returns, however it is
    called (by ``__call__`` or directly, as a model does for a deferred build)."""

    @functools.wraps(build)
    def wrapper(self: Layer, input_shape: ShapeLike) -> None:
        outermost = not self._building
        self._building = True
        try:
            build(self, input_shape)
        finally:
            if outermost:
                self._building = False
        if outermost:
            self.built = True
            self._make_engine()

    wrapper._kandle_wrapped = True  # type: ignore[attr-defined]
    return wrapper


class Layer(CheckedArguments):
    """A callable that holds weights (Variables) and builds them on its first call.

    Subclasses implement ``build(input_shape)`` (creating weights with ``add_weight``)
    and ``call(inputs)`` (optionally ``call(inputs, training=False)``). kandle's own
    layers run in the Rust engine: after ``build`` each has ``_engine``, a
    ``kandle._core.Layer`` made from its class name, config and weights, which the Rust
    training loop runs too.

    >>> import kandle as kd
    >>> class Scale(kd.layers.Layer):
    ...     def build(self, input_shape):
    ...         self.factor = self.add_weight((), initializer="ones", name="factor")
    ...     def call(self, x):
    ...         return x * self.factor
    >>> Scale()(kd.tensor([1.0, 2.0])).numpy()
    array([1., 2.], dtype=float32)
    """

    # The Keras class name the Rust registry builds this layer from; None for a layer
    # written in Python.
    _engine_class: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is not None and not getattr(build, "_kandle_wrapped", False):
            cls.build = _wrap_build(build)  # type: ignore[method-assign]
        call = cls.__dict__.get("call")
        if call is not None:
            cls._call_takes_training = "training" in inspect.signature(call).parameters

    _call_takes_training: ClassVar[bool] = True

    def __init__(
        self, name: str | None = None, trainable: bool = True, dtype: Any = None, **kwargs: Any
    ) -> None:
        unknown = set(kwargs) - {"input_shape", "input_dim", "batch_input_shape"}
        if unknown:
            raise InvalidArgumentError(
                f"{type(self).__name__}: unrecognized keyword arguments: {sorted(unknown)}"
            )
        _check_dtype(dtype)
        self.name = name or _unique_name(type(self).__name__)
        self.trainable = trainable
        self.built = False
        self._building = False
        self._weights: list[Variable] = []
        self._engine: Any = None

    def build(self, input_shape: ShapeLike) -> None:
        """Creates the weights for inputs of ``input_shape`` (batch axis included)."""

    def call(self, inputs: Tensor, training: bool = False) -> Tensor:
        """Applies the layer; the default runs the Rust engine."""
        if self._engine is None:
            raise NotImplementedError(f"{type(self).__name__} must implement call()")
        return self._engine.forward(inputs, bool(training))

    def __call__(self, inputs: Any, training: bool | None = None) -> Tensor:
        from kandle._keras_tensor import call_symbolic, is_symbolic
        from kandle.ops import convert_to_tensor

        # Functional API: a call on symbolic tensors records a node (kandle._functional).
        if is_symbolic(inputs):
            return call_symbolic(self, inputs, training)  # type: ignore[no-any-return]
        x = convert_to_tensor(inputs)
        if not self.built:
            self.build(tuple(x.shape))
        if self._call_takes_training:
            return self.call(x, training=bool(training))
        return self.call(x)

    def compute_output_shape(self, input_shape: ShapeLike) -> tuple[int | None, ...]:
        """The output shape for ``input_shape``; None marks an unknown size (the batch)."""
        return tuple(input_shape)

    # ------------------------------------------------------------------ engine

    def _engine_config(self) -> dict[str, Any]:
        """The config the Rust layer is built from."""
        return self.get_config()

    def _make_engine(self) -> None:
        if self._engine_class is not None:
            self._engine = _core.Layer(
                self._engine_class, engine_json(self._engine_config()), self.weights
            )

    def regularization(self) -> Tensor | None:
        """This layer's regularization penalty (a scalar Tensor), or None."""
        return None if self._engine is None else self._engine.regularization()

    # ------------------------------------------------------------------ weights

    def add_weight(
        self,
        shape: Sequence[int],
        initializer: Any = "glorot_uniform",
        name: str | None = None,
        trainable: bool = True,
    ) -> Variable:
        """Creates a Variable of ``shape`` filled by ``initializer`` and tracks it."""
        value = initializers.get(initializer)(tuple(shape))
        variable = Variable(
            np.asarray(value, dtype=np.float32),
            trainable=trainable,
            name=name or "variable",
        )
        self._weights.append(variable)
        return variable

    @property
    def weights(self) -> list[Variable]:
        return list(self._weights)

    @property
    def trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return []
        return [w for w in self._weights if w.trainable]

    @property
    def non_trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return list(self._weights)
        return [w for w in self._weights if not w.trainable]

    def count_params(self) -> int:
        return sum(int(np.prod(w.shape)) for w in self._weights)

    # Keras's layout of each weight may differ from ours (a Dense kernel is stored
    # transposed); these two hooks convert weight `index` between them.
    def _to_keras_layout(self, index: int, value: np.ndarray) -> np.ndarray:
        return value

    def _from_keras_layout(self, index: int, value: np.ndarray) -> np.ndarray:
        return value

    def get_weights(self) -> list[np.ndarray]:
        """The weights as numpy arrays, in Keras's order and shapes."""
        return [self._to_keras_layout(i, w.numpy()) for i, w in enumerate(self._weights)]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Sets the weights from arrays in Keras's order and shapes (as ``get_weights``
        returns them). Nothing changes unless every array fits."""
        weights = list(weights)
        if len(weights) != len(self._weights):
            raise InvalidArgumentError(
                f"You called `set_weights(weights)` on layer {self.name!r} with a weight list "
                f"of length {len(weights)}, but the layer was expecting {len(self._weights)} "
                f"weights."
            )
        converted = []
        for i, (variable, value) in enumerate(zip(self._weights, weights)):
            expected = self._to_keras_layout(i, np.empty(variable.shape, np.float32)).shape
            array = np.asarray(value, dtype=np.float32)
            if array.shape != expected:
                raise ShapeError(
                    f"Layer {self.name!r} weight shape {expected} is not compatible with "
                    f"provided weight shape {array.shape} (weight {i}, {variable.name!r})."
                )
            converted.append(np.ascontiguousarray(self._from_keras_layout(i, array)))
        for variable, array in zip(self._weights, converted):
            variable.assign(array)

    # ------------------------------------------------------------------ config

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "trainable": self.trainable, "dtype": "float32"}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """A new (unbuilt) layer from ``get_config()``'s dict."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


Layer.build = _wrap_build(Layer.build)  # type: ignore[method-assign]
