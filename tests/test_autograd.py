"""Reverse-mode gradients (kd.grad) checked against hand-derived numpy formulas."""

import operator

import numpy as np
import pytest

import kandle as kd
from helpers import (
    INDEX_KEYS,
    assert_tensor_close,
    f64,
    grads,
    key_id,
    nonzero,
    positive,
    randn,
    sigmoid_ref,
    softmax_ref,
    sum_to_shape,
)

GRAD_TOL = {"rtol": 1e-5, "atol": 1e-5}


def assert_grads(actual, expected, rtol=1e-5, atol=1e-5):
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected):
        want = np.asarray(want)
        assert got.shape == want.shape, f"gradient shape {got.shape} != {want.shape}"
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def linear_adjoint(fn, shape, cotangent):
    """Reference gradient of sum(fn(v) * cotangent) for a structural (gather) op `fn`.

    Applying `fn` to an array of flat indices tells which input element each output
    element came from; the gradient scatters the cotangent back with accumulation.
    """
    index = np.arange(int(np.prod(shape))).reshape(shape)
    picked = np.asarray(fn(index))
    out = np.zeros(index.size)
    np.add.at(out, picked.ravel(), np.broadcast_to(cotangent, picked.shape).ravel())
    return out.reshape(shape)


# --------------------------------------------------------------------------- composites


def test_affine_squared_loss(rng):
    x, w0, b0 = randn(rng, (5, 3)), randn(rng, (3, 2)), randn(rng, (2,))
    w, b = kd.Variable(w0), kd.Variable(b0)
    loss = ((kd.tensor(x) @ w + b) ** 2).sum()
    r = f64(x) @ f64(w0) + f64(b0)
    assert_tensor_close(loss, (r**2).sum(), rtol=1e-5, atol=1e-5)
    assert_grads(grads(loss, [w, b]), [2 * f64(x).T @ r, 2 * r.sum(axis=0)])
    # The order of the result follows the order of the variables.
    assert_grads(grads(loss, [b, w]), [2 * r.sum(axis=0), 2 * f64(x).T @ r])


def test_grad_is_repeatable(rng):
    """kd.grad is a pure function of the recorded graph: no accumulation between calls."""
    x0 = randn(rng, (3, 4))
    v = kd.Variable(x0)
    loss = (v * v).sum()
    first = grads(loss, [v])
    second = grads(loss, [v])
    assert_grads(first, [2 * f64(x0)])
    assert_grads(second, [2 * f64(x0)])


@pytest.mark.parametrize(
    "fn, dfdx",
    [
        (lambda v: v * v * v, lambda x: 3 * x**2),
        (lambda v: v + v, lambda x: np.full_like(x, 2.0)),
        (lambda v: v * v + v, lambda x: 2 * x + 1),
        (lambda v: v / v, lambda x: np.zeros_like(x)),
        (lambda v: (v - 1.0) * (v + 1.0), lambda x: 2 * x),
        (lambda v: v.exp() * v, lambda x: np.exp(x) * (1 + x)),
    ],
    ids=["v*v*v", "v+v", "v*v+v", "v/v", "(v-1)(v+1)", "exp(v)*v"],
)
def test_variable_used_several_times(fn, dfdx, rng):
    x0 = nonzero(rng, (3, 4))
    v = kd.Variable(x0)
    assert_grads(grads(fn(v).sum(), [v]), [dfdx(f64(x0))])


def test_square_matrix_used_twice_in_matmul(rng):
    x0 = randn(rng, (4, 4))
    v = kd.Variable(x0)
    ones = np.ones((4, 4))
    # d/dV sum(V @ V) = 1 @ V^T + V^T @ 1
    assert_grads(grads((v @ v).sum(), [v]), [ones @ f64(x0).T + f64(x0).T @ ones])


# --------------------------------------------------------------------------- elementwise

UNARY_GRADS = {
    "exp": (lambda v: v.exp(), np.exp, "any"),
    "log": (lambda v: v.log(), lambda x: 1 / x, "pos"),
    "sqrt": (lambda v: v.sqrt(), lambda x: 0.5 / np.sqrt(x), "pos"),
    "abs": (lambda v: v.abs(), np.sign, "nonzero"),
    "relu": (lambda v: v.relu(), lambda x: (x > 0).astype(float), "nonzero"),
    "tanh": (lambda v: v.tanh(), lambda x: 1 - np.tanh(x) ** 2, "any"),
    "sigmoid": (lambda v: v.sigmoid(), lambda x: sigmoid_ref(x) * (1 - sigmoid_ref(x)), "any"),
    "neg": (lambda v: -v, lambda x: -np.ones_like(x), "any"),
    "pow2": (lambda v: v**2, lambda x: 2 * x, "any"),
    "pow3": (lambda v: v**3, lambda x: 3 * x**2, "any"),
    "pow0.5": (lambda v: v**0.5, lambda x: 0.5 * x**-0.5, "pos"),
    "pow-2": (lambda v: v**-2, lambda x: -2 * x**-3, "pos"),
    "rsub": (lambda v: 2.0 - v, lambda x: -np.ones_like(x), "any"),
    "rdiv": (lambda v: 2.0 / v, lambda x: -2.0 / x**2, "pos"),
    "sub_scalar": (lambda v: v - 3, lambda x: np.ones_like(x), "any"),
    "div_scalar": (lambda v: v / 4.0, lambda x: np.full_like(x, 0.25), "any"),
    "rmul": (lambda v: 3 * v, lambda x: np.full_like(x, 3.0), "any"),
    "radd": (lambda v: 1.5 + v, lambda x: np.ones_like(x), "any"),
}


@pytest.mark.parametrize("name", list(UNARY_GRADS))
def test_elementwise_chain_rule(name, rng):
    fn, dfdx, domain = UNARY_GRADS[name]
    make = {"any": randn, "pos": positive, "nonzero": nonzero}[domain]
    x0 = make(rng, (3, 4))
    c = randn(rng, (3, 4))
    v = kd.Variable(x0)
    loss = (fn(v) * kd.tensor(c)).sum()
    assert_grads(grads(loss, [v]), [f64(c) * dfdx(f64(x0))])


def test_nested_chain_rule(rng):
    x0 = randn(rng, (2, 5))
    v = kd.Variable(x0)
    loss = ((v.tanh() * 2.0).exp() + v.sigmoid().log()).sum()
    x = f64(x0)
    th = np.tanh(x)
    # d/dx exp(2 tanh x) = 2 (1 - tanh^2 x) exp(2 tanh x);  d/dx log sigmoid(x) = 1 - sigmoid(x)
    expected = 2 * (1 - th**2) * np.exp(2 * th) + (1 - sigmoid_ref(x))
    assert_grads(grads(loss, [v]), [expected], rtol=1e-4, atol=1e-5)


def test_division_of_two_variables(rng):
    a0, b0 = randn(rng, (3, 2)), positive(rng, (3, 2), 0.5, 2.0)
    a, b = kd.Variable(a0), kd.Variable(b0)
    c = randn(rng, (3, 2))
    loss = (a / b * c).sum()
    assert_grads(grads(loss, [a, b]), [f64(c) / b0, -f64(c) * a0 / f64(b0) ** 2])


# --------------------------------------------------------------------------- broadcasting

BROADCAST_FORMS = {
    "v+x": (lambda v, x: v + x, lambda v, x, c: c),
    "x+v": (lambda v, x: x + v, lambda v, x, c: c),
    "v-x": (lambda v, x: v - x, lambda v, x, c: c),
    "x-v": (lambda v, x: x - v, lambda v, x, c: -c),
    "v*x": (lambda v, x: v * x, lambda v, x, c: c * x),
    "x*v": (lambda v, x: x * v, lambda v, x, c: c * x),
    "v/x": (lambda v, x: v / x, lambda v, x, c: c / x),
    "x/v": (lambda v, x: x / v, lambda v, x, c: -c * x / v**2),
}


@pytest.mark.parametrize("form", list(BROADCAST_FORMS))
@pytest.mark.parametrize(
    "v_shape, x_shape",
    [
        ((3, 1), (3, 4)),
        ((4,), (2, 3, 4)),
        ((), (3, 4)),
        ((1, 4), (3, 1)),
        ((2, 1, 4), (3, 1)),
        ((3, 4), (3, 4)),
    ],
    ids=str,
)
def test_broadcast_gradient_is_reduced_to_variable_shape(form, v_shape, x_shape, rng):
    fn, dfull = BROADCAST_FORMS[form]
    v0, x0 = nonzero(rng, v_shape, 0.5), nonzero(rng, x_shape, 0.5)
    out_shape = np.broadcast_shapes(v_shape, x_shape)
    c = randn(rng, out_shape)
    v = kd.Variable(v0)
    loss = (fn(v, kd.tensor(x0)) * kd.tensor(c)).sum()
    full = np.broadcast_to(dfull(f64(v0), f64(x0), f64(c)), out_shape)
    assert_grads(grads(loss, [v]), [sum_to_shape(full, v_shape)])


def test_broadcast_column_variable_sums_over_axis_1(rng):
    v0, x0 = randn(rng, (3, 1)), randn(rng, (3, 4))
    v = kd.Variable(v0)
    c = randn(rng, (3, 4))
    (g,) = grads(((v + kd.tensor(x0)) * kd.tensor(c)).sum(), [v])
    assert g.shape == (3, 1)
    np.testing.assert_allclose(g, f64(c).sum(axis=1, keepdims=True), **GRAD_TOL)


@pytest.mark.parametrize(
    "op", [operator.add, operator.mul, operator.sub], ids=["add", "mul", "sub"]
)
def test_numpy_operand_on_the_left_keeps_the_gradient(op, rng):
    v0, c = randn(rng, (2, 3)), randn(rng, (2, 3))
    v = kd.Variable(v0)
    loss = op(c, v).sum()  # ndarray on the left must defer to Tensor's reflected operator
    expected = {operator.add: np.ones((2, 3)), operator.mul: f64(c), operator.sub: -np.ones((2, 3))}
    assert_grads(grads(loss, [v]), [expected[op]])


# --------------------------------------------------------------------------- reductions


def _normalize_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(a % ndim for a in axes)


@pytest.mark.parametrize("name", ["sum", "mean"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2), (2, 1, 0)], ids=str)
@pytest.mark.parametrize("keepdims", [False, True], ids=["", "keepdims"])
def test_sum_and_mean_gradients(name, axis, keepdims, rng):
    shape = (2, 3, 4)
    x0 = randn(rng, shape)
    v = kd.Variable(x0)
    axes = _normalize_axes(axis, 3)
    out_shape = np.sum(x0, axis=axis, keepdims=keepdims).shape
    c = randn(rng, out_shape)
    loss = (getattr(v, name)(axis=axis, keepdims=keepdims) * kd.tensor(c)).sum()
    expanded = f64(c) if keepdims else np.expand_dims(f64(c), axes)
    expected = np.broadcast_to(expanded, shape)
    if name == "mean":
        expected = expected / np.prod([shape[a] for a in axes])
    assert_grads(grads(loss, [v]), [expected])


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2)], ids=str)
@pytest.mark.parametrize("keepdims", [False, True], ids=["", "keepdims"])
def test_max_gradient_goes_to_the_argmax(axis, keepdims, rng):
    shape = (2, 3, 4)
    x0 = (rng.permutation(24).reshape(shape) + rng.uniform(0, 0.5, shape)).astype(np.float32)
    v = kd.Variable(x0)
    out_shape = np.max(x0, axis=axis, keepdims=keepdims).shape
    c = positive(rng, out_shape, 1.0, 2.0)
    loss = (v.max(axis=axis, keepdims=keepdims) * kd.tensor(c)).sum()
    axes = _normalize_axes(axis, 3)
    mask = x0 == x0.max(axis=axis, keepdims=True)
    expanded = f64(c) if keepdims else np.expand_dims(f64(c), axes)
    assert_grads(grads(loss, [v]), [mask * expanded])


def test_mean_of_everything_is_one_over_n(rng):
    x0 = randn(rng, (4, 5))
    v = kd.Variable(x0)
    assert_grads(grads(v.mean(), [v]), [np.full((4, 5), 1 / 20)])


# --------------------------------------------------------------------------- softmax


def test_softmax_cross_entropy_gradient(rng):
    z0 = randn(rng, (4, 5), 2.0)
    onehot = np.eye(5, dtype=np.float32)[[1, 0, 4, 2]]
    z = kd.Variable(z0)
    loss = -(kd.tensor(onehot) * kd.ops.log_softmax(z)).sum()
    expected_loss = -(onehot * np.log(softmax_ref(z0))).sum()
    assert_tensor_close(loss, expected_loss, rtol=1e-5, atol=1e-5)
    assert_grads(grads(loss, [z]), [softmax_ref(z0) - onehot])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_and_log_softmax_vjp(axis, rng):
    z0, c = randn(rng, (3, 4), 2.0), f64(randn(rng, (3, 4)))
    s = softmax_ref(z0, axis)
    z = kd.Variable(z0)
    soft = (kd.ops.softmax(z, axis=axis) * kd.tensor(c)).sum()
    logsoft = (kd.ops.log_softmax(z, axis=axis) * kd.tensor(c)).sum()
    # Jacobian-vector products: s * (c - <s, c>) and c - s * sum(c).
    expected_soft = s * (c - (s * c).sum(axis=axis, keepdims=True))
    expected_log = c - s * c.sum(axis=axis, keepdims=True)
    assert_grads(grads(soft, [z]), [expected_soft])
    assert_grads(grads(logsoft, [z]), [expected_log])


def test_log_softmax_gradient_is_finite_for_large_logits():
    z0 = np.array([[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 1000.0]], dtype=np.float32)
    onehot = np.array([[1, 0, 0], [1, 0, 0]], dtype=np.float32)
    z = kd.Variable(z0)
    loss = -(kd.tensor(onehot) * kd.ops.log_softmax(z)).sum()
    (g,) = grads(loss, [z])
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, softmax_ref(z0) - onehot, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- structural ops


@pytest.mark.parametrize("key", INDEX_KEYS, ids=key_id)
def test_indexing_gradient_scatters_back(key, rng):
    shape = (4, 5, 6)
    x0 = randn(rng, shape)
    c = randn(rng, np.shape(x0[key]))
    v = kd.Variable(x0)
    loss = (v[key] * kd.tensor(c)).sum()
    expected = np.zeros(shape)
    expected[key] = c
    assert_grads(grads(loss, [v]), [expected])


def test_overlapping_slices_accumulate(rng):
    x0 = randn(rng, (3, 4))
    v = kd.Variable(x0)
    loss = v[0].sum() + v[0:2].sum() + (v[:, -1] * 3.0).sum()
    expected = np.zeros((3, 4))
    expected[0] += 1
    expected[0:2] += 1
    expected[:, -1] += 3
    assert_grads(grads(loss, [v]), [expected])


@pytest.mark.parametrize(
    "kd_fn, np_fn",
    [
        (lambda t: t.reshape((6, 4)), lambda a: a.reshape(6, 4)),
        (lambda t: t.reshape((-1,)), lambda a: a.reshape(-1)),
        (lambda t: t.reshape((4, -1, 2)), lambda a: a.reshape(4, -1, 2)),
        (lambda t: t.transpose(), lambda a: a.transpose()),
        (lambda t: t.T, lambda a: a.T),
        (lambda t: t.transpose((1, 0, 2)), lambda a: a.transpose(1, 0, 2)),
        (lambda t: t.transpose((2, 0, 1)), lambda a: a.transpose(2, 0, 1)),
        (
            lambda t: t.transpose((1, 2, 0)).reshape((3, 8)),
            lambda a: a.transpose(1, 2, 0).reshape(3, 8),
        ),
        (lambda t: t[:, ::2].transpose(), lambda a: a[:, ::2].transpose()),
    ],
    ids=[
        "reshape",
        "flatten",
        "reshape3",
        "transpose",
        "T",
        "perm102",
        "perm201",
        "perm+reshape",
        "slice+T",
    ],
)
def test_shape_op_gradients(kd_fn, np_fn, rng):
    shape = (2, 3, 4)
    x0 = randn(rng, shape)
    c = randn(rng, np_fn(x0).shape)
    v = kd.Variable(x0)
    loss = (kd_fn(v) * kd.tensor(c)).sum()
    assert_grads(grads(loss, [v]), [linear_adjoint(np_fn, shape, f64(c))])


@pytest.mark.parametrize(
    "shape_a, shape_b, axis",
    [((2, 3), (4, 3), 0), ((2, 3), (2, 5), 1), ((2, 3), (2, 5), -1), ((2, 1, 3), (2, 2, 3), 1)],
    ids=str,
)
def test_concatenate_gradient_splits(shape_a, shape_b, axis, rng):
    a0, b0 = randn(rng, shape_a), randn(rng, shape_b)
    a, b = kd.Variable(a0), kd.Variable(b0)
    joined = np.concatenate([a0, b0], axis=axis)
    c = f64(randn(rng, joined.shape))
    loss = (kd.ops.concatenate([a, b], axis=axis) * kd.tensor(c)).sum()
    ga, gb = np.split(c, [shape_a[axis]], axis=axis)
    assert_grads(grads(loss, [a, b]), [ga, gb])


def test_concatenate_variable_with_itself(rng):
    x0 = randn(rng, (2, 3))
    c = f64(randn(rng, (4, 3)))
    v = kd.Variable(x0)
    loss = (kd.ops.concatenate([v, v], axis=0) * kd.tensor(c)).sum()
    assert_grads(grads(loss, [v]), [c[:2] + c[2:]])


@pytest.mark.parametrize(
    "shape_a, shape_b",
    [
        ((3, 4), (4, 5)),
        ((2, 3, 4), (4, 5)),
        ((2, 3, 4), (2, 4, 5)),
        ((2, 1, 3, 4), (1, 5, 4, 6)),
        ((4, 5), (2, 5, 3)),
    ],
    ids=str,
)
def test_matmul_gradients(shape_a, shape_b, rng):
    a0, b0 = randn(rng, shape_a), randn(rng, shape_b)
    out = np.matmul(f64(a0), f64(b0))
    c = f64(randn(rng, out.shape))
    a, b = kd.Variable(a0), kd.Variable(b0)
    loss = ((a @ b) * kd.tensor(c)).sum()
    ga = sum_to_shape(np.matmul(c, np.swapaxes(f64(b0), -1, -2)), shape_a)
    gb = sum_to_shape(np.matmul(np.swapaxes(f64(a0), -1, -2), c), shape_b)
    assert_grads(grads(loss, [a, b]), [ga, gb])
    # The functional form records the same graph.
    loss2 = (kd.ops.matmul(a, b) * kd.tensor(c)).sum()
    assert_grads(grads(loss2, [a, b]), [ga, gb])


# --------------------------------------------------------------------------- contract


def test_unused_variable_gets_zeros(rng):
    x0 = randn(rng, (3,))
    used, unused = kd.Variable(x0), kd.Variable(np.ones((3, 2), dtype=np.float32))
    g_used, g_unused = grads((used * 2.0).sum(), [used, unused])
    np.testing.assert_allclose(g_used, np.full(3, 2.0))
    np.testing.assert_array_equal(g_unused, np.zeros((3, 2)))


def test_non_scalar_loss_raises_gradient_error(rng):
    v = kd.Variable(randn(rng, (3, 4)))
    with pytest.raises(kd.errors.GradientError) as info:
        kd.grad(v * 2.0, [v])
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, kd.errors.KandleError)
    assert "(3, 4)" in str(info.value)


def test_variable_is_a_tensor_with_attributes(rng):
    x0 = randn(rng, (2, 3))
    v = kd.Variable(x0, name="kernel")
    assert isinstance(v, kd.Tensor)
    assert v.name == "kernel"
    assert v.trainable is True
    assert v.shape == (2, 3) and v.dtype == "float32"
    np.testing.assert_array_equal(v.numpy(), x0)
    frozen = kd.Variable(x0, trainable=False)
    assert frozen.trainable is False
    # Arithmetic on a Variable gives a plain Tensor.
    assert isinstance(v * 2.0, kd.Tensor)


def test_variable_copies_initial_value(rng):
    x0 = randn(rng, (2, 3))
    saved = x0.copy()
    v = kd.Variable(x0)
    x0[...] = 0.0
    np.testing.assert_array_equal(v.numpy(), saved)


def test_scalar_variable(rng):
    v = kd.Variable(1.5)
    assert v.shape == ()
    (g,) = grads((v * v * kd.tensor([1.0, 2.0, 3.0])).sum(), [v])
    np.testing.assert_allclose(g, 2 * 1.5 * 6.0, rtol=1e-6)


@pytest.mark.parametrize("kind", ["ndarray", "list", "tensor"])
def test_assign_updates_in_place_and_later_gradients_use_new_value(kind, rng):
    x0, x1 = randn(rng, (2, 3)), randn(rng, (2, 3))
    v = kd.Variable(x0)
    new = {"ndarray": x1.copy(), "list": x1.tolist(), "tensor": kd.tensor(x1)}[kind]
    v.assign(new)
    np.testing.assert_array_equal(v.numpy(), x1)
    if kind == "ndarray":
        new[...] = 0.0  # the variable holds its own copy
        np.testing.assert_array_equal(v.numpy(), x1)
    assert_grads(grads((v * v).sum(), [v]), [2 * f64(x1)])


# --------------------------------------------------------------------------- no_grad


def test_loss_computed_inside_no_grad_has_no_gradient_path(rng):
    x0 = randn(rng, (3, 2))
    v = kd.Variable(x0)
    with kd.no_grad():
        loss = (v * v).sum()
    # The forward value is still computed.
    assert_tensor_close(loss, (f64(x0) ** 2).sum(), atol=1e-5)
    assert_grads(grads(loss, [v]), [np.zeros((3, 2))], rtol=0, atol=0)


def test_value_from_no_grad_acts_as_a_constant(rng):
    x0 = randn(rng, (3, 2))
    v = kd.Variable(x0)
    with kd.no_grad():
        d = v * 2.0
    loss = (v * d).sum()  # d is a constant: the gradient is d = 2x, not 4x
    assert_grads(grads(loss, [v]), [2 * f64(x0)])


def test_nested_no_grad_and_recording_resumes(rng):
    x0 = randn(rng, (4,))
    v = kd.Variable(x0)
    with kd.no_grad():
        with kd.no_grad():
            pass
        inner = (v * v).sum()  # still inside the outer block
    assert_grads(grads(inner, [v]), [np.zeros(4)], rtol=0, atol=0)
    with pytest.raises(RuntimeError):
        with kd.no_grad():
            raise RuntimeError("boom")
    assert_grads(grads((v * v).sum(), [v]), [2 * f64(x0)])
