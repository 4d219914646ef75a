"""Keras's dataset cache: files under ``$KERAS_HOME/datasets`` (by default
``~/.keras/datasets``), downloaded when missing from Keras's own locations, checked
against Keras's SHA-256 and written atomically (a temporary file in the same folder,
fsynced, then renamed), so that Keras and kandle share one cache."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

from kandle import _core
from kandle.errors import InvalidArgumentError, KandleIOError
from kandle.utils.progbar import Progbar

# The function that opens a URL; tests replace it to serve local bytes.
urlopen = urllib.request.urlopen

_CHUNK = 1 << 20


def keras_home() -> Path:
    """``$KERAS_HOME``, else ``~/.keras`` (``/tmp/.keras`` when the home folder cannot be
    written), as Keras chooses it."""
    if "KERAS_HOME" in os.environ:
        return Path(os.environ["KERAS_HOME"])
    home = os.path.expanduser("~")
    if not os.access(home, os.W_OK):
        home = "/tmp"
    return Path(home) / ".keras"


def dataset_dir(cache_subdir: str = "datasets") -> Path:
    """The folder of Keras's cached files (``<keras home>/<cache_subdir>``); like Keras,
    it falls back to ``/tmp/.keras`` when the home exists but cannot be written."""
    base = keras_home()
    if base.exists() and not os.access(base, os.W_OK):
        base = Path("/tmp/.keras")
    return base / cache_subdir


def check_file_name(arg: str, fname: str) -> str:
    """A bare file name for the cache folder: Keras refuses paths here."""
    if not isinstance(fname, str) or not fname or os.sep in fname or "/" in fname:
        raise InvalidArgumentError(
            f"`{arg}` must be a file name inside Keras's cache folder (no folders; Keras "
            f"uses $KERAS_HOME for that), got {arg}={fname!r}"
        )
    return fname


def _download(origin: str, file_hash: str | None) -> bytes:
    """The bytes at ``origin``, with Keras's progress bar, checked against ``file_hash``
    (SHA-256, hex) when one is given."""
    print(f"Downloading data from {origin}")
    try:
        with urlopen(origin) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            bar = Progbar(total)
            hasher, parts, done = hashlib.sha256(), [], 0
            while chunk := response.read(_CHUNK):
                hasher.update(chunk)
                parts.append(chunk)
                done += len(chunk)
                bar.update(done, finalize=False)
            bar.update(done, finalize=True)
    except urllib.error.HTTPError as e:
        raise KandleIOError(f"URL fetch failure on {origin}: {e.code} -- {e.msg}") from e
    except urllib.error.URLError as e:
        raise KandleIOError(f"URL fetch failure on {origin}: {e.reason}") from e
    digest = hasher.hexdigest()
    if file_hash is not None and digest != file_hash:
        raise KandleIOError(
            f"Incomplete or corrupted file detected: the download from {origin} has SHA-256 "
            f"{digest}, expected {file_hash}. Nothing was written."
        )
    return b"".join(parts)


def get_file(
    fname: str, origin: str, file_hash: str | None = None, cache_subdir: str = "datasets"
) -> Path:
    """The path of ``fname`` in Keras's cache (``<keras home>/<cache_subdir>``),
    downloaded from ``origin`` first if it is not there. A download is checked against
    ``file_hash`` before anything is written; a cached file is used as it is."""
    folder = dataset_dir(cache_subdir)
    path = folder / fname
    if path.exists():
        return path
    data = _download(origin, file_hash)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise KandleIOError(f"cannot create the dataset folder {folder}: {e}") from e
    _core.write_atomic(str(path), data)
    return path


# Rebuilding a pickled numpy array takes these globals and nothing else.
_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(1))[0]
_PICKLE_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
}


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles plain data and numpy arrays; refuses every other global, so that a
    tampered file cannot run code."""

    def find_class(self, module: str, name: str) -> Any:
        found = _PICKLE_GLOBALS.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(
                f"refusing to load `{module}.{name}` from a dataset file: only numpy arrays "
                f"are allowed (the file may be corrupted or malicious)"
            )
        return found


def load_pickle(data: bytes, what: str) -> Any:
    """Python 2 pickled data (dicts of bytes keys, as CIFAR's batches), with Keras's
    ``encoding="bytes"``, allowing only numpy arrays as objects."""
    try:
        return _ArrayUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as e:
        raise KandleIOError(f"cannot read {what}: {e}") from e
