"""Exceptions raised by kandle.

Each subclasses both :class:`KandleError` and the built-in exception a Python user
would expect (``ValueError``, ``TypeError``, ...), so either can be caught::

    import kandle as kd
    try:
        kd.ops.matmul(kd.ops.ones((2, 3)), kd.ops.ones((4, 5)))
    except ValueError as e:
        print(e)  # matmul: shapes (2, 3) and (4, 5) are not aligned: ...
"""


class KandleError(Exception):
    """Base class of every error kandle raises on purpose."""


class ShapeError(KandleError, ValueError):
    """Shapes that do not fit together (matmul, broadcasting, reshape, ...)."""


class DTypeError(KandleError, TypeError):
    """Data of a type kandle cannot hold (strings, objects, ...)."""


class AllocationError(KandleError, MemoryError):
    """A size that overflows or cannot be allocated; raised before allocating."""


class GradientError(KandleError, ValueError):
    """A gradient that cannot be taken, such as that of a non-scalar loss."""


class OutOfBoundsError(ShapeError, IndexError):
    """An index or axis outside a tensor's bounds (like NumPy's AxisError, both a
    ValueError and an IndexError)."""


class InvalidArgumentError(KandleError, ValueError):
    """Any other bad argument value."""


class KandleIOError(KandleError, OSError):
    """Reading or writing a file failed."""


class InternalError(KandleError, RuntimeError):
    """A bug in kandle, never the user's fault: please report it."""


__all__ = [
    "KandleError",
    "ShapeError",
    "DTypeError",
    "AllocationError",
    "GradientError",
    "OutOfBoundsError",
    "InvalidArgumentError",
    "KandleIOError",
    "InternalError",
]
