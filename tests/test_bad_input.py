"""Bad inputs raise the documented kandle error classes with useful messages; odd but valid
numpy inputs are accepted, converted to float32 and never modified.

`pytest.raises` is always given the expected class, never BaseException: a pyo3
PanicException derives from BaseException, so a panic makes these tests fail.
"""

import operator
import os
import warnings

import numpy as np
import pytest

import kandle as kd
from helpers import randn

errors = kd.errors


# --------------------------------------------------------------------------- hierarchy


@pytest.mark.parametrize(
    "cls, builtin",
    [
        (errors.ShapeError, ValueError),
        (errors.DTypeError, TypeError),
        (errors.AllocationError, MemoryError),
        (errors.GradientError, ValueError),
    ],
    ids=lambda c: c.__name__,
)
def test_error_hierarchy(cls, builtin):
    assert issubclass(cls, builtin)
    assert issubclass(cls, errors.KandleError)
    assert issubclass(errors.KandleError, Exception)


def assert_message_contains(exc_info, *parts):
    message = str(exc_info.value)
    for part in parts:
        assert part in message, f"{part!r} not in error message {message!r}"


# --------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("use_operator", [True, False], ids=["@", "ops.matmul"])
@pytest.mark.parametrize(
    "shape_a, shape_b",
    [((2, 3), (4, 5)), ((2, 3, 4), (3, 4, 5)), ((5, 2), (3, 2))],
    ids=str,
)
def test_matmul_shape_mismatch(use_operator, shape_a, shape_b):
    a, b = kd.tensor(np.ones(shape_a)), kd.tensor(np.ones(shape_b))
    with pytest.raises(errors.ShapeError) as info:
        _ = a @ b if use_operator else kd.ops.matmul(a, b)
    assert isinstance(info.value, ValueError)
    assert_message_contains(info, "matmul", str(shape_a), str(shape_b))


@pytest.mark.parametrize(
    "op",
    [operator.add, operator.sub, operator.mul, operator.truediv],
    ids=["add", "sub", "mul", "div"],
)
@pytest.mark.parametrize(
    "shape_a, shape_b", [((2, 3), (4,)), ((3, 2), (2, 3)), ((2, 3, 4), (3, 3))], ids=str
)
def test_broadcast_mismatch(op, shape_a, shape_b):
    a, b = kd.tensor(np.ones(shape_a)), kd.tensor(np.ones(shape_b))
    with pytest.raises(errors.ShapeError) as info:
        op(a, b)
    assert_message_contains(info, str(shape_a), str(shape_b))
    # The same mismatch with a raw ndarray operand.
    with pytest.raises(errors.ShapeError):
        op(a, np.ones(shape_b))


@pytest.mark.parametrize(
    "shape, new_shape",
    [((2, 3), (4,)), ((2, 3), (4, -1)), ((6,), (5, 2)), ((2, 3), (7, 1))],
    ids=str,
)
def test_reshape_wrong_size(shape, new_shape):
    with pytest.raises(errors.ShapeError) as info:
        kd.tensor(np.ones(shape)).reshape(new_shape)
    assert_message_contains(info, "reshape", str(shape), str(new_shape))


def test_reshape_two_unknown_dims():
    with pytest.raises(ValueError):
        kd.tensor(np.ones((2, 3))).reshape((-1, -1))


@pytest.mark.parametrize(
    "shapes, axis",
    [([(2, 3), (2, 4)], 0), ([(2, 3), (3, 3)], 1), ([(2, 3), (3,)], 0), ([(2, 3, 1), (2, 3)], 0)],
    ids=str,
)
def test_concatenate_mismatch(shapes, axis):
    parts = [kd.tensor(np.ones(s)) for s in shapes]
    with pytest.raises(errors.ShapeError) as info:
        kd.ops.concatenate(parts, axis=axis)
    assert_message_contains(info, "concatenate", str(shapes[0]), str(shapes[1]))


def test_concatenate_empty_list():
    with pytest.raises(ValueError):
        kd.ops.concatenate([], axis=0)


@pytest.mark.parametrize(
    "call, bad_axis",
    [
        (lambda t: t.sum(axis=2), 2),
        (lambda t: t.mean(axis=-3), -3),
        (lambda t: t.max(axis=(0, 5)), 5),
        (lambda t: t.sum(axis=7, keepdims=True), 7),
        (lambda t: kd.ops.softmax(t, axis=3), 3),
        (lambda t: kd.ops.log_softmax(t, axis=-4), -4),
        (lambda t: kd.ops.concatenate([t, t], axis=2), 2),
    ],
    ids=[
        "sum",
        "mean",
        "max_tuple",
        "sum_keepdims",
        "softmax",
        "log_softmax",
        "concatenate",
    ],
)
def test_axis_out_of_range(call, bad_axis):
    t = kd.tensor(np.ones((2, 3)))
    with pytest.raises(errors.ShapeError) as info:
        call(t)
    assert_message_contains(info, "axis", str(bad_axis))


@pytest.mark.parametrize("axes", [(0, 0), (0,), (1, 0, 2)], ids=str)
def test_transpose_bad_permutation(axes):
    with pytest.raises(errors.ShapeError):
        kd.tensor(np.ones((2, 3))).transpose(axes)


@pytest.mark.parametrize("key", [5, -4, (0, 0, 0), (0, 7)], ids=str)
def test_index_out_of_range_raises_cleanly(key):
    t = kd.tensor(np.ones((3, 4)))
    with pytest.raises((IndexError, errors.KandleError)):
        t[key]


def test_assign_wrong_shape():
    v = kd.Variable(np.zeros((2, 3)))
    with pytest.raises(errors.ShapeError) as info:
        v.assign(np.ones((3, 2)))
    assert_message_contains(info, "(2, 3)", "(3, 2)")
    np.testing.assert_array_equal(v.numpy(), np.zeros((2, 3)))  # unchanged after failure


# --------------------------------------------------------------------------- dtypes


@pytest.mark.parametrize(
    "array, dtype_text",
    [
        (np.array([object()], dtype=object), ("object", "O")),
        (np.array(["a"]), ("<U1", "U1", "str", "unicode")),
        (np.array([b"ab"]), ("S2", "bytes")),
    ],
    ids=["object", "str", "bytes"],
)
@pytest.mark.parametrize(
    "consume",
    [kd.tensor, kd.Variable, lambda a: kd.tensor([1.0]) + a],
    ids=["tensor", "Variable", "add"],
)
def test_unsupported_dtype(array, dtype_text, consume):
    with pytest.raises(errors.DTypeError) as info:
        consume(array)
    assert isinstance(info.value, TypeError)
    message = str(info.value)
    assert any(text in message for text in dtype_text), message


def test_list_of_strings_is_rejected():
    with pytest.raises((TypeError, ValueError)):
        kd.tensor(["a", 1.0])


@pytest.mark.parametrize("data", [[[1, 2], [3]], [[1.0], [2.0, 3.0]], [[[1, 2]], [[3, 4], [5, 6]]]])
def test_ragged_list_is_rejected(data):
    with pytest.raises(ValueError):
        kd.tensor(data)


# --------------------------------------------------------------------------- huge shapes


@pytest.mark.parametrize(
    "make",
    [
        lambda s: kd.ops.zeros(s),
        lambda s: kd.ops.ones(s),
        lambda s: kd.ops.full(s, 2.0),
    ],
    ids=["zeros", "ones", "full"],
)
@pytest.mark.parametrize(
    "shape",
    [
        (2**40, 2**40),  # element count overflows 64 bits
        (2**31, 2**31),  # element count fits, byte count (x4) overflows
        (2**62,),  # byte count overflows isize
        (2**40,),  # 4 TiB: representable, cannot be allocated
        (2**20, 2**20, 2**10),  # 4 PiB
    ],
    ids=["overflow_elems", "overflow_bytes", "overflow_isize", "4TiB", "4PiB"],
)
def test_huge_shape_raises_allocation_error(make, shape):
    with pytest.raises(errors.AllocationError) as info:
        make(shape)
    assert isinstance(info.value, MemoryError)


def test_huge_arange_raises_allocation_error():
    with pytest.raises(errors.AllocationError):
        kd.ops.arange(2**42)


@pytest.mark.parametrize("shape", [(-1, 3), (2**70,)], ids=["negative", "beyond_u64"])
def test_invalid_shape_raises_an_exception(shape):
    with pytest.raises((ValueError, OverflowError, MemoryError, TypeError)):
        kd.ops.zeros(shape)


def test_huge_broadcast_is_refused_before_allocating():
    a = kd.tensor(np.ones((2**21, 1), dtype=np.float32))
    b = kd.tensor(np.ones((1, 2**21), dtype=np.float32))  # result: 2**42 elements, 16 TiB
    with pytest.raises(errors.AllocationError):
        a + b


# --------------------------------------------------------------------------- conversion

BASE = np.arange(-12, 12, dtype=np.float64).reshape(4, 6) * 0.5


def _readonly():
    a = BASE.astype(np.float32)
    a.setflags(write=False)
    return a


CONVERTIBLE = {
    "float32": lambda: BASE.astype(np.float32),
    "fortran": lambda: np.asfortranarray(BASE.astype(np.float32)),
    "strided": lambda: BASE.astype(np.float32)[::2],
    "strided_cols": lambda: BASE.astype(np.float32)[:, 1::2],
    "negative_stride": lambda: BASE.astype(np.float32)[::-1],
    "negative_stride_2d": lambda: BASE.astype(np.float32)[::-1, ::-2],
    "transposed": lambda: BASE.astype(np.float32).T,
    "broadcast_view": lambda: np.broadcast_to(BASE[0].astype(np.float32), (3, 6)),
    "readonly": _readonly,
    "big_endian_f4": lambda: BASE.astype(">f4"),
    "big_endian_f8": lambda: BASE.astype(">f8"),
    "float64": lambda: BASE.copy(),
    "float16": lambda: BASE.astype(np.float16),
    "int32": lambda: (BASE * 2).astype(np.int32),
    "int64": lambda: (BASE * 2).astype(np.int64),
    "uint8": lambda: np.arange(24, dtype=np.uint8).reshape(4, 6),
    "bool": lambda: BASE > 0,
    "zero_dim": lambda: np.array(3.25),
    "non_aligned": lambda: np.frombuffer(
        b"\x00" + BASE.astype(np.float32).tobytes(), dtype=np.float32, offset=1
    ),
}


def _flags(array):
    names = ("C_CONTIGUOUS", "F_CONTIGUOUS", "WRITEABLE", "ALIGNED", "OWNDATA")
    return {name: array.flags[name] for name in names}


@pytest.mark.parametrize("name", list(CONVERTIBLE))
@pytest.mark.parametrize(
    "consume",
    [
        kd.tensor,
        kd.Variable,
        lambda a: kd.ops.zeros(a.shape) + a,
        lambda a: a + kd.ops.zeros(a.shape),
    ],
    ids=["tensor", "Variable", "tensor+array", "array+tensor"],
)
def test_unusual_arrays_are_converted_and_left_untouched(name, consume):
    array = CONVERTIBLE[name]()
    saved = array.copy()
    flags = _flags(array)
    dtype, strides = array.dtype, array.strides
    result = consume(array)
    assert isinstance(result, kd.Tensor)
    assert result.dtype == "float32"
    assert result.shape == array.shape
    expected = np.asarray(saved, dtype=np.float32)
    np.testing.assert_array_equal(result.numpy(), expected)
    # The source array is neither written nor re-flagged.
    np.testing.assert_array_equal(array, saved)
    assert array.dtype == dtype and array.strides == strides
    assert _flags(array) == flags


def test_tensor_does_not_alias_a_view_source():
    base = np.arange(12, dtype=np.float32).reshape(3, 4)
    t = kd.tensor(base[:, ::2])
    base[...] = -1
    np.testing.assert_array_equal(t.numpy(), np.arange(12).reshape(3, 4)[:, ::2])


def test_mixed_int_float_lists():
    t = kd.tensor([[1, 2.5, -3], [4, 5, 6.75]])
    assert t.shape == (2, 3) and t.dtype == "float32"
    np.testing.assert_array_equal(t.numpy(), np.array([[1, 2.5, -3], [4, 5, 6.75]], np.float32))


def test_nested_list_of_arrays(rng):
    rows = [randn(rng, (3,)), randn(rng, (3,))]
    np.testing.assert_array_equal(kd.tensor(rows).numpy(), np.stack(rows))
    np.testing.assert_array_equal(kd.tensor([rows[0].tolist(), rows[1]]).numpy(), np.stack(rows))


@pytest.mark.parametrize("threads", ["1", "2"])
def test_a_forked_child_can_train_after_the_parent_did(threads):
    """fork copies only the forking thread: the child gets a new thread pool instead of
    waiting forever on the parent's (which did not come along)."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        import os, sys
        import numpy as np
        import kandle as kd

        def train():
            model = kd.Sequential([kd.Input((64,)), kd.layers.Dense(256, activation="relu"),
                                   kd.layers.Dense(3)])
            model.compile(optimizer="adam", loss="mse")
            x = np.ones((2048, 64), "float32")
            model.fit(x, np.zeros((2048, 3)), epochs=1, batch_size=512, verbose=0)
            return model.predict(x, verbose=0).shape

        train()
        pid = os.fork()
        if pid == 0:
            ok = train() == (2048, 3) and (kd.tensor(np.ones((600, 600))) @
                                           kd.tensor(np.ones((600, 600)))).shape == (600, 600)
            os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
        sys.exit(os.waitstatus_to_exitcode(status))
        """
    )
    env = {**os.environ, "KANDLE_NUM_THREADS": threads}
    result = subprocess.run([sys.executable, "-c", script], env=env, timeout=120)
    assert result.returncode == 0


def test_freeing_a_long_graph_does_not_crash():
    """A running loss total kept as a tensor in an eager loop: 100,000 recorded ops,
    freed at once (a recursive drop segfaulted)."""
    w = kd.Variable([1.0])
    total = kd.tensor([0.0])
    for _ in range(100_000):
        total = total + w
    assert total.numpy()[0] == 100_000.0
    del total


def test_empty_data():
    """0 rows: fit and evaluate raise a clear error (Keras fails with StopIteration);
    predict returns no rows of the output's shape."""
    model = kd.Sequential([kd.Input((3,)), kd.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((0, 3), "float32"), np.zeros((0, 2), "float32")
    with pytest.raises(ValueError, match="at least one sample.*0 rows"):
        model.fit(x, y, verbose=0)
    with pytest.raises(ValueError, match="at least one sample.*0 rows"):
        model.evaluate(x, y, verbose=0)
    out = model.predict(x, verbose=0)
    assert out.shape == (0, 2) and out.dtype == np.float32


def test_fit_arguments_get_clear_errors():
    model = kd.Sequential([kd.Input((3,)), kd.layers.Dense(2)])
    with pytest.raises(ValueError, match="optimizer identifier: None"):
        model.compile(optimizer=None, loss="mse")
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((4, 3), "float32"), np.zeros((4, 2), "float32")
    with pytest.raises(ValueError, match="validation_batch_size"):
        model.fit(x, y, validation_split=0.5, validation_batch_size=0, verbose=0)
    with pytest.raises(ValueError, match="shuffle"):
        model.fit(x, y, shuffle="yes", verbose=0)
    # A batch larger than the data (even 2**64) is all of it, as in Keras.
    history = model.fit(x, y, batch_size=2**64, verbose=0)
    assert history.params["steps"] == 1
    # An empty class_weight weighs every class 1.
    labels = np.array([0, 1, 1, 0])
    clf = kd.Sequential([kd.Input((3,)), kd.layers.Dense(2)])
    clf.compile(optimizer="sgd", loss=kd.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert np.isfinite(clf.fit(x, labels, class_weight={}, verbose=0).history["loss"][0])


@pytest.mark.parametrize("value", [2.7, True, "2", 0])
def test_set_num_threads_takes_positive_integers_only(value):
    with pytest.raises(ValueError, match="set_num_threads"):
        kd.config.set_num_threads(value)


@pytest.mark.parametrize("value", [1.5, True, "1", -1])
def test_set_random_seed_takes_integers_only(value):
    with pytest.raises(ValueError, match="set_random_seed"):
        kd.utils.set_random_seed(value)


def _interrupt(script, wait):
    """Runs `script`, which prints "start <seconds the whole call would take>" and then
    "interrupted <time>" when its KeyboardInterrupt arrives; sends SIGINT `wait` seconds
    after "start". Returns (seconds from the signal to the stop, the whole call's)."""
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, bufsize=1
    )
    try:
        word, full = proc.stdout.readline().split()
        assert word == "start"
        time.sleep(wait)
        sent = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert out.startswith("interrupted"), out
    return float(out.split()[1]) - sent, float(full)


@pytest.mark.parametrize("call", ["fit", "evaluate", "predict"])
def test_ctrl_c_stops_a_long_engine_call_promptly(call):
    """SIGINT during fit, evaluate or predict raises KeyboardInterrupt within about a
    batch, long before the call would end; the model keeps working afterwards."""
    import textwrap

    script = textwrap.dedent(
        f"""
        import sys, time
        import numpy as np
        import kandle as kd

        model = kd.Sequential([kd.Input((256,)), kd.layers.Dense(1024, activation="relu"),
                               kd.layers.Dense(1024), kd.layers.Dense(10)])
        model.compile(optimizer="adam", loss="mse")
        x, y = np.ones((20000, 256), "float32"), np.zeros((20000, 10), "float32")
        big = np.ones((400_000, 256), "float32")  # made before the signal can come
        calls = {{
            "fit": lambda: model.fit(x, y, epochs=10**6, batch_size=1024, verbose=0),
            "evaluate": lambda: [model.evaluate(x, y, verbose=0) for _ in range(10**6)],
            "predict": lambda: model.predict(big, verbose=0),
        }}
        # What the whole predict call would take: 20 times a twentieth of it.
        start = time.perf_counter()
        model.predict(np.ones((20_000, 256), "float32"), verbose=0)
        print("start", 20 * (time.perf_counter() - start), flush=True)
        try:
            calls["{call}"]()
        except KeyboardInterrupt:
            stopped = time.perf_counter()
            model.fit(x[:64], y[:64], epochs=1, verbose=0)
            print("interrupted", stopped, flush=True)
        """
    )
    stop, full = _interrupt(script, wait=1.5)  # fit and evaluate would never end
    # Stopped before the call's end, not at it (no absolute time: CI is shared).
    assert stop < full


def test_ctrl_c_stops_one_large_predict_on_batch():
    """One engine call on one huge batch: checked between blocks of rows."""
    import textwrap

    script = textwrap.dedent(
        """
        import time
        import numpy as np
        import kandle as kd

        model = kd.Sequential([kd.Input((256,)), kd.layers.Dense(1024, activation="relu"),
                               kd.layers.Dense(1024), kd.layers.Dense(10)])
        x = np.ones((400_000, 256), "float32")
        np.testing.assert_allclose(model.predict_on_batch(x[:5000]),
                                   model.predict(x[:5000], verbose=0), rtol=1e-5, atol=1e-6)
        start = time.perf_counter()
        model.predict_on_batch(x[:20_000])
        print("start", 20 * (time.perf_counter() - start), flush=True)
        try:
            model.predict_on_batch(x)
        except KeyboardInterrupt:
            print("interrupted", time.perf_counter(), flush=True)
        """
    )
    stop, full = _interrupt(script, wait=1.0)
    # Stopped long before the call's end (before: only after all 400,000 rows).
    assert stop < full / 2


def test_numpy_scalars_in_configs_reach_the_engine():
    """SGD(momentum=np.float32(0.9)) failed to serialize; it now steps as 0.9 does."""
    results = []
    for momentum in (0.9, np.float32(0.9), np.float64(0.9)):
        w = kd.Variable([1.0, 2.0])
        opt = kd.optimizers.SGD(learning_rate=np.float32(0.1), momentum=momentum)
        for _ in range(3):
            opt.apply([kd.tensor([0.5, -1.0])], [w])
        results.append(w.numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-6)
    np.testing.assert_allclose(results[2], results[0], rtol=1e-6)


@pytest.mark.parametrize(
    "make, argument",
    [
        (lambda: kd.optimizers.SGD(learning_rate=float("nan")), "learning_rate"),
        (lambda: kd.optimizers.Adam(epsilon=float("inf")), "epsilon"),
        (lambda: kd.optimizers.SGD(clipnorm=float("nan")), "clipnorm"),
        (
            lambda: kd.layers.Dense(2, kernel_initializer=kd.initializers.Constant(np.inf)).build(
                (None, 3)
            ),
            "value",
        ),
    ],
)
def test_non_finite_hyper_parameters_are_refused_by_name(make, argument):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        make()


# --------------------------------------------------------------------------- deep models


def test_building_a_deep_sequential_builds_each_layer_once(monkeypatch):
    # Each add used to rebuild the whole stack, so 12,000 layers took 36 s (quadratic).
    calls = []
    original = kd.layers.Dense.compute_output_shape

    def counted(self, shape):
        calls.append(self)
        return original(self, shape)

    monkeypatch.setattr(kd.layers.Dense, "compute_output_shape", counted)
    depth = 300
    model = kd.Sequential([kd.Input((4,))] + [kd.layers.Dense(4) for _ in range(depth)])
    assert len(calls) == depth
    assert model.output_shape == (None, 4)
    model.pop()
    model.add(kd.layers.Dense(2))
    assert model.output_shape == (None, 2)


def test_a_layer_that_does_not_fit_leaves_the_sequential_unchanged():
    model = kd.Sequential([kd.Input((4, 3)), kd.layers.Flatten()])
    with pytest.raises(ValueError, match="Reshape"):
        model.add(kd.layers.Reshape((5,)))
    assert len(model.layers) == 1
    model.add(kd.layers.Dense(2))
    assert model.output_shape == (None, 2)
    assert model.predict(np.ones((1, 4, 3)), verbose=0).shape == (1, 2)


# --------------------------------------------------------------------------- NaN and inf


@pytest.mark.parametrize("where", ["x", "y"])
def test_non_finite_data_warns_by_name_and_never_reaches_the_weights(where):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(32, 4)).astype(np.float32)
    y = rng.normal(size=(32, 1)).astype(np.float32)
    (x if where == "x" else y)[9, 0] = np.nan
    (x if where == "x" else y)[20, 0] = np.inf
    kd.utils.set_random_seed(0)
    model = kd.Sequential([kd.Input((4,)), kd.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.warns(RuntimeWarning, match=f"`{where}` holds 2 NaN or infinite"):
        history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    # Batches 1 and 2 hold the bad values: their losses are NaN and their updates are
    # skipped, while batches 0 and 3 train.
    assert all(np.isnan(loss) for loss in history.history["loss"])
    assert all(np.isfinite(w).all() for w in model.get_weights())
    with pytest.warns(RuntimeWarning, match=f"evaluate: `{where}` holds"):
        assert np.isnan(model.evaluate(x, y, verbose=0))
    # TerminateOnNaN stops at the first NaN batch, with the last finite weights.
    kd.utils.set_random_seed(0)
    stopped = kd.Sequential([kd.Input((4,)), kd.layers.Dense(1)])
    stopped.compile(optimizer="sgd", loss="mse")
    first_batch = kd.models.clone_model(stopped)
    first_batch.set_weights(stopped.get_weights())
    with pytest.warns(RuntimeWarning):
        stopped.fit(
            x, y, batch_size=8, epochs=3, shuffle=False, verbose=0,
            callbacks=[kd.callbacks.TerminateOnNaN()],
        )  # fmt: skip
    first_batch.fit(x[:8], y[:8], batch_size=8, epochs=1, verbose=0)
    for a, b in zip(stopped.get_weights(), first_batch.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_non_finite_step_of_a_model_of_several_outputs_keeps_its_weights():
    """The multi-output step skips a non-finite update too."""
    inputs = kd.Input((4,))
    model = kd.Model(inputs, [kd.layers.Dense(1, name="a")(inputs), kd.layers.Dense(2)(inputs)])
    model.compile(optimizer="sgd", loss=["mse", "mse"])
    before = model.get_weights()
    x = np.ones((8, 4), np.float32)
    x[3, 1] = np.nan
    with pytest.warns(RuntimeWarning, match="`x` holds 1 NaN"):
        model.fit(x, [np.ones((8, 1)), np.ones((8, 2))], batch_size=8, verbose=0)
    for a, b in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(a, b)


def test_finite_data_does_not_warn():
    model = kd.Sequential([kd.Input((2,)), kd.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    big = np.full((4, 2), 3e38, np.float32)  # finite, though their float32 sum is not
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        model.evaluate(big, np.ones((4, 1)), verbose=0)
    # A float64 value beyond float32's range becomes infinite in the engine: it warns.
    with pytest.warns(RuntimeWarning, match="`x` holds 4 NaN or infinite"):
        model.evaluate(np.array([[1e300, 0.0]] * 4), np.ones((4, 1)), verbose=0)
        model.fit(np.ones((4, 2), np.float32), np.ones((4, 1)), verbose=0)


def test_reshape_with_minus_one_and_zero_is_refused_by_name():
    # numpy: "cannot reshape array of size 0 into shape (-1,0)"; was a ZeroDivisionError.
    layer = kd.layers.Reshape((-1, 0))
    with pytest.raises(ValueError, match="cannot be inferred"):
        layer(np.ones((2, 0), np.float32))
    with pytest.raises(ValueError, match="cannot be inferred"):
        kd.Sequential([kd.Input((3, 4)), kd.layers.Reshape((-1, 0))])


@pytest.mark.parametrize("name", [n for n in CONVERTIBLE if n != "zero_dim"])
def test_unusual_arrays_train_and_predict_as_contiguous_float32(name):
    """fit, evaluate and predict take the array zoo (and objects with ``__array__``), and
    give the bits that ``np.ascontiguousarray(x, np.float32)`` gives."""
    x = CONVERTIBLE[name]()
    x = x.reshape(x.shape[0], -1) if x.ndim > 1 else x.reshape(-1, 1)
    y = np.linspace(-1, 1, x.shape[0], dtype=np.float32).reshape(-1, 1)
    saved = x.copy()

    class Frame:  # a pandas-like object
        def __array__(self, dtype=None, copy=None):
            return x if dtype is None else x.astype(dtype)

    results = []
    for data in (np.ascontiguousarray(x, np.float32), x, Frame()):
        kd.utils.set_random_seed(0)
        model = kd.Sequential([kd.Input((x.shape[1],)), kd.layers.Dense(2), kd.layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        history = model.fit(data, y, batch_size=2, epochs=2, shuffle=False, verbose=0)
        results.append(
            (
                history.history["loss"],
                model.evaluate(data, y, verbose=0),
                model.predict(data, verbose=0),
            )
        )
    for other in results[1:]:
        assert other[0] == results[0][0] and other[1] == results[0][1]
        np.testing.assert_array_equal(other[2], results[0][2])
    np.testing.assert_array_equal(x, saved)
