"""Engine settings (``kandle.config``)."""

import numpy as np

from kandle import _core
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


__all__ = ["set_num_threads", "get_num_threads"]
