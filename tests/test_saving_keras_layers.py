"""Every layer class kandle can load, in a ``.keras`` file written by the real Keras 3:
kandle loads it (config as Keras writes it, every key included) and predicts what Keras
predicts; and Keras loads the file kandle saves back by default.

``test_every_loadable_layer_has_a_case`` keeps the list complete: a layer added to
kandle's registry without a case here fails it. (Embedding once slipped through: Keras
writes ``activity_regularizer: None`` in its config, and no test loaded a Keras-written
Embedding.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import kandle as kd
from kandle.saving import _layer_registry

keras = pytest.importorskip("keras")
pytest.importorskip("h5py")


@dataclass(frozen=True)
class FileCase:
    """``layers(k)``: the layers after ``Input(input_shape)`` in library ``k``; or
    ``merge(k)``: a merging layer, applied to two inputs of ``input_shape``."""

    input_shape: tuple[int, ...]
    layers: Callable[[Any], list[Any]] | None = None
    merge: Callable[[Any], Any] | None = None
    tokens: int = 0  # > 0: integer inputs in [0, tokens)
    needs: str | None = None  # a module Keras needs for this layer


def _seq(shape: tuple[int, ...], *make: Callable[[Any], Any], tokens: int = 0) -> FileCase:
    return FileCase(shape, layers=lambda k: [m(k) for m in make], tokens=tokens)


def _merge(make: Callable[[Any], Any]) -> FileCase:
    return FileCase((4,), merge=make)


# Keyed by kandle's class name; arguments off their defaults where the layer has any.
CASES: dict[str, FileCase] = {
    "Activation": _seq((4,), lambda k: k.layers.Activation("softplus")),
    "ActivityRegularization": _seq(
        (4,), lambda k: k.layers.ActivityRegularization(l1=0.01, l2=0.02)
    ),
    "Add": _merge(lambda k: k.layers.Add()),
    "AlphaDropout": _seq((4,), lambda k: k.layers.AlphaDropout(0.2, seed=1)),
    "Average": _merge(lambda k: k.layers.Average()),
    "AveragePooling1D": _seq(
        (6, 3), lambda k: k.layers.AveragePooling1D(2, strides=1, padding="same")
    ),
    "AveragePooling2D": _seq((6, 6, 2), lambda k: k.layers.AveragePooling2D((2, 3))),
    "BatchNormalization": _seq(
        (4,), lambda k: k.layers.BatchNormalization(momentum=0.9, epsilon=0.01)
    ),
    "CategoryEncoding": _seq(
        (3,), lambda k: k.layers.CategoryEncoding(num_tokens=6, output_mode="multi_hot"), tokens=6
    ),
    "Concatenate": _merge(lambda k: k.layers.Concatenate(axis=-1)),
    "Conv1D": _seq(
        (8, 3),
        lambda k: k.layers.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="tanh"),
    ),
    "Conv2D": _seq((8, 8, 3), lambda k: k.layers.Conv2D(4, 3, strides=2, padding="same")),
    "Conv2DTranspose": _seq(
        (4, 4, 2), lambda k: k.layers.Conv2DTranspose(3, 3, strides=2, padding="same")
    ),
    "Cropping1D": _seq((6, 3), lambda k: k.layers.Cropping1D((1, 2))),
    "Cropping2D": _seq((5, 5, 2), lambda k: k.layers.Cropping2D(((1, 0), (0, 1)))),
    "Dense": _seq(
        (4,),
        lambda k: k.layers.Dense(3, activation="relu", use_bias=False),
        lambda k: k.layers.Dense(2, kernel_regularizer="l2"),
    ),
    "DepthwiseConv2D": _seq((6, 6, 2), lambda k: k.layers.DepthwiseConv2D(3, depth_multiplier=2)),
    "Discretization": _seq(
        (4,),
        lambda k: k.layers.Discretization(bin_boundaries=[-0.5, 0.0, 0.5], output_mode="one_hot"),
        lambda k: k.layers.Flatten(),
    ),
    "Dot": _merge(lambda k: k.layers.Dot(axes=1)),
    "Dropout": _seq((4,), lambda k: k.layers.Dropout(0.3, seed=2)),
    "ELU": _seq((4,), lambda k: k.layers.ELU(alpha=0.5)),
    "Embedding": _seq(
        (4,), lambda k: k.layers.Embedding(10, 3), lambda k: k.layers.Flatten(), tokens=10
    ),
    "Flatten": _seq((2, 3), lambda k: k.layers.Flatten()),
    "GaussianDropout": _seq((4,), lambda k: k.layers.GaussianDropout(0.2, seed=1)),
    "GaussianNoise": _seq((4,), lambda k: k.layers.GaussianNoise(0.1, seed=1)),
    "GlobalAveragePooling1D": _seq((5, 3), lambda k: k.layers.GlobalAveragePooling1D()),
    "GlobalAveragePooling2D": _seq(
        (4, 4, 2), lambda k: k.layers.GlobalAveragePooling2D(keepdims=True)
    ),
    "GlobalMaxPooling1D": _seq((5, 3), lambda k: k.layers.GlobalMaxPooling1D()),
    "GlobalMaxPooling2D": _seq((4, 4, 2), lambda k: k.layers.GlobalMaxPooling2D()),
    "Identity": _seq((4,), lambda k: k.layers.Identity()),
    "InputLayer": _seq((4,), lambda k: k.layers.Dense(2)),
    "IntegerLookup": FileCase(
        (3,),
        layers=lambda k: [k.layers.IntegerLookup(vocabulary=[1, 3, 5, 7], output_mode="count")],
        tokens=9,
        needs="tensorflow",  # Keras's lookup layers run on TensorFlow
    ),
    "LayerNormalization": _seq((4,), lambda k: k.layers.LayerNormalization(epsilon=1e-4)),
    "LeakyReLU": _seq((4,), lambda k: k.layers.LeakyReLU(negative_slope=0.2)),
    "MaxPooling1D": _seq((6, 3), lambda k: k.layers.MaxPooling1D(3, strides=2)),
    "MaxPooling2D": _seq((6, 6, 2), lambda k: k.layers.MaxPooling2D((2, 2), strides=1)),
    "Maximum": _merge(lambda k: k.layers.Maximum()),
    "Minimum": _merge(lambda k: k.layers.Minimum()),
    "Multiply": _merge(lambda k: k.layers.Multiply()),
    "Normalization": _seq(
        (4,), lambda k: k.layers.Normalization(mean=[0.1, 0.2, 0.3, 0.4], variance=[1, 2, 3, 4])
    ),
    "PReLU": _seq((3, 2), lambda k: k.layers.PReLU(shared_axes=[1])),
    "Permute": _seq((2, 3), lambda k: k.layers.Permute((2, 1))),
    "ReLU": _seq((4,), lambda k: k.layers.ReLU(max_value=1.0, negative_slope=0.1, threshold=0.05)),
    "RepeatVector": _seq((4,), lambda k: k.layers.RepeatVector(3)),
    "Rescaling": _seq((4,), lambda k: k.layers.Rescaling(0.5, offset=0.1)),
    "Reshape": _seq((6,), lambda k: k.layers.Reshape((3, 2))),
    "SeparableConv2D": _seq(
        (6, 6, 2), lambda k: k.layers.SeparableConv2D(4, 3, depth_multiplier=2, padding="same")
    ),
    "Softmax": _seq((2, 3), lambda k: k.layers.Softmax(axis=1)),
    "SpatialDropout1D": _seq((5, 3), lambda k: k.layers.SpatialDropout1D(0.2)),
    "SpatialDropout2D": _seq((4, 4, 2), lambda k: k.layers.SpatialDropout2D(0.2)),
    "Subtract": _merge(lambda k: k.layers.Subtract()),
    "UnitNormalization": _seq((4,), lambda k: k.layers.UnitNormalization(axis=-1)),
    "UpSampling1D": _seq((3, 2), lambda k: k.layers.UpSampling1D(2)),
    "UpSampling2D": _seq((3, 3, 2), lambda k: k.layers.UpSampling2D((2, 1))),
    "ZeroPadding1D": _seq((3, 2), lambda k: k.layers.ZeroPadding1D(2)),
    "ZeroPadding2D": _seq((3, 3, 2), lambda k: k.layers.ZeroPadding2D(((1, 0), (2, 1)))),
}


def test_every_loadable_layer_has_a_case():
    loadable = {cls.__name__ for cls in _layer_registry().values()}
    assert sorted(loadable - set(CASES)) == []
    assert sorted(set(CASES) - loadable) == []


def _keras_model(case: FileCase) -> Any:
    dtype = "int32" if case.tokens else "float32"
    if case.merge is not None:
        a, b = keras.Input(case.input_shape), keras.Input(case.input_shape)
        return keras.Model([a, b], case.merge(keras)([a, b]))
    assert case.layers is not None
    return keras.Sequential([keras.Input(case.input_shape, dtype=dtype), *case.layers(keras)])


def _inputs(case: FileCase, rng: np.random.Generator) -> Any:
    shape = (5, *case.input_shape)
    if case.tokens:
        return rng.integers(0, case.tokens, shape).astype("int32")
    x = rng.standard_normal(shape).astype("float32")
    return [x, rng.standard_normal(shape).astype("float32")] if case.merge is not None else x


def _predict(model: Any, x: Any) -> np.ndarray:
    return np.asarray(model.predict(x, verbose=0))


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")  # Keras, unbuilt
@pytest.mark.parametrize("name", sorted(CASES))
def test_keras_file_of_each_layer_loads_in_kandle_and_back(name, tmp_path, rng):
    case = CASES[name]
    if case.needs:
        pytest.importorskip(case.needs)
    keras.utils.set_random_seed(sum(map(ord, name)))
    theirs = _keras_model(case)
    # Weights off their initial values (positive shifts keep variances valid).
    theirs.set_weights(
        [w + rng.uniform(0.1, 0.5, w.shape).astype(w.dtype) for w in theirs.get_weights()]
    )
    theirs.compile(optimizer="adam", loss="mse")
    path = tmp_path / "keras.keras"
    theirs.save(path)  # Keras's own defaults: every config key it writes, h5 weights

    ours = kd.models.load_model(path)
    assert any(type(layer).__name__ == name for layer in ours.layers) or (
        name == "InputLayer" and ours.input_shape == (None, *case.input_shape)
    )
    x = _inputs(case, rng)
    want = _predict(theirs, x)
    np.testing.assert_allclose(_predict(ours, x), want, rtol=1e-5, atol=1e-6)

    # kandle's default save is a file Keras loads, with the same predictions.
    again = tmp_path / "kandle.keras"
    ours.save(again)
    np.testing.assert_allclose(
        _predict(keras.models.load_model(again), x), want, rtol=1e-5, atol=1e-6
    )
