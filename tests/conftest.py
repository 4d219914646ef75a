"""Shared pytest configuration for kandle's Python tests."""

import os
import sys
from pathlib import Path

import numpy as np
import pytest

# Keras (a test-only dependency, the reference of the parity tests) runs on JAX; set
# before any test imports it.
os.environ.setdefault("KERAS_BACKEND", "jax")

# Make `helpers` importable whatever pytest import mode the project configures.
_TESTS_DIR = str(Path(__file__).resolve().parent)
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)


@pytest.fixture
def rng():
    """A fresh, seeded generator per test, so every test is reproducible in isolation."""
    return np.random.default_rng(20240611)
