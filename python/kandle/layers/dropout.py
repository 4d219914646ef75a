"""The Dropout layer, and SpatialDropout1D/2D, which drop whole channels."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

from kandle.errors import InvalidArgumentError
from kandle.layers.convolutional import check_data_format, check_input_rank
from kandle.layers.layer import Layer, ShapeLike


def check_rate(rate: Any) -> float:
    """``rate`` as a float in [0, 1), or Keras's error naming it."""
    if (
        isinstance(rate, bool)
        or not isinstance(rate, (int, float))
        or not math.isfinite(rate)
        or not 0 <= rate < 1
    ):
        raise InvalidArgumentError(
            f"Invalid value received for argument `rate`. Expected a float value in [0, 1). "
            f"Received: rate={rate!r}"
        )
    return float(rate)


def check_seed(layer: str, seed: Any) -> int | None:
    """``seed`` as None or a non-negative int, or an error naming it."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise InvalidArgumentError(
            f"{layer}: `seed` must be None or a non-negative integer, got seed={seed!r}"
        )
    return seed


class Dropout(Layer):
    """Inverted dropout: in training, zeroes each input element with probability ``rate``
    and scales the others by ``1 / (1 - rate)``; in inference, the identity.

    Masks come from kandle's generator (``kandle.utils.set_random_seed``), or, given a
    ``seed``, from the layer's own generator. ``noise_shape`` gives the mask's shape
    (None entries take the input's size; size-1 entries share a mask value along that
    axis).

    >>> import kandle as kd
    >>> layer = kd.layers.Dropout(0.5, seed=1)
    >>> x = kd.ops.ones((2, 4))
    >>> bool((layer(x).numpy() == 1).all())  # inference: unchanged
    True
    >>> sorted(set(layer(x, training=True).numpy().ravel().tolist())) in ([0.0, 2.0], [0.0], [2.0])
    True
    """

    _engine_class = "Dropout"

    def __init__(
        self,
        rate: float,
        noise_shape: Sequence[int | None] | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.rate = check_rate(rate)
        self.seed = check_seed(type(self).__name__, seed)
        super().__init__(**kwargs)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "rate": self.rate,
            "seed": self.seed,
            "noise_shape": None if self.noise_shape is None else list(self.noise_shape),
        }


class _SpatialDropout(Dropout):
    """Dropout of whole channels: one mask value per sample and channel, shared along
    the spatial axes (Keras's BaseSpatialDropout)."""

    _spatial_rank: ClassVar[int]

    def __init__(
        self,
        rate: float,
        seed: int | None = None,
        name: str | None = None,
        dtype: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(rate, seed=seed, name=name, dtype=dtype, **kwargs)

    def build(self, input_shape: ShapeLike) -> None:
        check_input_rank(self, input_shape, self._spatial_rank)

    def get_config(self) -> dict[str, Any]:
        # Keras's keys: no `trainable` and no `noise_shape`.
        return {"rate": self.rate, "seed": self.seed, "name": self.name, "dtype": "float32"}


class SpatialDropout1D(_SpatialDropout):
    """Drops whole channels of ``(batch, steps, channels)`` data: in training each
    channel of each sample is zeroed with probability ``rate`` at every step, and the
    others are scaled by ``1 / (1 - rate)``; in inference, the identity.

    >>> import kandle as kd
    >>> layer = kd.layers.SpatialDropout1D(0.5, seed=3)
    >>> y = layer(kd.ops.ones((2, 5, 8)), training=True).numpy()
    >>> bool(((y == y[:, :1, :]) & ((y == 0) | (y == 2))).all())  # constant over the steps
    True
    """

    _engine_class = "SpatialDropout1D"
    _spatial_rank = 1


class SpatialDropout2D(_SpatialDropout):
    """Drops whole channels (feature maps) of ``(batch, rows, cols, channels)`` images:
    in training each channel of each sample is zeroed with probability ``rate`` and the
    others are scaled by ``1 / (1 - rate)``; in inference, the identity.

    >>> import kandle as kd
    >>> layer = kd.layers.SpatialDropout2D(0.5, seed=3)
    >>> y = layer(kd.ops.ones((2, 4, 4, 8)), training=True).numpy()
    >>> bool((y == y[:, :1, :1, :]).all())  # constant over each feature map
    True
    """

    _engine_class = "SpatialDropout2D"
    _spatial_rank = 2

    def __init__(
        self,
        rate: float,
        data_format: Any = None,
        seed: int | None = None,
        name: str | None = None,
        dtype: Any = None,
        **kwargs: Any,
    ) -> None:
        self.data_format = check_data_format("SpatialDropout2D", data_format)
        super().__init__(rate, seed=seed, name=name, dtype=dtype, **kwargs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}
