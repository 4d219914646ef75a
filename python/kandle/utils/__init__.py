"""Utilities (``kandle.utils``)."""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from kandle import _core
from kandle.errors import InvalidArgumentError, OutOfBoundsError
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


def normalize(x: Any, axis: int = -1, order: float = 2) -> Any:
    """``x`` divided by its ``order``-norm along ``axis``, as ``keras.utils.normalize``:
    vectors of norm 0 are left as they are (their norm counts as 1). A numpy array (or
    anything ``np.asarray`` takes) gives a numpy array of its float dtype; a kandle
    Tensor gives a Tensor.

    >>> import kandle as kd
    >>> kd.utils.normalize([[3.0, 4.0], [0.0, 0.0]])
    array([[0.6, 0.8],
           [0. , 0. ]])
    >>> kd.utils.normalize([[1.0, -3.0]], order=1)
    array([[ 0.25, -0.75]])
    """
    if isinstance(axis, bool) or not isinstance(axis, int | np.integer):
        raise InvalidArgumentError(f"normalize: `axis` must be an int, got axis={axis!r}")
    if isinstance(order, bool) or not isinstance(order, int | float | np.number):
        raise InvalidArgumentError(f"normalize: `order` must be a number, got order={order!r}")
    tensor = isinstance(x, _core.Tensor)
    array = x.numpy() if tensor else np.asarray(x)
    if array.dtype.kind not in "biuf":
        raise InvalidArgumentError(
            f"normalize: expected numbers, got an array of dtype {array.dtype}"
        )
    if not -array.ndim <= axis < max(array.ndim, 1):
        raise OutOfBoundsError(
            f"normalize: axis {axis} is out of bounds for an array of shape {array.shape}"
        )
    if array.dtype.kind != "f":
        array = array.astype(np.float64)
    norm = np.atleast_1d(np.linalg.norm(array, order, axis))
    norm[norm == 0] = 1
    # Keras expands at `axis or -1`, which breaks axis=0; the norm belongs at `axis`.
    result = array / (np.expand_dims(norm, axis) if array.ndim else norm)
    return _core.tensor(result.astype(np.float32)) if tensor else result


__all__ = ["Progbar", "PyDataset", "normalize", "set_random_seed", "to_categorical"]
