"""The proposal's 784 → 100 → 10 network with relu, run forward on one random image.

python examples/forward_mlp.py
"""

import numpy as np

import kandle as kd

kd.utils.set_random_seed(0)
hidden = kd.layers.Dense(100, activation="relu")
output = kd.layers.Dense(10)

image = np.random.default_rng(0).standard_normal((1, 784)).astype(np.float32)
logits = output(hidden(image))

print("output shape:", logits.shape)
print("digit:", int(np.argmax(logits.numpy())))
print("probabilities:", np.round(kd.ops.softmax(logits).numpy(), 3))
