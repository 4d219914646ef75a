"""kandle: Keras's API on a compiled Rust engine.

>>> import kandle as kd
>>> w = kd.Variable([[0.0, 0.0]])
>>> loss = ((kd.tensor([[1.0, 2.0]]) @ w.T - 3.0) ** 2).sum()
>>> kd.grad(loss, [w])[0].numpy()
array([[ -6., -12.]], dtype=float32)
"""

from kandle import (
    activations,
    backend,
    callbacks,
    config,
    errors,
    initializers,
    layers,
    losses,
    metrics,
    models,
    ops,
    optimizers,
    regularizers,
    saving,
    utils,
)
from kandle._core import Tensor, Variable, __version__, tensor
from kandle.autograd import grad, no_grad
from kandle.models import Input, Model, Sequential

__all__ = [
    "Input",
    "Model",
    "Sequential",
    "Tensor",
    "Variable",
    "__version__",
    "activations",
    "backend",
    "callbacks",
    "config",
    "errors",
    "grad",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "models",
    "no_grad",
    "ops",
    "optimizers",
    "regularizers",
    "saving",
    "tensor",
    "utils",
]
