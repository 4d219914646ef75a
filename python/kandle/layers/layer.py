"""The base class of all layers."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from kandle import initializers
from kandle._core import Tensor, Variable

# Keras names layers per process: dense, dense_1, dense_2, ...
_name_counts: defaultdict[str, int] = defaultdict(int)


def _unique_name(cls_name: str) -> str:
    base = re.sub(r"(?<!^)(?=[A-Z])", "_", cls_name).lower()
    count = _name_counts[base]
    _name_counts[base] += 1
    return base if count == 0 else f"{base}_{count}"


class Layer:
    """A callable that holds weights (Variables) and builds them on its first call.

    Subclasses implement ``build(input_shape)`` (creating weights with ``add_weight``)
    and ``call(inputs)``.

    >>> import kandle as kd
    >>> class Scale(kd.layers.Layer):
    ...     def build(self, input_shape):
    ...         self.factor = self.add_weight((), initializer="ones", name="factor")
    ...     def call(self, x):
    ...         return x * self.factor
    >>> Scale()(kd.tensor([1.0, 2.0])).numpy()
    array([1., 2.], dtype=float32)
    """

    def __init__(self, name: str | None = None, trainable: bool = True) -> None:
        self.name = name or _unique_name(type(self).__name__)
        self.trainable = trainable
        self.built = False
        self._weights: list[Variable] = []

    def build(self, input_shape: tuple[int, ...]) -> None:
        """Creates the weights for inputs of ``input_shape``; the default has none."""

    def call(self, inputs: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement call()")

    def __call__(self, inputs: Any) -> Tensor:
        from kandle.ops import convert_to_tensor

        x = convert_to_tensor(inputs)
        if not self.built:
            self.build(x.shape)
            self.built = True
        return self.call(x)

    def add_weight(
        self,
        shape: Sequence[int],
        initializer: Any = "glorot_uniform",
        name: str | None = None,
        trainable: bool = True,
    ) -> Variable:
        """Creates a Variable of ``shape`` filled by ``initializer`` and tracks it."""
        value = initializers.get(initializer)(tuple(shape))
        variable = Variable(
            np.asarray(value, dtype=np.float32),
            trainable=trainable,
            name=f"{self.name}/{name or 'variable'}",
        )
        self._weights.append(variable)
        return variable

    @property
    def weights(self) -> list[Variable]:
        return list(self._weights)

    @property
    def trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return []
        return [w for w in self._weights if w.trainable]

    @property
    def non_trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return list(self._weights)
        return [w for w in self._weights if not w.trainable]

    def count_params(self) -> int:
        return sum(int(np.prod(w.shape)) for w in self._weights)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "trainable": self.trainable}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"
