"""The design card's Keras workflow on MNIST-shaped data generated here (no download).

Ten classes of 28x28 "images": each class is a fixed random template plus noise, so the
model has something to learn. Run it with:

    python examples/mnist_mlp.py
"""

import os
import tempfile

import numpy as np

import kandle as kd

kd.utils.set_random_seed(0)
rng = np.random.default_rng(0)
templates = rng.random((10, 784), dtype=np.float32)
y_train = rng.integers(0, 10, 6000)
x_train = (templates[y_train] + rng.normal(0, 0.5, (6000, 784))).astype(np.float32)
y_test = rng.integers(0, 10, 1000)
x_test = (templates[y_test] + rng.normal(0, 0.5, (1000, 784))).astype(np.float32)

model = kd.Sequential(
    [
        kd.Input((784,)),
        kd.layers.Dense(100, activation="relu"),
        kd.layers.Dense(10),
    ]
)
model.summary()
model.compile(
    optimizer="sgd",
    loss=kd.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
history = model.fit(x_train, y_train, epochs=3, validation_split=0.1)
loss, accuracy = model.evaluate(x_test, y_test)
print(f"test loss {loss:.4f}, test accuracy {accuracy:.4f}")
print("first predictions:", model.predict(x_test[:5], verbose=0).argmax(axis=-1))

# Save in Keras's .keras format and load it back: the same predictions, bit for bit.
path = os.path.join(tempfile.mkdtemp(), "mnist_mlp.keras")
model.save(path)
again = kd.models.load_model(path)
same = np.array_equal(again.predict(x_test, verbose=0), model.predict(x_test, verbose=0))
print(f"saved to {path}; loaded back with the same predictions: {same}")
