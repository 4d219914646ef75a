"""Regenerates tests/data/keras_discretization.json: the bin boundaries that Keras's
Discretization.adapt (an approximate quantile sketch) finds on the test data.

Keras's adapt needs TensorFlow (tf.data), which CI does not install, so the tests
compare with these recorded values (and with live Keras when TensorFlow is present).

    pip install keras tensorflow-cpu && KERAS_BACKEND=jax python tests/make_keras_references.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "jax")

SEED = 20240611  # tests/conftest.py's rng fixture
CASES = [
    ("docstring", 4, 0.01),
    ("normal", 5, 0.01),
    ("normal", 3, 0.01),
    ("normal", 7, 0.05),
    ("ties", 4, 0.01),
    ("small", 10, 0.01),
    ("large", 6, 0.001),
]


def discretization_arrays(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The data of test_discretization_adapt_matches_keras_boundaries, in its order."""
    return {
        "docstring": np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]]),
        "normal": rng.standard_normal((200, 3)),
        "ties": rng.integers(0, 5, (300, 2)).astype(np.float64),
        "small": rng.standard_normal((2, 3)),
        "large": rng.standard_normal((5000, 1)) * 10,
    }


def batches_data(rng: np.random.Generator) -> list[np.ndarray]:
    """The batches of test_discretization_batches_and_encodings_match_keras."""
    x = rng.standard_normal((120, 2))
    return [x[:50], x[50:100], x[100:]]


def main() -> None:
    import keras

    out: dict[str, list[float]] = {}
    for data, num_bins, epsilon in CASES:
        layer = keras.layers.Discretization(num_bins=num_bins, epsilon=epsilon)
        layer.adapt(discretization_arrays(np.random.default_rng(SEED))[data])
        out[f"{data}-{num_bins}-{epsilon}"] = [float(b) for b in layer.bin_boundaries]
    layer = keras.layers.Discretization(num_bins=4)
    layer.adapt(batches_data(np.random.default_rng(SEED)))
    out["batches-4"] = [float(b) for b in layer.bin_boundaries]
    path = Path(__file__).parent / "data" / "keras_discretization.json"
    path.write_text(json.dumps({"keras": keras.__version__, "boundaries": out}, indent=1) + "\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
