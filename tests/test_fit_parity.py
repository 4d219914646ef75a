"""fit/evaluate parity with the numpy reference of Keras's training loop
(tests/keras_reference.py) for the losses and metrics that test_models.py leaves out:
loss history, val_loss, metric histories and final weights, started from the same
weights with shuffle=False."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

import kandle as kd
from keras_reference import (
    LOSSES,
    METRICS,
    MLP,
    Optimizer,
    assert_logs,
    assert_weights,
    evaluate,
    fit,
    reduced_loss,
)

N, SPLIT, BATCH, EPOCHS = 32, 24, 5, 2  # validation_split=0.25 keeps the first 24 rows


def initial_weights(shapes, seed=1):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(s) * 0.5).astype(np.float32) for s in shapes]


def mlp_model(out, out_act=None, d=4, hidden=5):
    model = kd.Sequential(
        [
            kd.Input((d,)),
            kd.layers.Dense(hidden, activation="tanh"),
            kd.layers.Dense(out, activation=out_act),
        ]
    )
    weights = initial_weights([(d, hidden), (hidden,), (hidden, out), (out,)])
    model.set_weights(weights)
    return model, MLP(weights, ["tanh", out_act or "linear"])


def regression(rng, n, out):
    return rng.standard_normal((n, out)) * 1.5


def binary(rng, n, out):
    return rng.integers(0, 2, (n, out))


def one_hot(rng, n, out):
    return np.eye(out)[rng.integers(0, out, n)]


def sparse(rng, n, out):
    return rng.integers(0, out, n)


def dataset(make_y, out, n=N, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = make_y(rng, n, out).astype(np.float32)
    sw = rng.uniform(0.2, 2.0, n).astype(np.float32)
    return x, y, sw


LOSS_CASES = {
    # id: (kandle loss, reference loss, outputs, output activation, labels, reduction)
    "mae": (kd.losses.MeanAbsoluteError(), "mae", 2, None, regression, None),
    "huber_1": (kd.losses.Huber(), "huber", 2, None, regression, None),
    "huber_0.5": (kd.losses.Huber(delta=0.5), partial(LOSSES["huber"], delta=0.5), 2, None,
                  regression, None),
    "bce_probs": (kd.losses.BinaryCrossentropy(), "bce", 2, "sigmoid", binary, None),
    "bce_smooth": (kd.losses.BinaryCrossentropy(label_smoothing=0.2),
                   partial(LOSSES["bce"], label_smoothing=0.2), 2, "sigmoid", binary, None),
    "cce_probs": (kd.losses.CategoricalCrossentropy(), "cce", 3, "softmax", one_hot, None),
    "cce_smooth": (kd.losses.CategoricalCrossentropy(label_smoothing=0.1),
                   partial(LOSSES["cce"], label_smoothing=0.1), 3, "softmax", one_hot, None),
    "sparse_cce_probs": (kd.losses.SparseCategoricalCrossentropy(), "sparse_ce", 3, "softmax",
                         sparse, None),
    "mse_sum": (kd.losses.MeanSquaredError(reduction="sum"), "mse", 2, None, regression, "sum"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(LOSS_CASES))
def test_fit_loss_matches_reference(case):
    loss, ref, out, out_act, make_y, reduction = LOSS_CASES[case]
    x, y, sw = dataset(make_y, out)
    model, mlp = mlp_model(out, out_act)
    model.compile(optimizer=kd.optimizers.SGD(0.05), loss=loss)
    history = model.fit(
        x, y, sample_weight=sw, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0,
        validation_split=0.25,
    )  # fmt: skip
    kw = {"reduction": reduction or "sum_over_batch_size", "batch_size": BATCH}
    tr, va = slice(0, SPLIT), slice(SPLIT, N)
    want = fit(mlp, Optimizer("sgd", 0.05), ref, x[tr], y[tr], sw=sw[tr], epochs=EPOCHS,
               val=(x[va], y[va], sw[va]), **kw)  # fmt: skip
    assert_logs(history.history, want)
    assert_weights(model, mlp)
    got = model.evaluate(x, y, sample_weight=sw, batch_size=BATCH, verbose=0, return_dict=True)
    assert_logs(got, evaluate(mlp, ref, x, y, sw=sw, **kw))


def test_clipping_of_saturated_probabilities():
    """Probabilities of 0 and 1 are clipped to [1e-7, 1 - 1e-7] (in float32): finite losses."""
    x, y, _ = dataset(binary, 1, n=8)
    model, mlp = mlp_model(1, "sigmoid")
    weights = model.get_weights()
    weights[2] *= 100.0  # |pre-activation| of ~100: sigmoid is 0 or 1 in float32 and float64
    model.set_weights(weights)
    mlp.params[2] = weights[2].astype(np.float64)
    model.compile(optimizer="sgd", loss=kd.losses.BinaryCrossentropy())
    want = evaluate(mlp, "bce", x, y)["loss"]
    assert 1.0 < want < 17.0
    np.testing.assert_allclose(model.evaluate(x, y, verbose=0), want, rtol=1e-5)


def m(name, **kw):
    return partial(METRICS[name], **kw) if kw else METRICS[name]


# Groups of metrics for one model each: kandle metric -> (History key, reference).
BINARY = {  # sigmoid output of one unit, labels (n, 1), BinaryCrossentropy
    "metrics": [
        kd.metrics.BinaryAccuracy(), "accuracy", kd.metrics.Precision(), kd.metrics.Recall(),
        kd.metrics.AUC(), kd.metrics.AUC(curve="PR", name="pr_auc"),
        kd.metrics.MeanSquaredError(), kd.metrics.MeanAbsoluteError(),
        kd.metrics.RootMeanSquaredError(), "mse", "mae",
    ],
    "want": {
        "binary_accuracy": m("binary_accuracy"), "accuracy": m("binary_accuracy"),
        "precision": m("precision"), "recall": m("recall"), "auc": m("auc"),
        "pr_auc": m("auc", curve="PR"), "mean_squared_error": m("mean_squared_error"),
        "mean_absolute_error": m("mean_absolute_error"),
        "root_mean_squared_error": m("root_mean_squared_error"),
        "mse": m("mean_squared_error"), "mae": m("mean_absolute_error"),
    },
    "model": (1, "sigmoid", binary, kd.losses.BinaryCrossentropy(), "bce"),
}  # fmt: skip
# softmax over 4 classes, one-hot labels, CategoricalCrossentropy; Precision and Recall at
# 0.3, which softmax outputs of 4 classes cross far more often than 0.5
CATEGORICAL = {
    "metrics": [
        kd.metrics.CategoricalAccuracy(), "acc", kd.metrics.TopKCategoricalAccuracy(k=2),
        kd.metrics.AUC(name="auc"), kd.metrics.Precision(thresholds=0.3, name="precision"),
        kd.metrics.Recall(thresholds=0.3, name="recall"),
    ],
    "want": {
        "categorical_accuracy": m("categorical_accuracy"), "acc": m("categorical_accuracy"),
        "top_k_categorical_accuracy": m("top_k_categorical_accuracy", k=2),
        "auc": m("auc"), "precision": m("precision", thresholds=0.3),
        "recall": m("recall", thresholds=0.3),
    },
    "model": (4, "softmax", one_hot, kd.losses.CategoricalCrossentropy(), "cce"),
}  # fmt: skip
SPARSE = {  # logits over 4 classes, integer labels (n,), SparseCategoricalCrossentropy
    "metrics": [
        kd.metrics.SparseCategoricalAccuracy(), "accuracy",
        kd.metrics.SparseTopKCategoricalAccuracy(k=2),
    ],
    "want": {
        "sparse_categorical_accuracy": m("sparse_categorical_accuracy"),
        "accuracy": m("sparse_categorical_accuracy"),
        "sparse_top_k_categorical_accuracy": m("sparse_top_k_categorical_accuracy", k=2),
    },
    "model": (4, None, sparse, kd.losses.SparseCategoricalCrossentropy(from_logits=True),
              "sparse_ce_logits"),
}  # fmt: skip
SPARSE_COLUMN = {  # labels (n, 1) against 4 outputs: "accuracy" is sparse categorical
    **SPARSE,
    "model": (4, None, lambda rng, n, out: sparse(rng, n, out)[:, None],
              kd.losses.SparseCategoricalCrossentropy(from_logits=True), "sparse_ce_logits"),
}  # fmt: skip
GROUPS = {
    "binary": BINARY,
    "categorical": CATEGORICAL,
    "sparse": SPARSE,
    "sparse_column": SPARSE_COLUMN,
}


def fresh_metrics(group):
    """Fresh metric objects for every test: copies through their configs."""
    return [s if isinstance(s, str) else type(s).from_config(s.get_config())
            for s in group["metrics"]]  # fmt: skip


def compile_group(group, weighted_too=False):
    """The group's model, compiled with its metrics, and (with `weighted_too`) the same
    metrics again as `weighted_metrics`, which Keras logs as `weighted_<name>`."""
    out, out_act, make_y, loss, ref = group["model"]
    model, mlp = mlp_model(out, out_act)
    weighted = fresh_metrics(group) if weighted_too else None
    model.compile(optimizer=kd.optimizers.SGD(0.1), loss=loss, metrics=fresh_metrics(group),
                  weighted_metrics=weighted)  # fmt: skip
    return model, mlp, make_y, out, ref


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
@pytest.mark.parametrize("name", list(GROUPS))
def test_fit_metrics_match_reference_with_validation_split(name, weighted):
    """Sample weights weight the loss and the `weighted_metrics`, never the `metrics`."""
    group = GROUPS[name]
    model, mlp, make_y, out, ref = compile_group(group, weighted_too=weighted)
    x, y, sw = dataset(make_y, out, seed=4)
    sw = sw if weighted else None
    history = model.fit(
        x, y, sample_weight=sw, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0,
        validation_split=0.25,
    )  # fmt: skip
    tr, va = slice(0, SPLIT), slice(SPLIT, N)
    cut = (lambda s: None) if sw is None else (lambda s: sw[s])
    refs = {"metrics": group["want"]}
    if weighted:
        refs["weighted_metrics"] = {f"weighted_{k}": f for k, f in group["want"].items()}
    want = fit(mlp, Optimizer("sgd", 0.1), ref, x[tr], y[tr], sw=cut(tr), epochs=EPOCHS,
               batch_size=BATCH, val=(x[va], y[va], cut(va)), **refs)  # fmt: skip
    assert_logs(history.history, want)
    assert_weights(model, mlp)
    got = model.evaluate(x, y, sample_weight=sw, batch_size=BATCH, verbose=0, return_dict=True)
    assert_logs(got, evaluate(mlp, ref, x, y, sw=sw, batch_size=BATCH, **refs))


@pytest.mark.parametrize("name", ["binary", "categorical", "sparse"])
def test_fit_metrics_with_validation_data_and_class_weight(name):
    group = GROUPS[name]
    model, mlp, make_y, out, ref = compile_group(group)
    x, y, _ = dataset(make_y, out, n=27, seed=5)
    vx, vy, vsw = dataset(make_y, out, n=11, seed=6)
    labels = y.reshape(len(y), -1)
    classes = labels.argmax(axis=-1) if labels.shape[-1] > 1 else labels[:, 0].astype(int)
    class_weight = {c: 0.5 + c for c in range(max(out, 2))}
    history = model.fit(
        x, y, class_weight=class_weight, batch_size=BATCH, epochs=3, initial_epoch=1,
        shuffle=False, verbose=0, validation_data=(vx, vy, vsw),
    )  # fmt: skip
    sw = np.array([class_weight[int(c)] for c in classes])
    want = fit(mlp, Optimizer("sgd", 0.1), ref, x, y, sw=sw, epochs=3, initial_epoch=1,
               batch_size=BATCH, val=(vx, vy, vsw), metrics=group["want"])  # fmt: skip
    assert history.epoch == [1, 2]
    assert_logs(history.history, want)
    assert_weights(model, mlp)


def test_reference_metrics_against_keras_docstring_examples():
    """The reference's metric formulas reproduce the examples of Keras's docstrings."""
    ones = np.ones(4)
    y, p = np.array([0.0, 0, 1, 1]), np.array([0, 0.5, 0.3, 0.9])
    assert METRICS["auc"](y, p, ones, num_thresholds=3) == pytest.approx(0.75)
    w = np.array([1.0, 0, 0, 1])
    assert METRICS["auc"](y, p, w, num_thresholds=3) == pytest.approx(1.0)
    y, p = np.array([0.0, 1, 1, 1]), np.array([1.0, 0, 1, 1])
    assert METRICS["precision"](y, p, ones) == pytest.approx(2 / 3)
    assert METRICS["recall"](y, p, ones) == pytest.approx(2 / 3)
    y2, p2 = np.array([[0.0, 0, 1], [0, 1, 0]]), np.array([[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    assert METRICS["top_k_categorical_accuracy"](y2, p2, np.ones(2), k=1) == 0.5
    assert METRICS["root_mean_squared_error"](
        np.array([[0.0, 1], [0, 0]]), np.array([[1.0, 1], [0, 0]]), np.array([1.0, 0])
    ) == pytest.approx(np.sqrt(0.5))


@pytest.mark.parametrize("case", list(LOSS_CASES))
def test_reference_gradients_by_central_differences(case):
    """The reference's hand-derived loss gradients, checked in float64."""
    _, ref, out, out_act, make_y, reduction = LOSS_CASES[case]
    x, y, sw = (a.astype(np.float64) for a in dataset(make_y, out, n=6))
    mlp = MLP(initial_weights([(4, 3), (3,), (3, out), (out,)]), ["tanh", out_act or "linear"])
    red = reduction or "sum_over_batch_size"

    def value():
        return reduced_loss(ref, y, mlp.forward(x)[-1], sw, red)[0]

    hs = mlp.forward(x)
    grads = mlp.grads(hs, reduced_loss(ref, y, hs[-1], sw, red)[1])
    for p, g in zip(mlp.params, grads):
        numeric = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            p[i] += 1e-6
            up = value()
            p[i] -= 2e-6
            numeric[i] = (up - value()) / 2e-6
            p[i] += 1e-6
        np.testing.assert_allclose(g, numeric, rtol=1e-4, atol=1e-7)
