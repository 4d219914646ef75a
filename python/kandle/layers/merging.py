"""Merge layers: ``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum``,
``Minimum``, ``Concatenate`` and ``Dot``, and their function forms (``add``, ...), as
``keras.layers``. They take a list of inputs; the numbers are computed in the Rust
engine. Shapes are checked when the layer is built (on its first call, symbolic or
not), so an incompatible merge in a functional model fails where the model is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kandle.errors import InvalidArgumentError, ShapeError
from kandle.layers.layer import Layer

Shape = tuple[int | None, ...]


def _shape_list(layer: Layer, input_shape: Any, exactly: int | None = None) -> list[Shape]:
    """The input shapes of a merge, which must be a list of at least 2 (or ``exactly``)."""
    if not isinstance(input_shape, list | tuple) or not all(
        isinstance(s, list | tuple) for s in input_shape
    ):
        raise InvalidArgumentError(
            f"A `{type(layer).__name__}` layer should be called on a list of inputs. "
            f"Received: input_shape={input_shape}"
        )
    count = len(input_shape)
    if (exactly is not None and count != exactly) or count < 2:
        expected = f"exactly {exactly}" if exactly is not None else "at least 2"
        raise InvalidArgumentError(
            f"A `{type(layer).__name__}` layer should be called on a list of {expected} "
            f"inputs. Received {count} inputs (input_shape={list(input_shape)})"
        )
    return [tuple(s) for s in input_shape]


def _broadcast(shape1: Shape, shape2: Shape) -> Shape:
    """Keras's ``_compute_elemwise_op_output_shape`` of two per-sample shapes."""
    if len(shape1) < len(shape2):
        return _broadcast(shape2, shape1)
    if not shape2:
        return shape1
    out = list(shape1[: len(shape1) - len(shape2)])
    for i, j in zip(shape1[len(shape1) - len(shape2) :], shape2):
        if i is None or j is None:
            out.append(None)
        elif i == 1:
            out.append(j)
        elif j == 1 or i == j:
            out.append(i)
        else:
            raise ShapeError(
                f"Inputs have incompatible shapes. Received shapes {shape1} and {shape2}"
            )
    return tuple(out)


class Merge(Layer):
    """The base of the merge layers: a layer called on a list of tensors."""

    _exactly: int | None = None

    def __call__(self, inputs: Any, training: bool | None = None) -> Any:
        from kandle._keras_tensor import is_symbolic
        from kandle.ops import convert_to_tensor

        if is_symbolic(inputs):
            return super().__call__(inputs, training=training)
        if not isinstance(inputs, list | tuple):
            raise InvalidArgumentError(
                f"A `{type(self).__name__}` layer should be called on a list of inputs. "
                f"Received: inputs={inputs!r} (not a list)"
            )
        tensors = [convert_to_tensor(x) for x in inputs]
        if not self.built:
            self.build([tuple(t.shape) for t in tensors])
        return self._engine.forward_many(tensors, bool(training))

    def build(self, input_shape: Any) -> None:
        # Only checks the shapes (Keras's Merge.build): a merge has no weights.
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        shapes = _shape_list(self, input_shape, self._exactly)
        try:
            out = shapes[0][1:]
            for shape in shapes[1:]:
                out = _broadcast(out, shape[1:])
        except ShapeError as err:
            raise ShapeError(
                f"{type(self).__name__} {self.name!r}: {err} (all input shapes: "
                f"{[tuple(s) for s in shapes]})"
            ) from None
        batch = {s[0] for s in shapes if s and s[0] is not None}
        return (batch.pop() if len(batch) == 1 else None, *out)


class Add(Merge):
    """Adds a list of inputs elementwise (their shapes broadcast), as
    ``keras.layers.Add``.

    >>> import numpy as np, kandle as kd
    >>> kd.layers.Add()([np.ones((2, 3)), np.full((2, 3), 2.0)]).numpy()[0]
    array([3., 3., 3.], dtype=float32)
    """

    _engine_class = "Add"


class Subtract(Merge):
    """Subtracts the second input from the first, as ``keras.layers.Subtract``.

    >>> import numpy as np, kandle as kd
    >>> kd.layers.Subtract()([np.ones((1, 2)), np.full((1, 2), 3.0)]).numpy()
    array([[-2., -2.]], dtype=float32)
    """

    _engine_class = "Subtract"
    _exactly = 2


class Multiply(Merge):
    """Multiplies a list of inputs elementwise, as ``keras.layers.Multiply``.

    >>> import numpy as np, kandle as kd
    >>> kd.layers.Multiply()([np.full((1, 2), 2.0), np.full((1, 2), 3.0)]).numpy()
    array([[6., 6.]], dtype=float32)
    """

    _engine_class = "Multiply"


class Average(Merge):
    """The elementwise mean of a list of inputs, as ``keras.layers.Average``.

    >>> import numpy as np, kandle as kd
    >>> kd.layers.Average()([np.zeros((1, 2)), np.full((1, 2), 4.0)]).numpy()
    array([[2., 2.]], dtype=float32)
    """

    _engine_class = "Average"


class Maximum(Merge):
    """The elementwise maximum of a list of inputs, as ``keras.layers.Maximum``.

    >>> import numpy as np, kandle as kd
    >>> kd.layers.Maximum()([np.array([[1.0, 5.0]]), np.array([[3.0, 2.0]])]).numpy()
    array([[3., 5.]], dtype=float32)
    """

    _engine_class = "Maximum"


class Minimum(Merge):
    """The elementwise minimum of a list of inputs, as ``keras.layers.Minimum``.

    >>> import numpy as np, kandle as kd
    >>> kd.layers.Minimum()([np.array([[1.0, 5.0]]), np.array([[3.0, 2.0]])]).numpy()
    array([[1., 2.]], dtype=float32)
    """

    _engine_class = "Minimum"


class Concatenate(Merge):
    """Joins a list of inputs along ``axis`` (default the last), as
    ``keras.layers.Concatenate``; the other axes must match.

    >>> import numpy as np, kandle as kd
    >>> kd.layers.Concatenate()([np.ones((2, 3)), np.zeros((2, 1))]).shape
    (2, 4)
    """

    _engine_class = "Concatenate"

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise InvalidArgumentError(f"Concatenate: axis must be an integer, got axis={axis!r}")
        super().__init__(**kwargs)
        self.axis = axis

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        shapes = _shape_list(self, input_shape)
        rank = len(shapes[0])
        if not -rank <= self.axis < rank:
            raise InvalidArgumentError(
                f"Concatenate {self.name!r}: axis {self.axis} is out of bounds for inputs of "
                f"rank {rank}"
            )
        axis = self.axis % rank
        matching = all(len(s) == rank for s in shapes) and all(
            len({s[d] for s in shapes} - {None}) <= 1 for d in range(rank) if d != axis
        )
        if not matching:
            raise ShapeError(
                f"A `Concatenate` layer ({self.name!r}) requires inputs with matching shapes "
                f"except for the concatenation axis. Received: input_shape={shapes}"
            )
        out: list[int | None] = []
        for d in range(rank):
            sizes = [s[d] for s in shapes]
            if d == axis:
                out.append(None if None in sizes else sum(sizes))  # type: ignore[arg-type]
            else:
                known = [v for v in sizes if v is not None]
                out.append(known[0] if known else None)
        return tuple(out)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


class Dot(Merge):
    """The dot product of the samples of two inputs along ``axes`` (one int for both,
    or one per input; never the batch axis), as ``keras.layers.Dot``. With
    ``normalize=True`` the inputs are first L2-normalized along those axes, giving the
    cosine similarity.

    >>> import numpy as np, kandle as kd
    >>> kd.layers.Dot(axes=1)([np.ones((2, 3)), np.full((2, 3), 2.0)]).numpy()
    array([[6.],
           [6.]], dtype=float32)
    """

    _engine_class = "Dot"
    _exactly = 2

    def __init__(self, axes: int | Sequence[int], normalize: bool = False, **kwargs: Any) -> None:
        if isinstance(axes, int) and not isinstance(axes, bool):
            self.axes: int | tuple[int, int] = axes
        elif (
            isinstance(axes, list | tuple)
            and len(axes) == 2
            and all(isinstance(a, int) and not isinstance(a, bool) for a in axes)
        ):
            self.axes = (int(axes[0]), int(axes[1]))
        else:
            raise InvalidArgumentError(
                f"Dot: invalid format for argument `axes`: expected an integer or a list of 2 "
                f"integers, got axes={axes!r}"
            )
        super().__init__(**kwargs)
        self.normalize = bool(normalize)

    def _axes_for(self, shapes: list[Shape]) -> list[int]:
        if isinstance(self.axes, int):
            return [self.axes % len(s) if self.axes < 0 else self.axes for s in shapes]
        return [a % len(s) if a < 0 else a for a, s in zip(self.axes, shapes)]

    def compute_output_shape(self, input_shape: Any) -> tuple[int | None, ...]:
        shapes = _shape_list(self, input_shape, exactly=2)
        if any(len(s) < 2 for s in shapes):
            raise ShapeError(
                f"Dot {self.name!r}: expected inputs of rank 2 or more, got shapes {shapes}"
            )
        axes = self._axes_for(shapes)
        if any(a == 0 or a >= len(s) for a, s in zip(axes, shapes)):
            raise InvalidArgumentError(
                f"Dot {self.name!r}: axes {self.axes} must name a non-batch axis of each "
                f"input, got input shapes {shapes}"
            )
        size1, size2 = shapes[0][axes[0]], shapes[1][axes[1]]
        if size1 is not None and size2 is not None and size1 != size2:
            raise ShapeError(
                f"Incompatible input shapes: axis values {size1} (at axis {axes[0]}) != "
                f"{size2} (at axis {axes[1]}). Full input shapes: {shapes[0]}, {shapes[1]}"
            )
        first = [d for i, d in enumerate(shapes[0]) if i != axes[0]]
        second = [d for i, d in enumerate(shapes[1]) if i not in (0, axes[1])]
        out = first + second
        return tuple(out + [1] if len(out) == 1 else out)

    def get_config(self) -> dict[str, Any]:
        axes = self.axes if isinstance(self.axes, int) else list(self.axes)
        return {**super().get_config(), "axes": axes, "normalize": self.normalize}


def add(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """``Add(**kwargs)(inputs)``, as ``keras.layers.add``.

    >>> import numpy as np, kandle as kd
    >>> kd.layers.add([np.ones((1, 2)), np.ones((1, 2))]).numpy()
    array([[2., 2.]], dtype=float32)
    """
    return Add(**kwargs)(inputs)


def subtract(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """``Subtract(**kwargs)(inputs)``, as ``keras.layers.subtract``."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """``Multiply(**kwargs)(inputs)``, as ``keras.layers.multiply``."""
    return Multiply(**kwargs)(inputs)


def average(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """``Average(**kwargs)(inputs)``, as ``keras.layers.average``."""
    return Average(**kwargs)(inputs)


def maximum(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """``Maximum(**kwargs)(inputs)``, as ``keras.layers.maximum``."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs: Sequence[Any], **kwargs: Any) -> Any:
    """``Minimum(**kwargs)(inputs)``, as ``keras.layers.minimum``."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs: Sequence[Any], axis: int = -1, **kwargs: Any) -> Any:
    """``Concatenate(axis, **kwargs)(inputs)``, as ``keras.layers.concatenate``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs: Sequence[Any], axes: int | Sequence[int] = -1, **kwargs: Any) -> Any:
    """``Dot(axes, **kwargs)(inputs)``, as ``keras.layers.dot``."""
    return Dot(axes=axes, **kwargs)(inputs)


__all__ = [
    "Add",
    "Average",
    "Concatenate",
    "Dot",
    "Maximum",
    "Merge",
    "Minimum",
    "Multiply",
    "Subtract",
    "add",
    "average",
    "concatenate",
    "dot",
    "maximum",
    "minimum",
    "multiply",
    "subtract",
]
