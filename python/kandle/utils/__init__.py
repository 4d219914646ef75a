"""Utilities (``kandle.utils``)."""

from kandle import _core


def set_random_seed(seed: int) -> None:
    """Seeds kandle's random generator (initializers, shuffling, dropout).

    >>> import kandle as kd
    >>> kd.utils.set_random_seed(42)
    """
    _core.set_random_seed(int(seed))


__all__ = ["set_random_seed"]
