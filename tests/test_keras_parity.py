"""The standing parity suite: kandle against the real Keras (a test-only dependency, on
JAX; see conftest.py).

Each case builds the same model in both libraries, gives kandle Keras's initial weights,
trains both with ``shuffle=False`` and a validation split, and compares the loss and
metric history, the final weights, ``evaluate`` and ``predict``. A new layer, loss,
metric, optimizer or schedule joins with one line in ``CASES``: a function of the
library (``kandle`` or ``keras``) builds each piece, so the same line serves both.

Below the suite: regression tests for differences from Keras found by running the two
side by side.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import pytest

import kandle as kd

N, BATCH, EPOCHS, SPLIT = 32, 8, 2, 0.25

TARGETS = {
    "regression": lambda rng, n, out: rng.standard_normal((n, out)).astype("float32"),
    "positive": lambda rng, n, out: rng.uniform(0.1, 2.0, (n, out)).astype("float32"),
    "binary": lambda rng, n, out: rng.integers(0, 2, (n, out)).astype("float32"),
    "one_hot": lambda rng, n, out: np.eye(out, dtype="float32")[rng.integers(0, out, n)],
    "sparse": lambda rng, n, out: rng.integers(0, out, n),
}


@dataclass(frozen=True)
class Case:
    """One model trained in both libraries. ``layers``, ``loss``, ``optimizer``,
    ``metrics`` and ``weighted_metrics`` are functions of the library (or plain Keras
    identifiers, which both accept)."""

    layers: Callable[[Any], list[Any]]
    loss: Any
    targets: str = "regression"
    outputs: int = 2
    optimizer: Any = "sgd"
    metrics: Any = None
    weighted_metrics: Any = None
    sample_weight: bool = False
    class_weight: dict[int, float] | None = None
    input_shape: tuple[int, ...] = (4,)
    tokens: int = 0  # > 0: integer inputs in [0, tokens) (for an Embedding)
    rtol: float = 1e-4


def mlp(units: int, activation: str | None = None, hidden: int = 5, **dense: Any) -> Any:
    """Dense(hidden, tanh) -> Dense(units, activation)."""
    return lambda k: [
        k.layers.Dense(hidden, activation="tanh"),
        k.layers.Dense(units, activation=activation, **dense),
    ]


def adam(k: Any) -> Any:
    return k.optimizers.Adam(learning_rate=0.01)


CASES: dict[str, Case] = {
    # -- losses
    "loss:mse": Case(mlp(2), "mse"),
    "loss:mae": Case(mlp(2), "mae"),
    "loss:huber": Case(mlp(2), lambda k: k.losses.Huber(delta=0.5)),
    "loss:mse_sum": Case(mlp(2), lambda k: k.losses.MeanSquaredError(reduction="sum")),
    "loss:bce": Case(mlp(2, "sigmoid"), "binary_crossentropy", targets="binary"),
    "loss:bce_logits": Case(mlp(2), lambda k: k.losses.BinaryCrossentropy(from_logits=True),
                            targets="binary"),
    "loss:bce_smoothing": Case(mlp(2, "sigmoid"),
                               lambda k: k.losses.BinaryCrossentropy(label_smoothing=0.2),
                               targets="binary"),
    "loss:cce": Case(mlp(3, "softmax"), "categorical_crossentropy", targets="one_hot", outputs=3),
    "loss:cce_logits": Case(mlp(3), lambda k: k.losses.CategoricalCrossentropy(from_logits=True),
                            targets="one_hot", outputs=3),
    "loss:scce": Case(mlp(3, "softmax"), "sparse_categorical_crossentropy", targets="sparse",
                      outputs=3),
    "loss:scce_logits": Case(
        mlp(3), lambda k: k.losses.SparseCategoricalCrossentropy(from_logits=True),
        targets="sparse", outputs=3),
    "loss:kld": Case(mlp(3, "softmax"), "kl_divergence", targets="one_hot", outputs=3),
    "loss:poisson": Case(mlp(2, "softplus"), "poisson", targets="positive"),
    "loss:log_cosh": Case(mlp(2), "log_cosh"),
    "loss:hinge": Case(mlp(2, "tanh"), "hinge", targets="binary"),
    "loss:squared_hinge": Case(mlp(2, "tanh"), "squared_hinge", targets="binary"),
    "loss:categorical_hinge": Case(mlp(3), "categorical_hinge", targets="one_hot", outputs=3),
    "loss:cosine_similarity": Case(mlp(3), lambda k: k.losses.CosineSimilarity(axis=-1),
                                   outputs=3),
    "loss:mape": Case(mlp(2, "softplus"), "mape", targets="positive"),
    "loss:msle": Case(mlp(2, "softplus"), "msle", targets="positive"),
    "loss:binary_focal": Case(mlp(2, "sigmoid"), lambda k: k.losses.BinaryFocalCrossentropy(
        apply_class_balancing=True, alpha=0.3, gamma=1.5), targets="binary"),
    "loss:categorical_focal": Case(mlp(3), lambda k: k.losses.CategoricalFocalCrossentropy(
        from_logits=True, gamma=2.0), targets="one_hot", outputs=3),
    "loss:dice": Case(mlp(2, "sigmoid"), lambda k: k.losses.Dice(axis=-1), targets="binary"),
    "loss:tversky": Case(mlp(2, "sigmoid"), lambda k: k.losses.Tversky(alpha=0.7, beta=0.3,
                                                                       axis=-1),
                         targets="binary"),
    "metrics:loss_style": Case(
        mlp(3, "softmax"), "categorical_crossentropy", targets="one_hot", outputs=3,
        metrics=lambda k: [k.metrics.CategoricalCrossentropy(name="cce"),
                           k.metrics.KLDivergence(name="kld"), k.metrics.Poisson(name="poisson"),
                           k.metrics.CategoricalHinge(name="chinge"),
                           k.metrics.CosineSimilarity(name="cos"),
                           k.metrics.LogCoshError(name="logcosh"),
                           k.metrics.MeanAbsolutePercentageError(name="mape"),
                           k.metrics.MeanSquaredLogarithmicError(name="msle")]),
    "metrics:binary_loss_style": Case(
        mlp(1, "sigmoid"), "binary_crossentropy", targets="binary", outputs=1,
        metrics=lambda k: [k.metrics.BinaryCrossentropy(name="bce"), k.metrics.Hinge(name="h"),
                           k.metrics.SquaredHinge(name="sh")]),
    "metrics:sparse_loss_style": Case(
        mlp(3), lambda k: k.losses.SparseCategoricalCrossentropy(from_logits=True),
        targets="sparse", outputs=3,
        metrics=lambda k: [k.metrics.SparseCategoricalCrossentropy(from_logits=True,
                                                                   name="scce")]),
    # -- metrics, named: unnamed ones are numbered per process (auc, auc_1, ...), in
    # kandle as in Keras. (Keras's rule: sample and class weights reach only weighted_metrics)
    "metrics:binary": Case(
        mlp(1, "sigmoid"), "binary_crossentropy", targets="binary", outputs=1,
        metrics=lambda k: ["accuracy", k.metrics.Precision(name="precision"),
                           k.metrics.Recall(name="recall"), k.metrics.AUC(name="auc"),
                           k.metrics.AUC(curve="PR", name="pr_auc")]),
    "metrics:categorical": Case(
        mlp(3, "softmax"), "categorical_crossentropy", targets="one_hot", outputs=3,
        metrics=lambda k: ["accuracy", k.metrics.TopKCategoricalAccuracy(k=2, name="top2")]),
    "metrics:sparse": Case(
        mlp(3, "softmax"), "sparse_categorical_crossentropy", targets="sparse", outputs=3,
        metrics=lambda k: ["accuracy", k.metrics.SparseTopKCategoricalAccuracy(k=2, name="top2")]),
    "metrics:regression": Case(
        mlp(2), "mse", metrics=lambda k: ["mae", k.metrics.RootMeanSquaredError(name="rmse")]),
    "metrics:confusion": Case(
        mlp(1, "sigmoid"), "binary_crossentropy", targets="binary", outputs=1,
        metrics=lambda k: [k.metrics.TruePositives(name="tp"), k.metrics.FalsePositives(name="fp"),
                           k.metrics.TrueNegatives(name="tn"), k.metrics.FalseNegatives(name="fn"),
                           k.metrics.PrecisionAtRecall(0.5, name="p_at_r"),
                           k.metrics.RecallAtPrecision(0.5, name="r_at_p"),
                           k.metrics.SensitivityAtSpecificity(0.5, name="se_at_sp"),
                           k.metrics.SpecificityAtSensitivity(0.5, name="sp_at_se")]),
    "metrics:f_scores": Case(
        mlp(3, "softmax"), "categorical_crossentropy", targets="one_hot", outputs=3,
        metrics=lambda k: [k.metrics.F1Score(average="macro", name="f1"),
                           k.metrics.FBetaScore(beta=2.0, average="weighted", threshold=0.4,
                                                name="f2"),
                           k.metrics.AUC(multi_label=True, name="ml_auc"),
                           k.metrics.Precision(top_k=2, name="p_top2"),
                           k.metrics.Recall(class_id=1, name="r_1")]),
    "metrics:r2": Case(mlp(2), "mse", metrics=lambda k: [k.metrics.R2Score(name="r2")]),
    "metrics:mean_metric_wrapper": Case(
        mlp(2), "mse",
        metrics=lambda k: [k.metrics.MeanMetricWrapper(k.losses.mean_absolute_error, name="w")]),
    "metrics:sample_weight": Case(
        mlp(1, "sigmoid"), "binary_crossentropy", targets="binary", outputs=1,
        sample_weight=True, metrics=lambda k: ["accuracy", k.metrics.AUC(name="auc"), "mse"],
        weighted_metrics=lambda k: ["accuracy", k.metrics.AUC(name="auc"), "mse"]),
    "metrics:class_weight": Case(
        mlp(3, "softmax"), "sparse_categorical_crossentropy", targets="sparse", outputs=3,
        class_weight={0: 0.5, 1: 2.0, 2: 1.5}, metrics=["accuracy"],
        weighted_metrics=["accuracy"]),
    # -- optimizers and schedules
    "optimizer:sgd_momentum": Case(mlp(2), "mse", optimizer=lambda k: k.optimizers.SGD(
        0.05, momentum=0.9, nesterov=True)),
    "optimizer:adam": Case(mlp(2), "mse", optimizer=adam),
    "optimizer:adam_amsgrad": Case(mlp(2), "mse", optimizer=lambda k: k.optimizers.Adam(
        0.01, amsgrad=True)),
    "optimizer:adamw": Case(mlp(2), "mse", optimizer=lambda k: k.optimizers.AdamW(
        0.01, weight_decay=0.1)),
    "optimizer:rmsprop": Case(mlp(2), "mse", optimizer=lambda k: k.optimizers.RMSprop(
        0.01, momentum=0.5, centered=True)),
    "optimizer:adagrad": Case(mlp(2), "mse", optimizer=lambda k: k.optimizers.Adagrad(0.05)),
    "optimizer:clipnorm": Case(mlp(2), "mse", optimizer=lambda k: k.optimizers.SGD(
        0.1, clipnorm=0.1)),
    "optimizer:global_clipnorm": Case(mlp(2), "mse", optimizer=lambda k: k.optimizers.Adam(
        0.01, global_clipnorm=0.1)),
    "optimizer:clipvalue": Case(mlp(2), "mse", optimizer=lambda k: k.optimizers.SGD(
        0.1, clipvalue=0.01)),
    "optimizer:loss_scale_factor": Case(mlp(2), "mse", optimizer=lambda k: k.optimizers.SGD(
        0.1, loss_scale_factor=128.0)),
    "optimizer:nadam": Case(mlp(2), "mse", optimizer=lambda k: k.optimizers.Nadam(0.01)),
    "optimizer:adamax": Case(mlp(2), "mse", optimizer=lambda k: k.optimizers.Adamax(0.01)),
    "optimizer:adadelta": Case(mlp(2), "mse", optimizer=lambda k: k.optimizers.Adadelta(1.0)),
    "optimizer:ftrl": Case(mlp(2), "mse", optimizer=lambda k: k.optimizers.Ftrl(
        0.1, l1_regularization_strength=0.01, l2_regularization_strength=0.01)),
    "optimizer:lion": Case(mlp(2), "mse", optimizer=lambda k: k.optimizers.Lion(0.003)),
    "optimizer:adam_ema": Case(mlp(2), "mse", optimizer=lambda k: k.optimizers.Adam(
        0.01, use_ema=True, ema_momentum=0.8)),
    "optimizer:sgd_accumulation": Case(mlp(2), "mse", optimizer=lambda k: k.optimizers.SGD(
        0.1, momentum=0.5, gradient_accumulation_steps=2)),
    "schedule:polynomial": Case(mlp(2), "mse", optimizer=lambda k: k.optimizers.SGD(
        k.optimizers.schedules.PolynomialDecay(0.1, 16, end_learning_rate=0.01, power=2.0))),
    "schedule:inverse_time": Case(mlp(2), "mse", optimizer=lambda k: k.optimizers.SGD(
        k.optimizers.schedules.InverseTimeDecay(0.1, decay_steps=2, decay_rate=0.5))),
    "schedule:cosine_restarts": Case(mlp(2), "mse", optimizer=lambda k: k.optimizers.Adam(
        k.optimizers.schedules.CosineDecayRestarts(0.05, first_decay_steps=4))),
    "schedule:cosine_warmup": Case(mlp(2), "mse", optimizer=lambda k: k.optimizers.Adam(
        k.optimizers.schedules.CosineDecay(0.0, decay_steps=4, warmup_target=0.05,
                                           warmup_steps=2))),
    "schedule:exponential": Case(mlp(2), "mse", optimizer=lambda k: k.optimizers.SGD(
        k.optimizers.schedules.ExponentialDecay(0.1, decay_steps=3, decay_rate=0.5))),
    "schedule:cosine": Case(mlp(2), "mse", optimizer=lambda k: k.optimizers.Adam(
        k.optimizers.schedules.CosineDecay(0.05, decay_steps=5, alpha=0.1))),
    "schedule:piecewise": Case(mlp(2), "mse", optimizer=lambda k: k.optimizers.SGD(
        k.optimizers.schedules.PiecewiseConstantDecay([2, 4], [0.1, 0.05, 0.01]))),
    # -- layers
    "layer:dense_no_bias_l2": Case(
        mlp(2, use_bias=False, kernel_regularizer="l2"), "mse"),
    "layer:activation": Case(lambda k: [k.layers.Dense(3), k.layers.Activation("relu"),
                                        k.layers.Dense(2)], "mse"),
    "layer:flatten_reshape": Case(lambda k: [k.layers.Flatten(), k.layers.Reshape((3, 2)),
                                             k.layers.Flatten(), k.layers.Dense(2)], "mse",
                                  input_shape=(2, 3)),
    "layer:batch_norm": Case(lambda k: [k.layers.Dense(5), k.layers.BatchNormalization(),
                                        k.layers.Activation("tanh"), k.layers.Dense(2)], "mse"),
    "layer:layer_norm": Case(lambda k: [k.layers.Dense(5), k.layers.LayerNormalization(),
                                        k.layers.Dense(2)], "mse"),
    "layer:embedding": Case(lambda k: [k.layers.Embedding(10, 3), k.layers.Flatten(),
                                       k.layers.Dense(2)], "mse", input_shape=(4,), tokens=10),
    "layer:identity_unit_norm": Case(lambda k: [k.layers.Dense(4), k.layers.Identity(),
                                                k.layers.UnitNormalization(), k.layers.Dense(2)],
                                     "mse"),
    "layer:repeat_permute": Case(lambda k: [k.layers.Dense(3), k.layers.RepeatVector(2),
                                            k.layers.Permute((2, 1)), k.layers.Flatten(),
                                            k.layers.Dense(2)], "mse"),
    "layer:rescaling_normalization": Case(
        lambda k: [k.layers.Rescaling(0.5, offset=0.1),
                   k.layers.Normalization(mean=[0.1, 0.2, 0.3, 0.4], variance=[1, 2, 3, 4]),
                   k.layers.Dense(2)], "mse"),
    "layer:activity_regularization": Case(
        lambda k: [k.layers.Dense(4), k.layers.ActivityRegularization(l1=0.01, l2=0.02),
                   k.layers.Dense(2)], "mse"),
    "layer:discretization": Case(
        lambda k: [k.layers.Discretization(bin_boundaries=[-0.5, 0.0, 0.5],
                                           output_mode="one_hot"),
                   k.layers.Flatten(), k.layers.Dense(2)], "mse"),
    "layer:category_encoding": Case(
        lambda k: [k.layers.CategoryEncoding(num_tokens=6, output_mode="count"),
                   k.layers.Dense(2)], "mse", tokens=6),
}  # fmt: skip


def _make(spec: Any, lib: Any) -> Any:
    return spec(lib) if callable(spec) else spec


def _data(case: Case, seed: int) -> tuple[np.ndarray, Any, np.ndarray | None]:
    rng = np.random.default_rng(seed)
    shape = (N, *case.input_shape)
    if case.tokens:
        x = rng.integers(0, case.tokens, shape).astype("int32")
    else:
        x = rng.standard_normal(shape).astype("float32")
    y = TARGETS[case.targets](rng, N, case.outputs)
    sw = rng.uniform(0.2, 2.0, N).astype("float32") if case.sample_weight else None
    return x, y, sw


def _train(lib: Any, case: Case, weights: list[np.ndarray] | None, data: tuple) -> dict:
    x, y, sw = data
    dtype = "int32" if case.tokens else "float32"
    model = lib.Sequential([lib.Input(case.input_shape, dtype=dtype), *case.layers(lib)])
    if weights is not None:
        model.set_weights(weights)
    initial = model.get_weights()
    model.compile(
        optimizer=_make(case.optimizer, lib),
        loss=_make(case.loss, lib),
        metrics=_make(case.metrics, lib),
        weighted_metrics=_make(case.weighted_metrics, lib),
    )
    history = model.fit(
        x, y, sample_weight=sw, class_weight=case.class_weight, batch_size=BATCH, epochs=EPOCHS,
        validation_split=SPLIT, shuffle=False, verbose=0,
    )  # fmt: skip
    return {
        "initial": initial,
        "history": history.history,
        "weights": model.get_weights(),
        "evaluate": model.evaluate(
            x, y, sample_weight=sw, batch_size=BATCH, verbose=0, return_dict=True
        ),  # fmt: skip
        "predict": model.predict(x, batch_size=BATCH, verbose=0),
    }


def assert_same_run(got: dict, want: dict, rtol: float) -> None:
    assert sorted(got["history"]) == sorted(want["history"])
    for key, values in want["history"].items():
        np.testing.assert_allclose(got["history"][key], values, rtol=rtol, atol=1e-5,
                                   err_msg=f"history[{key!r}]")  # fmt: skip
    assert len(got["weights"]) == len(want["weights"])
    for i, (g, w) in enumerate(zip(got["weights"], want["weights"])):
        np.testing.assert_allclose(g, w, rtol=rtol, atol=1e-5, err_msg=f"weight {i}")
    assert sorted(got["evaluate"]) == sorted(want["evaluate"])
    for key, value in want["evaluate"].items():
        np.testing.assert_allclose(got["evaluate"][key], value, rtol=rtol, atol=1e-5,
                                   err_msg=f"evaluate[{key!r}]")  # fmt: skip
    np.testing.assert_allclose(got["predict"], want["predict"], rtol=rtol, atol=1e-5)


@pytest.mark.parametrize("name", list(CASES))
def test_training_matches_keras(name):
    case = CASES[name]
    seed = sum(map(ord, name))
    keras.utils.set_random_seed(seed)
    data = _data(case, seed)
    want = _train(keras, case, None, data)
    got = _train(kd, case, want["initial"], data)
    assert_same_run(got, want, case.rtol)


# ---------------------------------------------- differences found side by side, fixed


def _pair(compile_args: Callable[[Any], dict], units: int = 3, seed: int = 7) -> tuple:
    """The same small classifier in kandle and Keras, with Keras's initial weights."""
    keras.utils.set_random_seed(seed)
    models = []
    for lib in (keras, kd):
        model = lib.Sequential([lib.Input((4,)), lib.layers.Dense(5, activation="tanh"),
                                lib.layers.Dense(units, activation="softmax")])  # fmt: skip
        model.compile(**compile_args(lib))
        models.append(model)
    models[1].set_weights(models[0].get_weights())
    return models[1], models[0]


def _batches(seed: int = 8) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [
        (
            rng.standard_normal((6, 4)).astype("float32"),
            rng.integers(0, 3, 6),
            rng.uniform(0.1, 2.0, 6).astype("float32"),
        )
        for _ in range(3)
    ]


def _assert_logs_equal(got: Any, want: Any) -> None:
    if isinstance(want, dict):
        assert sorted(got) == sorted(want)
        got, want = [got[k] for k in sorted(want)], [want[k] for k in sorted(want)]
    np.testing.assert_allclose(np.asarray(got, float), np.asarray(want, float), rtol=1e-5)


def classifier(lib: Any) -> dict:
    return {
        "optimizer": lib.optimizers.SGD(0.5),
        "loss": "sparse_categorical_crossentropy",
        "metrics": ["accuracy"],
        "weighted_metrics": ["accuracy"],
    }


def test_train_and_test_on_batch_return_that_batch_s_values():
    """Keras 3 resets the metrics before each train_on_batch/test_on_batch: each call
    reports its own batch, not a running mean since the first call."""
    kd_model, keras_model = _pair(classifier)
    for x, y, sw in _batches():
        for kwargs in ({}, {"sample_weight": sw}, {"return_dict": True}):
            _assert_logs_equal(kd_model.test_on_batch(x, y, **kwargs),
                               keras_model.test_on_batch(x, y, **kwargs))  # fmt: skip
            _assert_logs_equal(kd_model.train_on_batch(x, y, **kwargs),
                               keras_model.train_on_batch(x, y, **kwargs))  # fmt: skip
    for got, want in zip(kd_model.get_weights(), keras_model.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_train_on_batch_with_class_weight_matches_keras():
    kd_model, keras_model = _pair(classifier)
    class_weight = {0: 0.2, 1: 3.0, 2: 1.0}
    for x, y, _ in _batches(seed=9):
        _assert_logs_equal(
            kd_model.train_on_batch(x, y, class_weight=class_weight, return_dict=True),
            keras_model.train_on_batch(x, y, class_weight=class_weight, return_dict=True),
        )


def test_fit_and_evaluate_metrics_ignore_sample_weights():
    """``metrics`` ignore sample weights; ``weighted_metrics`` use them (both in one
    evaluate), as in Keras."""
    kd_model, keras_model = _pair(classifier)
    x, y, sw = (np.concatenate(a) for a in zip(*_batches(seed=10)))
    got = kd_model.evaluate(x, y, sample_weight=sw, return_dict=True, verbose=0)
    want = keras_model.evaluate(x, y, sample_weight=sw, return_dict=True, verbose=0)
    _assert_logs_equal(got, want)
    assert got["accuracy"] != pytest.approx(got["weighted_accuracy"])


def test_train_on_batch_uses_the_model_as_it_is_now():
    """A later compile (new optimizer) and a layer set to trainable=False reach the next
    train_on_batch, with no compile needed for the latter."""
    kd_model, keras_model = _pair(classifier)
    (x, y, _), (x2, y2, _), (x3, y3, _) = _batches(seed=11)
    for lib, model in ((kd, kd_model), (keras, keras_model)):
        model.train_on_batch(x, y)
        model.compile(optimizer=lib.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy")
        model.train_on_batch(x2, y2)
    for got, want in zip(kd_model.get_weights(), keras_model.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)

    kd_model.layers[0].trainable = False
    frozen, last = kd_model.layers[0].get_weights(), kd_model.layers[1].get_weights()
    kd_model.train_on_batch(x3, y3)
    for got, want in zip(kd_model.layers[0].get_weights(), frozen):
        np.testing.assert_array_equal(got, want)
    assert not np.array_equal(kd_model.layers[1].get_weights()[0], last[0])


def test_train_on_batch_after_pop_trains_only_the_remaining_layers():
    model = kd.Sequential([kd.Input((4,)), kd.layers.Dense(5), kd.layers.Dense(3)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((2, 4), "float32")
    model.train_on_batch(x, np.zeros((2, 3)))
    removed = model.pop()
    before = removed.get_weights()
    logs = model.train_on_batch(x, np.zeros((2, 5)), return_dict=True)
    assert set(logs) == {"loss"}
    for got, want in zip(removed.get_weights(), before):
        np.testing.assert_array_equal(got, want)
    assert model.predict(x, verbose=0).shape == (2, 5)


def test_loss_scale_factor_leaves_the_update_unchanged():
    """Keras multiplies the loss by loss_scale_factor and divides the gradients by it:
    SGD's step is the same with or without it."""
    x = np.array([[1.0, 2.0], [3.0, -1.0]], "float32")
    y = np.array([[1.0], [0.0]], "float32")
    results = {}
    for lib in (keras, kd):
        for factor in (None, 64.0):
            model = lib.Sequential([lib.Input((2,)), lib.layers.Dense(1)])
            model.set_weights([np.array([[0.5], [-0.25]], "float32"), np.zeros(1, "float32")])
            model.compile(optimizer=lib.optimizers.SGD(0.1, loss_scale_factor=factor),
                          loss="mse")  # fmt: skip
            loss = model.train_on_batch(x, y)
            results[lib.__name__, factor] = (loss, model.get_weights())
    for factor in (None, 64.0):
        got, want = results["kandle", factor], results["keras", factor]
        np.testing.assert_allclose(got[0], want[0], rtol=1e-6)
        for g, w in zip(got[1], want[1]):
            np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(results["kandle", 64.0][1][1], results["kandle", None][1][1])


def test_grad_differentiates_at_the_forward_time_value():
    """A Variable changed after the forward pass: the gradient is taken at the value the
    forward pass read (TensorFlow's tape does the same), not the new one."""
    v = kd.Variable([1.0, -2.0])
    loss = (v * v).sum()
    v.assign([5.0, 3.0])
    np.testing.assert_array_equal(kd.grad(loss, [v])[0].numpy(), [2.0, -4.0])
    # A graph recorded after the change sees the new value.
    np.testing.assert_array_equal(kd.grad((v * v).sum(), [v])[0].numpy(), [10.0, 6.0])
    # An optimizer step between forward and backward is a write too.
    w = kd.Variable([[1.0], [2.0]])
    x = kd.tensor([[3.0, 4.0]])
    loss = ((x @ w) ** 2).sum()  # d/dw = 2 (x w) x^T = 22 * [3, 4]
    kd.optimizers.SGD(0.5).apply([kd.tensor([[1.0], [1.0]])], [w])
    np.testing.assert_allclose(kd.grad(loss, [w])[0].numpy(), [[66.0], [88.0]])


def test_input_takes_keras_s_arguments():
    for kwargs in (
        {"shape": (3,)},
        {"shape": (None, 5), "batch_size": 8, "name": "seq"},
        {"batch_shape": (4, 7), "dtype": "int32"},
        {"shape": (6,), "dtype": "int64"},
        {"shape": (2,), "dtype": "float64"},
    ):
        got, want = kd.Input(**kwargs), keras.Input(**kwargs)
        assert got.shape == tuple(want.shape)
        assert got.dtype == want.dtype
        config = keras.layers.InputLayer(**kwargs).get_config()
        got_config = kd.layers.InputLayer(**kwargs).get_config()
        assert {k: v for k, v in got_config.items() if k != "name"} == {
            k: (list(v) if k == "batch_shape" else v) for k, v in config.items() if k != "name"
        }
    assert kd.Input((3,), name="features").name == "features"
    layer = kd.layers.InputLayer.from_config(
        kd.layers.InputLayer((None, 4), dtype="int32").get_config()
    )
    assert (layer.shape, layer.dtype) == ((None, None, 4), "int32")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({}, "shape"),
        ({"shape": (3,), "batch_shape": (None, 3)}, "both `shape` and `batch_shape`"),
        ({"batch_shape": (None, 3), "batch_size": 2}, "both `batch_size` and `batch_shape`"),
        ({"shape": (3,), "dtype": "string"}, "dtype"),
        ({"shape": (0,)}, "shape"),
        ({"shape": "abc"}, "shape"),
        ({"shape": (3,), "batch_size": -1}, "batch_size"),
        ({"shape": (3,), "sparse": True}, "sparse"),
    ],
)
def test_input_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        kd.Input(**kwargs)


def test_integer_inputs_feed_an_embedding_in_fit():
    rng = np.random.default_rng(12)
    x = rng.integers(0, 20, (16, 5)).astype("int64")
    y = rng.standard_normal((16, 1)).astype("float32")
    model = kd.Sequential([kd.Input(shape=(5,), dtype="int64"), kd.layers.Embedding(20, 4),
                           kd.layers.Flatten(), kd.layers.Dense(1)])  # fmt: skip
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert model.predict(x[:3], verbose=0).shape == (3, 1)


def _counting(lib: Any) -> Any:
    """A callback of ``lib`` that records the batches each epoch, evaluation and
    prediction runs."""

    class Count(lib.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.train: list[int] = []
            self.test: list[int] = []
            self.predict = 0

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.train.append(0)

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            self.train[-1] += 1

        def on_test_begin(self, logs: Any = None) -> None:
            self.test.append(0)

        def on_test_batch_end(self, batch: int, logs: Any = None) -> None:
            self.test[-1] += 1

        def on_predict_batch_end(self, batch: int, logs: Any = None) -> None:
            self.predict += 1

    return Count()


def _classification(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)).astype("float32"), rng.integers(0, 3, n)


@pytest.mark.parametrize(
    "steps_per_epoch, batch_size, epochs",
    [(3, 10, 5), (5, 10, 3), (15, 10, 2), (2, None, 2)],
    ids=["continues_and_runs_short", "two_epochs_per_pass", "more_than_the_data", "no_batch_size"],
)
def test_steps_per_epoch_and_validation_steps_on_arrays_match_keras(
    steps_per_epoch, batch_size, epochs
):
    """As Keras: an epoch runs ``steps_per_epoch`` batches, continuing where the last
    one stopped (a pass over the rows that ends mid-epoch cuts that epoch short, with
    the "ran out of data" warning, and training goes on); without a batch size the
    steps cover the rows; validation runs the first ``validation_steps`` batches."""
    x, y = _classification(100, seed=11)
    xv, yv = _classification(30, seed=12)
    runs = []
    for model in _pair(classifier):
        lib = kd if isinstance(model, kd.Model) else keras
        count = _counting(lib)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            history = model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False,
                                steps_per_epoch=steps_per_epoch, validation_data=(xv, yv),
                                validation_steps=2, callbacks=[count], verbose=0)  # fmt: skip
        ran_out = any("ran out of data" in str(w.message) for w in caught)
        runs.append({"history": history, "params": history.params, "batches": count.train,
                     "validation_batches": count.test, "ran_out": ran_out,
                     "iterations": int(np.asarray(model.optimizer.iterations)),
                     "weights": model.get_weights()})  # fmt: skip
    got, want = runs
    for key in ("params", "batches", "validation_batches", "ran_out", "iterations"):
        assert got[key] == want[key], key
    assert sorted(got["history"].history) == sorted(want["history"].history)
    for key, values in want["history"].history.items():
        np.testing.assert_allclose(got["history"].history[key], values, rtol=1e-5, err_msg=key)
    for g, w in zip(got["weights"], want["weights"]):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_steps_per_epoch_on_shuffled_arrays_runs_keras_s_batches():
    """With shuffling, the same batches per epoch as Keras (the orders differ)."""
    x, y = _classification(100, seed=13)
    counts = []
    for model in _pair(classifier):
        count = _counting(kd if isinstance(model, kd.Model) else keras)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(x, y, batch_size=10, epochs=5, steps_per_epoch=4, callbacks=[count],
                      verbose=0)  # fmt: skip
        counts.append(count.train)
    assert counts[0] == counts[1] == [4, 4, 2, 4, 4]


@pytest.mark.parametrize(
    "steps, batch_size", [(2, 10), (3, None), (10, 10)], ids=["first_two", "no_batch_size", "more"]
)
def test_evaluate_and_predict_steps_on_arrays_match_keras(steps, batch_size):
    """``steps`` takes the first batches of the arrays (all of them, with Keras's
    warning, when there are fewer); without a batch size the steps cover the rows."""
    x, y = _classification(64, seed=14)
    got, want = _pair(classifier)
    results = []
    for model in (got, want):
        count = _counting(kd if model is got else keras)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            logs = model.evaluate(x, y, batch_size=batch_size, steps=steps, callbacks=[count],
                                  return_dict=True, verbose=0)  # fmt: skip
            out = model.predict(x, batch_size=batch_size, steps=steps, callbacks=[count],
                                verbose=0)  # fmt: skip
        ran_out = sum("ran out of data" in str(w.message) for w in caught) > 0
        results.append((logs, out, count.test, count.predict, ran_out))
    (got_logs, got_out, *got_counts), (want_logs, want_out, *want_counts) = results
    _assert_logs_equal(got_logs, want_logs)
    assert got_out.shape == want_out.shape
    np.testing.assert_allclose(got_out, want_out, rtol=1e-5, atol=1e-6)
    assert got_counts == want_counts


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda m, x, y: m.fit(x, y, steps_per_epoch=0, verbose=0), "steps_per_epoch: expected"),
        (
            lambda m, x, y: m.fit(x, y, validation_split=0.5, validation_steps=-1, verbose=0),
            "validation_steps: expected",
        ),  # fmt: skip
        (lambda m, x, y: m.evaluate(x, y, steps=1.5, verbose=0), "steps: expected"),
        (lambda m, x, y: m.predict(x, steps=True, verbose=0), "steps: expected"),
    ],
)
def test_bad_steps_are_rejected_naming_the_argument(call, match):
    model, _ = _pair(classifier)
    x, y = _classification(8, seed=15)
    with pytest.raises(ValueError, match=match):
        call(model, x, y)
