"""kandle: Keras's API on a compiled Rust engine.

>>> import kandle as kd
>>> w = kd.Variable([[0.0, 0.0]])
>>> loss = ((kd.tensor([[1.0, 2.0]]) @ w.T - 3.0) ** 2).sum()
>>> kd.grad(loss, [w])[0].numpy()
array([[ -6., -12.]], dtype=float32)
"""

import sys
from types import ModuleType

from kandle import (
    activations,
    backend,
    callbacks,
    config,
    datasets,
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
    "datasets",
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


def _show_only_public_names(module: ModuleType) -> None:
    """Makes ``dir(module)`` list the module's ``__all__`` rather than every helper it
    imports (``np``, ``Any``, ...), for this module and the public modules it exports
    (PEP 562's module ``__dir__``). A module without ``__all__`` is left as it is;
    tests/test_public_api.py asks every public module for one."""
    public = getattr(module, "__all__", None)
    if public is None or "__dir__" in vars(module):
        return
    names = sorted(public)
    module.__dir__ = lambda: list(names)  # type: ignore[method-assign]
    for name in names:
        value = getattr(module, name, None)
        if isinstance(value, ModuleType) and value.__name__.startswith(f"{__name__}."):
            _show_only_public_names(value)


_show_only_public_names(sys.modules[__name__])
