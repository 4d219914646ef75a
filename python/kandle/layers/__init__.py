"""Layers (``kandle.layers``), with Keras's names, arguments and defaults."""

from kandle.layers.activation import Activation
from kandle.layers.activity_regularization import ActivityRegularization
from kandle.layers.dense import Dense
from kandle.layers.dropout import Dropout
from kandle.layers.embedding import Embedding
from kandle.layers.input_layer import Input, InputLayer
from kandle.layers.layer import Layer
from kandle.layers.merging import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)
from kandle.layers.noise import AlphaDropout, GaussianDropout, GaussianNoise
from kandle.layers.normalization import BatchNormalization, LayerNormalization, UnitNormalization
from kandle.layers.preprocessing import (
    CategoryEncoding,
    Discretization,
    IntegerLookup,
    Normalization,
    Rescaling,
)
from kandle.layers.reshaping import Flatten, Identity, Permute, RepeatVector, Reshape

__all__ = [
    "Activation",
    "ActivityRegularization",
    "Add",
    "AlphaDropout",
    "Average",
    "BatchNormalization",
    "CategoryEncoding",
    "Concatenate",
    "Dense",
    "Discretization",
    "Dot",
    "Dropout",
    "Embedding",
    "Flatten",
    "GaussianDropout",
    "GaussianNoise",
    "Identity",
    "Input",
    "InputLayer",
    "IntegerLookup",
    "Layer",
    "LayerNormalization",
    "Maximum",
    "Minimum",
    "Multiply",
    "Normalization",
    "Permute",
    "RepeatVector",
    "Rescaling",
    "Reshape",
    "Subtract",
    "UnitNormalization",
    "add",
    "average",
    "concatenate",
    "dot",
    "maximum",
    "minimum",
    "multiply",
    "subtract",
]
