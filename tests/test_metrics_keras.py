"""The loss-style metrics (cross-entropies, KLDivergence, Poisson, LogCoshError,
CosineSimilarity, hinges, MAPE, MSLE), Sum and MeanMetricWrapper, and NaN in every
mean-type metric, checked against real Keras (KERAS_BACKEND=jax, set in conftest):
accumulation over several update_state calls with sample weights, reset_state, configs,
string names, bad arguments, and compile(metrics=...) in fit."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import kandle as kd
from helpers import (
    binary_labels,
    class_labels,
    counts,
    one_hot_labels,
    positive,
    probabilities,
    randn,
)


def labels_with_void(rng, shape):
    y = class_labels(rng, shape)
    y[::3] = -1
    return y


def logits(rng, shape):
    return randn(rng, shape) * 3


# id: (class name, kwargs, y_true maker, y_pred maker)
CASES = {
    "bce": ("BinaryCrossentropy", {}, binary_labels, probabilities),
    "bce_logits_smooth": (
        "BinaryCrossentropy",
        {"from_logits": True, "label_smoothing": 0.2},
        binary_labels,
        logits,
    ),
    "cce": ("CategoricalCrossentropy", {}, one_hot_labels, probabilities),
    "cce_logits_smooth": (
        "CategoricalCrossentropy",
        {"from_logits": True, "label_smoothing": 0.1},
        one_hot_labels,
        logits,
    ),
    "scce": ("SparseCategoricalCrossentropy", {}, class_labels, probabilities),
    "scce_logits": ("SparseCategoricalCrossentropy", {"from_logits": True}, class_labels, logits),
    "scce_ignore": (
        "SparseCategoricalCrossentropy",
        {"ignore_class": -1},
        labels_with_void,
        probabilities,
    ),
    "kld": ("KLDivergence", {}, probabilities, probabilities),
    "poisson": ("Poisson", {}, counts, positive),
    "logcosh": ("LogCoshError", {}, randn, randn),
    "cosine": ("CosineSimilarity", {}, randn, randn),
    "cosine_axis0": ("CosineSimilarity", {"axis": 0}, randn, randn),
    "hinge": ("Hinge", {}, binary_labels, randn),
    "squared_hinge": ("SquaredHinge", {}, binary_labels, randn),
    "categorical_hinge": ("CategoricalHinge", {}, one_hot_labels, randn),
    "mape": ("MeanAbsolutePercentageError", {}, positive, randn),
    "msle": ("MeanSquaredLogarithmicError", {}, positive, positive),
    # Existing mean-type metrics, for the NaN checks below.
    "mse": ("MeanSquaredError", {}, randn, randn),
    "mae": ("MeanAbsoluteError", {}, randn, randn),
    "rmse": ("RootMeanSquaredError", {}, randn, randn),
    "binary_accuracy": ("BinaryAccuracy", {}, binary_labels, probabilities),
    "categorical_accuracy": ("CategoricalAccuracy", {}, one_hot_labels, probabilities),
    "sparse_categorical_accuracy": ("SparseCategoricalAccuracy", {}, class_labels, probabilities),
    "top_k": ("TopKCategoricalAccuracy", {"k": 2}, one_hot_labels, probabilities),
    "sparse_top_k": ("SparseTopKCategoricalAccuracy", {"k": 2}, class_labels, probabilities),
}
NEW = [c for c in CASES if c not in (
    "mse", "mae", "rmse", "binary_accuracy", "categorical_accuracy",
    "sparse_categorical_accuracy", "top_k", "sparse_top_k",
)]  # fmt: skip


def both(cls_name, kwargs):
    return getattr(kd.metrics, cls_name)(**kwargs), getattr(keras.metrics, cls_name)(**kwargs)


def batches(case, seed=0, n_batches=3, shape=(5, 4)):
    _, _, make_true, make_pred = CASES[case]
    rng = np.random.default_rng(seed)
    return [(make_true(rng, shape), make_pred(rng, shape)) for _ in range(n_batches)]


def check_close(ours, theirs, rtol=2e-5):
    np.testing.assert_allclose(ours.result(), float(theirs.result()), rtol=rtol, atol=1e-6)


@pytest.mark.parametrize("weights", ["none", "per_sample", "per_entry"])
@pytest.mark.parametrize("case", NEW)
def test_accumulates_as_keras(case, weights):
    cls_name, kwargs, _, _ = CASES[case]
    ours, theirs = both(cls_name, kwargs)
    rng = np.random.default_rng(1)
    for t, p in batches(case):
        rows = len(t) if "axis0" not in case else t.shape[1]
        w = {
            "none": None,
            "per_sample": rng.uniform(0, 2, rows).astype(np.float32),
            "per_entry": rng.uniform(0, 2, (rows, 1)).astype(np.float32),
        }[weights]
        ours.update_state(t, p, sample_weight=w)
        theirs.update_state(t, p, sample_weight=w)
        check_close(ours, theirs)
    ours.reset_state()
    theirs.reset_state()
    assert ours.result() == float(theirs.result()) == 0.0
    t, p = batches(case, seed=2, n_batches=1)[0]
    ours.update_state(t, p)
    theirs.update_state(t, p)
    check_close(ours, theirs)


@pytest.mark.parametrize("case", NEW)
def test_default_names_and_configs_match_keras(case):
    cls_name, kwargs, _, _ = CASES[case]
    ours, theirs = both(cls_name, kwargs)
    assert ours.name == theirs.name
    config, keras_config = ours.get_config(), theirs.get_config()
    if cls_name == "CosineSimilarity":
        # Keras leaves axis out (and so loses it); kandle keeps it.
        assert config.pop("axis") == kwargs.get("axis", -1)
    assert config == keras_config
    cls = type(ours)
    again = cls.from_config(ours.get_config())
    assert again.get_config() == ours.get_config()
    assert cls.from_config(keras_config).name == ours.name
    type(theirs).from_config(ours.get_config())
    t, p = batches(case, n_batches=1)[0]
    again.update_state(t, p)
    theirs.update_state(t, p)
    check_close(again, theirs)


def test_sum_matches_keras(rng):
    ours, theirs = kd.metrics.Sum(), keras.metrics.Sum()
    assert ours.name == theirs.name == "sum"
    assert ours.get_config() == theirs.get_config()
    for values, w in [
        (randn(rng, (4,)), None),
        (randn(rng, (4, 3)), rng.uniform(0, 2, 4).astype(np.float32)),
        (randn(rng, (4, 3)), rng.uniform(0, 2, (4, 3)).astype(np.float32)),
        (randn(rng, (2, 3, 2)), rng.uniform(0, 2, (2, 1)).astype(np.float32)),
        (np.float32(2.5), np.float32(3.0)),
    ]:
        ours.update_state(values, sample_weight=w)
        theirs.update_state(values, sample_weight=w)
        check_close(ours, theirs)
    ours.reset_state()
    assert ours.result() == 0.0


WRAPPED = [
    ("mean_squared_error", {}, randn, randn),
    ("kl_divergence", {}, probabilities, probabilities),
    ("binary_crossentropy", {"from_logits": True, "label_smoothing": 0.1}, binary_labels, logits),
    ("categorical_crossentropy", {"label_smoothing": 0.2}, one_hot_labels, probabilities),
    ("sparse_categorical_crossentropy", {"ignore_class": -1}, labels_with_void, probabilities),
    (
        "binary_focal_crossentropy",
        {"gamma": 1.0, "apply_class_balancing": True},
        binary_labels,
        probabilities,
    ),
    ("categorical_focal_crossentropy", {"alpha": 0.5}, one_hot_labels, probabilities),
    ("huber", {"delta": 0.5}, randn, randn),
    ("log_cosh", {}, randn, randn),
    ("squared_hinge", {}, binary_labels, randn),
]


@pytest.mark.parametrize("fn,kwargs,make_true,make_pred", WRAPPED)
def test_mean_metric_wrapper_of_builtin_functions_matches_keras(fn, kwargs, make_true, make_pred):
    ours = kd.metrics.MeanMetricWrapper(getattr(kd.losses, fn), name="w", **kwargs)
    theirs = keras.metrics.MeanMetricWrapper(getattr(keras.losses, fn), name="w", **kwargs)
    rng = np.random.default_rng(3)
    for _ in range(3):
        t, p = make_true(rng, (5, 4)), make_pred(rng, (5, 4))
        w = rng.uniform(0, 2, 5).astype(np.float32)
        ours.update_state(t, p, sample_weight=w)
        theirs.update_state(t, p, sample_weight=w)
        check_close(ours, theirs)
    config = ours.get_config()
    assert config == theirs.get_config()
    again = kd.metrics.MeanMetricWrapper.from_config(config)
    assert again.get_config() == config
    # Keras loads kandle's config.
    assert keras.metrics.MeanMetricWrapper.from_config(config).get_config() == config


def test_mean_metric_wrapper_of_a_python_function(rng):
    def abs_error(y_true, y_pred):
        return abs(kd.ops.convert_to_tensor(y_true) - y_pred)

    def keras_abs_error(y_true, y_pred):
        return keras.ops.abs(y_true - y_pred)

    ours = kd.metrics.MeanMetricWrapper(abs_error)
    theirs = keras.metrics.MeanMetricWrapper(keras_abs_error)
    assert ours.name.startswith("mean_metric_wrapper")
    for _ in range(2):
        t, p = randn(rng, (4, 3)), randn(rng, (4, 3))
        w = rng.uniform(0, 2, 4).astype(np.float32)
        ours.update_state(t, p, sample_weight=w)
        theirs.update_state(t, p, sample_weight=w)
        check_close(ours, theirs)
    assert ours.get_config()["fn"]["config"] == "abs_error"
    ours.reset_state()
    assert ours.result() == 0.0


def test_python_function_metrics_run_in_fit_and_evaluate(rng):
    def abs_error(y_true, y_pred):
        return abs(kd.ops.convert_to_tensor(y_true) - y_pred)

    x, y = randn(rng, (8, 3)), randn(rng, (8, 1))
    for metric, name in [
        (abs_error, "abs_error"),
        (kd.metrics.MeanMetricWrapper(abs_error, name="abs"), "abs"),
    ]:
        model = kd.Sequential([kd.Input((3,)), kd.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse", metrics=[metric])
        history = model.fit(x, y, epochs=1, verbose=0)
        assert sorted(history.history) == sorted(["loss", name])
        value = model.evaluate(x, y, verbose=0, return_dict=True)[name]
        expected = np.mean(np.abs(y - model.predict(x, verbose=0)))
        assert value == pytest.approx(expected, rel=1e-5)


def test_string_names_resolve_as_in_keras():
    names = [
        "binary_crossentropy", "bce", "BCE", "BinaryCrossentropy", "categorical_crossentropy",
        "sparse_categorical_crossentropy", "kl_divergence", "KLDivergence", "poisson",
        "log_cosh_error", "LogCoshError", "cosine_similarity", "hinge", "squared_hinge",
        "categorical_hinge", "mean_absolute_percentage_error", "mape", "MAPE",
        "mean_squared_logarithmic_error", "msle", "MSLE", "sum", "Sum", "mean",
    ]  # fmt: skip
    for name in names:
        ours, theirs = kd.metrics.get(name), keras.metrics.get(name)
        assert type(ours).__name__ == type(theirs).__name__, name
    for name in ["logcosh", "log_cosh", "kld", "mean_metric_wrapper"]:
        with pytest.raises((ValueError, TypeError)):
            keras.metrics.get(name)
        with pytest.raises((ValueError, TypeError)):
            kd.metrics.get(name)


def test_metric_functions_are_exported_as_in_keras(rng):
    t, p = probabilities(rng, (4, 3)), probabilities(rng, (4, 3))
    for name in [
        "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy",
        "categorical_focal_crossentropy", "categorical_hinge", "hinge", "huber",
        "kl_divergence", "log_cosh", "mean_absolute_error", "mean_absolute_percentage_error",
        "mean_squared_error", "mean_squared_logarithmic_error", "poisson", "squared_hinge",
    ]:  # fmt: skip
        got = getattr(kd.metrics, name)(t, p).numpy()
        want = np.asarray(getattr(keras.metrics, name)(t, p))
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6)


# ---------------------------------------------------------------- NaN
@pytest.mark.parametrize("where", ["y_pred", "y_true", "sample_weight"])
@pytest.mark.parametrize("case", list(CASES))
def test_nan_as_in_keras(case, where):
    cls_name, kwargs, _, _ = CASES[case]
    ours, theirs = both(cls_name, kwargs)
    (t, p), (t2, p2) = batches(case, seed=4, n_batches=2)
    rows = t.shape[1] if "axis0" in case else len(t)
    w = np.random.default_rng(5).uniform(0.5, 1.5, rows).astype(np.float32)
    {"y_pred": p, "y_true": t, "sample_weight": w}[where].flat[1] = np.nan
    if where == "y_true" and cls_name == "SparseCategoricalCrossentropy":
        # Keras casts a NaN class index to an integer (class 0 on JAX, something else on
        # other backends); kandle refuses it.
        with pytest.raises(kd.errors.InvalidArgumentError, match="label NaN at position 1"):
            ours.update_state(t, p, sample_weight=w)
        return
    for metric in (ours, theirs):
        metric.update_state(t, p, sample_weight=w)
        metric.update_state(t2, p2)
    want = float(theirs.result())
    np.testing.assert_allclose(ours.result(), want, rtol=2e-5, atol=1e-6, equal_nan=True)


def test_mean_and_sum_of_nan(rng):
    for cls in ("Mean", "Sum"):
        ours, theirs = getattr(kd.metrics, cls)(), getattr(keras.metrics, cls)()
        values = np.array([1.0, np.nan, 3.0], np.float32)
        ours.update_state(values)
        theirs.update_state(values)
        assert np.isnan(ours.result()) and np.isnan(float(theirs.result()))
    # Keras's Mean divides with divide_no_nan: no weight at all gives 0.
    ours, theirs = kd.metrics.Mean(), keras.metrics.Mean()
    for metric in (ours, theirs):
        metric.update_state([np.nan, 2.0], sample_weight=[0.0, 0.0])
    assert ours.result() == float(theirs.result()) == 0.0


# ---------------------------------------------------------------- bad arguments
def test_bad_arguments():
    M, E = kd.metrics, kd.errors
    with pytest.raises(E.InvalidArgumentError, match=r"axis=-1.*axis=0"):
        M.SparseCategoricalCrossentropy(axis=0)
    with pytest.raises(E.InvalidArgumentError, match="label_smoothing"):
        M.BinaryCrossentropy(label_smoothing=2.0)
    with pytest.raises(E.InvalidArgumentError, match="label_smoothing to be a number"):
        M.CategoricalCrossentropy(label_smoothing="x")
    with pytest.raises(E.InvalidArgumentError, match="ignore_class to be an integer, got 0.5"):
        M.SparseCategoricalCrossentropy(ignore_class=0.5)
    with pytest.raises(E.InvalidArgumentError, match="axis to be an integer"):
        M.CosineSimilarity(axis=None)
    with pytest.raises(E.InvalidArgumentError, match="expected `delta` to be a finite number"):
        M.MeanMetricWrapper(kd.losses.huber, delta=object())
    # NumPy scalars are numbers.
    m = M.MeanMetricWrapper(kd.losses.huber, delta=np.float32(0.5))
    m.update_state([[0.0]], [[2.0]])
    assert m.result() == pytest.approx(0.875)
    assert M.BinaryCrossentropy(label_smoothing=np.float64(0.1)).label_smoothing == 0.1
    with pytest.raises(TypeError, match="fn to be callable"):
        M.MeanMetricWrapper("mse")
    with pytest.raises(ValueError, match="Could not interpret the metric function 'nope'"):
        M.MeanMetricWrapper.from_config({"name": "x", "fn": "nope"})
    with pytest.raises(E.InvalidArgumentError, match="deltaa"):
        M.MeanMetricWrapper(kd.losses.huber, deltaa=1.0)
    with pytest.raises(E.ShapeError, match=r"\(2, 3\).*\(2, 4\)"):
        M.KLDivergence().update_state(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(E.ShapeError, match="sample_weight"):
        M.Sum().update_state(np.zeros((2, 3)), sample_weight=np.ones(3))


# ---------------------------------------------------------------- compile and fit
def initial_weights(shapes, seed=1):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(s) * 0.5).astype(np.float32) for s in shapes]


def fit_both(
    loss, ours_metrics, keras_metrics, out, out_act, make_y, sample_weight=False, weighted=False
):
    """Trains the same model in kandle and Keras with these metrics (as weighted_metrics
    with `weighted`) and compares their histories."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((20, 4)).astype(np.float32)
    y = make_y(rng, (20, out))
    sw = rng.uniform(0.2, 2.0, 20).astype(np.float32) if sample_weight else None
    weights = initial_weights([(4, 5), (5,), (5, out), (out,)])
    histories = []
    for lib, metrics in ((kd, ours_metrics), (keras, keras_metrics)):
        model = lib.Sequential(
            [lib.Input((4,)), lib.layers.Dense(5, activation="tanh"),
             lib.layers.Dense(out, activation=out_act)]
        )  # fmt: skip
        model.set_weights(weights)
        lib_loss = loss if isinstance(loss, str) else loss(lib)
        kind = "weighted_metrics" if weighted else "metrics"
        model.compile(optimizer=lib.optimizers.SGD(0.1), loss=lib_loss, **{kind: metrics})
        history = model.fit(
            x, y, sample_weight=sw, batch_size=6, epochs=2, shuffle=False, verbose=0,
            validation_split=0.25,
        )  # fmt: skip
        histories.append(history.history)
    ours, theirs = histories
    assert sorted(ours) == sorted(theirs)
    for key in theirs:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-4, atol=1e-6, err_msg=key)


def test_metrics_by_string_in_fit_match_keras():
    names = [
        "binary_crossentropy", "bce", "kl_divergence", "poisson", "log_cosh_error",
        "cosine_similarity", "hinge", "squared_hinge", "categorical_hinge", "mape", "msle",
    ]  # fmt: skip
    fit_both("binary_crossentropy", names, names, 3, "sigmoid", binary_labels)
    fit_both("categorical_crossentropy", ["categorical_crossentropy"],
             ["categorical_crossentropy"], 3, "softmax", one_hot_labels)  # fmt: skip
    fit_both("sparse_categorical_crossentropy", ["sparse_categorical_crossentropy"],
             ["sparse_categorical_crossentropy"], 3, "softmax", class_labels)  # fmt: skip


def test_metrics_by_class_and_function_in_fit_match_keras():
    def classes(lib):
        M = lib.metrics
        return [
            M.BinaryCrossentropy(from_logits=True, label_smoothing=0.1), M.KLDivergence(),
            M.Poisson(name="pois"), M.LogCoshError(), M.CosineSimilarity(axis=-1), M.Hinge(),
            M.SquaredHinge(), M.CategoricalHinge(), M.MeanAbsolutePercentageError(),
            M.MeanSquaredLogarithmicError(),
            M.MeanMetricWrapper(lib.losses.mean_squared_error, name="wrapped_mse"),
            lib.losses.poisson, lib.losses.huber,
        ]  # fmt: skip

    def loss(lib):
        return lib.losses.BinaryCrossentropy(from_logits=True)

    fit_both(loss, classes(kd), classes(keras), 2, None, binary_labels)


def test_weighted_metrics_in_fit_match_keras():
    def metrics(lib):
        M = lib.metrics
        return [M.KLDivergence(), M.Hinge(), M.CosineSimilarity(), "msle", lib.losses.poisson]

    ours, theirs = metrics(kd), metrics(keras)
    fit_both("mse", ours, theirs, 3, "sigmoid", probabilities, sample_weight=True, weighted=True)
    # Sample weights reach only the loss when the metrics are plain metrics.
    ours, theirs = metrics(kd), metrics(keras)
    fit_both("mse", ours, theirs, 3, "sigmoid", probabilities, sample_weight=True)
