"""Python pieces of a model (custom layers, losses, metrics, activations, subclassed
models) as the Rust batch loop runs them.

The speed contract: a model made only of kandle's built-in pieces runs every batch in
Rust with the GIL released. Each piece written in Python is handed to the engine as an
adapter (``kandle._core.python_layer`` / ``python_metric``, or the Loss object itself)
that takes the GIL and calls back into Python once per batch, for that piece only;
its ``kandle.ops`` computations record into the engine's autograd graph, so the
optimizer trains the Python layer's weights with the rest.
"""

from __future__ import annotations

from typing import Any

from kandle import _core, activations
from kandle._core import Tensor
from kandle.errors import InvalidArgumentError


def runs_in_python(layer: Any) -> bool:
    """Whether the engine must call back into Python for ``layer``: a layer without an
    engine of its own, or a built-in one given a Python activation function."""
    activation = getattr(layer, "activation", None)
    if activation is not None and not activations.is_builtin(activation):
        return True
    return getattr(layer, "_engine", None) is None


def engine_layer(layer: Any) -> Any:
    """The ``kandle._core.Layer`` the batch loop runs for ``layer``."""
    return _core.python_layer(layer) if runs_in_python(layer) else layer._engine


def engine_loss(loss: Any) -> Any:
    """What the batch loop minimizes: a built-in loss's engine, else the Loss object,
    which the engine calls per batch."""
    if loss is None:
        return None
    engine = getattr(loss, "_engine", None)
    return engine if engine is not None else loss


def engine_metric(metric: Any) -> Any:
    """The ``kandle._core.Metric`` the batch loop updates for ``metric``."""
    engine = metric._engine
    return engine if engine is not None else _core.python_metric(metric)


def checked_output(layer: Any, output: Any) -> Tensor:
    """``output`` of ``layer.call``, which must be a kandle Tensor."""
    if not isinstance(output, Tensor):
        raise InvalidArgumentError(
            f"Layer {layer.name!r} ({type(layer).__name__}): call() must return a kandle "
            f"Tensor (computed with kandle.ops), got {type(output).__name__}: {output!r}"
        )
    return output


def output_shape_by_call(layer: Any, input_shape: tuple[Any, ...]) -> tuple[int | None, ...]:
    """The output shape of a Python layer, found by calling it on zeros of
    ``input_shape`` (an unknown size, such as the batch, taken as 1), as Keras traces
    ``call`` symbolically. Raises when ``call`` does not return a Tensor."""
    from kandle.autograd import no_grad

    probe_shape = tuple(1 if d is None else int(d) for d in input_shape)
    with no_grad():
        out = checked_output(layer, layer._call_with(_core.full(probe_shape, 0.0), False))
    shape: list[int | None] = list(out.shape)
    # A size that followed an unknown input size is unknown too.
    if shape and input_shape and input_shape[0] is None:
        shape[0] = None
    return tuple(shape)
