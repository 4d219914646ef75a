"""Layers (``kandle.layers``)."""

from kandle.layers.dense import Dense
from kandle.layers.layer import Layer

__all__ = ["Dense", "Layer"]
