"""Saving and loading: kandle's own round trip, weights files, and interop with Keras."""

import json
import os
import warnings
import zipfile

import numpy as np
import pytest

import kandle as kd
from kandle.errors import InvalidArgumentError, KandleIOError


def make_model(optimizer="adam", metrics=("mae",), dropout=False):
    # Without dropout by default: a Dropout layer's random stream is not part of the file
    # (as in Keras), so training after a reload draws other masks.
    model = kd.Sequential(
        [
            kd.Input((5,)),
            kd.layers.Dense(8, activation="relu"),
            kd.layers.BatchNormalization(),
            *([kd.layers.Dropout(0.25, seed=3)] if dropout else []),
            kd.layers.Dense(8, activation="tanh"),
            kd.layers.LayerNormalization(),
            kd.layers.Dense(2),
        ]
    )
    model.compile(optimizer=optimizer, loss="mse", metrics=list(metrics))
    return model


def data(rng, n=64):
    x = rng.standard_normal((n, 5)).astype(np.float32)
    y = rng.standard_normal((n, 2)).astype(np.float32)
    return x, y


def fit(model, x, y, epochs=2):
    return model.fit(x, y, epochs=epochs, batch_size=16, shuffle=False, verbose=0)


def trained(rng):
    """A model of ``make_model`` after one epoch on ``data``, and that data."""
    x, y = data(rng)
    model = make_model()
    fit(model, x, y, epochs=1)
    return model, x, y


@pytest.mark.parametrize(
    "optimizer",
    [
        kd.optimizers.Adam(learning_rate=0.01),
        kd.optimizers.SGD(learning_rate=0.05, momentum=0.9),
        kd.optimizers.RMSprop(learning_rate=0.01, momentum=0.5, centered=True),
        kd.optimizers.Adagrad(learning_rate=0.1),
        # The moving averages and the gradients accumulated since the last update are
        # restored too (8 steps of 3: two are pending when the model is saved).
        kd.optimizers.Adam(learning_rate=0.01, use_ema=True, ema_momentum=0.9),
        kd.optimizers.SGD(learning_rate=0.05, momentum=0.9, gradient_accumulation_steps=3),
        kd.optimizers.Adam(
            learning_rate=0.01,
            use_ema=True,
            ema_overwrite_frequency=3,
            gradient_accumulation_steps=3,
        ),  # fmt: skip
    ],
    ids=["Adam", "SGD", "RMSprop", "Adagrad", "Adam-ema", "SGD-accumulation", "Adam-both"],
)
@pytest.mark.parametrize("weights_format", [None, "npz"])
def test_round_trip_predicts_and_trains_bitwise_equal(tmp_path, rng, optimizer, weights_format):
    x, y = data(rng)
    model = make_model(optimizer)
    fit(model, x, y)
    path = tmp_path / "model.keras"
    model.save(path, weights_format=weights_format)
    loaded = kd.models.load_model(path)
    assert [type(l).__name__ for l in loaded.layers] == [type(l).__name__ for l in model.layers]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.optimizer.iterations == model.optimizer.iterations
    assert loaded.optimizer.learning_rate == model.optimizer.learning_rate
    # Continuing to train is bitwise equal: slots, step count and learning rate restored.
    fit(model, x, y)
    fit(loaded, x, y)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_file_layout_is_keras(tmp_path, rng):
    model = make_model(dropout=True)
    fit(model, *data(rng), epochs=1)
    path = tmp_path / "m.keras"
    kd.saving.save_model(model, path, weights_format="npz")
    with zipfile.ZipFile(path) as z:
        assert z.namelist() == ["metadata.json", "config.json", "model.weights.npz"]
        metadata = json.loads(z.read("metadata.json"))
        config = json.loads(z.read("config.json"))
        npz = np.load(z.open("model.weights.npz"), allow_pickle=False)
        keys = set(npz.files)
    assert set(metadata) >= {"keras_version", "date_saved"}
    assert set(config) == {
        "module",
        "class_name",
        "config",
        "registered_name",
        "build_config",
        "compile_config",
    }
    assert config["class_name"] == "Sequential"
    assert config["compile_config"]["optimizer"]["class_name"] == "Adam"
    assert {"layers/dense/vars/0", "layers/dense_2/vars/1", "optimizer/vars/0"} <= keys
    assert "layers/batch_normalization/vars/3" in keys
    assert npz["layers/dense/vars/0"].shape == (5, 8)  # Keras's (in, out) layout
    assert npz["optimizer/vars/0"].dtype == np.int64


def test_paths_must_end_in_keras(tmp_path):
    model = make_model()
    with pytest.raises(InvalidArgumentError, match=r"\.keras"):
        model.save(tmp_path / "m.h5")
    with pytest.raises(InvalidArgumentError, match=r"\.keras"):
        kd.saving.load_model(tmp_path / "m.zip")


def test_uncompiled_load_and_compile_false(tmp_path, rng):
    model = make_model()
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = kd.saving.load_model(path, compile=False)
    assert not loaded.compiled
    x, _ = data(rng, 4)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_safetensors_names_layouts_and_numpy_reference(tmp_path, rng):
    model = kd.Sequential(
        [
            kd.Input((4,)),
            kd.layers.Dense(3, name="fc"),
            kd.layers.BatchNormalization(name="bn"),
            kd.layers.LayerNormalization(name="ln"),
        ]
    )
    path = tmp_path / "w.safetensors"
    model.save_weights(path)
    from safetensors_reader import read_safetensors

    tensors = read_safetensors(path)
    assert set(tensors) == {
        "fc.weight",
        "fc.bias",
        "bn.weight",
        "bn.bias",
        "bn.running_mean",
        "bn.running_var",
        "ln.weight",
        "ln.bias",
    }
    w, b = tensors["fc.weight"], tensors["fc.bias"]
    assert w.shape == (3, 4)  # (out, in), as candle and PyTorch store it
    x = rng.standard_normal((2, 4)).astype(np.float32)
    dense_only = kd.Sequential([kd.Input((4,)), model.layers[0]])
    # float32 sums: an absolute bound, since an output may cancel to near zero.
    np.testing.assert_allclose(dense_only.predict(x, verbose=0), x @ w.T + b, atol=1e-6)
    # Back into a fresh model of the same architecture.
    other = kd.Sequential(
        [
            kd.Input((4,)),
            kd.layers.Dense(3, name="fc"),
            kd.layers.BatchNormalization(name="bn"),
            kd.layers.LayerNormalization(name="ln"),
        ]
    )
    other.load_weights(path)
    for a, b2 in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b2)


def test_embedding_safetensors_layout(tmp_path):
    model = kd.Sequential([kd.Input((3,)), kd.layers.Embedding(10, 4, name="emb")])
    path = tmp_path / "e.safetensors"
    model.save_weights(path)
    from safetensors_reader import read_safetensors

    assert read_safetensors(path)["emb.weight"].shape == (10, 4)


def test_weights_h5_round_trip(tmp_path, rng):
    pytest.importorskip("h5py")
    model = make_model()
    fit(model, *data(rng), epochs=1)
    path = tmp_path / "m.weights.h5"
    model.save_weights(path)
    other = make_model()
    other.load_weights(path)
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_h5_weights_format_round_trip(tmp_path, rng):
    pytest.importorskip("h5py")
    model, x, y = trained(rng)
    path = tmp_path / "m.keras"
    model.save(path, weights_format="h5")
    with zipfile.ZipFile(path) as z:
        assert "model.weights.h5" in z.namelist()
    loaded = kd.saving.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    fit(model, x, y, epochs=1)
    fit(loaded, x, y, epochs=1)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_custom_objects_and_registration(tmp_path):
    @kd.saving.register_keras_serializable(package="tests")
    class Doubler(kd.layers.Layer):
        def call(self, x):
            return x * 2

    model = kd.Sequential([kd.Input((2,)), Doubler(), kd.layers.Dense(1)])
    path = tmp_path / "c.keras"
    model.save(path, weights_format="npz")
    loaded = kd.saving.load_model(path)
    assert type(loaded.layers[0]).__name__ == "Doubler"
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    config["config"]["layers"][1]["registered_name"] = "elsewhere>Doubler"
    with zipfile.ZipFile(tmp_path / "d.keras", "w") as z:
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.npz", zipfile.ZipFile(path).read("model.weights.npz"))
    with pytest.raises(InvalidArgumentError, match="Doubler"):
        kd.saving.load_model(tmp_path / "d.keras")
    loaded = kd.saving.load_model(tmp_path / "d.keras", custom_objects={"Doubler": Doubler})
    assert type(loaded.layers[0]) is Doubler


def _without_h5py(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_h5py(name, *args, **kwargs):
        if name == "h5py":
            raise ImportError("no h5py")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_h5py)


def test_missing_h5py_names_the_extra(tmp_path, monkeypatch):
    _without_h5py(monkeypatch)
    with pytest.raises(KandleIOError, match=r"kandle\[h5\]"):
        make_model().save_weights(tmp_path / "m.weights.h5")


def test_default_weights_format_is_keras_s_h5_when_h5py_is_installed(tmp_path, rng):
    pytest.importorskip("h5py")
    model, x, y = trained(rng)
    path = tmp_path / "m.keras"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback warning
        model.save(path)
    with zipfile.ZipFile(path) as z:
        assert z.namelist() == ["metadata.json", "config.json", "model.weights.h5"]
    loaded = kd.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_without_h5py_the_default_falls_back_to_npz_and_warns_once(tmp_path, rng, monkeypatch):
    model, x, y = trained(rng)
    _without_h5py(monkeypatch)
    monkeypatch.setattr(kd.saving, "_warned_npz_fallback", False)
    with pytest.warns(UserWarning, match=r"h5py is not installed.*kandle\[h5\].*Keras") as caught:
        model.save(tmp_path / "a.keras")
    assert len(caught) == 1
    assert caught[0].filename == __file__  # points at the caller's line
    with zipfile.ZipFile(tmp_path / "a.keras") as z:
        assert "model.weights.npz" in z.namelist()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.save(tmp_path / "b.keras")  # once per process
        monkeypatch.setattr(kd.saving, "_warned_npz_fallback", False)
        model.save(tmp_path / "c.keras", weights_format="npz")  # chosen: no warning
    for name in ("a.keras", "b.keras", "c.keras"):
        loaded = kd.models.load_model(tmp_path / name)
        np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    # Asked for explicitly, h5 without h5py is an error naming the extra.
    with pytest.raises(KandleIOError, match=r"kandle\[h5\]"):
        model.save(tmp_path / "d.keras", weights_format="h5")


def test_unknown_weights_format_is_refused_by_name(tmp_path):
    with pytest.raises(InvalidArgumentError, match="weights_format=hdf5"):
        make_model().save(tmp_path / "m.keras", weights_format="hdf5")
    assert not (tmp_path / "m.keras").exists()


# ------------------------------------------------------------------ Keras interop


def _keras():
    pytest.importorskip("h5py")
    return pytest.importorskip("keras")


def test_keras_loads_kandles_file(tmp_path, rng):
    keras = _keras()
    x, y = data(rng)
    model = make_model(kd.optimizers.Adam(learning_rate=0.01))
    fit(model, x, y)
    path = tmp_path / "kandle.keras"
    model.save(path)  # the default: Keras's h5 weights, h5py being installed
    theirs = keras.saving.load_model(path)
    np.testing.assert_allclose(
        np.asarray(theirs.predict(x, verbose=0)), model.predict(x, verbose=0), rtol=1e-5, atol=1e-5
    )
    assert int(theirs.optimizer.iterations) == model.optimizer.iterations
    # The optimizer holds the same state: Keras's momentum of the first kernel is ours.
    ours = model.optimizer._engine.slots(model.layers[0].weight)[0].reshape(8, 5).T
    np.testing.assert_array_equal(np.asarray(theirs.optimizer.variables[2]), ours)


def test_kandle_loads_keras_files(tmp_path, rng):
    keras = _keras()
    x, _ = data(rng)
    theirs = keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Dense(2),
        ]
    )
    theirs.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    # A trained-looking state without training (Keras's numpy backend cannot fit):
    # random weights, and optimizer slots and step count set by hand.
    theirs.set_weights([rng.standard_normal(w.shape).astype(np.float32) for w in theirs.weights])
    theirs.optimizer.build(theirs.trainable_variables)
    theirs.optimizer.iterations.assign(7)
    slots = []
    for variable in theirs.optimizer.variables[2:]:
        value = np.abs(rng.standard_normal(variable.shape)).astype(np.float32)
        variable.assign(value)
        slots.append(value)
    path = tmp_path / "keras.keras"
    theirs.save(path)  # model.weights.h5, Keras's default
    model = kd.models.load_model(path)
    np.testing.assert_allclose(
        model.predict(x, verbose=0), np.asarray(theirs.predict(x, verbose=0)), rtol=1e-5, atol=1e-5
    )
    assert isinstance(model.optimizer, kd.optimizers.Adam)
    assert model.optimizer.iterations == 7
    # Keras's momentum and velocity of the first kernel, in kandle's (out, in) layout.
    momentum, velocity = model.optimizer._engine.slots(model.layers[0].weight)
    np.testing.assert_array_equal(momentum.reshape(8, 5), slots[0].T)
    np.testing.assert_array_equal(velocity.reshape(8, 5), slots[1].T)
    weights_path = tmp_path / "keras.weights.h5"
    theirs.save_weights(weights_path)
    fresh = kd.models.load_model(path, compile=False)
    fresh.set_weights([np.zeros_like(w) for w in fresh.get_weights()])
    fresh.load_weights(weights_path)
    np.testing.assert_allclose(
        fresh.predict(x, verbose=0), np.asarray(theirs.predict(x, verbose=0)), rtol=1e-5, atol=1e-5
    )


_KERAS_NUMPY = """
import sys
import numpy as np
import keras

model = keras.saving.load_model(sys.argv[1])
assert keras.backend.backend() == "numpy"
np.save(sys.argv[2], np.asarray(model.predict(np.load(sys.argv[3]), verbose=0)))
print(int(model.optimizer.iterations))
"""


def test_keras_on_the_numpy_backend_loads_kandles_file(tmp_path, rng):
    _keras()
    import subprocess
    import sys

    x, y = data(rng)
    model = make_model(kd.optimizers.Adam(learning_rate=0.01))
    fit(model, x, y)
    model.save(tmp_path / "m.keras", weights_format="h5")
    np.save(tmp_path / "x.npy", x)
    env = {**os.environ, "KERAS_BACKEND": "numpy"}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _KERAS_NUMPY,
            tmp_path / "m.keras",
            tmp_path / "p.npy",
            tmp_path / "x.npy",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[-1]) == model.optimizer.iterations
    np.testing.assert_allclose(
        np.load(tmp_path / "p.npy"), model.predict(x, verbose=0), rtol=1e-5, atol=1e-5
    )


def test_compile_config_keeps_loss_weights_and_execution_arguments(tmp_path):
    """A single output's loss weight and steps_per_execution travel in the file; both
    kandle and Keras load them (Keras's evaluate gives the same weighted loss)."""
    import keras

    model = kd.Sequential([kd.Input((2,)), kd.layers.Dense(1, kernel_initializer="ones")])
    model.compile(optimizer="sgd", loss="mse", loss_weights=0.5, steps_per_execution=2)
    path = tmp_path / "weighted.keras"
    model.save(path)
    x, y = np.ones((8, 2), np.float32), np.zeros((8, 1), np.float32)
    for loaded in (kd.models.load_model(path), keras.models.load_model(path)):
        assert loaded.steps_per_execution == 2
        assert loaded.evaluate(x, y, verbose=0) == pytest.approx(2.0)
