"""The functional API: symbolic tensors (``kd.Input``), the graph of layer calls they
record, and ``Functional``, the model that ``kd.Model(inputs, outputs)`` builds.

Calling a layer on symbolic tensors builds the layer, computes its output shape and
records a ``Node`` (the call) on the layer; the model walks these nodes back from its
outputs to its inputs, in Keras's order. The whole graph runs in the Rust engine as one
layer (``kandle._core.graph_layer``): several inputs (and targets of several outputs)
reach it packed side by side in one array, which the engine cuts apart again, so the
batch loop stays in Rust with the GIL released.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from kandle import _core
from kandle import losses as losses_module
from kandle import metrics as metrics_module
from kandle._batches import as_batch_array, is_stream
from kandle._keras_tensor import (
    KerasTensor,
    Node,
    call_symbolic,
    flatten_structure,
    inbound_nodes,
    is_symbolic,
)
from kandle._python_pieces import engine_layer, engine_loss, engine_metric
from kandle.errors import InvalidArgumentError, ShapeError
from kandle.layers.input_layer import InputLayer
from kandle.layers.layer import Layer
from kandle.models import (
    Model,
    Sequential,
    _CompileMetrics,
    _log_name,
    loss_weight_value,
)

Shape = tuple[int | None, ...]


def _map_graph(
    inputs: list[KerasTensor], outputs: list[KerasTensor]
) -> tuple[list[Node], list[Layer]]:
    """Keras's ``map_graph``: the nodes from the inputs to the outputs (each after the
    nodes it takes tensors from) and the layers in Keras's order (by decreasing depth,
    then by first visit). Raises on a disconnected graph, a cycle or a duplicate name."""
    finished: set[int] = set()
    in_progress: set[int] = set()
    ordered: list[Node] = []
    layer_indices: dict[int, int] = {}
    layers_by_id: dict[int, Layer] = {}
    input_ids = {id(t) for t in inputs}

    def visit(tensor: KerasTensor) -> None:
        if tensor._keras_history is None:
            raise InvalidArgumentError(
                f"{tensor!r} was not made by a layer: a model's tensors come from kd.Input "
                "and layer calls"
            )
        layer, node_index, _ = tensor._keras_history
        node = inbound_nodes(layer)[node_index]
        if id(node) in finished:
            return
        if not node.is_input and id(tensor) in input_ids:
            finished.add(id(node))
            return
        if id(node) in in_progress:
            raise InvalidArgumentError(
                f"Tensor {tensor!r} from layer {layer.name!r} is part of a cycle."
            )
        layer_indices.setdefault(id(layer), len(layer_indices))
        layers_by_id[id(layer)] = layer
        in_progress.add(id(node))
        for t in node.input_tensors:
            visit(t)
        finished.add(id(node))
        in_progress.discard(id(node))
        ordered.append(node)

    for output in outputs:
        visit(output)

    in_graph = {id(n) for n in ordered}
    node_depth: dict[int, int] = {}
    layer_depth: dict[int, int] = {}
    for node in reversed(ordered):
        depth = node_depth.setdefault(id(node), 0)
        depth = max(depth, layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = depth
        node_depth[id(node)] = depth
        for parent in node.parent_nodes:
            if id(parent) in in_graph:
                node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    for t in inputs:
        assert t._keras_history is not None
        layer = t._keras_history[0]
        if id(layer) not in layer_depth:
            layer_depth[id(layer)] = 0
            layer_indices[id(layer)] = -1
            layers_by_id[id(layer)] = layer
    by_depth: dict[int, list[Layer]] = collections.defaultdict(list)
    for layer_id, depth in layer_depth.items():
        by_depth[depth].append(layers_by_id[layer_id])
    layers: list[Layer] = []
    for depth in sorted(by_depth, reverse=True):
        layers.extend(sorted(by_depth[depth], key=lambda lay: layer_indices[id(lay)]))

    # Every tensor a node takes must be computable from the inputs.
    computable = set(input_ids)
    done: list[str] = []
    for node in sorted(ordered, key=lambda n: -node_depth[id(n)]):
        for t in node.input_tensors:
            if id(t) not in computable:
                raise InvalidArgumentError(
                    f"Graph disconnected: cannot find parent for tensor {t!r} at layer "
                    f"{node.layer.name!r}: it does not come from the model's inputs. The "
                    f"following previous layers were accessed without issue: {done}"
                )
        if node.is_input and not any(id(o) in input_ids for o in node.outputs):
            raise InvalidArgumentError(
                f"Graph disconnected: the model's outputs depend on the input "
                f"{node.layer.name!r}, which is not among the model's inputs "
                f"{[t.name for t in inputs]}"
            )
        done.append(node.layer.name)
        computable.update(id(o) for o in node.outputs)
    names = [layer.name for layer in layers]
    for name in names:
        if names.count(name) != 1:
            raise InvalidArgumentError(
                f'The name "{name}" is used {names.count(name)} times in the model. All '
                "layer names should be unique."
            )
    return [n for n in ordered if not n.is_input], layers


def _per_name(value: Any, names: list[str], kind: str, model: str, argument: str) -> list[Any]:
    """One entry of ``value`` per name, in order: ``value`` is a dict by ``kind``
    ("input", "output") name, or a list of as many."""
    n = len(names)
    if isinstance(value, dict):
        missing = [k for k in names if k not in value]
        unknown = sorted(set(value) - set(names))
        if missing or unknown:
            raise InvalidArgumentError(
                f"{argument}: the dict's keys must be the model's {kind} names "
                f"{names}; missing {missing}, unknown {unknown}"
            )
        return [value[k] for k in names]
    if not isinstance(value, list | tuple) or len(value) != n:
        got = f"a list of {len(value)}" if isinstance(value, list | tuple) else type(value).__name__
        raise InvalidArgumentError(
            f"{argument}: model {model!r} has {n} {kind}s {names}: pass a list of {n} "
            f"arrays or a dict by {kind} name, got {got}"
        )
    return list(value)


def engine_of(layer: Layer) -> Any:
    """The engine layer (``kandle._core.Layer``) that runs ``layer`` in a graph."""
    if isinstance(layer, Functional):
        return layer._graph_engine([])
    if isinstance(layer, Sequential):
        engines = layer._engine_layers()
        nodes = [(i, [i]) for i in range(len(engines))]
        return _core.graph_layer(engines, nodes, 1, [len(engines)], [])
    # A Python piece (a custom layer, a Python activation) is called back per batch.
    return engine_layer(layer)


def _matches(expected: Shape, actual: Sequence[int]) -> bool:
    return len(expected) == len(actual) and all(
        e is None or e == a for e, a in zip(expected, actual)
    )


class Functional(Model):
    """A model defined by a graph of layer calls, made by ``kd.Model(inputs, outputs)``
    (Keras's functional API). Inputs and outputs are one symbolic tensor, a list or a
    dict of them; a layer called several times shares its weights; a model may be
    called as a layer in another.

    >>> import numpy as np, kandle as kd
    >>> a, b = kd.Input((3,), name="a"), kd.Input((2,), name="b")
    >>> h = kd.layers.Dense(4, activation="relu")(kd.layers.concatenate([a, b]))
    >>> model = kd.Model([a, b], kd.layers.Dense(1, name="out")(h))
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> history = model.fit([np.ones((8, 3)), np.ones((8, 2))], np.ones((8, 1)), verbose=0)
    >>> model.predict({"a": np.ones((2, 3)), "b": np.ones((2, 2))}, verbose=0).shape
    (2, 1)
    """

    def __init__(
        self, inputs: Any, outputs: Any, name: str | None = None, trainable: bool = True
    ) -> None:
        super().__init__(name=name)
        self.trainable = trainable
        for argument, structure in (("inputs", inputs), ("outputs", outputs)):
            flat = flatten_structure(structure)
            if not flat or not all(isinstance(t, KerasTensor) for t in flat):
                raise InvalidArgumentError(
                    f"Model: `{argument}` must be a symbolic tensor (from kd.Input or a layer "
                    f"call), or a list or dict of them, got {argument}={structure!r}"
                )
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self.inputs: list[KerasTensor] = flatten_structure(inputs)
        self.outputs: list[KerasTensor] = flatten_structure(outputs)
        for t in self.inputs:
            layer = t._keras_history[0] if t._keras_history else None
            if not isinstance(layer, InputLayer):
                raise InvalidArgumentError(
                    f"Model: every input must come from kd.Input, got {t!r} (made by layer "
                    f"{getattr(layer, 'name', None)!r})"
                )
        self._nodes, self._layers = _map_graph(self.inputs, self.outputs)
        for node in self._nodes:
            if isinstance(node.layer, Functional) and len(node.layer.outputs) > 1:
                raise NotImplementedError(
                    f"model {node.layer.name!r} has {len(node.layer.outputs)} outputs; kandle "
                    "runs nested models of one output"
                )
        self.input_names = (
            sorted(inputs)
            if isinstance(inputs, dict)
            else [t._keras_history[0].name for t in self.inputs]  # type: ignore[index]
        )
        self.output_names = (
            sorted(outputs)
            if isinstance(outputs, dict)
            else [t._keras_history[0].name for t in self.outputs]  # type: ignore[index]
        )
        self._packed_input_shapes: list[tuple[int, ...]] = []
        self._target_shapes: list[tuple[int, ...]] = []
        self._output_losses: list[Any] = []
        self._loss_trackers: list[Any] = []
        self._metric_outputs: list[int] = []
        self.built = True

    # -- structure ---------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    @property
    def input_shape(self) -> Any:
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self) -> Any:
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def input(self) -> Any:
        return self._inputs_struct

    @property
    def output(self) -> Any:
        return self._outputs_struct

    def build(self, input_shape: Any = None) -> None:
        """A functional model is built when it is made."""

    def _ensure_built(self, sample_shape: tuple[int, ...]) -> None:
        pass

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The output shape(s) for inputs of ``input_shape`` (one shape, or a list)."""
        shapes: list[Any] = [tuple(input_shape)] if len(self.inputs) == 1 else list(input_shape)
        if len(shapes) != len(self.inputs):
            raise InvalidArgumentError(
                f"model {self.name!r} expects {len(self.inputs)} input shapes, got {input_shape}"
            )
        known: dict[int, Any] = {id(t): tuple(s) for t, s in zip(self.inputs, shapes)}
        for node in self._nodes:
            args = [known[id(t)] for t in node.input_tensors]
            arg = args if isinstance(node.arguments, list | tuple) else args[0]
            out: Any = node.layer.compute_output_shape(arg)
            outs = out if len(node.outputs) > 1 else [out]
            for t, s in zip(node.outputs, outs):
                known[id(t)] = tuple(s)
        result = [known[id(t)] for t in self.outputs]
        return result[0] if len(result) == 1 else result

    def call(self, inputs: Any, training: bool = False) -> Any:
        """Runs the graph on concrete inputs (one per model input) in the engine."""
        from kandle.ops import convert_to_tensor

        arrays = self._flat_inputs(inputs, "inputs")
        tensors = [convert_to_tensor(a) for a in arrays]
        engine = self._graph_engine([])
        if len(self.outputs) == 1:
            return engine.forward_many(tensors, bool(training))
        raise NotImplementedError(
            f"calling model {self.name!r} of {len(self.outputs)} outputs eagerly: use predict()"
        )

    def __call__(self, inputs: Any, training: Any = None) -> Any:
        if is_symbolic(inputs):
            return call_symbolic(self, inputs, training)
        return self.call(inputs, training=bool(training))

    # -- the engine ----------------------------------------------------------------
    def _graph_engine(self, packed_input_shapes: list[tuple[int, ...]]) -> Any:
        tensor_ids = {id(t): i for i, t in enumerate(self.inputs)}
        engines: list[Any] = []
        layer_index: dict[int, int] = {}
        nodes = []
        for node in self._nodes:
            if id(node.layer) not in layer_index:
                layer_index[id(node.layer)] = len(engines)
                engines.append(engine_of(node.layer))
            nodes.append(
                (layer_index[id(node.layer)], [tensor_ids[id(t)] for t in node.input_tensors])
            )
            for t in node.outputs:
                tensor_ids[id(t)] = len(self.inputs) + len(nodes) - 1
        outputs = [tensor_ids[id(t)] for t in self.outputs]
        shapes = [list(s) for s in packed_input_shapes] if len(self.inputs) > 1 else []
        return _core.graph_layer(engines, nodes, len(self.inputs), outputs, shapes)

    def _engine_layers(self) -> list[Any]:
        return [self._graph_engine(self._packed_input_shapes)]

    # -- data ------------------------------------------------------------------------
    def _flat_inputs(self, x: Any, argument: str) -> list[Any]:
        """The model's inputs of ``x`` (one array, a list, or a dict by input name), in
        the order of ``self.inputs``."""
        if isinstance(x, dict) or len(self.inputs) > 1:
            return _per_name(x, self.input_names, "input", self.name, argument)
        if isinstance(x, list | tuple) and len(x) == 1 and not np.isscalar(x[0]):
            return [x[0]] if np.ndim(x[0]) >= 1 else [x]
        return [x]

    def _flat_targets(self, y: Any, argument: str) -> list[Any]:
        """The targets of ``y`` for each output (a list, or a dict by output name)."""
        if len(self.outputs) == 1:
            return self._flat_single(y, self.output_names, argument)
        return _per_name(y, self.output_names, "output", self.name, argument)

    @staticmethod
    def _flat_single(y: Any, names: list[str], argument: str) -> list[Any]:
        if isinstance(y, dict):
            if list(y) != names:
                raise InvalidArgumentError(
                    f"{argument}: the dict's keys must be the model's output names {names}, got "
                    f"{sorted(y)}"
                )
            return [y[names[0]]]
        return [y]

    def _pack_inputs(self, x: Any, argument: str) -> np.ndarray:
        """The inputs as one array: several are packed side by side, flattened per row
        (the engine cuts them apart again); records their per-sample shapes."""
        arrays = [
            as_batch_array(f"{argument}[{name!r}]", a)
            for name, a in zip(self.input_names, self._flat_inputs(x, argument))
        ]
        for name, tensor, arr in zip(self.input_names, self.inputs, arrays):
            if arr is None:
                raise InvalidArgumentError(f"{argument}: input {name!r} is None")
            if not _matches(tensor.shape[1:], arr.shape[1:]):
                raise ShapeError(
                    f"{argument}: input {name!r} of model {self.name!r} is incompatible: "
                    f"expected shape {(None, *tensor.shape[1:])}, got {(None, *arr.shape[1:])}"
                )
        self._packed_input_shapes = [tuple(a.shape[1:]) for a in arrays]  # type: ignore[union-attr]
        return _pack(arrays, argument, self.input_names)  # type: ignore[arg-type]

    def _pack_targets(self, y: Any, argument: str) -> np.ndarray | None:
        if y is None:
            return None
        arrays = [
            as_batch_array(f"{argument}[{name!r}]", a)
            for name, a in zip(self.output_names, self._flat_targets(y, argument))
        ]
        if len(arrays) == 1:
            return arrays[0]
        for name, arr in zip(self.output_names, arrays):
            if arr is None:
                raise InvalidArgumentError(f"{argument}: the targets of output {name!r} are None")
        self._target_shapes = [tuple(a.shape[1:]) for a in arrays]  # type: ignore[union-attr]
        return _pack(arrays, argument, self.output_names)  # type: ignore[arg-type]

    def _split_outputs(self, packed: np.ndarray, input_rows: int) -> Any:
        """The predictions of each output, from the engine's packed array."""
        if len(self.outputs) == 1:
            return packed
        parts, start = [], 0
        for shape in self._data_output_shapes():
            width = math.prod(int(d or 0) for d in shape[1:])
            parts.append(packed[:, start : start + width].reshape((input_rows, *shape[1:])))
            start += width
        if isinstance(self._outputs_struct, dict):
            return dict(zip(self.output_names, parts))
        return parts

    # -- compile -----------------------------------------------------------------------
    def compile(
        self,
        optimizer: Any = "rmsprop",
        loss: Any = None,
        loss_weights: Any = None,
        metrics: Any = None,
        weighted_metrics: Any = None,
        run_eagerly: bool = False,
        steps_per_execution: int = 1,
        jit_compile: Any = "auto",
        auto_scale_loss: bool = True,
    ) -> None:
        """Configures the model for training, as ``keras.Model.compile``; see
        :meth:`kandle.Model.compile` (the other arguments). For a model of several
        outputs, ``loss``, ``loss_weights``, ``metrics`` and ``weighted_metrics`` may be
        lists (one entry per output) or dicts by output name; one loss applies to every
        output. The total loss is the sum of each output's loss times its weight."""
        n = len(self.outputs)
        kwargs: dict[str, Any] = {
            "run_eagerly": run_eagerly,
            "steps_per_execution": steps_per_execution,
            "jit_compile": jit_compile,
            "auto_scale_loss": auto_scale_loss,
        }
        if n == 1 and not isinstance(loss, list | dict):
            single_metrics = self._single_output_metrics(metrics, "metrics")
            single_weighted = self._single_output_metrics(weighted_metrics, "weighted_metrics")
            super().compile(
                optimizer, loss, loss_weights, single_metrics, single_weighted, **kwargs
            )
            self._output_losses = []
            return
        super().compile(optimizer, None, None, None, None, **kwargs)
        if metrics is not None or weighted_metrics is not None:
            self._compile_metrics = _CompileMetrics(self)
        losses = self._per_output("loss", loss, single_ok=True)
        self._output_losses = [losses_module.get(v) if v is not None else None for v in losses]
        weights = self._per_output("loss_weights", loss_weights, single_ok=False)
        self._loss_weights = [loss_weight_value(w) for w in weights]
        self._user_loss_weights = loss_weights
        self.loss = loss
        self._metric_specs, self._weighted_metric_specs = [], []
        self._metric_outputs = []
        for argument, specs, target in (
            ("metrics", metrics, self._metric_specs),
            ("weighted_metrics", weighted_metrics, self._weighted_metric_specs),
        ):
            for i, entry in enumerate(self._per_output(argument, specs, single_ok=False)):
                for spec in self._metric_list(argument, entry):
                    target.append((i, spec))
        if n == 1:
            self.loss = self._output_losses[0]
            self._output_losses = []
            self._metric_specs = [s for _, s in self._metric_specs]
            self._weighted_metric_specs = [s for _, s in self._weighted_metric_specs]
        else:
            # Keras's trackers of each output's loss, when there are several.
            names = [f"{o}_loss" for o, v in zip(self.output_names, losses) if v is not None]
            self._loss_trackers = (
                [metrics_module.Mean(name=name) for name in names] if len(names) > 1 else []
            )

    def _output_names(self) -> list[str]:
        return list(self.output_names)

    def _single_output_metrics(self, metrics: Any, argument: str) -> Any:
        if isinstance(metrics, dict):
            return self._per_output(argument, metrics, single_ok=False)[0]
        return metrics

    def _per_output(self, argument: str, value: Any, single_ok: bool) -> list[Any]:
        """One entry of ``value`` per output: from a list in output order, a dict by
        output name (missing names get None), or (``single_ok``) one value for all."""
        n = len(self.outputs)
        if value is None:
            return [None] * n
        if isinstance(value, dict):
            unknown = sorted(set(value) - set(self.output_names))
            if unknown:
                raise InvalidArgumentError(
                    f"compile: `{argument}` names unknown outputs {unknown}; the model's "
                    f"outputs are {self.output_names}"
                )
            return [value.get(name) for name in self.output_names]
        if isinstance(value, list | tuple) and (not single_ok or len(value) == n or n > 1):
            if n == 1 and argument in ("metrics", "weighted_metrics"):
                return [list(value)]
            if len(value) != n:
                raise InvalidArgumentError(
                    f"compile: `{argument}` as a list must have one entry per output ({n}: "
                    f"{self.output_names}), got {len(value)} entries"
                )
            return list(value)
        if single_ok:
            return [value] * n
        if n == 1:
            return [value]
        raise InvalidArgumentError(
            f"compile: for a model of {n} outputs, `{argument}` must be a list with one entry "
            f"per output or a dict by output name {self.output_names}, got {value!r}"
        )

    def _resolve_metrics(
        self, y: np.ndarray | None, y_pred_shape: Any
    ) -> list[tuple[str, Any, bool]]:
        if not self._output_losses:
            return super()._resolve_metrics(y, y_pred_shape)
        if self._metrics is None:
            out_shapes = self._data_output_shapes()
            resolved: list[tuple[str, Any, bool]] = []
            outputs: list[int] = []
            taken: dict[str, int] = {}
            for specs, weighted in (
                (self._metric_specs, False),
                (self._weighted_metric_specs, True),
            ):
                for output, spec in specs:
                    y_true = np.zeros((1, *self._target_shapes[output]))
                    y_pred = np.zeros((1, *out_shapes[output][1:]))
                    metric = metrics_module.get(
                        spec, y_true=y_true, y_pred=y_pred, loss=self._output_losses[output]
                    )
                    if isinstance(spec, str):
                        metric.name = spec
                    prefix = f"{self.output_names[output]}_"
                    name = _log_name(taken, metric.name, weighted, prefix)
                    resolved.append((name, metric, weighted))
                    outputs.append(output)
            self._metrics = resolved
            self._metric_outputs = outputs
        return self._metrics

    def _data_output_shapes(self) -> list[Shape]:
        """The output shapes for the inputs of the data last packed (the declared ones
        before any)."""
        if not self._packed_input_shapes:
            return [t.shape for t in self.outputs]
        shapes = [(None, *s) for s in self._packed_input_shapes]
        out = self.compute_output_shape(shapes[0] if len(shapes) == 1 else shapes)
        return list(out) if len(self.outputs) > 1 else [out]

    def _trainer(self, x: np.ndarray, y: np.ndarray | None) -> Any:
        metrics = self._resolve_metrics(y, lambda: self._data_output_shapes()[0])
        trainer = _core.Trainer(
            self._engine_layers(),
            self.trainable_weights,
            None if self._output_losses else engine_loss(self.loss),
            self.optimizer._engine if self.optimizer is not None else None,
            [(name, engine_metric(m), weighted) for name, m, weighted in metrics],
        )
        if not self._output_losses:
            return self._weigh_loss(trainer, y)
        heads = [
            (name, engine_loss(loss), weight, list(shape))
            for name, loss, weight, shape in zip(
                self.output_names, self._output_losses, self._loss_weights, self._target_shapes
            )
        ]
        trainer.set_outputs(heads, self._metric_outputs)
        return trainer

    def _output_loss_trackers(self) -> list[Any]:
        return list(self._loss_trackers) if self._output_losses else []

    def _flatten_logs(self, logs: dict[str, float], return_dict: bool) -> Any:
        if not self._output_losses:
            return super()._flatten_logs(logs, return_dict)
        if return_dict:
            return logs
        # Keras: the loss and each output's loss first, then the rest by name.
        first = ["loss", *(t.name for t in self._loss_trackers)]
        values = [logs[n] for n in first if n in logs]
        values += [logs[k] for k in sorted(logs) if k not in first]
        return values[0] if len(values) == 1 else values

    # -- fit / evaluate / predict --------------------------------------------------------
    def _check_streams(self, method: str, x: Any) -> None:
        if is_stream(x) and (len(self.inputs) > 1 or len(self.outputs) > 1):
            raise NotImplementedError(
                f"{method}: batches from a generator or PyDataset for a model of several "
                "inputs or outputs; pass arrays"
            )

    def _check_sample_weight(self, method: str, sample_weight: Any) -> None:
        if isinstance(sample_weight, dict | list | tuple) and len(self.outputs) > 1:
            raise NotImplementedError(
                f"{method}: per-output sample weights (a list or dict); pass one array of "
                "weights per row, which weighs every output's loss"
            )

    def _pack_validation(self, validation_data: Any) -> Any:
        if validation_data is None or is_stream(validation_data):
            return validation_data
        if not isinstance(validation_data, tuple | list) or len(validation_data) not in (2, 3):
            return validation_data  # the base class raises its own error
        vx = self._pack_inputs(validation_data[0], "validation_data x")
        vy = self._pack_targets(validation_data[1], "validation_data y")
        return (vx, vy, *validation_data[2:])

    def fit(self, x: Any = None, y: Any = None, *args: Any, **kwargs: Any) -> Any:
        """Trains the model, as :meth:`kandle.Model.fit`; ``x`` and ``y`` may be lists
        or dicts (by input and output name) for a model of several inputs or outputs."""
        self._check_streams("fit", x)
        self._check_sample_weight("fit", kwargs.get("sample_weight"))
        if not is_stream(x):
            if kwargs.get("class_weight") is not None and len(self.outputs) > 1:
                raise InvalidArgumentError(
                    "fit: `class_weight` is not supported for a model of several outputs"
                )
            x, y = self._pack_inputs(x, "x"), self._pack_targets(y, "y")
            if "validation_data" in kwargs:
                kwargs["validation_data"] = self._pack_validation(kwargs["validation_data"])
        return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x: Any = None, y: Any = None, *args: Any, **kwargs: Any) -> Any:
        """Evaluates the model, as :meth:`kandle.Model.evaluate`, with ``x`` and ``y``
        as for :meth:`fit`."""
        self._check_streams("evaluate", x)
        self._check_sample_weight("evaluate", kwargs.get("sample_weight"))
        if not is_stream(x):
            x, y = self._pack_inputs(x, "x"), self._pack_targets(y, "y")
        return super().evaluate(x, y, *args, **kwargs)

    def predict(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        """The model's outputs, as :meth:`kandle.Model.predict`: an array for one output,
        else a list (or, for dict outputs, a dict by output name) of arrays."""
        self._check_streams("predict", x)
        if is_stream(x):
            return super().predict(x, *args, **kwargs)
        packed = self._pack_inputs(x, "x")
        out = super().predict(packed, *args, **kwargs)
        return self._split_outputs(out, len(packed))

    def train_on_batch(self, x: Any, y: Any = None, *args: Any, **kwargs: Any) -> Any:
        x, y = self._pack_inputs(x, "x"), self._pack_targets(y, "y")
        return super().train_on_batch(x, y, *args, **kwargs)

    def test_on_batch(self, x: Any, y: Any = None, *args: Any, **kwargs: Any) -> Any:
        x, y = self._pack_inputs(x, "x"), self._pack_targets(y, "y")
        return super().test_on_batch(x, y, *args, **kwargs)

    def predict_on_batch(self, x: Any) -> Any:
        packed = self._pack_inputs(x, "x")
        return self._split_outputs(super().predict_on_batch(packed), len(packed))

    # -- config ----------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        from kandle._functional_config import functional_config

        return functional_config(self)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Functional:  # type: ignore[override]
        from kandle._functional_config import functional_from_config

        return functional_from_config(config)


def _pack(arrays: list[np.ndarray], argument: str, names: list[str]) -> np.ndarray:
    """One array of several (named ``names``) with the same rows: each flattened per row,
    side by side."""
    rows = {len(a) for a in arrays}
    if len(rows) > 1:
        raise ShapeError(
            f"Data cardinality is ambiguous: the arrays of `{argument}` have different numbers "
            f"of samples: {[len(a) for a in arrays]}"
        )
    if len(arrays) == 1:
        return arrays[0]
    n = rows.pop()
    if all(a.dtype.kind in "iu" for a in arrays):
        # All integers (indices): packed exactly, as int64.
        return np.concatenate([np.asarray(a, np.int64).reshape(n, -1) for a in arrays], axis=1)
    for name, a in zip(names, arrays):
        _check_exact_in_float32(f"{argument}[{name!r}]", a)
    return np.concatenate([np.asarray(a, np.float32).reshape(n, -1) for a in arrays], axis=1)


# Integers from this magnitude on may be rounded to others in float32.
_FLOAT32_EXACT = 2**24


def _check_exact_in_float32(name: str, arr: np.ndarray) -> None:
    """Refuses integer data that packing with float inputs would round in float32 (an
    Embedding index above 2**24 would pick another row): an error, not a wrong row."""
    if arr.dtype.kind not in "iu" or arr.size == 0 or arr.dtype.itemsize < 4:
        return
    largest = max(-int(arr.min()), int(arr.max()))
    if largest >= _FLOAT32_EXACT:
        raise InvalidArgumentError(
            f"{name}: holds integers up to {largest:,} in magnitude, but is packed with float "
            f"inputs into float32, which holds integers exactly only below 2**24 "
            f"({_FLOAT32_EXACT:,}): an Embedding index there could be rounded to another one. "
            "Pass integer inputs alone or all as integers, or cast them to float32 yourself "
            "if rounding is what you want."
        )
