"""Learning-rate schedules (``kandle.optimizers.schedules``), as in Keras 3.

A schedule maps the optimizer's step count to a learning rate; pass one as an
optimizer's ``learning_rate``. The values are computed by the Rust engine.

>>> import kandle as kd
>>> lr = kd.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
>>> round(lr(10), 6)
0.05
"""

from __future__ import annotations

from typing import Any

from kandle import _core
from kandle._config import CheckedArguments, engine_json, serialized


class LearningRateSchedule(CheckedArguments):
    """Base class of learning-rate schedules: ``__call__(step)`` gives the learning rate.

    kandle's optimizers run their steps in Rust, so they accept the built-in schedules
    (``ExponentialDecay``, ``PiecewiseConstantDecay``, ``PolynomialDecay``,
    ``InverseTimeDecay``, ``CosineDecay``, ``CosineDecayRestarts``), whose values the
    engine computes itself.

    >>> import kandle as kd
    >>> s = kd.optimizers.schedules.PiecewiseConstantDecay([10], [0.1, 0.01])
    >>> isinstance(s, kd.optimizers.schedules.LearningRateSchedule)
    True
    """

    def __call__(self, step: int | float) -> float:
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `__call__(self, step)`."
        )

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `get_config()` "
            "in order to be serializable."
        )

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        """Instantiates a schedule from the output of ``get_config()``."""
        return cls(**config)

    def _engine_config(self) -> dict[str, Any]:
        """``{"class_name", "config"}`` for the engine; only built-in schedules have one."""
        raise NotImplementedError(
            f"kandle's optimizers run in Rust and cannot call the Python schedule "
            f"'{type(self).__name__}'; use one of {', '.join(sorted(_SCHEDULES))}"
        )

    def _engine_json(self) -> str:
        return engine_json(self._engine_config())

    def _validate(self) -> None:
        # The engine checks every argument (and raises naming it) when it evaluates.
        _core.schedule_value(self._engine_json(), 0.0)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class _BuiltinSchedule(LearningRateSchedule):
    """A schedule the engine knows: its values are computed in Rust."""

    def __call__(self, step: int | float) -> float:
        return _core.schedule_value(self._engine_json(), float(step))

    def _engine_config(self) -> dict[str, Any]:
        config = self.get_config()
        config.pop("name", None)
        return {"class_name": type(self).__name__, "config": config}


class _RateDecay(_BuiltinSchedule):
    """The arguments ExponentialDecay and InverseTimeDecay share; ``name`` defaults to
    the class name."""

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: float,
        decay_rate: float,
        staircase: bool = False,
        name: str | None = None,
    ) -> None:
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name if name is not None else type(self).__name__
        self._validate()

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


class ExponentialDecay(_RateDecay):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``.

    With ``staircase=True`` the exponent is floored, so the rate drops every
    ``decay_steps`` steps.

    >>> import kandle as kd
    >>> lr = kd.optimizers.schedules.ExponentialDecay(
    ...     0.1, decay_steps=10, decay_rate=0.5, staircase=True)
    >>> [round(lr(s), 6) for s in (0, 9, 10, 25)]
    [0.1, 0.1, 0.05, 0.025]
    >>> opt = kd.optimizers.SGD(learning_rate=lr)
    """


class CosineDecay(_BuiltinSchedule):
    """Cosine decay with an optional linear warmup (Keras's ``CosineDecay``).

    Without ``warmup_target``: ``initial_learning_rate * ((1 - alpha) * c + alpha)`` with
    ``c = 0.5 * (1 + cos(pi * min(step, decay_steps) / decay_steps))``. With it, the rate
    first rises linearly from ``initial_learning_rate`` to ``warmup_target`` over
    ``warmup_steps`` steps, then decays from ``warmup_target`` the same way.

    >>> import kandle as kd
    >>> lr = kd.optimizers.schedules.CosineDecay(
    ...     0.0, decay_steps=10, warmup_target=1.0, warmup_steps=4)
    >>> [round(lr(s), 6) for s in (0, 2, 4, 9, 14)]
    [0.0, 0.5, 1.0, 0.5, 0.0]
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        alpha: float = 0.0,
        name: str = "CosineDecay",
        warmup_target: float | None = None,
        warmup_steps: int = 0,
    ) -> None:
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps
        self._validate()

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


class PiecewiseConstantDecay(_BuiltinSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, and ``values[-1]`` afterwards.

    >>> import kandle as kd
    >>> lr = kd.optimizers.schedules.PiecewiseConstantDecay([2, 5], [1.0, 0.5, 0.1])
    >>> [lr(s) for s in (0, 2, 3, 5, 6)]
    [1.0, 1.0, 0.5, 0.5, 0.1]
    """

    def __init__(
        self,
        boundaries: list[float],
        values: list[float],
        name: str = "PiecewiseConstant",
    ) -> None:
        self.boundaries = list(boundaries)
        self.values = list(values)
        self.name = name
        self._validate()

    def get_config(self) -> dict[str, Any]:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(_BuiltinSchedule):
    """A polynomial decay from ``initial_learning_rate`` to ``end_learning_rate`` over
    ``decay_steps`` steps (Keras's ``PolynomialDecay``).

    ``(initial_learning_rate - end_learning_rate) * (1 - step / decay_steps) ** power +
    end_learning_rate`` with ``step`` capped at ``decay_steps``. With ``cycle=True``,
    ``decay_steps`` is instead multiplied by ``ceil(step / decay_steps)`` (1 at step 0),
    so the rate climbs back and decays again, each cycle longer.

    >>> import kandle as kd
    >>> lr = kd.optimizers.schedules.PolynomialDecay(
    ...     1.0, decay_steps=10, end_learning_rate=0.0, power=2.0)
    >>> [round(lr(s), 6) for s in (0, 5, 10, 20)]
    [1.0, 0.25, 0.0, 0.0]
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: int,
        end_learning_rate: float = 0.0001,
        power: float = 1.0,
        cycle: bool = False,
        name: str = "PolynomialDecay",
    ) -> None:
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name
        self._validate()

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
            "name": self.name,
        }


class InverseTimeDecay(_RateDecay):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)`` (Keras's
    ``InverseTimeDecay``); with ``staircase=True`` the ratio ``step / decay_steps`` is
    floored.

    >>> import kandle as kd
    >>> lr = kd.optimizers.schedules.InverseTimeDecay(0.1, decay_steps=1, decay_rate=0.5)
    >>> [round(lr(s), 6) for s in (0, 1, 2)]
    [0.1, 0.066667, 0.05]
    """


class CosineDecayRestarts(_BuiltinSchedule):
    """Cosine decay with warm restarts, SGDR (Keras's ``CosineDecayRestarts``).

    The first period decays the rate from ``initial_learning_rate`` to
    ``alpha * initial_learning_rate`` along a half cosine over ``first_decay_steps``
    steps; each next period is ``t_mul`` times longer and starts ``m_mul`` times higher
    than the one before.

    >>> import kandle as kd
    >>> lr = kd.optimizers.schedules.CosineDecayRestarts(1.0, first_decay_steps=10)
    >>> [round(lr(s), 6) for s in (0, 5, 10, 20, 30)]
    [1.0, 0.5, 1.0, 0.5, 1.0]
    """

    def __init__(
        self,
        initial_learning_rate: float,
        first_decay_steps: int,
        t_mul: float = 2.0,
        m_mul: float = 1.0,
        alpha: float = 0.0,
        name: str = "SGDRDecay",
    ) -> None:
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name
        self._validate()

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "t_mul": self._t_mul,
            "m_mul": self._m_mul,
            "alpha": self.alpha,
            "name": self.name,
        }


_SCHEDULES: dict[str, type[LearningRateSchedule]] = {
    cls.__name__: cls
    for cls in (
        ExponentialDecay,
        PiecewiseConstantDecay,
        PolynomialDecay,
        InverseTimeDecay,
        CosineDecay,
        CosineDecayRestarts,
    )
}


def serialize(learning_rate_schedule: LearningRateSchedule) -> dict[str, Any]:
    """Keras's serialized form ``{"module", "class_name", "config", "registered_name"}``.

    >>> import kandle as kd
    >>> s = kd.optimizers.schedules.PiecewiseConstantDecay([1], [0.1, 0.01])
    >>> kd.optimizers.schedules.serialize(s)["class_name"]
    'PiecewiseConstantDecay'
    """
    return serialized(learning_rate_schedule, "keras.optimizers.schedules")


def deserialize(config: dict[str, Any]) -> LearningRateSchedule:
    """The schedule described by ``serialize()``'s output.

    >>> import kandle as kd
    >>> s = kd.optimizers.schedules.CosineDecay(0.1, 100)
    >>> kd.optimizers.schedules.deserialize(kd.optimizers.schedules.serialize(s))(0)
    0.1
    """
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise ValueError(
            "Could not interpret learning rate schedule config: expected a dict with a "
            f"string 'class_name', got {config!r}"
        )
    cls = _SCHEDULES.get(config["class_name"])
    if cls is None:
        raise ValueError(
            f"Unknown learning rate schedule: {config['class_name']!r}; expected one of "
            f"{sorted(_SCHEDULES)}"
        )
    return cls.from_config(dict(config.get("config") or {}))


__all__ = [
    "CosineDecay",
    "CosineDecayRestarts",
    "ExponentialDecay",
    "InverseTimeDecay",
    "LearningRateSchedule",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
    "deserialize",
    "serialize",
]
