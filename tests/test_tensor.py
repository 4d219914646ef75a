"""Tensor creation and forward ops, checked against numpy."""

import operator
import os
import subprocess
import sys

import numpy as np
import pytest

import kandle as kd
from helpers import (
    INDEX_KEYS,
    assert_tensor_close,
    f64,
    key_id,
    log_softmax_ref,
    positive,
    randn,
    sigmoid_ref,
    softmax_ref,
)

# --------------------------------------------------------------------------- creation


@pytest.mark.parametrize(
    "data",
    [
        np.arange(6, dtype=np.float32).reshape(2, 3),
        np.array([[0.1, -2.5], [3e-8, 1e30]]),
        [[1.0, 2.0], [3.0, 4.0]],
        [1, 2, 3],
        [[1, 2.5], [-3, 4.25]],
        [[[1.5]], [[-2.5]]],
        3.5,
        7,
        -0.25,
        np.array(2.0),
    ],
    ids=lambda d: type(d).__name__ + str(np.shape(d)),
)
def test_tensor_from_data(data):
    expected = np.asarray(data, dtype=np.float32)
    t = kd.tensor(data)
    assert isinstance(t, kd.Tensor)
    assert t.shape == expected.shape
    assert isinstance(t.shape, tuple) and all(type(d) is int for d in t.shape)
    assert t.ndim == expected.ndim
    assert t.dtype == "float32"
    out = t.numpy()
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    np.testing.assert_array_equal(out, expected)


def test_len_is_first_dimension():
    assert len(kd.tensor(np.zeros((4, 2, 3)))) == 4
    assert len(kd.tensor([1.0, 2.0])) == 2


def test_empty_tensor():
    t = kd.tensor(np.zeros((0, 3)))
    assert t.shape == (0, 3)
    assert t.numpy().shape == (0, 3)


def test_tensor_copies_its_source():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = kd.tensor(a)
    a[...] = -7.0
    np.testing.assert_array_equal(t.numpy(), np.arange(6).reshape(2, 3))


def test_numpy_returns_an_independent_copy():
    t = kd.tensor([[1.0, 2.0], [3.0, 4.0]])
    out = t.numpy()
    out[...] = 99.0
    np.testing.assert_array_equal(t.numpy(), [[1.0, 2.0], [3.0, 4.0]])
    assert t.numpy() is not t.numpy()


def test_array_protocol():
    data = np.array([[1.5, -2.0, 3.25]], dtype=np.float32)
    t = kd.tensor(data)
    arr = np.asarray(t)
    assert isinstance(arr, np.ndarray) and arr.dtype == np.float32
    np.testing.assert_array_equal(arr, data)
    as64 = np.array(t, dtype=np.float64)
    assert as64.dtype == np.float64
    np.testing.assert_array_equal(as64, data.astype(np.float64))


def test_float64_input_is_rounded_to_float32():
    t = kd.tensor(np.array([0.1, 1 / 3], dtype=np.float64))
    np.testing.assert_array_equal(t.numpy(), np.array([0.1, 1 / 3], dtype=np.float32))


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda: kd.ops.zeros((2, 3)), np.zeros((2, 3))),
        (lambda: kd.ops.ones((4,)), np.ones(4)),
        (lambda: kd.ops.ones((2, 1, 3)), np.ones((2, 1, 3))),
        (lambda: kd.ops.full((2, 2), 3.5), np.full((2, 2), 3.5)),
        (lambda: kd.ops.full((3,), -1), np.full(3, -1.0)),
        (lambda: kd.ops.arange(5), np.arange(5)),
    ],
    ids=["zeros", "ones1d", "ones3d", "full", "full_int", "arange"],
)
def test_creation_ops(make, expected):
    assert_tensor_close(make(), expected.astype(np.float32), rtol=0, atol=0)


# --------------------------------------------------------------------------- binary ops

BINARY_OPS = [operator.add, operator.sub, operator.mul, operator.truediv]
BINARY_IDS = ["add", "sub", "mul", "div"]

BROADCAST_PAIRS = [
    ((3, 4), (3, 4)),
    ((3, 1), (1, 4)),
    ((2, 3, 4), (4,)),
    ((4,), (2, 3, 4)),
    ((2, 3, 4), ()),
    ((), (3,)),
    ((2, 1, 4), (3, 1)),
    ((1,), (2, 2)),
]


def _operand(rng, shape, op):
    # Divisors stay away from zero; values of both signs otherwise.
    if op is operator.truediv:
        return positive(rng, shape, 0.5, 2.0) * rng.choice([-1.0, 1.0], shape).astype(np.float32)
    return randn(rng, shape)


@pytest.mark.parametrize("op", BINARY_OPS, ids=BINARY_IDS)
@pytest.mark.parametrize("shape_a, shape_b", BROADCAST_PAIRS, ids=str)
def test_binary_broadcasting(op, shape_a, shape_b, rng):
    a = randn(rng, shape_a)
    b = _operand(rng, shape_b, op)
    result = op(kd.tensor(a), kd.tensor(b))
    assert_tensor_close(result, op(f64(a), f64(b)))


def _other(kind, rng, op):
    if kind == "float":
        return 1.75
    if kind == "int":
        return 2
    arr = _operand(rng, (3,), op)
    return arr.tolist() if kind == "list" else arr


@pytest.mark.parametrize("op", BINARY_OPS, ids=BINARY_IDS)
@pytest.mark.parametrize("kind", ["float", "int", "list", "ndarray"])
@pytest.mark.parametrize("tensor_on_left", [True, False], ids=["tensor_left", "tensor_right"])
def test_binary_mixed_operands(op, kind, tensor_on_left, rng):
    a = _operand(rng, (2, 3), op)
    other = _other(kind, rng, op)
    t = kd.tensor(a)
    if tensor_on_left:
        result, expected = op(t, other), op(f64(a), f64(other))
    else:
        # An ndarray on the left must defer to the Tensor (the result is a Tensor, not an ndarray).
        result, expected = op(other, t), op(f64(other), f64(a))
    assert_tensor_close(result, expected)


def test_reverse_scalar_ops(rng):
    a = positive(rng, (3, 4), 0.5, 2.0)
    t = kd.tensor(a)
    assert_tensor_close(2.0 - t, 2.0 - f64(a))
    assert_tensor_close(2.0 / t, 2.0 / f64(a))
    assert_tensor_close(3 * t, 3.0 * f64(a))
    assert_tensor_close(1 + t, 1.0 + f64(a))
    assert_tensor_close(-t, -f64(a))


def test_binary_ops_leave_inputs_unchanged(rng):
    a, b = randn(rng, (2, 3)), randn(rng, (2, 3))
    ta, tb = kd.tensor(a), kd.tensor(b)
    _ = ta + tb, ta * tb, ta - tb, ta @ tb.T
    np.testing.assert_array_equal(ta.numpy(), a)
    np.testing.assert_array_equal(tb.numpy(), b)


@pytest.mark.parametrize(
    "exponent, domain",
    [
        (2, "any"),
        (3, "any"),
        (2.0, "any"),
        (0, "any"),
        (1, "any"),
        (0.5, "pos"),
        (-1, "pos"),
        (1.5, "pos"),
        (-0.5, "pos"),
    ],
)
def test_pow_scalar_exponent(exponent, domain, rng):
    a = randn(rng, (3, 4)) if domain == "any" else positive(rng, (3, 4))
    assert_tensor_close(kd.tensor(a) ** exponent, f64(a) ** exponent)


# --------------------------------------------------------------------------- unary ops

UNARY = {
    "exp": (np.exp, "any"),
    "log": (np.log, "pos"),
    "sqrt": (np.sqrt, "pos"),
    "abs": (np.abs, "any"),
    "tanh": (np.tanh, "any"),
    "sigmoid": (sigmoid_ref, "any"),
    "relu": (lambda x: np.maximum(x, 0.0), "any"),
}


@pytest.mark.parametrize("name", list(UNARY))
@pytest.mark.parametrize("shape", [(), (7,), (3, 4), (2, 3, 4)], ids=str)
def test_unary_ops(name, shape, rng):
    ref, domain = UNARY[name]
    a = randn(rng, shape, 2.0) if domain == "any" else positive(rng, shape, 0.05, 20.0)
    assert_tensor_close(getattr(kd.tensor(a), name)(), ref(f64(a)))


def test_abs_and_relu_at_negative_values():
    t = kd.tensor([-3.0, -0.5, 0.0, 0.5, 3.0])
    assert_tensor_close(t.abs(), [3.0, 0.5, 0.0, 0.5, 3.0], rtol=0, atol=0)
    assert_tensor_close(t.relu(), [0.0, 0.0, 0.0, 0.5, 3.0], rtol=0, atol=0)


def test_sigmoid_and_tanh_saturate_without_nan():
    x = np.array([-200.0, -50.0, -20.0, -1.0, 0.0, 1.0, 20.0, 50.0, 200.0], dtype=np.float32)
    sig = kd.tensor(x).sigmoid()
    th = kd.tensor(x).tanh()
    assert np.all(np.isfinite(sig.numpy())) and np.all(np.isfinite(th.numpy()))
    assert_tensor_close(sig, sigmoid_ref(x))
    assert_tensor_close(th, np.tanh(f64(x)))
    assert sig.numpy()[0] >= 0.0 and sig.numpy()[-1] == pytest.approx(1.0)


def test_exp_log_sqrt_special_values():
    assert_tensor_close(kd.tensor([0.0, 1.0, -100.0]).exp(), np.exp([0.0, 1.0, -100.0]))
    assert_tensor_close(
        kd.tensor([1.0, np.e, 1e-30]).log(), np.log(f64([1.0, np.float32(np.e), np.float32(1e-30)]))
    )
    assert_tensor_close(kd.tensor([0.0, 4.0, 2.25]).sqrt(), [0.0, 2.0, 1.5], rtol=0, atol=0)


# --------------------------------------------------------------------------- reductions

REDUCTION_AXES = [None, 0, 1, 2, -1, -2, -3, (0, 2), (1, -1), (0, 1, 2), (2, 0)]


@pytest.mark.parametrize("name", ["sum", "mean", "max"])
@pytest.mark.parametrize("axis", REDUCTION_AXES, ids=str)
@pytest.mark.parametrize("keepdims", [False, True], ids=["", "keepdims"])
def test_reductions(name, axis, keepdims, rng):
    a = randn(rng, (2, 3, 4))
    result = getattr(kd.tensor(a), name)(axis=axis, keepdims=keepdims)
    expected = getattr(np, name)(f64(a), axis=axis, keepdims=keepdims)
    assert_tensor_close(result, expected)


@pytest.mark.parametrize("name", ["sum", "mean", "max"])
def test_reduction_defaults_and_positional_axis(name, rng):
    a = randn(rng, (3, 5))
    t = kd.tensor(a)
    assert_tensor_close(getattr(t, name)(), getattr(np, name)(f64(a)))
    assert_tensor_close(getattr(t, name)(1), getattr(np, name)(f64(a), axis=1))


def test_max_of_all_negative_data(rng):
    a = -positive(rng, (4, 6), 1.0, 5.0)
    t = kd.tensor(a)
    assert_tensor_close(t.max(), a.max())
    assert_tensor_close(t.max(axis=1), a.max(axis=1))


def test_sum_of_many_elements(rng):
    a = rng.uniform(0.0, 1.0, (1000, 37)).astype(np.float32)  # positive: nothing cancels
    assert_tensor_close(kd.tensor(a).sum(), f64(a).sum(), rtol=1e-4, atol=0)
    assert_tensor_close(kd.tensor(a).mean(axis=0), f64(a).mean(axis=0), rtol=1e-5, atol=1e-6)
    assert_tensor_close(kd.tensor(a).max(axis=0), a.max(axis=0), rtol=0, atol=0)


# --------------------------------------------------------------------------- shape ops


@pytest.mark.parametrize(
    "new_shape",
    [(6, 4), (-1, 4), (6, -1), (-1,), (24,), (2, -1, 2), (1, 24), (4, 3, 2), (2, 3, 4, 1), (1, -1)],
    ids=str,
)
def test_reshape(new_shape, rng):
    a = randn(rng, (2, 3, 4))
    assert_tensor_close(kd.tensor(a).reshape(new_shape), a.reshape(new_shape), rtol=0, atol=0)


@pytest.mark.parametrize(
    "axes", [None, (0, 1, 2), (1, 0, 2), (2, 0, 1), (0, 2, 1), (2, 1, 0), (1, 2, 0)], ids=str
)
def test_transpose(axes, rng):
    a = randn(rng, (2, 3, 4))
    t = kd.tensor(a)
    result = t.transpose() if axes is None else t.transpose(axes)
    assert_tensor_close(result, np.transpose(a, axes), rtol=0, atol=0)


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4), (5,)], ids=str)
def test_T_property(shape, rng):
    a = randn(rng, shape)
    assert_tensor_close(kd.tensor(a).T, a.T, rtol=0, atol=0)


def test_ops_on_non_contiguous_results(rng):
    """Transposed and strided results must behave like fresh tensors in later ops."""
    a = randn(rng, (2, 3, 4))
    t = kd.tensor(a)
    p = (1, 0, 2)
    assert_tensor_close(t.transpose(p).reshape((-1,)), np.transpose(a, p).reshape(-1), 0, 0)
    assert_tensor_close(t[:, ::2].reshape((2, -1)), a[:, ::2].reshape(2, -1), 0, 0)
    assert_tensor_close(t.transpose(p) + 1.0, np.transpose(f64(a), p) + 1.0)
    assert_tensor_close(t.transpose(p).sum(axis=0), np.transpose(f64(a), p).sum(axis=0))


@pytest.mark.parametrize("key", INDEX_KEYS, ids=key_id)
def test_indexing_matches_numpy(key, rng):
    a = randn(rng, (4, 5, 6))
    assert_tensor_close(kd.tensor(a)[key], a[key], rtol=0, atol=0)


def test_chained_indexing(rng):
    a = randn(rng, (4, 5, 6))
    assert_tensor_close(kd.tensor(a)[1:][::2][0][..., 1:], a[1:][::2][0][..., 1:], 0, 0)


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
def test_concatenate(axis, rng):
    base = [2, 3, 4]
    parts = []
    for size in (1, 2, 3):
        shape = list(base)
        shape[axis] = size
        parts.append(randn(rng, tuple(shape)))
    result = kd.ops.concatenate([kd.tensor(p) for p in parts], axis=axis)
    assert_tensor_close(result, np.concatenate(parts, axis=axis), rtol=0, atol=0)


def test_concatenate_default_axis_is_zero(rng):
    a, b = randn(rng, (2, 3)), randn(rng, (1, 3))
    result = kd.ops.concatenate([kd.tensor(a), kd.tensor(b)])
    assert_tensor_close(result, np.concatenate([a, b]), rtol=0, atol=0)


# --------------------------------------------------------------------------- matmul

MATMUL_SHAPES = [
    ((3, 4), (4, 5)),
    ((1, 7), (7, 1)),
    ((5, 1), (1, 3)),
    ((2, 3, 4), (4, 5)),
    ((4, 5), (2, 5, 3)),
    ((2, 3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (1, 5, 4, 6)),
    ((3, 1, 2, 3), (4, 3, 2)),
]


@pytest.mark.parametrize("shape_a, shape_b", MATMUL_SHAPES, ids=str)
def test_matmul(shape_a, shape_b, rng):
    a, b = randn(rng, shape_a), randn(rng, shape_b)
    expected = np.matmul(f64(a), f64(b))
    assert_tensor_close(kd.tensor(a) @ kd.tensor(b), expected, atol=1e-5)
    assert_tensor_close(kd.ops.matmul(kd.tensor(a), kd.tensor(b)), expected, atol=1e-5)


def test_matmul_with_numpy_operands(rng):
    a, b = randn(rng, (3, 4)), randn(rng, (4, 2))
    expected = f64(a) @ f64(b)
    assert_tensor_close(kd.tensor(a) @ b, expected, atol=1e-5)
    assert_tensor_close(a @ kd.tensor(b), expected, atol=1e-5)


def test_matmul_large_and_transposed(rng):
    a, b = randn(rng, (300, 64)), randn(rng, (300, 70))
    # a.T is a non-contiguous view: the kernel must honour its strides.
    assert_tensor_close(kd.tensor(a).T @ kd.tensor(b), f64(a).T @ f64(b), rtol=1e-4, atol=1e-4)
    assert_tensor_close(kd.tensor(b).T @ kd.tensor(a), f64(b).T @ f64(a), rtol=1e-4, atol=1e-4)


# --------------------------------------------------------------------------- softmax

SOFTMAXES = [(kd.ops.softmax, softmax_ref), (kd.ops.log_softmax, log_softmax_ref)]
SOFTMAX_IDS = ["softmax", "log_softmax"]


@pytest.mark.parametrize("fn, ref", SOFTMAXES, ids=SOFTMAX_IDS)
@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2, -3])
def test_softmax_axes(fn, ref, axis, rng):
    a = randn(rng, (2, 3, 4), 3.0)
    assert_tensor_close(fn(kd.tensor(a), axis=axis), ref(a, axis=axis))


@pytest.mark.parametrize("fn, ref", SOFTMAXES, ids=SOFTMAX_IDS)
def test_softmax_default_axis_is_last(fn, ref, rng):
    a = randn(rng, (3, 5))
    assert_tensor_close(fn(kd.tensor(a)), ref(a, axis=-1))


@pytest.mark.parametrize("fn, ref", SOFTMAXES, ids=SOFTMAX_IDS)
def test_softmax_is_stable_for_large_inputs(fn, ref):
    x = np.array(
        [
            [1000.0, 1001.0, 1002.0],
            [-1000.0, -1001.0, -1002.0],
            [1000.0, 0.0, -1000.0],
            [0.0, 0.0, 0.0],
        ],
        dtype=np.float32,
    )
    result = fn(kd.tensor(x), axis=-1)
    assert np.all(np.isfinite(result.numpy())), result.numpy()
    assert_tensor_close(result, ref(x, axis=-1), atol=1e-5)


def test_softmax_rows_sum_to_one(rng):
    a = randn(rng, (6, 10), 5.0)
    s = kd.ops.softmax(kd.tensor(a)).numpy()
    assert np.all(s >= 0)
    np.testing.assert_allclose(s.sum(axis=-1), np.ones(6), rtol=0, atol=1e-6)
    # Known value: softmax([1, 2, 3]) (hand-derived: e^k / (e + e^2 + e^3)).
    e = np.exp([1.0, 2.0, 3.0])
    assert_tensor_close(kd.ops.softmax(kd.tensor([1.0, 2.0, 3.0])), e / e.sum())


# --------------------------------------------------------------------------- memory

HUGE_PAGE_PROBE = """
import kandle as kd

def huge_page_kib():
    # Total size of this process's mappings marked for transparent huge pages.
    total, size = 0, 0
    with open("/proc/self/smaps") as f:
        for line in f:
            if line.startswith("Size:"):
                size = int(line.split()[1])
            elif line.startswith("VmFlags:") and "hg" in line.split()[1:]:
                total += size
    return total

before = huge_page_kib()
kept = [kd.ops.zeros((768, 512)) for _ in range(8)]  # 1.5 MiB each
print(huge_page_kib() - before)
"""


@pytest.mark.skipif(
    not os.path.exists("/sys/kernel/mm/transparent_hugepage/enabled"),
    reason="needs Linux with transparent huge pages",
)
def test_large_tensors_ask_for_huge_pages():
    # Weights, gradients and optimizer slots of 1 MiB or more are backed by 2 MiB pages
    # (src/kernels/huge_pages.rs): each 1.5 MiB tensor gets a whole huge page marked for it.
    # numpy marks only arrays of 4 MiB or more, so the growth is kandle's own.
    done = subprocess.run(
        [sys.executable, "-c", HUGE_PAGE_PROBE], capture_output=True, text=True, check=True
    )
    assert int(done.stdout) >= 8 * 2048
