"""Optimizers (``kandle.optimizers``), with Keras 3's ``apply`` and ``apply_gradients``.

>>> import kandle as kd
>>> v = kd.Variable([1.0, 2.0])
>>> kd.optimizers.SGD(learning_rate=0.5).apply([kd.tensor([1.0, 1.0])], [v])
>>> v.numpy()
array([0.5, 1.5], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from kandle import _core
from kandle._core import Tensor, Variable
from kandle.errors import InvalidArgumentError


class Optimizer:
    """Base class: updates variables in place from their gradients."""

    def __init__(self, learning_rate: float, name: str | None = None) -> None:
        if not isinstance(learning_rate, int | float) or learning_rate < 0:
            raise InvalidArgumentError(
                "Argument `learning_rate` should be a float >= 0. "
                f"Received: learning_rate={learning_rate!r}"
            )
        self.learning_rate = float(learning_rate)
        self.name = name or type(self).__name__.lower()
        self.iterations = 0

    def apply(self, grads: Sequence[Tensor], trainable_variables: Sequence[Variable]) -> None:
        """Updates ``trainable_variables[i]`` from ``grads[i]``."""
        grads, variables = list(grads), list(trainable_variables)
        if len(grads) != len(variables):
            raise InvalidArgumentError(
                f"apply: got {len(grads)} gradients for {len(variables)} variables; "
                "expected one gradient per variable"
            )
        self._apply(grads, variables)
        self.iterations += 1

    def apply_gradients(self, grads_and_vars: Iterable[tuple[Tensor, Variable]]) -> None:
        """Keras 2's form: an iterable of ``(gradient, variable)`` pairs."""
        pairs = list(grads_and_vars)
        self.apply([g for g, _ in pairs], [v for _, v in pairs])

    def _apply(self, grads: list[Tensor], variables: list[Variable]) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent: ``v -= learning_rate * g`` (Keras's default 0.01).

    >>> import kandle as kd
    >>> kd.optimizers.SGD().learning_rate
    0.01
    """

    def __init__(self, learning_rate: float = 0.01, name: str | None = None) -> None:
        super().__init__(learning_rate, name)

    def _apply(self, grads: list[Tensor], variables: list[Variable]) -> None:
        _core.sgd_apply(grads, variables, self.learning_rate)
