"""Layers (``kandle.layers``), with Keras's names, arguments and defaults."""

from kandle.layers.activation import Activation
from kandle.layers.dense import Dense
from kandle.layers.dropout import Dropout
from kandle.layers.embedding import Embedding
from kandle.layers.input_layer import Input, InputLayer
from kandle.layers.layer import Layer
from kandle.layers.normalization import BatchNormalization, LayerNormalization
from kandle.layers.reshaping import Flatten, Reshape

__all__ = [
    "Activation",
    "BatchNormalization",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "Input",
    "InputLayer",
    "Layer",
    "LayerNormalization",
    "Reshape",
]
