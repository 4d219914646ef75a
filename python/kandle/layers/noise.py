"""GaussianNoise, GaussianDropout and AlphaDropout: noise in training, the identity in
inference."""

from __future__ import annotations

import math
from typing import Any

from kandle.errors import InvalidArgumentError
from kandle.layers.dropout import Dropout, check_rate, check_seed
from kandle.layers.layer import Layer


class GaussianNoise(Layer):
    """Adds zero-centred Gaussian noise of standard deviation ``stddev`` in training.

    Noise comes from kandle's generator (``kandle.utils.set_random_seed``) or, given a
    ``seed``, from the layer's own.

    >>> import kandle as kd
    >>> layer = kd.layers.GaussianNoise(0.1, seed=1)
    >>> x = kd.ops.ones((2, 3))
    >>> bool((layer(x).numpy() == 1).all())  # inference: unchanged
    True
    >>> bool((layer(x, training=True).numpy() != 1).all())
    True
    """

    _engine_class = "GaussianNoise"

    def __init__(self, stddev: float, seed: int | None = None, **kwargs: Any) -> None:
        if isinstance(stddev, bool) or not isinstance(stddev, (int, float)) or not 0 <= stddev <= 1:
            raise InvalidArgumentError(
                "Invalid value received for argument `stddev`. Expected a float value between "
                f"0 and 1. Received: stddev={stddev!r}"
            )
        self.stddev = float(stddev)
        self.seed = check_seed("GaussianNoise", seed)
        super().__init__(**kwargs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(Layer):
    """Multiplies by Gaussian noise of mean 1 and standard deviation
    ``sqrt(rate / (1 - rate))`` in training.

    >>> import kandle as kd
    >>> layer = kd.layers.GaussianDropout(0.2, seed=1)
    >>> layer(kd.ops.ones((1, 3))).numpy()  # inference: unchanged
    array([[1., 1., 1.]], dtype=float32)
    """

    _engine_class = "GaussianDropout"

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        self.rate = check_rate(rate)
        self.seed = check_seed("GaussianDropout", seed)
        super().__init__(**kwargs)

    @property
    def stddev(self) -> float:
        """The noise's standard deviation, ``sqrt(rate / (1 - rate))``."""
        return math.sqrt(self.rate / (1.0 - self.rate))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class AlphaDropout(Dropout):
    """Dropout for SELU networks: in training, sets each element (or each ``noise_shape``
    group) with probability ``rate`` to SELU's saturation value ``-alpha * scale``, then
    applies the affine map that keeps the inputs' mean and variance. Arguments and
    config are Dropout's.

    >>> import kandle as kd
    >>> layer = kd.layers.AlphaDropout(0.2, seed=1)
    >>> layer(kd.ops.ones((1, 3))).numpy()  # inference: unchanged
    array([[1., 1., 1.]], dtype=float32)
    """

    _engine_class = "AlphaDropout"
