"""CIFAR-10 (``kandle.datasets.cifar10``), from Keras's copy of the
``cifar-10-python.tar.gz`` archive of pickled batches."""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np

from kandle.datasets._cache import dataset_dir, get_file, load_pickle
from kandle.errors import KandleIOError

_ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
# Keras's published SHA-256 of the archive.
_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
# Keras 3 keeps the archive as `<name>_archive` and extracts it into `<name>/`; older
# Keras kept `cifar-10-batches-py.tar.gz` and extracted `cifar-10-batches-py/`.
_NAME = "cifar-10-batches-py-target"
_ARCHIVE = f"{_NAME}_archive"
_INNER = "cifar-10-batches-py"
_BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


def _batch(data: bytes, what: str) -> tuple[np.ndarray, np.ndarray]:
    """One pickled batch: images ``(n, 3, 32, 32)`` and labels ``(n,)``, uint8."""
    batch = load_pickle(data, what)
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise KandleIOError(f"{what} is not a CIFAR-10 batch: expected a dict with data and labels")
    images, labels = np.asarray(batch[b"data"]), np.asarray(batch[b"labels"])
    if images.dtype != np.uint8 or images.ndim != 2 or images.shape[1] != 3 * 32 * 32:
        raise KandleIOError(
            f"{what}: expected uint8 data of shape (n, 3072), got {images.dtype} {images.shape}"
        )
    if labels.shape != (len(images),):
        raise KandleIOError(
            f"{what}: expected {len(images)} labels for {len(images)} images, got shape "
            f"{labels.shape}"
        )
    return images.reshape(-1, 3, 32, 32), labels.astype(np.uint8)


def _batch_bytes() -> dict[str, bytes]:
    """The pickled batches by name, from the first of Keras's cached copies (extracted
    folders, then archives); the archive is downloaded if there is none."""
    folder = dataset_dir()
    for extracted in (folder / _NAME / _INNER, folder / _INNER):
        if all((extracted / name).is_file() for name in _BATCHES):
            return {name: (extracted / name).read_bytes() for name in _BATCHES}
    archive = next(
        (p for p in (folder / _ARCHIVE, folder / f"{_INNER}.tar.gz") if p.is_file()), None
    )
    if archive is None:
        archive = get_file(_ARCHIVE, _ORIGIN, file_hash=_SHA256)
    return _read_archive(archive)


def _read_archive(archive: Path) -> dict[str, bytes]:
    # One pass over the archive; nothing is extracted to disk.
    wanted = {f"{_INNER}/{name}": name for name in _BATCHES}
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                name = wanted.get(member.name)
                f = tar.extractfile(member) if name is not None and member.isfile() else None
                if name is not None and f is not None:
                    found[name] = f.read()
    except (tarfile.TarError, OSError, EOFError) as e:
        raise KandleIOError(f"cannot read {archive}: {e}") from e
    missing = [member for member, name in wanted.items() if name not in found]
    if missing:
        raise KandleIOError(f"{archive} is not Keras's CIFAR-10 archive: it lacks {missing}")
    return found


def load_data() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Loads CIFAR-10 as Keras does: ``(x_train, y_train), (x_test, y_test)``, uint8
    images of shape ``(n, 32, 32, 3)`` (channels last) and uint8 labels 0-9 of shape
    ``(n, 1)`` (50,000 and 10,000 rows).

    The batches come from Keras's cache folder (``$KERAS_HOME/datasets``, by default
    ``~/.keras/datasets``): Keras's extracted ``cifar-10-batches-py`` folder or its
    archive. When neither is there, the archive is downloaded from Keras's location,
    checked against Keras's SHA-256 and written atomically. The pickled batches are
    read with an unpickler that accepts numpy arrays and plain data only.

    >>> import io, os, pickle, tarfile, tempfile
    >>> import numpy as np
    >>> import kandle as kd
    >>> home = tempfile.mkdtemp()
    >>> os.makedirs(os.path.join(home, "datasets"))
    >>> archive = os.path.join(home, "datasets", "cifar-10-batches-py-target_archive")
    >>> with tarfile.open(archive, "w:gz") as tar:
    ...     for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
    ...         batch = {b"data": np.zeros((2, 3072), np.uint8), b"labels": [3, 8]}
    ...         data = pickle.dumps(batch, protocol=3)
    ...         info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
    ...         info.size = len(data)
    ...         tar.addfile(info, io.BytesIO(data))
    >>> os.environ["KERAS_HOME"] = home
    >>> (x_train, y_train), (x_test, y_test) = kd.datasets.cifar10.load_data()
    >>> del os.environ["KERAS_HOME"]
    >>> x_train.shape, y_train.shape, x_test.shape, y_test[:, 0].tolist()
    ((10, 32, 32, 3), (10, 1), (2, 32, 32, 3), [3, 8])
    """
    batches = _batch_bytes()
    parts = [_batch(batches[name], name) for name in _BATCHES]
    x_train = np.concatenate([images for images, _ in parts[:-1]])
    y_train = np.concatenate([labels for _, labels in parts[:-1]])
    x_test, y_test = parts[-1]
    # Keras's layout: channels last, labels as a column.
    return (
        (np.ascontiguousarray(x_train.transpose(0, 2, 3, 1)), y_train.reshape(-1, 1)),
        (np.ascontiguousarray(x_test.transpose(0, 2, 3, 1)), y_test.reshape(-1, 1)),
    )


__all__ = ["load_data"]
