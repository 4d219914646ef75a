"""candle-nn's SGD linear-regression fixture (tests/optim.rs), and the examples as scripts."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import kandle as kd

REPO_ROOT = Path(__file__).resolve().parent.parent

X = np.array([[2.0, 1.0], [7.0, 4.0], [-4.0, 12.0], [5.0, 8.0]], dtype=np.float32)
Y = (3.0 * X[:, :1] + X[:, 1:] - 2.0).astype(np.float32)  # y = 3 x1 + x2 - 2, shape (4, 1)

# candle-nn's published values after 1000 steps of SGD(lr=0.004) on the summed squared error.
W_EXPECTED = np.array([2.9983196, 0.99790204])
B_EXPECTED = -1.9796902
STEPS = 1000
LR = 0.004


def _step(opt, method, loss, variables):
    gradients = kd.grad(loss, variables)
    if method == "apply":
        opt.apply(gradients, variables)
    else:
        opt.apply_gradients(zip(gradients, variables))


def _sse(pred, y):
    return ((pred - y) ** 2).sum()


@pytest.mark.parametrize("method", ["apply", "apply_gradients"])
def test_candle_linear_regression_with_variables(method):
    w = kd.Variable(np.zeros((1, 2), dtype=np.float32))
    b = kd.Variable(0.0)
    x, y = kd.tensor(X), kd.tensor(Y)
    opt = kd.optimizers.SGD(learning_rate=LR)
    first_loss = None
    for _ in range(STEPS):
        loss = _sse(x @ w.T + b, y)
        if first_loss is None:
            first_loss = float(loss.numpy())
        _step(opt, method, loss, [w, b])
    assert w.shape == (1, 2) and b.shape == ()
    np.testing.assert_allclose(w.numpy()[0], W_EXPECTED, rtol=0, atol=1e-4)
    np.testing.assert_allclose(b.numpy(), B_EXPECTED, rtol=0, atol=1e-4)
    final_loss = float(_sse(x @ w.T + b, y).numpy())
    assert first_loss == pytest.approx(float((Y**2).sum()))
    assert final_loss < 1e-3 < first_loss


def test_candle_linear_regression_with_dense():
    layer = kd.layers.Dense(1)
    layer(X)  # build
    layer.weight.assign(np.zeros((1, 2), dtype=np.float32))
    layer.bias.assign(np.zeros((1,), dtype=np.float32))
    y = kd.tensor(Y)
    opt = kd.optimizers.SGD(learning_rate=LR)
    for _ in range(STEPS):
        _step(opt, "apply", _sse(layer(X), y), layer.trainable_weights)
    np.testing.assert_allclose(layer.weight.numpy(), W_EXPECTED[None, :], rtol=0, atol=1e-4)
    np.testing.assert_allclose(layer.bias.numpy(), [B_EXPECTED], rtol=0, atol=1e-4)


# --------------------------------------------------------------------------- examples

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def _run_example(name):
    script = REPO_ROOT / "examples" / name
    assert script.is_file(), f"missing example {script}"
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_linear_regression_example_runs_and_loss_decreases():
    out = _run_example("linear_regression.py")
    loss_lines = [line for line in out.splitlines() if "loss" in line.lower()]
    assert loss_lines, out
    # "Epoch: 1, Loss: 32.96": compare the values printed right after "loss" on the first
    # and last such lines, when both have one.
    pattern = re.compile(r"loss\s*[:=]?\s*(" + _NUMBER + ")", flags=re.IGNORECASE)
    first, last = pattern.search(loss_lines[0]), pattern.search(loss_lines[-1])
    if first and last and len(loss_lines) > 1:
        assert float(last.group(1)) < float(first.group(1)), out


def test_forward_mlp_example_prints_output_shape():
    out = _run_example("forward_mlp.py")
    assert "(1, 10)" in out, out
