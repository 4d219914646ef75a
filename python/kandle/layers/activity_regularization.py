"""The ActivityRegularization layer."""

from __future__ import annotations

from typing import Any

from kandle.errors import InvalidArgumentError
from kandle.layers.layer import Layer


def _factor(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise InvalidArgumentError(
            f"ActivityRegularization: `{name}` must be a non-negative number, got {name}={value!r}"
        )
    return float(value)


class ActivityRegularization(Layer):
    """Passes its input through and adds ``(l1 * sum(|x|) + l2 * sum(x**2)) / batch_size``
    of that input to the loss, as Keras's activity regularizers do; ``fit`` includes it.

    >>> import kandle as kd
    >>> layer = kd.layers.ActivityRegularization(l1=0.5)
    >>> layer(kd.tensor([[1.0, -2.0], [3.0, 0.0]])).numpy().tolist()
    [[1.0, -2.0], [3.0, 0.0]]
    >>> float(layer.regularization().numpy())  # 0.5 * 6 / 2
    1.5
    """

    _engine_class = "ActivityRegularization"

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs: Any) -> None:
        self.l1 = _factor("l1", l1)
        self.l2 = _factor("l2", l2)
        super().__init__(**kwargs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}
