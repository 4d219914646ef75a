"""The noise, reshaping and preprocessing layers against real Keras (on JAX): forward
values, configs, output shapes, summary rows, use inside fit, and bad arguments."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

import kandle as kd
from helpers import assert_summary_matches_keras, randn
from make_keras_references import CASES as DISCRETIZATION_CASES
from make_keras_references import batches_data, discretization_arrays

keras = pytest.importorskip("keras")

# Keras's Discretization.adapt needs TensorFlow, which CI lacks: its boundaries on the
# test data are recorded by tests/make_keras_references.py.
HAS_TENSORFLOW = importlib.util.find_spec("tensorflow") is not None
KERAS_BOUNDARIES = json.loads(
    (Path(__file__).parent / "data" / "keras_discretization.json").read_text()
)["boundaries"]
L = keras.layers

# Keras's own numbers for these layers, reproduced in numpy where Keras's randomness
# cannot be shared.
SELU_ALPHA_P = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946


def keras_config(layer):
    """Keras's config without its DTypePolicy (kandle writes "float32")."""
    config = dict(layer.get_config())
    config.pop("dtype", None)
    return config


def kandle_config(layer):
    config = dict(layer.get_config())
    config.pop("dtype", None)
    return config


def same_config(kd_layer, keras_layer):
    """kandle's config equals Keras's (tuples and lists alike, as JSON stores them)."""
    mine, theirs = kandle_config(kd_layer), keras_config(keras_layer)
    mine.pop("name"), theirs.pop("name")
    assert json.loads(json.dumps(mine)) == json.loads(json.dumps(theirs))


# (class, args, kwargs, input shape): deterministic layers, compared with Keras.
DETERMINISTIC = [
    ("Identity", (), {}, (3, 4)),
    ("RepeatVector", (3,), {}, (2, 4)),
    ("Permute", ((2, 1),), {}, (2, 3, 4)),
    ("Permute", ((3, 1, 2),), {}, (2, 3, 4, 5)),
    ("UnitNormalization", (), {}, (3, 5)),
    ("UnitNormalization", (), {"axis": [1, 2]}, (2, 3, 4)),
    ("ActivityRegularization", (), {"l1": 0.1, "l2": 0.2}, (3, 4)),
    ("Rescaling", (0.5,), {"offset": -1.0}, (3, 4)),
    ("Rescaling", (np.array([1.0, 2.0, 3.0]),), {}, (2, 3)),
    ("Normalization", (), {"mean": [1.0, 2.0, 3.0], "variance": [1.0, 4.0, 9.0]}, (5, 3)),
    ("Normalization", (), {"mean": 2.0, "variance": 3.0, "invert": True}, (5, 3)),
    ("Normalization", (), {"axis": None, "mean": 2.0, "variance": 3.0}, (5, 3)),
    ("GaussianNoise", (0.3,), {"seed": 1}, (3, 4)),
    ("GaussianDropout", (0.3,), {"seed": 1}, (3, 4)),
    ("AlphaDropout", (0.3,), {"seed": 1, "noise_shape": (None, 1)}, (3, 4)),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(DETERMINISTIC)]


@pytest.mark.parametrize("case", DETERMINISTIC, ids=IDS)
def test_inference_forward_config_and_shape_match_keras(case, rng):
    cls, args, kwargs, shape = case
    x = randn(rng, shape)
    mine = getattr(kd.layers, cls)(*args, **kwargs)
    theirs = getattr(L, cls)(*args, **kwargs)
    expected = np.asarray(theirs(x))
    got = mine(x)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6, atol=1e-6)
    same_config(mine, theirs)
    batchless = (None, *shape[1:])
    assert mine.compute_output_shape(batchless) == theirs.compute_output_shape(batchless)
    clone = type(mine).from_config(mine.get_config())
    assert clone.get_config() == mine.get_config()
    np.testing.assert_array_equal(clone(x).numpy(), got.numpy())


def test_normalization_adapt_follows_keras_s_formula(rng):
    """Keras's adapt (whose array path needs TensorFlow's tf.data, which CI lacks)
    computes the mean and population variance over every axis but `axis`, merging
    batches exactly; the layer gives (x - mean) / max(sqrt(var), 1e-7), or
    mean + x * max(sqrt(var), 1e-7) with invert=True."""
    data = (randn(rng, (50, 2, 3), scale=3.0) + 1.5).astype(np.float32)
    x = randn(rng, (4, 2, 3)).astype(np.float32)
    wide = data.astype(np.float64)
    for axis, keep in ((-1, (2,)), ((1, 2), (1, 2)), (None, ()), (1, (1,))):
        reduce = tuple(d for d in range(3) if d not in keep)
        mean, var = wide.mean(axis=reduce), wide.var(axis=reduce)
        shape = [data.shape[d] if d in keep else 1 for d in range(3)]
        scale = np.maximum(np.sqrt(var.reshape(shape)), 1e-7)
        layer = kd.layers.Normalization(axis=axis)
        layer.adapt(data)
        got_mean, got_var = layer.get_weights()[:2]
        np.testing.assert_allclose(got_mean, mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got_var, var, rtol=1e-5, atol=1e-6)
        want = (x - mean.reshape(shape)) / scale
        np.testing.assert_allclose(layer(x).numpy(), want, rtol=1e-5, atol=1e-5)
        same_config(layer, L.Normalization(axis=axis))
        batched = kd.layers.Normalization(axis=axis)
        batched.adapt(iter([data[:7], data[7:30], data[30:]]))
        for a, b in zip(batched.get_weights()[:2], (mean, var)):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        inverse = kd.layers.Normalization(axis=axis, invert=True)
        inverse.adapt(data)
        np.testing.assert_allclose(
            inverse(x).numpy(), mean.reshape(shape) + x * scale, rtol=1e-5, atol=1e-5
        )


def test_normalization_weights_summary_and_bad_arguments(rng, capsys):
    layer = kd.layers.Normalization()
    layer.adapt(randn(rng, (8, 3)))
    assert [w.name for w in layer.weights] == ["mean", "variance", "count"]
    assert layer.trainable_weights == [] and layer.count_params() == 7
    model = kd.Sequential([kd.Input((3,)), layer, kd.layers.Dense(2)])
    model.summary()
    out = capsys.readouterr().out
    assert "(Normalization)" in out and "Non-trainable params: 7 (28.00 B)" in out
    with pytest.raises(kd.errors.InvalidArgumentError, match="both `mean` and `variance`"):
        kd.layers.Normalization(mean=1.0)
    with pytest.raises(kd.errors.ShapeError, match="same shape"):
        kd.layers.Normalization(mean=[1.0, 2.0], variance=[1.0])
    with pytest.raises(kd.errors.ShapeError, match="does not broadcast"):
        kd.layers.Normalization(mean=[1.0, 2.0], variance=[1.0, 1.0])(np.ones((2, 3)))
    with pytest.raises(kd.errors.ShapeError, match="incompatible shape"):
        layer.adapt(np.ones((4, 5), np.float32))
    with pytest.raises(kd.errors.ShapeError, match=r"\[-ndim, ndim\)"):
        kd.layers.Normalization(axis=3).build((None, 3))


def test_alpha_dropout_training_values_follow_keras_formula(rng):
    x = randn(rng, (200, 50))
    rate = 0.3
    y = kd.layers.AlphaDropout(rate, seed=2)(x, training=True).numpy().astype(np.float64)
    a = ((1 - rate) * (1 + rate * SELU_ALPHA_P**2)) ** -0.5
    b = -a * SELU_ALPHA_P * rate
    kept = np.isclose(y, a * x + b, rtol=1e-5, atol=1e-6)
    dropped = np.isclose(y, a * SELU_ALPHA_P + b, rtol=1e-5, atol=1e-6)
    assert np.all(kept | dropped)
    assert abs(dropped.mean() - rate) < 0.02


def test_gaussian_layers_in_training(rng):
    x = np.full((300, 100), 2.0, np.float32)
    noisy = kd.layers.GaussianNoise(0.5, seed=3)(x, training=True).numpy()
    assert abs(noisy.mean() - 2.0) < 0.01 and abs(noisy.std() - 0.5) < 0.01
    scaled = kd.layers.GaussianDropout(0.2, seed=3)(x, training=True).numpy()
    assert abs(scaled.mean() - 2.0) < 0.02 and abs(scaled.std() - 2.0 * 0.5) < 0.02
    # Seeded layers repeat; unseeded ones follow kandle.utils.set_random_seed.
    first = kd.layers.GaussianNoise(0.5, seed=3)(x, training=True).numpy()
    np.testing.assert_array_equal(first, noisy)
    draws = []
    for _ in range(2):
        kd.utils.set_random_seed(11)
        draws.append(kd.layers.GaussianDropout(0.4)(x, training=True).numpy())
    np.testing.assert_array_equal(*draws)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: kd.layers.GaussianNoise(1.5), "stddev"),
        (lambda: kd.layers.GaussianNoise(-0.1), "stddev"),
        (lambda: kd.layers.GaussianDropout(1.0), "rate"),
        (lambda: kd.layers.AlphaDropout(-0.5), "rate"),
        (lambda: kd.layers.AlphaDropout(0.5, seed=-1), "seed"),
        (lambda: kd.layers.ActivityRegularization(l1=-1.0), "l1"),
        (lambda: kd.layers.RepeatVector(0), "n"),
        (lambda: kd.layers.RepeatVector(2.5), "n"),
        (lambda: kd.layers.Permute((0, 1)), "dims"),
        (lambda: kd.layers.Permute((1, 3)), "dims"),
        (lambda: kd.layers.UnitNormalization(axis="last"), "axis"),
        (lambda: kd.layers.Rescaling("x"), "scale"),
        (lambda: kd.layers.CategoryEncoding(), "num_tokens"),
        (lambda: kd.layers.CategoryEncoding(0), "num_tokens"),
        (lambda: kd.layers.CategoryEncoding(3, output_mode="int"), "output_mode"),
        (lambda: kd.layers.CategoryEncoding(3, sparse=True), "sparse"),
        (lambda: kd.layers.Discretization(), "num_bins"),
        (lambda: kd.layers.Discretization([0.0], num_bins=2), "num_bins"),
        (lambda: kd.layers.Discretization([1.0, 0.0]), "sorted"),
        (lambda: kd.layers.Discretization(num_bins=2, epsilon=0.0), "epsilon"),
        (lambda: kd.layers.Discretization(num_bins=2, output_mode="tf_idf"), "output_mode"),
        (lambda: kd.layers.IntegerLookup(max_tokens=1), "max_tokens"),
        (lambda: kd.layers.IntegerLookup(num_oov_indices=-1), "num_oov_indices"),
        (lambda: kd.layers.IntegerLookup(vocabulary=[1, 1]), "repeated"),
        (lambda: kd.layers.IntegerLookup(vocabulary=[1, 0], mask_token=0), "mask token"),
        (lambda: kd.layers.IntegerLookup(output_mode="tf_idf"), "tf_idf"),
        (lambda: kd.layers.IntegerLookup(invert=True, output_mode="count"), "invert"),
        (lambda: kd.layers.IntegerLookup(vocabulary_dtype="string"), "vocabulary_dtype"),
        (lambda: kd.layers.IntegerLookup(vocabulary=[1, 2, 3], max_tokens=3), "max_tokens"),
    ],
)
def test_bad_arguments_raise_kandle_errors_naming_them(make, message):
    with pytest.raises((kd.errors.InvalidArgumentError, kd.errors.ShapeError), match=message):
        make()


def test_bad_inputs_raise_kandle_errors():
    with pytest.raises(kd.errors.ShapeError, match="ndim=2"):
        kd.layers.RepeatVector(2)(np.ones((2, 3, 4)))
    with pytest.raises(kd.errors.ShapeError, match="ndim=3"):
        kd.layers.Permute((2, 1))(np.ones((2, 3)))
    with pytest.raises(kd.errors.ShapeError, match="out of bounds"):
        kd.layers.UnitNormalization(axis=2)(np.ones((2, 3)))
    with pytest.raises(kd.errors.OutOfBoundsError, match=r"\[0, 3\)"):
        kd.layers.CategoryEncoding(3)(np.array([[0.0, 3.0]]))
    with pytest.raises(kd.errors.InvalidArgumentError, match="adapt"):
        kd.layers.Discretization(num_bins=3)(np.ones((2, 2)))
    with pytest.raises(kd.errors.InvalidArgumentError, match="vocabulary"):
        kd.layers.IntegerLookup(output_mode="multi_hot")(np.ones((2, 2)))
    with pytest.raises(kd.errors.InvalidArgumentError, match="num_oov_indices=0"):
        kd.layers.IntegerLookup(vocabulary=[1], num_oov_indices=0)(np.array([[1, 2]]))


CATEGORICAL = [
    ({"num_tokens": 4, "output_mode": "one_hot"}, np.array([3, 2, 0, 1])),
    ({"num_tokens": 4, "output_mode": "one_hot"}, np.array([[3], [2]])),
    ({"num_tokens": 4, "output_mode": "one_hot"}, np.array([[3, 1], [2, 2]])),
    ({"num_tokens": 4}, np.array([[0, 1], [0, 0], [1, 2], [3, 1]])),
    ({"num_tokens": 5, "output_mode": "count"}, np.array([[0, 1, 1], [4, 4, 4]])),
    ({"num_tokens": 5, "output_mode": "count"}, np.array([0, 1, 1, 4])),
]


@pytest.mark.parametrize("kwargs, x", CATEGORICAL)
def test_category_encoding_matches_keras(kwargs, x):
    mine, theirs = kd.layers.CategoryEncoding(**kwargs), L.CategoryEncoding(**kwargs)
    expected = np.asarray(theirs(x))
    got = mine(x)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got.numpy(), expected)
    same_config(mine, theirs)
    if x.ndim == 2:
        assert mine.compute_output_shape((None, x.shape[1])) == theirs.compute_output_shape(
            (None, x.shape[1])
        )


def test_category_encoding_count_weights_match_keras():
    x = np.array([[0, 1], [0, 0], [1, 2], [3, 1]])
    w = np.array([[0.1, 0.2], [0.1, 0.1], [0.2, 0.3], [0.4, 0.2]], np.float32)
    mine = kd.layers.CategoryEncoding(num_tokens=4, output_mode="count")
    theirs = L.CategoryEncoding(num_tokens=4, output_mode="count")
    np.testing.assert_allclose(
        mine(x, count_weights=w).numpy(), np.asarray(theirs(x, count_weights=w)), rtol=1e-6
    )
    with pytest.raises(kd.errors.InvalidArgumentError, match="count_weights"):
        kd.layers.CategoryEncoding(num_tokens=4)(x, count_weights=w)


@pytest.mark.parametrize("data, num_bins, epsilon", DISCRETIZATION_CASES)
def test_discretization_adapt_matches_keras_boundaries(data, num_bins, epsilon, rng):
    x = discretization_arrays(rng)[data]
    mine = kd.layers.Discretization(num_bins=num_bins, epsilon=epsilon)
    mine.adapt(x)
    assert mine.bin_boundaries == KERAS_BOUNDARIES[f"{data}-{num_bins}-{epsilon}"]
    # Bucket i holds boundaries[i-1] <= v < boundaries[i], compared in float32.
    want = np.digitize(x.astype(np.float32), np.float32(mine.bin_boundaries))
    np.testing.assert_array_equal(mine(x).numpy(), want)
    assert mine.get_config() == {
        **L.Discretization(num_bins=num_bins, epsilon=epsilon).get_config(),
        "bin_boundaries": mine.bin_boundaries,
        "name": mine.name,
        "dtype": "float32",
    }
    if HAS_TENSORFLOW:  # Keras's adapt runs on tf.data
        theirs = L.Discretization(num_bins=num_bins, epsilon=epsilon)
        theirs.adapt(x)
        assert mine.bin_boundaries == theirs.bin_boundaries
        assert mine.get_config() == {**theirs.get_config(), "name": mine.name, "dtype": "float32"}
        np.testing.assert_array_equal(mine(x).numpy(), np.asarray(theirs(x)).astype(np.float32))


def test_discretization_batches_and_encodings_match_keras(rng):
    batches = batches_data(rng)
    x = np.concatenate(batches)
    mine = kd.layers.Discretization(num_bins=4)
    mine.adapt(batches)
    np.testing.assert_allclose(mine.bin_boundaries, KERAS_BOUNDARIES["batches-4"], rtol=1e-6)
    for mode in ("one_hot", "multi_hot", "count"):
        kwargs = {"bin_boundaries": [-0.5, 0.0, 0.7], "output_mode": mode}
        mine, theirs = kd.layers.Discretization(**kwargs), L.Discretization(**kwargs)
        for sample in (x[:5], x[:5, :1]):
            expected = np.asarray(theirs(sample))
            np.testing.assert_array_equal(mine(sample).numpy(), expected)
            assert mine.compute_output_shape((None, sample.shape[1])) == (
                theirs.compute_output_shape((None, sample.shape[1]))
            )
    # An adapted layer's config round-trips (both num_bins and bin_boundaries set).
    adapted = kd.layers.Discretization(num_bins=3)
    adapted.adapt(x)
    clone = kd.layers.Discretization.from_config(adapted.get_config())
    np.testing.assert_array_equal(clone(x).numpy(), adapted(x).numpy())
    keras_clone = L.Discretization.from_config(adapted.get_config())
    assert keras_clone.bin_boundaries == adapted.bin_boundaries


def test_integer_lookup_without_tensorflow_follows_keras_docs():
    # Values from Keras's IntegerLookup docstring.
    vocab = [12, 36, 1138, 42]
    data = np.array([[12, 1138, 42], [42, 1000, 36]])
    layer = kd.layers.IntegerLookup(vocabulary=vocab)
    np.testing.assert_array_equal(layer(data).numpy(), [[1, 3, 4], [4, 0, 2]])
    adapted = kd.layers.IntegerLookup()
    adapted.adapt(data)
    assert adapted.get_vocabulary() == [-1, 42, 1138, 1000, 36, 12]
    np.testing.assert_array_equal(adapted(data).numpy(), [[5, 2, 1], [1, 3, 4]])
    two = kd.layers.IntegerLookup(vocabulary=vocab, num_oov_indices=2)
    np.testing.assert_array_equal(two(data).numpy(), [[2, 4, 5], [5, 0, 3]])
    inverse = kd.layers.IntegerLookup(vocabulary=vocab, invert=True)
    np.testing.assert_array_equal(
        inverse(np.array([[1, 3, 4], [4, 0, 2]])).numpy(), [[12, 1138, 42], [42, -1, 36]]
    )
    masked = kd.layers.IntegerLookup(vocabulary=vocab, mask_token=0)
    np.testing.assert_array_equal(
        masked(np.array([[12, 1138, 0], [42, 0, 36]])).numpy(), [[2, 4, 0], [5, 0, 3]]
    )
    assert masked.get_vocabulary() == [0, -1, 12, 36, 1138, 42]
    assert masked.get_vocabulary(include_special_tokens=False) == vocab


INTEGER_LOOKUPS = [
    {"vocabulary": [12, 36, 1138, 42]},
    {"vocabulary": [12, 36, 1138, 42], "num_oov_indices": 3},
    {"vocabulary": [12, 36, 1138, 42], "mask_token": 0},
    {"vocabulary": [12, 36, 1138, 42], "output_mode": "one_hot"},
    {"vocabulary": [12, 36, 1138, 42], "output_mode": "multi_hot", "mask_token": 0},
    {"vocabulary": [12, 36, 1138, 42], "output_mode": "count", "num_oov_indices": 2},
    {"vocabulary": [12, 36], "output_mode": "count", "max_tokens": 6, "pad_to_max_tokens": True},
    {"vocabulary": [12, 36, 1138, 42], "invert": True},
    {"vocabulary": [0, -1, 12, 36, 1138, 42], "mask_token": 0, "invert": True},
    {},
    {"max_tokens": 3},
    {"mask_token": 0, "num_oov_indices": 2},
    {"output_mode": "multi_hot", "max_tokens": 4},
]


@pytest.mark.parametrize("kwargs", INTEGER_LOOKUPS)
def test_integer_lookup_matches_keras(kwargs):
    pytest.importorskip("tensorflow")  # Keras's IntegerLookup needs TensorFlow
    adapt_data = np.array([[12, 1138, 42, 42], [42, 1000, 36, 0], [7, 7, 7, 12]])
    invert = kwargs.get("invert", False)
    x = np.array([[1, 3, 4], [4, 0, 2]]) if invert else np.array([[12, 1138, 0], [42, 1000, 7]])
    mine, theirs = kd.layers.IntegerLookup(**kwargs), L.IntegerLookup(**kwargs)
    if "vocabulary" not in kwargs:
        mine.adapt(adapt_data)
        theirs.adapt(adapt_data)
    assert mine.get_vocabulary() == [int(v) for v in theirs.get_vocabulary()]
    assert mine.vocabulary_size() == theirs.vocabulary_size()
    expected = np.asarray(theirs(x)).astype(np.float32)
    np.testing.assert_array_equal(mine(x).numpy(), expected)
    same_config(mine, theirs)
    assert mine.compute_output_shape((None, 3)) == theirs.compute_output_shape((None, 3))
    clone = kd.layers.IntegerLookup.from_config(mine.get_config())
    if "vocabulary" in kwargs:
        np.testing.assert_array_equal(clone(x).numpy(), expected)


def test_summary_rows_match_keras(capsys):
    def build(lib):
        layers = lib.layers
        return lib.Sequential(
            [
                lib.Input((6,)),
                layers.Rescaling(0.5),
                layers.GaussianNoise(0.1),
                layers.Dense(4, name="dense_in"),
                layers.RepeatVector(3),
                layers.Permute((2, 1)),
                layers.UnitNormalization(),
                layers.Identity(),
                layers.Flatten(),
                layers.ActivityRegularization(l1=0.01),
                layers.AlphaDropout(0.1),
                layers.GaussianDropout(0.1),
            ],
            name="noise_and_shapes",
        )

    assert_summary_matches_keras(build, capsys)


def keras_twin(kd_model, build):
    model = build(keras)
    model.set_weights(kd_model.get_weights())
    return model


def fit_both(build, x, y, epochs=3, batch_size=8, loss="mse"):
    # Fixed initial weights: with some draws SGD(0.05) diverges, to inf in one library
    # and NaN in the other, and the draws would depend on the tests run before.
    kd.utils.set_random_seed(0)
    mine = build(kd)
    theirs = keras_twin(mine, build)
    mine.compile(optimizer=kd.optimizers.SGD(0.05), loss=loss)
    theirs.compile(optimizer=keras.optimizers.SGD(0.05), loss=loss)
    h1 = mine.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0)
    h2 = theirs.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=2e-5, atol=1e-6)
    for a, b in zip(mine.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        mine.evaluate(x, y, verbose=0), theirs.evaluate(x, y, verbose=0), rtol=2e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        mine.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )
    return mine, theirs


def test_fit_parity_shape_and_regularization_layers(rng):
    x = randn(rng, (40, 5), scale=2.0) + 1.0
    y = randn(rng, (40, 1))
    norm_data = x.copy()

    def build(lib):
        layers = lib.layers
        norm = layers.Normalization()
        norm.adapt(norm_data)
        return lib.Sequential(
            [
                lib.Input((5,)),
                norm,
                layers.Dense(4, activation="tanh"),
                layers.ActivityRegularization(l1=0.01, l2=0.05),
                layers.RepeatVector(2),
                layers.Permute((2, 1)),
                layers.UnitNormalization(axis=[1, 2]),
                layers.Identity(),
                layers.Flatten(),
                layers.Dense(1),
            ]
        )

    fit_both(build, x, y)


def test_fit_parity_preprocessing_layers(rng):
    numeric = randn(rng, (32, 3), scale=4.0)
    y = randn(rng, (32, 1))

    def build_numeric(lib):
        layers = lib.layers
        return lib.Sequential(
            [
                lib.Input((3,)),
                layers.Rescaling(np.array([0.5, 0.25, 1.0]), offset=-0.5),
                layers.Normalization(mean=[0.1, -0.2, 0.3], variance=[1.0, 2.0, 0.5]),
                layers.Dense(3, activation="relu"),
                layers.Dense(1),
            ]
        )

    fit_both(build_numeric, numeric, y)

    tokens = rng.integers(0, 6, (32, 3)).astype(np.float32)

    def build_categorical(lib):
        layers = lib.layers
        return lib.Sequential(
            [
                lib.Input((3,)),
                layers.CategoryEncoding(num_tokens=6, output_mode="count"),
                layers.Dense(1),
            ]
        )

    fit_both(build_categorical, tokens, y)

    def build_binned(lib):
        layers = lib.layers
        return lib.Sequential(
            [
                lib.Input((3,)),
                layers.Discretization(bin_boundaries=[-1.0, 0.0, 2.5], output_mode="one_hot"),
                layers.Flatten(),
                layers.Dense(2, activation="sigmoid"),
                layers.Dense(1),
            ]
        )

    fit_both(build_binned, numeric, y)


def test_fit_parity_integer_lookup(rng):
    # Keras's IntegerLookup needs TensorFlow and cannot run inside a JAX model's fit, so
    # Keras's reference fits the Dense layer on the layer's eager output instead.
    pytest.importorskip("tensorflow")
    tokens = rng.choice([3, 7, 11, 19, 23], (32, 4)).astype(np.float32)
    y = randn(rng, (32, 1))
    kwargs = {"vocabulary": [3, 7, 11], "output_mode": "multi_hot"}
    mine = kd.Sequential([kd.Input((4,)), kd.layers.IntegerLookup(**kwargs), kd.layers.Dense(1)])
    encoded = np.asarray(L.IntegerLookup(**kwargs)(tokens)).astype(np.float32)
    theirs = keras.Sequential([keras.Input((4,)), L.Dense(1)])
    theirs.set_weights(mine.get_weights())
    mine.compile(optimizer=kd.optimizers.SGD(0.05), loss="mse")
    theirs.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    h1 = mine.fit(tokens, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    h2 = theirs.fit(encoded, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=2e-5, atol=1e-6)
    for a, b in zip(mine.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_noise_layers_in_fit_train_with_noise_and_predict_without(rng):
    x = randn(rng, (32, 4))
    y = randn(rng, (32, 1))
    for noise in (
        kd.layers.GaussianNoise(0.2, seed=1),
        kd.layers.GaussianDropout(0.2, seed=1),
        kd.layers.AlphaDropout(0.2, seed=1),
    ):
        model = kd.Sequential([kd.Input((4,)), noise, kd.layers.Dense(1)])
        plain = kd.Sequential([kd.Input((4,)), kd.layers.Dense(1)])
        plain.set_weights(model.get_weights())
        np.testing.assert_array_equal(model.predict(x, verbose=0), plain.predict(x, verbose=0))
        for m in (model, plain):
            m.compile(optimizer="sgd", loss="mse")
        model.fit(x, y, epochs=1, batch_size=32, shuffle=False, verbose=0)
        plain.fit(x, y, epochs=1, batch_size=32, shuffle=False, verbose=0)
        # The noise changed the gradient step.
        assert not np.allclose(model.get_weights()[0], plain.get_weights()[0])


def test_adapted_layers_refresh_the_engine_inside_a_model(rng):
    x = randn(rng, (20, 2)) * 3
    disc = kd.layers.Discretization(num_bins=3)
    lookup = kd.layers.IntegerLookup(output_mode="one_hot")
    model = kd.Sequential([kd.Input((2,)), disc, lookup, kd.layers.Flatten()])
    with pytest.raises(kd.errors.InvalidArgumentError, match="adapt"):
        model.predict(x, verbose=0)
    disc.adapt(x)
    lookup.adapt(disc(x).numpy())
    out = model.predict(x, verbose=0)
    assert out.shape == (20, 2 * lookup.vocabulary_size())
    np.testing.assert_array_equal(out.sum(axis=1), np.full(20, 2.0))


@pytest.mark.parametrize(
    "kwargs, shape",
    [
        ({}, (4, 2)),
        ({"axis": None}, (4, 3)),
        ({"axis": 1}, (2, 3, 2)),
        ({"axis": (1, 2)}, (2, 3, 2)),
        ({"mean": 2.0, "variance": 4.0}, (4, 3)),
        ({"mean": [1.0, 2.0], "variance": [3.0, 4.0]}, (4, 3, 2)),
    ],
)
def test_normalization_mean_and_variance_attributes_as_keras(kwargs, shape, rng):
    """``mean`` and ``variance``: float32, shaped to broadcast against the inputs,
    None before the layer is built; after adapt, the adapted values. (Keras's adapt on
    arrays needs TensorFlow: its layer gets the same weights and finalize_state().)"""
    data = randn(rng, shape)
    mine = kd.layers.Normalization(**kwargs)
    theirs = keras.layers.Normalization(**kwargs)
    assert mine.mean is None and theirs.mean is None
    if "mean" in kwargs:
        mine.build((None, *shape[1:]))
        theirs.build((None, *shape[1:]))
    else:
        mine.adapt(data)
        theirs.build(shape)
        theirs.adapt_mean.assign(np.asarray(mine.adapt_mean))
        theirs.adapt_variance.assign(np.asarray(mine.adapt_variance))
        theirs.finalize_state()
        np.testing.assert_allclose(
            np.asarray(mine.mean).reshape(-1),
            data.mean(
                axis=tuple(i for i in range(len(shape)) if np.shape(mine.mean)[i] == 1)
            ).reshape(-1),
            rtol=1e-5,
            atol=1e-6,
        )
    for name in ("mean", "variance"):
        got, want = np.asarray(getattr(mine, name)), np.asarray(getattr(theirs, name))
        assert got.shape == want.shape and got.dtype == want.dtype == np.float32
        np.testing.assert_allclose(got, want)
