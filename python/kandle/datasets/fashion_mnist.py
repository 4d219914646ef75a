"""Fashion-MNIST (``kandle.datasets.fashion_mnist``), from Keras's gzipped IDX files."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from kandle.datasets._cache import get_file
from kandle.errors import KandleIOError

_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
# Keras's cache folder for these files, below the Keras home.
_CACHE_SUBDIR = "datasets/fashion-mnist"
_FILES = (
    "train-labels-idx1-ubyte.gz",
    "train-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
)
# IDX magic numbers: unsigned bytes with 1 (labels) or 3 (images) dimensions.
_LABELS_MAGIC, _IMAGES_MAGIC = 0x801, 0x803


def _read_idx(path: Path, magic: int, dims: int) -> np.ndarray:
    """The uint8 array of a gzipped IDX file with ``dims`` dimensions."""
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise KandleIOError(f"cannot read {path}: {e}") from e
    header = 4 + 4 * dims
    if len(data) < header:
        raise KandleIOError(f"{path} is not an IDX file: only {len(data)} bytes")
    found, *shape = (int(v) for v in np.frombuffer(data[:header], ">u4"))
    if found != magic or len(data) - header != int(np.prod(shape)):
        raise KandleIOError(
            f"{path} is not an IDX file of {dims}-D uint8 data: expected magic {magic:#x} and "
            f"{int(np.prod(shape))} values after the header, got magic {found:#x} and "
            f"{len(data) - header} values"
        )
    return np.frombuffer(data, np.uint8, offset=header).reshape(shape)


def load_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Loads Fashion-MNIST as Keras does: ``(x_train, y_train), (x_test, y_test)``, uint8
    images of shape ``(n, 28, 28)`` and uint8 labels 0-9 (60,000 and 10,000 rows).

    The four gzipped IDX files are read from Keras's cache folder
    (``$KERAS_HOME/datasets/fashion-mnist``, by default under ``~/.keras``); missing ones
    are downloaded from Keras's location and written atomically. Keras publishes no
    checksum for these files, so, as in Keras, a download is checked only by its format.

    >>> import gzip, os, tempfile
    >>> import numpy as np
    >>> import kandle as kd
    >>> home = tempfile.mkdtemp()
    >>> folder = os.path.join(home, "datasets", "fashion-mnist")
    >>> os.makedirs(folder)
    >>> def write(name, magic, shape):
    ...     header = np.array([magic, *shape], ">u4").tobytes()
    ...     with gzip.open(os.path.join(folder, name), "wb") as f:
    ...         _ = f.write(header + bytes(int(np.prod(shape))))
    >>> for part, n in [("train", 2), ("t10k", 1)]:
    ...     write(f"{part}-labels-idx1-ubyte.gz", 0x801, [n])
    ...     write(f"{part}-images-idx3-ubyte.gz", 0x803, [n, 28, 28])
    >>> os.environ["KERAS_HOME"] = home
    >>> (x_train, y_train), (x_test, y_test) = kd.datasets.fashion_mnist.load_data()
    >>> del os.environ["KERAS_HOME"]
    >>> x_train.shape, x_test.shape, y_train.dtype
    ((2, 28, 28), (1, 28, 28), dtype('uint8'))
    """
    paths = [get_file(name, _ORIGIN + name, cache_subdir=_CACHE_SUBDIR) for name in _FILES]
    y_train = _read_idx(paths[0], _LABELS_MAGIC, 1)
    x_train = _read_idx(paths[1], _IMAGES_MAGIC, 3)
    y_test = _read_idx(paths[2], _LABELS_MAGIC, 1)
    x_test = _read_idx(paths[3], _IMAGES_MAGIC, 3)
    for part, x, y in [("train", x_train, y_train), ("test", x_test, y_test)]:
        if len(x) != len(y):
            raise KandleIOError(
                f"fashion_mnist: the {part} files hold {len(x)} images but {len(y)} labels"
            )
    return (x_train, y_train), (x_test, y_test)


__all__ = ["load_data"]
