"""A bounded fuzz run over the file loaders: random bytes, and random mutations of valid
files (flipped bytes, cut, inserted and overwritten runs). Each load either succeeds or
raises a kandle.errors exception, never anything else, and a refused file leaves the
model as it was. The seed is fixed, so a failure reproduces."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import kandle as kd
from kandle.errors import KandleError

CASES = 150


def make_model():
    model = kd.Sequential(
        [
            kd.Input((3,)),
            kd.layers.Dense(4, name="fc"),
            kd.layers.BatchNormalization(name="bn"),
            kd.layers.Dense(2, name="out"),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    return model


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    raw = bytearray(data)
    for _ in range(int(rng.integers(1, 4))):
        at = int(rng.integers(0, len(raw)))
        kind = rng.integers(0, 4)
        if kind == 0:  # flip a few bits
            raw[at] ^= 1 << int(rng.integers(0, 8))
        elif kind == 1:  # cut the file short
            del raw[at:]
        elif kind == 2:  # insert random bytes
            raw[at:at] = rng.bytes(int(rng.integers(1, 16)))
        else:  # overwrite a run with random bytes, or with a big number's bytes
            run = rng.bytes(8) if rng.integers(0, 2) else b"\xff" * 8
            raw[at : at + len(run)] = run
        if not raw:
            break
    return bytes(raw)


FORMATS = ["model.keras", "model.weights.h5", "model.safetensors"]


def save(model, path):
    if path.name == "model.keras":
        model.save(path)
    else:
        model.save_weights(path)


def loaders(model, path):
    """The ways to read `path`: into an existing model, and (.keras) as a new model."""
    yield lambda: model.load_weights(path)
    if path.suffix == ".keras":
        yield lambda: kd.models.load_model(path)


@pytest.mark.parametrize("name", FORMATS)
@pytest.mark.parametrize("source", ["random", "mutated"])
def test_damaged_files_load_or_raise_kandle_errors(tmp_path, name, source):
    if name.endswith(".h5") and importlib.util.find_spec("h5py") is None:
        pytest.skip("h5py is not installed")
    model = make_model()
    path = tmp_path / name
    save(model, path)
    valid = path.read_bytes()
    before = model.get_weights()
    rng = np.random.default_rng([FORMATS.index(name), source == "mutated"])
    failures = []
    for case in range(CASES):
        if source == "random":
            data = rng.bytes(int(rng.integers(0, 2048)))
            if rng.integers(0, 2):  # a valid start, so parsers get past the magic bytes
                data = valid[: int(rng.integers(0, min(len(valid), 64)))] + data
        else:
            data = mutate(valid, rng)
        path.write_bytes(data)
        for load in loaders(model, path):
            try:
                load()
            except KandleError:
                for a, b in zip(before, model.get_weights()):
                    np.testing.assert_array_equal(a, b)
            except Exception as error:  # anything else is a finding
                failures.append(f"case {case}: {type(error).__name__}: {error}")
            else:
                before = model.get_weights()  # a harmless mutation loaded
    assert not failures, "\n".join(failures[:10])
