"""Reference helpers for the test suite.

Every expected value is computed here with numpy (in float64) or by a hand-derived formula;
kandle itself is never used to produce an expected number.
"""

import numpy as np

import kandle as kd

RTOL = 1e-5
ATOL = 1e-6


def randn(rng, shape, scale=1.0):
    """Standard-normal float32 data of the given shape."""
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def positive(rng, shape, low=0.1, high=3.0):
    """Float32 data in [low, high): safe for log, sqrt, division and fractional powers."""
    return rng.uniform(low, high, shape).astype(np.float32)


def nonzero(rng, shape, margin=0.1):
    """Float32 data of both signs, at least `margin` away from zero (no kinks, no ties at 0)."""
    x = rng.standard_normal(shape)
    return (x + np.sign(x) * margin + (x == 0) * margin).astype(np.float32)


def probabilities(rng, shape):
    """Float32 probabilities in [0.02, 0.98): inside the cross-entropies' clip."""
    return rng.uniform(0.02, 0.98, shape).astype(np.float32)


def binary_labels(rng, shape):
    """Float32 labels of 0 and 1."""
    return rng.integers(0, 2, shape).astype(np.float32)


def one_hot_labels(rng, shape):
    """Float32 one-hot rows over the last axis of `shape`."""
    return np.eye(shape[-1], dtype=np.float32)[rng.integers(0, shape[-1], shape[:-1])]


def class_labels(rng, shape):
    """Float32 class indices for predictions of `shape` (classes on the last axis)."""
    return rng.integers(0, shape[-1], shape[:-1]).astype(np.float32)


def counts(rng, shape):
    """Float32 counts 0 to 4 (Poisson targets)."""
    return rng.integers(0, 5, shape).astype(np.float32)


def f64(x):
    return np.asarray(x, dtype=np.float64)


def numeric_grad(f, x, eps=1e-3):
    """Central differences, in float64, of the sum of the reference ``f`` at ``x``."""
    x = f64(x)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        g[i] = (np.sum(f(xp)) - np.sum(f(xm))) / (2 * eps)
    return g


def as_numpy(x):
    return x.numpy() if isinstance(x, kd.Tensor) else np.asarray(x)


def assert_tensor_close(actual, expected, rtol=RTOL, atol=ATOL):
    """`actual` is a float32 kd.Tensor with exactly the shape and (nearly) the values expected."""
    assert isinstance(actual, kd.Tensor), f"expected a kd.Tensor, got {type(actual).__name__}"
    got = actual.numpy()
    expected = np.asarray(expected)
    assert got.dtype == np.float32, got.dtype
    assert actual.shape == expected.shape, f"shape {actual.shape} != expected {expected.shape}"
    assert got.shape == expected.shape, f"numpy() shape {got.shape} != {expected.shape}"
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)


def grads(loss, variables):
    """kd.grad, checked for its contract (one Tensor per variable, same shape), as numpy."""
    result = kd.grad(loss, variables)
    result = list(result)
    assert len(result) == len(variables)
    out = []
    for g, v in zip(result, variables):
        assert isinstance(g, kd.Tensor), type(g).__name__
        assert g.shape == v.shape, f"gradient shape {g.shape} != variable shape {v.shape}"
        out.append(g.numpy())
    return out


def sum_to_shape(g, shape):
    """Reduce a broadcast gradient back to `shape` (the reference for broadcasting backward)."""
    g = np.asarray(g)
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g.reshape(shape)


def softmax_ref(x, axis=-1):
    x = f64(x)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax_ref(x, axis=-1):
    x = f64(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def sigmoid_ref(x):
    x = f64(x)
    # Two-branch form: exact and overflow-free in float64.
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


def relu_ref(x):
    return np.maximum(f64(x), 0.0)


ACTIVATIONS_REF = {
    None: f64,
    "linear": f64,
    "relu": relu_ref,
    "sigmoid": sigmoid_ref,
    "tanh": lambda x: np.tanh(f64(x)),
    "softmax": softmax_ref,
}

# Basic-indexing keys exercised on a (4, 5, 6) tensor, in forward and backward tests.
INDEX_KEYS = [
    0,
    -1,
    slice(1, 3),
    slice(None, None, 2),
    slice(-3, None),
    slice(2, 100),
    (Ellipsis, 0),
    (slice(None), 1),
    (slice(1, None), Ellipsis, slice(None, 2)),
    (slice(None), slice(1, 4, 2), -2),
    (1, 2),
    (1, 2, 3),
    (-1, Ellipsis, -1),
    (Ellipsis,),
    (slice(None, None, 3), slice(None), slice(1, None, 2)),
]


def key_id(key):
    """A readable pytest id for an indexing key, e.g. '1:,...,:2'."""

    def one(k):
        if k is Ellipsis:
            return "..."
        if isinstance(k, slice):
            parts = ["" if p is None else str(p) for p in (k.start, k.stop, k.step)]
            text = ":".join(parts)
            return text[:-1] if text.endswith(":") and k.step is None else text
        return str(k)

    return ",".join(one(k) for k in key) if isinstance(key, tuple) else one(key)


def summary_cells(text):
    """The (output shape, param count) cells of each layer row of a printed summary.
    Layer names carry per-process counters that differ between libraries, so they are
    left out; Keras wraps a long name onto a second row, whose other cells are empty."""
    rows = [line for line in text.splitlines() if line.startswith("│")]
    return [[c.strip() for c in r.split("│")[2:4]] for r in rows if r.split("│")[2].strip()]


def assert_summary_matches_keras(build, capsys):
    """``build(kd).summary()`` prints Keras's rows and totals for ``build(keras)``."""
    import keras

    build(kd).summary()
    mine = capsys.readouterr().out
    build(keras).summary()
    theirs = capsys.readouterr().out
    assert summary_cells(mine) == summary_cells(theirs)
    assert mine.splitlines()[-3:] == theirs.splitlines()[-3:]
