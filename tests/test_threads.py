"""Threads: kandle releases the GIL in its engine calls, so Python threads really run
together. Predictions stay exact while another model trains, and threads sharing one
model get correct results or a clear error, never a crash or corrupted weights."""

from __future__ import annotations

import threading

import numpy as np

import kandle as kd

RNG = np.random.default_rng(0)
X = RNG.normal(size=(256, 8)).astype(np.float32)
Y = RNG.normal(size=(256, 1)).astype(np.float32)


def model(seed: int) -> kd.Sequential:
    kd.utils.set_random_seed(seed)
    m = kd.Sequential([kd.Input((8,)), kd.layers.Dense(16, activation="relu"), kd.layers.Dense(1)])
    m.compile(optimizer="adam", loss="mse")
    return m


def run_threads(*targets) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded(target):
        try:
            target()
        except BaseException as error:  # collected and reported by the test
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_predict_from_threads_while_another_model_trains():
    predictor, trainer = model(2), model(3)
    expected = predictor.predict(X, verbose=0)
    mismatches = []

    def predict():
        for _ in range(10):
            if not np.array_equal(predictor.predict(X, verbose=0), expected):
                mismatches.append(1)

    errors = run_threads(lambda: trainer.fit(X, Y, epochs=10, verbose=0), predict, predict, predict)
    assert not errors and not mismatches


def test_threads_sharing_one_model_get_results_or_clear_errors():
    shared = model(4)
    before = shared.evaluate(X, Y, verbose=0)

    def train_on_batches():
        for i in range(50):
            shared.train_on_batch(X[i % 8 * 32 : i % 8 * 32 + 32], Y[i % 8 * 32 : i % 8 * 32 + 32])

    def fit():
        shared.fit(X, Y, epochs=2, verbose=0)

    errors = run_threads(train_on_batches, train_on_batches, fit, fit)
    for error in errors:  # allowed: a clear kandle error; never a panic or a crash
        assert isinstance(error, kd.errors.KandleError) and str(error), repr(error)
    weights = shared.get_weights()
    assert all(np.isfinite(w).all() for w in weights)
    # Every update was a real training step: the shared model learned.
    assert shared.evaluate(X, Y, verbose=0) < before
