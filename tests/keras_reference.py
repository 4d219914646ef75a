"""Keras's training semantics, written in numpy from Keras's documented formulas.

Used as the independent reference for kandle's fit/evaluate parity tests: a
multi-layer perceptron of Dense layers, Keras's losses with sample weights and
"sum_over_batch_size", Keras 3's optimizer update rules, and fit's bookkeeping
(batch-size-weighted running means, validation on the last rows).
"""

from __future__ import annotations

import numpy as np

EPS = 1e-7


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


ACTIVATIONS = {
    # name: (forward, derivative from the output)
    "linear": (lambda z: z, lambda y: np.ones_like(y)),
    "relu": (lambda z: np.maximum(z, 0), lambda y: (y > 0).astype(y.dtype)),
    "tanh": (np.tanh, lambda y: 1 - y**2),
    "sigmoid": (sigmoid, lambda y: y * (1 - y)),
}


class MLP:
    """Dense layers with Keras-layout kernels (in, out), in float64."""

    def __init__(self, weights, activations):
        self.params = [np.array(w, dtype=np.float64) for w in weights]
        self.activations = activations

    def forward(self, x):
        hs = [np.asarray(x, np.float64)]
        for i, act in enumerate(self.activations):
            k, b = self.params[2 * i], self.params[2 * i + 1]
            hs.append(ACTIVATIONS[act][0](hs[-1] @ k + b))
        return hs

    def grads(self, hs, d_out):
        """Gradients of the params given dLoss/dOutput of the last layer."""
        grads = [None] * len(self.params)
        g = d_out
        for i in reversed(range(len(self.activations))):
            g = g * ACTIVATIONS[self.activations[i]][1](hs[i + 1])
            grads[2 * i] = hs[i].T @ g
            grads[2 * i + 1] = g.sum(axis=0)
            g = g @ self.params[2 * i].T
        return grads


# Each loss: per-sample values and dLoss_i/dOutput, given the last layer's output.
def loss_sparse_ce_logits(y, z):
    labels = y.reshape(-1).astype(int)
    logp = np.log(softmax(z))
    per = -logp[np.arange(len(z)), labels]
    d = softmax(z)
    d[np.arange(len(z)), labels] -= 1
    return per, d


def loss_mse(y, p):
    per = ((p - y) ** 2).mean(axis=-1)
    return per, 2 * (p - y) / p.shape[-1]


def loss_bce_logits(y, z):
    per = (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).mean(axis=-1)
    return per, (sigmoid(z) - y) / z.shape[-1]


def loss_cce_logits(y, z):
    per = -(y * np.log(softmax(z))).sum(axis=-1)
    return per, softmax(z) * y.sum(axis=-1, keepdims=True) - y


LOSSES = {
    "sparse_ce_logits": loss_sparse_ce_logits,
    "mse": loss_mse,
    "bce_logits": loss_bce_logits,
    "cce_logits": loss_cce_logits,
}


def reduced_loss(loss, y, out, sw):
    """Keras: sum(per * w) / number of per-sample values; and its gradient."""
    per, d = LOSSES[loss](y, out)
    w = np.ones(len(per)) if sw is None else np.asarray(sw, np.float64).reshape(-1)
    n = per.size
    return float((per * w).sum() / n), d * (w / n)[:, None], per


def sparse_accuracy(y, z):
    return (z.argmax(axis=-1) == y.reshape(-1)).astype(np.float64)


class Optimizer:
    """Keras 3 update rules (base_optimizer.apply: clip, weight decay, update)."""

    def __init__(self, kind, lr, **kw):
        self.kind, self.lr, self.kw = kind, lr, kw
        self.iterations = 0
        self.slots = None

    def apply(self, params, grads):
        kw, lr = self.kw, self.lr
        if self.slots is None:
            init = kw.get("initial_accumulator_value", 0.0) if self.kind == "adagrad" else 0.0
            self.slots = [[np.full_like(p, init), np.zeros_like(p)] for p in params]
        wd = kw.get("weight_decay")
        if self.kind == "adamw":
            wd = kw.get("weight_decay", 0.004)
        t = self.iterations + 1
        for p, g, (s1, s2) in zip(params, grads, self.slots):
            if wd:
                p -= p * wd * lr
            if self.kind == "sgd":
                m = kw.get("momentum", 0.0)
                if m:
                    s1[...] = m * s1 - lr * g
                    if kw.get("nesterov"):
                        p += m * s1 - lr * g
                    else:
                        p += s1
                else:
                    p -= lr * g
            elif self.kind in ("adam", "adamw"):
                b1, b2, eps = (
                    kw.get("beta_1", 0.9),
                    kw.get("beta_2", 0.999),
                    kw.get("epsilon", 1e-7),
                )
                alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
                s1 += (g - s1) * (1 - b1)
                s2 += (g * g - s2) * (1 - b2)
                p -= alpha * s1 / (np.sqrt(s2) + eps)
            elif self.kind == "rmsprop":
                rho, eps = kw.get("rho", 0.9), kw.get("epsilon", 1e-7)
                s1[...] = rho * s1 + (1 - rho) * g * g
                p -= lr * g / np.sqrt(s1 + eps)
            elif self.kind == "adagrad":
                eps = kw.get("epsilon", 1e-7)
                s1 += g * g
                p -= lr * g / np.sqrt(s1 + eps)
            else:
                raise ValueError(self.kind)
        self.iterations += 1


def fit(
    mlp,
    opt,
    loss,
    x,
    y,
    sw=None,
    epochs=1,
    batch_size=32,
    val=None,
    initial_epoch=0,
    accuracy=False,
):
    """Keras fit with shuffle=False: returns the history dict."""
    history: dict[str, list[float]] = {}

    def record(key, value):
        history.setdefault(key, []).append(value)

    for _ in range(initial_epoch, epochs):
        tot_loss = tot_n = acc_num = acc_den = 0.0
        for start in range(0, len(x), batch_size):
            xb, yb = x[start : start + batch_size], y[start : start + batch_size]
            swb = None if sw is None else sw[start : start + batch_size]
            hs = mlp.forward(xb)
            value, d, _ = reduced_loss(loss, yb, hs[-1], swb)
            opt.apply(mlp.params, mlp.grads(hs, d))
            tot_loss += value * len(xb)
            tot_n += len(xb)
            if accuracy:
                w = np.ones(len(xb)) if swb is None else swb
                acc_num += (sparse_accuracy(yb, hs[-1]) * w).sum()
                acc_den += w.sum()
        record("loss", tot_loss / tot_n)
        if accuracy:
            record("accuracy", acc_num / acc_den)
        if val is not None:
            logs = evaluate(mlp, loss, *val, batch_size=batch_size, accuracy=accuracy)
            for k, v in logs.items():
                record("val_" + k, v)
    return history


def evaluate(mlp, loss, x, y, sw=None, batch_size=32, accuracy=False):
    tot_loss = tot_n = acc_num = acc_den = 0.0
    for start in range(0, len(x), batch_size):
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        swb = None if sw is None else sw[start : start + batch_size]
        out = mlp.forward(xb)[-1]
        value, _, _ = reduced_loss(loss, yb, out, swb)
        tot_loss += value * len(xb)
        tot_n += len(xb)
        if accuracy:
            w = np.ones(len(xb)) if swb is None else swb
            acc_num += (sparse_accuracy(yb, out) * w).sum()
            acc_den += w.sum()
    logs = {"loss": tot_loss / tot_n}
    if accuracy:
        logs["accuracy"] = acc_num / acc_den
    return logs
