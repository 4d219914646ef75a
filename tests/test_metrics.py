"""Metrics against numpy references written from Keras 3's formulas, Keras docstring
values, accumulation, resolution of "accuracy", and bad inputs."""

import numpy as np
import pytest

import kandle as kd
from helpers import f64

M = kd.metrics


def weighted_mean(values, w=None):
    values = f64(values)
    w = np.ones(len(values)) if w is None else f64(w)
    return (values * w).sum() / w.sum()


def divide_no_nan(a, b):
    a, b = f64(a), f64(b)
    return np.divide(a, b, out=np.zeros_like(a), where=b != 0)


def confusion_ref(t, p, thresholds, w=None):
    t, p = f64(t).ravel() != 0, f64(p).ravel()
    w = np.ones_like(p) if w is None else f64(w).ravel()
    out = []
    for th in np.asarray(thresholds, np.float32).astype(np.float64):
        pos = p > th
        out.append(
            (
                (w * (t & pos)).sum(),
                (w * (~t & pos)).sum(),
                (w * (~t & ~pos)).sum(),
                (w * (t & ~pos)).sum(),
            )
        )
    return np.array(out)  # columns: tp, fp, tn, fn


def auc_roc_ref(t, p, num_thresholds=200, w=None):
    inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    cm = confusion_ref(t, np.clip(p, 0, 1), [-1e-7, *inner, 1 + 1e-7], w)
    tp, fp, tn, fn = cm.T
    recall, fpr = divide_no_nan(tp, tp + fn), divide_no_nan(fp, fp + tn)
    return float(((fpr[:-1] - fpr[1:]) * (recall[:-1] + recall[1:]) / 2).sum())


# ---------------------------------------------------------------- mean-type metrics
@pytest.mark.parametrize("weighted", [False, True])
def test_mean_type_metrics_match_reference(rng, weighted):
    n, c = 12, 4
    w = rng.uniform(0, 2, n).astype(np.float32) if weighted else None
    probs = rng.uniform(0, 1, (n, c)).astype(np.float32)
    onehot = np.eye(c, dtype=np.float32)[rng.integers(0, c, n)]
    labels = onehot.argmax(1).astype(np.float32)
    binary_t = rng.integers(0, 2, (n, 1)).astype(np.float32)
    binary_p = probs[:, :1]
    reg_t = rng.standard_normal((n, 3)).astype(np.float32)
    reg_p = rng.standard_normal((n, 3)).astype(np.float32)
    ranks = (-f64(probs)).argsort(1, kind="stable")

    cases = [
        (M.BinaryAccuracy(), binary_t, binary_p, ((binary_p > 0.5) == binary_t).mean(1)),
        (
            M.BinaryAccuracy(threshold=0.7),
            binary_t,
            binary_p,
            ((binary_p > np.float32(0.7)) == binary_t).mean(1),
        ),
        (M.CategoricalAccuracy(), onehot, probs, probs.argmax(1) == labels),
        (M.SparseCategoricalAccuracy(), labels, probs, probs.argmax(1) == labels),
        (M.SparseCategoricalAccuracy(), labels[:, None], probs, probs.argmax(1) == labels),
        (
            M.TopKCategoricalAccuracy(k=2),
            onehot,
            probs,
            (ranks[:, :2] == labels[:, None]).any(1),
        ),
        (
            M.SparseTopKCategoricalAccuracy(k=2),
            labels,
            probs,
            (ranks[:, :2] == labels[:, None]).any(1),
        ),
        (M.MeanSquaredError(), reg_t, reg_p, ((f64(reg_p) - reg_t) ** 2).mean(1)),
        (M.MeanAbsoluteError(), reg_t, reg_p, np.abs(f64(reg_p) - reg_t).mean(1)),
    ]
    for metric, t, p, per_sample in cases:
        metric.update_state(t, p, sample_weight=w)
        assert metric.result() == pytest.approx(weighted_mean(per_sample, w), abs=1e-6), metric
    rmse = M.RootMeanSquaredError()
    rmse.update_state(reg_t, reg_p, sample_weight=w)
    expected = np.sqrt(weighted_mean(((f64(reg_p) - reg_t) ** 2).mean(1), w))
    assert rmse.result() == pytest.approx(expected, rel=1e-6)


def test_accumulation_across_updates_and_reset():
    m = M.Mean()
    m.update_state([1.0, 3.0])
    m.update_state([8.0], sample_weight=[2.0])
    assert m.result() == pytest.approx((1 + 3 + 16) / 4)
    m.reset_state()
    assert m.result() == 0.0
    m.update_state(5.0)
    assert m.result() == 5.0

    acc = M.SparseCategoricalAccuracy()
    acc.update_state([0, 1], [[0.9, 0.1], [0.8, 0.2]])  # 1 of 2
    acc.update_state([1, 1, 1], [[0.1, 0.9]] * 3)  # 3 of 3
    assert acc.result() == pytest.approx(4 / 5)
    acc.reset_state()
    assert acc.result() == 0.0

    auc = M.AUC(num_thresholds=3)
    auc.update_state([0, 0], [0, 0.5])
    auc.update_state([1, 1], [0.3, 0.9])
    assert auc.result() == pytest.approx(0.75)


def test_keras_docstring_values():
    m = M.Precision()
    m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    assert m.result() == pytest.approx(0.6666667)
    m.reset_state()
    m.update_state([0, 1, 1, 1], [1, 0, 1, 1], sample_weight=[0, 0, 1, 0])
    assert m.result() == pytest.approx(1.0)
    m = M.Precision(top_k=2)
    m.update_state([0, 0, 1, 1], [1, 1, 1, 1])
    assert m.result() == 0.0
    m = M.Precision(top_k=4)
    m.update_state([0, 0, 1, 1], [1, 1, 1, 1])
    assert m.result() == pytest.approx(0.5)
    r = M.Recall()
    r.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    assert r.result() == pytest.approx(0.6666667)
    a = M.AUC(num_thresholds=3)
    a.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    assert a.result() == pytest.approx(0.75)
    a.reset_state()
    a.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9], sample_weight=[1, 0, 0, 1])
    assert a.result() == pytest.approx(1.0)
    m = M.CategoricalAccuracy()
    m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], [0.7, 0.3])
    assert m.result() == pytest.approx(0.3)
    m = M.RootMeanSquaredError()
    m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]], sample_weight=[1, 0])
    assert m.result() == pytest.approx(0.70710677)


# ---------------------------------------------------------------- confusion metrics
@pytest.mark.parametrize("thresholds", [None, 0.3, [0.2, 0.5, 0.9], [0.0, 0.5, 1.0]])
def test_precision_recall_match_reference(rng, thresholds):
    t = rng.integers(0, 2, (20, 3)).astype(np.float32)
    p = rng.uniform(0, 1, (20, 3)).astype(np.float32)
    w = rng.uniform(0, 2, 20).astype(np.float32)
    th = [0.5] if thresholds is None else np.atleast_1d(thresholds)
    tp, fp, _, fn = confusion_ref(t, p, th, np.broadcast_to(w[:, None], t.shape)).T
    prec, rec = M.Precision(thresholds=thresholds), M.Recall(thresholds=thresholds)
    for m in (prec, rec):
        m.update_state(t, p, sample_weight=w)
    expected_precision = np.squeeze(divide_no_nan(tp, tp + fp))
    expected_recall = np.squeeze(divide_no_nan(tp, tp + fn))
    np.testing.assert_allclose(np.squeeze(prec.result()), expected_precision, rtol=1e-6)
    np.testing.assert_allclose(np.squeeze(rec.result()), expected_recall, rtol=1e-6)


@pytest.mark.parametrize("num_thresholds", [3, 50, 200])
def test_auc_roc_matches_reference(rng, num_thresholds):
    t = rng.integers(0, 2, 64).astype(np.float32)
    p = rng.uniform(0, 1, 64).astype(np.float32)
    w = rng.uniform(0, 2, 64).astype(np.float32)
    m = M.AUC(num_thresholds=num_thresholds)
    m.update_state(t, p, sample_weight=w)
    assert m.result() == pytest.approx(auc_roc_ref(t, p, num_thresholds, w), abs=1e-6)


def test_auc_from_logits_and_pr_curve(rng):
    t = rng.integers(0, 2, 64).astype(np.float32)
    logits = rng.standard_normal(64).astype(np.float32) * 3
    probs = 1 / (1 + np.exp(-f64(logits)))
    a, b = M.AUC(from_logits=True), M.AUC()
    a.update_state(t, logits)
    b.update_state(t, probs.astype(np.float32))
    assert a.result() == pytest.approx(b.result(), abs=1e-6)
    # A perfect ranking gives 1 on both curves.
    pr = M.AUC(curve="PR")
    pr.update_state([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert pr.result() == pytest.approx(1.0, abs=1e-6)


# ---------------------------------------------------------------- get / names
def test_accuracy_resolution_follows_keras_get_metric():
    def resolve(t_shape, p_shape, name="accuracy"):
        return M.get(name, y_true=np.zeros(t_shape), y_pred=np.zeros(p_shape))

    assert isinstance(resolve((8, 1), (8, 1)), M.BinaryAccuracy)
    assert isinstance(resolve((8,), (8, 1)), M.BinaryAccuracy)
    assert isinstance(resolve((8,), (8, 10)), M.SparseCategoricalAccuracy)
    assert isinstance(resolve((8, 1), (8, 10)), M.SparseCategoricalAccuracy)
    assert isinstance(resolve((8, 10), (8, 10)), M.CategoricalAccuracy)
    acc = resolve((8,), (8, 10), name="acc")
    assert acc.name == "acc"
    assert isinstance(M.get("accuracy", loss="binary_crossentropy"), M.BinaryAccuracy)
    assert isinstance(
        M.get("accuracy", loss=kd.losses.SparseCategoricalCrossentropy()),
        M.SparseCategoricalAccuracy,
    )


def test_accuracy_class_is_the_engines_rule():
    # One rule, in Rust, for the Rust model's compile and kandle.metrics.get; an unknown
    # dimension (None) decides nothing.
    rule = kd._core.accuracy_class
    assert rule([4, 1], [4, 1]) == "BinaryAccuracy"
    assert rule([4], [4, 3]) == "SparseCategoricalAccuracy"
    assert rule([4, 1], [4, 3]) == "SparseCategoricalAccuracy"
    assert rule([4, 3], [4, 3]) == "CategoricalAccuracy"
    assert rule([None, 1], [None, None]) == "CategoricalAccuracy"
    assert rule([None], [None, None]) == "SparseCategoricalAccuracy"


def test_get_strings_keep_their_name():
    assert isinstance(M.get("mse"), M.MeanSquaredError) and M.get("mse").name == "mse"
    assert isinstance(M.get("mae"), M.MeanAbsoluteError)
    assert isinstance(M.get("auc"), M.AUC) and M.get("auc").name == "auc"
    assert isinstance(M.get("precision"), M.Precision)
    assert isinstance(M.get("recall"), M.Recall)
    assert isinstance(M.get("top_k_categorical_accuracy"), M.TopKCategoricalAccuracy)
    assert isinstance(M.get("root_mean_squared_error"), M.RootMeanSquaredError)
    assert isinstance(M.get("RootMeanSquaredError"), M.RootMeanSquaredError)
    obj = M.AUC(name="my_auc")
    assert M.get(obj) is obj
    with pytest.raises(ValueError, match="Could not interpret metric identifier.*AUC"):
        M.get("rmse")
    with pytest.raises(ValueError, match="Could not interpret metric identifier"):
        M.get("kld")  # a loss alias only, as in Keras
    assert isinstance(M.get("MSLE"), M.MeanSquaredLogarithmicError)


def test_default_names_and_config():
    assert M.Mean().name == "mean"
    assert M.SparseCategoricalAccuracy().name == "sparse_categorical_accuracy"
    assert M.RootMeanSquaredError().name == "root_mean_squared_error"
    first, second = M.Precision(), M.Precision()
    assert second.name == first.name + "_1" or second.name.startswith("precision_")
    cfg = M.TopKCategoricalAccuracy(k=3).get_config()
    assert cfg == {"name": "top_k_categorical_accuracy", "dtype": "float32", "k": 3}
    assert M.TopKCategoricalAccuracy.from_config(cfg).k == 3


def test_bad_inputs():
    with pytest.raises(ValueError, match="threshold"):
        M.BinaryAccuracy(threshold=1.0)
    with pytest.raises(ValueError, match="threshold"):
        M.Precision(thresholds=[0.5, 1.5])
    with pytest.raises(ValueError, match="curve"):
        M.AUC(curve="XY")
    with pytest.raises(ValueError, match="num_thresholds"):
        M.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(2, 4\)"):
        M.CategoricalAccuracy().update_state(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(kd.errors.ShapeError):
        M.MeanSquaredError().update_state(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="sample_weight"):
        M.Mean().update_state([1.0, 2.0], sample_weight=[1.0, 2.0, 3.0])


def test_wrapped_functions_have_no_variables():
    """Every metric has `variables` (a MeanMetricWrapper had none and raised)."""
    assert kd.metrics.MeanMetricWrapper(lambda t, p: t - p, name="diff").variables == []
    assert kd.metrics.MeanSquaredError().variables == []
