"""Symbolic tensors (Keras's ``KerasTensor``) and the nodes they record: calling a layer
on symbolic tensors builds it for their shapes, computes its output shape and records
the call (a ``Node``) on the layer, which ``kd.Model(inputs, outputs)`` then walks
(see ``kandle._functional``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kandle.errors import InvalidArgumentError
from kandle.layers.input_layer import InputLayer
from kandle.layers.layer import Layer

Shape = tuple[int | None, ...]


class KerasTensor:
    """A symbolic tensor: the shape and dtype of a value in a functional model, not the
    value itself, as Keras's ``KerasTensor``. ``kd.Input`` makes one; calling a layer on
    symbolic tensors returns new ones and records the call.

    >>> import kandle as kd
    >>> x = kd.Input((3,), name="features")
    >>> x.shape, x.dtype, x.name
    ((None, 3), 'float32', 'features')
    >>> kd.layers.Dense(4)(x).shape
    (None, 4)
    """

    def __init__(self, shape: Sequence[int | None], dtype: str = "float32", name: str = "") -> None:
        self.shape: Shape = tuple(shape)
        self.dtype = dtype
        self.name = name
        self.sparse = False
        self.ragged = False
        # (layer, index of the call among the layer's nodes, index among its outputs)
        self._keras_history: tuple[Layer, int, int] | None = None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            "A symbolic tensor (KerasTensor) has no value: it stands for a model's input or "
            "a layer's output. Pass it to layers and to kd.Model(inputs, outputs), and data "
            "to the model."
        )


class Node:
    """One call of a layer in a functional graph: the tensors it took (in call order)
    and the tensors it made."""

    def __init__(
        self, layer: Layer, arguments: Any, inputs: list[KerasTensor], outputs: list[KerasTensor]
    ) -> None:
        self.layer = layer
        self.arguments = arguments  # as passed: one tensor, or a list for a merge
        self.input_tensors = inputs
        self.outputs = outputs
        nodes = inbound_nodes(layer)
        for i, t in enumerate(outputs):
            t._keras_history = (layer, len(nodes), i)
        nodes.append(self)

    @property
    def is_input(self) -> bool:
        return not self.input_tensors

    @property
    def parent_nodes(self) -> list[Node]:
        parents = []
        for t in self.input_tensors:
            assert t._keras_history is not None
            layer, index, _ = t._keras_history
            parents.append(inbound_nodes(layer)[index])
        return parents


def inbound_nodes(layer: Layer) -> list[Node]:
    nodes = layer.__dict__.get("inbound_nodes")
    if nodes is None:
        nodes = layer.__dict__["inbound_nodes"] = []
    return nodes  # type: ignore[no-any-return]


def input_tensor(layer: InputLayer) -> KerasTensor:
    """The symbolic tensor an InputLayer stands for (made once)."""
    nodes = inbound_nodes(layer)
    if not nodes:
        tensor = KerasTensor(layer.batch_shape, layer.dtype, layer.name)
        Node(layer, None, [], [tensor])
    return nodes[0].outputs[0]


def flatten_structure(structure: Any) -> list[Any]:
    """A tensor, list/tuple or dict of them, flattened (dicts by sorted key, as Keras's
    ``tree.flatten``)."""
    if isinstance(structure, dict):
        return [structure[k] for k in sorted(structure)]
    if isinstance(structure, list | tuple):
        return list(structure)
    return [structure]


def is_symbolic(inputs: Any) -> bool:
    """Whether a layer's inputs are symbolic tensors (the layer is being called to build
    a functional model)."""
    if isinstance(inputs, KerasTensor):
        return True
    return isinstance(inputs, list | tuple) and any(isinstance(t, KerasTensor) for t in inputs)


def call_symbolic(layer: Layer, inputs: Any, training: Any = None) -> Any:
    """``layer(inputs)`` on symbolic tensors: builds the layer for their shapes, records
    the call and returns the symbolic outputs."""
    flat = flatten_structure(inputs)
    if isinstance(inputs, dict) or not all(isinstance(t, KerasTensor) for t in flat):
        raise InvalidArgumentError(
            f"Layer {layer.name!r}: expected a symbolic tensor or a list of them, got "
            f"{inputs!r}; mix neither data nor dicts with symbolic tensors"
        )
    if isinstance(layer, InputLayer):
        raise InvalidArgumentError(
            f"An InputLayer ({layer.name!r}) cannot be called on a tensor; use kd.Input"
        )
    shape: Any = [t.shape for t in flat] if isinstance(inputs, list | tuple) else flat[0].shape
    if not layer.built:
        layer.build(shape)
        layer.built = True
    out_shape: Any = layer.compute_output_shape(shape)
    # A model of several outputs (used as a layer) makes one tensor per output.
    several = len(getattr(layer, "outputs", None) or ()) > 1
    if several:
        outputs = [KerasTensor(s, name=f"{layer.name}_{i}") for i, s in enumerate(out_shape)]
    else:
        outputs = [KerasTensor(out_shape, name=layer.name)]
    Node(layer, inputs, flat, outputs)
    return outputs if several else outputs[0]
