"""Weight initializers, with Keras's classes, names and defaults (``kandle.initializers``).

Every draw happens in the Rust engine, from kandle's seedable generator
(``kandle.utils.set_random_seed``), or from the initializer's own ``seed``: a seeded
initializer gives the same values on every call, as in Keras.

>>> import kandle as kd
>>> kd.initializers.get("zeros")((2, 3)).shape
(2, 3)
>>> init = kd.initializers.RandomNormal(stddev=0.1, seed=1)
>>> bool((init((4,)) == init((4,))).all())
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from kandle import _core
from kandle._config import (
    ConfigObject,
    deserialize_from,
    engine_json,
    get_from,
    serialized,
)
from kandle.errors import InvalidArgumentError

Shape = Sequence[int]


def compute_fans(shape: Shape) -> tuple[int, int]:
    """Keras's fans: ``(in, out)`` of a kernel; a vector counts as both."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


def _check_seed(seed: int | None) -> int | None:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise InvalidArgumentError(
            f"`seed` must be None or a non-negative integer, got seed={seed!r}"
        )
    return seed


class Initializer(ConfigObject):
    """Base class: ``initializer(shape)`` returns a new float32 numpy array of ``shape``.

    Shapes are in Keras's layout (a Dense kernel is ``(in, units)``), from which fans
    are computed.

    >>> import kandle as kd
    >>> kd.initializers.Ones()((2,)).tolist()
    [1.0, 1.0]
    """

    def __call__(self, shape: Shape, dtype: Any = None) -> np.ndarray:
        shape = tuple(int(d) for d in shape)
        fan_in, fan_out = compute_fans(shape)
        config = engine_json({"class_name": type(self).__name__, "config": self.get_config()})
        return _core.initialize_from_config(config, shape, fan_in, fan_out)


class Zeros(Initializer):
    """All zeros.

    >>> import kandle as kd
    >>> kd.initializers.Zeros()((3,)).tolist()
    [0.0, 0.0, 0.0]
    """


class Ones(Initializer):
    """All ones.

    >>> import kandle as kd
    >>> kd.initializers.Ones()((1, 2)).tolist()
    [[1.0, 1.0]]
    """


class Constant(Initializer):
    """Every element equal to ``value``.

    >>> import kandle as kd
    >>> kd.initializers.Constant(0.5)((2,)).tolist()
    [0.5, 0.5]
    """

    def __init__(self, value: float = 0.0) -> None:
        self.value = float(value)

    def get_config(self) -> dict[str, Any]:
        return {"value": self.value}


class RandomUniform(Initializer):
    """Uniform draws in ``[minval, maxval)``.

    >>> import kandle as kd
    >>> x = kd.initializers.RandomUniform(-1.0, 1.0, seed=0)((100,))
    >>> bool((x >= -1).all() and (x < 1).all())
    True
    """

    def __init__(
        self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None
    ) -> None:
        if not minval <= maxval:
            raise InvalidArgumentError(
                f"RandomUniform: expected minval <= maxval, got minval={minval}, maxval={maxval}"
            )
        self.minval, self.maxval, self.seed = float(minval), float(maxval), _check_seed(seed)

    def get_config(self) -> dict[str, Any]:
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class RandomNormal(Initializer):
    """Normal draws with ``mean`` and ``stddev``.

    >>> import kandle as kd
    >>> kd.initializers.RandomNormal(stddev=0.01, seed=3)((2, 2)).shape
    (2, 2)
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        if not stddev >= 0:
            raise InvalidArgumentError(f"RandomNormal: expected stddev >= 0, got stddev={stddev}")
        self.mean, self.stddev, self.seed = float(mean), float(stddev), _check_seed(seed)

    def get_config(self) -> dict[str, Any]:
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    """Normal draws with ``mean`` and ``stddev``, redrawn beyond two ``stddev``.

    >>> import kandle as kd
    >>> x = kd.initializers.TruncatedNormal(stddev=1.0, seed=0)((1000,))
    >>> bool(abs(x).max() <= 2.0)
    True
    """


class _Seeded(Initializer):
    """An initializer whose only argument is ``seed`` (the variance-scaling family)."""

    def __init__(self, seed: int | None = None) -> None:
        self.seed = _check_seed(seed)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed}


class GlorotUniform(_Seeded):
    """Uniform in ``[-limit, limit]`` with ``limit = sqrt(6 / (fan_in + fan_out))``.

    >>> import kandle as kd
    >>> w = kd.initializers.GlorotUniform(seed=0)((4, 5))
    >>> bool(abs(w).max() <= (6 / 9) ** 0.5)
    True
    """


class GlorotNormal(_Seeded):
    """Truncated normal with ``stddev = sqrt(2 / (fan_in + fan_out))``.

    >>> import kandle as kd
    >>> kd.initializers.GlorotNormal(seed=0)((4, 5)).shape
    (4, 5)
    """


class HeUniform(_Seeded):
    """Uniform in ``[-limit, limit]`` with ``limit = sqrt(6 / fan_in)``.

    >>> import kandle as kd
    >>> bool(abs(kd.initializers.HeUniform(seed=0)((6, 2))).max() <= 1.0)
    True
    """


class HeNormal(_Seeded):
    """Truncated normal with ``stddev = sqrt(2 / fan_in)``.

    >>> import kandle as kd
    >>> kd.initializers.HeNormal(seed=0)((6, 2)).shape
    (6, 2)
    """


class LecunUniform(_Seeded):
    """Uniform in ``[-limit, limit]`` with ``limit = sqrt(3 / fan_in)``.

    >>> import kandle as kd
    >>> bool(abs(kd.initializers.LecunUniform(seed=0)((3, 2))).max() <= 1.0)
    True
    """


class LecunNormal(_Seeded):
    """Truncated normal with ``stddev = sqrt(1 / fan_in)``.

    >>> import kandle as kd
    >>> kd.initializers.LecunNormal(seed=0)((3, 2)).shape
    (3, 2)
    """


_CLASSES: dict[str, type[Initializer]] = {
    cls.__name__: cls
    for cls in (
        Zeros,
        Ones,
        Constant,
        RandomUniform,
        RandomNormal,
        TruncatedNormal,
        GlorotUniform,
        GlorotNormal,
        HeUniform,
        HeNormal,
        LecunUniform,
        LecunNormal,
    )
}

# Keras's snake_case names and aliases: the engine's list (`INITIALIZER_NAMES`).
_ALIASES: dict[str, type[Initializer]] = {
    alias: _CLASSES[class_name] for alias, class_name in _core.INITIALIZER_NAMES
}

NAMES = tuple(_ALIASES)

InitializerLike = str | dict[str, Any] | Initializer | Callable[[Shape], Any]


def get(identifier: InitializerLike) -> Initializer | Callable[[Shape], Any]:
    """The initializer for ``identifier``: a name (``"glorot_uniform"``, ``"GlorotUniform"``,
    ``"uniform"``), a Keras config dict, an Initializer, or any callable ``shape -> array``.

    >>> import kandle as kd
    >>> kd.initializers.get("he_normal")
    HeNormal(seed=None)
    """
    if isinstance(identifier, Initializer) or (
        callable(identifier) and not isinstance(identifier, type)
    ):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    return get_from(
        identifier, _ALIASES, _CLASSES, "initializer", "one of {names}, a config dict or a callable"
    )


def serialize(initializer: Initializer | Callable[[Shape], Any]) -> dict[str, Any] | str:
    """Keras's config of an initializer: ``{"module", "class_name", "config", "registered_name"}``.

    >>> import kandle as kd
    >>> kd.initializers.serialize(kd.initializers.Zeros())["class_name"]
    'Zeros'
    """
    if isinstance(initializer, Initializer):
        return serialized(initializer, "keras.initializers")
    return getattr(initializer, "__name__", repr(initializer))


def deserialize(config: dict[str, Any]) -> Initializer:
    """The initializer of a Keras config dict (only kandle's own classes are created)."""
    return deserialize_from(_CLASSES, "initializer", config)


__all__ = [
    "Constant",
    "GlorotNormal",
    "GlorotUniform",
    "HeNormal",
    "HeUniform",
    "Initializer",
    "LecunNormal",
    "LecunUniform",
    "Ones",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "Zeros",
    "compute_fans",
    "deserialize",
    "get",
    "serialize",
]
