"""Utilities (``kandle.utils``)."""

from kandle import _core
from kandle.utils.progbar import Progbar


def set_random_seed(seed: int) -> None:
    """Seeds kandle's random generator (initializers, shuffling, dropout).

    >>> import kandle as kd
    >>> kd.utils.set_random_seed(42)
    """
    _core.set_random_seed(int(seed))


__all__ = ["Progbar", "set_random_seed"]
