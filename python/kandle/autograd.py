"""Gradients: :func:`grad` and the :class:`no_grad` scope."""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType

from kandle import _core
from kandle._core import Tensor, Variable


def grad(loss: Tensor, variables: Iterable[Tensor]) -> list[Tensor]:
    """Gradients of the scalar ``loss`` with respect to each of ``variables``, in order.

    A variable the loss does not depend on gets zeros of its shape.

    >>> import kandle as kd
    >>> v = kd.Variable([1.0, 2.0])
    >>> kd.grad((v * v).sum(), [v])[0].numpy()
    array([2., 4.], dtype=float32)
    """
    return _core.grad(loss, list(variables))


class no_grad:
    """A context in which ops record nothing for autodiff (inference, updates).

    >>> import kandle as kd
    >>> v = kd.Variable([1.0, 2.0])
    >>> with kd.no_grad():
    ...     y = (v * 3).sum()
    >>> kd.grad(y, [v])[0].numpy()
    array([0., 0.], dtype=float32)
    """

    def __enter__(self) -> no_grad:
        self._previous = _core.set_grad_enabled(False)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _core.set_grad_enabled(self._previous)


__all__ = ["grad", "no_grad", "Tensor", "Variable"]
