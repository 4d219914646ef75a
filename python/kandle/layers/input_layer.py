"""The input of a model: ``kd.Input(shape)``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kandle.errors import InvalidArgumentError
from kandle.layers.layer import Layer


class InputLayer(Layer):
    """The input of a Sequential model: fixes the shape of one sample.

    >>> import kandle as kd
    >>> kd.Input((784,)).shape
    (None, 784)
    """

    def __init__(
        self, shape: Sequence[int], batch_size: int | None = None, name: str | None = None
    ) -> None:
        super().__init__(name=name)
        try:
            sample = tuple(int(d) for d in shape)
        except TypeError:
            sample = (int(shape),)  # type: ignore[call-overload]
        if any(d <= 0 for d in sample):
            raise InvalidArgumentError(f"Input: shape must hold positive sizes, got {tuple(shape)}")
        self.shape = (batch_size, *sample)
        self.built = True

    def get_config(self) -> dict[str, Any]:
        return {"batch_shape": list(self.shape), "dtype": "float32", "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> InputLayer:
        batch_shape = config["batch_shape"]
        return cls(batch_shape[1:], batch_size=batch_shape[0], name=config.get("name"))


def Input(
    shape: Sequence[int], batch_size: int | None = None, name: str | None = None
) -> InputLayer:  # noqa: N802
    """Declares the shape of one input sample, as ``keras.Input``.

    >>> import kandle as kd
    >>> model = kd.Sequential([kd.Input((3,)), kd.layers.Dense(2)])
    """
    return InputLayer(shape, batch_size=batch_size, name=name)
