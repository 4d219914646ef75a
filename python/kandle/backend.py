"""Keras's ``keras.backend`` helpers that scripts call (``kandle.backend``).

>>> import kandle as kd
>>> kd.backend.backend(), kd.backend.floatx(), kd.backend.epsilon()
('kandle', 'float32', 1e-07)
"""

from __future__ import annotations


def clear_session(free_memory: bool = True) -> None:
    """Resets the per-process names of layers and metrics (``dense``, ``dense_1``, ...
    start again at ``dense``), as ``keras.backend.clear_session``. Models are freed
    when nothing refers to them, so there is no other state to drop.

    >>> import kandle as kd
    >>> kd.backend.clear_session()
    >>> kd.layers.Dense(2).name
    'dense'
    """
    from kandle import metrics
    from kandle.layers import layer

    del free_memory  # kandle holds no graph or device memory beyond live objects
    layer._name_counts.clear()
    metrics._name_counts.clear()


def backend() -> str:
    """The name of the engine: ``"kandle"``."""
    return "kandle"


def floatx() -> str:
    """The float type of weights and computations: ``"float32"``."""
    return "float32"


def epsilon() -> float:
    """The fuzz factor of losses and metrics, Keras's ``1e-7``."""
    return 1e-7


def image_data_format() -> str:
    """Keras's default image layout, ``"channels_last"``."""
    return "channels_last"


__all__ = ["backend", "clear_session", "epsilon", "floatx", "image_data_format"]
