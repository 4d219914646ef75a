"""Keras's "Simple MNIST convnet" example, unchanged but for ``import kandle as keras``.

It reads Keras's ``mnist.npz`` when it is already in Keras's cache folder
(``$KERAS_HOME/datasets`` or ``~/.keras/datasets``). Otherwise it makes MNIST-shaped
digits here, without a download: each class is a different set of bars on a 28x28 image,
with noise and a random shift, so the convnet has something spatial to learn. Run it
with:

    python examples/mnist_convnet.py            # 3 epochs on 4,000 generated images
    python examples/mnist_convnet.py --epochs 15 --download   # Keras's full example
"""

import argparse
import os

import numpy as np

import kandle as keras
from kandle import layers

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--download", action="store_true", help="download Keras's mnist.npz")
args = parser.parse_args()


def generated_digits(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 28x28 images of 10 classes of bars (class k: bars at k's bit pattern)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, rows).astype(np.uint8)
    images = rng.integers(0, 60, (rows, 28, 28)).astype(np.float32)
    for i, label in enumerate(labels):
        dy, dx = rng.integers(-2, 3, 2)
        for bit in range(4):
            row = 5 + 5 * bit + dy
            if (label + 1) >> bit & 1:
                images[i, row : row + 3, 4 + dx : 24 + dx] = 255
        if label >= 5:
            images[i, 4:24, 12 + dx : 15 + dx] = 255
    return images.astype(np.uint8), labels


cache = os.path.join(os.environ.get("KERAS_HOME", os.path.expanduser("~/.keras")), "datasets")
if args.download or os.path.exists(os.path.join(cache, "mnist.npz")):
    print("training on MNIST (mnist.npz in", cache + ")")
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
else:
    print("mnist.npz is not in", cache, "- using generated digits (pass --download for MNIST)")
    (x_train, y_train), (x_test, y_test) = generated_digits(4000, 0), generated_digits(1000, 1)

# From here on this is Keras's example.
num_classes = 10
input_shape = (28, 28, 1)

# Scale images to the [0, 1] range
x_train = x_train.astype("float32") / 255
x_test = x_test.astype("float32") / 255
# Make sure images have shape (28, 28, 1)
x_train = np.expand_dims(x_train, -1)
x_test = np.expand_dims(x_test, -1)
print("x_train shape:", x_train.shape)
print(x_train.shape[0], "train samples")
print(x_test.shape[0], "test samples")

# convert class vectors to binary class matrices
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

model = keras.Sequential(
    [
        keras.Input(shape=input_shape),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ]
)

model.summary()

batch_size = 128
epochs = args.epochs

model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])

model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1)

score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])
