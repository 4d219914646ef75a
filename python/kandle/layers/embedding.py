"""The Embedding layer."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from kandle import initializers, regularizers
from kandle.errors import InvalidArgumentError
from kandle.layers.dense import check_no_constraint
from kandle.layers.layer import Layer, ShapeLike


def _positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise InvalidArgumentError(
            f"Received an invalid value for `{name}`, expected a positive integer. "
            f"Received: {name}={value!r}"
        )
    return int(value)


class Embedding(Layer):
    """Turns integer indices in ``[0, input_dim)`` into rows of a trainable
    ``(input_dim, output_dim)`` table; the output has one more axis, of ``output_dim``.

    Indices may come as integer or float arrays; integer ones stay exact up to the
    lookup (float32 would round an index above 2**24, so a float index that large raises
    an error). An index out of range raises an error naming it.

    >>> import kandle as kd
    >>> layer = kd.layers.Embedding(input_dim=10, output_dim=4)
    >>> layer([[1, 2, 3], [4, 5, 9]]).shape
    (2, 3, 4)
    """

    _engine_class = "Embedding"

    def __init__(
        self,
        input_dim: int,
        output_dim: int,
        embeddings_initializer: Any = "uniform",
        embeddings_regularizer: Any = None,
        embeddings_constraint: Any = None,
        mask_zero: bool = False,
        **kwargs: Any,
    ) -> None:
        self.input_dim = _positive("input_dim", input_dim)
        self.output_dim = _positive("output_dim", output_dim)
        check_no_constraint("Embedding", embeddings_constraint=embeddings_constraint)
        if mask_zero:
            raise InvalidArgumentError("Embedding: mask_zero=True (masking) is not supported")
        # Keras 3 drops Keras 2's `input_length` with a warning.
        input_length = kwargs.pop("input_length", None)
        if input_length is not None:
            warnings.warn("Argument `input_length` is deprecated. Just remove it.", stacklevel=3)
        # Keras's Embedding takes no input_dim keyword of the base Layer; ours is its own.
        super().__init__(**kwargs)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings: Any = None

    def build(self, input_shape: ShapeLike) -> None:
        self.embeddings = self.add_weight(
            (self.input_dim, self.output_dim),
            initializer=self.embeddings_initializer,
            name="embeddings",
        )

    def compute_output_shape(self, input_shape: ShapeLike) -> tuple[int | None, ...]:
        return (*tuple(input_shape), self.output_dim)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
            "activity_regularizer": None,
            "embeddings_constraint": None,
            "mask_zero": False,
        }
