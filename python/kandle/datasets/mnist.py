"""The MNIST digits (``kandle.datasets.mnist``), from Keras's ``mnist.npz``."""

from __future__ import annotations

import numpy as np

from kandle.datasets._cache import check_file_name, get_file
from kandle.errors import KandleIOError

_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
# Keras's published SHA-256 of mnist.npz.
_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
_KEYS = ("x_train", "y_train", "x_test", "y_test")


def load_data(
    path: str = "mnist.npz",
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Loads the MNIST digits as Keras does: ``(x_train, y_train), (x_test, y_test)``,
    uint8 images of shape ``(n, 28, 28)`` and uint8 labels 0-9 (60,000 and 10,000 rows).

    The file ``path`` is read from Keras's cache folder (``$KERAS_HOME/datasets``, by
    default ``~/.keras/datasets``); when it is missing it is downloaded from Keras's
    location, checked against Keras's SHA-256 and written atomically.

    >>> import os, tempfile
    >>> import numpy as np
    >>> import kandle as kd
    >>> home = tempfile.mkdtemp()
    >>> os.makedirs(os.path.join(home, "datasets"))
    >>> digits = np.zeros((3, 28, 28), np.uint8)
    >>> np.savez(os.path.join(home, "datasets", "mnist.npz"), x_train=digits,
    ...          y_train=np.array([5, 0, 4], np.uint8), x_test=digits[:1],
    ...          y_test=np.array([7], np.uint8))
    >>> os.environ["KERAS_HOME"] = home
    >>> (x_train, y_train), (x_test, y_test) = kd.datasets.mnist.load_data()
    >>> del os.environ["KERAS_HOME"]
    >>> x_train.shape, x_train.dtype, y_train.tolist(), y_test.tolist()
    ((3, 28, 28), dtype('uint8'), [5, 0, 4], [7])
    """
    file = get_file(check_file_name("path", path), _ORIGIN, file_hash=_SHA256)
    try:
        with np.load(file, allow_pickle=False) as f:
            arrays = {key: f[key] for key in _KEYS if key in f.files}
            found = list(f.files)
    except (OSError, ValueError) as e:
        raise KandleIOError(f"cannot read {file}: {e}") from e
    if len(arrays) != len(_KEYS):
        raise KandleIOError(
            f"{file} is not Keras's mnist.npz: expected the arrays {list(_KEYS)}, found {found}"
        )
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


__all__ = ["load_data"]
