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
    """The layout of image data: ``"channels_last"`` (``(batch, height, width,
    channels)``), Keras's default and the only one kandle's layers compute in.

    >>> import kandle as kd
    >>> kd.config.image_data_format()
    'channels_last'
    """
    return "channels_last"


def set_image_data_format(data_format: str) -> None:
    """Sets the layout of image data, as Keras's ``set_image_data_format``. kandle's
    layers compute in ``"channels_last"`` only: that is accepted, and
    ``"channels_first"`` is refused with an error rather than ignored.

    >>> import kandle as kd
    >>> kd.config.set_image_data_format("channels_last")
    """
    from kandle.errors import InvalidArgumentError

    if data_format not in ("channels_first", "channels_last"):
        raise InvalidArgumentError(
            "The `data_format` argument must be one of {'channels_first', 'channels_last'}. "
            f"Received: data_format={data_format}"
        )
    if data_format != "channels_last":
        raise InvalidArgumentError(
            "set_image_data_format: kandle's layers compute in 'channels_last' only (inputs "
            f"of shape (batch, ..., channels)), got data_format={data_format!r}"
        )


__all__ = [
    "backend",
    "clear_session",
    "epsilon",
    "floatx",
    "image_data_format",
    "set_image_data_format",
]
