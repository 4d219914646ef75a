"""``kandle.ops`` against numpy written from ``keras.ops``'s documented semantics, with
gradients checked against numpy's derivatives (the f64 central-difference checks of
each op sit beside it in Rust, src/ops/)."""

import numpy as np
import pytest

import kandle as kd
from kandle.errors import InvalidArgumentError

X = np.array([[1.0, -5.0, 3.0], [4.0, 2.0, -6.0]], np.float32)
Y = np.array([2.0, -1.0, 3.5], np.float32)


def grad_of(fn, *arrays):
    """Gradients of ``sum(fn(*variables))`` with respect to each array."""
    variables = [kd.Variable(a) for a in arrays]
    out = fn(*variables)
    return [g.numpy() for g in kd.grad(kd.ops.sum(out), variables)]


@pytest.mark.parametrize(
    ("op", "reference"),
    [
        (kd.ops.add, np.add),
        (kd.ops.subtract, np.subtract),
        (kd.ops.multiply, np.multiply),
        (kd.ops.maximum, np.maximum),
        (kd.ops.minimum, np.minimum),
    ],
)
def test_binary_ops_broadcast_as_numpy(op, reference):
    np.testing.assert_allclose(op(X, Y).numpy(), reference(X, Y))
    np.testing.assert_allclose(op(Y, 1.5).numpy(), reference(Y, 1.5))


def test_divide_square_sqrt_exp_log_abs():
    np.testing.assert_allclose(kd.ops.divide(X, Y).numpy(), X / Y, rtol=1e-6)
    np.testing.assert_allclose(kd.ops.square(X).numpy(), np.square(X))
    np.testing.assert_allclose(kd.ops.sqrt(np.abs(X)).numpy(), np.sqrt(np.abs(X)), rtol=1e-6)
    np.testing.assert_allclose(kd.ops.exp(X).numpy(), np.exp(X), rtol=1e-6)
    np.testing.assert_allclose(kd.ops.log(np.abs(X)).numpy(), np.log(np.abs(X)), rtol=1e-6)
    np.testing.assert_allclose(kd.ops.abs(X).numpy(), np.abs(X))


def test_maximum_minimum_gradients_follow_the_chosen_operand():
    gx, gy = grad_of(kd.ops.maximum, X, Y)
    np.testing.assert_array_equal(gx, (X > Y).astype(np.float32))
    np.testing.assert_array_equal(gy, (Y > X).sum(axis=0).astype(np.float32))
    gx, gy = grad_of(kd.ops.minimum, X, Y)
    np.testing.assert_array_equal(gx, (X < Y).astype(np.float32))
    # A tie splits the gradient evenly, as JAX's maximum.
    gx, gy = grad_of(kd.ops.maximum, np.array([1.0], np.float32), np.array([1.0], np.float32))
    assert (gx[0], gy[0]) == (0.5, 0.5)


def test_clip_values_and_gradient():
    np.testing.assert_allclose(kd.ops.clip(X, -2.0, 3.0).numpy(), np.clip(X, -2.0, 3.0))
    (g,) = grad_of(lambda v: kd.ops.clip(v, -2.0, 3.0), X)
    np.testing.assert_array_equal(g, ((X >= -2) & (X <= 3)).astype(np.float32))
    with pytest.raises(InvalidArgumentError, match="lo <= hi"):
        kd.ops.clip(X, 3.0, -2.0)


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(axis, keepdims):
    for op, reference in [
        (kd.ops.sum, np.sum),
        (kd.ops.mean, np.mean),
        (kd.ops.max, np.max),
        (kd.ops.min, np.min),
    ]:
        np.testing.assert_allclose(
            op(X, axis=axis, keepdims=keepdims).numpy(),
            reference(X, axis=axis, keepdims=keepdims),
            rtol=1e-6,
        )


def test_min_gradient_goes_to_the_smallest():
    (g,) = grad_of(lambda v: kd.ops.min(v, axis=1), X)
    expected = np.zeros_like(X)
    expected[np.arange(2), X.argmin(axis=1)] = 1.0
    np.testing.assert_array_equal(g, expected)


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_argmax_matches_numpy(axis):
    for keepdims in (False, True):
        got = kd.ops.argmax(X, axis=axis, keepdims=keepdims).numpy()
        np.testing.assert_array_equal(got, np.argmax(X, axis=axis, keepdims=keepdims))
    ties = np.array([[3.0, 3.0, 1.0]], np.float32)
    assert kd.ops.argmax(ties, axis=-1).numpy().tolist() == [0.0]


def test_layout_ops_match_numpy():
    t = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_array_equal(kd.ops.reshape(t, (4, -1)).numpy(), t.reshape(4, -1))
    np.testing.assert_array_equal(kd.ops.transpose(t).numpy(), t.transpose())
    np.testing.assert_array_equal(kd.ops.transpose(t, (1, 0, 2)).numpy(), t.transpose(1, 0, 2))
    np.testing.assert_array_equal(kd.ops.expand_dims(t, 1).numpy(), np.expand_dims(t, 1))
    np.testing.assert_array_equal(kd.ops.expand_dims(t, -1).numpy(), np.expand_dims(t, -1))
    one = t[:, :1, :]
    np.testing.assert_array_equal(kd.ops.squeeze(one).numpy(), np.squeeze(one))
    np.testing.assert_array_equal(kd.ops.squeeze(one, axis=1).numpy(), np.squeeze(one, 1))
    with pytest.raises(InvalidArgumentError, match="size not equal to one"):
        kd.ops.squeeze(t, axis=0)
    np.testing.assert_array_equal(
        kd.ops.concatenate([t, t], axis=-1).numpy(), np.concatenate([t, t], axis=-1)
    )
    for axis in (0, 1, -1):
        np.testing.assert_array_equal(
            kd.ops.stack([t, t + 1], axis=axis).numpy(), np.stack([t, t + 1], axis=axis)
        )


@pytest.mark.parametrize("axis", [None, 0, 1, 2, -1])
def test_take_matches_numpy_and_scatters_its_gradient(axis):
    t = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    indices = np.array([[1, 0], [-1, 1]])
    np.testing.assert_array_equal(
        kd.ops.take(t, indices, axis=axis).numpy(), np.take(t, indices, axis=axis)
    )
    (g,) = grad_of(lambda v: kd.ops.take(v, indices, axis=axis), t)
    expected = np.zeros(t.size if axis is None else t.shape[axis], np.float32)
    np.add.at(expected, indices.ravel() % expected.size, 1.0)
    if axis is not None:
        shape = [1] * t.ndim
        shape[axis] = -1
        expected = np.broadcast_to(expected.reshape(shape), t.shape)
    np.testing.assert_array_equal(g, expected.reshape(t.shape))


def test_where_selects_and_routes_gradients():
    condition = np.array([True, False, True])
    np.testing.assert_array_equal(kd.ops.where(condition, X, Y).numpy(), np.where(condition, X, Y))
    gx, gy = grad_of(lambda a, b: kd.ops.where(condition, a, b), X, Y)
    np.testing.assert_array_equal(gx, np.broadcast_to(condition, X.shape).astype(np.float32))
    np.testing.assert_array_equal(gy, 2 * (~condition).astype(np.float32))


def test_activations_and_softmax():
    np.testing.assert_allclose(kd.ops.relu(X).numpy(), np.maximum(X, 0))
    np.testing.assert_allclose(kd.ops.sigmoid(X).numpy(), 1 / (1 + np.exp(-X)), rtol=1e-6)
    np.testing.assert_allclose(kd.ops.tanh(X).numpy(), np.tanh(X), rtol=1e-6)
    e = np.exp(X - X.max(axis=-1, keepdims=True))
    np.testing.assert_allclose(
        kd.ops.softmax(X).numpy(), e / e.sum(axis=-1, keepdims=True), rtol=1e-6
    )
    np.testing.assert_allclose(
        kd.ops.log_softmax(X, axis=0).numpy(),
        X - X.max(0) - np.log(np.exp(X - X.max(0)).sum(0)),
        rtol=1e-6,
        atol=1e-6,
    )


def test_conversions_cast_and_likes():
    t = kd.ops.convert_to_tensor(X)
    assert isinstance(t, kd.Tensor) and kd.ops.convert_to_tensor(t) is t
    assert isinstance(kd.ops.convert_to_numpy(t), np.ndarray)
    np.testing.assert_array_equal(kd.ops.convert_to_numpy(t), X)
    np.testing.assert_array_equal(kd.ops.ones_like(X).numpy(), np.ones_like(X))
    np.testing.assert_array_equal(kd.ops.zeros_like(X).numpy(), np.zeros_like(X))
    halves = np.array([1.5, -1.5, 2.7], np.float32)
    np.testing.assert_array_equal(kd.ops.cast(halves, "int32").numpy(), [1.0, -1.0, 2.0])
    np.testing.assert_array_equal(kd.ops.cast(halves, "float32").numpy(), halves)
    np.testing.assert_array_equal(kd.ops.cast([0.0, 2.0], "bool").numpy(), [0.0, 1.0])
    with pytest.raises(InvalidArgumentError, match="float32 only"):
        kd.ops.convert_to_tensor(X, dtype="int64")
    with pytest.raises(InvalidArgumentError, match="unsupported dtype"):
        kd.ops.cast(X, "complex64")


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("less", np.less),
        ("less_equal", np.less_equal),
        ("greater", np.greater),
        ("greater_equal", np.greater_equal),
        ("equal", np.equal),
        ("not_equal", np.not_equal),
    ],
)
def test_comparisons_give_zeros_and_ones(name, reference):
    ties = np.array([1.0, -5.0, 3.5], np.float32)
    np.testing.assert_array_equal(
        getattr(kd.ops, name)(X, ties).numpy(), reference(X, ties).astype(np.float32)
    )


def test_tensor_ordering_operators_and_identity_equality():
    t = kd.tensor(Y)
    np.testing.assert_array_equal((t < 0.0).numpy(), (Y < 0).astype(np.float32))
    np.testing.assert_array_equal((t >= 2.0).numpy(), (Y >= 2).astype(np.float32))
    np.testing.assert_array_equal((1.0 > t).numpy(), (Y < 1).astype(np.float32))
    v = kd.Variable(Y)
    assert v == v and v != kd.Variable(Y) and v in [v] and len({v, v}) == 1


def test_matmul_matches_numpy_with_gradients():
    a = np.arange(12, dtype=np.float32).reshape(2, 2, 3) / 10
    b = np.arange(6, dtype=np.float32).reshape(3, 2) / 10
    np.testing.assert_allclose(kd.ops.matmul(a, b).numpy(), a @ b, rtol=1e-6)
    ga, gb = grad_of(kd.ops.matmul, a, b)
    ones = np.ones((2, 2, 2), np.float32)
    np.testing.assert_allclose(ga, ones @ b.T, rtol=1e-6)
    np.testing.assert_allclose(gb, np.einsum("bij,bik->jk", a, ones), rtol=1e-6)
