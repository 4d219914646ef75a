"""Integer indices reach the Embedding's gather exactly, in every path (issue 18).

float32, which kandle computes in, holds integers exactly only up to 2**24: 2**24 + 1
rounds to 2**24. Integer data keeps its exact integers beside its float values up to the
gather, so an index above 2**24 picks and trains its own row. Expected values come from
numpy indexing of ``get_weights()``. Tables have 2**24 + 8 rows of width 1 (64 MB)."""

import numpy as np
import pytest

import kandle as kd

ROWS = 2**24 + 8
BIG = 2**24 + 1  # float32 rounds it to 2**24
IDX = np.array([[BIG], [3], [2**24 + 7], [2**24]], np.int64)


def sequential():
    kd.utils.set_random_seed(0)
    model = kd.Sequential([kd.Input((1,)), kd.layers.Embedding(ROWS, 1), kd.layers.Flatten()])
    model.compile(optimizer=kd.optimizers.SGD(0.5), loss="mse")
    return model


def functional():
    kd.utils.set_random_seed(0)
    inputs = kd.Input((1,))
    outputs = kd.layers.Flatten()(kd.layers.Embedding(ROWS, 1)(inputs))
    model = kd.Model(inputs, outputs)
    model.compile(optimizer=kd.optimizers.SGD(0.5), loss="mse")
    return model


def table_of(model):
    (table,) = model.get_weights()
    assert table.shape == (ROWS, 1)
    return table


def sgd_mse_step(table, idx, y, lr=0.5):
    """The table after one SGD step of the mse loss on one batch, in numpy."""
    rows = idx[:, 0]
    grad = np.zeros_like(table, dtype=np.float64)
    np.add.at(grad, rows, 2.0 * (table[rows].astype(np.float64) - y) / len(rows))
    return (table - lr * grad).astype(np.float32)


@pytest.mark.parametrize("make", [sequential, functional], ids=["sequential", "functional"])
def test_predict_paths_return_the_exact_rows(make):
    model = make()
    table = table_of(model)
    want = table[IDX[:, 0]]
    assert want[0] != table[2**24]  # the rounded index would pick another row
    for data in (IDX, IDX.astype(np.int32), IDX.astype(np.uint32), IDX.tolist()):
        np.testing.assert_array_equal(model.predict(data, batch_size=2, verbose=0), want)
        np.testing.assert_array_equal(model.predict_on_batch(data), want)
        np.testing.assert_array_equal(model(data).numpy(), want)
    y = np.zeros((len(IDX), 1), np.float32)
    loss = model.evaluate(IDX, y, batch_size=len(IDX), verbose=0)
    np.testing.assert_allclose(loss, np.mean(want.astype(np.float64) ** 2), rtol=1e-6)


def test_an_eager_layer_call_returns_the_exact_rows():
    layer = kd.layers.Embedding(ROWS, 1)
    out = layer(IDX).numpy()
    np.testing.assert_array_equal(out, layer.get_weights()[0][IDX])
    values = np.zeros(ROWS, np.float32)
    values[[BIG, -1]] = [1.0, 2.0]  # the rounded index, 2**24, holds 0
    np.testing.assert_array_equal(kd.ops.take(values, [BIG, -1]).numpy(), values[[BIG, -1]])


@pytest.mark.parametrize("make", [sequential, functional], ids=["sequential", "functional"])
def test_training_updates_exactly_the_indexed_rows(make):
    model = make()
    table = table_of(model)
    y = np.array([[1.0], [-1.0], [0.5], [2.0]], np.float32)
    model.train_on_batch(IDX, y)
    after = table_of(model)
    want = sgd_mse_step(table, IDX, y)
    changed = np.flatnonzero(after[:, 0] != table[:, 0])
    assert sorted(changed) == sorted(IDX[:, 0])
    np.testing.assert_allclose(after[IDX[:, 0]], want[IDX[:, 0]], rtol=1e-6)
    # test_on_batch reads the same rows: its loss is numpy's mse of them.
    loss = model.test_on_batch(IDX, y)
    np.testing.assert_allclose(loss, np.mean((after[IDX[:, 0]] - y) ** 2), rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_fit_with_shuffled_batches_and_validation_trains_the_exact_rows(dtype):
    """One row per batch, shuffled: each step moves only its own row, whatever the
    order. validation_split holds out the last rows, which stay untouched; validation_data
    reads its rows exactly too."""
    model = sequential()
    table = table_of(model)
    y = np.array([[1.0], [-1.0], [0.5], [2.0]], np.float32)
    val_idx, val_y = np.array([[2**24 + 5]], dtype), np.array([[0.25]], np.float32)
    history = model.fit(
        IDX.astype(dtype),
        y,
        batch_size=1,
        epochs=1,
        shuffle=True,
        validation_split=0.25,
        verbose=0,
    )
    after = table_of(model)
    trained = IDX[:3, 0]
    changed = np.flatnonzero(after[:, 0] != table[:, 0])
    assert sorted(changed) == sorted(trained)
    for row, target in zip(trained, y[:3, 0]):
        step = sgd_mse_step(table, np.array([[row]]), np.array([target]))
        np.testing.assert_allclose(after[row], step[row], rtol=1e-6)
    held_out = IDX[3, 0]
    np.testing.assert_allclose(
        history.history["val_loss"][0], (after[held_out, 0] - y[3, 0]) ** 2, rtol=1e-5
    )
    history = model.fit(
        IDX[:1].astype(dtype),
        y[:1],
        epochs=1,
        validation_data=(val_idx, val_y),
        shuffle=True,
        verbose=0,
    )
    final = table_of(model)
    np.testing.assert_allclose(
        history.history["val_loss"][0], (final[2**24 + 5, 0] - 0.25) ** 2, rtol=1e-5
    )


def test_several_integer_inputs_stay_exact():
    """Inputs of a functional model travel packed side by side: all-integer ones as
    int64, exactly."""
    kd.utils.set_random_seed(0)
    a, b = kd.Input((1,), name="a"), kd.Input((2,), name="b")
    embed = kd.layers.Embedding(ROWS, 1)
    flat = kd.layers.Flatten()
    model = kd.Model([a, b], kd.layers.concatenate([flat(embed(a)), flat(embed(b))]))
    table = model.get_weights()[0]
    xa, xb = IDX[:2], np.array([[2**24 + 7, BIG], [2**24, 5]], np.int32)
    want = np.concatenate([table[xa[:, 0]], table[xb][..., 0]], axis=1)
    np.testing.assert_array_equal(model.predict([xa, xb], verbose=0), want)
    np.testing.assert_array_equal(model.predict({"a": xa, "b": xb}, verbose=0), want)


def test_paths_that_would_round_raise_instead():
    """Where integers would still be rounded, a clear error, never a wrong row: float
    indices from 2**24 on, and integers packed with float inputs into float32."""
    model = sequential()
    with pytest.raises(kd.errors.InvalidArgumentError, match=r"embedding: index 16777216"):
        model.predict(IDX.astype(np.float32), verbose=0)
    with pytest.raises(kd.errors.InvalidArgumentError, match=r"embedding: index 16777216"):
        model.predict_on_batch(IDX.astype(np.float64))
    with pytest.raises(kd.errors.OutOfBoundsError, match=r"index 16777224 is out of range"):
        model.predict(np.array([[ROWS]]), verbose=0)
    a, b = kd.Input((1,), name="a"), kd.Input((1,), name="b")
    mixed = kd.Model(
        [a, b], kd.layers.concatenate([kd.layers.Flatten()(kd.layers.Embedding(ROWS, 1)(a)), b])
    )
    with pytest.raises(kd.errors.InvalidArgumentError, match=r"x\['a'\].*16,777,217.*2\*\*24"):
        mixed.predict([IDX[:1], np.ones((1, 1), np.float32)], verbose=0)


def test_integer_lookup_reads_large_tokens_exactly():
    layer = kd.layers.IntegerLookup(vocabulary=[2**24, BIG])
    tokens = np.array([BIG, 2**24, 7])
    np.testing.assert_array_equal(layer(tokens).numpy(), [2, 1, 0])
    with pytest.raises(kd.errors.InvalidArgumentError, match=r"token 16777216"):
        layer(tokens.astype(np.float32))
