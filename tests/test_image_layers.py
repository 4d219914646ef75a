"""The activation layers (ReLU, LeakyReLU, ELU, Softmax, PReLU) and the padding,
cropping, up-sampling and spatial dropout layers against real Keras (on JAX): forward
values, configs, output shapes, summary rows, training inside fit, files, bad arguments."""

import json

import numpy as np
import pytest

import kandle as kd
from helpers import assert_summary_matches_keras, nonzero, randn

keras = pytest.importorskip("keras")
L = keras.layers


def config_without_dtype(layer):
    config = dict(layer.get_config())
    config.pop("dtype", None)
    config.pop("name")
    return json.loads(json.dumps(config))


# (class, kwargs, input shape): compared with Keras in inference.
CASES = [
    ("ReLU", {}, (3, 5)),
    ("ReLU", {"max_value": 1.0}, (3, 5)),
    ("ReLU", {"negative_slope": 0.2}, (3, 5)),
    ("ReLU", {"threshold": 0.5}, (3, 5)),
    ("ReLU", {"max_value": 6.0, "negative_slope": 0.1, "threshold": 0.3}, (2, 3, 4)),
    ("ReLU", {"max_value": 6.0}, (3, 5)),
    ("LeakyReLU", {}, (3, 5)),
    ("LeakyReLU", {"negative_slope": 0.05}, (2, 3, 4)),
    ("ELU", {}, (3, 5)),
    ("ELU", {"alpha": 0.5}, (3, 5)),
    ("Softmax", {}, (3, 5)),
    ("Softmax", {"axis": 1}, (2, 3, 4)),
    ("Softmax", {"axis": [1, 2]}, (2, 3, 4)),
    ("Softmax", {"axis": (0, 2)}, (2, 3, 4)),
    ("ZeroPadding1D", {}, (2, 4, 3)),
    ("ZeroPadding1D", {"padding": (0, 3)}, (2, 4, 3)),
    ("ZeroPadding2D", {}, (2, 3, 4, 2)),
    ("ZeroPadding2D", {"padding": 2}, (2, 3, 4, 2)),
    ("ZeroPadding2D", {"padding": (1, 2)}, (2, 3, 4, 2)),
    ("ZeroPadding2D", {"padding": ((1, 0), (2, 3))}, (2, 3, 4, 2)),
    ("Cropping1D", {}, (2, 5, 3)),
    ("Cropping1D", {"cropping": (0, 3)}, (2, 5, 3)),
    ("Cropping1D", {"cropping": 2}, (2, 5, 3)),
    ("Cropping2D", {}, (2, 5, 6, 2)),
    ("Cropping2D", {"cropping": 1}, (2, 5, 6, 2)),
    ("Cropping2D", {"cropping": (2, 1)}, (2, 5, 6, 2)),
    ("Cropping2D", {"cropping": ((1, 2), (0, 4))}, (2, 5, 6, 2)),
    ("UpSampling1D", {}, (2, 4, 3)),
    ("UpSampling1D", {"size": 3}, (2, 4, 3)),
    ("UpSampling2D", {}, (2, 3, 4, 2)),
    ("UpSampling2D", {"size": (3, 1)}, (2, 3, 4, 2)),
    ("UpSampling2D", {"size": 2, "interpolation": "nearest"}, (2, 3, 4, 2)),
    ("SpatialDropout1D", {"rate": 0.3, "seed": 1}, (2, 4, 3)),
    ("SpatialDropout2D", {"rate": 0.5}, (2, 3, 4, 2)),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_inference_forward_config_and_shape_match_keras(case, rng):
    cls, kwargs, shape = case
    x = randn(rng, shape, scale=2.0)
    mine = getattr(kd.layers, cls)(**kwargs)
    theirs = getattr(L, cls)(**kwargs)
    expected = np.asarray(theirs(x))
    got = mine(x)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6, atol=1e-7)
    mine_config, their_config = config_without_dtype(mine), config_without_dtype(theirs)
    assert mine_config == their_config
    batchless = (None, *shape[1:])
    assert mine.compute_output_shape(batchless) == tuple(theirs.compute_output_shape(batchless))
    assert mine.compute_output_shape(shape) == tuple(theirs.compute_output_shape(shape))
    clone = type(mine).from_config(mine.get_config())
    assert clone.get_config() == mine.get_config()
    np.testing.assert_array_equal(clone(x).numpy(), got.numpy())


@pytest.mark.parametrize(
    "kwargs, shape",
    [
        ({}, (3, 5)),
        ({"shared_axes": [1, 2]}, (2, 3, 4, 5)),
        ({"shared_axes": 1}, (2, 3, 4)),
        ({"alpha_initializer": "ones", "alpha_regularizer": "l2"}, (3, 4)),
    ],
)
def test_prelu_matches_keras_with_the_same_alpha(kwargs, shape, rng):
    x = nonzero(rng, shape)
    mine, theirs = kd.layers.PReLU(**kwargs), L.PReLU(**kwargs)
    mine.build(shape)
    theirs.build(shape)
    assert [w.shape for w in mine.get_weights()] == [tuple(w.shape) for w in theirs.get_weights()]
    np.testing.assert_array_equal(mine.get_weights()[0], np.asarray(theirs.get_weights()[0]))
    alpha = randn(rng, mine.get_weights()[0].shape)
    mine.set_weights([alpha])
    theirs.set_weights([alpha])
    np.testing.assert_allclose(mine(x).numpy(), np.asarray(theirs(x)), rtol=1e-6, atol=1e-7)
    assert config_without_dtype(mine) == config_without_dtype(theirs)
    assert mine.alpha.name == "alpha"
    if "alpha_regularizer" in kwargs:
        expected = 0.01 * float(np.sum(alpha.astype(np.float64) ** 2))
        np.testing.assert_allclose(mine.regularization().numpy(), expected, rtol=1e-5)
    clone = kd.layers.PReLU.from_config(mine.get_config())
    assert clone.get_config() == mine.get_config()


def test_spatial_dropout_drops_whole_channels_and_scales_the_rest(rng):
    x = np.abs(randn(rng, (16, 5, 6, 32))) + 0.5
    layer = kd.layers.SpatialDropout2D(0.4, seed=7)
    y = layer(x, training=True).numpy()
    kept = y != 0
    # Each (sample, channel) map is dropped or kept as a whole, kept ones scaled by 1/0.6.
    assert (kept == kept[:, :1, :1, :]).all()
    np.testing.assert_allclose(y[kept], x[kept] / 0.6, rtol=1e-6)
    dropped = 1.0 - kept[:, 0, 0, :].mean()
    assert 0.25 < dropped < 0.55
    np.testing.assert_array_equal(layer(x).numpy(), x)
    # A layer of the same seed repeats the masks.
    again = kd.layers.SpatialDropout2D(0.4, seed=7)(x, training=True).numpy()
    np.testing.assert_array_equal(again, y)
    seq = kd.layers.SpatialDropout1D(0.5, seed=2)(np.ones((8, 7, 16)), training=True).numpy()
    assert (seq == seq[:, :1, :]).all() and set(np.unique(seq)) <= {0.0, 2.0}
    # Inside fit, the engine's training loop drops channels; predict does not.
    model = kd.Sequential(
        [kd.Input((4, 4, 8)), kd.layers.SpatialDropout2D(0.5, seed=3), kd.layers.Flatten()]
    )
    model.compile(loss="mse")
    ones = np.ones((16, 4, 4, 8), np.float32)
    # Against zeros, a kept value (2) costs 4 and a dropped one 0: the loss is about 2,
    # where it would be 1 without dropout.
    zeros = np.zeros((16, 128), np.float32)
    loss = model.fit(ones, zeros, epochs=1, verbose=0).history["loss"][0]
    assert 1.4 < loss < 2.6
    np.testing.assert_array_equal(model.predict(ones, verbose=0), ones.reshape(16, -1))


def test_summary_rows_match_keras(capsys):
    def build(lib):
        layers = lib.layers
        return lib.Sequential(
            [
                lib.Input((8, 8, 3)),
                layers.ZeroPadding2D(((1, 0), (2, 1))),
                layers.Cropping2D(((0, 1), (1, 0))),
                layers.UpSampling2D((2, 1)),
                layers.PReLU(shared_axes=[1, 2]),
                layers.SpatialDropout2D(0.2),
                layers.ReLU(max_value=6.0),
                layers.Reshape((16, 30)),
                layers.ZeroPadding1D(2),
                layers.Cropping1D((1, 3)),
                layers.UpSampling1D(2),
                layers.SpatialDropout1D(0.1),
                layers.LeakyReLU(),
                layers.ELU(),
                layers.PReLU(),
                layers.Softmax(),
            ],
            name="image_layers",
        )

    assert_summary_matches_keras(build, capsys)


def test_training_through_every_layer_matches_keras(rng):
    """Gradients of every new layer against JAX's: three epochs of SGD from the same
    weights give Keras's losses and final weights (the dropout layers at rate 0 so that
    both libraries see the same masks)."""
    x = randn(rng, (24, 6, 5, 2))
    y = randn(rng, (24, 3))

    def build(lib):
        layers = lib.layers
        return lib.Sequential(
            [
                lib.Input((6, 5, 2)),
                layers.ZeroPadding2D(((1, 0), (0, 2))),
                layers.Cropping2D(((0, 1), (1, 0))),
                layers.UpSampling2D((1, 2)),
                layers.PReLU(alpha_initializer="ones", shared_axes=[1]),
                layers.SpatialDropout2D(0.0),
                layers.Reshape((6, 24)),
                layers.ZeroPadding1D((0, 1)),
                layers.Cropping1D((1, 0)),
                layers.UpSampling1D(2),
                layers.SpatialDropout1D(0.0),
                layers.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.05),
                layers.Dense(4),
                layers.LeakyReLU(0.2),
                layers.ELU(),
                layers.Flatten(),
                layers.Dense(3),
                layers.Softmax(),
            ]
        )

    mine = build(kd)
    theirs = build(keras)
    # PReLU's alpha starts at ones in both; Dense kernels are copied across.
    theirs.set_weights(mine.get_weights())
    mine.compile(optimizer=kd.optimizers.SGD(0.1), loss="mse")
    theirs.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    h1 = mine.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    h2 = theirs.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=2e-5, atol=1e-6)
    for a, b in zip(mine.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    # The alphas were trained (not left at ones).
    assert not np.allclose(mine.layers[3].get_weights()[0], 1.0)
    np.testing.assert_allclose(
        mine.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )


def test_saved_model_reloads_in_kandle_and_keras(tmp_path, rng):
    x = randn(rng, (4, 6, 6, 2))
    model = kd.Sequential(
        [
            kd.Input((6, 6, 2)),
            kd.layers.ZeroPadding2D(1),
            kd.layers.Cropping2D(((1, 0), (0, 1))),
            kd.layers.UpSampling2D(),
            kd.layers.PReLU(alpha_initializer=kd.initializers.Constant(0.3), shared_axes=[1, 2]),
            kd.layers.SpatialDropout2D(0.3, seed=1),
            kd.layers.ReLU(negative_slope=0.1),
            kd.layers.Reshape((14, 28)),
            kd.layers.ZeroPadding1D(),
            kd.layers.Cropping1D(),
            kd.layers.UpSampling1D(),
            kd.layers.SpatialDropout1D(0.2),
            kd.layers.LeakyReLU(),
            kd.layers.ELU(alpha=0.5),
            kd.layers.Softmax(axis=[1, 2]),
        ]
    )
    expected = model.predict(x, verbose=0)
    path = tmp_path / "image_layers.keras"
    model.save(path)
    again = kd.saving.load_model(path)
    np.testing.assert_array_equal(again.predict(x, verbose=0), expected)
    assert [type(layer).__name__ for layer in again.layers] == [
        type(layer).__name__ for layer in model.layers
    ]
    # Keras reads kandle's file (with h5 weights, its own format) and computes the same.
    pytest.importorskip("h5py")
    h5_path = tmp_path / "image_layers_h5.keras"
    model.save(h5_path, weights_format="h5")
    theirs = keras.saving.load_model(h5_path)
    np.testing.assert_allclose(
        np.asarray(theirs.predict(x, verbose=0)), expected, rtol=1e-5, atol=1e-7
    )


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: kd.layers.ReLU(max_value=-1.0), "max_value=-1.0"),
        (lambda: kd.layers.ReLU(negative_slope=-0.5), "negative_slope=-0.5"),
        (lambda: kd.layers.ReLU(threshold=None), "threshold=None"),
        (lambda: kd.layers.LeakyReLU(negative_slope=-1), "negative_slope=-1"),
        (lambda: kd.layers.ELU(alpha="big"), "alpha='big'"),
        (lambda: kd.layers.Softmax(axis=[]), r"axis=\[\]"),
        (lambda: kd.layers.Softmax(axis=1.5), "axis=1.5"),
        (lambda: kd.layers.PReLU(shared_axes=[0]), r"shared_axes=\[0\]"),
        (lambda: kd.layers.PReLU(alpha_constraint="non_neg"), "alpha_constraint"),
        (lambda: kd.layers.ZeroPadding1D(-1), "padding=-1"),
        (lambda: kd.layers.ZeroPadding1D((1, 2, 3)), r"padding=\(1, 2, 3\)"),
        (lambda: kd.layers.ZeroPadding2D(((1, -1), (0, 0))), r"padding=\(1, -1\)"),
        (lambda: kd.layers.ZeroPadding2D((1, 2, 3)), "padding"),
        (lambda: kd.layers.ZeroPadding2D(data_format="channels_first"), "data_format"),
        (lambda: kd.layers.Cropping1D((-1, 0)), r"cropping=\(-1, 0\)"),
        (lambda: kd.layers.Cropping2D(-2), "cropping=-2"),
        (lambda: kd.layers.Cropping2D(data_format="channels_first"), "channels_first"),
        (lambda: kd.layers.UpSampling1D(0), "size=0"),
        (lambda: kd.layers.UpSampling1D(2.0), "size=2.0"),
        (lambda: kd.layers.UpSampling2D((2, 0)), r"size=\(2, 0\)"),
        (lambda: kd.layers.UpSampling2D(interpolation="bilinear"), "interpolation='bilinear'"),
        (lambda: kd.layers.UpSampling2D(data_format="channels_first"), "data_format"),
        (lambda: kd.layers.SpatialDropout1D(1.0), "rate=1.0"),
        (lambda: kd.layers.SpatialDropout2D(-0.1), "rate=-0.1"),
        (lambda: kd.layers.SpatialDropout2D(0.5, data_format="channels_first"), "data_format"),
    ],
)
def test_bad_arguments_raise_kandle_errors_naming_them(make, message):
    with pytest.raises(kd.errors.InvalidArgumentError, match=message):
        make()


def test_bad_inputs_raise_kandle_errors_naming_the_shape():
    with pytest.raises(kd.errors.ShapeError, match="ndim=4, found ndim=3"):
        kd.layers.ZeroPadding2D()(np.ones((2, 3, 4)))
    with pytest.raises(kd.errors.ShapeError, match="ndim=3, found ndim=4"):
        kd.layers.UpSampling1D()(np.ones((2, 3, 4, 1)))
    with pytest.raises(kd.errors.ShapeError, match="ndim=3"):
        kd.layers.SpatialDropout1D(0.5)(np.ones((2, 3)))
    with pytest.raises(kd.errors.ShapeError, match="cropping"):
        kd.layers.Cropping1D((2, 1))(np.ones((2, 3, 4)))
    with pytest.raises(kd.errors.ShapeError, match=r"axis 2 has size 4"):
        kd.layers.Cropping2D(((0, 0), (2, 2)))(np.ones((2, 5, 4, 1)))
    with pytest.raises(kd.errors.ShapeError, match="cropping"):
        kd.Sequential([kd.Input((3, 4)), kd.layers.Cropping1D((3, 0))])
    with pytest.raises(kd.errors.ShapeError, match="out of bounds"):
        kd.layers.Softmax(axis=3)(np.ones((2, 3)))
    prelu = kd.layers.PReLU()
    prelu(np.ones((2, 3, 4)))
    with pytest.raises(kd.errors.ShapeError, match=r"alpha's shape \(3, 4\)"):
        prelu(np.ones((2, 3, 5)))
    with pytest.raises(kd.errors.ShapeError, match="known size"):
        kd.layers.PReLU().build((None, None, 4))
    # A built layer refuses a later input of another rank in the engine, by shape.
    pad = kd.layers.ZeroPadding1D()
    pad(np.ones((2, 3, 4)))
    with pytest.raises(kd.errors.ShapeError, match=r"rank 3.*\(2, 3\)"):
        pad(np.ones((2, 3)))
