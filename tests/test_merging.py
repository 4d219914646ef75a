"""Merge layers (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot)
against Keras's own outputs, configs and shape errors."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import kandle as kd

ELEMENTWISE = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]


def _inputs(rng, *shapes):
    return [rng.normal(size=s).astype("float32") for s in shapes]


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_merges_match_keras(name, rng):
    count = 2 if name == "Subtract" else 3
    for shapes in ([(4, 5)] * count, [(4, 5), (4, 1)] + [(4, 5)] * (count - 2)):
        xs = _inputs(rng, *shapes)
        got = getattr(kd.layers, name)()(xs).numpy()
        want = np.asarray(getattr(keras.layers, name)()(xs))
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
        function = getattr(kd.layers, name.lower())
        np.testing.assert_allclose(function(xs).numpy(), want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("axis", [-1, 1, 2])
def test_concatenate_matches_keras(axis, rng):
    shapes = [(3, 2, 4), (3, 2, 4)]
    xs = _inputs(rng, *shapes)
    got = kd.layers.Concatenate(axis=axis)(xs).numpy()
    np.testing.assert_array_equal(got, np.asarray(keras.layers.Concatenate(axis=axis)(xs)))
    np.testing.assert_array_equal(
        kd.layers.concatenate(xs, axis=axis).numpy(),
        np.asarray(keras.layers.concatenate(xs, axis=axis)),
    )


@pytest.mark.parametrize(
    "shapes, axes, normalize",
    [
        ([(4, 5), (4, 5)], 1, False),
        ([(4, 5), (4, 5)], -1, True),
        ([(2, 3, 4), (2, 5, 3)], (1, 2), False),
        ([(2, 3, 4), (2, 4, 5)], (2, 1), True),
        ([(2, 3, 4), (2, 3)], (1, 1), False),
    ],
)
def test_dot_matches_keras(shapes, axes, normalize, rng):
    xs = _inputs(rng, *shapes)
    got = kd.layers.Dot(axes=axes, normalize=normalize)(xs).numpy()
    want = np.asarray(keras.layers.Dot(axes=axes, normalize=normalize)(xs))
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        kd.layers.dot(xs, axes=axes, normalize=normalize).numpy(), want, rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize(
    "name, kwargs",
    [(n, {}) for n in ELEMENTWISE] + [("Concatenate", {"axis": 1}), ("Dot", {"axes": [1, 2]})],
)
def test_configs_and_output_shapes_match_keras(name, kwargs):
    layer, reference = getattr(kd.layers, name)(**kwargs), getattr(keras.layers, name)(**kwargs)
    want = reference.get_config()
    got = layer.get_config()
    assert sorted(got) == sorted(want)
    assert {k: v for k, v in got.items() if k not in ("name", "dtype")} == {
        k: (list(v) if isinstance(v, tuple) else v)
        for k, v in want.items()
        if k not in ("name", "dtype")
    }
    again = type(layer).from_config(got)
    assert again.get_config() == got
    shapes = {"Dot": [(None, 4, 3), (None, 2, 4)], "Concatenate": [(None, 3), (None, 2)]}
    input_shapes = shapes.get(name, [(None, 3), (None, 1)])
    assert layer.compute_output_shape(input_shapes) == tuple(
        reference.compute_output_shape(input_shapes)
    )


def test_merges_backpropagate_in_training(rng):
    # The gradient reaches the weights of both branches through each merge.
    for name in ELEMENTWISE + ["Concatenate"]:
        x = kd.Input((3,))
        a = kd.layers.Dense(2, name="a")(x)
        b = kd.layers.Dense(2, name="b")(x)
        model = kd.Model(x, kd.layers.Dense(1)(getattr(kd.layers, name)()([a, b])))
        before = [w.copy() for w in model.get_weights()]
        model.compile(optimizer="sgd", loss="mse")
        model.fit(rng.normal(size=(8, 3)), rng.normal(size=(8, 1)), verbose=0)
        for i in (0, 2):  # the two branches' kernels
            assert not np.allclose(before[i], model.get_weights()[i]), name


@pytest.mark.parametrize(
    "make, inputs, match",
    [
        (lambda: kd.layers.Add(), [(3,), (4,)], "incompatible shapes"),
        (lambda: kd.layers.Subtract(), [(3,), (3,), (3,)], "exactly 2"),
        (lambda: kd.layers.Multiply(), [(3,)], "at least 2"),
        (lambda: kd.layers.Concatenate(), [(3, 2), (4, 2)], "matching shapes"),
        (lambda: kd.layers.Concatenate(axis=3), [(3,), (2,)], "out of bounds"),
        (lambda: kd.layers.Dot(axes=1), [(3,), (4,)], "Incompatible input shapes"),
        (lambda: kd.layers.Dot(axes=1), [(3,), (3,), (3,)], "exactly 2"),
    ],
)
def test_bad_merges_fail_when_the_model_is_built(make, inputs, match):
    tensors = [kd.Input(s) for s in inputs]
    with pytest.raises(ValueError, match=match):
        make()(tensors)


def test_bad_arguments():
    with pytest.raises(ValueError, match="axes"):
        kd.layers.Dot(axes="last")
    with pytest.raises(ValueError, match="axis"):
        kd.layers.Concatenate(axis=1.5)
    with pytest.raises(ValueError, match="list"):
        kd.layers.Add()(np.ones((2, 3)))
    with pytest.raises(ValueError, match="incompatible"):
        kd.layers.Add()([np.ones((2, 3)), np.ones((2, 4))])
