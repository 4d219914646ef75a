"""A seeded fit gives bitwise-identical weights run after run and for any thread count."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

SCRIPT = r"""
import sys
import numpy as np
import kandle as kd

kd.utils.set_random_seed(123)
rng = np.random.default_rng(0)
# Large enough that matmuls, elementwise ops and optimizer updates run in parallel.
x = rng.standard_normal((1024, 300)).astype(np.float32)
y = rng.integers(0, 10, 1024).astype(np.float32)
model = kd.Sequential([
    kd.Input((300,)),
    kd.layers.Dense(1024, activation="relu"),
    kd.layers.Dropout(0.2),
    kd.layers.Dense(10),
])
model.compile(optimizer="adam",
              loss=kd.losses.SparseCategoricalCrossentropy(from_logits=True))
model.fit(x, y, batch_size=256, epochs=2, verbose=0)
np.savez(sys.argv[1], *model.get_weights())
"""


def run_fit(tmp_path, threads: int, tag: str) -> list[np.ndarray]:
    out = tmp_path / f"weights-{tag}.npz"
    env = {**os.environ, "KANDLE_NUM_THREADS": str(threads)}
    subprocess.run([sys.executable, "-c", SCRIPT, str(out)], check=True, env=env)
    with np.load(out) as f:
        return [f[k] for k in sorted(f.files, key=lambda k: int(k.split("_")[1]))]


def test_seeded_fit_is_bitwise_identical_for_1_2_and_3_threads(tmp_path):
    one = run_fit(tmp_path, 1, "one")
    again = run_fit(tmp_path, 1, "again")
    two = run_fit(tmp_path, 2, "two")
    # An odd count cuts matrix products into uneven blocks.
    three = run_fit(tmp_path, 3, "three")
    for a, b, c, d in zip(one, again, two, three):
        assert a.tobytes() == b.tobytes()
        assert a.tobytes() == c.tobytes()
        assert a.tobytes() == d.tobytes()
