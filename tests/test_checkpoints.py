"""ModelCheckpoint: Keras's file templates, monitor, modes and save frequencies."""

import os

import numpy as np
import pytest

import kandle as kd
from kandle.errors import InvalidArgumentError


def model_and_data(rng):
    model = kd.Sequential([kd.Input((3,)), kd.layers.Dense(1, name="out")])
    model.compile(optimizer=kd.optimizers.SGD(0.05), loss="mse")
    x = rng.standard_normal((32, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], np.float32)).astype(np.float32)
    return model, x, y


def test_templates_format_epoch_and_metrics(tmp_path, rng):
    model, x, y = model_and_data(rng)
    template = str(tmp_path / "ckpt-{epoch:02d}-{val_loss:.2f}.keras")
    ckpt = kd.callbacks.ModelCheckpoint(template)
    history = model.fit(x, y, epochs=3, validation_split=0.25, verbose=0, callbacks=[ckpt])
    expected = sorted(
        f"ckpt-{e + 1:02d}-{v:.2f}.keras" for e, v in enumerate(history.history["val_loss"])
    )
    assert sorted(os.listdir(tmp_path)) == expected
    last_name = next(n for n in expected if n.startswith("ckpt-03-"))
    last = kd.saving.load_model(tmp_path / last_name)
    np.testing.assert_array_equal(last.get_weights()[0], model.get_weights()[0])


@pytest.mark.parametrize("mode", ["min", "max", "auto"])
def test_save_best_only_follows_the_mode(tmp_path, rng, mode):
    model, x, y = model_and_data(rng)
    ckpt = kd.callbacks.ModelCheckpoint(
        str(tmp_path / "best-{epoch}.weights.h5"),
        monitor="loss",
        save_best_only=True,
        save_weights_only=True,
        mode=mode,
    )
    pytest.importorskip("h5py")
    history = model.fit(x, y, epochs=4, verbose=0, callbacks=[ckpt])
    losses = history.history["loss"]
    better = np.less if mode in ("min", "auto") else np.greater
    expected, best = [], None
    for epoch, value in enumerate(losses):
        if best is None or better(value, best):
            best = value
            expected.append(f"best-{epoch + 1}.weights.h5")
    assert sorted(os.listdir(tmp_path)) == sorted(expected)
    assert ckpt.best == best


def test_initial_value_threshold_blocks_worse_epochs(tmp_path, rng):
    model, x, y = model_and_data(rng)
    ckpt = kd.callbacks.ModelCheckpoint(
        str(tmp_path / "m-{epoch}.keras"),
        monitor="loss",
        save_best_only=True,
        initial_value_threshold=-1.0,  # no mean squared error is below it
    )
    model.fit(x, y, epochs=2, verbose=0, callbacks=[ckpt])
    assert os.listdir(tmp_path) == []


def test_integer_save_freq_counts_batches(tmp_path, rng):
    model, x, y = model_and_data(rng)
    ckpt = kd.callbacks.ModelCheckpoint(
        str(tmp_path / "m-{epoch}-{batch}.safetensors"), save_weights_only=True, save_freq=3
    )
    model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0, callbacks=[ckpt])
    # 4 batches per epoch, a save every 3 batches across epochs: batches 3, 6 (2nd of 2).
    assert sorted(os.listdir(tmp_path)) == ["m-1-3.safetensors", "m-2-2.safetensors"]


def test_bad_arguments(tmp_path):
    with pytest.raises(InvalidArgumentError, match="save_freq"):
        kd.callbacks.ModelCheckpoint(str(tmp_path / "m.keras"), save_freq="batch")
    with pytest.raises(InvalidArgumentError, match=r"\.weights\.h5"):
        kd.callbacks.ModelCheckpoint(str(tmp_path / "m.keras"), save_weights_only=True)
    with pytest.raises(InvalidArgumentError, match=r"\.keras"):
        kd.callbacks.ModelCheckpoint(str(tmp_path / "m.h5"))


def test_a_missing_key_in_the_template_names_it(tmp_path, rng):
    model, x, y = model_and_data(rng)
    ckpt = kd.callbacks.ModelCheckpoint(str(tmp_path / "m-{val_acc}.keras"))
    with pytest.raises(KeyError, match="val_acc"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[ckpt])
