"""Weight regularizers, with Keras's classes and defaults (``kandle.regularizers``).

A regularizer called on a weight returns its penalty, a scalar Tensor computed by the
Rust engine; layers add their penalties to the training loss.

>>> import kandle as kd
>>> float(kd.regularizers.L2(0.5)(kd.tensor([1.0, -2.0])))
2.5
"""

from __future__ import annotations

import math
from typing import Any

from kandle import _core
from kandle._config import ConfigObject, deserialize_from, get_from, serialized
from kandle._core import Tensor
from kandle.errors import InvalidArgumentError


def _factor(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgumentError(
            f"Invalid value for argument {name}: expected a float. Received: {name}={value!r}"
        )
    if not math.isfinite(value) or value < 0:
        raise InvalidArgumentError(
            f"Invalid value for argument {name}: expected a non-negative finite float. "
            f"Received: {name}={value!r}"
        )
    return float(value)


class Regularizer(ConfigObject):
    """Base class: ``regularizer(weight)`` is the penalty added to the loss."""

    def __call__(self, x: Any) -> Tensor:
        raise NotImplementedError


class L1L2(Regularizer):
    """``l1 * sum(abs(x)) + l2 * sum(square(x))``.

    >>> import kandle as kd
    >>> float(kd.regularizers.L1L2(l1=1.0, l2=1.0)(kd.tensor([1.0, -2.0])))
    8.0
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1 = _factor("l1", l1)
        self.l2 = _factor("l2", l2)

    def __call__(self, x: Any) -> Tensor:
        return _core.regularization_penalty(x, self.l1, self.l2)

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """``l1 * sum(abs(x))``.

    >>> import kandle as kd
    >>> float(kd.regularizers.L1(0.5)(kd.tensor([1.0, -2.0])))
    1.5
    """

    def __init__(self, l1: float = 0.01) -> None:
        super().__init__(l1=l1)

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


class L2(L1L2):
    """``l2 * sum(square(x))`` (no factor 1/2, as in Keras).

    >>> import kandle as kd
    >>> float(kd.regularizers.L2(0.01)(kd.tensor([3.0, 4.0])))
    0.25
    """

    def __init__(self, l2: float = 0.01) -> None:
        super().__init__(l2=l2)

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


_CLASSES: dict[str, type[Regularizer]] = {"L1": L1, "L2": L2, "L1L2": L1L2}
_ALIASES: dict[str, type[Regularizer]] = {"l1": L1, "l2": L2, "l1_l2": L1L2}


def get(identifier: str | dict[str, Any] | Regularizer | None) -> Regularizer | None:
    """The regularizer for ``identifier``: None, a name (``"l2"``), a Keras config dict,
    or a Regularizer.

    >>> import kandle as kd
    >>> kd.regularizers.get("l2")
    L2(l2=0.01)
    """
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    return get_from(
        identifier,
        _ALIASES,
        _CLASSES,
        "regularizer",
        "None, one of {names}, a config dict or a Regularizer",
    )


def serialize(regularizer: Regularizer | None) -> dict[str, Any] | None:
    """Keras's config of a regularizer, or None.

    >>> import kandle as kd
    >>> kd.regularizers.serialize(kd.regularizers.L2(0.1))["config"]
    {'l2': 0.1}
    """
    if regularizer is None:
        return None
    return serialized(regularizer, "keras.regularizers")


def deserialize(config: dict[str, Any]) -> Regularizer:
    """The regularizer of a Keras config dict (only kandle's own classes are created)."""
    return deserialize_from(_CLASSES, "regularizer", config)


# Keras's lower-case names of the same classes.
l1 = L1
l2 = L2
l1_l2 = L1L2

__all__ = [
    "L1",
    "L1L2",
    "L2",
    "Regularizer",
    "deserialize",
    "get",
    "l1",
    "l1_l2",
    "l2",
    "serialize",
]
