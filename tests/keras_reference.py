"""Keras's training semantics, written in numpy from Keras's documented formulas.

Used as the independent reference for kandle's fit/evaluate parity tests: a
multi-layer perceptron of Dense layers, Keras's losses with sample weights and
"sum_over_batch_size", Keras 3's optimizer update rules, and fit's bookkeeping
(batch-size-weighted running means, validation on the last rows).
"""

from __future__ import annotations

import numpy as np

EPS = 1e-7
# Crossentropy clips to [EPS, 1 - EPS] in floatx (float32): 1 - EPS rounds to 1 - 2**-23.
CLIP = (float(np.float32(EPS)), float(np.float32(1 - EPS)))


def softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


ACTIVATIONS = {
    # name: (forward, vector-Jacobian product given the output y and dLoss/dy g)
    "linear": (lambda z: z, lambda y, g: g),
    "relu": (lambda z: np.maximum(z, 0), lambda y, g: g * (y > 0)),
    "tanh": (np.tanh, lambda y, g: g * (1 - y**2)),
    "sigmoid": (sigmoid, lambda y, g: g * y * (1 - y)),
    "softmax": (softmax, lambda y, g: y * (g - (g * y).sum(axis=-1, keepdims=True))),
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
            g = ACTIVATIONS[self.activations[i]][1](hs[i + 1], g)
            grads[2 * i] = hs[i].T @ g
            grads[2 * i + 1] = g.sum(axis=0)
            g = g @ self.params[2 * i].T
        return grads


# Each loss: per-sample values and dLoss_i/dOutput, given the last layer's output
# (keras/src/losses/losses.py and the backends' nn.*_crossentropy).
def one_hot(y, classes):
    return np.eye(classes)[np.asarray(y).reshape(-1).astype(int)]


def loss_sparse_ce_logits(y, z):
    return loss_cce_logits(one_hot(y, z.shape[-1]), z)


def loss_mse(y, p):
    per = ((p - y) ** 2).mean(axis=-1)
    return per, 2 * (p - y) / p.shape[-1]


def loss_mae(y, p):
    return np.abs(p - y).mean(axis=-1), np.sign(p - y) / p.shape[-1]


def loss_huber(y, p, delta=1.0):
    """where(|e| <= delta, e^2 / 2, delta * |e| - delta^2 / 2), mean over the last axis."""
    e = p - y
    small = np.abs(e) <= delta
    per = np.where(small, 0.5 * e**2, delta * np.abs(e) - 0.5 * delta**2).mean(axis=-1)
    return per, np.where(small, e, delta * np.sign(e)) / p.shape[-1]


def loss_bce_logits(y, z):
    per = (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).mean(axis=-1)
    return per, (sigmoid(z) - y) / z.shape[-1]


def loss_bce(y, p, label_smoothing=0.0):
    """Smoothing toward 0.5, then probabilities clipped to CLIP."""
    y = y * (1 - label_smoothing) + 0.5 * label_smoothing
    pc = np.clip(p, *CLIP)
    per = -(y * np.log(pc) + (1 - y) * np.log(1 - pc)).mean(axis=-1)
    d = -(y / pc - (1 - y) / (1 - pc)) * (pc == p) / p.shape[-1]
    return per, d


def loss_cce_logits(y, z):
    per = -(y * np.log(softmax(z))).sum(axis=-1)
    return per, softmax(z) * y.sum(axis=-1, keepdims=True) - y


def loss_cce(y, p, label_smoothing=0.0):
    """Smoothing toward 1/classes; probabilities renormalized to sum 1, then clipped."""
    y = y * (1 - label_smoothing) + label_smoothing / y.shape[-1]
    total = p.sum(axis=-1, keepdims=True)
    q = p / total
    qc = np.clip(q, *CLIP)
    g = -y / qc * (qc == q)  # dLoss/dq
    return -(y * np.log(qc)).sum(axis=-1), (g - (g * q).sum(axis=-1, keepdims=True)) / total


def loss_sparse_ce(y, p):
    return loss_cce(one_hot(y, p.shape[-1]), p)


LOSSES = {
    "sparse_ce_logits": loss_sparse_ce_logits,
    "sparse_ce": loss_sparse_ce,
    "mse": loss_mse,
    "mae": loss_mae,
    "huber": loss_huber,
    "bce_logits": loss_bce_logits,
    "bce": loss_bce,
    "cce_logits": loss_cce_logits,
    "cce": loss_cce,
}


def reduced_loss(loss, y, out, sw, reduction="sum_over_batch_size"):
    """Keras: sum(per * w), divided by the number of per-sample values unless the
    reduction is "sum"; and its gradient. `loss` is a LOSSES key or a callable."""
    per, d = (LOSSES[loss] if isinstance(loss, str) else loss)(np.asarray(y, np.float64), out)
    w = np.ones(len(per)) if sw is None else np.asarray(sw, np.float64).reshape(-1)
    n = 1 if reduction == "sum" else per.size
    return float((per * w).sum() / n), d * (w / n)[:, None], per


# Metrics (keras/src/metrics/): each is f(y, y_pred, w) over everything seen since the
# last reset, w being the sample weights (ones when none are given). Keras accumulates
# sums batch by batch, which gives the same result as one call on the concatenation.
def weighted_mean(values, w):
    """Mean-based metrics: values reduced to one per sample (mean over the other axes),
    then total = sum(values * w) and count = sum(w)."""
    values = values.reshape(len(w), -1).mean(axis=-1)
    return float((values * w).sum() / w.sum())


def in_top_k(labels, p, k):
    """ops.in_top_k: fewer than k classes score strictly higher than the label's."""
    labels = np.asarray(labels).reshape(-1).astype(int)
    return (p > p[np.arange(len(p)), labels][:, None]).sum(axis=-1) < k


def sparse_accuracy(y, z):
    return (z.argmax(axis=-1) == y.reshape(-1)).astype(np.float64)


def confusion(y, p, w, thresholds):
    """update_confusion_matrix_variables: every element of y_pred is one prediction,
    positive when strictly above the threshold; weights broadcast to y_pred's shape.
    Returns tp, fp, tn, fn, one per threshold."""
    y = y.reshape(p.shape).reshape(-1).astype(bool)
    w = np.broadcast_to(w.reshape(len(w), *([1] * (p.ndim - 1))), p.shape).reshape(-1)
    pos = p.reshape(-1)[None, :] > np.asarray(thresholds, np.float64).reshape(-1, 1)
    return ((pos & y) @ w, (pos & ~y) @ w, (~pos & ~y) @ w, (~pos & y) @ w)


def divide_no_nan(a, b):
    return np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b))


def auc(y, p, w, curve="ROC", num_thresholds=200):
    """AUC with summation_method="interpolation": Keras's thresholds
    [-EPS, 1/(n-1), ..., (n-2)/(n-1), 1 + EPS]; mid-point Riemann sum of TPR over FPR for
    ROC; for PR, Davis & Goadrich's interpolation (AUC.interpolate_pr_auc)."""
    inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    tp, fp, tn, fn = confusion(y, p, w, [-EPS, *inner, 1 + EPS])
    if curve == "ROC":
        x, h = divide_no_nan(fp, fp + tn), divide_no_nan(tp, tp + fn)
        return float(((x[:-1] - x[1:]) * (h[:-1] + h[1:]) / 2).sum())
    dtp = tp[:-1] - tp[1:]
    pp = tp + fp
    slope = divide_no_nan(dtp, np.maximum(pp[:-1] - pp[1:], 0))
    intercept = tp[1:] - slope * pp[1:]
    both = (pp[:-1] > 0) & (pp[1:] > 0)
    ratio = np.where(both, divide_no_nan(pp[:-1], np.maximum(pp[1:], 0)), 1.0)
    inc = divide_no_nan(slope * (dtp + intercept * np.log(ratio)), np.maximum(tp[1:] + fn[1:], 0))
    return float(inc.sum())


def _precision(y, p, w, thresholds=0.5):
    tp, fp, _, _ = confusion(y, p, w, [thresholds])
    return float(divide_no_nan(tp, tp + fp)[0])


def _recall(y, p, w, thresholds=0.5):
    tp, _, _, fn = confusion(y, p, w, [thresholds])
    return float(divide_no_nan(tp, tp + fn)[0])


METRICS = {
    "binary_accuracy": lambda y, p, w: weighted_mean((p > 0.5) == y.reshape(p.shape), w),
    "categorical_accuracy": lambda y, p, w: weighted_mean(
        y.argmax(axis=-1) == p.argmax(axis=-1), w
    ),
    "sparse_categorical_accuracy": lambda y, p, w: weighted_mean(sparse_accuracy(y, p), w),
    "top_k_categorical_accuracy": lambda y, p, w, k=5: weighted_mean(
        in_top_k(y.argmax(axis=-1), p, k), w
    ),
    "sparse_top_k_categorical_accuracy": lambda y, p, w, k=5: weighted_mean(in_top_k(y, p, k), w),
    "mean_squared_error": lambda y, p, w: weighted_mean((p - y.reshape(p.shape)) ** 2, w),
    "mean_absolute_error": lambda y, p, w: weighted_mean(np.abs(p - y.reshape(p.shape)), w),
    "root_mean_squared_error": lambda y, p, w: np.sqrt(
        weighted_mean((p - y.reshape(p.shape)) ** 2, w)
    ),
    "precision": _precision,
    "recall": _recall,
    "auc": auc,
}


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


def _run(mlp, loss, x, y, sw, batch_size, metrics, reduction, opt=None, weighted=None):
    """One pass over the data in order: each batch's loss and predictions come from the
    weights before that batch's update. Returns the logs: loss as the batch-size-weighted
    mean of the batch losses, metrics over every (y, y_pred) seen. Keras's rule: the
    sample weights reach only the `weighted` metrics (compile's `weighted_metrics`)."""
    tot_loss, seen = 0.0, []
    for start in range(0, len(x), batch_size):
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        swb = None if sw is None else sw[start : start + batch_size]
        hs = mlp.forward(xb)
        value, d, _ = reduced_loss(loss, yb, hs[-1], swb, reduction)
        if opt is not None:
            opt.apply(mlp.params, mlp.grads(hs, d))
        tot_loss += value * len(xb)
        w = np.ones(len(xb)) if swb is None else np.asarray(swb, np.float64).reshape(-1)
        seen.append((np.asarray(yb, np.float64), hs[-1], w))
    ys, ps, ws = (np.concatenate(a) for a in zip(*seen))
    logs = {"loss": tot_loss / len(x)}
    for name, fn in (metrics or {}).items():
        logs[name] = fn(ys, ps, np.ones_like(ws))
    for name, fn in (weighted or {}).items():
        logs[name] = fn(ys, ps, ws)
    return logs


def _metrics(metrics, accuracy):
    if accuracy:
        return {"accuracy": METRICS["sparse_categorical_accuracy"], **(metrics or {})}
    return metrics


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
    metrics=None,
    reduction="sum_over_batch_size",
    weighted_metrics=None,
):
    """Keras fit with shuffle=False: returns the history dict. `metrics` and
    `weighted_metrics` map History keys to METRICS-style functions; `accuracy=True` adds
    sparse categorical accuracy."""
    history: dict[str, list[float]] = {}
    metrics = _metrics(metrics, accuracy)
    for _ in range(initial_epoch, epochs):
        logs = _run(mlp, loss, x, y, sw, batch_size, metrics, reduction, opt, weighted_metrics)
        if val is not None:
            val_logs = evaluate(
                mlp,
                loss,
                *val,
                batch_size=batch_size,
                metrics=metrics,
                reduction=reduction,
                weighted_metrics=weighted_metrics,
            )
            logs.update({"val_" + k: v for k, v in val_logs.items()})
        for k, v in logs.items():
            history.setdefault(k, []).append(v)
    return history


def evaluate(
    mlp,
    loss,
    x,
    y,
    sw=None,
    batch_size=32,
    accuracy=False,
    metrics=None,
    reduction="sum_over_batch_size",
    weighted_metrics=None,
):
    return _run(
        mlp,
        loss,
        x,
        y,
        sw,
        batch_size,
        _metrics(metrics, accuracy),
        reduction,
        weighted=weighted_metrics,
    )


# ----------------------------------------------------------- comparing kandle with it

# float32 training against this float64 replay.
RTOL, ATOL = 2e-5, 2e-6


def assert_logs(got, want):
    """A History (or evaluate logs) matches the replay's, key for key."""
    assert sorted(got) == sorted(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=RTOL, atol=ATOL, err_msg=key)


def assert_weights(model, mlp):
    """A kandle model's weights match the replay's MLP parameters."""
    for got, want in zip(model.get_weights(), mlp.params):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
