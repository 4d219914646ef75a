"""Loss functions (``kandle.losses``).

As in Keras, a loss function returns one value per sample: the mean over the last axis.

>>> import kandle as kd
>>> kd.losses.mean_squared_error([[0.0, 1.0]], [[1.0, 1.0]]).numpy()
array([0.5], dtype=float32)
"""

from __future__ import annotations

from typing import Any

from kandle import _core
from kandle._core import Tensor


def mean_squared_error(y_true: Any, y_pred: Any) -> Tensor:
    """``mean((y_pred - y_true) ** 2, axis=-1)``."""
    return _core.mean_squared_error(y_true, y_pred)


mse = mean_squared_error
