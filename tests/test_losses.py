"""Losses against numpy references written from Keras 3's formulas, Keras docstring
values, gradients, and bad inputs."""

import numpy as np
import pytest

import kandle as kd
from helpers import f64, log_softmax_ref, numeric_grad, sigmoid_ref

EPS = 1e-7
# The clip bounds as float32, as Keras computes them.
LO, HI = float(np.float32(EPS)), float(np.float32(1 - EPS))


# ---------------------------------------------------------------- numpy references
def mse_ref(t, p):
    return ((f64(p) - f64(t)) ** 2).mean(-1)


def mae_ref(t, p):
    return np.abs(f64(p) - f64(t)).mean(-1)


def huber_ref(t, p, delta=1.0):
    e = np.abs(f64(p) - f64(t))
    return np.where(e <= delta, 0.5 * e**2, delta * e - 0.5 * delta**2).mean(-1)


def bce_ref(t, p, from_logits=False, ls=0.0, axis=-1):
    t = f64(t) * (1 - ls) + 0.5 * ls
    p = f64(p)
    if from_logits:
        p = sigmoid_ref(p)
    p = np.clip(p, LO, HI)
    return -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean(axis)


def cce_ref(t, p, from_logits=False, ls=0.0, axis=-1):
    t = f64(t)
    t = t * (1 - ls) + ls / t.shape[-1]
    if from_logits:
        logp = log_softmax_ref(p, axis)
    else:
        p = f64(p)
        logp = np.log(np.clip(p / p.sum(axis, keepdims=True), LO, HI))
    return -(t * logp).sum(axis)


def scce_ref(labels, p, from_logits=False):
    labels = np.asarray(labels).reshape(-1).astype(int)
    onehot = np.eye(np.shape(p)[-1])[labels]
    return cce_ref(onehot, p, from_logits)


def reduce_ref(values, weight=None, reduction="sum_over_batch_size"):
    values = f64(values)
    if weight is not None:
        values = values * f64(weight)
    if reduction is None or reduction == "none":
        return values
    if reduction == "sum":
        return values.sum()
    return values.sum() / values.size


def probs(rng, shape):
    return rng.uniform(0.02, 0.98, shape).astype(np.float32)


def onehot(rng, n, c):
    return np.eye(c, dtype=np.float32)[rng.integers(0, c, n)]


def value(t):
    return t.numpy()


# ---------------------------------------------------------------- forward values
CASES = [
    ("MeanSquaredError", {}, mse_ref),
    ("MeanAbsoluteError", {}, mae_ref),
    ("Huber", {"delta": 0.7}, lambda t, p: huber_ref(t, p, 0.7)),
    ("BinaryCrossentropy", {}, bce_ref),
    ("BinaryCrossentropy", {"label_smoothing": 0.2}, lambda t, p: bce_ref(t, p, ls=0.2)),
    ("BinaryCrossentropy", {"from_logits": True}, lambda t, p: bce_ref(t, p, True)),
    ("CategoricalCrossentropy", {}, cce_ref),
    ("CategoricalCrossentropy", {"label_smoothing": 0.1}, lambda t, p: cce_ref(t, p, ls=0.1)),
    ("CategoricalCrossentropy", {"from_logits": True}, lambda t, p: cce_ref(t, p, True)),
]


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "none", None])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("cls_name,kwargs,ref", CASES, ids=lambda c: str(c))
def test_loss_classes_match_reference(rng, cls_name, kwargs, ref, reduction, weighted):
    t = onehot(rng, 6, 4)
    p = probs(rng, (6, 4))
    w = rng.uniform(0, 2, 6).astype(np.float32) if weighted else None
    loss = getattr(kd.losses, cls_name)(reduction=reduction, **kwargs)
    got = value(loss(t, p, sample_weight=w))
    np.testing.assert_allclose(got, reduce_ref(ref(t, p), w, reduction), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("label_shape", [(5,), (5, 1)])
def test_sparse_categorical_crossentropy(rng, from_logits, label_shape):
    labels = rng.integers(0, 3, 5).astype(np.float32).reshape(label_shape)
    p = probs(rng, (5, 3))
    loss = kd.losses.SparseCategoricalCrossentropy(from_logits=from_logits, reduction=None)
    np.testing.assert_allclose(value(loss(labels, p)), scce_ref(labels, p, from_logits), rtol=1e-5)
    fn = kd.losses.sparse_categorical_crossentropy(labels, p, from_logits=from_logits)
    np.testing.assert_allclose(value(fn), scce_ref(labels, p, from_logits), rtol=1e-5)


def test_ignore_class_averages_over_the_other_samples(rng):
    labels = np.array([0, -1, 2, 1], np.float32)
    p = probs(rng, (4, 3))
    per = scce_ref([0, 0, 2, 1], p)
    loss = kd.losses.SparseCategoricalCrossentropy(ignore_class=-1)
    np.testing.assert_allclose(float(loss(labels, p)), per[[0, 2, 3]].mean(), rtol=1e-5)
    none = kd.losses.SparseCategoricalCrossentropy(ignore_class=-1, reduction=None)
    assert value(none(labels, p))[1] == 0.0


def test_functions_return_per_sample_values(rng):
    t, p = onehot(rng, 3, 4), probs(rng, (3, 4))
    L = kd.losses
    for fn, ref in [
        (L.mean_squared_error, mse_ref),
        (L.mean_absolute_error, mae_ref),
        (L.huber, huber_ref),
        (L.binary_crossentropy, bce_ref),
        (L.categorical_crossentropy, cce_ref),
        (L.mse, mse_ref),
        (L.MAE, mae_ref),
    ]:
        out = fn(t, p)
        assert out.shape == (3,)
        np.testing.assert_allclose(value(out), ref(t, p), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(
        value(L.binary_crossentropy(t, p, axis=0)), bce_ref(t, p, axis=0), rtol=1e-5
    )


def test_keras_docstring_values():
    L = kd.losses
    t, p = [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]
    assert float(L.BinaryCrossentropy()(t, p)) == pytest.approx(0.815, abs=1e-3)
    np.testing.assert_allclose(value(L.binary_crossentropy(t, p)), [0.916, 0.714], atol=1e-3)
    logits = [[-18.6, 0.51], [2.94, -12.8]]
    bce = L.BinaryCrossentropy(from_logits=True)
    assert float(bce(t, logits)) == pytest.approx(0.8654, abs=1e-3)
    assert float(bce(t, logits, sample_weight=[0.8, 0.2])) == pytest.approx(0.243, abs=1e-3)
    assert float(L.BinaryCrossentropy(from_logits=True, reduction="sum")(t, logits)) == (
        pytest.approx(1.730, abs=1e-3)
    )
    t3, p3 = [[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]
    cce = L.CategoricalCrossentropy()
    assert float(cce(t3, p3)) == pytest.approx(1.177, abs=1e-3)
    assert float(cce(t3, p3, sample_weight=np.array([0.3, 0.7]))) == pytest.approx(0.814, abs=1e-3)
    assert float(L.SparseCategoricalCrossentropy()([1, 2], p3)) == pytest.approx(1.177, abs=1e-3)
    assert float(L.Huber()(t, p)) == pytest.approx(0.155, abs=1e-3)


def test_sum_over_batch_size_divides_by_element_count_even_with_weights():
    t = np.zeros((4, 1), np.float32)
    p = np.array([[1], [2], [3], [4]], np.float32)
    loss = kd.losses.MeanSquaredError()
    assert float(loss(t, p, sample_weight=[1, 0, 0, 0])) == pytest.approx(0.25)
    assert float(loss(t, p, sample_weight=2.0)) == pytest.approx(15.0)


def test_probabilities_at_0_and_1_and_huge_logits_stay_finite():
    t = np.array([[0, 1], [1, 0]], np.float32)
    p = np.array([[0, 1], [0, 1]], np.float32)
    for loss in (kd.losses.BinaryCrossentropy(), kd.losses.CategoricalCrossentropy()):
        assert np.isfinite(float(loss(t, p)))
    assert float(kd.losses.BinaryCrossentropy()(t, p)) == pytest.approx(
        bce_ref(t, p).mean(), rel=1e-4
    )
    big = np.array([[1e4, -1e4], [-1e4, 1e4]], np.float32)
    for loss in (
        kd.losses.BinaryCrossentropy(from_logits=True),
        kd.losses.CategoricalCrossentropy(from_logits=True),
        kd.losses.SparseCategoricalCrossentropy(from_logits=True),
    ):
        labels = [1, 0] if isinstance(loss, kd.losses.SparseCategoricalCrossentropy) else t
        out = float(loss(labels, big))
        assert np.isfinite(out) and out > 1e3
        v = kd.Variable(big)
        (g,) = kd.grad(loss(labels, v), [v])
        assert np.all(np.isfinite(g.numpy()))


# ---------------------------------------------------------------- gradients

GRAD_CASES = [
    ("MeanSquaredError", {}, mse_ref),
    ("MeanAbsoluteError", {}, mae_ref),
    ("Huber", {"delta": 0.3}, lambda t, p: huber_ref(t, p, 0.3)),
    ("BinaryCrossentropy", {"label_smoothing": 0.1}, lambda t, p: bce_ref(t, p, ls=0.1)),
    ("BinaryCrossentropy", {"from_logits": True}, lambda t, p: bce_ref(t, p, True)),
    ("CategoricalCrossentropy", {"label_smoothing": 0.1}, lambda t, p: cce_ref(t, p, ls=0.1)),
    ("CategoricalCrossentropy", {"from_logits": True}, lambda t, p: cce_ref(t, p, True)),
]


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum"])
@pytest.mark.parametrize("cls_name,kwargs,ref", GRAD_CASES, ids=lambda c: str(c))
def test_gradients_match_finite_differences(rng, cls_name, kwargs, ref, reduction):
    t = onehot(rng, 4, 3)
    p = probs(rng, (4, 3))
    w = rng.uniform(0.5, 1.5, 4).astype(np.float32)
    loss = getattr(kd.losses, cls_name)(reduction=reduction, **kwargs)
    v = kd.Variable(p)
    (g,) = kd.grad(loss(t, v, sample_weight=w), [v])
    expected = numeric_grad(lambda x: reduce_ref(ref(t, x), w, reduction), p)
    np.testing.assert_allclose(g.numpy(), expected, rtol=2e-3, atol=2e-4)


def test_cce_from_logits_gradient_is_softmax_minus_onehot_over_batch(rng):
    t = onehot(rng, 5, 4)
    logits = rng.standard_normal((5, 4)).astype(np.float32)
    v = kd.Variable(logits)
    (g,) = kd.grad(kd.losses.CategoricalCrossentropy(from_logits=True)(t, v), [v])
    softmax = np.exp(log_softmax_ref(logits))
    np.testing.assert_allclose(g.numpy(), (softmax - t) / 5, rtol=1e-5, atol=1e-6)
    (g,) = kd.grad(kd.losses.SparseCategoricalCrossentropy(from_logits=True)(t.argmax(1), v), [v])
    np.testing.assert_allclose(g.numpy(), (softmax - t) / 5, rtol=1e-5, atol=1e-6)


def test_bce_from_logits_gradient_is_sigmoid_minus_label(rng):
    t = rng.integers(0, 2, (3, 2)).astype(np.float32)
    x = np.array([[0.0, 2.0], [-3.0, 0.5], [40.0, -40.0]], np.float32)
    v = kd.Variable(x)
    (g,) = kd.grad(kd.losses.BinaryCrossentropy(from_logits=True)(t, v), [v])
    np.testing.assert_allclose(g.numpy(), (sigmoid_ref(x) - t) / 6, rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------- get, config, errors
def test_get_resolves_keras_identifiers():
    L = kd.losses
    assert isinstance(L.get("mse"), L.MeanSquaredError)
    assert isinstance(L.get("MAE"), L.MeanAbsoluteError)
    assert isinstance(L.get("binary_crossentropy"), L.BinaryCrossentropy)
    assert isinstance(L.get("sparse_categorical_crossentropy"), L.SparseCategoricalCrossentropy)
    assert isinstance(L.get("CategoricalCrossentropy"), L.CategoricalCrossentropy)
    assert L.get("huber").name == "huber_loss"
    obj = L.Huber(delta=2.0)
    assert L.get(obj) is obj
    cfg = {"class_name": "BinaryCrossentropy", "config": {"from_logits": True}}
    assert L.get(cfg).from_logits is True
    wrapped = L.get(lambda yt, yp: kd.losses.mean_absolute_error(yt, yp))
    assert float(wrapped([[0.0, 1.0]], [[1.0, 3.0]])) == pytest.approx(1.5)
    with pytest.raises(ValueError, match="Could not interpret loss identifier.*Huber"):
        L.get("nope")
    # Keras's aliases, resolved by the engine's list: "kld" names a loss only.
    assert isinstance(L.get("KLD"), L.KLDivergence) and isinstance(
        L.get("MAPE"), L.MeanAbsolutePercentageError
    )


def test_default_names_and_config_round_trip():
    L = kd.losses
    assert L.MeanSquaredError().name == "mean_squared_error"
    assert L.BinaryCrossentropy().name == "binary_crossentropy"
    assert L.SparseCategoricalCrossentropy().reduction == "sum_over_batch_size"
    loss = L.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1, reduction="sum")
    cfg = loss.get_config()
    assert cfg == {
        "name": "categorical_crossentropy",
        "reduction": "sum",
        "from_logits": True,
        "label_smoothing": 0.1,
        "axis": -1,
    }
    assert L.CategoricalCrossentropy.from_config(cfg).get_config() == cfg


def test_bad_inputs():
    L = kd.losses
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(2, 4\)"):
        L.MeanSquaredError()(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(kd.errors.ShapeError):
        L.CategoricalCrossentropy()(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"label 3.*3 classes"):
        L.SparseCategoricalCrossentropy()([0, 3], np.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match="label -1"):
        L.SparseCategoricalCrossentropy()([0, -1], np.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match="label_smoothing"):
        L.BinaryCrossentropy(label_smoothing=1.5)
    with pytest.raises(ValueError, match="label_smoothing"):
        L.CategoricalCrossentropy(label_smoothing=-0.1)
    with pytest.raises(ValueError, match="reduction"):
        L.MeanSquaredError(reduction="avg")
    with pytest.raises(ValueError, match="sample_weight"):
        L.MeanSquaredError()(np.zeros((4, 2)), np.zeros((4, 2)), sample_weight=[1, 2, 3])
