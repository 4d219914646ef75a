"""Custom Python layers, losses, metrics and activations in ``fit``: parity with Keras
(same weights, data and batch order), weight tracking, summary, and bad input."""

import keras
import numpy as np
import pytest

import kandle as kd
from kandle.errors import InvalidArgumentError

# float32 precision over a few epochs of SGD.
RTOL, ATOL = 1e-5, 1e-6


def make_data(rng, rows=40, features=3, outputs=2):
    x = rng.normal(size=(rows, features)).astype(np.float32)
    y = rng.normal(size=(rows, outputs)).astype(np.float32)
    return x, y


class ScaleShift(kd.layers.Layer):
    """A learned per-feature scale and shift."""

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="scale")
        self.shift = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="shift")

    def call(self, inputs):
        return inputs * self.scale + self.shift


class KerasScaleShift(keras.layers.Layer):
    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="scale")
        self.shift = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="shift")

    def call(self, inputs):
        return inputs * self.scale + self.shift


def smooth_l1(y_true, y_pred):
    """A custom loss written with the ops of each library."""
    ops = kd.ops if isinstance(y_pred, kd.Tensor) else keras.ops
    error = ops.abs(ops.subtract(y_true, y_pred))
    return ops.mean(ops.where(error < 1.0, 0.5 * ops.square(error), error - 0.5), axis=-1)


class KandleWeightedMSE(kd.losses.Loss):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, y_true, y_pred):
        return kd.ops.mean(kd.ops.square(y_true - y_pred), axis=-1) * self.factor


class KerasWeightedMSE(keras.losses.Loss):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, y_true, y_pred):
        return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1) * self.factor


def twin_models(
    rng, features=3, kandle_loss=smooth_l1, keras_loss=smooth_l1, lr=0.1, **compile_args
):
    """The same model in both libraries, with the same starting weights."""
    keras_model = keras.Sequential(
        [
            keras.Input((features,)),
            keras.layers.Dense(4, activation="tanh"),
            KerasScaleShift(),
            keras.layers.Dense(2),
        ]
    )
    model = kd.Sequential(
        [
            kd.Input((features,)),
            kd.layers.Dense(4, activation="tanh"),
            ScaleShift(),
            kd.layers.Dense(2),
        ]
    )
    # Non-trivial scale and shift, so that their gradients matter from the start.
    weights = [w + rng.normal(scale=0.1, size=w.shape) for w in keras_model.get_weights()]
    weights = [w.astype(np.float32) for w in weights]
    keras_model.set_weights(weights)
    model.set_weights(weights)
    keras_model.compile(optimizer=keras.optimizers.SGD(lr), loss=keras_loss, **compile_args)
    model.compile(optimizer=kd.optimizers.SGD(lr), loss=kandle_loss, **compile_args)
    return model, keras_model


def assert_same_training(model, keras_model, x, y, epochs=3):
    ours = model.fit(x, y, batch_size=8, epochs=epochs, shuffle=False, verbose=0)
    theirs = keras_model.fit(x, y, batch_size=8, epochs=epochs, shuffle=False, verbose=0)
    assert sorted(ours.history) == sorted(theirs.history)
    assert np.all(np.isfinite(ours.history["loss"])), "training diverged: nothing compared"
    for key in theirs.history:
        np.testing.assert_allclose(ours.history[key], theirs.history[key], rtol=RTOL, atol=ATOL)
    for a, b in zip(model.get_weights(), keras_model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(
        model.predict(x, verbose=0), keras_model.predict(x, verbose=0), rtol=RTOL, atol=ATOL
    )
    np.testing.assert_allclose(
        model.evaluate(x, y, verbose=0), keras_model.evaluate(x, y, verbose=0), rtol=RTOL
    )
    return ours.history


def test_custom_layer_and_function_loss_train_as_in_keras(rng):
    x, y = make_data(rng)
    model, keras_model = twin_models(rng)
    assert_same_training(model, keras_model, x, y)


def test_loss_subclass_with_reduction_trains_as_in_keras(rng):
    x, y = make_data(rng)
    model, keras_model = twin_models(
        rng,
        kandle_loss=KandleWeightedMSE(factor=3.0, reduction="sum", name="wmse"),
        keras_loss=KerasWeightedMSE(factor=3.0, reduction="sum", name="wmse"),
        # A summed loss has batch-sized gradients: a small step keeps training finite.
        lr=0.002,
    )
    assert_same_training(model, keras_model, x, y, epochs=2)


def test_custom_layer_weights_are_tracked_and_counted():
    model = kd.Sequential([kd.Input((3,)), ScaleShift(name="affine"), kd.layers.Dense(2)])
    layer = model.get_layer("affine")
    assert [w.name for w in layer.weights] == ["scale", "shift"]
    assert len(model.weights) == 4 and len(model.trainable_weights) == 4
    assert layer.count_params() == 6 and model.count_params() == 14
    new = [np.full(w.shape, i, np.float32) for i, w in enumerate(model.get_weights())]
    model.set_weights(new)
    np.testing.assert_array_equal(layer.scale.numpy(), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(layer.shift.numpy(), [1.0, 1.0, 1.0])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "affine (ScaleShift)" in text and "(None, 3)" in text
    assert "Total params: 14 (56.00 B)" in text


def test_add_weight_regularizer_and_non_trainable_weight(rng):
    class Penalized(kd.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(
                shape=(input_shape[-1],), initializer="ones", regularizer=kd.regularizers.L2(0.1)
            )
            self.calls = self.add_weight(shape=(), initializer="zeros", trainable=False)

        def call(self, inputs):
            return inputs * self.w

    class KerasPenalized(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(
                shape=(input_shape[-1],),
                initializer="ones",
                regularizer=keras.regularizers.L2(0.1),
            )
            self.calls = self.add_weight(shape=(), initializer="zeros", trainable=False)

        def call(self, inputs):
            return inputs * self.w

    x, y = make_data(rng, outputs=3)
    model = kd.Sequential([kd.Input((3,)), Penalized()])
    keras_model = keras.Sequential([keras.Input((3,)), KerasPenalized()])
    assert len(model.trainable_weights) == 1 and len(model.non_trainable_weights) == 1
    for m, sgd in ((model, kd.optimizers.SGD(0.1)), (keras_model, keras.optimizers.SGD(0.1))):
        m.compile(optimizer=sgd, loss="mse")
    assert_same_training(model, keras_model, x, y, epochs=2)


def test_custom_metric_subclass_and_function_metric_match_keras(rng):
    class MaxError(kd.metrics.Metric):
        def __init__(self, name="max_error", **kwargs):
            super().__init__(name=name, **kwargs)
            self.peak = self.add_variable(shape=(), initializer="zeros", name="peak")

        def update_state(self, y_true, y_pred, sample_weight=None):
            error = kd.ops.max(kd.ops.abs(y_true - y_pred))
            self.peak.assign(kd.ops.maximum(self.peak, error))

        def result(self):
            return self.peak.value

    class KerasMaxError(keras.metrics.Metric):
        def __init__(self, name="max_error", **kwargs):
            super().__init__(name=name, **kwargs)
            self.peak = self.add_variable(shape=(), initializer="zeros", name="peak")

        def update_state(self, y_true, y_pred, sample_weight=None):
            error = keras.ops.max(keras.ops.abs(y_true - y_pred))
            self.peak.assign(keras.ops.maximum(self.peak, error))

        def result(self):
            return self.peak.value

    def mean_cubed_error(y_true, y_pred):
        ops = kd.ops if isinstance(y_pred, kd.Tensor) else keras.ops
        return ops.mean(ops.abs(ops.subtract(y_true, y_pred)) ** 3, axis=-1)

    x, y = make_data(rng)
    model, keras_model = twin_models(rng)
    model.compile(
        optimizer=kd.optimizers.SGD(0.1),
        loss=smooth_l1,
        metrics=[MaxError(), mean_cubed_error, "mae"],
    )
    keras_model.compile(
        optimizer=keras.optimizers.SGD(0.1),
        loss=smooth_l1,
        metrics=[KerasMaxError(), mean_cubed_error, "mae"],
    )
    history = assert_same_training(model, keras_model, x, y, epochs=2)
    assert sorted(history) == ["loss", "mae", "max_error", "mean_cubed_error"]
    # reset_state zeroes a Python metric's variables, as Keras's.
    metric = MaxError()
    metric.update_state(np.zeros((2, 1)), np.full((2, 1), 4.0))
    assert float(metric.result()) == 4.0
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_python_activation_in_dense_and_activation_layer_matches_keras(rng):
    def scaled_tanh(x):
        ops = kd.ops if isinstance(x, kd.Tensor) else keras.ops
        return 1.5 * ops.tanh(x)

    x, y = make_data(rng)
    model = kd.Sequential(
        [
            kd.Input((3,)),
            kd.layers.Dense(4, activation=scaled_tanh),
            kd.layers.Activation(scaled_tanh),
            kd.layers.Dense(2),
        ]
    )
    keras_model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(4, activation=scaled_tanh),
            keras.layers.Activation(scaled_tanh),
            keras.layers.Dense(2),
        ]
    )
    model.set_weights(keras_model.get_weights())
    model.compile(optimizer=kd.optimizers.SGD(0.1), loss="mse")
    keras_model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    assert_same_training(model, keras_model, x, y, epochs=2)


def test_call_returning_a_non_tensor_fails_at_build_time():
    class NotATensor(kd.layers.Layer):
        def call(self, inputs):
            return inputs.numpy()

    with pytest.raises(InvalidArgumentError, match="call\\(\\) must return a kandle Tensor"):
        kd.Sequential([kd.Input((3,)), NotATensor()])
    model = kd.Sequential([NotATensor(name="late")])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(InvalidArgumentError, match="'late'.*got ndarray"):
        model.fit(np.ones((4, 3)), np.ones((4, 3)), verbose=0)


def test_an_exception_in_a_python_layer_reaches_the_caller_unchanged():
    class Fails(kd.layers.Layer):
        def call(self, inputs, training=False):
            if training:
                raise KeyError("raised inside fit")
            return inputs

    model = kd.Sequential([kd.Input((3,)), Fails(), kd.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(KeyError, match="raised inside fit"):
        model.fit(np.ones((8, 3)), np.ones((8, 1)), verbose=0)
    # The model still works in inference after the failed fit.
    assert model.predict(np.ones((2, 3)), verbose=0).shape == (2, 1)


def test_custom_layer_changing_the_shape_reports_its_output_shape():
    class PairSums(kd.layers.Layer):
        def call(self, inputs):
            return kd.ops.sum(kd.ops.reshape(inputs, (-1, inputs.shape[-1] // 2, 2)), axis=-1)

    model = kd.Sequential([kd.Input((6,)), PairSums(), kd.layers.Dense(1)])
    assert model.output_shape == (None, 1)
    assert model.layers[0].compute_output_shape((None, 6)) == (None, 3)
    assert model.get_weights()[0].shape == (3, 1)


def test_python_metric_with_add_weight_state_as_a_weighted_metric(rng):
    class WeightedSum(kd.metrics.Metric):
        """The sum of sample-weighted predictions (Keras's older add_weight spelling)."""

        def __init__(self, name="weighted_sum"):
            super().__init__(name=name)
            self.total = self.add_weight(name="total")

        def update_state(self, y_true, y_pred, sample_weight=None):
            values = kd.ops.sum(y_pred, axis=-1)
            if sample_weight is not None:
                values = values * sample_weight
            self.total.assign(self.total + kd.ops.sum(values))

        def result(self):
            return self.total.value

    x, y = make_data(rng, rows=12, outputs=1)
    weights = rng.uniform(0.5, 2.0, size=12).astype(np.float32)
    model = kd.Sequential([kd.Input((3,)), kd.layers.Dense(1)])
    model.compile(
        optimizer="sgd",
        loss="mse",
        metrics=[WeightedSum(name="plain")],
        weighted_metrics=[WeightedSum()],
    )
    logs = model.evaluate(x, y, sample_weight=weights, verbose=0, return_dict=True)
    predictions = model.predict(x, verbose=0)[:, 0]
    assert logs["plain"] == pytest.approx(float(predictions.sum()), rel=1e-5)
    assert logs["weighted_sum"] == pytest.approx(float((predictions * weights).sum()), rel=1e-5)
    metric = WeightedSum()
    assert metric.variables[0].shape == () and float(metric.result()) == 0.0


class KandleResidualBlock(kd.layers.Layer):
    """A custom layer holding built-in layers: ``x + dense(x) * gain``."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = kd.layers.Dense(3, activation="tanh")

    def build(self, input_shape):
        self.gain = self.add_weight(shape=(), initializer="ones", name="gain")

    def call(self, inputs):
        return inputs + self.inner(inputs) * self.gain


class KerasResidualBlock(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = keras.layers.Dense(3, activation="tanh")

    def build(self, input_shape):
        self.gain = self.add_weight(shape=(), initializer="ones", name="gain")

    def call(self, inputs):
        return inputs + self.inner(inputs) * self.gain


def test_custom_layer_holding_built_in_layers_trains_as_in_keras(rng):
    x, y = make_data(rng, outputs=3)
    model = kd.Sequential([kd.Input((3,)), KandleResidualBlock()])
    keras_model = keras.Sequential([keras.Input((3,)), KerasResidualBlock()])
    assert [w.shape for w in model.get_weights()] == [w.shape for w in keras_model.get_weights()]
    assert model.count_params() == keras_model.count_params() == 13
    model.set_weights(keras_model.get_weights())
    np.testing.assert_array_equal(
        model.layers[0].inner.get_weights()[0], keras_model.get_weights()[1]
    )
    with pytest.raises(ValueError, match="not compatible"):
        model.layers[0].set_weights([np.ones(()), np.ones((2, 3)), np.ones(3)])
    model.compile(optimizer=kd.optimizers.SGD(0.1), loss="mse")
    keras_model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    assert_same_training(model, keras_model, x, y, epochs=2)


def test_functional_model_with_python_pieces_trains_as_in_keras(rng):
    """A custom layer, a Python activation and a Python loss per output, in a functional
    model of two outputs: the graph calls back into Python for those pieces only."""

    def swish(x):
        ops = kd.ops if isinstance(x, kd.Tensor) else keras.ops
        return x * ops.sigmoid(x)

    def build(lib, scale_shift):
        inputs = lib.Input((3,), name="x")
        h = lib.layers.Dense(4, activation=swish, name="hidden")(inputs)
        h = scale_shift(name="scale_shift")(h)
        a = lib.layers.Dense(2, name="a")(h)
        b = lib.layers.Dense(1, name="b")(h)
        return lib.Model(inputs, [a, b])

    model, keras_model = build(kd, ScaleShift), build(keras, KerasScaleShift)
    weights = [
        (w + rng.normal(scale=0.1, size=w.shape)).astype(np.float32)
        for w in keras_model.get_weights()
    ]
    keras_model.set_weights(weights)
    model.set_weights(weights)
    keras_model.compile(optimizer=keras.optimizers.SGD(0.1), loss=[smooth_l1, "mse"])
    model.compile(optimizer=kd.optimizers.SGD(0.1), loss=[smooth_l1, "mse"])
    x = rng.normal(size=(40, 3)).astype(np.float32)
    ya, yb = rng.normal(size=(40, 2)).astype(np.float32), rng.normal(size=(40, 1))
    ours = model.fit(x, [ya, yb], batch_size=8, epochs=3, shuffle=False, verbose=0)
    theirs = keras_model.fit(x, [ya, yb], batch_size=8, epochs=3, shuffle=False, verbose=0)
    assert sorted(ours.history) == sorted(theirs.history)
    for key in theirs.history:
        np.testing.assert_allclose(ours.history[key], theirs.history[key], rtol=RTOL, atol=ATOL)
    for a, b in zip(model.get_weights(), keras_model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)
    for a, b in zip(model.predict(x, verbose=0), keras_model.predict(x, verbose=0), strict=True):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)


def add_loss_layer(lib, scale):
    class Penalized(lib.layers.Layer):
        def call(self, x):
            self.add_loss(scale * lib.ops.sum(lib.ops.square(x)))
            return x

    return Penalized()


def test_add_loss_trains_and_evaluates_as_in_keras(rng):
    """A Python layer's add_loss joins the loss in fit and evaluate; a layer called twice
    (shared) counts its last call's loss, as Keras does."""
    x = rng.standard_normal((16, 3)).astype("float32")
    y = rng.standard_normal((16, 1)).astype("float32")
    results = []
    for lib in (keras, kd):
        inputs = lib.Input((3,))
        dense, penalized = lib.layers.Dense(3), add_loss_layer(lib, 0.01)
        h = penalized(dense(penalized(dense(inputs))))
        model = lib.Model(inputs, lib.layers.Dense(1)(h))
        model.set_weights([np.full(w.shape, 0.1 * (i + 1), "float32")
                           for i, w in enumerate(model.get_weights())])  # fmt: skip
        model.compile(optimizer="sgd", loss="mse")
        history = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
        results.append((history.history["loss"], model.evaluate(x, y, verbose=0),
                        model.get_weights()))  # fmt: skip
    (want_loss, want_eval, want_w), (got_loss, got_eval, got_w) = results
    np.testing.assert_allclose(got_loss, want_loss, rtol=1e-5)
    np.testing.assert_allclose(got_eval, want_eval, rtol=1e-5)
    for g, w in zip(got_w, want_w, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


def test_add_loss_of_the_last_call_only():
    layer = add_loss_layer(kd, 0.5)
    layer(np.ones((1, 2), "float32"))
    assert [float(p) for p in layer.losses] == [1.0]
    layer(np.full((1, 2), 2.0, "float32"))  # replaces the first call's loss
    assert [float(p) for p in layer.losses] == [4.0]
    model = kd.Sequential([kd.Input((2,)), layer])
    model.predict(np.ones((5000, 2), "float32"), verbose=0)  # three blocks: no pile-up
    assert len(layer.losses) == 1
    with pytest.raises(kd.errors.ShapeError, match=r"add_loss: expected a scalar loss"):
        layer.add_loss(kd.ops.ones((2,)))
