"""Shared pytest configuration for kandle's Python tests."""

import sys
from pathlib import Path

import numpy as np
import pytest

# Make `helpers` importable whatever pytest import mode the project configures.
_TESTS_DIR = str(Path(__file__).resolve().parent)
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)


@pytest.fixture
def rng():
    """A fresh, seeded generator per test, so every test is reproducible in isolation."""
    return np.random.default_rng(20240611)
