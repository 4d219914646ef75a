"""Linear regression with kandle: recover y = 3·x1 + x2 − 2 from four points.

The seed program of the kandle proposal (and candle-nn's `tests/optim.rs`): a weight
w (1×2) and bias b start at zero, the loss is the sum of squared errors, and SGD with
learning rate 0.004 runs 1000 steps. Run it with:

    python examples/linear_regression.py
"""

import numpy as np

import kandle as kd

x = kd.tensor([[2.0, 1.0], [7.0, 4.0], [-4.0, 12.0], [5.0, 8.0]])
y = x @ kd.tensor([[3.0], [1.0]]) - 2.0  # the targets, from the true line

w = kd.Variable(np.zeros((1, 2)), name="w")
b = kd.Variable(0.0, name="b")
optimizer = kd.optimizers.SGD(learning_rate=0.004)

for epoch in range(1, 1001):
    prediction = x @ w.T + b
    loss = ((prediction - y) ** 2).sum()
    optimizer.apply(kd.grad(loss, [w, b]), [w, b])
    if epoch <= 10 or epoch % 100 == 0:
        print(f"Epoch: {epoch}, Loss: {loss.item():.4f}")

print(f"w = {w.numpy().ravel()}, b = {b.item():.4f}  (true: w = [3. 1.], b = -2)")
