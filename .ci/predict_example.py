"""The check of `examples/predict.rs` in `.ci/run`: Python trains and saves a model and
its input (`write DIR`); after the Rust example has predicted, its output must equal
Python's `model.predict` within 1e-5 (`check DIR`)."""

import sys
from pathlib import Path

import numpy as np

import kandle as kd
from kandle import _core

mode, folder = sys.argv[1], Path(sys.argv[2])
if mode == "write":
    kd.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 6)).astype(np.float32)
    model = kd.Sequential(
        [
            kd.Input((6,)),
            kd.layers.Dense(16, activation="relu"),
            kd.layers.BatchNormalization(),
            kd.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, rng.integers(0, 3, 200), epochs=2, verbose=0)
    # npz weights: the crate reads those (h5, the default with h5py, needs Python's h5py).
    model.save(folder / "model.keras", weights_format="npz")
    _core.save_safetensors(folder / "input.safetensors", [("x", x)])
    np.save(folder / "expected.npy", model.predict(x, verbose=0))
else:
    (name, y), *rest = _core.load_safetensors(folder / "output.safetensors")
    expected = np.load(folder / "expected.npy")
    assert name == "y" and not rest, (name, rest)
    np.testing.assert_allclose(y, expected, atol=1e-5)
    print(f"predict.rs: {y.shape} predictions equal Python's within 1e-5")
