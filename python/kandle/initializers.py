"""Weight initializers, by Keras's names (``kandle.initializers``).

Random draws come from kandle's seedable generator (``kandle.utils.set_random_seed``).

>>> import kandle as kd
>>> kd.initializers.get("zeros")((2, 3)).shape
(2, 3)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from kandle import _core
from kandle.errors import InvalidArgumentError

NAMES = (
    "zeros",
    "ones",
    "random_uniform",
    "random_normal",
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_uniform",
    "lecun_normal",
)


def compute_fans(shape: Sequence[int]) -> tuple[int, int]:
    """Keras's fans: ``(in, out)`` of a kernel; a vector counts as both."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


Initializer = Callable[[Sequence[int]], np.ndarray]


def get(identifier: str | Initializer) -> Initializer:
    """A function ``shape -> float32 array`` for the initializer called ``identifier``.

    Shapes are in Keras's layout (a Dense kernel is ``(in, out)``).
    """
    if callable(identifier):
        return identifier
    if not isinstance(identifier, str) or identifier not in NAMES:
        raise InvalidArgumentError(
            f"Could not interpret initializer identifier: {identifier!r}; expected one of {NAMES}"
        )

    def initialize(shape: Sequence[int]) -> np.ndarray:
        fan_in, fan_out = compute_fans(tuple(shape))
        return _core.initialize(identifier, tuple(shape), fan_in, fan_out)

    initialize.__name__ = identifier
    return initialize
