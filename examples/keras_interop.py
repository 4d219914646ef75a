"""Train in kandle, save, load the file in Keras; and the reverse.

kandle writes Keras 3's `.keras` format with Keras's own `model.weights.h5` (through h5py,
which comes with Keras: `pip install kandle[h5] keras`), so Keras loads the file, optimizer
state included; kandle loads the files Keras writes for models of kandle's layers. Run it
with:

    python examples/keras_interop.py
"""

import os
import tempfile

import numpy as np

import kandle as kd

os.environ.setdefault("KERAS_BACKEND", "jax")
import keras  # noqa: E402  (after choosing its backend)

rng = np.random.default_rng(0)
x = rng.standard_normal((256, 4)).astype(np.float32)
y = (x @ np.array([[1.0], [-2.0], [0.5], [3.0]], np.float32) + 1.0).astype(np.float32)
folder = tempfile.mkdtemp()

# kandle -> Keras
model = kd.Sequential([kd.Input((4,)), kd.layers.Dense(16, activation="relu"), kd.layers.Dense(1)])
model.compile(optimizer=kd.optimizers.Adam(0.01), loss="mse")
model.fit(x, y, epochs=20, batch_size=32, verbose=0)
path = os.path.join(folder, "from_kandle.keras")
model.save(path)  # weights_format="h5", the default wherever h5py is installed
theirs = keras.saving.load_model(path)
gap = np.abs(np.asarray(theirs.predict(x, verbose=0)) - model.predict(x, verbose=0)).max()
print(
    f"Keras loaded kandle's model: max prediction difference {gap:.2e}, "
    f"optimizer at step {int(theirs.optimizer.iterations)}"
)

# Keras -> kandle
theirs.fit(x, y, epochs=5, batch_size=32, verbose=0)
path = os.path.join(folder, "from_keras.keras")
theirs.save(path)
ours = kd.models.load_model(path)
gap = np.abs(ours.predict(x, verbose=0) - np.asarray(theirs.predict(x, verbose=0))).max()
print(
    f"kandle loaded Keras's model: max prediction difference {gap:.2e}, "
    f"optimizer at step {ours.optimizer.iterations}"
)
ours.fit(x, y, epochs=5, batch_size=32, verbose=0)  # and keeps training
print(f"kandle's loss after 5 more epochs: {ours.evaluate(x, y, verbose=0):.4f}")
