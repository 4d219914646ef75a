"""Model subclassing: ``class MyModel(kd.Model)`` with layers made in ``__init__`` and
composed in ``call``, against Keras's own subclassed model."""

import keras
import numpy as np
import pytest

import kandle as kd

RTOL, ATOL = 1e-5, 1e-6


class Residual(kd.Model):
    """A residual MLP with a list of hidden layers and a dropout switched by training."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.project = kd.layers.Dense(4)
        self.blocks = [kd.layers.Dense(4, activation="tanh") for _ in range(2)]
        self.dropout = kd.layers.Dropout(0.5)
        self.head = kd.layers.Dense(2)

    def call(self, inputs, training=False):
        h = self.project(inputs)
        for block in self.blocks:
            h = h + block(h)
        return self.head(self.dropout(h, training=training))


class KerasResidual(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.project = keras.layers.Dense(4)
        self.blocks = [keras.layers.Dense(4, activation="tanh") for _ in range(2)]
        self.dropout = keras.layers.Dropout(0.5)
        self.head = keras.layers.Dense(2)

    def call(self, inputs, training=False):
        h = self.project(inputs)
        for block in self.blocks:
            h = h + block(h)
        return self.head(self.dropout(h, training=training))


class NoDropout(kd.Model):
    def __init__(self):
        super().__init__()
        self.project = kd.layers.Dense(4)
        self.blocks = [kd.layers.Dense(4, activation="tanh") for _ in range(2)]
        self.head = kd.layers.Dense(2)

    def call(self, inputs, training=False):
        h = self.project(inputs)
        for block in self.blocks:
            h = h + block(h)
        return self.head(h)


class KerasNoDropout(keras.Model):
    def __init__(self):
        super().__init__()
        self.project = keras.layers.Dense(4)
        self.blocks = [keras.layers.Dense(4, activation="tanh") for _ in range(2)]
        self.head = keras.layers.Dense(2)

    def call(self, inputs, training=False):
        h = self.project(inputs)
        for block in self.blocks:
            h = h + block(h)
        return self.head(h)


def test_subclassed_model_trains_as_keras(rng):
    x = rng.normal(size=(40, 3)).astype(np.float32)
    y = rng.normal(size=(40, 2)).astype(np.float32)
    model, keras_model = NoDropout(), KerasNoDropout()
    keras_model(x[:2])
    model(x[:2])
    assert len(model.weights) == len(keras_model.weights) == 8
    model.set_weights(keras_model.get_weights())
    model.compile(optimizer=kd.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    keras_model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    ours = model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history
    theirs = keras_model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history
    assert sorted(ours) == sorted(theirs)
    for key in theirs:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=RTOL, atol=ATOL)
    for a, b in zip(model.get_weights(), keras_model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(
        model.predict(x, verbose=0), keras_model.predict(x, verbose=0), rtol=RTOL, atol=ATOL
    )
    np.testing.assert_allclose(
        model.evaluate(x, y, verbose=0), keras_model.evaluate(x, y, verbose=0), rtol=RTOL
    )


def test_layers_in_attributes_and_lists_are_tracked():
    model = Residual(name="residual")
    assert [type(layer).__name__ for layer in model.layers] == [
        "Dense",
        "Dense",
        "Dense",
        "Dropout",
        "Dense",
    ]
    assert not model.built and model.weights == []
    model.build((None, 3))
    assert model.built and model.input_shape == (None, 3)
    assert [w.shape for w in model.get_weights()] == [
        (3, 4),
        (4,),
        (4, 4),
        (4,),
        (4, 4),
        (4,),
        (4, 2),
        (2,),
    ]
    assert model.count_params() == 16 + 20 + 20 + 10
    assert model.compute_output_shape((None, 3)) == (None, 2)


def test_builds_on_first_fit_and_dropout_follows_training(rng):
    x = rng.normal(size=(32, 3)).astype(np.float32)
    y = rng.normal(size=(32, 2)).astype(np.float32)
    model = Residual()
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, y, epochs=2, verbose=0)
    assert model.built and len(history.history["loss"]) == 2
    # Inference is deterministic (no dropout), training is not.
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))
    first = model(x, training=True).numpy()
    assert not np.array_equal(first, model(x, training=True).numpy())
    assert model.evaluate(x, y, verbose=0) == pytest.approx(
        float(np.mean((model.predict(x, verbose=0) - y) ** 2)), rel=1e-5
    )


def test_summary_shows_the_layers_as_keras(rng):
    x = rng.normal(size=(2, 3)).astype(np.float32)
    model, keras_model = NoDropout(), KerasNoDropout()
    model(x)
    keras_model(x)
    lines, keras_lines = [], []
    model.summary(print_fn=lines.append)
    keras_model.summary(print_fn=lambda line, **_: keras_lines.append(line))
    ours = "\n".join(lines)
    theirs = "\n".join(keras_lines)
    for text in ("(2, 4)", "(2, 2)", "Total params: 66 (264.00 B)"):
        assert text in ours and text in theirs
    assert ours.count("(Dense)") == theirs.count("(Dense)") == 4


def test_subclassed_model_with_a_custom_layer_and_train_on_batch(rng):
    class Gate(kd.layers.Layer):
        def build(self, input_shape):
            self.logit = self.add_weight(shape=(input_shape[-1],), initializer="zeros")

        def call(self, inputs):
            return inputs * kd.ops.sigmoid(self.logit)

    class Gated(kd.Model):
        def __init__(self):
            super().__init__()
            self.gate = Gate()
            self.out = kd.layers.Dense(1)

        def call(self, inputs):
            return self.out(self.gate(inputs))

    model = Gated()
    model.compile(optimizer=kd.optimizers.SGD(0.5), loss="mse")
    x = rng.normal(size=(16, 3)).astype(np.float32)
    y = x.sum(axis=1, keepdims=True)
    model.build((None, 3))
    before = model.gate.logit.numpy().copy()
    first = model.train_on_batch(x, y)
    for _ in range(20):
        last = model.train_on_batch(x, y)
    assert last < first
    assert not np.array_equal(before, model.gate.logit.numpy())
    assert len(model.trainable_weights) == 3


def test_summary_of_a_custom_layer_without_compute_output_shape_is_unknown_as_in_keras(rng):
    """Keras shows a sublayer's shape from compute_output_shape: "?" for a Python layer
    that lacks it, the shape for a built-in one; and the optimizer's variables once
    trained."""

    def make(lib):
        class Scale(lib.layers.Layer):
            def build(self, input_shape):
                self.s = self.add_weight(shape=(input_shape[-1],), initializer="ones")

            def call(self, inputs):
                return inputs * self.s

        class Net(lib.Model):
            def __init__(self):
                super().__init__()
                self.scale = Scale()
                self.out = lib.layers.Dense(1)

            def call(self, inputs, training=False):
                return self.out(self.scale(inputs))

        return Net()

    x = rng.normal(size=(8, 3)).astype(np.float32)
    y = x.sum(axis=1, keepdims=True)
    rows = []
    for lib in (kd, keras):
        model = make(lib)
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y, batch_size=8, verbose=0)
        printed: list[str] = []
        model.summary(print_fn=lambda text, _printed=printed, **_: _printed.append(text))
        lines = "\n".join(printed).splitlines()
        # (type), output shape and parameter count of each row (Keras numbers the names).
        cells = [[c.strip() for c in line.split("│")[1:-1]] for line in lines if "│ " in line]
        table = [[c[0].split(" ")[-1], *c[1:]] for c in cells if c[0]]
        rows.append(table + [line for line in lines if "params:" in line])
    assert rows[0] == rows[1]
    assert ["(Scale)", "?", "3"] in rows[0] and ["(Dense)", "(8, 1)", "4"] in rows[0]


def _with_steps(lib, *steps):
    """A subclassed model of ``lib`` that overrides Keras's ``steps`` methods, counting
    the calls and deferring to the base class."""
    calls = dict.fromkeys(steps, 0)

    def override(name):
        def step(self, *args, **kwargs):
            calls[name] += 1
            return getattr(super(Model, self), name)(*args, **kwargs)

        return step

    class Model(lib.Model):
        def __init__(self):
            super().__init__()
            self.dense = lib.layers.Dense(1)

        def call(self, x):
            return self.dense(x)

    for name in steps:
        setattr(Model, name, override(name))
    model = Model()
    model.compile(optimizer="sgd", loss="mse")
    return model, calls


RUNS = {
    "fit": lambda m, x, y: m.fit(x, y, batch_size=4, verbose=0),
    "fit_validation": lambda m, x, y: m.fit(x, y, validation_split=0.5, verbose=0),
    "evaluate": lambda m, x, y: m.evaluate(x, y, verbose=0),
    "predict": lambda m, x, y: m.predict(x, verbose=0),
    "train_on_batch": lambda m, x, y: m.train_on_batch(x, y),
    "test_on_batch": lambda m, x, y: m.test_on_batch(x, y),
    "predict_on_batch": lambda m, x, y: m.predict_on_batch(x),
}


@pytest.mark.parametrize(
    "step, run",
    [
        ("train_step", "fit"),
        ("train_step", "train_on_batch"),
        ("test_step", "fit_validation"),
        ("test_step", "evaluate"),
        ("test_step", "test_on_batch"),
        ("predict_step", "predict"),
        ("predict_step", "predict_on_batch"),
    ],
)
def test_an_overridden_step_is_refused_not_skipped(step, run):
    """Keras calls an overridden ``train_step``, ``test_step`` or ``predict_step``;
    kandle's engine loop cannot, so it says so instead of skipping the user's logic."""
    x, y = np.ones((8, 2), "float32"), np.ones((8, 1), "float32")
    keras_model, keras_calls = _with_steps(keras, step)
    RUNS[run](keras_model, x, y)
    assert keras_calls[step] > 0
    model, _ = _with_steps(kd, step)
    with pytest.raises(NotImplementedError, match=f"{run.split('_validation')[0]}: .*`{step}`"):
        RUNS[run](model, x, y)


def test_steps_that_a_call_would_not_use_are_no_obstacle():
    """As in Keras, fit without validation never calls test_step, and predict neither
    train_step nor test_step: overriding them there is fine."""
    x, y = np.ones((8, 2), "float32"), np.ones((8, 1), "float32")
    model, _ = _with_steps(kd, "test_step")
    model.fit(x, y, verbose=0)
    model, _ = _with_steps(kd, "train_step", "test_step")
    assert model.predict(x, verbose=0).shape == (8, 1)
    with pytest.raises(NotImplementedError, match="`train_step` and `test_step`"):
        model.fit(x, y, validation_data=(x, y), verbose=0)
