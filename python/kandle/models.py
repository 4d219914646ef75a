"""Models: ``Sequential`` and its base ``Model``, with Keras's training API.

Python here only orchestrates: it checks arguments, resolves names, runs callbacks
and the progress bar. Every batch of ``fit``, ``evaluate`` and ``predict`` runs in the
Rust engine (``kandle._core.Trainer``) with the GIL released.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from kandle import _core
from kandle import layers as layers_module
from kandle import losses as losses_module
from kandle import metrics as metrics_module
from kandle import optimizers as optimizers_module
from kandle._batches import (
    ArrayBatches,
    StreamBatches,
    as_batch_array,
    class_weights_to_sample_weights,
    is_stream,
    warn_non_finite,
    warn_ran_out,
)
from kandle._config import engine_json
from kandle._keras_tensor import KerasTensor, call_symbolic, input_tensor
from kandle._python_pieces import engine_layer, engine_loss, engine_metric, output_shape_by_call
from kandle.callbacks import Callback, CallbackList, History
from kandle.errors import InvalidArgumentError, ShapeError
from kandle.layers.input_layer import Input, InputLayer
from kandle.layers.layer import Layer, ShapeLike
from kandle.utils.py_dataset import PyDataset

_array = as_batch_array


def _check_stream_arguments(method: str, **arguments: Any) -> None:
    """A stream of batches carries its own targets and weights (as in Keras)."""
    for name, value in arguments.items():
        if value is not None and not (name == "validation_split" and not value):
            raise InvalidArgumentError(
                f"{method}: `{name}` is not supported when `x` is a generator, iterator or "
                f"PyDataset (its batches carry their own targets and weights), got {name}="
                f"{type(value).__name__}"
            )


def _check_cardinality(**arrays: np.ndarray | None) -> int:
    """The number of rows the arrays share; there must be at least one."""
    sizes = {k: len(v) for k, v in arrays.items() if v is not None}
    if len(set(sizes.values())) > 1:
        detail = " ".join(f"'{k}' sizes: {n}" for k, n in sizes.items())
        raise ShapeError(
            "Data cardinality is ambiguous. Make sure all arrays contain the same number of "
            f"samples. {detail}"
        )
    n = next(iter(sizes.values()))
    if n == 0:
        raise InvalidArgumentError(
            f"{next(iter(sizes))}: expected at least one sample, got an array with 0 rows "
            f"(shape {next(v for v in arrays.values() if v is not None).shape})"
        )
    return n


def _log_name(taken: dict[str, int], name: str, weighted: bool, prefix: str = "") -> str:
    """A metric's name in the logs, as Keras gives it: ``<prefix><name>``; a weighted
    metric whose name is taken becomes ``<prefix>weighted_<name>``, and a name taken
    again gets ``_1``, ``_2``, ... Records the name in ``taken``."""
    full = f"{prefix}{name}"
    if full in taken and weighted:
        full = f"{prefix}weighted_{name}"
    if full in taken:
        taken[full] += 1
        return f"{full}_{taken[full] - 1}"
    taken[full] = 1
    return full


def _check_count(value: Any, argument: str) -> int | None:
    """A batch size or a number of batches: a positive integer, or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
        raise InvalidArgumentError(
            f"{argument}: expected a positive integer or None, got {value!r}"
        )
    # Beyond the rows of any array, a batch (or a count of them) is all of them (and must
    # fit a usize).
    return int(min(value, 2**62))


def _check_bool(argument: str, value: Any) -> None:
    if not isinstance(value, bool | np.bool_):
        raise InvalidArgumentError(
            f"compile: `{argument}` must be a bool, got {argument}={value!r}"
        )


def loss_weight_value(weight: Any) -> float:
    """One output's loss weight: a real number (None means 1, as in Keras)."""
    if weight is None:
        return 1.0
    if isinstance(weight, bool) or not isinstance(weight, int | float | np.integer | np.floating):
        raise InvalidArgumentError(
            "Expected `loss_weights` argument to be a float (single output case) or a list, "
            f"tuple, or dict (multiple output case). Received instead: loss_weights={weight!r} "
            f"of type {type(weight).__name__}"
        )
    if not math.isfinite(weight):
        raise InvalidArgumentError(f"compile: a loss weight must be finite, got {weight!r}")
    return float(weight)


def _verbosity(verbose: Any) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise InvalidArgumentError(f"verbose: expected 'auto', 0, 1 or 2, got {verbose!r}")
    return int(verbose)


class _FitHooks:
    """The engine's way into Python during ``fit`` and ``evaluate``: ``call(hook,
    *args)`` runs Keras's hook on every callback and answers whether the model should
    stop training."""

    def __init__(self, model: Model, callbacks: CallbackList, *modes: str) -> None:
        self.model, self.callbacks = model, callbacks
        # Keras calls the batch hooks once per `steps_per_execution` batches; kandle
        # calls them per batch, so it refuses rather than call them differently.
        spe = model.steps_per_execution
        hooked = [mode for mode in modes if callbacks.needs_batch_hooks(mode)]
        if spe > 1 and hooked:
            raise NotImplementedError(
                f"compile(steps_per_execution={spe}) with a callback that has a batch-level "
                f"hook ({hooked[0]}): Keras would call it once every {spe} batches, kandle "
                "calls it on every batch. Compile with steps_per_execution=1, or use "
                "epoch-level hooks."
            )

    def call(self, hook: str, *args: Any) -> bool:
        if hook == "batch_begin":
            self.callbacks.batch_begin(*args)
        elif hook == "batch_end":
            self.callbacks.batch_end(*args)
        else:
            self.callbacks.call(hook, *args)
        return bool(self.model.stop_training)

    def needs_batch_hooks(self, mode: str) -> bool:
        """Whether the batch hooks of ``mode`` must see every batch (else the engine
        calls them per chunk of batches)."""
        return self.callbacks.needs_batch_hooks(mode)

    def resume_at(self) -> int | None:
        """The epoch a callback asked ``fit`` to resume at (BackupAndRestore sets
        Keras's ``model._initial_epoch`` in ``on_train_begin``)."""
        return getattr(self.model, "_initial_epoch", None) or None


class Model(Layer):
    """The base class of models: ``compile``, ``fit``, ``evaluate``, ``predict``,
    ``summary``, weights and configs. :class:`Sequential` is a stack of layers; a
    subclass of ``Model`` creates its layers in ``__init__`` and composes them in
    ``call(inputs, training=False)`` (Keras's model subclassing). Its layers are the
    attributes that are layers (or lists, tuples and dicts of layers); it builds on its
    first call, and the batch loop calls its ``call`` back once per batch.

    >>> import numpy as np, kandle as kd
    >>> class TwoLayers(kd.Model):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.hidden = kd.layers.Dense(8, activation="relu")
    ...         self.out = kd.layers.Dense(1)
    ...     def call(self, inputs, training=False):
    ...         return self.out(self.hidden(inputs))
    >>> model = TwoLayers()
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> history = model.fit(np.ones((16, 4)), np.ones((16, 1)), epochs=2, verbose=0)
    >>> [layer.name for layer in model.layers] == [model.hidden.name, model.out.name]
    True
    >>> model.count_params()
    49
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        # Keras's `Model(inputs, outputs)` makes a functional model (kandle._functional).
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            from kandle._functional import Functional

            return super().__new__(Functional)
        return super().__new__(cls)

    def __init__(self, name: str | None = None, trainable: bool = True, **kwargs: Any) -> None:
        super().__init__(name=name, trainable=trainable, **kwargs)
        self.optimizer: Any = None
        self.loss: Any = None
        self.compiled = False
        self.stop_training = False
        self.history: History | None = None
        self._metric_specs: list[Any] = []
        self._weighted_metric_specs: list[Any] = []
        self._metrics: list[tuple[str, Any, bool]] | None = None
        self._loss_weights: list[float] = [1.0]
        self._user_loss_weights: Any = None
        # Keras's defaults before compile (on JAX, "auto" resolves jit_compile to True).
        self.run_eagerly = False
        self.steps_per_execution = 1
        self.jit_compile = True
        self._loss_tracker: Any = None
        self._compile_metrics: Any = None

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Any:
        """A model from its config; a functional config (Keras's ``input_layers`` and
        ``output_layers``) makes a functional model (kandle._functional_config)."""
        if "input_layers" in config and "output_layers" in config:
            from kandle._functional_config import functional_from_config

            return functional_from_config(config)
        return super().from_config(config)

    # -- structure (Sequential provides its own) -------------------------------
    # ---- kandle: model subclassing ------------------------------------------------
    def _is_subclassed(self) -> bool:
        """A subclass with its own ``call`` (not Sequential's stack of layers)."""
        return type(self).call is not Model.call

    @property
    def layers(self) -> list[Layer]:
        """A subclassed model's layers: its attributes that are layers."""
        return self._sublayers()

    def _ensure_built(self, sample_shape: tuple[int, ...]) -> None:
        """Builds a subclassed model by calling it once on zeros (one sample of
        ``sample_shape``), in inference mode, as Keras builds it on its first call."""
        from kandle.autograd import no_grad

        if not self._is_subclassed():
            raise NotImplementedError(f"{type(self).__name__} must implement call()")
        built_shape = getattr(self, "_built_shape", None)
        if self.built and built_shape is not None and tuple(built_shape[1:]) == sample_shape:
            return
        with no_grad():
            self._call_with(_core.full((1, *sample_shape), 0.0), False)
        self._built_shape: tuple[Any, ...] = (None, *sample_shape)
        self.built = True

    def build(self, input_shape: Sequence[Any] | None = None) -> None:
        """Builds a subclassed model for inputs of ``input_shape`` (batch axis first)."""
        if input_shape is None:
            raise InvalidArgumentError("build: pass the input_shape (batch axis first)")
        self._ensure_built(tuple(int(d) for d in tuple(input_shape)[1:]))

    # ---- end kandle: model subclassing ----------------------------------------------

    @property
    def weights(self) -> list[Any]:
        return [w for layer in self.layers for w in layer.weights]

    @property
    def trainable_weights(self) -> list[Any]:
        if not self.trainable:
            return []
        return [w for layer in self.layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self) -> list[Any]:
        if not self.trainable:
            return self.weights
        return [w for layer in self.layers for w in layer.non_trainable_weights]

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by name or by index in ``layers``, as ``keras.Model.get_layer``."""
        if index is not None and name is not None:
            raise InvalidArgumentError(
                f"Provide only a layer name or a layer index. Received: index={index}, name={name}."
            )
        if index is not None:
            if not isinstance(index, int | np.integer) or isinstance(index, bool):
                raise InvalidArgumentError(f"get_layer: index must be an integer, got {index!r}")
            if len(self.layers) <= index:
                raise InvalidArgumentError(
                    f"Was asked to retrieve layer at index {index} but model only has "
                    f"{len(self.layers)} layers."
                )
            return self.layers[index]
        if name is not None:
            for layer in self.layers:
                if layer.name == name:
                    return layer
            raise InvalidArgumentError(
                f"No such layer: {name}. Existing layers are: "
                f"{[layer.name for layer in self.layers]}."
            )
        raise InvalidArgumentError("Provide either a layer name or layer index at `get_layer`.")

    @property
    def output_shape(self) -> tuple[int | None, ...]:
        """The shape of the model's output, batch axis first (once the input is known)."""
        input_shape = self._known_input_shape()
        if input_shape is None:
            raise AttributeError(
                f"The model {self.name!r} has no defined output shape yet: give it an Input "
                "or build it."
            )
        return self.compute_output_shape(input_shape)

    @property
    def input_shape(self) -> tuple[Any, ...] | None:
        return self._known_input_shape()

    def _known_input_shape(self) -> tuple[Any, ...] | None:
        """The input shape the model is built for (batch axis first), or None."""
        return getattr(self, "_built_shape", None)

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    def get_weights(self) -> list[np.ndarray]:
        """All weights as numpy arrays, in Keras's order and layouts."""
        return [w for layer in self.layers for w in layer.get_weights()]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Sets all weights from arrays in Keras's order and layouts; on a count or shape
        mismatch nothing changes."""
        weights = list(weights)
        expected = sum(len(layer.weights) for layer in self.layers)
        if len(weights) != expected:
            raise InvalidArgumentError(
                f"set_weights: you called `set_weights(weights)` on model {self.name!r} with a "
                f"weight list of length {len(weights)}, but the model expects {expected} weights"
            )
        # Check every layer's part before changing any.
        pending, at = [], 0
        for layer in self.layers:
            n = len(layer.weights)
            part = weights[at : at + n]
            for w, new in zip(layer.get_weights(), part):
                if np.shape(new) != w.shape:
                    raise ShapeError(
                        f"set_weights: layer {layer.name!r} expects a weight of shape {w.shape}, "
                        f"got {np.shape(new)}"
                    )
            pending.append((layer, part))
            at += n
        for layer, part in pending:
            if part:
                layer.set_weights(part)

    # -- compile ---------------------------------------------------------------
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
        """Configures the model for training, as ``keras.Model.compile`` (the same
        arguments, in the same order).

        Example:

        >>> import kandle as kd
        >>> model = kd.Sequential([kd.Input((4,)), kd.layers.Dense(3)])
        >>> model.compile(
        ...     optimizer=kd.optimizers.Adam(learning_rate=1e-3),
        ...     loss=kd.losses.SparseCategoricalCrossentropy(from_logits=True),
        ...     metrics=["accuracy"],
        ... )

        Args:
            optimizer: The optimizer: a name (``"sgd"``, ``"adam"``, ``"rmsprop"``, ...)
                with Keras's defaults, or a :mod:`kandle.optimizers` instance. Default
                ``"rmsprop"``, as in Keras.
            loss: The loss to minimize: a name (``"mse"``,
                ``"sparse_categorical_crossentropy"``, ...), a :mod:`kandle.losses`
                function or ``Loss`` instance, or a Python callable
                ``f(y_true, y_pred)``. ``y_true`` has the shape of the model's output,
                except for the sparse losses, which take integer class labels without
                the last axis. Optional for a model that only predicts; ``fit`` and
                ``evaluate`` need it.
            metrics: A list of metrics to report during training and testing: names
                (``"accuracy"``, ``"mae"``, ...), :mod:`kandle.metrics` instances or
                functions. ``"accuracy"`` (or ``"acc"``) becomes binary, categorical
                or sparse categorical accuracy from the shapes of the targets and
                outputs that the model first sees, as in Keras. These metrics ignore
                ``sample_weight`` and ``class_weight``. An unknown name raises here,
                not at the first ``fit``.
            weighted_metrics: A list of metrics, given as for ``metrics``, that are
                weighted by ``sample_weight`` or ``class_weight``. A weighted metric
                whose name is already taken is logged as ``weighted_<name>``.
            loss_weights: A float that scales the loss (of a model of one output; a
                one-element list, or a dict keyed by the output's name, also serves):
                the loss minimized and reported is ``loss_weights * loss``, plus any
                regularization penalties, which it does not scale. For a model of
                several outputs, see :class:`kandle.Model` (functional).
            run_eagerly: Keras runs the step without compiling it, for debugging.
                kandle's batch loop is compiled Rust either way and computes the same
                values; layers, losses and metrics written in Python are always
                called eagerly, on concrete tensors, once per batch, so ``print`` and
                breakpoints in them work whatever this is. Kept as
                ``model.run_eagerly``. Default False.
            steps_per_execution: The number of batches Keras runs per call of its
                compiled step. Each batch is still one optimizer step, so the values
                do not change; what changes in Keras is that the batch-level
                callbacks run once per execution. kandle accepts any positive
                integer and keeps it as ``model.steps_per_execution``; with a value
                above 1, ``fit``, ``evaluate`` and ``predict`` raise
                ``NotImplementedError`` when a callback has a batch-level hook (kandle
                would call it on every batch, not every ``steps_per_execution``
                batches). Default 1.
            jit_compile: ``True``, ``False`` or ``"auto"`` (the default). kandle's loop
                is always compiled Rust: the value changes nothing it computes. As in
                Keras on JAX, ``model.jit_compile`` is then True, unless
                ``run_eagerly`` is set (``"auto"`` gives False; ``True`` gives False
                with Keras's warning).
            auto_scale_loss: Keras scales the loss under the ``"mixed_float16"`` dtype
                policy; kandle computes in float32 and has no such policy, so the
                value (a bool, default True) changes nothing.

        Calling ``compile`` again replaces the optimizer, loss and metrics; the weights
        are kept.
        """
        _check_bool("run_eagerly", run_eagerly)
        _check_bool("auto_scale_loss", auto_scale_loss)
        if (
            isinstance(steps_per_execution, bool)
            or not isinstance(steps_per_execution, int | np.integer)
            or steps_per_execution < 1
        ):
            raise InvalidArgumentError(
                "compile: `steps_per_execution` must be a positive integer, got "
                f"steps_per_execution={steps_per_execution!r}"
            )
        if jit_compile not in (True, False, "auto") or not isinstance(
            jit_compile, bool | np.bool_ | str
        ):
            raise InvalidArgumentError(
                f"compile: `jit_compile` must be True, False or 'auto', got "
                f"jit_compile={jit_compile!r}"
            )
        if optimizer is None:  # as Keras's optimizers.get(None)
            raise InvalidArgumentError("Could not interpret optimizer identifier: None")
        weight = self._single_loss_weight(loss_weights)
        self.optimizer = optimizers_module.get(optimizer)
        self.loss = losses_module.get(loss) if loss is not None else None
        self._metric_specs = self._metric_list("metrics", metrics)
        self._weighted_metric_specs = self._metric_list("weighted_metrics", weighted_metrics)
        self._metrics = None
        self._loss_weights = [weight]
        self._user_loss_weights = loss_weights
        self._set_compile_options(run_eagerly, steps_per_execution, jit_compile)
        self._loss_tracker = metrics_module.Mean(name="loss")
        self._compile_metrics = (
            _CompileMetrics(self) if metrics is not None or weighted_metrics is not None else None
        )
        self.compiled = True
        self.stop_training = False

    def _set_compile_options(
        self, run_eagerly: bool, steps_per_execution: int, jit_compile: Any
    ) -> None:
        """Keras's ``run_eagerly``, ``steps_per_execution`` and resolved
        ``jit_compile`` (on JAX, "auto" is True unless the model runs eagerly)."""
        if jit_compile is True and run_eagerly:
            warnings.warn(
                "If `run_eagerly` is True, then `jit_compile` cannot also be True. "
                "Disabling `jit_compile`.",
                stacklevel=3,
            )
        self.run_eagerly = bool(run_eagerly)
        self.steps_per_execution = int(steps_per_execution)
        self.jit_compile = bool(jit_compile) and not run_eagerly

    def _single_loss_weight(self, loss_weights: Any) -> float:
        """The loss weight of a model of one output: a number, a list or tuple of one,
        or a dict keyed by the output's name (any one key, for a subclassed model,
        whose output has no name); None means 1."""
        if loss_weights is None:
            return 1.0
        value = loss_weights
        names = self._output_names()
        if isinstance(loss_weights, dict):
            if len(loss_weights) != 1 or (names and list(loss_weights) != names):
                raise InvalidArgumentError(
                    f"compile: `loss_weights` as a dict must have one key, the model's output "
                    f"name {names or '(any)'}, got keys {list(loss_weights)}"
                )
            value = next(iter(loss_weights.values()))
        elif isinstance(loss_weights, list | tuple):
            if len(loss_weights) != 1:
                raise InvalidArgumentError(
                    f"`loss_weights` must match the number of losses, got 1 losses and "
                    f"{len(loss_weights)} weights."
                )
            value = loss_weights[0]
        return loss_weight_value(value)

    def _output_names(self) -> list[str]:
        """The name of the model's output (its last layer's, as Keras's
        ``output_names``), or [] when unknown (a subclassed model)."""
        if self._is_subclassed() or not self.layers:
            return []
        return [self.layers[-1].name]

    def _metric_list(self, argument: str, metrics: Any) -> list[Any]:
        if metrics is None:
            return []
        if isinstance(metrics, str | metrics_module.Metric) or callable(metrics):
            metrics = [metrics]
        if not isinstance(metrics, list | tuple):
            raise InvalidArgumentError(
                f"compile: expected `{argument}` to be a list or tuple, got "
                f"{argument}={metrics!r} of type {type(metrics).__name__}"
            )
        for spec in metrics:
            if isinstance(spec, str):  # unknown names fail here, not at the first fit
                metrics_module.get(spec, loss=self.loss)
        return list(metrics)

    def _assert_compiled(self, method: str) -> None:
        if not self.compiled:
            raise InvalidArgumentError(
                f"You must call `compile()` before using the model (called `{method}()`)."
            )
        if self.loss is None and method != "predict":
            raise InvalidArgumentError(f"`{method}()` needs a loss: pass `loss=` to `compile()`.")

    def _refuse_custom_steps(self, method: str, *steps: str) -> None:
        """Raises when the model's class overrides Keras's ``train_step``, ``test_step``
        or ``predict_step`` among ``steps``: kandle's batch loops run in the Rust engine
        and never call them, so their logic would be skipped silently."""
        overridden = [step for step in steps if getattr(type(self), step, None) is not None]
        if not overridden:
            return
        if overridden == ["predict_step"]:
            instead = (
                "Post-process the outputs of predict() instead, or call the model on the "
                "batches yourself (model(x))."
            )
        else:
            instead = (
                "Put the logic in a custom loss (a kandle.losses.Loss subclass) or metric (a "
                "kandle.metrics.Metric subclass), which fit and evaluate call back per "
                "batch, or write the training loop yourself: loss = a function of "
                "model(x, training=True); grads = kandle.grad(loss, "
                "model.trainable_weights); model.optimizer.apply(grads, "
                "model.trainable_weights)."
            )
        names = " and ".join(f"`{step}`" for step in overridden)
        raise NotImplementedError(
            f"{method}: {type(self).__name__} overrides {names}, which kandle does not "
            f"support: its batch loop runs in the Rust engine, which would never call "
            f"{'it' if len(overridden) == 1 else 'them'}. {instead}"
        )

    def _resolve_metrics(
        self, y: np.ndarray | None, y_pred_shape: Callable[[], tuple[int | None, ...]]
    ) -> list[tuple[str, Any, bool]]:
        """The compiled metrics as ``(log name, metric, weighted)``. Keras resolves
        "accuracy" from the shapes of the first data it sees (``y_pred_shape()`` is only
        computed then), and names a weighted metric whose name is taken
        ``weighted_<name>``."""
        if self._metrics is None:
            y_true = np.zeros((1, *np.shape(y)[1:])) if y is not None else None
            # Only the batch size (dropped here) is None.
            y_pred = np.zeros((1, *y_pred_shape()[1:]))  # type: ignore[type-var]
            resolved: list[tuple[str, Any, bool]] = []
            taken: dict[str, int] = {}
            for specs, weighted in (
                (self._metric_specs, False),
                (self._weighted_metric_specs, True),
            ):
                for spec in specs:
                    metric = metrics_module.get(spec, y_true=y_true, y_pred=y_pred, loss=self.loss)
                    if isinstance(spec, str):
                        metric.name = spec
                    name = _log_name(taken, metric.name, weighted)
                    resolved.append((name, metric, weighted))
            self._metrics = resolved
        return self._metrics

    @property
    def metrics(self) -> list[Any]:
        """Keras 3's ``model.metrics``: once compiled, the loss tracker (a
        :class:`kandle.metrics.Mean` named ``"loss"``), then, if ``compile`` was given
        ``metrics`` or ``weighted_metrics``, their container (named
        ``"compile_metrics"``, whose ``result()`` is a dict by log name and whose
        ``metrics`` lists the metric objects once the model has seen data), then, for a
        model of several losses, one tracker per output loss (``"<output>_loss"``).

        The metric objects are the ones ``fit`` and ``evaluate`` update, so their
        ``result()`` is that of the last run. The loss trackers are set when a run of
        the engine ends (a ``fit`` epoch, ``evaluate``, ``train_on_batch``,
        ``test_on_batch``) to the mean loss it reported; ``fit`` ends with its last
        validation when it has one, as in Keras. ``reset_state()`` empties each, and the
        next run starts anew either way.

        >>> import numpy as np, kandle as kd
        >>> model = kd.Sequential([kd.Input((2,)), kd.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
        >>> [m.name for m in model.metrics]
        ['loss', 'compile_metrics']
        >>> loss, mae = model.evaluate(np.ones((4, 2)), np.zeros((4, 1)), verbose=0)
        >>> model.metrics[1].result() == {"mae": mae}
        True
        """
        if not self.compiled:
            return []
        found = [self._loss_tracker]
        if self._compile_metrics is not None:
            found.append(self._compile_metrics)
        return found + self._output_loss_trackers()

    def _output_loss_trackers(self) -> list[Any]:
        return []

    @property
    def metrics_names(self) -> list[str]:
        """The names of ``model.metrics``, as Keras 3 gives them (``"loss"``,
        ``"compile_metrics"``, ...); the names of the values ``evaluate`` returns are
        the keys of ``evaluate(..., return_dict=True)``."""
        return [m.name for m in self.metrics]

    def _record_logs(self, trainer: Any) -> dict[str, Any]:
        """The engine's logs at the end of a run; the loss trackers of
        ``model.metrics`` take their values."""
        logs = dict(trainer.logs())
        for tracker in [self._loss_tracker, *self._output_loss_trackers()]:
            if tracker is not None and tracker.name in logs:
                tracker.reset_state()
                tracker.update_state(logs[tracker.name])
        return logs

    @property
    def losses(self) -> list[Any]:
        """The regularization penalties of the model's layers, scalar Tensors that
        training adds to the loss (Keras's ``model.losses``). kandle gives one per
        layer that has regularizers, the sum of its weights' penalties (Keras lists one
        per weight); their sum is the same.

        >>> import kandle as kd
        >>> model = kd.Sequential([kd.Input((2,)), kd.layers.Dense(
        ...     1, kernel_initializer="ones", kernel_regularizer=kd.regularizers.L2(0.1))])
        >>> [round(float(p), 4) for p in model.losses]
        [0.2]
        """
        return [p for layer in self.layers for p in layer.losses]

    # -- the engine ------------------------------------------------------------
    def _engine_layers(self) -> list[Any]:
        # kandle: built-in layers run in Rust; a Python piece (a custom layer, a Python
        # activation, a subclassed model's call) is called back per batch.
        if self._is_subclassed():
            return [_core.python_layer(self)]
        return [engine_layer(layer) for layer in self.layers]

    def _trainer(self, x: np.ndarray, y: np.ndarray | None) -> Any:
        self._ensure_built(tuple(x.shape[1:]))
        metrics = self._resolve_metrics(y, lambda: self.compute_output_shape((None, *x.shape[1:])))
        trainer = _core.Trainer(
            self._engine_layers(),
            self.trainable_weights,
            engine_loss(self.loss),
            self.optimizer._engine if self.optimizer is not None else None,
            [(name, engine_metric(m), weighted) for name, m, weighted in metrics],
        )
        return self._weigh_loss(trainer, y)

    def _weigh_loss(self, trainer: Any, y: np.ndarray | None) -> Any:
        """Scales the loss of a model of one output by its loss weight, as Keras does:
        the engine's path for a model of several outputs, with one output, computes
        ``weight * loss`` (plus the regularization penalties, unscaled)."""
        weight = self._loss_weights[0]
        if weight != 1.0 and y is not None:
            head = ("output", engine_loss(self.loss), weight, list(np.shape(y)[1:]))
            trainer.set_outputs([head], [0] * len(self._metrics or []))
        return trainer

    def _predictor(self) -> Any:
        """The engine of ``predict``: the layers alone."""
        return _core.Trainer(self._engine_layers(), [])

    # -- fit / evaluate / predict ----------------------------------------------
    def fit(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose: Any = "auto",
        callbacks: Iterable[Callback] | None = None,
        validation_split: float = 0.0,
        validation_data: Any = None,
        shuffle: bool = True,
        class_weight: dict[int, float] | None = None,
        sample_weight: Any = None,
        initial_epoch: int = 0,
        steps_per_epoch: int | None = None,
        validation_steps: int | None = None,
        validation_batch_size: int | None = None,
        validation_freq: int = 1,
    ) -> History:
        """Trains the model for a fixed number of epochs, as ``keras.Model.fit``.

        The whole batch loop runs in the Rust engine with the GIL released; Python
        redraws the progress bar and runs the callbacks between chunks of batches (per
        batch only when a callback has batch hooks). Ctrl-C stops training within a
        batch.

        Example:

        >>> import numpy as np
        >>> import kandle as kd
        >>> x = np.random.rand(64, 3).astype("float32")
        >>> y = x.sum(axis=1, keepdims=True)
        >>> model = kd.Sequential([kd.Input((3,)), kd.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
        >>> history = model.fit(x, y, epochs=2, validation_split=0.25, verbose=0)
        >>> sorted(history.history)
        ['loss', 'mae', 'val_loss', 'val_mae']
        >>> len(history.history["loss"])
        2

        Args:
            x: The inputs. Either an array (numpy, a list, or a :class:`kandle.Tensor`)
                whose first axis is the samples (float32 C-ordered arrays are read in
                place, others are converted once), or batches made by Python: a
                generator or iterator that yields ``(x, y)`` or
                ``(x, y, sample_weight)`` tuples, or a :class:`kandle.utils.PyDataset`.
            y: The targets, an array with as many rows as ``x`` (integer class labels
                for the sparse losses). Must be None when ``x`` is a stream of
                batches, which carries its own targets.
            batch_size: The number of samples per gradient step, for arrays. Default
                32, or with ``steps_per_epoch``, as in Keras, the rows divided by
                ``steps_per_epoch``, rounded up. The last batch of a pass over the
                arrays keeps the remaining rows even when there are fewer. Streams
                make their own batches.
            epochs: The epoch at which training ends: with ``initial_epoch``, ``fit``
                runs the epochs ``initial_epoch .. epochs - 1``, so
                ``fit(epochs=3, initial_epoch=1)`` trains for 2 epochs. An epoch is one
                pass over the arrays or a stream, or ``steps_per_epoch`` batches.
            verbose: ``"auto"`` (the same as 1), 0 (silent), 1 (a progress bar) or 2
                (one line per epoch).
            callbacks: A list of :class:`kandle.callbacks.Callback` objects, called at
                the start and end of training, of each epoch and of batches. A
                :class:`kandle.callbacks.History` and, unless ``verbose=0``, the
                progress bar are added.
            validation_split: A float in ``[0, 1)``: the fraction of the training
                arrays to hold out and evaluate on at the end of each epoch. As in
                Keras, the held-out rows are the LAST rows of ``x`` and ``y``, taken
                before any shuffling. Arrays only; ignored when ``validation_data`` is
                given.
            validation_data: The data to evaluate on at the end of each epoch:
                ``(x_val, y_val)``, ``(x_val, y_val, val_sample_weight)``, or a stream
                of batches. The model is not trained on it, and ``class_weight`` does
                not apply to it.
            shuffle: Whether to shuffle the rows of the arrays before each epoch (the
                order of the batches, for a PyDataset). Ignored, with a warning, for a
                generator or iterator, which is expected to shuffle its own data.
            class_weight: A dict ``{class index: weight}`` that scales the loss (and
                the ``weighted_metrics``) of each training sample by the weight of its
                class, to pay more attention to a rare class. Not together with
                ``sample_weight``.
            sample_weight: An array of one weight per training row, that scales each
                row's contribution to the loss and to the ``weighted_metrics``. Arrays
                only (a stream's batches carry their own weights).
            initial_epoch: The epoch at which to start training, to resume a
                previous run. Default 0.
            steps_per_epoch: The number of batches of an epoch. Default None: every
                batch of the arrays, or until the stream ends. For arrays, as in Keras,
                each epoch continues where the last one stopped, and the rows are
                shuffled anew (with ``shuffle``) once every batch has run; an epoch
                that reaches the end of the rows first runs short, with Keras's "ran
                out of data" warning, and training goes on. When a stream ends before
                ``epochs`` are done, training stops with that warning.
            validation_steps: The number of batches to evaluate on each time: the
                first ones of the validation arrays, or the next ones of a
                ``validation_data`` stream. Default None: all of them, or until the
                stream ends.
            validation_batch_size: The number of samples per validation batch, for
                arrays. Default: ``batch_size`` (with ``validation_steps`` and no batch
                size, the validation rows divided by ``validation_steps``, rounded
                up).
            validation_freq: Run validation every this many epochs (default 1: after
                each epoch).

        Returns:
            A :class:`kandle.callbacks.History`, also kept as ``model.history``. Its
            ``history`` attribute maps ``"loss"``, each metric's name and their
            ``"val_"`` versions (keys sorted, as in Keras) to one value per epoch. An
            epoch's training loss and metrics are the running means over its batches,
            weighted by batch size.

        Raises:
            InvalidArgumentError: The model is not compiled (or has no loss), or an
                argument is invalid; the message names the argument.
            ShapeError: ``x``, ``y`` and ``sample_weight`` have different numbers of
                rows, or the data does not fit the model's input shape.
            NotImplementedError: The model's class overrides ``train_step`` (or
                ``test_step``, with validation), which kandle's engine loop would not
                call; the message says what to do instead.
        """
        self._assert_compiled("fit")
        validates = validation_data is not None or bool(validation_split)
        self._refuse_custom_steps("fit", "train_step", *["test_step"] * validates)
        verbose = _verbosity(verbose)
        batch_size = _check_count(batch_size, "batch_size")
        validation_batch_size = _check_count(validation_batch_size, "validation_batch_size")
        steps_per_epoch = _check_count(steps_per_epoch, "steps_per_epoch")
        validation_steps = _check_count(validation_steps, "validation_steps")
        if not isinstance(shuffle, bool | np.bool_):
            raise InvalidArgumentError(f"shuffle: expected a bool, got {shuffle!r}")
        if isinstance(epochs, bool) or not isinstance(epochs, int | np.integer) or epochs < 0:
            raise InvalidArgumentError(f"epochs: expected an integer >= 0, got {epochs!r}")
        if not isinstance(initial_epoch, int | np.integer) or initial_epoch < 0:
            raise InvalidArgumentError(
                f"initial_epoch: expected an integer >= 0, got {initial_epoch!r}"
            )
        if not 0.0 <= validation_split < 1.0:
            raise InvalidArgumentError(
                f"validation_split: expected a float in [0, 1), got {validation_split!r}"
            )
        if (
            isinstance(validation_freq, bool)
            or not isinstance(validation_freq, int | np.integer)
            or validation_freq < 1
        ):
            raise InvalidArgumentError(
                f"validation_freq: expected a positive integer, got {validation_freq!r}"
            )
        if class_weight is not None and sample_weight is not None:
            raise InvalidArgumentError(
                "You cannot use `class_weight` and `sample_weight` at the same time."
            )
        data: ArrayBatches | StreamBatches
        val: ArrayBatches | StreamBatches | None = None
        if is_stream(x):
            _check_stream_arguments(
                "fit", y=y, sample_weight=sample_weight, validation_split=validation_split
            )
            data = StreamBatches(x, steps_per_epoch, class_weight)
            if shuffle and not isinstance(x, PyDataset):
                warnings.warn(
                    "`shuffle=True` was passed, but will be ignored since the data `x` was "
                    "provided as a generator. The generator is expected to yield "
                    "already-shuffled data.",
                    stacklevel=2,
                )
        else:
            x, y = _array("x", x), _array("y", y)
            if x is None or y is None:
                raise InvalidArgumentError("fit: both `x` and `y` are required")
            sw = _array("sample_weight", sample_weight)
            n = _check_cardinality(x=x, y=y, sample_weight=sw)
            warn_non_finite("fit", x=x, y=y, sample_weight=sw)
            if validation_split and validation_data is None:
                # Keras takes the LAST rows, before any shuffling.
                split_at = int(math.floor(n * (1.0 - validation_split)))
                if split_at == 0 or split_at == n:
                    raise InvalidArgumentError(
                        f"Training data contains {n} samples, which is not sufficient to split "
                        f"it into a validation and training set as specified by "
                        f"`validation_split={validation_split}`. Either provide more data, or a "
                        "different value for the `validation_split` argument."
                    )
                val_sw = None if sw is None else sw[split_at:]
                val = ArrayBatches(
                    x[split_at:],
                    y[split_at:],
                    val_sw,
                    validation_batch_size or batch_size,
                    validation_steps,
                )
                x, y, sw = x[:split_at], y[:split_at], None if sw is None else sw[:split_at]
            if class_weight is not None:
                # As in Keras, class weights weigh the training rows only, not validation.
                sw = class_weights_to_sample_weights(y, class_weight)
            data = ArrayBatches(x, y, sw, batch_size, steps_per_epoch)
        if validation_data is not None:
            val = self._validation_batches(
                validation_data, validation_steps, validation_batch_size or batch_size
            )
        if isinstance(val, ArrayBatches):
            val.warn_if_short("validation_steps")

        first_x, first_y, _ = data.first()
        trainer = self._trainer(first_x, first_y)
        callback_list = CallbackList(
            callbacks,
            self,
            add_history=True,
            add_progbar=verbose != 0,
            params={"verbose": verbose, "epochs": epochs, "steps": data.steps},
            samples=data.samples,
        )
        self.stop_training = False
        try:
            # Keras's epoch loop, in the engine (kandle::model::fit): it calls back into
            # the callbacks at each hook, per batch only where one needs it.
            ran_out = trainer.fit(
                data,
                val,
                _FitHooks(self, callback_list, "train", "test"),
                epochs,
                initial_epoch,
                bool(shuffle),
                validation_freq,
            )
        finally:
            for batches in (data, val):
                if isinstance(batches, StreamBatches):
                    batches.close()
        self._record_logs(trainer)
        if ran_out:
            warn_ran_out(f"steps_per_epoch={data.steps}, epochs={epochs}")
        self.history = callback_list.history
        self.history.params = {"verbose": verbose, "epochs": epochs, "steps": data.steps}
        return self.history

    def _validation_batches(
        self, validation_data: Any, steps: int | None, batch_size: int | None
    ) -> ArrayBatches | StreamBatches:
        if is_stream(validation_data):
            return StreamBatches(validation_data, steps, argument="validation_data")
        if not isinstance(validation_data, tuple | list) or len(validation_data) not in (2, 3):
            raise InvalidArgumentError(
                "validation_data: expected a tuple (x_val, y_val) or (x_val, y_val, "
                f"val_sample_weight), got {type(validation_data).__name__}"
            )
        vx, vy = (
            _array("validation_data x", validation_data[0]),
            _array("validation_data y", validation_data[1]),
        )
        vsw = _array(
            "validation_data sample_weight",
            validation_data[2] if len(validation_data) == 3 else None,
        )
        if vx is None or vy is None:
            raise InvalidArgumentError(
                "validation_data: both x_val and y_val are required, got "
                f"({type(validation_data[0]).__name__}, {type(validation_data[1]).__name__})"
            )
        _check_cardinality(x_val=vx, y_val=vy, sample_weight_val=vsw)
        return ArrayBatches(vx, vy, vsw, batch_size, steps)

    def _flatten_logs(self, logs: dict[str, float], return_dict: bool) -> Any:
        """Keras's ``_flatten_metrics_in_order``: the values of ``loss`` and of each
        compiled metric by the metric's own name, then the remaining keys sorted (so a
        weighted metric that shares an unweighted one's name appears twice, then as
        ``weighted_<name>``, exactly as in Keras)."""
        if return_dict:
            return logs
        names = ["loss", *(metric.name for _, metric, _ in self._metrics or [])]
        values = [logs[name] for name in names if name in logs]
        values += [logs[key] for key in sorted(logs) if key not in names]
        return values[0] if len(values) == 1 else values

    def evaluate(
        self,
        x: Any = None,
        y: Any = None,
        batch_size: int | None = None,
        verbose: Any = "auto",
        sample_weight: Any = None,
        steps: int | None = None,
        callbacks: Iterable[Callback] | None = None,
        return_dict: bool = False,
    ) -> Any:
        """Returns the loss and metric values of the model on the given data, as
        ``keras.Model.evaluate``. The model runs in inference mode (no dropout;
        BatchNormalization uses its moving statistics), in batches, in the engine.

        Example:

        >>> import numpy as np
        >>> import kandle as kd
        >>> x = np.random.rand(64, 3).astype("float32")
        >>> y = x.sum(axis=1, keepdims=True)
        >>> model = kd.Sequential([kd.Input((3,)), kd.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
        >>> loss, mae = model.evaluate(x, y, verbose=0)
        >>> sorted(model.evaluate(x, y, verbose=0, return_dict=True))
        ['loss', 'mae']

        Args:
            x: The inputs: an array whose first axis is the samples, or a stream of
                batches (a generator, an iterator or a
                :class:`kandle.utils.PyDataset`; see :meth:`fit`).
            y: The targets, an array with as many rows as ``x``. Must be None when
                ``x`` is a stream.
            batch_size: The number of samples per batch, for arrays. Default 32, or
                with ``steps``, the rows divided by ``steps``, rounded up (as in
                Keras).
            verbose: ``"auto"`` (the same as 1), 0 (silent), 1 (a progress bar) or 2
                (a single line at the end).
            sample_weight: An array of one weight per row, that weights the loss and
                the ``weighted_metrics``. Arrays only.
            steps: The number of batches to evaluate on: the first ``steps`` batches
                of the arrays (Keras warns that the input ran out of data when there
                are fewer), or of a stream. Default None: all of them, or until the
                stream ends.
            callbacks: A list of :class:`kandle.callbacks.Callback` objects; their
                ``on_test_*`` hooks are called.
            return_dict: If True, return a dict ``{name: value}`` of the loss and
                metrics; if False, a list.

        Returns:
            With ``return_dict=False``: the loss, a float, when the model has no
            metrics, else the list ``[loss, metric, ...]`` in the order of
            ``compile`` (``return_dict=True`` gives the names). With
            ``return_dict=True``: the dict. The values are means over the batches,
            weighted by batch size.

        Raises:
            InvalidArgumentError: The model is not compiled (or has no loss), or an
                argument is invalid.
            ShapeError: ``x``, ``y`` and ``sample_weight`` have different numbers of
                rows, or the data does not fit the model.
            NotImplementedError: The model's class overrides ``test_step``, which
                kandle's engine loop would not call.
        """
        self._assert_compiled("evaluate")
        self._refuse_custom_steps("evaluate", "test_step")
        verbose = _verbosity(verbose)
        batch_size = _check_count(batch_size, "batch_size")
        steps = _check_count(steps, "steps")
        data: ArrayBatches | StreamBatches
        if is_stream(x):
            _check_stream_arguments("evaluate", y=y, sample_weight=sample_weight)
            data = StreamBatches(x, steps)
        else:
            x, y, sw = _array("x", x), _array("y", y), _array("sample_weight", sample_weight)
            if x is None or y is None:
                raise InvalidArgumentError("evaluate: both `x` and `y` are required")
            _check_cardinality(x=x, y=y, sample_weight=sw)
            warn_non_finite("evaluate", x=x, y=y, sample_weight=sw)
            data = ArrayBatches(x, y, sw, batch_size, steps)
            data.warn_if_short("steps")
        try:
            first_x, first_y, _ = data.first()
            trainer = self._trainer(first_x, first_y)
            callback_list = CallbackList(
                callbacks,
                self,
                add_progbar=verbose != 0,
                params={"verbose": verbose, "epochs": 1, "steps": data.steps},
                samples=data.samples,
            )
            # Keras's evaluate loop, in the engine, as fit's.
            trainer.evaluate(data, _FitHooks(self, callback_list, "test"))
        finally:
            if isinstance(data, StreamBatches):
                data.close()
        return self._flatten_logs(self._record_logs(trainer), return_dict)

    def predict(
        self,
        x: Any,
        batch_size: int | None = None,
        verbose: Any = "auto",
        steps: int | None = None,
        callbacks: Iterable[Callback] | None = None,
    ) -> np.ndarray:
        """Returns the model's outputs for the given inputs, as
        ``keras.Model.predict``. The model runs in inference mode (no dropout;
        BatchNormalization uses its moving statistics), in the engine, with the GIL
        released. The model need not be compiled.

        Example:

        >>> import numpy as np
        >>> import kandle as kd
        >>> model = kd.Sequential([kd.Input((3,)), kd.layers.Dense(2)])
        >>> model.predict(np.ones((5, 3), "float32"), verbose=0).shape
        (5, 2)

        Args:
            x: The inputs: an array whose first axis is the samples, or a stream of
                batches (a generator, an iterator or a
                :class:`kandle.utils.PyDataset`; only the ``x`` of each batch is used).
            batch_size: The number of samples per batch, for arrays. Default 32, or
                with ``steps``, the rows divided by ``steps``, rounded up (as in
                Keras). It sets the steps of the progress bar and of the callbacks;
                the outputs do not depend on it.
            verbose: ``"auto"`` (the same as 1), 0 (silent), 1 (a progress bar) or 2
                (a single line at the end).
            steps: The number of batches to predict: the first ``steps`` batches of
                the arrays (so ``steps * batch_size`` rows at most; Keras warns that the
                input ran out of data when there are fewer batches), or of a stream.
                Default None: all of them, or until the stream ends.
            callbacks: A list of :class:`kandle.callbacks.Callback` objects; their
                ``on_predict_*`` hooks are called.

        Returns:
            The outputs, a float32 numpy array with one row per input row that ran
            (for a stream, the batches' outputs concatenated).

        Raises:
            InvalidArgumentError: An argument is invalid.
            ShapeError: The inputs do not fit the model's input shape.
            NotImplementedError: The model's class overrides ``predict_step``, which
                kandle's engine loop would not call.
        """
        self._refuse_custom_steps("predict", "predict_step")
        verbose = _verbosity(verbose)
        batch_size = _check_count(batch_size, "batch_size")
        steps = _check_count(steps, "steps")
        data: ArrayBatches | StreamBatches
        if is_stream(x):
            data = StreamBatches(x, steps)
        else:
            x = _array("x", x)
            if x is None:
                raise InvalidArgumentError("predict: `x` is required")
            if len(x) == 0:  # no batch to run: the outputs of no rows
                self._ensure_built(tuple(x.shape[1:]))
                out_shape = self.compute_output_shape((None, *x.shape[1:]))[1:]
                return np.zeros((0, *out_shape), np.float32)  # type: ignore[arg-type]
            data = ArrayBatches(x, batch_size=batch_size, steps=steps)
            data.warn_if_short("steps")
        try:
            first_x, _, _ = data.first()
            self._ensure_built(tuple(first_x.shape[1:]))
            trainer = self._predictor()
            callback_list = CallbackList(
                callbacks,
                self,
                add_progbar=verbose != 0,
                params={"verbose": verbose, "epochs": 1, "steps": data.steps},
                samples=data.samples,
            )
            # Keras's predict loop, in the engine, as fit's.
            return trainer.predict(data, _FitHooks(self, callback_list, "predict"))  # type: ignore[no-any-return]
        finally:
            if isinstance(data, StreamBatches):
                data.close()

    def _batch_trainer(self, x: Any, y: Any, sample_weight: Any, class_weight: Any) -> Any:
        x, y, sw = _array("x", x), _array("y", y), _array("sample_weight", sample_weight)
        if x is None or y is None:
            raise InvalidArgumentError("both `x` and `y` are required")
        _check_cardinality(x=x, y=y, sample_weight=sw)
        if class_weight is not None:
            if sw is not None:
                raise InvalidArgumentError(
                    "You cannot use `class_weight` and `sample_weight` at the same time."
                )
            sw = class_weights_to_sample_weights(y, class_weight)
        # An engine made for this call sees the model as it is now (its layers, their
        # trainable flags, the last compile); like Keras 3, each call reports its own
        # batch: the metrics start anew.
        trainer = self._trainer(x, y)
        trainer.reset_metrics()
        return trainer, x, y, sw

    def train_on_batch(
        self,
        x: Any,
        y: Any = None,
        sample_weight: Any = None,
        class_weight: dict[int, float] | None = None,
        return_dict: bool = False,
    ) -> Any:
        """Runs one gradient step on one batch of data, as
        ``keras.Model.train_on_batch``.

        Example:

        >>> import numpy as np
        >>> import kandle as kd
        >>> model = kd.Sequential([kd.Input((3,)), kd.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> loss = model.train_on_batch(np.ones((8, 3)), np.zeros((8, 1)))

        Args:
            x: The inputs of the batch, an array whose first axis is the samples.
            y: The targets of the batch, with as many rows as ``x``.
            sample_weight: Optional, one weight per row, for the loss and the
                ``weighted_metrics``.
            class_weight: Optional dict ``{class index: weight}`` (see :meth:`fit`).
                Not together with ``sample_weight``.
            return_dict: If True, return a dict ``{name: value}``; if False, a list
                (or the loss alone when the model has no metrics).

        Returns:
            The loss and metrics of this batch alone (as in Keras 3, each call starts
            the metrics anew), computed by the forward pass before the weights are
            updated; in the form that :meth:`evaluate` returns.
        """
        self._assert_compiled("train_on_batch")
        self._refuse_custom_steps("train_on_batch", "train_step")
        trainer, x, y, sw = self._batch_trainer(x, y, sample_weight, class_weight)
        trainer.step(x, y, sw, training=True)
        return self._flatten_logs(self._record_logs(trainer), return_dict)

    def test_on_batch(
        self, x: Any, y: Any = None, sample_weight: Any = None, return_dict: bool = False
    ) -> Any:
        """Returns the loss and metrics of the model on one batch, without training, as
        ``keras.Model.test_on_batch``.

        Example:

        >>> import numpy as np
        >>> import kandle as kd
        >>> model = kd.Sequential([kd.Input((3,)), kd.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
        >>> sorted(model.test_on_batch(np.ones((8, 3)), np.zeros((8, 1)), return_dict=True))
        ['loss', 'mae']

        Args:
            x: The inputs of the batch, an array whose first axis is the samples.
            y: The targets of the batch, with as many rows as ``x``.
            sample_weight: Optional, one weight per row, for the loss and the
                ``weighted_metrics``.
            return_dict: If True, return a dict ``{name: value}``; if False, a list
                (or the loss alone when the model has no metrics).

        Returns:
            The loss and metrics of this batch alone, in inference mode, in the form
            that :meth:`evaluate` returns.
        """
        self._assert_compiled("test_on_batch")
        self._refuse_custom_steps("test_on_batch", "test_step")
        trainer, x, y, sw = self._batch_trainer(x, y, sample_weight, None)
        trainer.step(x, y, sw, training=False)
        return self._flatten_logs(self._record_logs(trainer), return_dict)

    def predict_on_batch(self, x: Any) -> np.ndarray:
        """Returns the model's outputs for one batch, in inference mode, as
        ``keras.Model.predict_on_batch``.

        Example:

        >>> import numpy as np
        >>> import kandle as kd
        >>> model = kd.Sequential([kd.Input((3,)), kd.layers.Dense(2)])
        >>> model.predict_on_batch(np.ones((4, 3))).shape
        (4, 2)

        Args:
            x: The inputs of the batch, an array whose first axis is the samples.

        Returns:
            The outputs, a float32 numpy array with one row per input row.
        """
        self._refuse_custom_steps("predict_on_batch", "predict_step")
        arr = _array("x", x)
        if arr is None:
            raise InvalidArgumentError("predict_on_batch: expected an array `x`, got None")
        self._ensure_built(tuple(arr.shape[1:]))
        return self._predictor().forward(arr).numpy()  # type: ignore[no-any-return]

    def reset_metrics(self) -> None:
        """Resets the state of every metric of ``model.metrics``."""
        for m in self.metrics:
            m.reset_state()

    def call(self, inputs: Any, training: bool = False) -> Any:
        h = inputs
        for layer in self.layers:
            h = layer(h, training=training)
        return h

    def __call__(self, inputs: Any, training: Any = None) -> Any:
        from kandle._keras_tensor import is_symbolic
        from kandle.ops import convert_to_tensor

        if is_symbolic(inputs):  # a model used as a layer of a functional model
            return call_symbolic(self, inputs, training)
        x = convert_to_tensor(inputs)
        self._ensure_built(tuple(x.shape[1:]))
        return self._call_with(x, bool(training))

    def compute_output_shape(self, input_shape: ShapeLike) -> tuple[int | None, ...]:
        if self._is_subclassed():
            return output_shape_by_call(self, tuple(input_shape))
        shape = tuple(input_shape)
        for layer in self.layers:
            shape = tuple(layer.compute_output_shape(shape))
        return shape

    # -- saving (kandle.saving) -------------------------------------------------
    def to_json(self) -> str:
        """The model's serialized form as Keras's ``to_json`` gives it (what a
        ``.keras`` file's ``config.json`` holds, without the compile config); Keras's
        and kandle's ``models.model_from_json`` rebuild the model from it."""
        from kandle import saving

        return json.dumps(saving.serialize_model(self, nested=True))

    def save(self, filepath: Any, overwrite: bool = True, **kwargs: Any) -> None:
        """Saves the model to a ``.keras`` file (see :func:`kandle.saving.save_model`)."""
        from kandle import saving

        saving.save_model(self, filepath, overwrite=overwrite, **kwargs)

    def save_weights(self, filepath: Any, overwrite: bool = True) -> None:
        """Saves the weights to ``.weights.h5`` or ``.safetensors``
        (see :func:`kandle.saving.save_weights`)."""
        from kandle import saving

        saving.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath: Any, skip_mismatch: bool = False) -> None:
        """Loads weights from ``.weights.h5``, ``.keras`` or ``.safetensors``; on an
        error the model is unchanged (see :func:`kandle.saving.load_weights`)."""
        from kandle import saving

        saving.load_weights(self, filepath, skip_mismatch=skip_mismatch)

    # -- summary ---------------------------------------------------------------
    def summary(self, line_length: int | None = None, print_fn: Any = None) -> None:
        """Prints Keras's table of layers, output shapes and parameter counts."""
        from kandle.utils.summary import print_summary

        print_summary(self, line_length=line_length, print_fn=print_fn)


class _Given:
    """What a crate model was last given (layers, engines, weights, flags, optimizer,
    loss), held to compare by identity; not a list, so layer tracking skips it."""

    def __init__(self, pieces: Sequence[Any] = ()) -> None:
        self._pieces = tuple(pieces)

    def same(self, pieces: Sequence[Any]) -> bool:
        return len(pieces) == len(self._pieces) and all(
            a is b for a, b in zip(pieces, self._pieces)
        )


class _CompileMetrics(metrics_module.Metric):
    """Keras's ``compile_metrics``: the container of the metrics given to
    ``compile``, an entry of ``model.metrics``. Its ``metrics`` are the metric objects
    that ``fit`` and ``evaluate`` update (listed once the model has seen data, which
    resolves names such as "accuracy"); ``result()`` is the dict of their values by
    log name, and ``reset_state()`` resets them all."""

    def __init__(self, model: Model) -> None:
        self._init_identity("compile_metrics", None)
        self._engine = None
        self._model = model

    @property
    def metrics(self) -> list[Any]:
        return [m for _, m, _ in self._model._metrics or []]

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        raise NotImplementedError(
            "compile_metrics: fit and evaluate update these metrics; update each of "
            "`metrics` with its own update_state"
        )

    def result(self) -> dict[str, Any]:
        return {name: m.result() for name, m, _ in self._model._metrics or []}

    def reset_state(self) -> None:
        for m in self.metrics:
            m.reset_state()


class Sequential(Model):
    """A linear stack of layers, as ``keras.Sequential``.

    >>> import numpy as np, kandle as kd
    >>> model = kd.Sequential([kd.Input((4,)), kd.layers.Dense(8, activation="relu"),
    ...                        kd.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> history = model.fit(np.ones((16, 4)), np.ones((16, 1)), epochs=2, verbose=0)
    >>> model.predict(np.ones((2, 4)), verbose=0).shape
    (2, 1)
    """

    def __init__(
        self, layers: Iterable[Layer] | None = None, name: str | None = None, trainable: bool = True
    ) -> None:
        super().__init__(name=name)
        self.trainable = trainable
        # The model's input: the Input added first, else one made from the first layer's
        # `input_shape`/`input_dim` or from the shape the model is built for (as Keras's).
        self._input: InputLayer | None = None
        self._layers: list[Layer] = []
        self._layer_ids: set[int] = set()
        # The built stack's symbolic output, None until it is built: each layer called in
        # turn on the input's symbolic tensor (kandle._keras_tensor), as Keras's Sequential
        # builds a functional graph, which gives `inputs`, `outputs` and `layer.output`.
        self._stack_output: KerasTensor | None = None
        # kandle: the crate's model (kandle._core.Sequential) runs this one. It holds the
        # built layers' engines and weights and the compiled optimizer and loss, the same
        # Rust objects as the Python layers, optimizer and loss hold.
        self._model = _core.Sequential([])
        self._model_given = _Given()
        for layer in layers or []:
            self.add(layer)

    def add(self, layer: Layer) -> None:
        """Appends a layer (an ``Input`` first fixes the input shape, as does a first
        layer's ``input_shape`` argument)."""
        # Keras's legacy case: the first layer's `input_shape` makes the Input.
        shape_arg = getattr(layer, "_input_shape_arg", None)
        if shape_arg is not None and not self._layers and self._input is None:
            self.add(InputLayer(shape=shape_arg))
        if isinstance(layer, KerasTensor) and layer._keras_history is not None:
            layer = layer._keras_history[0]  # kd.Input's tensor: its InputLayer
        if isinstance(layer, InputLayer):
            if self._layers or self._input is not None:
                raise InvalidArgumentError("Sequential: an Input must come first, and only once")
            self._input = layer
            self._build_from(layer.batch_shape)
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a kandle layer, got {type(layer).__name__}")
        if id(layer) in self._layer_ids:
            raise InvalidArgumentError(
                f"Sequential.add: layer {layer.name!r} is already in the model"
            )
        if self._stack_output is not None:
            # Only the new layer is built, so adding n layers takes linear time; a layer
            # that does not fit raises here and leaves the model as it was.
            self._stack_output = call_symbolic(layer, self._stack_output)
        else:
            self.built = False
        self._layers.append(layer)
        self._layer_ids.add(id(layer))
        self._metrics = None

    def pop(self) -> Layer:
        """Removes and returns the last layer."""
        if not self._layers:
            raise InvalidArgumentError("Sequential.pop: there are no layers to remove")
        layer = self._layers.pop()
        self._layer_ids.discard(id(layer))
        self._stack_output = None
        if self._input is not None:
            self._build_from(self._input.batch_shape)
        # The output shape changed: "accuracy" and friends are resolved again.
        self._metrics = None
        return layer

    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    def _graph_output(self, what: str) -> KerasTensor:
        """The built stack's symbolic output; Keras's error when there is none (the
        model is not built, or has no layers)."""
        if self._stack_output is None or not self._layers:
            raise AttributeError(f"Sequential model '{self.name}' has no defined {what} yet.")
        return self._stack_output

    @property
    def inputs(self) -> list[KerasTensor]:
        """The model's input tensor in a list, once it is built (Keras's
        ``model.inputs``); with a layer's ``output`` it makes a feature extractor.

        >>> import kandle as kd
        >>> model = kd.Sequential([kd.Input((4,)), kd.layers.Dense(8, name="hidden"),
        ...                        kd.layers.Dense(1)])
        >>> features = kd.Model(model.inputs, model.get_layer("hidden").output)
        >>> features.output_shape
        (None, 8)
        """
        self._graph_output("inputs")
        assert self._input is not None
        return [input_tensor(self._input)]

    @property
    def outputs(self) -> list[KerasTensor]:
        """The model's output tensor in a list, once it is built (Keras's
        ``model.outputs``)."""
        return [self._graph_output("outputs")]

    @property
    def input_shape(self) -> tuple[Any, ...]:
        self._graph_output("input shape")
        assert self._input is not None
        return self._input.batch_shape

    @property
    def output_shape(self) -> tuple[Any, ...]:
        return self._graph_output("output shape").shape

    def _known_input_shape(self) -> tuple[Any, ...] | None:
        return self._input.batch_shape if self._input is not None else None

    def _build_from(self, input_shape: tuple[Any, ...]) -> None:
        """Calls each layer in turn on the symbolic input (the Input, else one made for
        ``input_shape``), which builds it; on an error the model keeps its input."""
        input_layer = self._input or InputLayer(batch_shape=input_shape)
        x = input_tensor(input_layer)
        for layer in self._layers:
            x = call_symbolic(layer, x)
        self._input, self._stack_output = input_layer, x
        self.built = True

    def build(self, input_shape: Sequence[Any] | None = None) -> None:
        """Creates all weights for inputs of ``input_shape`` (batch axis included)."""
        if input_shape is None:
            if self._input is None:
                raise InvalidArgumentError("build: pass an input_shape or add an Input first")
            input_shape = self._input.batch_shape
        shape = tuple(None if d is None else int(d) for d in input_shape)
        if self._input is not None and shape != self._input.batch_shape:
            raise InvalidArgumentError(
                f"Sequential model '{self.name}' has already been configured to use input "
                f"shape {self._input.batch_shape}. You cannot build it with input_shape {shape}"
            )
        self._build_from(shape)

    def _ensure_built(self, sample_shape: tuple[int, ...]) -> None:
        expected = self._known_input_shape()
        if expected is not None and (
            len(expected) - 1 != len(sample_shape)
            or any(e is not None and e != s for e, s in zip(expected[1:], sample_shape))
        ):
            raise ShapeError(
                f"Input 0 of model {self.name!r} is incompatible: expected shape "
                f"{(None, *expected[1:])}, got {(None, *sample_shape)}"
            )
        if not self.built or any(not layer.built for layer in self._layers):
            self._build_from((None, *sample_shape))

    # -- kandle: the crate's model ------------------------------------------------
    def _engine_model(self) -> Any:
        """The crate's model over the layers as they are now: given again only when a
        layer, its engine, its weights, a trainable flag, the optimizer or the loss has
        changed since the last call (they are compared by identity)."""
        trainable = [layer.trainable_weights if self.trainable else [] for layer in self._layers]
        pieces: list[Any] = [self.optimizer, self.loss]
        for layer, tw in zip(self._layers, trainable):
            pieces += [layer, layer._engine, *layer.weights, None, *tw, None]
        if not self._model_given.same(pieces):
            self._model.set_built_layers(
                [
                    (
                        layer.name,
                        type(layer).__name__,
                        # A layer written in Python has no engine config to rebuild from.
                        engine_json(layer._engine_config())
                        if layer._engine is not None
                        else json.dumps({"name": layer.name}),
                        engine_layer(layer),
                        [(w, any(w is t for t in tw)) for w in layer.weights],
                    )
                    for layer, tw in zip(self._layers, trainable)
                ],
                self._known_sample_shapes(),
            )
            if self.optimizer is not None:
                self._model.compile_engine(self.optimizer._engine, engine_loss(self.loss))
            self._model_given = _Given(pieces)
        return self._model

    def _known_sample_shapes(self) -> tuple[list[int], list[int]] | None:
        """The shapes of one input and one output sample, if all their sizes are known."""
        if self._input is None or self._stack_output is None:
            return None
        shapes = (self._input.batch_shape, self._stack_output.shape)
        if any(any(d is None for d in s[1:]) for s in shapes):
            return None
        return list(shapes[0][1:]), list(shapes[1][1:])  # type: ignore[arg-type]

    def _trainer(self, x: np.ndarray, y: np.ndarray | None) -> Any:
        if self._is_subclassed():
            return super()._trainer(x, y)
        self._ensure_built(tuple(x.shape[1:]))
        metrics = self._resolve_metrics(y, lambda: self.compute_output_shape((None, *x.shape[1:])))
        trainer = self._engine_model().engine(
            [(name, engine_metric(m), weighted) for name, m, weighted in metrics]
        )
        return self._weigh_loss(trainer, y)

    def _predictor(self) -> Any:
        if self._is_subclassed():
            return super()._predictor()
        return self._engine_model().engine()

    def get_config(self) -> dict[str, Any]:
        layer_configs = []
        if self._input is not None:
            layer_configs.append({"class_name": "InputLayer", "config": self._input.get_config()})
        for layer in self._layers:
            layer_configs.append({"class_name": type(layer).__name__, "config": layer.get_config()})
        return {"name": self.name, "trainable": self.trainable, "layers": layer_configs}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        """Rebuilds a model from ``get_config()``; layer classes come from kandle's own
        registry, never from names imported at load time."""
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for entry in config.get("layers", []):
            class_name = entry["class_name"]
            if class_name == "InputLayer":
                model.add(InputLayer.from_config(entry["config"]))
                continue
            layer_cls = getattr(layers_module, class_name, None)
            if not (isinstance(layer_cls, type) and issubclass(layer_cls, Layer)):
                raise InvalidArgumentError(f"from_config: unknown layer class {class_name!r}")
            model.add(layer_cls.from_config(entry["config"]))
        return model


def _copy(obj: Any) -> Any:
    """A fresh object of the same class and config (strings stay as they are)."""
    if isinstance(obj, str) or obj is None or not hasattr(obj, "get_config"):
        return obj
    return type(obj).from_config(obj.get_config())


def clone_model(
    model: Model,
    input_tensors: Any = None,
    clone_function: Any = None,
    call_function: Any = None,
    recursive: bool = False,
    **kwargs: Any,
) -> Model:
    """A new model with the same structure and new, freshly initialized weights, as
    ``keras.models.clone_model``, for Sequential and functional models. Each layer is
    rebuilt from its config, or by ``clone_function(layer)`` (once for a shared
    layer); the Inputs are made anew, or (functional) ``input_tensors``, symbolic
    tensors in the structure of ``model.input``, are used instead. A compiled model's
    clone is compiled the same way (with a fresh optimizer), as in Keras.

    >>> import kandle as kd
    >>> model = kd.Sequential([kd.Input((3,)), kd.layers.Dense(2, name="out")])
    >>> clone = kd.models.clone_model(model)
    >>> clone.get_layer("out") is model.get_layer("out"), clone.output_shape
    (False, (None, 2))
    >>> inputs = kd.Input((4,))
    >>> functional = kd.Model(inputs, kd.layers.Dense(2, name="out")(inputs))
    >>> kd.models.clone_model(functional).get_layer("out").units
    2
    """
    from kandle._functional import Functional

    if kwargs:
        raise InvalidArgumentError(f"clone_model: unexpected arguments {sorted(kwargs)}")
    if call_function is not None or recursive:
        raise NotImplementedError("clone_model: `call_function` and `recursive` are not supported")
    if clone_function is None:
        clone_function = _copy
    elif not callable(clone_function):
        raise InvalidArgumentError(
            "Expected `clone_function` argument to be a callable. "
            f"Received: clone_function={clone_function}"
        )
    clones: dict[int, Layer] = {}

    def clone_layer(layer: Layer) -> Layer:
        if id(layer) not in clones:
            new = clone_function(layer)
            if not isinstance(new, Layer):
                raise InvalidArgumentError(
                    f"clone_model: clone_function must return a layer, got "
                    f"{type(new).__name__} for layer {layer.name!r}"
                )
            clones[id(layer)] = new
        return clones[id(layer)]

    clone: Model
    if isinstance(model, Functional):
        clone = _clone_functional(model, input_tensors, clone_layer)
    elif isinstance(model, Sequential):
        if input_tensors is not None:
            raise InvalidArgumentError(
                "clone_model: `input_tensors` is supported for functional models only"
            )
        layers: list[Layer] = []
        if model._input is not None:
            layers.append(InputLayer.from_config(model._input.get_config()))
        layers += [clone_layer(layer) for layer in model.layers]
        clone = Sequential(layers, name=model.name, trainable=model.trainable)
    else:
        raise InvalidArgumentError(
            f"clone_model: expected a Sequential or functional model, got "
            f"{type(model).__name__} (a subclassed model: make a new instance of its class)"
        )
    if model.compiled:
        _compile_like(clone, model)
    return clone


def _clone_functional(model: Any, input_tensors: Any, clone_layer: Callable[[Any], Any]) -> Model:
    """``model``'s graph called again, layer by layer, on new inputs with the clones
    of its layers (Keras's ``_clone_functional_model``)."""
    from kandle._functional import Functional
    from kandle._keras_tensor import flatten_structure

    if input_tensors is None:
        new_inputs = [
            input_tensor(InputLayer.from_config(t._keras_history[0].get_config()))
            for t in model.inputs
        ]
    else:
        new_inputs = flatten_structure(input_tensors)
        same = (
            isinstance(input_tensors, dict) == isinstance(model.input, dict)
            and (not isinstance(input_tensors, dict) or sorted(input_tensors) == model.input_names)
            and len(new_inputs) == len(model.inputs)
        )
        if not same or not all(isinstance(t, KerasTensor) for t in new_inputs):
            raise InvalidArgumentError(
                "clone_model: `input_tensors` must be symbolic tensors (kd.Input) in the "
                f"structure of model.input {model.input!r}, got {input_tensors!r}"
            )
    tensors: dict[int, Any] = {id(old): new for old, new in zip(model.inputs, new_inputs)}
    for node in model._nodes:
        args = [tensors[id(t)] for t in node.input_tensors]
        arguments = args if isinstance(node.arguments, list | tuple) else args[0]
        outputs = clone_layer(node.layer)(arguments)
        for old, new in zip(node.outputs, outputs if len(node.outputs) > 1 else [outputs]):
            tensors[id(old)] = new

    def rebuilt(structure: Any) -> Any:
        if isinstance(structure, dict):
            return {k: tensors[id(v)] for k, v in structure.items()}
        if isinstance(structure, list | tuple):
            return [tensors[id(t)] for t in structure]
        return tensors[id(structure)]

    inputs_struct = input_tensors if input_tensors is not None else rebuilt(model.input)
    return Functional(
        inputs_struct, rebuilt(model.output), name=model.name, trainable=model.trainable
    )


def _compile_like(clone: Model, model: Model) -> None:
    """Compiles ``clone`` as ``model`` is compiled, with copies of its optimizer,
    losses and metrics."""
    options: dict[str, Any] = {
        "run_eagerly": model.run_eagerly,
        "steps_per_execution": model.steps_per_execution,
        "jit_compile": model.jit_compile,
    }
    has_metrics = model._compile_metrics is not None
    output_losses = getattr(model, "_output_losses", None)
    if output_losses:  # a functional model of several outputs: one entry per output
        outputs = range(len(output_losses))

        def per_output(specs: list[tuple[int, Any]]) -> list[list[Any]]:
            return [[_copy(m) for o, m in specs if o == i] for i in outputs]

        clone.compile(
            optimizer=_copy(model.optimizer),
            loss=[_copy(loss) for loss in output_losses],
            loss_weights=list(model._loss_weights),
            metrics=per_output(model._metric_specs),
            weighted_metrics=per_output(model._weighted_metric_specs),
            **options,
        )
        return
    clone.compile(
        optimizer=_copy(model.optimizer),
        loss=_copy(model.loss),
        loss_weights=model._loss_weights[0],
        metrics=[_copy(m) for m in model._metric_specs] if has_metrics else None,
        weighted_metrics=[_copy(m) for m in model._weighted_metric_specs] if has_metrics else None,
        **options,
    )


def load_model(
    filepath: Any,
    custom_objects: dict[str, Any] | None = None,
    compile: bool = True,
    safe_mode: bool = True,
) -> Model:
    """The model of a ``.keras`` file (see :func:`kandle.saving.load_model`)."""
    from kandle import saving

    model: Model = saving.load_model(filepath, custom_objects, compile, safe_mode)
    return model


def model_from_json(json_string: str, custom_objects: dict[str, Any] | None = None) -> Any:
    """The (uncompiled, freshly initialized) model of a JSON config, as
    ``keras.models.model_from_json``: the inverse of ``model.to_json()``. Layer classes
    come from kandle's registry and ``custom_objects`` (a dict of name to class) only.

    >>> import kandle as kd
    >>> model = kd.Sequential([kd.Input((3,)), kd.layers.Dense(2, name="out")])
    >>> copy = kd.models.model_from_json(model.to_json())
    >>> copy.get_layer("out").units, copy.count_params()
    (2, 8)
    """
    from kandle import saving

    if not isinstance(json_string, str | bytes | bytearray):
        raise InvalidArgumentError(
            f"model_from_json: `json_string` must be a JSON string, got "
            f"{type(json_string).__name__}"
        )
    try:
        config = json.loads(json_string)
    except ValueError as e:
        raise InvalidArgumentError(
            f"model_from_json: `json_string` is not valid JSON: {e}"
        ) from None
    return saving.model_from_config(config, custom_objects)


__all__ = [
    "Input",
    "InputLayer",
    "Model",
    "Sequential",
    "clone_model",
    "load_model",
    "model_from_json",
]
