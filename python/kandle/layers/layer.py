"""The base class of all layers."""

from __future__ import annotations

import functools
import inspect
import warnings
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
# How many eager layer calls are running: the outermost one forgets the `add_loss`
# losses of every layer it holds, as Keras's entry call does.
_call_depth = 0

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
    training loop runs too. A layer written in Python computes with ``kandle.ops`` and
    trains in ``fit`` like a built-in one: the batch loop calls its ``call`` back once
    per batch, and its weights get their gradients through the engine's autograd. Its
    ``call`` must return a Tensor (checked when the model is built).

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
        self,
        name: str | None = None,
        trainable: bool = True,
        dtype: Any = None,
        activity_regularizer: Any = None,
        **kwargs: Any,
    ) -> None:
        # Keras 3's legacy arguments: the shape of one input sample, which a Sequential
        # whose first layer this is builds from (as if kd.Input(shape) came first).
        input_dim = kwargs.pop("input_dim", None)
        input_shape = (input_dim,) if input_dim is not None else kwargs.pop("input_shape", None)
        if kwargs:
            raise InvalidArgumentError(
                f"{type(self).__name__}: unrecognized keyword arguments: {sorted(kwargs)}"
            )
        if input_shape is not None:
            warnings.warn(
                "Do not pass an `input_shape`/`input_dim` argument to a layer. When using "
                "Sequential models, prefer using an `Input(shape)` object as the first layer "
                "in the model instead.",
                stacklevel=2,
            )
            self._input_shape_arg = input_shape
        _check_dtype(dtype)
        # Keras's base Layer takes an activity regularizer (Keras writes
        # `activity_regularizer: None` in some layers' configs): kandle accepts None and
        # refuses any other rather than ignore it.
        if activity_regularizer is not None:
            raise InvalidArgumentError(
                f"{type(self).__name__}: `activity_regularizer` is not supported, got "
                f"activity_regularizer={activity_regularizer!r}; for an L1/L2 penalty on "
                "this layer's output, put a kandle.layers.ActivityRegularization(l1=..., "
                "l2=...) layer after it (the same loss term)"
            )
        self.activity_regularizer = None
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
        out = self._outermost_call(x, bool(training))
        # Keras's summary of a subclassed model shows each layer's last output shape.
        self._last_output_shape = tuple(getattr(out, "shape", ())) or None
        return out

    # ---- the functional graph (see kandle._keras_tensor) ----------------------------
    def _first_call(self, what: str) -> Any:
        """The first recorded symbolic call of this layer (Keras's node 0)."""
        nodes = self.__dict__.get("inbound_nodes")
        if not nodes:
            raise AttributeError(
                f"The layer {self.name} has never been called and thus has no defined {what}."
            )
        return nodes[0]

    @property
    def input(self) -> Any:
        """The symbolic tensor(s) the layer took the first time it was called on
        symbolic tensors (in a functional model, or a built Sequential), as Keras's
        ``layer.input``; a list for a layer that took several.

        >>> import kandle as kd
        >>> x = kd.Input((3,))
        >>> dense = kd.layers.Dense(2)
        >>> y = dense(x)
        >>> dense.input is x, dense.output is y
        (True, True)
        """
        tensors = self._first_call("input").input_tensors
        return tensors[0] if len(tensors) == 1 else list(tensors)

    @property
    def output(self) -> Any:
        """The symbolic tensor(s) the layer made the first time it was called on
        symbolic tensors, as Keras's ``layer.output``. With ``model.inputs`` it makes a
        feature extractor: ``kd.Model(model.inputs, model.get_layer("c").output)``."""
        tensors = self._first_call("output").outputs
        return tensors[0] if len(tensors) == 1 else list(tensors)

    # ---- kandle: custom Python layers (see kandle._python_pieces) ----------------

    def _outermost_call(self, x: Tensor, training: bool) -> Any:
        """``call(x)`` of an eager call; the outermost of nested ones first forgets the
        ``add_loss`` losses of all the layers it holds."""
        global _call_depth
        if _call_depth == 0:
            self._clear_added_losses()
        _call_depth += 1
        try:
            return self._call_with(x, training)
        finally:
            _call_depth -= 1

    def _call_with(self, x: Tensor, training: bool) -> Any:
        """``call(x)``, passing ``training`` when ``call`` takes it. A call replaces the
        layer's own ``add_loss`` losses: a layer called twice keeps its last call's, as
        in Keras."""
        self.__dict__["_added_losses"] = []
        if self._call_takes_training:
            return self.call(x, training=training)
        return self.call(x)

    def _engine_call(self, x: Tensor, training: bool) -> Tensor:
        """The engine's per-batch callback for a layer written in Python (the engine
        forgets the ``add_loss`` losses of the last batch first: ``begin_batch``)."""
        from kandle._python_pieces import checked_output

        return checked_output(self, self._call_with(x, training))

    def add_loss(self, loss: Any) -> None:
        """Adds ``loss`` (a scalar Tensor, or a list of them) to the training loss, as
        Keras's ``add_loss``: call it in ``call`` with a value computed from the
        inputs or weights, and ``fit`` minimizes it with the compiled loss; it is in
        ``layer.losses`` and ``model.losses`` until the next call.

        >>> import kandle as kd
        >>> class Penalized(kd.layers.Layer):
        ...     def call(self, x):
        ...         self.add_loss(0.5 * kd.ops.sum(x * x))
        ...         return x
        >>> layer = Penalized()
        >>> _ = layer(kd.ops.ones((1, 2)))
        >>> [float(p) for p in layer.losses]
        [1.0]
        """
        from kandle.ops import convert_to_tensor

        for value in loss if isinstance(loss, list | tuple) else [loss]:
            value = convert_to_tensor(value)
            if value.ndim != 0 and value.size != 1:
                raise ShapeError(
                    f"add_loss: expected a scalar loss, got a tensor of shape {tuple(value.shape)}"
                )
            self.__dict__.setdefault("_added_losses", []).append(value.reshape(()))

    def _clear_added_losses(self) -> None:
        """Forgets the ``add_loss`` losses of this layer and the layers it holds."""
        self.__dict__["_added_losses"] = []
        for layer in self._sublayers():
            layer._clear_added_losses()

    def _written_in_python(self) -> bool:
        """A user's layer: its own ``call``, no engine class."""
        return self._engine_class is None and type(self).call is not Layer.call

    def _sublayers(self) -> list[Layer]:
        """The layers held in attributes (directly, or in lists, tuples and dict
        values), in attribute order, as Keras tracks them."""
        found: list[Layer] = []
        for value in vars(self).values():
            items = value.values() if isinstance(value, dict) else value
            if isinstance(items, list | tuple):
                found += [v for v in items if isinstance(v, Layer) and v is not self]
            elif isinstance(value, Layer) and value is not self:
                found.append(value)
        unique: list[Layer] = []
        for layer in found:
            if not any(layer is u for u in unique):
                unique.append(layer)
        return unique

    # ---- end kandle: custom Python layers ---------------------------------------

    def compute_output_shape(self, input_shape: ShapeLike) -> tuple[int | None, ...]:
        """The output shape for ``input_shape``; None marks an unknown size (the batch).
        A layer written in Python is called on zeros to find it (Keras traces it)."""
        if self._written_in_python():
            from kandle._python_pieces import output_shape_by_call

            return output_shape_by_call(self, tuple(input_shape))
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
        """This layer's regularization penalty (a scalar Tensor), or None: for a layer
        written in Python, its weights' regularizers (``add_weight(regularizer=)``), the
        losses its last call added (``add_loss``) and its sublayers' penalties."""
        if self._engine is not None:
            return self._engine.regularization()
        penalties = [reg(w) for w, reg in getattr(self, "_weight_regularizers", [])]
        penalties += self.__dict__.get("_added_losses", [])
        penalties += [p for layer in self._sublayers() if (p := layer.regularization()) is not None]
        if not penalties:
            return None
        total = penalties[0]
        for p in penalties[1:]:
            total = total + p
        return total

    @property
    def losses(self) -> list[Tensor]:
        """The penalties this layer adds to the training loss (Keras's
        ``layer.losses``): its regularization penalty, a scalar Tensor, in a list (one
        per layer, the sum of its weights' penalties), or ``[]``."""
        penalty = self.regularization()
        return [] if penalty is None else [penalty]

    # ------------------------------------------------------------------ weights

    def add_weight(
        self,
        shape: Sequence[int] | None = None,
        initializer: Any = None,
        dtype: Any = None,
        trainable: bool = True,
        autocast: bool = True,
        regularizer: Any = None,
        constraint: Any = None,
        aggregation: str = "none",
        overwrite_with_gradient: bool = False,
        name: str | None = None,
    ) -> Variable:
        """Creates a Variable of ``shape`` (default ``()``) filled by ``initializer``
        and tracks it, as ``keras.layers.Layer.add_weight``. ``initializer`` is a
        :mod:`kandle.initializers` name or object (default ``"glorot_uniform"``);
        ``regularizer`` (a :mod:`kandle.regularizers` name or object) adds its penalty
        to the loss in ``fit``. Constraints are not supported.

        >>> import kandle as kd
        >>> layer = kd.layers.Layer()
        >>> w = layer.add_weight(shape=(2,), initializer="ones", name="w")
        >>> w.numpy(), layer.count_params()
        (array([1., 1.], dtype=float32), 2)
        """
        from kandle import regularizers

        _check_dtype(dtype)
        if constraint is not None:
            raise InvalidArgumentError(
                f"add_weight: `constraint` is not supported, got {constraint!r}"
            )
        shape = () if shape is None else tuple(shape)
        init = initializers.get("glorot_uniform" if initializer is None else initializer)
        value = init(shape)
        variable = Variable(
            np.asarray(value, dtype=np.float32),
            trainable=trainable,
            name=name or "variable",
        )
        self._weights.append(variable)
        if regularizer is not None:
            regularizer = regularizers.get(regularizer)
            if not hasattr(self, "_weight_regularizers"):
                self._weight_regularizers: list[tuple[Variable, Any]] = []
            self._weight_regularizers.append((variable, regularizer))
        return variable

    @property
    def weights(self) -> list[Variable]:
        """Own weights, then those of the layers held in attributes."""
        return [*self._weights, *(w for layer in self._sublayers() for w in layer.weights)]

    @property
    def trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return []
        own = [w for w in self._weights if w.trainable]
        return [*own, *(w for layer in self._sublayers() for w in layer.trainable_weights)]

    @property
    def non_trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return self.weights
        own = [w for w in self._weights if not w.trainable]
        return [*own, *(w for layer in self._sublayers() for w in layer.non_trainable_weights)]

    # Keras 3's names for the same lists.
    @property
    def variables(self) -> list[Variable]:
        """The same list as ``weights`` (Keras 3's name)."""
        return self.weights

    @property
    def trainable_variables(self) -> list[Variable]:
        """The same list as ``trainable_weights`` (Keras 3's name)."""
        return self.trainable_weights

    @property
    def non_trainable_variables(self) -> list[Variable]:
        """The same list as ``non_trainable_weights`` (Keras 3's name)."""
        return self.non_trainable_weights

    def count_params(self) -> int:
        return sum(int(np.prod(w.shape)) for w in self.weights)

    # Keras's layout of each weight may differ from ours (a Dense kernel is stored
    # transposed); these two hooks convert weight `index` between them.
    def _to_keras_layout(self, index: int, value: np.ndarray) -> np.ndarray:
        return value

    def _from_keras_layout(self, index: int, value: np.ndarray) -> np.ndarray:
        return value

    def get_weights(self) -> list[np.ndarray]:
        """The weights as numpy arrays, in Keras's order and shapes (own weights, then
        those of the layers held in attributes)."""
        own = [self._to_keras_layout(i, w.numpy()) for i, w in enumerate(self._weights)]
        return own + [a for layer in self._sublayers() for a in layer.get_weights()]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Sets the weights from arrays in Keras's order and shapes (as ``get_weights``
        returns them). Nothing changes unless every array fits."""
        weights = list(weights)
        expected_count = len(self.weights)
        if len(weights) != expected_count:
            raise InvalidArgumentError(
                f"You called `set_weights(weights)` on layer {self.name!r} with a weight list "
                f"of length {len(weights)}, but the layer was expecting {expected_count} "
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
            # np.array, not ascontiguousarray, which turns a 0-d weight into shape (1,).
            converted.append(np.array(self._from_keras_layout(i, array), order="C"))
        # Sublayers' parts are checked before anything is written.
        pending, at = [], len(self._weights)
        for layer in self._sublayers():
            part = weights[at : at + len(layer.weights)]
            for current, new in zip(layer.get_weights(), part):
                if np.shape(new) != current.shape:
                    raise ShapeError(
                        f"Layer {layer.name!r} (in {self.name!r}) weight shape "
                        f"{current.shape} is not compatible with provided weight shape "
                        f"{np.shape(new)}."
                    )
            pending.append((layer, part))
            at += len(part)
        for variable, array in zip(self._weights, converted):
            variable.assign(array)
        for layer, part in pending:
            if part:
                layer.set_weights(part)

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
