"""The losses added for Keras parity (KLDivergence, Poisson, LogCosh, the hinges,
CosineSimilarity, MAPE, MSLE, the focal cross-entropies, Dice, Tversky) and NaN
propagation in every loss, checked against real Keras (KERAS_BACKEND=jax, set in
conftest): values with each reduction and with sample weights, gradients, configs,
string names, bad arguments, and fit histories."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

import kandle as kd
from helpers import (
    binary_labels,
    counts,
    one_hot_labels,
    positive,
    probabilities,
    randn,
)

REDUCTIONS = ["sum_over_batch_size", "sum", None, "none", "mean", "mean_with_sample_weight"]


# ---------------------------------------------------------------- inputs


def signs(rng, shape):
    return (rng.integers(0, 2, shape) * 2 - 1).astype(np.float32)


def spread(rng, shape):
    """Values around [-0.5, 3], with exact zeros: MAPE's and MSLE's clipping."""
    x = rng.uniform(-0.5, 3.0, shape).astype(np.float32)
    x.flat[::5] = 0.0
    return x


# id: (class name, kwargs, y_true maker, y_pred maker, shape)
CASES = {
    "kld": ("KLDivergence", {}, probabilities, probabilities, (6, 4)),
    "kld_out_of_range": ("KLDivergence", {}, spread, spread, (6, 4)),
    "poisson": ("Poisson", {}, counts, positive, (6, 4)),
    "log_cosh": ("LogCosh", {}, randn, randn, (6, 4)),
    "log_cosh_large": ("LogCosh", {}, randn, lambda r, s: randn(r, s) * 60, (6, 4)),
    "hinge_01": ("Hinge", {}, binary_labels, randn, (6, 4)),
    "hinge_signed": ("Hinge", {}, signs, randn, (6, 4)),
    "hinge_other": ("Hinge", {}, randn, randn, (6, 4)),
    "squared_hinge": ("SquaredHinge", {}, binary_labels, randn, (6, 4)),
    "squared_hinge_signed": ("SquaredHinge", {}, signs, randn, (6, 4)),
    "categorical_hinge": ("CategoricalHinge", {}, one_hot_labels, randn, (6, 4)),
    "cosine": ("CosineSimilarity", {}, randn, randn, (6, 4)),
    "cosine_rank3": ("CosineSimilarity", {"axis": -1}, randn, randn, (6, 2, 3)),
    "mape": ("MeanAbsolutePercentageError", {}, spread, randn, (6, 4)),
    "msle": ("MeanSquaredLogarithmicError", {}, spread, spread, (6, 4)),
    "bfce": ("BinaryFocalCrossentropy", {}, binary_labels, probabilities, (6, 4)),
    "bfce_all": (
        "BinaryFocalCrossentropy",
        {"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5, "label_smoothing": 0.1},
        binary_labels,
        probabilities,
        (6, 4),
    ),
    "bfce_logits": (
        "BinaryFocalCrossentropy",
        {"from_logits": True, "apply_class_balancing": True},
        binary_labels,
        lambda r, s: randn(r, s) * 3,
        (6, 4),
    ),
    "bfce_gamma0": (
        "BinaryFocalCrossentropy",
        {"gamma": 0.0},
        binary_labels,
        probabilities,
        (6, 4),
    ),
    "cfce": ("CategoricalFocalCrossentropy", {}, one_hot_labels, probabilities, (6, 4)),
    "cfce_all": (
        "CategoricalFocalCrossentropy",
        {"alpha": [0.1, 0.2, 0.3, 0.4], "gamma": 3.0, "label_smoothing": 0.2},
        one_hot_labels,
        probabilities,
        (6, 4),
    ),
    "cfce_logits": (
        "CategoricalFocalCrossentropy",
        {"from_logits": True, "alpha": 0.5},
        one_hot_labels,
        lambda r, s: randn(r, s) * 3,
        (6, 4),
    ),
    "dice_all_axes": ("Dice", {}, binary_labels, probabilities, (6, 4)),
    "dice_axis_1": ("Dice", {"axis": 1}, binary_labels, probabilities, (6, 4)),
    "dice_axes": ("Dice", {"axis": (1, 2)}, binary_labels, probabilities, (6, 2, 3)),
    "tversky": ("Tversky", {}, binary_labels, probabilities, (6, 4)),
    "tversky_axis": (
        "Tversky",
        {"alpha": 0.7, "beta": 0.2, "axis": [1]},
        binary_labels,
        probabilities,
        (6, 4),
    ),
    "tversky_axes": (
        "Tversky",
        {"alpha": 0.1, "beta": 0.9, "axis": (1, 2)},
        binary_labels,
        probabilities,
        (6, 2, 3),
    ),
}


def case_inputs(case, seed=0):
    cls_name, kwargs, make_true, make_pred, shape = CASES[case]
    rng = np.random.default_rng(seed)
    return cls_name, kwargs, make_true(rng, shape), make_pred(rng, shape)


def both(cls_name, kwargs, **extra):
    """The kandle loss and Keras's, built with the same arguments."""
    return getattr(kd.losses, cls_name)(**kwargs, **extra), getattr(keras.losses, cls_name)(
        **kwargs, **extra
    )


def weights_for(loss, t, p, rng, low=0.5, high=1.5):
    """Sample weights of shape (batch,), with trailing 1s when the per-sample values have
    more axes (a (batch,) weight does not broadcast against (batch, n) values)."""
    rank = max(np.ndim(loss.call(t, p)), 1)
    return rng.uniform(low, high, (len(t),) + (1,) * (rank - 1)).astype(np.float32)


def as_np(x):
    return x.numpy() if isinstance(x, kd.Tensor) else np.asarray(x)


# ---------------------------------------------------------------- values
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", list(CASES))
def test_values_match_keras(case, reduction, weighted):
    cls_name, kwargs, t, p = case_inputs(case)
    w = np.random.default_rng(1).uniform(0, 2, len(t)).astype(np.float32) if weighted else None
    ours, theirs = both(cls_name, kwargs, reduction=reduction)
    if weighted and np.ndim(theirs.call(t, p)) > 1:
        w2 = weights_for(theirs, t, p, np.random.default_rng(1), 0, 2)
        np.testing.assert_allclose(
            as_np(ours(t, p, sample_weight=w2)),
            np.asarray(theirs(t, p, sample_weight=w2)),
            rtol=2e-5,
            atol=1e-6,
        )
        # Weights of shape (batch,) do not broadcast against values of shape (batch, n).
        with pytest.raises(ValueError):
            theirs(t, p, sample_weight=w)
        with pytest.raises(kd.errors.ShapeError, match="sample_weight of shape"):
            ours(t, p, sample_weight=w)
        return
    got, want = as_np(ours(t, p, sample_weight=w)), np.asarray(theirs(t, p, sample_weight=w))
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize("case", [c for c in CASES if len(CASES[c][4]) == 2])
def test_weights_of_several_shapes(case):
    cls_name, kwargs, t, p = case_inputs(case, seed=2)
    rng = np.random.default_rng(3)
    ours, theirs = both(cls_name, kwargs)
    for w in [np.float32(0.5), rng.uniform(0, 2, (len(t), 1)).astype(np.float32)]:
        np.testing.assert_allclose(
            as_np(ours(t, p, sample_weight=w)),
            np.asarray(theirs(t, p, sample_weight=w)),
            rtol=2e-5,
            atol=1e-6,
        )


FUNCTIONS = [
    ("kl_divergence", {}, probabilities, probabilities),
    ("poisson", {}, counts, positive),
    ("log_cosh", {}, randn, randn),
    ("hinge", {}, binary_labels, randn),
    ("squared_hinge", {}, signs, randn),
    ("categorical_hinge", {}, one_hot_labels, randn),
    ("cosine_similarity", {}, randn, randn),
    ("cosine_similarity", {"axis": 0}, randn, randn),
    ("mean_absolute_percentage_error", {}, spread, randn),
    ("mean_squared_logarithmic_error", {}, spread, spread),
    (
        "binary_focal_crossentropy",
        {"apply_class_balancing": True, "gamma": 1.0},
        binary_labels,
        probabilities,
    ),
    ("binary_focal_crossentropy", {"axis": 0, "from_logits": True}, binary_labels, randn),
    (
        "categorical_focal_crossentropy",
        {"alpha": [0.5, 1.0, 2.0, 1.5]},
        one_hot_labels,
        probabilities,
    ),
    ("categorical_focal_crossentropy", {"axis": 0, "from_logits": True}, one_hot_labels, randn),
    ("dice", {}, binary_labels, probabilities),
    ("dice", {"axis": 0}, binary_labels, probabilities),
    ("tversky", {"alpha": 0.2, "beta": 0.8, "axis": 1}, binary_labels, probabilities),
]


@pytest.mark.parametrize("name,kwargs,make_true,make_pred", FUNCTIONS)
def test_functions_match_keras(rng, name, kwargs, make_true, make_pred):
    t, p = make_true(rng, (5, 4)), make_pred(rng, (5, 4))
    got = getattr(kd.losses, name)(t, p, **kwargs)
    want = np.asarray(getattr(keras.losses, name)(t, p, **kwargs))
    assert got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want, rtol=2e-5, atol=1e-6)


def test_keras_docstring_examples():
    L = kd.losses
    y_true = [[[[1.0], [1.0]], [[0.0], [0.0]]], [[[1.0], [1.0]], [[0.0], [0.0]]]]
    y_pred = [[[[0.0], [1.0]], [[0.0], [1.0]]], [[[0.4], [0.0]], [[0.0], [0.9]]]]
    dice = L.Dice(axis=(1, 2, 3), reduction=None)(y_true, y_pred)
    np.testing.assert_allclose(dice.numpy(), [0.5, 0.75757575], rtol=1e-6)
    assert float(L.Dice()(y_true, y_pred)) == pytest.approx(0.6164384, rel=1e-6)
    t, p = [[0.0, 1.0], [1.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0], [-1.0, -1.0]]
    np.testing.assert_allclose(
        L.cosine_similarity(t, p).numpy(), [0.0, -0.99999994, 0.99999994], atol=1e-7
    )
    assert float(L.MeanAbsolutePercentageError()([[1.0, 2.0]], [[1.1, 1.5]])) == pytest.approx(
        17.5, rel=1e-5
    )


# ---------------------------------------------------------------- gradients
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight"])
@pytest.mark.parametrize("case", list(CASES))
def test_gradients_match_jax(case, reduction):
    cls_name, kwargs, t, p = case_inputs(case, seed=4)
    ours, theirs = both(cls_name, kwargs, reduction=reduction)
    w = weights_for(theirs, t, p, np.random.default_rng(5))
    v = kd.Variable(p)
    (got,) = kd.grad(ours(t, v, sample_weight=w), [v])
    want = jax.grad(lambda x: theirs(t, x, sample_weight=w))(jnp.asarray(p))
    np.testing.assert_allclose(got.numpy(), np.asarray(want), rtol=1e-4, atol=1e-6)


# ---------------------------------------------------------------- NaN
NAN_CASES = {
    **CASES,
    "mse": ("MeanSquaredError", {}, randn, randn, (6, 4)),
    "mae": ("MeanAbsoluteError", {}, randn, randn, (6, 4)),
    "huber": ("Huber", {"delta": 0.5}, randn, randn, (6, 4)),
    "bce": ("BinaryCrossentropy", {}, binary_labels, probabilities, (6, 4)),
    "bce_smooth": (
        "BinaryCrossentropy",
        {"label_smoothing": 0.1},
        binary_labels,
        probabilities,
        (6, 4),
    ),
    "bce_logits": ("BinaryCrossentropy", {"from_logits": True}, binary_labels, randn, (6, 4)),
    "cce": ("CategoricalCrossentropy", {}, one_hot_labels, probabilities, (6, 4)),
    "cce_logits": ("CategoricalCrossentropy", {"from_logits": True}, one_hot_labels, randn, (6, 4)),
}


@pytest.mark.parametrize("where", ["y_pred", "y_true", "sample_weight"])
@pytest.mark.parametrize("case", list(NAN_CASES))
def test_nan_propagates_as_in_keras(case, where):
    cls_name, kwargs, make_true, make_pred, shape = NAN_CASES[case]
    rng = np.random.default_rng(6)
    t, p = make_true(rng, shape), make_pred(rng, shape)
    w = weights_for(getattr(keras.losses, cls_name)(**kwargs), t, p, rng)
    {"y_pred": p, "y_true": t, "sample_weight": w}[where].flat[1] = np.nan
    for reduction in [None, "sum_over_batch_size"]:
        ours, theirs = both(cls_name, kwargs, reduction=reduction)
        got = as_np(ours(t, p, sample_weight=w))
        want = np.asarray(theirs(t, p, sample_weight=w))
        assert np.isnan(want).any()
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6, equal_nan=True)


@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_crossentropy_nan_prediction(from_logits):
    p = np.array([[0.2, np.nan, 0.1], [0.6, 0.3, 0.1]], np.float32)
    ours = kd.losses.SparseCategoricalCrossentropy(from_logits=from_logits, reduction=None)
    theirs = keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits, reduction=None)
    targets = np.array([1, 0])
    np.testing.assert_allclose(
        ours(targets, p).numpy(), np.asarray(theirs(targets, p)), rtol=1e-6, equal_nan=True
    )


def test_binary_crossentropy_of_nan_is_nan():
    """The clip of probabilities used to turn NaN into 1e-7 (giving 16.1)."""
    nan = float("nan")
    assert np.isnan(float(kd.losses.BinaryCrossentropy()([[1.0]], [[nan]])))
    assert np.isnan(float(keras.losses.BinaryCrossentropy()([[1.0]], [[nan]])))
    assert np.isnan(float(kd.losses.CategoricalCrossentropy()([[1.0, 0.0]], [[nan, 0.5]])))
    assert np.isnan(kd.losses.binary_crossentropy([[1.0]], [[nan]]).numpy()).all()


def test_zero_weights_give_zero_even_over_nan():
    """Keras divides with divide_no_nan: a zero divisor gives 0, not NaN."""
    t = np.array([[np.nan], [1.0]], np.float32)
    p = np.zeros((2, 1), np.float32)
    w = np.zeros(2, np.float32)
    for cls in ["MeanSquaredError", "Poisson"]:
        ours, theirs = both(cls, {}, reduction="mean_with_sample_weight")
        assert float(ours(t, p, sample_weight=w)) == float(theirs(t, p, sample_weight=w)) == 0.0


def test_python_function_losses_reduce_like_keras():
    """A Loss written in Python reduces with divide_no_nan too."""

    class Squared(kd.losses.Loss):
        def call(self, y_true, y_pred):
            return kd.losses.mean_squared_error(y_true, y_pred)

    t = np.array([[np.nan], [1.0]], np.float32)
    p = np.zeros((2, 1), np.float32)
    loss = Squared(reduction="mean_with_sample_weight")
    assert float(loss(t, p, sample_weight=np.zeros(2, np.float32))) == 0.0
    assert np.isnan(float(loss(t, p, sample_weight=np.ones(2, np.float32))))


# ---------------------------------------------------------------- config and names
CONFIG_CASES = [
    ("KLDivergence", {}),
    ("Poisson", {"reduction": "sum"}),
    ("LogCosh", {"name": "lc"}),
    ("Hinge", {}),
    ("SquaredHinge", {"reduction": None}),
    ("CategoricalHinge", {}),
    ("CosineSimilarity", {"axis": 1}),
    ("MeanAbsolutePercentageError", {}),
    ("MeanSquaredLogarithmicError", {"reduction": "mean_with_sample_weight"}),
    ("BinaryFocalCrossentropy", {}),
    (
        "BinaryFocalCrossentropy",
        {"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.0, "from_logits": True,
         "label_smoothing": 0.1, "axis": 0},
    ),
    ("CategoricalFocalCrossentropy", {}),
    ("CategoricalFocalCrossentropy", {"alpha": [0.2, 0.8], "gamma": 0.5, "axis": 0}),
    ("Dice", {}),
    ("Dice", {"axis": (1, 2)}),
    ("Tversky", {}),
    ("Tversky", {"alpha": 0.3, "beta": 0.7, "axis": [1]}),
]  # fmt: skip


@pytest.mark.parametrize("cls_name,kwargs", CONFIG_CASES)
def test_config_matches_keras_and_round_trips(cls_name, kwargs):
    ours, theirs = both(cls_name, kwargs)
    config, keras_config = ours.get_config(), theirs.get_config()
    if cls_name == "CosineSimilarity":
        # Keras leaves axis out (and so loses it); kandle keeps it.
        assert config.pop("axis") == kwargs.get("axis", -1)
    assert config == keras_config
    cls = type(ours)
    assert cls.from_config(ours.get_config()).get_config() == ours.get_config()
    # Keras's configs load in kandle, and kandle's in Keras.
    assert cls.from_config(keras_config).get_config() == keras_config | (
        {"axis": -1} if cls_name == "CosineSimilarity" else {}
    )
    type(theirs).from_config(ours.get_config())
    # Through kd.losses.get, as a model file would give it.
    again = kd.losses.get({"class_name": cls_name, "config": ours.get_config()})
    assert type(again) is cls and again.get_config() == ours.get_config()


KERAS_NAMES = [
    "KLDivergence", "kl_divergence", "kld", "KLD", "Poisson", "poisson", "LogCosh",
    "log_cosh", "Hinge", "hinge", "SquaredHinge", "squared_hinge", "CategoricalHinge",
    "categorical_hinge", "CosineSimilarity", "cosine_similarity",
    "MeanAbsolutePercentageError", "mean_absolute_percentage_error", "mape", "MAPE",
    "MeanSquaredLogarithmicError", "mean_squared_logarithmic_error", "msle", "MSLE",
    "BinaryFocalCrossentropy", "binary_focal_crossentropy", "CategoricalFocalCrossentropy",
    "categorical_focal_crossentropy", "Dice", "dice", "Tversky", "tversky",
]  # fmt: skip


@pytest.mark.parametrize("name", KERAS_NAMES)
def test_string_names_resolve_as_in_keras(rng, name):
    t, p = one_hot_labels(rng, (5, 3)), probabilities(rng, (5, 3))
    ours, theirs = kd.losses.get(name), keras.losses.get(name)
    want = theirs(t, p)
    if not isinstance(theirs, keras.losses.Loss):  # a function: per-sample values
        want = np.mean(want)
    assert float(ours(t, p)) == pytest.approx(float(want), rel=2e-5, abs=1e-6)


def test_names_keras_does_not_know_are_rejected():
    for name in ["logcosh", "kullback_leibler_divergence", "focal"]:
        with pytest.raises(ValueError, match="Could not interpret loss identifier"):
            kd.losses.get(name)
        with pytest.raises(ValueError):
            keras.losses.get(name)


def test_default_names():
    L = kd.losses
    for cls_name, _ in CONFIG_CASES:
        assert getattr(L, cls_name)().name == getattr(keras.losses, cls_name)().name


# ---------------------------------------------------------------- bad arguments
def test_bad_arguments():
    L, E = kd.losses, kd.errors
    with pytest.raises(E.InvalidArgumentError, match=r"gamma >= 0.*gamma=-1"):
        L.BinaryFocalCrossentropy(gamma=-1.0)
    with pytest.raises(E.InvalidArgumentError, match=r"alpha to be a number, got 'x'"):
        L.BinaryFocalCrossentropy(alpha="x")
    with pytest.raises(E.InvalidArgumentError, match="label_smoothing"):
        L.BinaryFocalCrossentropy(label_smoothing=1.5)
    with pytest.raises(E.InvalidArgumentError, match="label_smoothing"):
        L.CategoricalFocalCrossentropy(label_smoothing=-0.5)
    with pytest.raises(E.InvalidArgumentError, match=r"alpha to be a number, got None"):
        L.CategoricalFocalCrossentropy(alpha=[0.5, None])
    with pytest.raises(E.InvalidArgumentError, match=r"gamma to be finite, got gamma=inf"):
        L.categorical_focal_crossentropy([[0.0, 1.0]], [[0.3, 0.7]], gamma=float("inf"))
    with pytest.raises(E.ShapeError, match=r"alpha has 2 values.*\(1, 3\)"):
        L.CategoricalFocalCrossentropy(alpha=[0.5, 0.5])([[0, 1, 0]], [[0.2, 0.5, 0.3]])
    with pytest.raises(E.InvalidArgumentError, match=r"alpha to be finite, got alpha=nan"):
        L.Tversky(alpha=float("nan"))
    with pytest.raises(E.InvalidArgumentError, match=r"beta to be a number, got '0.5'"):
        L.Tversky(beta="0.5")
    with pytest.raises(E.InvalidArgumentError, match=r"axis to be an integer, got 1.5"):
        L.Dice(axis=1.5)
    with pytest.raises(E.InvalidArgumentError, match=r"axis to be an integer, got '2'"):
        L.Tversky(axis=(1, "2"))
    with pytest.raises(E.InvalidArgumentError, match=r"axis to be an integer, got True"):
        L.CosineSimilarity(axis=True)
    with pytest.raises(E.OutOfBoundsError):
        L.Dice(axis=3)(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(E.ShapeError, match=r"\(2, 3\).*\(2, 4\)"):
        L.Hinge()(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(E.ShapeError, match=r"\(2, 3\).*\(2, 4\)"):
        L.kl_divergence(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(E.ShapeError, match="categorical_hinge"):
        L.categorical_hinge(1.0, 1.0)
    with pytest.raises(ValueError, match="reduction"):
        L.Poisson(reduction="avg")


# ---------------------------------------------------------------- fit
def initial_weights(shapes, seed=1):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(s) * 0.5).astype(np.float32) for s in shapes]


def fit_both(kd_loss, keras_loss, out, out_act, make_y, use_weights, lr=0.1):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((20, 4)).astype(np.float32)
    y = make_y(rng, (20, out))
    sw = rng.uniform(0.2, 2.0, 20).astype(np.float32) if use_weights else None
    weights = initial_weights([(4, 5), (5,), (5, out), (out,)])
    ours = kd.Sequential(
        [kd.Input((4,)), kd.layers.Dense(5, activation="tanh"),
         kd.layers.Dense(out, activation=out_act)]
    )  # fmt: skip
    theirs = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(5, activation="tanh"),
         keras.layers.Dense(out, activation=out_act)]
    )  # fmt: skip
    ours.set_weights(weights)
    theirs.set_weights(weights)
    ours.compile(optimizer=kd.optimizers.SGD(lr), loss=kd_loss)
    theirs.compile(optimizer=keras.optimizers.SGD(lr), loss=keras_loss)
    kw = {"sample_weight": sw, "batch_size": 6, "epochs": 3, "shuffle": False, "verbose": 0}
    got, want = ours.fit(x, y, **kw).history["loss"], theirs.fit(x, y, **kw).history["loss"]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


FIT_CASES = {
    # id: (loss identifier for both, outputs, output activation, labels, sample weights[, lr])
    "hinge": ("hinge", 2, "tanh", binary_labels, False),
    "kld": ("kld", 3, "softmax", probabilities, True),
    "squared_hinge": ("SquaredHinge", 2, None, signs, True),
    "categorical_hinge": ("categorical_hinge", 3, None, one_hot_labels, False),
    "log_cosh": ("log_cosh", 2, None, randn, True),
    "poisson": ("poisson", 2, "softplus", counts, False),
    # MAPE's gradients are 100 times larger.
    "mape": ("mape", 2, None, positive, False, 0.001),
    "msle": ("msle", 2, "relu", positive, True),
    "cosine": ("cosine_similarity", 3, None, randn, True),
    "dice": ("dice", 3, "sigmoid", binary_labels, False),
}


@pytest.mark.parametrize("case", list(FIT_CASES))
def test_fit_by_name_matches_keras(case):
    name, *rest = FIT_CASES[case]
    fit_both(name, name, *rest)


def test_fit_with_focal_and_tversky_objects_matches_keras():
    kwargs = {"apply_class_balancing": True, "from_logits": True, "label_smoothing": 0.1}
    fit_both(
        kd.losses.BinaryFocalCrossentropy(**kwargs),
        keras.losses.BinaryFocalCrossentropy(**kwargs),
        2, None, binary_labels, True,
    )  # fmt: skip
    kwargs = {"alpha": [0.2, 0.3, 0.5], "gamma": 1.5}
    fit_both(
        kd.losses.CategoricalFocalCrossentropy(**kwargs),
        keras.losses.CategoricalFocalCrossentropy(**kwargs),
        3, "softmax", one_hot_labels, False,
    )  # fmt: skip
    fit_both(
        kd.losses.Tversky(alpha=0.3, beta=0.7, axis=1),
        keras.losses.Tversky(alpha=0.3, beta=0.7, axis=1),
        3, "sigmoid", binary_labels, True,
    )  # fmt: skip


@pytest.mark.parametrize("nan_in", ["x", "y"])
def test_terminate_on_nan_stops_a_probability_loss_as_keras_does(nan_in):
    """A NaN input row reaches the clipped cross-entropy of sigmoid outputs; the loss of
    that batch is NaN and TerminateOnNaN stops after it, in both libraries."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((16, 4)).astype(np.float32)
    y = binary_labels(rng, (16, 1))
    (x if nan_in == "x" else y)[5, 0] = np.nan
    weights = initial_weights([(4, 1), (1,)])
    histories, final_weights = [], []
    for lib in (kd, keras):
        model = lib.Sequential([lib.Input((4,)), lib.layers.Dense(1, activation="sigmoid")])
        model.set_weights(weights)
        model.compile(optimizer="sgd", loss=lib.losses.BinaryCrossentropy())
        history = model.fit(
            x, y, batch_size=4, epochs=3, shuffle=False, verbose=0,
            callbacks=[lib.callbacks.TerminateOnNaN()],
        )  # fmt: skip
        histories.append(history.history["loss"])
        final_weights.append(model.get_weights())
    assert len(histories[0]) == len(histories[1]) == 1
    assert np.isnan(histories[0][0]) and np.isnan(histories[1][0])
    # Keras writes the NaN into the weights. kandle skips the update of a step whose
    # loss is not finite (issue 18), so its weights are Keras's after the last finite
    # batch, the first one.
    assert np.isnan(final_weights[1][0]).all()
    reference = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    reference.set_weights(weights)
    reference.compile(optimizer="sgd", loss=keras.losses.BinaryCrossentropy())
    reference.fit(x[:4], y[:4], batch_size=4, epochs=1, shuffle=False, verbose=0)
    for ours, theirs in zip(final_weights[0], reference.get_weights()):
        assert np.isfinite(ours).all()
        np.testing.assert_allclose(ours, theirs, rtol=1e-5)
