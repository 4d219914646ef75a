"""The crate's own model (kandle::model::Sequential, built by the Rust registry from
Keras layer descriptions) and the Python package's model are two faces of one engine:
with the same layers, weights and data they train to bitwise-equal weights."""

import json

import numpy as np
import pytest

import kandle as kd
from kandle import _core


def _python_model() -> kd.Sequential:
    return kd.Sequential(
        [
            kd.Input((8,)),
            kd.layers.Dense(16, activation="relu"),
            kd.layers.BatchNormalization(),
            kd.layers.Dense(12, activation="tanh", kernel_regularizer="l2"),
            kd.layers.LayerNormalization(),
            kd.layers.Dense(3),
        ]
    )


def _rust_twin(model: kd.Sequential) -> _core.Sequential:
    """The same layers, described as a Rust program describes them, built in Rust."""
    specs = [
        json.dumps({"class_name": type(layer).__name__, "config": layer.get_config()})
        for layer in model.layers
    ]
    twin = _core.Sequential(specs)
    twin.build([8])
    twin.set_weights([w.numpy() for w in model.weights])
    twin.compile(
        json.dumps({"class_name": "Adam", "config": {"learning_rate": 0.01}}),
        json.dumps(
            {"class_name": "SparseCategoricalCrossentropy", "config": {"from_logits": True}}
        ),
        ["accuracy"],
    )
    return twin


@pytest.mark.parametrize("shuffle", [False, True])
def test_python_and_rust_models_train_to_bitwise_equal_weights(shuffle: bool) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(150, 8)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.float32) + (x[:, 2] > 1)
    model = _python_model()
    model.compile(
        optimizer=kd.optimizers.Adam(learning_rate=0.01),
        loss=kd.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    twin = _rust_twin(model)
    assert [w.shape for w in twin.weights()] == [w.shape for w in model.weights]

    kd.utils.set_random_seed(7)
    history = model.fit(
        x, y, batch_size=16, epochs=3, shuffle=shuffle, validation_split=0.2, verbose=0
    )
    kd.utils.set_random_seed(7)
    rust_history = twin.fit(x, y, epochs=3, batch_size=16, shuffle=shuffle, validation_split=0.2)

    assert sorted(rust_history) == sorted(history.history)
    for name, values in history.history.items():
        assert rust_history[name] == [float(v) for v in values], name
    for python_weight, rust_weight in zip(model.weights, twin.weights()):
        np.testing.assert_array_equal(python_weight.numpy(), rust_weight.numpy())
    np.testing.assert_array_equal(model.predict(x, verbose=0), twin.predict(x))


def test_rust_model_builds_its_own_weights_from_keras_configs() -> None:
    with pytest.raises(kd.errors.InvalidArgumentError, match="unknown layer class"):
        _core.Sequential([json.dumps({"class_name": "Conv9D", "config": {}})]).build([3])
    twin = _core.Sequential(
        [json.dumps({"class_name": "Dense", "config": {"units": 4, "use_bias": False}})]
    )
    twin.build([3])
    (kernel,) = twin.weights()
    assert kernel.shape == (4, 3)  # candle's (out, in)
    limit = np.sqrt(6 / (3 + 4))  # glorot_uniform, Keras's default
    assert np.all(np.abs(kernel.numpy()) <= limit)


def test_rust_model_reads_a_keras_sequential_config() -> None:
    """The config a Python model gives (Keras's form) builds the same stack in Rust."""
    model = _python_model()
    twin = _core.Sequential.from_keras_config(json.dumps(model.get_config()))
    assert [w.shape for w in twin.weights()] == [w.shape for w in model.weights]
    twin.set_weights([w.numpy() for w in model.weights])
    x = np.random.default_rng(1).normal(size=(5, 8)).astype(np.float32)
    np.testing.assert_array_equal(twin.predict(x), model.predict(x, verbose=0))
    with pytest.raises(kd.errors.InvalidArgumentError, match="Sequential"):
        _core.Sequential.from_keras_config(json.dumps({"class_name": "Functional", "config": {}}))


def test_a_python_saved_model_predicts_the_same_in_rust(tmp_path) -> None:
    """Deploying from Rust: the crate's load_model reads the .keras file Python wrote."""
    model = _python_model()
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(2).normal(size=(64, 8)).astype(np.float32)
    model.fit(x, x[:, :3], epochs=2, verbose=0)
    path = tmp_path / "trained.keras"
    # npz weights: the crate reads those (h5, the default with h5py, needs Python's h5py).
    model.save(path, weights_format="npz")
    rust = _core.Sequential.load(path)
    np.testing.assert_allclose(rust.predict(x), model.predict(x, verbose=0), atol=1e-5)
    with pytest.raises(kd.errors.KandleError):
        _core.Sequential.load(tmp_path / "missing.keras")


def test_a_rust_saved_model_loads_in_python(tmp_path) -> None:
    """The crate's Sequential.save writes a .keras file the Python package loads."""
    model = _python_model()
    twin = _rust_twin(model)
    path = tmp_path / "from_rust.keras"
    twin.save(path)
    again = kd.models.load_model(path, compile=False)
    x = np.random.default_rng(3).normal(size=(16, 8)).astype(np.float32)
    np.testing.assert_array_equal(again.predict(x, verbose=0), twin.predict(x))
    assert [layer.name for layer in again.layers] == [layer.name for layer in model.layers]
    with pytest.raises(kd.errors.InvalidArgumentError, match=".keras"):
        twin.save(tmp_path / "model.h5")


def test_kd_sequential_runs_on_the_crates_model(tmp_path) -> None:
    """kd.Sequential's fit, evaluate and predict run on its crate model object, which
    holds the very weights of the Python layers; what Python changes (a frozen layer)
    reaches it, and the Rust side sees the trained model (its own predict and save)."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(64, 8)).astype(np.float32)
    y = rng.integers(0, 3, size=64)
    model = _python_model()
    model.compile(
        optimizer=kd.optimizers.Adam(0.01),
        loss=kd.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    crate_model = model._model
    for ours, rusts in zip(model.weights, crate_model.weights()):
        np.testing.assert_array_equal(ours.numpy(), rusts.numpy())
    expected = model.predict(x, verbose=0)
    np.testing.assert_array_equal(crate_model.predict(x), expected)

    # A layer frozen in Python stays as it is in the next fit; the others train.
    frozen = model.layers[0]
    before = [w.copy() for w in frozen.get_weights()]
    last_before = model.layers[-1].get_weights()[0].copy()
    frozen.trainable = False
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    for b, a in zip(before, frozen.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(model.layers[-1].get_weights()[0], last_before)

    # The crate model's own save holds the Python model's layers and trained weights.
    path = tmp_path / "from_python.keras"
    crate_model.save(path)
    again = _core.Sequential.load(path)
    np.testing.assert_allclose(again.predict(x), model.predict(x, verbose=0), atol=1e-6)
