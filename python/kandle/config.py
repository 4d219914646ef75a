"""Engine settings and Keras's ``keras.config`` helpers (``kandle.config``)."""

import numpy as np

from kandle import _core
from kandle.backend import backend, epsilon, floatx, image_data_format, set_image_data_format
from kandle.errors import InvalidArgumentError


def set_num_threads(n: int) -> None:
    """Sets the size of kandle's thread pool (default: ``KANDLE_NUM_THREADS`` or the
    number of physical cores). Results are the same for any size.

    >>> import kandle as kd
    >>> kd.config.set_num_threads(1); kd.config.get_num_threads()
    1
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise InvalidArgumentError(f"set_num_threads: expected an integer >= 1, got {n!r}")
    _core.set_num_threads(int(n))


def get_num_threads() -> int:
    return _core.get_num_threads()


def simd_level() -> str:
    """The vector instructions kandle's kernels use: ``"avx512"``, ``"avx2"`` or
    ``"baseline"``, the widest the CPU has unless the environment variable
    ``KANDLE_CPU=avx2`` (read at the first computation) forces AVX2, to measure what
    AVX2-only machines get.

    >>> import kandle as kd
    >>> kd.config.simd_level() in ("avx512", "avx2", "baseline")
    True
    """
    return _core.simd_level()


__all__ = [
    "backend",
    "epsilon",
    "floatx",
    "get_num_threads",
    "image_data_format",
    "set_image_data_format",
    "set_num_threads",
    "simd_level",
]
