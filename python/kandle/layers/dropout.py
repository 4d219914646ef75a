"""The Dropout layer."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from kandle.errors import InvalidArgumentError
from kandle.layers.layer import Layer


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
