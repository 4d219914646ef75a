"""Layers (``kandle.layers``), with Keras's names, arguments and defaults."""

from kandle.layers.activation import ELU, Activation, LeakyReLU, PReLU, ReLU, Softmax
from kandle.layers.activity_regularization import ActivityRegularization
from kandle.layers.dense import Dense
from kandle.layers.dropout import Dropout, SpatialDropout1D, SpatialDropout2D
from kandle.layers.embedding import Embedding
from kandle.layers.input_layer import Input, InputLayer
from kandle.layers.layer import Layer
from kandle.layers.noise import AlphaDropout, GaussianDropout, GaussianNoise
from kandle.layers.normalization import BatchNormalization, LayerNormalization, UnitNormalization
from kandle.layers.preprocessing import (
    CategoryEncoding,
    Discretization,
    IntegerLookup,
    Normalization,
    Rescaling,
)
from kandle.layers.reshaping import (
    Cropping1D,
    Cropping2D,
    Flatten,
    Identity,
    Permute,
    RepeatVector,
    Reshape,
    UpSampling1D,
    UpSampling2D,
    ZeroPadding1D,
    ZeroPadding2D,
)

__all__ = [
    "Activation",
    "ActivityRegularization",
    "AlphaDropout",
    "BatchNormalization",
    "CategoryEncoding",
    "Cropping1D",
    "Cropping2D",
    "Dense",
    "Discretization",
    "Dropout",
    "ELU",
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
    "LeakyReLU",
    "Normalization",
    "PReLU",
    "Permute",
    "ReLU",
    "RepeatVector",
    "Rescaling",
    "Reshape",
    "Softmax",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "UnitNormalization",
    "UpSampling1D",
    "UpSampling2D",
    "ZeroPadding1D",
    "ZeroPadding2D",
]
