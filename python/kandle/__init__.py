"""kandle: Keras's API on a compiled Rust engine.

>>> import kandle as kd
>>> w = kd.Variable([[0.0, 0.0]])
>>> loss = ((kd.tensor([[1.0, 2.0]]) @ w.T - 3.0) ** 2).sum()
>>> kd.grad(loss, [w])[0].numpy()
array([[ -6., -12.]], dtype=float32)
"""

from kandle import (
    activations,
    config,
    errors,
    initializers,
    layers,
    losses,
    ops,
    optimizers,
    regularizers,
    utils,
)
from kandle._core import Tensor, Variable, __version__, tensor
from kandle.autograd import grad, no_grad

__all__ = [
    "Tensor",
    "Variable",
    "__version__",
    "activations",
    "config",
    "errors",
    "grad",
    "initializers",
    "layers",
    "losses",
    "no_grad",
    "ops",
    "optimizers",
    "regularizers",
    "tensor",
    "utils",
]
