"""Saving and loading models (``kandle.saving``), in Keras 3's ``.keras`` format.

A ``.keras`` file is a zip archive of ``metadata.json``, ``config.json`` (the model's
serialized config: ``module``, ``class_name``, ``config``, ``registered_name``,
``build_config``, ``compile_config``) and the weights, keyed by Keras's paths such as
``layers/dense/vars/0``: ``model.weights.h5`` (Keras's format and, whenever h5py is
installed, kandle's default: Keras 3 loads the file) or ``model.weights.npz`` (float32
arrays, numpy alone: kandle writes it when h5py is missing, with a warning, or on
request; Keras 3 does not load it). Loading reads either. The archive itself is
written and read by the Rust core, atomically and defensively.

Loading reads data only: classes come from kandle's registry, plus the classes passed
explicitly in ``custom_objects`` or registered with :func:`register_keras_serializable`;
nothing named in a file is imported, evaluated or unpickled.

>>> import os, tempfile, numpy as np, kandle as kd
>>> model = kd.Sequential([kd.Input((3,)), kd.layers.Dense(2)])
>>> path = os.path.join(tempfile.mkdtemp(), "model.keras")
>>> model.save(path)
>>> loaded = kd.saving.load_model(path)
>>> x = np.ones((1, 3), np.float32)
>>> bool((loaded.predict(x, verbose=0) == model.predict(x, verbose=0)).all())
True
"""

from __future__ import annotations

import inspect
import io
import json
import os
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from kandle import _core
from kandle import layers as layers_module
from kandle import losses as losses_module
from kandle import metrics as metrics_module
from kandle import optimizers as optimizers_module
from kandle._config import plain
from kandle.errors import (
    AllocationError,
    DTypeError,
    InvalidArgumentError,
    KandleError,
    KandleIOError,
    ShapeError,
)
from kandle.layers.layer import Layer

T = TypeVar("T")

# Classes registered with register_keras_serializable, by "package>name".
_REGISTERED: dict[str, Any] = {}

# Keras config keys that kandle's layers do not take, with the value that means "off":
# a file may carry them at that value (Keras writes them always), any other is refused.
_KERAS_ONLY_DEFAULTS: dict[str, Any] = {
    "quantization_config": None,
    "synchronized": False,
    "renorm": False,
    "renorm_clipping": None,
    "renorm_momentum": 0.99,
    "lora_rank": None,
    "lora_alpha": None,
    "mask_zero": False,
    "weights": None,
    "embeddings_constraint": None,
}

# The same for the objects nested in a layer's config (initializers): Keras 3.11+ gives
# its variance-scaling initializers these keys.
_NESTED_KERAS_ONLY_DEFAULTS: dict[str, Any] = {"input_axes": None, "output_axes": None}


def _without_keras_only_nested(value: Any) -> Any:
    """``value`` with the off-valued Keras-only keys removed from nested objects."""
    if isinstance(value, list):
        return [_without_keras_only_nested(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _without_keras_only_nested(v) for k, v in value.items()}
    inner = out.get("config")
    if "class_name" in out and isinstance(inner, dict):
        out["config"] = {
            k: v
            for k, v in inner.items()
            if not (k in _NESTED_KERAS_ONLY_DEFAULTS and v == _NESTED_KERAS_ONLY_DEFAULTS[k])
        }
    return out


# safetensors names per layer class (candle's and PyTorch's), in the order of the
# layer's weights; the layout is the one kandle stores (Dense weight is (out, in)).
SAFETENSORS_NAMES: dict[str, tuple[str, ...]] = {
    "Dense": ("weight", "bias"),
    "BatchNormalization": ("weight", "bias", "running_mean", "running_var"),
    "LayerNormalization": ("weight", "bias"),
    "Embedding": ("weight",),
    "Conv1D": ("weight", "bias"),
    "Conv2D": ("weight", "bias"),
    "Conv2DTranspose": ("weight", "bias"),
}

# Weights whose candle/PyTorch layout differs from the one kandle stores: the axes
# permutation from kandle's to theirs, per class and weight index. Convolution kernels
# are held in Keras's layout ([kh,] kw, in, out); candle and PyTorch use (out, in, [kh,] kw).
SAFETENSORS_LAYOUTS: dict[str, dict[int, tuple[int, ...]]] = {
    "Conv1D": {0: (2, 1, 0)},
    "Conv2D": {0: (3, 2, 0, 1)},
    # PyTorch's ConvTranspose2d weight is (in, out, kh, kw); Keras's (kh, kw, out, in).
    "Conv2DTranspose": {0: (3, 2, 0, 1)},
}


def register_keras_serializable(
    package: str = "Custom", name: str | None = None
) -> Callable[[T], T]:
    """Registers a class so that ``load_model`` can rebuild it without
    ``custom_objects``, under ``"package>name"`` (Keras's registered name).

    >>> import kandle as kd
    >>> @kd.saving.register_keras_serializable(package="demo")
    ... class Twice(kd.layers.Layer):
    ...     def call(self, x):
    ...         return x * 2
    >>> kd.saving.get_registered_name(Twice)
    'demo>Twice'
    """

    def decorator(cls: T) -> T:
        key = f"{package}>{name or getattr(cls, '__name__', '')}"
        if key in _REGISTERED and _REGISTERED[key] is not cls:
            raise InvalidArgumentError(f"{key!r} has already been registered to {_REGISTERED[key]}")
        _REGISTERED[key] = cls
        cls._kandle_registered_name = key  # type: ignore[attr-defined]
        return cls

    return decorator


def get_registered_name(obj: Any) -> str:
    """The name under which ``obj`` (a class or instance) is registered, else its class
    name."""
    cls = obj if isinstance(obj, type) else type(obj)
    return str(cls.__dict__.get("_kandle_registered_name", cls.__name__))


# ---------------------------------------------------------------------------- config


def _layer_registry() -> dict[str, type[Layer]]:
    return {
        name: cls
        for name, cls in vars(layers_module).items()
        if isinstance(cls, type) and issubclass(cls, Layer) and cls is not Layer
    }


def _serialize_object(obj: Any, module: str) -> dict[str, Any]:
    registered = getattr(type(obj), "_kandle_registered_name", None)
    return {
        "module": module if registered is None else None,
        "class_name": type(obj).__name__,
        "config": plain(obj.get_config()),
        "registered_name": registered,
    }


def _serialize_loss(loss: Any) -> Any:
    if loss is None:
        return None
    if type(loss).__name__ in losses_module._CLASSES and type(loss).__module__.startswith(
        "kandle."
    ):
        return _serialize_object(loss, "keras.losses")
    if getattr(type(loss), "_kandle_registered_name", None):
        return _serialize_object(loss, "keras.losses")
    raise InvalidArgumentError(
        f"save_model: the loss {loss!r} is not one of kandle's losses and is not registered "
        "with kandle.saving.register_keras_serializable; it cannot be saved"
    )


def _serialize_metric(spec: Any) -> Any:
    if isinstance(spec, str):
        return spec
    if isinstance(spec, metrics_module.Metric):
        return _serialize_object(spec, "keras.metrics")
    raise InvalidArgumentError(f"save_model: the metric {spec!r} cannot be saved")


def _compile_config(model: Any) -> dict[str, Any] | None:
    if not getattr(model, "compiled", False):
        return None
    output_losses = getattr(model, "_output_losses", None)
    if output_losses:  # a functional model of several outputs: one entry per output
        outputs = range(len(output_losses))

        def per_output(specs: list[tuple[int, Any]]) -> Any:
            lists = [[_serialize_metric(m) for o, m in specs if o == i] for i in outputs]
            return lists if any(lists) else None

        return {
            "optimizer": _serialize_object(model.optimizer, "keras.optimizers"),
            "loss": [_serialize_loss(loss) for loss in output_losses],
            "loss_weights": list(model._loss_weights),
            "metrics": per_output(model._metric_specs),
            "weighted_metrics": per_output(model._weighted_metric_specs),
            **_compile_options(model),
        }
    return {
        "optimizer": (
            _serialize_object(model.optimizer, "keras.optimizers")
            if model.optimizer is not None
            else None
        ),
        "loss": _serialize_loss(model.loss),
        "loss_weights": None if model._loss_weights[0] == 1.0 else model._loss_weights[0],
        "metrics": [_serialize_metric(m) for m in model._metric_specs] or None,
        "weighted_metrics": [_serialize_metric(m) for m in model._weighted_metric_specs] or None,
        **_compile_options(model),
    }


def _compile_options(model: Any) -> dict[str, Any]:
    """The compile arguments that change nothing kandle computes, as given."""
    return {
        "run_eagerly": model.run_eagerly,
        "steps_per_execution": model.steps_per_execution,
        "jit_compile": model.jit_compile,
    }


def serialize_model(model: Any, nested: bool = False) -> dict[str, Any]:
    """Keras's serialized form of a Sequential or functional model, as ``config.json``
    holds it (``nested``: as a layer of another model, without its compile config)."""
    from kandle._functional import Functional
    from kandle.models import Sequential

    if isinstance(model, Functional):
        functional: dict[str, Any] = {
            "module": "keras.src.models.functional",
            "class_name": "Functional",
            "config": plain(model.get_config()),
            "registered_name": "Functional",
            "build_config": {"input_shape": None},
        }
        compile_config = None if nested else _compile_config(model)
        if compile_config is not None:
            functional["compile_config"] = compile_config
        return functional
    if not isinstance(model, Sequential):
        raise InvalidArgumentError(
            f"save_model: kandle saves Sequential and functional models, got {type(model).__name__}"
        )
    layer_entries = []
    if model._input is not None:
        layer_entries.append(
            {
                "module": "keras.layers",
                "class_name": "InputLayer",
                "config": plain(model._input.get_config()),
                "registered_name": None,
            }
        )
    shape = shape_built = model._known_input_shape()
    for layer in model.layers:
        entry = _serialize_object(layer, "keras.layers")
        if shape is not None and layer.built:
            entry["build_config"] = {"input_shape": list(shape)}
            shape = tuple(layer.compute_output_shape(shape))
        layer_entries.append(entry)
    config: dict[str, Any] = {
        "name": model.name,
        "trainable": model.trainable,
        "dtype": "float32",
        "layers": layer_entries,
    }
    if shape_built is not None:
        config["build_input_shape"] = list(shape_built)
    out: dict[str, Any] = {
        "module": "keras",
        "class_name": "Sequential",
        "config": config,
        "registered_name": None,
    }
    if model.built and shape_built is not None:
        out["build_config"] = {"input_shape": list(shape_built)}
    compile_config = None if nested else _compile_config(model)
    if compile_config is not None:
        out["compile_config"] = compile_config
    return out


def _check_modules(value: Any, custom_objects: dict[str, Any]) -> None:
    """Refuses any object in a config that names a module outside Keras's and kandle's
    (``os``, ``builtins``, ...) or a registered class kandle was not given: kandle never
    imports or evaluates what a file names (the bug class of Keras's CVE-2025-1550)."""
    if isinstance(value, list):
        for item in value:
            _check_modules(item, custom_objects)
        return
    if not isinstance(value, dict):
        return
    module = value.get("module")
    class_name = value.get("class_name")
    registered = value.get("registered_name")
    if module is not None and "class_name" in value:
        trusted = isinstance(module, str) and (
            module in ("keras", "kandle")
            or module.startswith(("keras.", "kandle."))
            or class_name in custom_objects
            or registered in custom_objects
            or registered in _REGISTERED
        )
        if not trusted:
            raise InvalidArgumentError(
                f"load_model: the file names the object {class_name!r} from module "
                f"{module!r}, which is neither Keras's nor kandle's; kandle loads only its "
                "own classes and those passed in `custom_objects`, and never imports a "
                "module a file names"
            )
    if class_name in ("__lambda__", "function") and module not in ("keras.losses",):
        raise InvalidArgumentError(
            f"load_model: the file holds a Python {class_name!r} ({value.get('config')!r}); "
            "kandle never evaluates code from a file"
        )
    for item in value.values():
        _check_modules(item, custom_objects)


def _find_class(
    entry: dict[str, Any], registry: dict[str, Any], custom_objects: dict[str, Any], kind: str
) -> Any:
    class_name = entry.get("class_name")
    registered = entry.get("registered_name")
    for key in (registered, class_name):
        if isinstance(key, str):
            if key in custom_objects:
                return custom_objects[key]
            if key in _REGISTERED:
                return _REGISTERED[key]
    if isinstance(class_name, str) and class_name in registry:
        return registry[class_name]
    raise InvalidArgumentError(
        f"load_model: unknown {kind} class {class_name!r}; kandle rebuilds its own classes "
        f"({', '.join(sorted(registry))}) and those passed in `custom_objects`"
    )


def _layer_kwargs(cls: type, config: dict[str, Any]) -> dict[str, Any]:
    """``config`` without the Keras-only keys that ``cls`` does not take, when they hold
    the value that turns them off; any other unknown key is refused by name."""
    accepted: set[str] = {"name", "trainable", "dtype", "input_shape", "input_dim"}
    takes_any = False
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        for p in inspect.signature(init).parameters.values():
            if p.kind is p.VAR_KEYWORD:
                takes_any = takes_any or klass is cls and klass.__module__.startswith("kandle.")
            else:
                accepted.add(p.name)
    kwargs = {}
    for key, value in config.items():
        if key in accepted or (takes_any and key not in _KERAS_ONLY_DEFAULTS):
            kwargs[key] = value
        elif key in _KERAS_ONLY_DEFAULTS and value == _KERAS_ONLY_DEFAULTS[key]:
            continue
        else:
            raise InvalidArgumentError(
                f"load_model: layer class {cls.__name__} does not support {key}={value!r}"
            )
    return kwargs


def _layer_from_entry(entry: Any, custom_objects: dict[str, Any]) -> Layer:
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        raise InvalidArgumentError(f"load_model: malformed layer entry {entry!r}")
    cls = _find_class(entry, _layer_registry(), custom_objects, "layer")
    config = dict(entry["config"])
    if cls.__module__.startswith("kandle."):
        config = _layer_kwargs(cls, _without_keras_only_nested(config))
    layer = cls.from_config(config)
    if not isinstance(layer, Layer):
        raise InvalidArgumentError(f"load_model: {cls!r} did not make a layer")
    return layer


def model_from_config(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Any:
    """The (uncompiled) model of Keras's serialized form ``config``, built from kandle's
    registry and ``custom_objects`` only."""
    from kandle.models import Sequential

    custom_objects = dict(custom_objects or {})
    _check_modules(config, custom_objects)
    if isinstance(config, dict) and config.get("class_name") in ("Functional", "Model"):
        from kandle._functional_config import functional_from_config

        inner = config.get("config")
        if not isinstance(inner, dict):
            raise InvalidArgumentError("load_model: the functional model has no config")
        return functional_from_config(inner, custom_objects)
    if not isinstance(config, dict) or config.get("class_name") != "Sequential":
        name = config.get("class_name") if isinstance(config, dict) else config
        raise InvalidArgumentError(
            f"load_model: kandle loads Sequential and functional models, got class_name={name!r}"
        )
    inner = config.get("config")
    if not isinstance(inner, dict) or not isinstance(inner.get("layers"), list):
        raise InvalidArgumentError("load_model: the Sequential config has no `layers` list")
    model = Sequential(name=inner.get("name"), trainable=bool(inner.get("trainable", True)))
    for entry in inner["layers"]:
        if isinstance(entry, dict) and entry.get("class_name") == "InputLayer":
            model.add(layers_module.InputLayer.from_config(dict(entry.get("config") or {})))
        else:
            model.add(_layer_from_entry(entry, custom_objects))
    build = config.get("build_config") or {}
    input_shape = build.get("input_shape") or inner.get("build_input_shape")
    if not model.built and input_shape is not None:
        model.build(tuple(input_shape))
    return model


def _deserialize(
    value: Any, registry: dict[str, Any], custom_objects: dict[str, Any], kind: str
) -> Any:
    if isinstance(value, dict):
        if value.get("class_name") == "function":  # a Keras built-in function by name
            return value.get("config")
        cls = _find_class(value, registry, custom_objects, kind)
        return cls.from_config(dict(value.get("config") or {}))
    return value


def _compile_from_config(model: Any, config: dict[str, Any], custom: dict[str, Any]) -> None:
    optimizer = config.get("optimizer")
    if isinstance(optimizer, dict):
        optimizer = _deserialize(
            optimizer,
            {c.__name__: c for c in optimizers_module._ALL.values()},
            custom,
            "optimizer",
        )

    def loss_of(spec: Any) -> Any:
        return _deserialize(spec, losses_module._CLASSES, custom, "loss")

    metric_classes = metrics_module._CLASSES

    def metric_list(specs: Any) -> Any:
        if specs is None:
            return None
        if not isinstance(specs, list):
            specs = [specs]
        return [_deserialize(s, metric_classes, custom, "metric") for s in specs]

    def per_output(specs: Any, each: Callable[[Any], Any]) -> Any:
        # A model of several outputs has a list, or a dict by output name, of them.
        if isinstance(specs, dict) and "class_name" not in specs:
            return {k: each(v) for k, v in specs.items()}
        if isinstance(specs, list) and len(getattr(model, "outputs", ())) > 1:
            return [each(v) for v in specs]
        return each(specs)

    several = len(getattr(model, "outputs", ())) > 1
    extra = {"loss_weights": config.get("loss_weights")}
    for key, default in (
        ("run_eagerly", False),
        ("steps_per_execution", 1),
        ("jit_compile", "auto"),
    ):
        extra[key] = config.get(key, default)
    model.compile(
        optimizer=optimizer if optimizer is not None else "rmsprop",
        loss=per_output(config.get("loss"), loss_of),
        metrics=per_output(config.get("metrics"), metric_list)
        if several
        else metric_list(config.get("metrics")),
        weighted_metrics=per_output(config.get("weighted_metrics"), metric_list)
        if several
        else metric_list(config.get("weighted_metrics")),
        **extra,
    )


# ---------------------------------------------------------------------------- weights


def _layer_keys(model: Any, prefix: str = "layers") -> list[tuple[str, Layer]]:
    """Keras's weight paths of the model's layers: ``layers/<snake class name>``, with
    ``_1``, ``_2``, ... for repeats, in layer order; a model used as a layer holds its
    own layers under its path (``layers/functional/layers/dense``)."""
    from kandle.models import Model

    counts: dict[str, int] = {}
    keys = []
    for layer in model.layers:
        # Keras's to_snake_case: PReLU -> p_re_lu, ZeroPadding2D -> zero_padding2d.
        base = _core.snake_case(type(layer).__name__)
        n = counts.get(base, 0)
        counts[base] = n + 1
        key = f"{prefix}/{base}" if n == 0 else f"{prefix}/{base}_{n}"
        if isinstance(layer, Model):
            keys.extend(_layer_keys(layer, f"{key}/layers"))
        else:
            keys.append((key, layer))
    return keys


def _slot_groups(optimizer: Any) -> list[list[int]]:
    """The slot indices in the order Keras creates its optimizer variables: one group
    per ``add_optimizer_variables`` call, interleaved per model variable within it."""
    names = list(optimizer._engine.slot_names)
    index = {n: i for i, n in enumerate(names)}
    cls = type(optimizer).__name__
    if cls == "RMSprop":
        return [[i] for i in range(len(names))]
    if cls in ("Adam", "AdamW") and "velocity_hat" in index:
        return [[index["momentum"], index["velocity"]], [index["velocity_hat"]]]
    return [list(range(len(names)))] if names else []


def _optimizer_arrays(model: Any) -> tuple[list[np.ndarray], int]:
    """Keras's optimizer variables after ``iteration`` (vars/0): the learning rate (a
    constant one), the moving averages (``use_ema``), the gradient accumulators, the
    slots, and Nadam's ``u_product``; and the raw iteration count."""
    opt = model.optimizer
    engine = opt._engine
    arrays: list[np.ndarray] = []
    if opt._schedule is None:
        arrays.append(np.asarray(opt.learning_rate, np.float32))
    variables = model.trainable_weights
    layouts = _variable_layouts(model)
    per_variable = [engine.slots(v) for v in variables]
    if not any(len(s) for s in per_variable):
        return arrays, engine.raw_iterations  # not built yet: as Keras saves it

    def state(values: Any, v: Any) -> np.ndarray:
        """A flat per-variable state in the variable's shape and Keras's layout."""
        return layouts[id(v)](np.asarray(values, np.float32).reshape(v.shape))

    if opt.use_ema:
        for v in variables:
            avg = engine.ema_average(v)
            arrays.append(state(avg if avg is not None else v.numpy(), v))
    if opt.gradient_accumulation_steps:
        for v in variables:
            acc = engine.accumulated_gradient(v)
            arrays.append(state(acc if acc is not None else np.zeros(v.shape), v))
    for group in _slot_groups(opt):
        for v, slots in zip(variables, per_variable):
            for k in group:
                arrays.append(state(slots[k], v))
    if type(opt).__name__ == "Nadam":
        t = np.arange(1, opt.iterations + 1, dtype=np.float64)
        decay = opt.beta_1 * (1.0 - 0.5 * 0.96 ** (0.004 * t))
        arrays.append(np.asarray(np.prod(decay), np.float32))
    return arrays, engine.raw_iterations


def _variable_layouts(model: Any) -> dict[int, Callable[[np.ndarray], np.ndarray]]:
    """Per variable (by id), the conversion of an array of its shape to Keras's layout."""
    out: dict[int, Callable[[np.ndarray], np.ndarray]] = {}

    def converter(layer: Layer, i: int) -> Callable[[np.ndarray], np.ndarray]:
        return lambda a: np.ascontiguousarray(layer._to_keras_layout(i, a), np.float32)

    for layer in model.layers:
        for i, w in enumerate(layer.weights):
            out[id(w)] = converter(layer, i)
    return out


def _weight_entries(model: Any, include_optimizer: bool) -> tuple[list[Any], list[Any]]:
    """The float arrays and integer scalars of the weights file, by Keras's paths."""
    weights: list[tuple[str, np.ndarray]] = []
    integers: list[tuple[str, int]] = []
    for key, layer in _layer_keys(model):
        for i, w in enumerate(layer.get_weights()):
            weights.append((f"{key}/vars/{i}", np.ascontiguousarray(w, np.float32)))
    if include_optimizer and getattr(model, "optimizer", None) is not None:
        arrays, iterations = _optimizer_arrays(model)
        integers.append(("optimizer/vars/0", int(iterations)))
        weights.extend((f"optimizer/vars/{i + 1}", a) for i, a in enumerate(arrays))
    return weights, integers


def _plan_layer_weights(model: Any, store: dict[str, Any], source: str) -> list[Any]:
    """Checks every layer's arrays in ``store`` against the model (count, shape,
    dtype) and returns the assignments to make, touching nothing."""
    plan = []
    for key, layer in _layer_keys(model):
        expected = layer.get_weights()
        arrays = []
        for i, current in enumerate(expected):
            name = f"{key}/vars/{i}"
            if name not in store:
                raise InvalidArgumentError(
                    f"load: {source} has no weight {name!r} for layer {layer.name!r} "
                    f"(expected {len(expected)} weights)"
                )
            array = np.asarray(store[name])
            if array.dtype != np.float32:
                raise DTypeError(
                    f"load: {source}: weight {name!r} has dtype {array.dtype}; kandle loads "
                    "float32 weights only"
                )
            if array.shape != current.shape:
                raise ShapeError(
                    f"load: {source}: weight {name!r} of layer {layer.name!r} has shape "
                    f"{array.shape}, expected {current.shape}"
                )
            arrays.append(array)
        if f"{key}/vars/{len(expected)}" in store:
            raise InvalidArgumentError(
                f"load: {source} has more weights for layer {layer.name!r} than its {len(expected)}"
            )
        plan.append((layer, arrays))
    known = {key for key, _ in _layer_keys(model)}
    # A set lookup per key, so a deep model's file loads in linear time.
    extra = [k for k in store if k.startswith("layers/") and k.rpartition("/vars/")[0] not in known]
    if extra:
        raise InvalidArgumentError(
            f"load: {source} has weights for layers the model does not have: {sorted(extra)}"
        )
    return plan


def _plan_optimizer(model: Any, store: dict[str, Any], integers: dict[str, int]) -> Any:
    """The optimizer state of ``store`` checked against the model's optimizer, as a
    function that applies it; None when the file holds none."""
    opt = getattr(model, "optimizer", None)
    keys = [k for k in store if k.startswith("optimizer/vars/")] + [
        k for k in integers if k.startswith("optimizer/vars/")
    ]
    if opt is None or not keys:
        return None
    iteration = integers.get("optimizer/vars/0")
    if iteration is None and "optimizer/vars/0" in store:
        iteration = int(np.asarray(store["optimizer/vars/0"]))
    if iteration is None or iteration < 0:
        raise InvalidArgumentError("load: the optimizer state has no valid iteration count")
    arrays = [store.get(f"optimizer/vars/{i}") for i in range(1, len(keys))]
    if any(a is None for a in arrays):
        raise InvalidArgumentError(
            f"load: the file's {len(keys)} optimizer variables are not numbered 0 to "
            f"{len(keys) - 1}"
        )
    at = 0
    learning_rate = None
    if opt._schedule is None:
        learning_rate = float(np.asarray(arrays[0]))
        at = 1
    variables = model.trainable_weights
    names = list(opt._engine.slot_names)
    groups = _slot_groups(opt)
    rest = len(arrays) - at
    unbuilt = rest == 0
    extra = (len(variables) if opt.use_ema else 0) + (
        len(variables) if opt.gradient_accumulation_steps else 0
    )
    nadam = 1 if type(opt).__name__ == "Nadam" else 0
    expected = extra + len(variables) * len(names) + nadam
    if not unbuilt and rest != expected:
        raise InvalidArgumentError(
            f"load: the file's optimizer has {rest + at + 1} variables where this "
            f"{type(opt).__name__} over {len(variables)} variables has {expected + at + 1}"
        )
    slots: list[list[np.ndarray]] = [[np.empty(0)] * len(names) for _ in variables]
    averages: list[np.ndarray] = []
    accumulated: list[np.ndarray] = []

    def state_of(v: Any, what: str) -> np.ndarray:
        """The next array of the file, for `v`, in kandle's layout, checked."""
        nonlocal at
        array = np.asarray(arrays[at])
        at += 1
        layer, index = _owner(model, v)
        kandle_layout = layer._from_keras_layout(index, array)
        if kandle_layout.shape != tuple(v.shape) or array.dtype != np.float32:
            raise ShapeError(
                f"load: optimizer {what} of {v.name!r} has shape {array.shape} and dtype "
                f"{array.dtype}, expected float32 of the variable's shape"
            )
        return np.ascontiguousarray(kandle_layout).ravel()

    if not unbuilt:
        if opt.use_ema:
            averages = [state_of(v, "moving average") for v in variables]
        if opt.gradient_accumulation_steps:
            accumulated = [state_of(v, "accumulated gradient") for v in variables]
        for group in groups:
            for j, v in enumerate(variables):
                for k in group:
                    slots[j][k] = state_of(v, f"slot {names[k]!r}")

    def apply() -> None:
        engine = opt._engine
        if learning_rate is not None and np.float32(opt.learning_rate) != np.float32(learning_rate):
            opt.learning_rate = learning_rate
        engine.set_raw_iterations(int(iteration))
        if not unbuilt:
            for v, values in zip(variables, slots):
                engine.set_slots(v, values)
            for v, average in zip(variables, averages):
                engine.set_ema_average(v, average)
            for v, gradient in zip(variables, accumulated):
                engine.set_accumulated_gradient(v, gradient)
            opt.build(variables)

    return apply


def _owner(model: Any, variable: Any) -> tuple[Layer, int]:
    for layer in model.layers:
        for i, w in enumerate(layer.weights):
            if w is variable:
                return layer, i
    raise InvalidArgumentError(f"load: variable {variable.name!r} belongs to no layer")


def _apply_plan(plan: list[Any]) -> None:
    for layer, arrays in plan:
        if arrays:
            layer.set_weights(arrays)


# ---------------------------------------------------------------------------- h5


def _h5py() -> Any:
    try:
        import h5py  # type: ignore[import-untyped, import-not-found]
    except ImportError:
        raise KandleIOError(
            "HDF5 weights (.h5) need h5py: install it with `pip install kandle[h5]`"
        ) from None
    return h5py


def _h5_bytes(model: Any, include_optimizer: bool) -> bytes:
    """Keras's ``model.weights.h5``: groups ``<path>/vars`` (attribute ``name``) holding
    datasets ``0``, ``1``, ..."""
    h5py = _h5py()
    weights, integers = _weight_entries(model, include_optimizer)
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.create_group("vars").attrs["name"] = model.name
        for key, layer in _layer_keys(model):
            f.create_group(f"{key}/vars").attrs["name"] = layer.name
        if include_optimizer and getattr(model, "optimizer", None) is not None:
            f.create_group("optimizer/vars").attrs["name"] = model.optimizer.name
        for key, value in integers:
            path, index = key.rsplit("/", 1)
            f[path].create_dataset(index, data=np.asarray(value, np.int64))
        for key, array in weights:
            path, index = key.rsplit("/", 1)
            f[path].create_dataset(index, data=array)
    return buffer.getvalue()


def _read_h5(data: bytes | str) -> tuple[dict[str, Any], dict[str, int]]:
    """The datasets of a Keras weights file, by path, without their ``/vars`` wrapper
    removed (``layers/dense/vars/0``); integer scalars apart."""
    h5py = _h5py()
    store: dict[str, Any] = {}
    integers: dict[str, int] = {}
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        with h5py.File(source, "r") as f:

            def visit(name: str, obj: Any) -> None:
                if not isinstance(obj, h5py.Dataset):
                    return
                if obj.dtype.kind in "iu" and obj.shape == ():
                    integers[name] = int(obj[()])
                elif obj.dtype == np.float32:
                    _refuse_h5_bomb(name, obj)
                    store[name] = np.asarray(obj[()])
                else:
                    raise DTypeError(
                        f"load: HDF5 dataset {name!r} has dtype {obj.dtype}; kandle loads "
                        "float32 weights and integer counters only"
                    )

            f.visititems(visit)
    except KandleError:
        raise
    except Exception as e:
        # h5py's errors for a damaged file are not one documented set (OSError,
        # RuntimeError, KeyError, ValueError, ...): any of them means a bad file.
        raise KandleIOError(f"load: not a valid HDF5 weights file ({e})") from None
    return store, integers


def _refuse_h5_bomb(name: str, dataset: Any) -> None:
    """Refuses a dataset whose declared size is far beyond the bytes it stores, before
    reading it allocates that size (a compression bomb)."""
    declared = int(dataset.size) * dataset.dtype.itemsize
    stored = int(dataset.id.get_storage_size())
    if declared > max(1 << 20, 1024 * stored):
        raise AllocationError(
            f"load: HDF5 dataset {name!r} declares {declared} bytes but stores {stored}"
        )


# ---------------------------------------------------------------------------- API


def _check_keras_path(filepath: Any, what: str) -> str:
    path = os.fspath(filepath)
    if not str(path).endswith(".keras"):
        raise InvalidArgumentError(
            f"The filename must end in `.keras`. Received: filepath={path}"
            + (
                " (for weights alone use model.save_weights with .weights.h5 or .safetensors)"
                if what == "save"
                else ""
            )
        )
    return str(path)


def _h5py_available() -> bool:
    try:
        import h5py  # type: ignore[import-untyped, import-not-found]  # noqa: F401
    except ImportError:
        return False
    return True


# Whether save_model has warned that, without h5py, it wrote npz weights.
_warned_npz_fallback = False


def _default_weights_format() -> str:
    """``"h5"`` (Keras's own, which Keras loads) when h5py is importable; else ``"npz"``,
    with a warning once per process that Keras will not load the file."""
    global _warned_npz_fallback
    if _h5py_available():
        return "h5"
    if not _warned_npz_fallback:
        _warned_npz_fallback = True
        warnings.warn(
            "save_model: h5py is not installed, so the .keras file holds its weights as "
            "model.weights.npz, which kandle loads but Keras 3 does not (its loader "
            "refuses .npz weights). For a file Keras loads, install h5py "
            "(`pip install kandle[h5]`) and kandle writes Keras's model.weights.h5; pass "
            'weights_format="npz" to choose npz and silence this warning.',
            stacklevel=4,
        )
    return "npz"


def save_model(
    model: Any,
    filepath: Any,
    overwrite: bool = True,
    zipped: bool | None = None,
    weights_format: str | None = None,
    include_optimizer: bool = True,
) -> None:
    """Saves ``model`` to the ``.keras`` file ``filepath`` (atomically: a crash leaves
    the old file or the new one): its config, weights and optimizer state.

    ``weights_format="h5"`` writes Keras's default ``model.weights.h5`` through h5py
    (``pip install kandle[h5]``; h5py comes with Keras), a file Keras 3 itself loads.
    ``"npz"`` writes ``model.weights.npz`` with numpy alone; kandle loads it, Keras 3
    does not (its loader reads npz without pickle and refuses it). The default,
    ``None``, is ``"h5"`` when h5py is importable, else ``"npz"`` with a warning (once
    per process) that names the fix.
    """
    path = _check_keras_path(filepath, "save")
    if zipped is False:
        raise InvalidArgumentError("save_model: kandle writes zipped .keras files only")
    if weights_format not in (None, "h5", "npz"):
        raise InvalidArgumentError(
            "Unknown `weights_format` argument. Expected 'h5' or 'npz'. "
            f"Received: weights_format={weights_format}"
        )
    if not overwrite and os.path.exists(path):
        raise KandleIOError(f"save_model: {path} exists and overwrite=False")
    if not model.built:
        raise InvalidArgumentError(
            f"save_model: model {model.name!r} is not built; call it or build it first"
        )
    if weights_format is None:
        weights_format = _default_weights_format()
    config = json.dumps(plain(serialize_model(model)))
    if weights_format == "npz":
        weights, integers = _weight_entries(model, include_optimizer)
        _core.save_keras(path, config, weights, integers)
    else:
        _core.save_keras_h5(path, config, _h5_bytes(model, include_optimizer))


def load_model(
    filepath: Any,
    custom_objects: dict[str, Any] | None = None,
    compile: bool = True,
    safe_mode: bool = True,
) -> Any:
    """The model saved in the ``.keras`` file ``filepath`` (by kandle or by Keras 3),
    with its weights and, with ``compile=True``, its optimizer state.

    Classes come from kandle's registry and ``custom_objects`` only. ``safe_mode`` is
    always on: kandle never deserializes code, so ``safe_mode=False`` changes nothing.
    """
    path = _check_keras_path(filepath, "load")
    config_json, _metadata, weights, integers, h5 = _core.read_keras(path)
    try:
        config = json.loads(config_json)
    except ValueError as e:
        raise KandleIOError(f"load_model: {path}: config.json is not JSON ({e})") from None
    custom = dict(custom_objects or {})
    model = model_from_config(config, custom)
    if compile and isinstance(config.get("compile_config"), dict):
        _compile_from_config(model, config["compile_config"], custom)
    if h5 is not None:
        store, int_store = _read_h5(h5)
    else:
        store, int_store = dict(weights or []), dict(integers or [])
    plan = _plan_layer_weights(model, store, path)
    optimizer_plan = _plan_optimizer(model, store, int_store) if compile else None
    _apply_plan(plan)
    if optimizer_plan is not None:
        optimizer_plan()
    return model


def save_weights(model: Any, filepath: Any, overwrite: bool = True) -> None:
    """Saves the weights to ``.weights.h5`` (Keras's file, through h5py) or
    ``.safetensors`` (candle's and PyTorch's names and layouts), atomically."""
    path = str(os.fspath(filepath))
    if not overwrite and os.path.exists(path):
        raise KandleIOError(f"save_weights: {path} exists and overwrite=False")
    if path.endswith(".safetensors"):
        _core.save_safetensors(path, _safetensors_entries(model))
    elif path.endswith(".weights.h5"):
        _core.write_atomic(path, _h5_bytes(model, include_optimizer=False))
    else:
        raise InvalidArgumentError(
            f"The filename must end in `.weights.h5` or `.safetensors`. Received: filepath={path}"
        )


def _safetensors_entries(model: Any) -> list[tuple[str, Any]]:
    entries = []
    for layer in model.layers:
        names = SAFETENSORS_NAMES.get(type(layer).__name__)
        if names is None:
            names = tuple(w.name for w in layer.weights)
        layouts = SAFETENSORS_LAYOUTS.get(type(layer).__name__, {})
        for i, (name, w) in enumerate(zip(names, layer.weights)):
            value = w if i not in layouts else np.ascontiguousarray(w.numpy().transpose(layouts[i]))
            entries.append((f"{layer.name}.{name}", value))
    return entries


def load_weights(model: Any, filepath: Any, skip_mismatch: bool = False) -> None:
    """Loads weights saved by :func:`save_weights` (or by Keras, ``.weights.h5``; or by
    candle or PyTorch, ``.safetensors``). Everything is checked before any weight
    changes: on an error the model is left exactly as it was."""
    if skip_mismatch:
        raise InvalidArgumentError("load_weights: skip_mismatch=True is not supported")
    path = str(os.fspath(filepath))
    if path.endswith(".safetensors"):
        tensors = dict(_core.load_safetensors(path))
        plan = []
        for layer in model.layers:
            names = SAFETENSORS_NAMES.get(type(layer).__name__) or tuple(
                w.name for w in layer.weights
            )
            layouts = SAFETENSORS_LAYOUTS.get(type(layer).__name__, {})
            arrays = []
            for i, (name, w) in enumerate(zip(names, layer.weights)):
                key = f"{layer.name}.{name}"
                if key not in tensors:
                    raise InvalidArgumentError(f"load_weights: {path} has no tensor {key!r}")
                array = tensors.pop(key)
                if i in layouts and array.ndim == len(layouts[i]):
                    array = np.ascontiguousarray(array.transpose(np.argsort(layouts[i])))
                if array.shape != tuple(w.shape):
                    raise ShapeError(
                        f"load_weights: {path}: tensor {key!r} has shape {array.shape}, "
                        f"expected {tuple(w.shape)}"
                    )
                arrays.append(array)
            plan.append((layer, arrays))
        if tensors:
            raise InvalidArgumentError(
                f"load_weights: {path} has tensors the model does not have: {sorted(tensors)}"
            )
        for layer, arrays in plan:
            for w, array in zip(layer.weights, arrays):
                w.assign(array)
    elif path.endswith(".h5"):
        with open(path, "rb") as f:
            store, _ = _read_h5(f.read())
        _apply_plan(_plan_layer_weights(model, store, path))
    elif path.endswith(".keras"):
        _config, _metadata, weights, _integers, h5 = _core.read_keras(path)
        store = _read_h5(h5)[0] if h5 is not None else dict(weights or [])
        _apply_plan(_plan_layer_weights(model, store, path))
    else:
        raise InvalidArgumentError(
            "The filename must end in `.weights.h5`, `.keras` or `.safetensors`. "
            f"Received: filepath={path}"
        )


__all__ = [
    "get_registered_name",
    "load_model",
    "load_weights",
    "model_from_config",
    "register_keras_serializable",
    "save_model",
    "save_weights",
    "serialize_model",
]
