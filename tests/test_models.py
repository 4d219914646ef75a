"""Sequential, compile, fit, evaluate, predict: Keras's semantics and parity with an
independent numpy implementation of Keras's training loop (tests/keras_reference.py)."""

from __future__ import annotations

import numpy as np
import pytest

import kandle as kd
from keras_reference import MLP, RTOL, Optimizer, assert_logs, assert_weights, evaluate, fit


def data(n=40, d=4, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = rng.integers(0, classes, n).astype(np.float32)
    return x, y


def initial_weights(shapes, seed=1):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(s) * 0.5).astype(np.float32) for s in shapes]


def mlp_model(d=4, hidden=5, out=3, act="relu", out_act=None):
    model = kd.Sequential(
        [
            kd.Input((d,)),
            kd.layers.Dense(hidden, activation=act),
            kd.layers.Dense(out, activation=out_act),
        ]
    )
    weights = initial_weights([(d, hidden), (hidden,), (hidden, out), (out,)])
    model.set_weights(weights)
    return model, weights


OPTIMIZERS = [
    ("sgd", kd.optimizers.SGD, {"learning_rate": 0.1}),
    ("sgd", kd.optimizers.SGD, {"learning_rate": 0.05, "momentum": 0.9}),
    ("sgd", kd.optimizers.SGD, {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
    ("adam", kd.optimizers.Adam, {"learning_rate": 0.01}),
    ("adamw", kd.optimizers.AdamW, {"learning_rate": 0.01}),
    ("rmsprop", kd.optimizers.RMSprop, {"learning_rate": 0.01}),
    ("adagrad", kd.optimizers.Adagrad, {"learning_rate": 0.1}),
    ("sgd", kd.optimizers.SGD, {"learning_rate": 0.1, "weight_decay": 0.01}),
]


def reference_optimizer(kind, kwargs):
    kw = dict(kwargs)
    lr = kw.pop("learning_rate")
    if kind == "adagrad":
        kw.setdefault("initial_accumulator_value", 0.1)
    return Optimizer(kind, lr, **kw)


@pytest.mark.parametrize("kind,cls,kwargs", OPTIMIZERS, ids=lambda v: str(v))
def test_fit_matches_keras_reference_for_each_optimizer(kind, cls, kwargs):
    x, y = data()
    model, weights = mlp_model()
    model.compile(
        optimizer=cls(**kwargs),
        loss=kd.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = model.fit(
        x, y, batch_size=8, epochs=3, shuffle=False, verbose=0, validation_split=0.25
    )
    mlp = MLP(weights, ["relu", "linear"])
    split = 30  # floor(40 * 0.75): validation takes the LAST rows
    want = fit(
        mlp,
        reference_optimizer(kind, kwargs),
        "sparse_ce_logits",
        x[:split],
        y[:split],
        epochs=3,
        batch_size=8,
        val=(x[split:], y[split:]),
        accuracy=True,
    )
    assert list(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert_logs(history.history, want)
    assert_weights(model, mlp)
    assert history.epoch == [0, 1, 2]
    assert history.params == {"verbose": 0, "epochs": 3, "steps": 4}


@pytest.mark.parametrize(
    "loss,ref,out,out_act,make_y",
    [
        ("mse", "mse", 2, None, lambda rng, n: rng.standard_normal((n, 2))),
        (
            kd.losses.BinaryCrossentropy(from_logits=True),
            "bce_logits",
            2,
            None,
            lambda rng, n: rng.integers(0, 2, (n, 2)),
        ),
        (
            kd.losses.CategoricalCrossentropy(from_logits=True),
            "cce_logits",
            3,
            None,
            lambda rng, n: np.eye(3)[rng.integers(0, 3, n)],
        ),
    ],
    ids=["mse", "bce_logits", "cce_logits"],
)
def test_fit_matches_reference_for_each_loss_with_sample_weight(loss, ref, out, out_act, make_y):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((21, 4)).astype(np.float32)
    y = make_y(rng, 21).astype(np.float32)
    sw = rng.uniform(0.2, 2.0, 21).astype(np.float32)
    model, weights = mlp_model(out=out, act="tanh", out_act=out_act)
    model.compile(optimizer=kd.optimizers.SGD(0.05), loss=loss)
    history = model.fit(x, y, sample_weight=sw, batch_size=5, epochs=2, shuffle=False, verbose=0)
    mlp = MLP(weights, ["tanh", "linear"])
    want = fit(mlp, Optimizer("sgd", 0.05), ref, x, y, sw=sw, epochs=2, batch_size=5)
    assert_logs(history.history, want)
    assert_weights(model, mlp)


def test_validation_data_class_weight_and_initial_epoch():
    x, y = data(n=30)
    vx, vy = data(n=9, seed=5)
    model, weights = mlp_model()
    model.compile(
        optimizer=kd.optimizers.SGD(0.1),
        loss=kd.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    class_weight = {0: 0.5, 1: 2.0, 2: 1.0}
    history = model.fit(
        x,
        y,
        batch_size=7,
        epochs=3,
        initial_epoch=1,
        shuffle=False,
        verbose=0,
        validation_data=(vx, vy),
        class_weight=class_weight,
    )
    sw = np.array([class_weight[int(c)] for c in y])
    mlp = MLP(weights, ["relu", "linear"])
    want = fit(
        mlp,
        Optimizer("sgd", 0.1),
        "sparse_ce_logits",
        x,
        y,
        sw=sw,
        epochs=3,
        initial_epoch=1,
        batch_size=7,
        val=(vx, vy),
        accuracy=True,
    )
    assert history.epoch == [1, 2]  # epochs=3, initial_epoch=1: two epochs
    assert_logs(history.history, want)


def test_evaluate_and_predict_match_reference():
    x, y = data(n=37)
    model, weights = mlp_model()
    model.compile(
        optimizer="sgd",
        loss=kd.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    mlp = MLP(weights, ["relu", "linear"])
    want = evaluate(mlp, "sparse_ce_logits", x, y, batch_size=32, accuracy=True)
    loss, acc = model.evaluate(x, y, verbose=0)
    np.testing.assert_allclose([loss, acc], [want["loss"], want["accuracy"]], rtol=RTOL)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "accuracy"}
    pred = model.predict(x, batch_size=10, verbose=0)
    assert pred.dtype == np.float32 and pred.shape == (37, 3)
    np.testing.assert_allclose(pred, mlp.forward(x)[-1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(x[:4]), pred[:4], rtol=1e-6)


@pytest.mark.parametrize("batch_size", [1, 7, 32, 33, 100, 600, 3000])
def test_predict_runs_batches_together_with_each_batch_s_values(batch_size):
    # predict sends consecutive batches through the model together (2048 rows at a
    # time); each row must still get its own output, in order.
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4500, 64)).astype(np.float32)
    weights = [
        (rng.standard_normal(s) * 0.2).astype(np.float32)
        for s in [(64, 300), (300,), (300, 256), (256,), (256, 5), (5,)]
    ]
    model = kd.Sequential(
        [
            kd.Input((64,)),
            kd.layers.Dense(300, activation="relu"),
            kd.layers.Dense(256, activation="tanh"),
            kd.layers.Dense(5),
        ]
    )
    model.set_weights(weights)
    pred = model.predict(x, batch_size=batch_size, verbose=0)
    assert pred.shape == (4500, 5)
    want = MLP(weights, ["relu", "tanh", "linear"]).forward(x)[-1]
    np.testing.assert_allclose(pred, want, rtol=1e-4, atol=1e-5)
    alone = np.concatenate(
        [model.predict_on_batch(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
    )
    # The same values; only the rounding of gemm's sums may differ with the row count.
    np.testing.assert_allclose(pred, alone, rtol=1e-5, atol=1e-5)
    assert not np.array_equal(pred, model.predict(x[::-1], batch_size=batch_size, verbose=0))
    np.testing.assert_array_equal(pred, model.predict(x, batch_size=batch_size, verbose=0))


def test_predict_batch_hooks_see_every_batch():
    class Outputs(kd.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.batches = []

        def on_predict_batch_end(self, batch, logs=None):
            self.batches.append(batch)

    x = np.random.default_rng(0).standard_normal((70, 4)).astype(np.float32)
    model, _ = mlp_model()
    seen = Outputs()
    pred = model.predict(x, batch_size=8, verbose=0, callbacks=[seen])
    assert seen.batches == list(range(9))
    np.testing.assert_allclose(
        pred, model.predict(x, batch_size=8, verbose=0), rtol=1e-5, atol=1e-6
    )


def test_evaluate_without_metrics_returns_a_float():
    x, y = data(n=10)
    model, _ = mlp_model()
    model.compile(optimizer="sgd", loss=kd.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert isinstance(model.evaluate(x, y, verbose=0), float)


def test_train_on_batch_and_test_on_batch():
    x, y = data(n=8)
    model, weights = mlp_model()
    model.compile(
        optimizer=kd.optimizers.SGD(0.1),
        loss=kd.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    before = model.test_on_batch(x, y)
    mlp = MLP(weights, ["relu", "linear"])
    np.testing.assert_allclose(before, evaluate(mlp, "sparse_ce_logits", x, y)["loss"], rtol=RTOL)
    model.train_on_batch(x, y)
    fit(mlp, Optimizer("sgd", 0.1), "sparse_ce_logits", x, y, epochs=1, batch_size=8)
    assert_weights(model, mlp)


def test_batch_size_none_means_32_and_keeps_the_last_partial_batch():
    x, y = data(n=70)
    model, _ = mlp_model()
    model.compile(optimizer="sgd", loss=kd.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x, y, epochs=1, verbose=0)
    assert history.params["steps"] == 3  # 32 + 32 + 6


def test_shuffle_is_reproducible_with_a_seed_and_changes_the_order():
    x, y = data(n=64)

    def run(seed, shuffle=True):
        kd.utils.set_random_seed(seed)
        model, _ = mlp_model()
        model.compile(
            optimizer=kd.optimizers.SGD(0.1),
            loss=kd.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        model.fit(x, y, batch_size=8, epochs=2, shuffle=shuffle, verbose=0)
        return model.get_weights()

    a, b, c = run(7), run(7), run(8)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert any(not np.array_equal(u, v) for u, v in zip(a, c))


def test_deferred_build_and_automatic_names():
    model = kd.Sequential()
    first, second = kd.layers.Dense(3), kd.layers.Dense(2)
    model.add(first)
    model.add(second)
    assert not model.built
    out = model.predict(np.ones((5, 4), np.float32), verbose=0)
    assert out.shape == (5, 2) and model.built
    assert second.name.startswith("dense_") and first.name.startswith("dense")
    assert model.count_params() == 4 * 3 + 3 + 3 * 2 + 2
    assert [w.shape for w in model.get_weights()] == [(4, 3), (3,), (3, 2), (2,)]
    assert kd.models.Sequential is kd.Sequential and issubclass(kd.Sequential, kd.Model)


def test_summary_matches_keras(capsys):
    model = kd.Sequential(
        [kd.Input((784,)), kd.layers.Dense(64, activation="relu"), kd.layers.Dense(10)],
        name="mnist",
    )
    model.summary()
    out = capsys.readouterr().out
    assert out.startswith('Model: "mnist"')
    assert "Layer (type)" in out and "Output Shape" in out and "Param #" in out
    assert "(None, 64)" in out and "(None, 10)" in out
    assert "50,240" in out and "650" in out
    assert "Total params: 50,890 (198.79 KB)" in out
    assert "Trainable params: 50,890 (198.79 KB)" in out
    assert "Non-trainable params: 0 (0.00 B)" in out


def _long_names(lib, built=True):
    layers = lib.layers
    stack = [
        layers.Conv2D(4, 3, name="conv2d"),
        layers.BatchNormalization(name="batch_normalization"),
        layers.Conv2DTranspose(2, 3, name="conv2d_transpose"),
        layers.GlobalAveragePooling2D(name="global_average_pooling2d"),
        layers.Dense(3, name="a_user_given_layer_name_of_more_than_forty_characters"),
        layers.Dense(2, name="an_unbroken_name_far_too_long_for_the_first_column_of_the_table_x"),
    ]
    if not built:
        # Keras builds a layer without a build method (pooling) at construction.
        stack = [layer for layer in stack if layer.name != "global_average_pooling2d"]
        return lib.Sequential(stack, name="long_names_model")
    return lib.Sequential([lib.Input((8, 8, 3)), *stack], name="long_names_model")


@pytest.mark.parametrize("built", [True, False])
@pytest.mark.parametrize(
    ("columns", "line_length"), [(80, None), (200, None), (80, 60), (200, 120)]
)
def test_summary_of_long_names_is_keras_s_exact_text(
    built, columns, line_length, monkeypatch, capsys
):
    """Keras's fixed column widths, with a long "name (Type)" cell wrapped onto more
    lines (cut with an ellipsis where one word is too long), exactly as Keras prints it;
    the same table code as a functional model's. (Keras's rich console crops a line
    longer than the terminal, so line_length stays within COLUMNS here.)"""
    import keras

    monkeypatch.setenv("COLUMNS", str(columns))
    _long_names(kd, built).summary(line_length=line_length)
    mine = capsys.readouterr().out
    _long_names(keras, built).summary(line_length=line_length)
    theirs = capsys.readouterr().out
    assert mine == theirs
    if (line_length or 88) <= 88:
        assert "│ (BatchNormalization)" in mine
    widths = {len(line) for line in mine.splitlines() if line[:1] in "┏┃┡│├└"}
    assert len(widths) == 1


def test_summary_refuses_a_line_too_short_for_its_columns():
    model = kd.Sequential([kd.Input((4,)), kd.layers.Dense(2)])
    with pytest.raises(kd.errors.InvalidArgumentError, match="line_length=8"):
        model.summary(line_length=8)


@pytest.mark.parametrize(
    "optimizer",
    ["adam", "sgd", "sgd-momentum", "adam-schedule", "rmsprop-ema"],
)
def test_summary_counts_the_optimizer_s_variables_as_keras(optimizer, capsys):
    """After training, Keras's summary adds the optimizer's variables (iteration,
    learning rate unless a schedule, slots, moving averages): so does kandle's."""
    import keras

    def make(lib):
        return {
            "adam": lambda: lib.optimizers.Adam(),
            "sgd": lambda: lib.optimizers.SGD(),
            "sgd-momentum": lambda: lib.optimizers.SGD(momentum=0.9),
            "adam-schedule": lambda: lib.optimizers.Adam(
                lib.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)
            ),
            "rmsprop-ema": lambda: lib.optimizers.RMSprop(use_ema=True),
        }[optimizer]()

    x, y = np.ones((8, 4), np.float32), np.ones((8, 2), np.float32)
    lines = []
    for lib in (kd, keras):
        model = lib.Sequential([lib.Input((4,)), lib.layers.Dense(3), lib.layers.Dense(2)])
        model.compile(optimizer=make(lib), loss="mse")
        model.summary()
        before = capsys.readouterr().out
        assert "Optimizer params" not in before  # not built before training, in both
        model.fit(x, y, batch_size=4, verbose=0)
        model.summary()
        lines.append([line for line in capsys.readouterr().out.splitlines() if "params:" in line])
    assert lines[0] == lines[1]
    assert any("Optimizer params" in line for line in lines[0])


def test_progress_bar_verbose_1_and_2(capsys):
    x, y = data(n=20)
    model, _ = mlp_model()
    model.compile(
        optimizer="sgd",
        loss=kd.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(x, y, batch_size=4, epochs=2, verbose=1, validation_split=0.2)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    final = [line for line in out.splitlines() if line.startswith("4/4")]
    assert len(final) == 2
    assert "━" * 20 in final[0]
    assert final[0].index("accuracy:") < final[0].index("loss:") < final[0].index("val_accuracy:")
    assert "/step" in final[0]
    model.fit(x, y, batch_size=4, epochs=1, verbose=2)
    out = capsys.readouterr().out
    assert "Epoch" not in out  # one epoch: no header
    assert out.startswith("5/5 - ") and "/step - accuracy:" in out
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""
    model.evaluate(x, y, batch_size=4, verbose=1)
    assert "5/5" in capsys.readouterr().out


def test_callbacks_hooks_and_stop_training():
    x, y = data(n=16)
    model, _ = mlp_model()
    model.compile(optimizer="sgd", loss=kd.losses.SparseCategoricalCrossentropy(from_logits=True))
    events = []

    class Recorder(kd.callbacks.Callback):
        def on_train_begin(self, logs=None):
            events.append("train_begin")

        def on_epoch_begin(self, epoch, logs=None):
            events.append(("epoch_begin", epoch))

        def on_train_batch_end(self, batch, logs=None):
            events.append(("batch_end", batch, sorted(logs)))
            if batch == 1 and len([e for e in events if e[0] == "epoch_begin"]) == 2:
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            events.append(("epoch_end", epoch))

    history = model.fit(x, y, batch_size=4, epochs=5, verbose=0, callbacks=[Recorder()])
    assert events[0] == "train_begin"
    assert ("batch_end", 3, ["loss"]) in events
    assert [e for e in events if e[0] == "epoch_end"] == [("epoch_end", 0), ("epoch_end", 1)]
    assert history.epoch == [0, 1]


def test_early_stopping_restores_best_weights():
    x, y = data(n=16)
    model, _ = mlp_model()
    model.compile(
        optimizer=kd.optimizers.SGD(5.0),  # diverges: loss gets worse
        loss=kd.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    losses = []
    snapshots = []
    keep = kd.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: (
            losses.append(logs["loss"]),
            snapshots.append(model.get_weights()),
        )
    )
    stop = kd.callbacks.EarlyStopping(monitor="loss", patience=1, restore_best_weights=True)
    history = model.fit(x, y, batch_size=16, epochs=20, verbose=0, callbacks=[keep, stop])
    best = int(np.argmin(losses))
    assert len(history.epoch) < 20
    assert len(history.epoch) == best + 2  # stopped one epoch after the best (patience 1)
    for got, want in zip(model.get_weights(), snapshots[best]):
        np.testing.assert_array_equal(got, want)


def test_reduce_lr_on_plateau_and_scheduler():
    x, y = data(n=16)
    model, _ = mlp_model()
    model.compile(
        optimizer=kd.optimizers.SGD(0.1),
        loss=kd.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    sched = kd.callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[sched])
    np.testing.assert_allclose(history.history["learning_rate"], [0.1, 0.05, 0.1 / 3], rtol=1e-6)
    model.compile(
        optimizer=kd.optimizers.SGD(0.0),  # no progress at all: a plateau
        loss=kd.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    reduce = kd.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1)
    model.optimizer.learning_rate = 0.2
    model.optimizer.learning_rate = 0.2
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[reduce])
    assert history.history["learning_rate"][0] == pytest.approx(0.2)


def test_terminate_on_nan_and_csv_logger(tmp_path):
    x, y = data(n=16)
    x[5, 0] = np.nan
    model, _ = mlp_model()
    model.compile(optimizer="sgd", loss=kd.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(
        x, y, batch_size=4, epochs=3, verbose=0, callbacks=[kd.callbacks.TerminateOnNaN()]
    )
    assert len(history.epoch) == 1
    path = tmp_path / "log.csv"
    x2, y2 = data(n=16)
    model2, _ = mlp_model()
    model2.compile(optimizer="sgd", loss=kd.losses.SparseCategoricalCrossentropy(from_logits=True))
    h = model2.fit(x2, y2, epochs=2, verbose=0, callbacks=[kd.callbacks.CSVLogger(str(path))])
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch,loss"
    assert len(lines) == 3
    assert float(lines[2].split(",")[1]) == pytest.approx(h.history["loss"][1])


def test_get_config_round_trip():
    model, _ = mlp_model()
    clone = kd.Sequential.from_config(model.get_config())
    assert [type(layer).__name__ for layer in clone.layers] == ["Dense", "Dense"]
    assert [w.shape for w in clone.get_weights()] == [w.shape for w in model.get_weights()]
    clone.set_weights(model.get_weights())
    x, _ = data(n=3)
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda m, x, y: m.fit(x, y[:-1], verbose=0), "cardinality"),
        (lambda m, x, y: m.fit(x[:, :3], y, verbose=0), r"\(None, 4\)"),
        (lambda m, x, y: m.fit(x, y, batch_size=0, verbose=0), "batch_size"),
        (lambda m, x, y: m.fit(x, y, epochs=-1, verbose=0), "epochs"),
        (lambda m, x, y: m.fit(x, y, validation_split=1.0, verbose=0), "validation_split"),
        (lambda m, x, y: m.fit(x, y, validation_split=-0.1, verbose=0), "validation_split"),
        (lambda m, x, y: m.fit(x[:1], y[:1], validation_split=0.5, verbose=0), "validation_split"),
        (
            lambda m, x, y: m.fit(
                x, y, class_weight={0: 1.0}, sample_weight=np.ones(len(x)), verbose=0
            ),
            "class_weight",
        ),
        (lambda m, x, y: m.fit(x, y, sample_weight=np.ones(3), verbose=0), "cardinality"),
        (lambda m, x, y: m.set_weights([np.ones((4, 5))]), "set_weights"),
        (
            lambda m, x, y: m.set_weights(
                [np.ones((5, 4)), np.ones(5), np.ones((5, 3)), np.ones(3)]
            ),
            r"\(4, 5\)",
        ),
    ],
)
def test_bad_input_raises_and_leaves_the_model_unchanged(call, match):
    x, y = data(n=10)
    model, _ = mlp_model()
    model.compile(optimizer="sgd", loss=kd.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = model.get_weights()
    with pytest.raises(ValueError, match=match):
        call(model, x, y)
    for got, want in zip(model.get_weights(), before):
        np.testing.assert_array_equal(got, want)


def test_fit_before_compile_and_unknown_names():
    x, y = data(n=4)
    model, _ = mlp_model()
    with pytest.raises(ValueError, match="compile"):
        model.fit(x, y, verbose=0)
    with pytest.raises(ValueError):
        model.compile(optimizer="nope", loss="mse")
    with pytest.raises(ValueError):
        model.compile(optimizer="sgd", loss="nope")
    with pytest.raises(ValueError):
        model.compile(optimizer="sgd", loss="mse", metrics=["nope"])
    with pytest.raises(ValueError):
        kd.layers.Dense(0)
    with pytest.raises(ValueError):
        kd.layers.Dense(3, activation="nope")


def test_custom_python_activation_runs_in_the_batch_loop():
    model = kd.Sequential([kd.Input((2,)), kd.layers.Dense(2, activation=lambda t: t * 2.0)])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(np.ones((4, 2)), np.ones((4, 2)), verbose=0)
    assert np.isfinite(history.history["loss"][0])
    kernel, bias = model.get_weights()
    x = np.array([[0.5, -1.0]], np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0), 2.0 * (x @ kernel + bias), rtol=1e-6)


@pytest.mark.parametrize("bad", [(None, np.ones(4)), (None, None), (np.ones((4, 4)),)])
def test_fit_rejects_incomplete_validation_data(bad):
    x, y = data(n=8)
    model, _ = mlp_model()
    model.compile(optimizer="sgd", loss=kd.losses.SparseCategoricalCrossentropy(from_logits=True))
    with pytest.raises(ValueError, match="validation_data"):
        model.fit(x, y, validation_data=bad, verbose=0)


def test_custom_python_loss_runs_in_the_batch_loop():
    model = kd.Sequential([kd.Input((2,)), kd.layers.Dense(2)])
    model.compile(optimizer="sgd", loss=lambda t, p: ((t - p) ** 2).mean(axis=-1))
    x, y = np.array([[1.0, 2.0], [0.0, -1.0]], np.float32), np.ones((2, 2), np.float32)
    history = model.fit(x, y, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    expected = np.mean((y - model.predict(x, verbose=0)) ** 2)
    assert model.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-5)


def test_mnist_example_runs_and_learns():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "examples/mnist_mlp.py"],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert 'Model: "sequential' in out and "Epoch 3/3" in out
    accuracy = float(out.split("test accuracy ")[1].split()[0])
    assert accuracy > 0.9


# ---- compile's Keras arguments, loss_weights, model.metrics / losses, clone_model ----


def _seq(lib, reg=None, out=1, name="out"):
    return lib.Sequential(
        [
            lib.Input((3,)),
            lib.layers.Dense(4, activation="tanh", kernel_regularizer=reg),
            lib.layers.Dense(out, name=name),
        ]
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"jit_compile": False},
        {"jit_compile": True},
        {"jit_compile": "auto"},
        {"run_eagerly": True},
        {"run_eagerly": True, "jit_compile": "auto"},
        {"run_eagerly": False},
        {"steps_per_execution": 1},
        {"steps_per_execution": 4},
        {"auto_scale_loss": False},
    ],
)
def test_compile_takes_keras_s_execution_arguments(kwargs):
    """jit_compile, run_eagerly, steps_per_execution and auto_scale_loss are accepted
    and kept as Keras (on JAX) keeps them; training computes the same either way."""
    import keras

    models = []
    for lib in (kd, keras):
        model = _seq(lib)
        assert (model.run_eagerly, model.steps_per_execution, model.jit_compile) == (
            False,
            1,
            True,
        )
        model.compile(optimizer="sgd", loss="mse", **kwargs)
        models.append(model)
    mine, theirs = models
    expected = (theirs.run_eagerly, theirs.steps_per_execution, theirs.jit_compile)
    assert (mine.run_eagerly, mine.steps_per_execution, mine.jit_compile) == expected
    x, y = data(n=16, d=3, classes=1)[0], np.ones((16, 1), np.float32)
    mine.set_weights(theirs.get_weights())
    got = mine.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history["loss"]
    want = theirs.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(got, want, rtol=RTOL)


def test_compile_warns_as_keras_for_jit_compile_with_run_eagerly():
    model = _seq(kd)
    with pytest.warns(UserWarning, match="Disabling `jit_compile`"):
        model.compile(optimizer="sgd", loss="mse", jit_compile=True, run_eagerly=True)
    assert model.jit_compile is False and model.run_eagerly is True


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"steps_per_execution": 0}, "steps_per_execution"),
        ({"steps_per_execution": 1.5}, "steps_per_execution"),
        ({"jit_compile": "xla"}, "jit_compile"),
        ({"run_eagerly": "yes"}, "run_eagerly"),
        ({"auto_scale_loss": None}, "auto_scale_loss"),
        ({"loss_weights": "a"}, "loss_weights"),
        ({"loss_weights": [0.5, 0.5]}, "1 losses and 2 weights"),
        ({"loss_weights": {"nope": 0.5}}, "output name"),
        ({"loss_weights": float("nan")}, "finite"),
    ],
)
def test_compile_refuses_bad_execution_arguments(kwargs, match):
    with pytest.raises(kd.errors.InvalidArgumentError, match=match):
        _seq(kd).compile(optimizer="sgd", loss="mse", **kwargs)


def test_steps_per_execution_refuses_batch_hooks_it_cannot_space_out():
    """Keras calls batch hooks once per execution; kandle says it cannot, rather than
    call them on every batch. Epoch hooks are unaffected."""

    class BatchCounter(kd.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            pass

    class EpochCounter(kd.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.epochs = epoch + 1

    model = _seq(kd)
    model.compile(optimizer="sgd", loss="mse", steps_per_execution=2)
    x, y = np.ones((8, 3), np.float32), np.ones((8, 1), np.float32)
    with pytest.raises(NotImplementedError, match="steps_per_execution=2"):
        model.fit(x, y, callbacks=[BatchCounter()], verbose=0)
    counter = EpochCounter()
    model.fit(x, y, epochs=2, callbacks=[counter], verbose=0)
    assert counter.epochs == 2


@pytest.mark.parametrize("weights", [0.5, [0.5], (2.0,), {"out": 0.25}])
@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_loss_weights_of_one_output_scale_the_loss_as_keras(weights, kind):
    """Keras scales the loss by the weight (the regularization penalty unscaled), in
    the reported loss and the gradients; metrics are not scaled."""
    import keras

    def make(lib):
        model = _seq(lib, reg=lib.regularizers.L2(0.01))
        if kind == "functional":
            model = lib.Model(model.inputs, model.outputs)
        model.compile(
            optimizer=lib.optimizers.SGD(0.1), loss="mse", loss_weights=weights, metrics=["mae"]
        )
        return model

    theirs, mine = make(keras), make(kd)
    mine.set_weights(theirs.get_weights())
    x = data(n=24, d=3, classes=1)[0]
    y = x.sum(axis=1, keepdims=True)
    assert mine.evaluate(x, y, verbose=0) == pytest.approx(
        theirs.evaluate(x, y, verbose=0), rel=RTOL
    )
    got = mine.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history
    want = theirs.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history
    assert sorted(got) == sorted(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=RTOL)
    for a, b in zip(mine.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=1e-6)
    np.testing.assert_allclose(mine.train_on_batch(x, y), theirs.train_on_batch(x, y), rtol=RTOL)


def test_loss_weights_with_sparse_labels_as_keras():
    import keras

    models = []
    for lib in (keras, kd):
        model = _seq(lib, out=3)
        model.compile(
            optimizer="sgd",
            loss=lib.losses.SparseCategoricalCrossentropy(from_logits=True),
            loss_weights=3.0,
            metrics=["accuracy"],
        )
        models.append(model)
    theirs, mine = models
    mine.set_weights(theirs.get_weights())
    x, labels = data(n=20, d=3, classes=3)
    labels = np.argmax(labels, axis=1) if np.ndim(labels) > 1 else labels
    got = mine.fit(x, labels, batch_size=5, epochs=2, shuffle=False, verbose=0).history
    want = theirs.fit(x, labels, batch_size=5, epochs=2, shuffle=False, verbose=0).history
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=RTOL)


def test_model_metrics_and_metrics_names_as_keras_3():
    import keras

    x = data(n=16, d=3, classes=1)[0]
    y = x.sum(axis=1, keepdims=True)
    found = {}
    for lib in (keras, kd):
        model = _seq(lib)
        before = model.metrics, model.metrics_names
        model.compile(optimizer="sgd", loss="mse")
        only_loss = [m.name for m in model.metrics]
        model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
        names = [m.name for m in model.metrics]
        if lib is kd:
            model.set_weights(found["keras"]["weights"])
        values = model.evaluate(x, y, verbose=0)
        results = [m.result() for m in model.metrics]
        for m in model.metrics:
            m.reset_state()
        reset = [m.result() for m in model.metrics]
        found[lib.__name__] = {
            "before": before,
            "only_loss": only_loss,
            "names": (names, model.metrics_names),
            "values": values,
            "results": (float(results[0]), {k: float(v) for k, v in results[1].items()}),
            "reset": (float(reset[0]), reset[1]),
            "weights": model.get_weights(),
        }
    mine, theirs = found["kandle"], found["keras"]
    for key in ("before", "only_loss", "names", "reset"):
        assert mine[key] == theirs[key]
    np.testing.assert_allclose(mine["values"], theirs["values"], rtol=RTOL)
    assert mine["results"][0] == pytest.approx(theirs["results"][0], rel=RTOL)
    assert mine["results"][1] == pytest.approx(theirs["results"][1], rel=RTOL)
    assert mine["results"][0] == pytest.approx(mine["values"][0], rel=1e-6)


def test_model_losses_are_the_regularization_penalties():
    import keras

    sums = []
    for lib in (keras, kd):
        model = lib.Sequential(
            [
                lib.Input((2,)),
                lib.layers.Dense(
                    2,
                    kernel_initializer="ones",
                    bias_initializer="ones",
                    kernel_regularizer=lib.regularizers.L2(0.1),
                    bias_regularizer=lib.regularizers.L1(0.5),
                ),
                lib.layers.Dense(1, kernel_initializer="ones"),
            ]
        )
        sums.append(sum(float(p) for p in model.losses))
    assert sums[1] == pytest.approx(sums[0])  # 0.4 + 1.0; Keras lists one per weight
    assert kd.Sequential([kd.Input((2,)), kd.layers.Dense(1)]).losses == []


def test_clone_model_of_a_compiled_sequential_keeps_its_compile_arguments():
    model = _seq(kd)
    model.compile(optimizer="sgd", loss="mse", loss_weights=0.5, steps_per_execution=3)
    clone = kd.models.clone_model(model)
    assert clone.steps_per_execution == 3 and clone._loss_weights == [0.5]
    assert [m.name for m in clone.metrics] == ["loss"]
    assert clone.get_layer("out") is not model.get_layer("out")
