"""Keras 3's config of a functional model (``Functional.get_config`` /
``from_config``): its layers, each with the calls it makes (``inbound_nodes``, whose
symbolic tensors name the layer, call and output they come from), and the tensors that
are the model's inputs and outputs (``input_layers``, ``output_layers``)."""

from __future__ import annotations

from typing import Any

from kandle._config import plain
from kandle._keras_tensor import KerasTensor, inbound_nodes
from kandle.errors import InvalidArgumentError
from kandle.layers.input_layer import InputLayer
from kandle.layers.layer import Layer


def node_ids(model: Any) -> set[int]:
    """The ids of the model's nodes: its layer calls and its inputs' nodes."""
    in_model = {id(n) for n in model._nodes}
    for t in model.inputs:
        layer, index, _ = t._keras_history
        in_model.add(id(inbound_nodes(layer)[index]))
    return in_model


def _node_indices(model: Any) -> dict[int, int]:
    """Each node of the model (by id) -> its index among its layer's calls in this model
    (Keras renumbers a shared layer's calls per model)."""
    in_model = node_ids(model)
    out = {}
    for layer in model.layers:
        kept = [n for n in inbound_nodes(layer) if id(n) in in_model]
        out.update({id(n): i for i, n in enumerate(kept)})
    return out


def _history(tensor: KerasTensor, indices: dict[int, int]) -> list[Any]:
    assert tensor._keras_history is not None
    layer, node_index, tensor_index = tensor._keras_history
    node = inbound_nodes(layer)[node_index]
    return [layer.name, indices[id(node)], tensor_index]


def _tensor_config(tensor: KerasTensor, indices: dict[int, int]) -> dict[str, Any]:
    return {
        "class_name": "__keras_tensor__",
        "config": {
            "shape": list(tensor.shape),
            "dtype": tensor.dtype,
            "keras_history": _history(tensor, indices),
        },
    }


def _structure(structure: Any, indices: dict[int, int]) -> Any:
    """Keras's ``input_layers``/``output_layers``: one ``[name, node, index]`` for a
    single tensor, a list or dict of them otherwise."""
    if isinstance(structure, dict):
        return {k: _history(v, indices) for k, v in structure.items()}
    if isinstance(structure, list | tuple):
        return [_history(t, indices) for t in structure]
    return _history(structure, indices)


def layer_entry(layer: Layer) -> dict[str, Any]:
    """A layer as Keras serializes it inside a model (``module``, ``class_name``,
    ``config``, ``registered_name``, ``build_config``)."""
    from kandle import saving
    from kandle._functional import Functional
    from kandle.models import Sequential

    if isinstance(layer, Functional | Sequential):
        return saving.serialize_model(layer, nested=True)
    if isinstance(layer, InputLayer):
        return {
            "module": "keras.layers",
            "class_name": "InputLayer",
            "config": plain(layer.get_config()),
            "registered_name": None,
        }
    entry = saving._serialize_object(layer, "keras.layers")
    nodes = inbound_nodes(layer)
    if nodes:
        shapes = [list(t.shape) for t in nodes[0].input_tensors]
        arguments = nodes[0].arguments
        entry["build_config"] = {
            "input_shape": shapes if isinstance(arguments, list | tuple) else shapes[0]
        }
    return entry


def functional_config(model: Any) -> dict[str, Any]:
    """Keras 3's ``Functional.get_config()``."""
    indices = _node_indices(model)
    in_model = set(indices)
    layers = []
    for layer in model.layers:
        entry = layer_entry(layer)
        nodes = []
        for node in inbound_nodes(layer):
            if id(node) not in in_model or node.is_input:
                continue
            args = [_tensor_config(t, indices) for t in node.input_tensors]
            packed = args if isinstance(node.arguments, list | tuple) else args[0]
            nodes.append({"args": [packed], "kwargs": {}})
        entry["name"] = layer.name
        entry["inbound_nodes"] = nodes
        layers.append(entry)
    return {
        "name": model.name,
        "trainable": model.trainable,
        "layers": layers,
        "input_layers": _structure(model._inputs_struct, indices),
        "output_layers": _structure(model._outputs_struct, indices),
    }


def _arguments(value: Any, created: dict[tuple[str, int], list[KerasTensor]]) -> Any:
    """A node's arguments with each ``__keras_tensor__`` replaced by the tensor made so
    far; None when one is not made yet."""
    if isinstance(value, list | tuple):
        items = [_arguments(v, created) for v in value]
        return None if any(i is None for i in items) else items
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        history = (value.get("config") or {}).get("keras_history")
        if not isinstance(history, list) or len(history) != 3:
            raise InvalidArgumentError(f"from_config: malformed keras_history {history!r}")
        name, node, index = history
        tensors = created.get((name, int(node)))
        return None if tensors is None else tensors[int(index)]
    raise InvalidArgumentError(f"from_config: unexpected node argument {value!r}")


def _tensors_of(structure: Any, created: dict[tuple[str, int], list[KerasTensor]]) -> Any:
    def one(history: Any) -> KerasTensor:
        name, node, index = history
        tensors = created.get((name, int(node)))
        if tensors is None:
            raise InvalidArgumentError(
                f"from_config: the model's tensor {history!r} is not made by any layer"
            )
        return tensors[int(index)]

    if isinstance(structure, dict):
        return {k: one(v) for k, v in structure.items()}
    if isinstance(structure, list) and structure and isinstance(structure[0], list):
        return [one(h) for h in structure]
    return one(structure)


def functional_from_config(
    config: dict[str, Any], custom_objects: dict[str, Any] | None = None
) -> Any:
    """The functional model of Keras 3's config: each layer from kandle's registry (or
    ``custom_objects``), called on its recorded inputs as soon as they exist (a shared
    layer's later call may wait for a layer listed after it)."""
    from kandle import saving
    from kandle._functional import Functional
    from kandle._keras_tensor import input_tensor

    custom = dict(custom_objects or {})
    entries = config.get("layers")
    if not isinstance(entries, list):
        raise InvalidArgumentError("from_config: the functional config has no `layers` list")
    created: dict[tuple[str, int], list[KerasTensor]] = {}
    pending: list[tuple[Layer, str, list[Any]]] = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise InvalidArgumentError(f"from_config: malformed layer entry {entry!r}")
        class_name = entry.get("class_name")
        if class_name == "InputLayer":
            input_layer = InputLayer.from_config(dict(entry.get("config") or {}))
            created[(input_layer.name, 0)] = [input_tensor(input_layer)]
            continue
        layer: Layer
        if class_name in ("Functional", "Sequential", "Model"):
            layer = saving.model_from_config(entry, custom)
        else:
            layer = saving._layer_from_entry(entry, custom)
        name = entry.get("name", layer.name)
        pending.append((layer, name, list(entry.get("inbound_nodes") or [])))
    made = {name: 0 for _, name, _ in pending}
    while any(nodes for _, _, nodes in pending):
        progress = False
        for layer, name, nodes in pending:
            while nodes:
                node = nodes[0]
                args = node.get("args") if isinstance(node, dict) else None
                if not isinstance(args, list) or len(args) != 1:
                    raise InvalidArgumentError(
                        f"from_config: layer {name!r}: expected a node with one argument, "
                        f"got {node!r}"
                    )
                inputs = _arguments(args[0], created)
                if inputs is None:
                    break
                out: Any = layer(inputs)
                created[(name, made[name])] = out if isinstance(out, list) else [out]
                made[name] += 1
                nodes.pop(0)
                progress = True
        if not progress:
            waiting = [name for _, name, nodes in pending if nodes]
            raise InvalidArgumentError(
                f"from_config: the calls of layers {waiting} take tensors no layer makes"
            )
    inputs = _tensors_of(config.get("input_layers"), created)
    outputs = _tensors_of(config.get("output_layers"), created)
    return Functional(
        inputs, outputs, name=config.get("name"), trainable=bool(config.get("trainable", True))
    )
