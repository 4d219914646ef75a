"""Convolution and pooling layers against real Keras (on JAX): forward values from the
same weights, configs, output shapes, summary rows, bad arguments, and training parity
of whole convnets (loss history, predictions and final weights)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import kandle as kd

keras = pytest.importorskip("keras")
L = keras.layers


def same_config(kd_layer, keras_layer):
    """kandle's config equals Keras's (tuples and lists alike, as JSON stores them), up to
    the name and Keras's DTypePolicy."""
    mine, theirs = dict(kd_layer.get_config()), dict(keras_layer.get_config())
    for config in (mine, theirs):
        config.pop("name"), config.pop("dtype", None)
    # Keras's initializer configs carry two more keys of its own (input/output axes).
    for key in [k for k in theirs if k.endswith("_initializer")]:
        if isinstance(theirs[key], dict):
            theirs[key]["config"].pop("input_axes", None)
            theirs[key]["config"].pop("output_axes", None)
    assert json.loads(json.dumps(mine)) == json.loads(json.dumps(theirs))


# (class, args, kwargs, input shape).
LAYERS = [
    ("Conv2D", (4, 3), {}, (2, 7, 6, 3)),
    (
        "Conv2D",
        (4, (3, 2)),
        {"strides": (2, 1), "padding": "same", "activation": "relu"},
        (2, 7, 6, 3),
    ),
    ("Conv2D", (6, 3), {"dilation_rate": 2, "padding": "same", "groups": 2}, (2, 8, 8, 4)),
    ("Conv2D", (5, 1), {"use_bias": False, "activation": "tanh"}, (3, 4, 4, 2)),
    ("Conv2D", (3, 2), {"activation": "gelu", "strides": 2}, (2, 5, 5, 2)),
    ("Conv1D", (4, 3), {}, (2, 9, 3)),
    ("Conv1D", (4, 3), {"padding": "causal", "dilation_rate": 2}, (2, 9, 3)),
    (
        "Conv1D",
        (6, 2),
        {"padding": "same", "strides": 2, "groups": 3, "activation": "sigmoid"},
        (2, 9, 3),
    ),
    ("DepthwiseConv2D", (3,), {"depth_multiplier": 2, "padding": "same"}, (2, 6, 5, 3)),
    ("DepthwiseConv2D", ((2, 3),), {"strides": 2, "activation": "relu"}, (2, 7, 7, 2)),
    ("SeparableConv2D", (4, 3), {"depth_multiplier": 2, "dilation_rate": 2}, (2, 8, 8, 3)),
    ("SeparableConv2D", (5, 2), {"strides": 2, "padding": "same", "use_bias": False}, (2, 7, 7, 2)),
    ("Conv2DTranspose", (4, 3), {"strides": 2, "padding": "same"}, (2, 4, 5, 3)),
    ("Conv2DTranspose", (3, (3, 2)), {"strides": (2, 3), "activation": "relu"}, (2, 4, 3, 2)),
    ("Conv2DTranspose", (2, 1), {"strides": 3}, (2, 3, 3, 2)),
    ("MaxPooling2D", (), {}, (2, 7, 6, 3)),
    ("MaxPooling2D", ((3, 2),), {"strides": 1, "padding": "same"}, (2, 5, 6, 3)),
    ("AveragePooling2D", (2,), {"padding": "same"}, (2, 5, 5, 3)),
    ("AveragePooling2D", (3,), {"strides": (2, 1)}, (2, 7, 6, 2)),
    ("MaxPooling1D", (), {}, (2, 9, 3)),
    ("MaxPooling1D", (3,), {"strides": 2, "padding": "same"}, (2, 8, 3)),
    ("AveragePooling1D", (2,), {"padding": "same"}, (2, 7, 3)),
    ("GlobalMaxPooling2D", (), {}, (2, 5, 4, 3)),
    ("GlobalMaxPooling2D", (), {"keepdims": True}, (2, 5, 4, 3)),
    ("GlobalAveragePooling2D", (), {}, (2, 5, 4, 3)),
    ("GlobalMaxPooling1D", (), {}, (2, 6, 3)),
    ("GlobalAveragePooling1D", (), {"keepdims": True}, (2, 6, 3)),
]


@pytest.mark.parametrize("cls, args, kwargs, shape", LAYERS)
def test_forward_config_and_shape_match_keras(cls, args, kwargs, shape, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    ours, theirs = getattr(kd.layers, cls)(*args, **kwargs), getattr(L, cls)(*args, **kwargs)
    expected = np.asarray(theirs(x))
    ours.build(shape)
    weights = [rng.standard_normal(w.shape).astype(np.float32) * 0.5 for w in theirs.get_weights()]
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in weights]
    if weights:
        theirs.set_weights(weights)
        ours.set_weights(weights)
        expected = np.asarray(theirs(x))
    got = ours(x).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    # (Keras's Conv2DTranspose gives a list.)
    assert ours.compute_output_shape((None, *shape[1:])) == tuple(
        theirs.compute_output_shape((None, *shape[1:]))
    )
    same_config(ours, theirs)
    clone = type(ours).from_config(ours.get_config())
    assert clone.get_config() == ours.get_config()


def test_gradients_match_keras(rng):
    """One training step on a small convnet moves the weights as Keras's does."""
    x = rng.standard_normal((4, 8, 8, 2)).astype(np.float32)
    y = rng.standard_normal((4, 3)).astype(np.float32)

    def layers(lib):
        return [
            lib.Input((8, 8, 2)),
            lib.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
            lib.layers.AveragePooling2D(2, padding="same"),
            lib.layers.Conv2D(6, 2, groups=2, padding="same"),
            lib.layers.GlobalMaxPooling2D(),
            lib.layers.Dense(3),
        ]

    theirs = keras.Sequential(layers(keras))
    ours = kd.Sequential(layers(kd))
    ours.set_weights(theirs.get_weights())
    for model in (theirs, ours):
        model.compile(optimizer="sgd", loss="mse")
    theirs.train_on_batch(x, y)
    ours.train_on_batch(x, y)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_summary_rows_match_keras(capsys):
    def convnet(lib):
        return lib.Sequential(
            [
                lib.Input((28, 28, 1)),
                lib.layers.Conv2D(32, 3, activation="relu"),
                lib.layers.MaxPooling2D(2),
                lib.layers.Conv2D(64, 3, activation="relu"),
                lib.layers.MaxPooling2D(2),
                lib.layers.Flatten(),
                lib.layers.Dropout(0.5),
                lib.layers.Dense(10, activation="softmax"),
            ]
        )

    rows = []
    for lib in (kd, keras):
        lines: list[str] = []
        convnet(lib).summary(print_fn=lambda line, *a, _lines=lines, **k: _lines.append(line))
        text = "\n".join(lines)
        rows.append(
            [
                (line.split("│")[2].strip(), line.split("│")[3].strip())
                for line in text.splitlines()
                if line.startswith("│")
            ]
        )
        assert "Total params: 34,826" in text
    assert rows[0] == rows[1]
    assert rows[0][0] == ("(None, 26, 26, 32)", "320")


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "make, argument",
    [
        (lambda: kd.layers.Conv2D(0, 3), "filters"),
        (lambda: kd.layers.Conv2D(-2, 3), "filters"),
        (lambda: kd.layers.Conv2D(4, 0), "kernel_size"),
        (lambda: kd.layers.Conv2D(4, (3, -1)), "kernel_size"),
        (lambda: kd.layers.Conv2D(4, 3, strides=0), "strides"),
        (lambda: kd.layers.Conv2D(4, 3, strides=2, dilation_rate=2), "dilation_rate"),
        (lambda: kd.layers.Conv2D(4, 3, groups=3), "groups"),
        (lambda: kd.layers.Conv2D(4, 3, padding="causal"), "padding"),
        (lambda: kd.layers.Conv2D(4, 3, data_format="channels_first"), "data_format"),
        (lambda: kd.layers.Conv1D(4, 3, padding="full"), "padding"),
        (lambda: kd.layers.MaxPooling2D(0), "pool_size"),
        (lambda: kd.layers.MaxPooling2D((2, -2)), "pool_size"),
        (lambda: kd.layers.AveragePooling1D(2, strides=0), "strides"),
        (lambda: kd.layers.MaxPooling2D(data_format="channels_first"), "data_format"),
        (lambda: kd.layers.GlobalAveragePooling2D(data_format="channels_first"), "data_format"),
    ],
)
def test_bad_arguments_name_the_argument(make, argument):
    with pytest.raises(kd.errors.InvalidArgumentError, match=argument):
        make()


def test_bad_inputs_raise_and_leave_the_model_unchanged(rng):
    model = kd.Sequential([kd.Input((6, 6, 4)), kd.layers.Conv2D(2, 3)])
    before = [w.copy() for w in model.get_weights()]
    for layer, shape, error, text in [
        (kd.layers.Conv2D(2, 7), (None, 4, 4, 2), kd.errors.ShapeError, "kernel_size"),
        (kd.layers.Conv2D(2, 3, groups=2), (None, 6, 6, 3), ValueError, "groups"),
        (kd.layers.Conv2D(2, 3), (None, 6, 6), kd.errors.ShapeError, "ndim=4"),
        (kd.layers.MaxPooling2D(5), (None, 4, 4, 2), kd.errors.ShapeError, "pool_size"),
        (kd.layers.Conv1D(2, 3), (None, 6, 6, 2), kd.errors.ShapeError, "ndim=3"),
        (kd.layers.GlobalMaxPooling1D(), (None, 6, 6, 2), kd.errors.ShapeError, "ndim=3"),
    ]:
        with pytest.raises(error, match=text):
            layer.build(shape)
        assert not layer.built and layer.weights == []
    # A built layer refuses inputs of the wrong rank or channels without changing.
    x = rng.standard_normal((2, 6, 6, 4)).astype(np.float32)
    with pytest.raises(kd.errors.ShapeError):
        model.predict(x[..., :3], verbose=0)
    with pytest.raises(kd.errors.ShapeError):
        model.layers[0](x[:, :, 0])
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(model.predict(x, verbose=0).shape, (2, 4, 4, 2))
    # Images of unknown size are checked when they come: the error gives their spatial
    # size and the padding as Keras spells it.
    dynamic = kd.Sequential([kd.Input((None, None, 3)), kd.layers.Conv2D(4, 3)])
    with pytest.raises(kd.errors.ShapeError, match=r"spatial shape \(2, 2\), padding='valid'"):
        dynamic.predict(np.ones((4, 2, 2, 3), np.float32), verbose=0)


# ------------------------------------------------------------------ training parity


def fit_both(build, x, y, loss, batch_size, epochs=2, seed=3, optimizer="adam"):
    """Fits the same model in kandle and Keras from the same weights (shuffle=False);
    returns (kandle model, Keras model, kandle history, Keras history)."""
    keras.utils.set_random_seed(seed)
    theirs = build(keras)
    ours = build(kd)
    ours.set_weights(theirs.get_weights())
    ours.compile(optimizer=optimizer, loss=loss)
    theirs.compile(optimizer=optimizer, loss=loss)
    kwargs = dict(batch_size=batch_size, epochs=epochs, validation_split=0.1, shuffle=False)
    h_ours = ours.fit(x, y, verbose=0, **kwargs).history
    h_theirs = theirs.fit(x, y, verbose=0, **kwargs).history
    return ours, theirs, h_ours, h_theirs


def assert_parity(ours, theirs, h_ours, h_theirs, x, rtol=1e-4):
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(h_ours[key], h_theirs[key], rtol=rtol)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-5)
    np.testing.assert_allclose(
        ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=rtol, atol=1e-5
    )


def test_mnist_convnet_parity(rng):
    """Keras's MNIST convnet example (Dropout's rate set to 0: the two libraries draw
    different masks) on 200 generated rows: Adam, categorical crossentropy."""
    x = rng.random((200, 28, 28, 1)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 200)]

    def build(lib):
        return lib.Sequential(
            [
                lib.Input((28, 28, 1)),
                lib.layers.Conv2D(32, 3, activation="relu"),
                lib.layers.MaxPooling2D(2),
                lib.layers.Conv2D(64, 3, activation="relu"),
                lib.layers.MaxPooling2D(2),
                lib.layers.Flatten(),
                lib.layers.Dropout(0.0),
                lib.layers.Dense(10, activation="softmax"),
            ]
        )

    result = fit_both(build, x, y, "categorical_crossentropy", batch_size=64)
    assert_parity(*result, x)


def test_conv1d_global_max_pooling_parity(rng):
    """A text-style model: Embedding, causal and strided Conv1D, GlobalMaxPooling1D."""
    x = rng.integers(0, 20, (60, 16)).astype(np.float32)
    y = rng.integers(0, 2, (60, 1)).astype(np.float32)

    def build(lib):
        return lib.Sequential(
            [
                lib.Input((16,)),
                lib.layers.Embedding(20, 8),
                lib.layers.Conv1D(12, 3, padding="causal", activation="relu"),
                lib.layers.MaxPooling1D(2),
                lib.layers.Conv1D(8, 3, strides=2, padding="same", activation="relu"),
                lib.layers.GlobalMaxPooling1D(),
                lib.layers.Dense(1, activation="sigmoid"),
            ]
        )

    result = fit_both(build, x, y, "binary_crossentropy", batch_size=16)
    assert_parity(*result, x)


def test_strided_same_conv_batchnorm_parity(rng):
    """A strided "same"-padded Conv2D stack with BatchNormalization and average pooling."""
    x = rng.standard_normal((48, 12, 12, 3)).astype(np.float32)
    y = rng.standard_normal((48, 4)).astype(np.float32)

    def build(lib):
        return lib.Sequential(
            [
                lib.Input((12, 12, 3)),
                lib.layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False),
                lib.layers.BatchNormalization(),
                lib.layers.Activation("relu"),
                lib.layers.Conv2D(8, 3, dilation_rate=2, padding="same", activation="tanh"),
                lib.layers.AveragePooling2D(2, padding="same"),
                lib.layers.GlobalAveragePooling2D(),
                lib.layers.Dense(4),
            ]
        )

    result = fit_both(build, x, y, "mse", batch_size=16, optimizer="sgd")
    assert_parity(*result, x)


def test_separable_depthwise_stack_parity(rng):
    """A SeparableConv2D/DepthwiseConv2D stack (MobileNet-style) with RMSprop."""
    x = rng.standard_normal((40, 10, 10, 3)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 40)]

    def build(lib):
        return lib.Sequential(
            [
                lib.Input((10, 10, 3)),
                lib.layers.SeparableConv2D(8, 3, padding="same", activation="relu"),
                lib.layers.DepthwiseConv2D(3, strides=2, depth_multiplier=2, activation="relu"),
                lib.layers.Conv2D(6, 1),
                lib.layers.GlobalAveragePooling2D(),
                lib.layers.Dense(3, activation="softmax"),
            ]
        )

    result = fit_both(build, x, y, "categorical_crossentropy", batch_size=8, optimizer="rmsprop")
    assert_parity(*result, x)


# ------------------------------------------------------------------ files


def test_keras_file_round_trip_and_keras_loads_it(tmp_path, rng):
    model = kd.Sequential(
        [
            kd.Input((10, 10, 2)),
            kd.layers.Conv2D(4, 3, padding="same", activation="relu"),
            kd.layers.MaxPooling2D(),
            kd.layers.Conv2D(3, 2, strides=2),
            kd.layers.GlobalAveragePooling2D(),
            kd.layers.Dense(2),
        ]
    )
    x = rng.standard_normal((3, 10, 10, 2)).astype(np.float32)
    path = str(tmp_path / "conv.keras")
    model.save(path)
    # Keras 3 loads the h5 weights kandle writes on request (it refuses .npz weights).
    keras_readable = str(tmp_path / "conv_h5.keras")
    model.save(keras_readable, weights_format="h5")
    expected = model.predict(x, verbose=0)
    again = kd.models.load_model(path)
    np.testing.assert_allclose(again.predict(x, verbose=0), expected, rtol=1e-6)
    theirs = keras.models.load_model(keras_readable)
    np.testing.assert_allclose(
        np.asarray(theirs.predict(x, verbose=0)), expected, rtol=1e-5, atol=1e-6
    )
    # And the other way: Keras's file loads in kandle.
    keras_path = str(tmp_path / "keras.keras")
    theirs.save(keras_path)
    np.testing.assert_allclose(
        kd.models.load_model(keras_path).predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6
    )


def test_safetensors_use_pytorch_layout_and_names(tmp_path, rng):
    from safetensors_reader import read_safetensors

    def build():
        return kd.Sequential(
            [
                kd.Input((9, 3)),
                kd.layers.Conv1D(4, 2, name="c1"),
                kd.layers.Reshape((8, 4, 1)),
                kd.layers.Conv2D(5, (3, 2), name="c2"),
            ]
        )

    model = build()
    path = tmp_path / "w.safetensors"
    model.save_weights(str(path))
    tensors = read_safetensors(path)
    k1, b1, k2, b2 = model.get_weights()
    np.testing.assert_array_equal(tensors["c1.weight"], k1.transpose(2, 1, 0))
    np.testing.assert_array_equal(tensors["c2.weight"], k2.transpose(3, 2, 0, 1))
    assert tensors["c2.weight"].shape == (5, 1, 3, 2)  # (out, in, kh, kw)
    np.testing.assert_array_equal(tensors["c2.bias"], b2)
    again = build()
    again.load_weights(str(path))
    x = rng.standard_normal((2, 9, 3)).astype(np.float32)
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    for a, b in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
