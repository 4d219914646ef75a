"""Utilities (``kandle.utils``)."""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from kandle import _core
from kandle.errors import InvalidArgumentError
from kandle.utils.progbar import Progbar
from kandle.utils.py_dataset import PyDataset


def set_random_seed(seed: int) -> None:
    """Seeds every random generator a training script uses, as
    ``keras.utils.set_random_seed``: kandle's (initializers, shuffling, dropout),
    Python's ``random`` (the batch order of a shuffled PyDataset) and numpy's global one.

    >>> import kandle as kd
    >>> kd.utils.set_random_seed(42)
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InvalidArgumentError(f"set_random_seed: expected an integer >= 0, got {seed!r}")
    _core.set_random_seed(int(seed))
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)


def to_categorical(x: Any, num_classes: int | None = None) -> np.ndarray:
    """Class labels to one-hot rows, as ``keras.utils.to_categorical``: a trailing axis
    of size 1 is dropped, ``num_classes`` defaults to the largest label plus one, and
    the result is float64.

    >>> import kandle as kd
    >>> kd.utils.to_categorical([0, 2, 1], num_classes=3)
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.]])
    """
    labels = np.asarray(x)
    if labels.dtype.kind not in "biuf":
        raise InvalidArgumentError(
            f"to_categorical: expected integer class labels, got an array of dtype {labels.dtype}"
        )
    if labels.dtype.kind == "f" and not np.all(np.isfinite(labels) & (labels == np.round(labels))):
        raise InvalidArgumentError("to_categorical: expected whole-number class labels")
    labels = labels.astype(np.int64)
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    flat = labels.reshape(-1)
    if flat.size and flat.min() < 0:
        raise InvalidArgumentError(
            f"to_categorical: class labels must be >= 0, got {int(flat.min())}"
        )
    if num_classes is None or num_classes == 0:
        num_classes = int(flat.max()) + 1 if flat.size else 0
    elif (
        isinstance(num_classes, bool)
        or not isinstance(num_classes, int | np.integer)
        or num_classes < 0
    ):
        raise InvalidArgumentError(
            f"to_categorical: num_classes must be a positive integer or None, got {num_classes!r}"
        )
    if flat.size and flat.max() >= num_classes:
        raise InvalidArgumentError(
            f"to_categorical: class label {int(flat.max())} is out of range for "
            f"num_classes={num_classes}"
        )
    out = np.zeros((flat.size, int(num_classes)))
    out[np.arange(flat.size), flat] = 1.0
    return out.reshape((*shape, int(num_classes)))


__all__ = ["Progbar", "PyDataset", "set_random_seed", "to_categorical"]
