"""Malformed input thrown at every public constructor and at the model's methods: each
call returns or raises an ``Exception`` with a message, never a PanicException (which
``except Exception`` misses), an abort or a crash, and never modifies what it was given.
Boolean arguments take booleans only; numpy scalars are taken wherever Python numbers
are. Hypothesis runs with a fixed seed and a bounded number of examples."""

from __future__ import annotations

import copy
import inspect
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import kandle as kd

FAMILIES = [
    kd.layers,
    kd.losses,
    kd.metrics,
    kd.optimizers,
    kd.optimizers.schedules,
    kd.callbacks,
    kd.initializers,
    kd.regularizers,
]


def public_classes():
    for module in FAMILIES:
        for name in module.__all__:
            cls = getattr(module, name)
            if inspect.isclass(cls):
                yield f"{module.__name__}.{name}", cls


CLASSES = dict(public_classes())


def junk_values():
    """Wrong types and out-of-range values, made fresh for each call so that a call
    that modifies one is caught by comparing with a copy."""
    return [
        None,
        "junk",
        "",
        [[1, 2], [3]],
        {"a": {"b": [1]}},
        object(),
        -1,
        0,
        2**70,
        -(2**70),
        float("nan"),
        float("inf"),
        -0.5,
        1e30,
        (),
        (0, -1),
        np.ones((2, 2)),
        np.float32(0.5),
        np.int64(3),
        lambda *a: a,
    ]


def parameters(cls):
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        return []
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p for p in signature.parameters.values() if p.kind in kinds]


def required_arguments(params):
    """A stand-in for each required argument (1 fits most: units, rate... or is refused)."""
    return {p.name: 1 for p in params if p.default is inspect.Parameter.empty}


def call_and_check_untouched(function, *args, **kwargs):
    """Calls ``function``; an ``Exception`` is fine, anything else (PanicException is a
    BaseException) fails the test; the arguments must be left unchanged."""
    saved = copy.deepcopy((args, kwargs))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            function(*args, **kwargs)
    except Exception as error:
        assert str(error), f"{type(error).__name__} without a message"
    for before, after in zip(saved[0] + tuple(saved[1].values()), args + tuple(kwargs.values())):
        if isinstance(before, np.ndarray):
            np.testing.assert_array_equal(before, after)
        elif isinstance(before, list | dict | tuple):
            assert before == after


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_constructors_take_junk_without_crashing(name):
    cls = CLASSES[name]
    params = parameters(cls)
    for param in params:
        for value in junk_values():
            arguments = {**required_arguments(params), param.name: value}
            call_and_check_untouched(cls, **arguments)


BOOLEAN_ARGUMENTS = [
    (name, param.name)
    for name, cls in sorted(CLASSES.items())
    for param in parameters(cls)
    if isinstance(param.default, bool)
]


@pytest.mark.parametrize("name, argument", BOOLEAN_ARGUMENTS)
def test_boolean_arguments_take_booleans_only(name, argument):
    cls = CLASSES[name]
    required = required_arguments(parameters(cls))
    for value in ("yes", 2, None, 1.0, [True]):
        with pytest.raises(ValueError, match=f"`{argument}` must be a boolean"):
            cls(**{**required, argument: value})
    default = inspect.signature(cls).parameters[argument].default
    try:
        obj = cls(**{**required, argument: np.bool_(default)})
    except Exception as error:  # a required stand-in that the class refuses
        assert argument not in str(error)
        return
    if hasattr(obj, "get_config"):
        assert type(obj.get_config().get(argument, default)) is bool


NUMERIC_ARGUMENTS = [
    (name, param.name)
    for name, cls in sorted(CLASSES.items())
    for param in parameters(cls)
    if type(param.default) in (int, float) and param.default != 0
]


@pytest.mark.parametrize("name, argument", NUMERIC_ARGUMENTS)
def test_numpy_scalars_are_taken_as_python_numbers(name, argument):
    cls = CLASSES[name]
    required = required_arguments(parameters(cls))
    default = inspect.signature(cls).parameters[argument].default
    numpy_value = np.float64(default) if isinstance(default, float) else np.int64(default)
    try:
        plain = cls(**{**required, argument: default})
    except Exception:
        return  # the stand-ins for required arguments do not fit this class
    from_numpy = cls(**{**required, argument: numpy_value})
    if hasattr(plain, "get_config"):
        config = {k: v for k, v in from_numpy.get_config().items() if k != "name"}
        assert config == {k: v for k, v in plain.get_config().items() if k != "name"}
        assert not any(isinstance(v, np.generic) for v in config.values())


# ------------------------------------------------------------------ model methods


def compiled_model():
    model = kd.Sequential([kd.Input((3,)), kd.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    return model


X = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
Y = np.ones((4, 2), np.float32)

METHOD_JUNK = {
    # A valid call for each method; each argument in turn is replaced by junk.
    "fit": dict(x=X, y=Y, batch_size=2, epochs=1, verbose=0, validation_split=0.0),
    "evaluate": dict(x=X, y=Y, batch_size=2, verbose=0),
    "predict": dict(x=X, batch_size=2, verbose=0),
    "train_on_batch": dict(x=X, y=Y),
    "test_on_batch": dict(x=X, y=Y),
    "predict_on_batch": dict(x=X),
}


@pytest.mark.parametrize("method", sorted(METHOD_JUNK))
def test_model_methods_take_junk_without_crashing(method):
    valid = METHOD_JUNK[method]
    model = compiled_model()
    for argument in valid:
        for value in junk_values():
            if argument == "epochs" and isinstance(value, int) and value > 10:
                continue  # a valid, endless fit
            call_and_check_untouched(getattr(model, method), **{**valid, argument: value})
    # The model still works after all that.
    model.fit(X, Y, epochs=1, verbose=0)
    assert np.isfinite(model.predict(X, verbose=0)).all()


# ------------------------------------------------------------ hypothesis: arrays

ARRAYS = hnp.arrays(
    dtype=st.sampled_from([np.float32, np.float64, np.float16, np.int32, np.uint8, np.bool_]),
    shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5),
    elements={"allow_nan": True, "allow_infinity": True},
)
SETTINGS = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@SETTINGS
@given(x=ARRAYS)
def test_layers_take_any_array(x):
    for layer in (
        kd.layers.Dense(2),
        kd.layers.Flatten(),
        kd.layers.LayerNormalization(),
        kd.layers.Dropout(0.5),
        kd.layers.Activation("softmax"),
    ):
        call_and_check_untouched(layer, x)


@SETTINGS
@given(y_true=ARRAYS, y_pred=ARRAYS)
def test_losses_and_metrics_take_any_arrays(y_true, y_pred):
    for loss in (kd.losses.MeanSquaredError(), kd.losses.CategoricalCrossentropy()):
        call_and_check_untouched(loss, y_true, y_pred)
    for metric in (kd.metrics.MeanAbsoluteError(), kd.metrics.BinaryAccuracy(), kd.metrics.AUC()):
        call_and_check_untouched(metric.update_state, y_true, y_pred)


@SETTINGS
@given(x=ARRAYS, y=ARRAYS)
def test_fit_evaluate_predict_take_any_arrays(x, y):
    model = compiled_model()
    call_and_check_untouched(model.fit, x, y, epochs=1, verbose=0)
    call_and_check_untouched(model.evaluate, x, y, verbose=0)
    call_and_check_untouched(model.predict, x, verbose=0)
