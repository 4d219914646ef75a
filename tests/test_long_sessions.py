"""Long sessions keep memory flat: many fit/evaluate/predict calls on small models, and
many models built and dropped, do not grow the process (Keras users report leaks in
exactly this pattern, keras#20552)."""

from __future__ import annotations

import gc
import os
import sys

import numpy as np
import pytest

import kandle as kd

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads the resident size from /proc"
)

MIB = 1 << 20


def resident_bytes() -> int:
    gc.collect()
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def small_model() -> kd.Sequential:
    model = kd.Sequential(
        [kd.Input((8,)), kd.layers.Dense(16, activation="relu"), kd.layers.Dense(1)]
    )
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model


def test_a_thousand_calls_keep_memory_flat():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 8)).astype(np.float32)
    y = rng.normal(size=(64, 1)).astype(np.float32)
    model = small_model()

    def calls(n):
        for _ in range(n):
            model.fit(x, y, batch_size=16, epochs=1, verbose=0)
            model.evaluate(x, y, verbose=0)
            model.predict(x, verbose=0)

    calls(50)  # warm-up: pools, caches and the allocator reach their steady size
    before = resident_bytes()
    calls(1000)
    growth = resident_bytes() - before
    assert growth < 20 * MIB, f"resident memory grew by {growth / MIB:.1f} MiB"


def test_building_and_dropping_models_keeps_memory_flat():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(32, 8)).astype(np.float32)
    y = rng.normal(size=(32, 1)).astype(np.float32)

    def models(n):
        for _ in range(n):
            model = small_model()
            model.fit(x, y, epochs=1, verbose=0)
            model.predict(x, verbose=0)
            del model

    models(20)
    before = resident_bytes()
    models(200)
    growth = resident_bytes() - before
    assert growth < 20 * MIB, f"resident memory grew by {growth / MIB:.1f} MiB"
