"""The ``keras.ops`` functions kandle composes from its engine's ops (std, norm, einsum,
sort, pad, ...): values against numpy (float64) and against the real ``keras.ops`` where
Keras's semantics are its own; gradients of the differentiable ones against central
differences of the numpy reference; zero gradients where Keras's is zero; bad input."""

import math

import numpy as np
import pytest

import kandle as kd
from helpers import f64, numeric_grad
from kandle.errors import InvalidArgumentError

keras = pytest.importorskip("keras")

RNG = np.random.default_rng(7)
A = RNG.standard_normal((3, 4)).astype(np.float32)
B = RNG.standard_normal((4, 5)).astype(np.float32)
C = RNG.standard_normal((2, 3, 4)).astype(np.float32)
P = RNG.uniform(0.2, 2.0, (3, 4)).astype(np.float32)
W = RNG.uniform(0.5, 1.5, (3, 4)).astype(np.float32)


def check_gradients(op, reference, *arrays, rtol=1e-3, atol=1e-4):
    """kd.grad of ``sum(op(*vars))`` against central differences of ``reference``."""
    variables = [kd.Variable(a) for a in arrays]
    got = kd.grad(kd.ops.sum(op(*variables)), variables)
    for k, (g, a) in enumerate(zip(got, arrays, strict=True)):

        def one(v, k=k):
            args = [f64(x) for x in arrays]
            args[k] = v
            return reference(*args)

        np.testing.assert_allclose(g.numpy(), numeric_grad(one, a, eps=1e-6), rtol=rtol, atol=atol)


def softmax64(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def cce_ref(t, o, from_logits):
    if from_logits:
        log_p = np.log(softmax64(o))
    else:
        log_p = np.log(np.clip(o / o.sum(-1, keepdims=True), 1e-7, 1 - 1e-7))
    return -(t * log_p).sum(-1)


def gelu_tanh_ref(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def lse_ref(x, axis=None):
    m = x.max(axis=axis, keepdims=True)
    return np.squeeze(m, axis) + np.log(np.exp(x - m).sum(axis=axis))


def top2_ref(x):
    return -np.sort(-x, axis=-1)[..., :2]


# (name, kandle function of the operands, float64 numpy reference, operands)
DIFFERENTIABLE = [
    ("var", lambda x: kd.ops.var(x, axis=1), lambda x: np.var(x, axis=1), [A]),
    ("var_keepdims", lambda x: kd.ops.var(x, 0, True), lambda x: np.var(x, 0, keepdims=True), [A]),
    ("std", lambda x: kd.ops.std(x), np.std, [A]),
    ("std_axes", lambda x: kd.ops.std(x, axis=(0, 2)), lambda x: np.std(x, axis=(0, 2)), [C]),
    ("moments_mean", lambda x: kd.ops.moments(x, [0])[0], lambda x: x.mean(0), [A]),
    ("moments_var", lambda x: kd.ops.moments(x, [0, 1])[1], lambda x: x.var((0, 1)), [C]),
    ("average", lambda x, w: kd.ops.average(x, 1, w), lambda x, w: np.average(x, 1, w), [A, W]),
    (
        "average_1d_weights",
        lambda x, w: kd.ops.average(x, axis=0, weights=w),
        lambda x, w: np.average(x, axis=0, weights=w),
        [A, W[:, 0]],
    ),
    ("norm", lambda x: kd.ops.norm(x), np.linalg.norm, [C]),
    ("norm_l1", lambda x: kd.ops.norm(x, 1, axis=1), lambda x: np.linalg.norm(x, 1, 1), [A]),
    ("norm_l3", lambda x: kd.ops.norm(x, 3, axis=0), lambda x: np.linalg.norm(x, 3, 0), [A]),
    (
        "norm_inf",
        lambda x: kd.ops.norm(x, np.inf, -1),
        lambda x: np.linalg.norm(x, np.inf, -1),
        [A],
    ),
    (
        "norm_-inf",
        lambda x: kd.ops.norm(x, -np.inf, 0),
        lambda x: np.linalg.norm(x, -np.inf, 0),
        [A],
    ),
    ("norm_mat_1", lambda x: kd.ops.norm(x, 1), lambda x: np.linalg.norm(x, 1), [A]),
    ("norm_mat_inf", lambda x: kd.ops.norm(x, np.inf), lambda x: np.linalg.norm(x, np.inf), [A]),
    ("norm_mat_-1", lambda x: kd.ops.norm(x, -1), lambda x: np.linalg.norm(x, -1), [A]),
    (
        "norm_fro_axes",
        lambda x: kd.ops.norm(x, "fro", axis=(2, 0), keepdims=True),
        lambda x: np.linalg.norm(x, "fro", axis=(2, 0), keepdims=True),
        [C],
    ),
    ("logsumexp", lambda x: kd.ops.logsumexp(x), lse_ref, [A]),
    ("logsumexp_axis", lambda x: kd.ops.logsumexp(x, 1), lambda x: lse_ref(x, 1), [A]),
    ("logsumexp_big", lambda x: kd.ops.logsumexp(x, 0), lambda x: lse_ref(x, 0), [A * 300]),
    ("sin", kd.ops.sin, np.sin, [A * 4]),
    ("cos", kd.ops.cos, np.cos, [A * 4]),
    ("rsqrt", kd.ops.rsqrt, lambda x: 1 / np.sqrt(x), [P]),
    ("log1p", kd.ops.log1p, np.log1p, [P - 0.19]),
    ("expm1", kd.ops.expm1, np.expm1, [A]),
    ("softplus", kd.ops.softplus, lambda x: np.logaddexp(x, 0), [A]),
    ("silu", kd.ops.silu, lambda x: x / (1 + np.exp(-x)), [A]),
    ("gelu", kd.ops.gelu, gelu_tanh_ref, [A]),
    ("elu", lambda x: kd.ops.elu(x, 0.7), lambda x: np.where(x > 0, x, 0.7 * np.expm1(x)), [A]),
    ("leaky_relu", kd.ops.leaky_relu, lambda x: np.where(x >= 0, x, 0.2 * x), [A]),
    (
        "cce",
        lambda t, o: kd.ops.categorical_crossentropy(t, o),
        lambda t, o: cce_ref(t, o, False),
        [W, P],
    ),
    (
        "cce_logits",
        lambda t, o: kd.ops.categorical_crossentropy(t, o, from_logits=True),
        lambda t, o: cce_ref(t, o, True),
        [W, A],
    ),
    ("mod", kd.ops.mod, np.mod, [A * 3, P]),
    ("mod_negative_divisor", kd.ops.mod, np.mod, [A * 3, -P]),
    ("cumsum", lambda x: kd.ops.cumsum(x, axis=1), lambda x: np.cumsum(x, 1), [C]),
    ("cumsum_flat", kd.ops.cumsum, np.cumsum, [C]),
    ("prod", lambda x: kd.ops.prod(x, axis=1), lambda x: np.prod(x, 1), [A]),
    (
        "prod_axes",
        lambda x: kd.ops.prod(x, (0, 2), True),
        lambda x: np.prod(x, (0, 2), keepdims=True),
        [C],
    ),
    ("tile", lambda x: kd.ops.tile(x, (2, 1, 3)), lambda x: np.tile(x, (2, 1, 3)), [A]),
    ("repeat", lambda x: kd.ops.repeat(x, 2, axis=1), lambda x: np.repeat(x, 2, 1), [A]),
    (
        "repeat_counts",
        lambda x: kd.ops.repeat(x, [0, 2, 1]),
        lambda x: np.repeat(x, [0, 2, 1]),
        [A[0, :3]],
    ),
    ("repeat_flat", lambda x: kd.ops.repeat(x, 2), lambda x: np.repeat(x, 2), [A]),
    (
        "broadcast_to",
        lambda x: kd.ops.broadcast_to(x, (2, 3, 4)),
        lambda x: np.broadcast_to(x, (2, 3, 4)),
        [A[:1]],
    ),
    ("flip", lambda x: kd.ops.flip(x, 1), lambda x: np.flip(x, 1), [C]),
    ("flip_all", kd.ops.flip, np.flip, [C]),
    ("slice", lambda x: kd.ops.slice(x, (1, 0, 2), (1, -1, 2)), lambda x: x[1:2, 0:, 2:4], [C]),
    ("split", lambda x: kd.ops.split(x, 2, axis=-1)[1], lambda x: np.split(x, 2, -1)[1], [A]),
    ("split_at", lambda x: kd.ops.split(x, [1, 3], 1)[1], lambda x: np.split(x, [1, 3], 1)[1], [A]),
    ("pad", lambda x: kd.ops.pad(x, ((1, 0), (2, 1))), lambda x: np.pad(x, ((1, 0), (2, 1))), [A]),
    ("pad_reflect", lambda x: kd.ops.pad(x, 2, "reflect"), lambda x: np.pad(x, 2, "reflect"), [A]),
    (
        "pad_symmetric",
        lambda x: kd.ops.pad(x, (1, 2), "symmetric"),
        lambda x: np.pad(x, (1, 2), "symmetric"),
        [A],
    ),
    ("pad_edge", lambda x: kd.ops.pad(x, 1, "edge"), lambda x: np.pad(x, 1, "edge"), [A]),
    ("pad_wrap", lambda x: kd.ops.pad(x, 3, "wrap"), lambda x: np.pad(x, 3, "wrap"), [A]),
    ("sort", kd.ops.sort, np.sort, [C]),
    ("sort_axis0", lambda x: kd.ops.sort(x, 0), lambda x: np.sort(x, 0), [A]),
    ("top_k_values", lambda x: kd.ops.top_k(x, 2)[0], top2_ref, [C]),
    ("dot_vectors", kd.ops.dot, np.dot, [A[0], B[:, 0]]),
    ("dot_matrices", kd.ops.dot, np.dot, [A, B]),
    ("dot_nd", kd.ops.dot, np.dot, [C, RNG.standard_normal((2, 4, 3)).astype(np.float32)]),
    ("dot_scalar", kd.ops.dot, np.dot, [np.float32(1.5), A]),
    ("dot_matrix_vector", kd.ops.dot, np.dot, [C, B[:, 0]]),
    (
        "einsum_matmul",
        lambda a, b: kd.ops.einsum("ij,jk->ik", a, b),
        lambda a, b: np.einsum("ij,jk->ik", a, b),
        [A, B],
    ),
    (
        "einsum_implicit",
        lambda a, b: kd.ops.einsum("ij,kj", a, b),
        lambda a, b: np.einsum("ij,kj", a, b),
        [A, B.T],
    ),
    (
        "einsum_batch",
        lambda c: kd.ops.einsum("bij,bkj->bik", c, c),
        lambda c: np.einsum("bij,bkj->bik", c, c),
        [C],
    ),
    (
        "einsum_ellipsis",
        lambda c, b: kd.ops.einsum("...j,jk->...k", c, b),
        lambda c, b: np.einsum("...j,jk->...k", c, b),
        [C, B],
    ),
    (
        "einsum_trace",
        lambda a: kd.ops.einsum("ii->", a),
        lambda a: np.einsum("ii->", a),
        [B[:4, :4]],
    ),
    (
        "einsum_diagonal",
        lambda c: kd.ops.einsum("aia->ai", c),
        lambda c: np.einsum("aia->ai", c),
        [RNG.standard_normal((3, 2, 3)).astype(np.float32)],
    ),
    ("einsum_outer_sum", lambda a: kd.ops.einsum("ij->j", a), lambda a: np.einsum("ij->j", a), [A]),
    ("nan_to_num_finite", kd.ops.nan_to_num, np.nan_to_num, [A]),
    (
        "linspace_tensors",
        lambda s, e: kd.ops.linspace(s, e, 5, axis=1),
        lambda s, e: np.linspace(s, e, 5, axis=1),
        [A[0], B[0, :4]],
    ),
    (
        "linspace_no_endpoint",
        lambda s, e: kd.ops.linspace(s, e, 4, endpoint=False),
        lambda s, e: np.linspace(s, e, 4, endpoint=False),
        [A[0], B[0, :4]],
    ),
]


@pytest.mark.parametrize(
    ("name", "op", "reference", "arrays"), DIFFERENTIABLE, ids=[c[0] for c in DIFFERENTIABLE]
)
def test_values_match_numpy(name, op, reference, arrays):
    got = op(*arrays)
    assert isinstance(got, kd.Tensor)
    expected = reference(*[f64(a) for a in arrays])
    assert got.shape == np.shape(expected)
    np.testing.assert_allclose(got.numpy(), expected, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize(
    ("name", "op", "reference", "arrays"), DIFFERENTIABLE, ids=[c[0] for c in DIFFERENTIABLE]
)
def test_gradients_match_central_differences(name, op, reference, arrays):
    check_gradients(op, reference, *arrays)


def test_prod_gradient_at_zeros_is_exact():
    x = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0]], np.float32)
    v = kd.Variable(x)
    (g,) = kd.grad(kd.ops.sum(kd.ops.prod(v, axis=1)), [v])
    # d/dx_i prod(x) = prod of the others: 6 at the single zero, 0 where two are zero.
    np.testing.assert_array_equal(g.numpy(), [[0.0, 6.0, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(kd.ops.prod(np.zeros((2, 0))).numpy(), 1.0)


def test_log1p_and_expm1_are_accurate_for_tiny_inputs():
    x = np.array([1e-12, -3e-9, 2e-6, 1e-3, 0.5, -0.5, 5.0, 0.0], np.float32)
    np.testing.assert_allclose(kd.ops.log1p(x).numpy(), np.log1p(f64(x)), rtol=3e-7)
    np.testing.assert_allclose(kd.ops.expm1(x).numpy(), np.expm1(f64(x)), rtol=3e-7)
    assert kd.ops.log1p(-1.0).numpy() == -np.inf
    assert kd.ops.log1p(np.inf).numpy() == np.inf
    assert kd.ops.expm1(np.inf).numpy() == np.inf and kd.ops.expm1(-np.inf).numpy() == -1.0
    v = kd.Variable(x[:4])
    (g,) = kd.grad(kd.ops.sum(kd.ops.log1p(v)), [v])
    np.testing.assert_allclose(g.numpy(), 1 / (1 + f64(x[:4])), rtol=1e-6)
    (g,) = kd.grad(kd.ops.sum(kd.ops.expm1(v)), [v])
    np.testing.assert_allclose(g.numpy(), np.exp(f64(x[:4])), rtol=1e-6)


def test_logsumexp_of_infinities():
    x = np.array([[-np.inf, -np.inf], [np.inf, 1.0], [1000.0, 1000.0]], np.float32)
    got = kd.ops.logsumexp(x, axis=1).numpy()
    np.testing.assert_allclose(got, [-np.inf, np.inf, 1000 + np.log(2)], rtol=1e-7)


def test_cumsum_and_prod_keep_infinities_and_nans_where_numpy_does():
    x = np.array([1.0, np.inf, 2.0, np.nan, 3.0], np.float32)
    np.testing.assert_array_equal(kd.ops.cumsum(x).numpy(), np.cumsum(x))
    np.testing.assert_array_equal(kd.ops.prod(x[:3]).numpy(), np.prod(x[:3]))


def test_stop_gradient_cuts_the_graph():
    v = kd.Variable(A)
    (g,) = kd.grad(kd.ops.sum(kd.ops.stop_gradient(v) * v), [v])
    np.testing.assert_array_equal(g.numpy(), A)
    np.testing.assert_array_equal(kd.ops.stop_gradient(v).numpy(), A)


ZERO_GRADIENT = [
    ("floor", kd.ops.floor),
    ("round", kd.ops.round),
    ("sign", kd.ops.sign),
    ("argmin", lambda x: kd.ops.argmin(x, axis=1)),
    ("one_hot", lambda x: kd.ops.one_hot(kd.ops.floor(x * 0), 3)),
    ("isnan", kd.ops.isnan),
    ("any", kd.ops.any),
    ("eye", lambda x: kd.ops.eye(3) * 1.0),
]


@pytest.mark.parametrize(("name", "op"), ZERO_GRADIENT, ids=[c[0] for c in ZERO_GRADIENT])
def test_ops_whose_keras_gradient_is_zero(name, op):
    import jax

    v = kd.Variable(A)
    (g,) = kd.grad(kd.ops.sum(op(v) * 2.0), [v])
    np.testing.assert_array_equal(g.numpy(), np.zeros_like(A))
    # Keras's (JAX's) gradient is zero too.
    if name in ("floor", "round", "sign"):
        fn = getattr(keras.ops, name)
        jax_grad = jax.grad(lambda x: keras.ops.sum(fn(x)))(A)
        np.testing.assert_array_equal(np.asarray(jax_grad), np.zeros_like(A))


# Values against the real keras.ops, for behaviour that is Keras's own.
X_INT = np.array([[0, 2, -1], [3, 1, 1]], np.int32)
T = np.array([[1.0, 5.0, 5.0, -2.0], [7.0, 7.0, 7.0, 0.0], [np.nan, 1.0, 3.0, 2.0]], np.float32)
KERAS = [
    ("one_hot", lambda ops: ops.one_hot(X_INT, 3)),
    ("one_hot_axis0", lambda ops: ops.one_hot(X_INT, 4, axis=0)),
    ("round", lambda ops: ops.round(np.array([0.5, 1.5, 2.5, -0.5, -1.5, 1.26], np.float32))),
    ("round_decimals", lambda ops: ops.round(np.array([1.25, 1.35, -2.451], np.float32), 1)),
    ("floor", lambda ops: ops.floor(A * 3)),
    ("sign", lambda ops: ops.sign(np.array([-2.0, 0.0, 3.0, np.nan], np.float32))),
    (
        "mod",
        lambda ops: ops.mod(
            np.array([5.0, -5.0, 5.0, -5.5], np.float32),
            np.array([3.0, 3.0, -3.0, 2.0], np.float32),
        ),
    ),
    (
        "argmin",
        lambda ops: ops.argmin(np.array([[1.0, 0.0, 0.0], [3.0, 4.0, -1.0]], np.float32), axis=1),
    ),
    ("argmin_flat", lambda ops: ops.argmin(A)),
    ("argmin_keepdims", lambda ops: ops.argmin(A, axis=0, keepdims=True)),
    ("any", lambda ops: ops.any(X_INT, axis=0)),
    ("all", lambda ops: ops.all(X_INT, axis=1, keepdims=True)),
    ("all_flat", lambda ops: ops.all(X_INT)),
    ("logical_and", lambda ops: ops.logical_and(X_INT, np.array([1.0, 0.0, 1.0], np.float32))),
    ("isnan", lambda ops: ops.isnan(T)),
    (
        "nan_to_num",
        lambda ops: ops.nan_to_num(np.array([np.nan, np.inf, -np.inf, 1.0], np.float32)),
    ),
    (
        "nan_to_num_values",
        lambda ops: ops.nan_to_num(np.array([np.nan, np.inf, -np.inf], np.float32), 1.0, 2.0, -3.0),
    ),
    ("eye", lambda ops: ops.eye(3, 4, k=1)),
    ("eye_square", lambda ops: ops.eye(2)),
    ("linspace", lambda ops: ops.linspace(0.1, 0.7, 7)),
    ("linspace_no_endpoint", lambda ops: ops.linspace(-1.0, 2.0, 4, endpoint=False)),
    ("linspace_retstep", lambda ops: ops.linspace(0.0, 1.0, 5, retstep=True)[1]),
    ("sort_nan", lambda ops: ops.sort(T)),
    ("top_k_values", lambda ops: ops.top_k(T[:2], 3)[0]),
    ("top_k_indices_ties", lambda ops: ops.top_k(T[:2], 3)[1]),
    ("top_k_nan", lambda ops: ops.top_k(T, 2)[1]),
    ("gelu_default", lambda ops: ops.gelu(A)),
    ("gelu_exact", lambda ops: ops.gelu(A, approximate=False)),
    ("cce", lambda ops: ops.categorical_crossentropy(W, P)),
    ("cce_axis0", lambda ops: ops.categorical_crossentropy(W, A, from_logits=True, axis=0)),
    ("slice", lambda ops: ops.slice(C, (1, 1, 0), (1, 2, -1))),
    ("norm_vector_2d_axis", lambda ops: ops.norm(A, axis=1, keepdims=True)),
    ("norm_zero", lambda ops: ops.norm(np.array([0.0, 2.0, -1.0], np.float32), 0)),
    ("average_none", lambda ops: ops.average(A)),
    ("moments_keepdims", lambda ops: ops.moments(C, [1], keepdims=True)[1]),
    ("einsum", lambda ops: ops.einsum("bij,jk->bik", C, B)),
    ("dot_nd", lambda ops: ops.dot(C, np.ones((2, 4, 3), np.float32))),
    ("pad_constant", lambda ops: ops.pad(A, ((0, 1), (2, 0)), constant_values=5.0)),
    ("tile_more_axes", lambda ops: ops.tile(A[0], (2, 2))),
    ("repeat", lambda ops: ops.repeat(A, 2)),
    ("broadcast_to", lambda ops: ops.broadcast_to(A[0], (2, 4))),
    ("flip", lambda ops: ops.flip(C, (0, 2))),
    ("cumsum", lambda ops: ops.cumsum(C, axis=-1)),
    ("prod", lambda ops: ops.prod(C)),
]


@pytest.mark.parametrize(("name", "call"), KERAS, ids=[c[0] for c in KERAS])
def test_values_match_keras(name, call):
    expected = keras.ops.convert_to_numpy(call(keras.ops))
    got = call(kd.ops)
    assert isinstance(got, kd.Tensor)
    got = got.numpy()
    assert got.shape == expected.shape
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected.astype(np.float64), rtol=1e-5, atol=1e-6)


def test_shape_is_a_tuple_of_ints_as_keras():
    for x in (C, kd.tensor(C), [[1.0, 2.0]], 3.0):
        assert kd.ops.shape(x) == tuple(keras.ops.shape(np.asarray(x)))
    assert kd.ops.shape(kd.Input((3,))) == keras.ops.shape(keras.Input((3,))) == (None, 3)


def test_split_and_top_k_match_keras():
    for kd_part, k_part in zip(
        kd.ops.split(C, [1, 3], axis=2), keras.ops.split(C, [1, 3], axis=2), strict=True
    ):
        np.testing.assert_array_equal(kd_part.numpy(), np.asarray(k_part))
    values, indices = kd.ops.top_k(C, 4)
    k_values, k_indices = keras.ops.top_k(C, 4)
    np.testing.assert_array_equal(values.numpy(), np.asarray(k_values))
    np.testing.assert_array_equal(indices.numpy(), np.asarray(k_indices))


def test_nan_to_num_gradient_passes_only_where_finite():
    x = np.array([np.nan, 2.0, np.inf, -np.inf, -1.0], np.float32)
    v = kd.Variable(x)
    (g,) = kd.grad(kd.ops.sum(kd.ops.nan_to_num(v) * 3.0), [v])
    np.testing.assert_array_equal(g.numpy(), [0.0, 3.0, 0.0, 0.0, 3.0])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: kd.ops.top_k(A, 5), r"k an int in \[0, 4\].*k=5"),
        (lambda: kd.ops.split(A, 3, axis=1), "equal division"),
        (lambda: kd.ops.broadcast_to(A, (4, 4)), r"cannot broadcast x of shape \(3, 4\)"),
        (lambda: kd.ops.slice(A, (2, 0), (2, 4)), "does not fit"),
        (lambda: kd.ops.slice(A, (0,), (2,)), "length 2"),
        (lambda: kd.ops.categorical_crossentropy(A, A[:2]), "must have the same shape"),
        (lambda: kd.ops.norm(A, "nuc"), "SVD"),
        (lambda: kd.ops.norm(A, "fro", axis=0), "invalid norm order"),
        (lambda: kd.ops.norm(C, 1), "1-D or 2-D"),
        (lambda: kd.ops.einsum("ij,jk->ik", A), "2 operands, got 1"),
        (lambda: kd.ops.einsum("ij,jk->ik", A, A), "sizes 4 and 3"),
        (lambda: kd.ops.one_hot([0.5], 3), "whole-number"),
        (lambda: kd.ops.pad(A, -1), "widths >= 0"),
        (lambda: kd.ops.pad(A, 1, mode="median"), "mode="),
        (lambda: kd.ops.pad(A, 1, mode="edge", constant_values=2), "constant_values"),
        (lambda: kd.ops.dot(A, A), r"not aligned: 4 \(x1's last axis\) != 3"),
        (lambda: kd.ops.average(A, weights=W[0]), "axis must be specified"),
        (lambda: kd.ops.average(A, axis=1, weights=W[:, 0]), "1-D of length"),
        (lambda: kd.ops.cumsum(A, axis=2), "axis"),
        (lambda: kd.ops.repeat(A, [1, 2], axis=1), "4 counts"),
        (lambda: kd.ops.eye(2.5), "N an int"),
        (lambda: kd.ops.linspace(0.0, 1.0, -1), "num an int >= 0"),
        (lambda: kd.ops.moments(A, [0, 0]), "each axis once"),
    ],
)
def test_bad_input_is_refused_with_the_argument_named(call, match):
    with pytest.raises(InvalidArgumentError, match=match):
        call()
