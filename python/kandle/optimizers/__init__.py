"""Optimizers (``kandle.optimizers``): Keras 3's update rules, defaults and API.

Every step runs in the Rust engine (``kandle._core.Optimizer``): gradient unscaling and
clipping, weight decay, the update rule and the ``iterations`` counter.

>>> import kandle as kd
>>> v = kd.Variable([1.0, 2.0])
>>> kd.optimizers.SGD(learning_rate=0.5).apply([kd.tensor([1.0, 1.0])], [v])
>>> v.numpy()
array([0.5, 1.5], dtype=float32)
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, cast

from kandle import _core
from kandle._config import CheckedArguments, engine_json, serialized
from kandle._core import Tensor, Variable
from kandle.errors import InvalidArgumentError
from kandle.optimizers import schedules
from kandle.optimizers.schedules import LearningRateSchedule

LearningRate = float | LearningRateSchedule


def _snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


class Optimizer(CheckedArguments):
    """Base class of kandle's optimizers; use a subclass (``SGD``, ``Adam``, ...).

    Shared arguments, as in Keras 3: ``learning_rate`` (a float or a
    ``kandle.optimizers.schedules`` schedule), ``weight_decay`` (``w -= w * wd * lr``
    before each update), ``clipnorm`` (per-gradient norm), ``clipvalue`` (elementwise),
    ``global_clipnorm`` (norm over all gradients; at most one clip option),
    ``loss_scale_factor`` (gradients are divided by it first), ``name``, and:

    - ``use_ema``, ``ema_momentum`` (default 0.99), ``ema_overwrite_frequency``: keep an
      exponential moving average of the weights, ``average = ema_momentum * average +
      (1 - ema_momentum) * weight`` after every step (the first step copies the weight);
      every ``ema_overwrite_frequency`` steps, and at the end of ``fit``
      (``finalize_variable_values``), the weights take their averages. The
      ``kandle.callbacks.SwapEMAWeights`` callback evaluates with the averages.
    - ``gradient_accumulation_steps=n`` (an integer >= 2): ``apply`` sums the gradients,
      and every n-th call updates the weights with their mean. ``iterations`` counts
      updates (calls // n); learning-rate schedules see the number of calls.

    >>> import kandle as kd
    >>> opt = kd.optimizers.Adam(learning_rate=0.01, clipnorm=1.0)
    >>> w = kd.Variable([1.0, -1.0])
    >>> opt.apply(kd.grad((w * w).sum(), [w]), [w])
    >>> opt.iterations
    1
    """

    _engine_class: ClassVar[str] = ""

    def __init__(
        self,
        learning_rate: LearningRate,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        loss_scale_factor: float | None = None,
        gradient_accumulation_steps: int | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs.pop("decay", None) is not None:
            warnings.warn(
                "Argument `decay` is no longer supported and will be ignored.", stacklevel=2
            )
        if kwargs:
            raise InvalidArgumentError(f"Argument(s) not recognized: {kwargs}")
        if not self._engine_class:
            raise TypeError(
                "Optimizer is a base class; use one of "
                f"{', '.join(cls.__name__ for cls in _ALL.values())}"
            )
        self.name = name if name is not None else _snake_case(type(self).__name__)
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self._schedule: LearningRateSchedule | None = None
        self._variables: list[Variable] | None = None
        config = {
            "name": self.name,
            "learning_rate": self._engine_learning_rate(learning_rate),
            "weight_decay": weight_decay,
            "clipnorm": clipnorm,
            "clipvalue": clipvalue,
            "global_clipnorm": global_clipnorm,
            "use_ema": use_ema,
            "ema_momentum": ema_momentum,
            "ema_overwrite_frequency": ema_overwrite_frequency,
            "loss_scale_factor": loss_scale_factor,
            "gradient_accumulation_steps": gradient_accumulation_steps,
            **self._options(),
        }
        self._engine = _core.Optimizer(self._engine_class, engine_json(config))

    # The subclass's own constructor arguments (attributes of the same name), which are
    # also Keras's config keys.
    _option_names: tuple[str, ...] = ()

    def _options(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._option_names}

    def _engine_learning_rate(self, learning_rate: LearningRate) -> float | dict[str, Any]:
        """A float for the engine, or a built-in schedule's engine config."""
        if isinstance(learning_rate, LearningRateSchedule):
            engine_config = learning_rate._engine_config()
            self._schedule = learning_rate
            return engine_config
        if isinstance(learning_rate, bool) or not isinstance(learning_rate, int | float):
            if callable(learning_rate):
                raise InvalidArgumentError(
                    "Argument `learning_rate` as a plain callable is not supported by kandle "
                    "(its steps run in Rust); use a float or a LearningRateSchedule from "
                    f"kandle.optimizers.schedules. Received: learning_rate={learning_rate!r}"
                )
            try:
                learning_rate = float(learning_rate)  # numpy scalars
            except (TypeError, ValueError):
                raise InvalidArgumentError(
                    "Argument `learning_rate` should be float, or an instance of "
                    f"LearningRateSchedule. Received instead: learning_rate={learning_rate!r}"
                ) from None
        return float(learning_rate)

    # ------------------------------------------------------------------ state

    @property
    def iterations(self) -> int:
        """Number of updates applied so far (with ``gradient_accumulation_steps=n``, the
        number of ``apply`` calls divided by n)."""
        return self._engine.iterations

    @property
    def learning_rate(self) -> float:
        """The learning rate of the next step: the constant, or the schedule's value at
        ``iterations``. Assign a float to change a constant learning rate, or a schedule."""
        return self._engine.learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate: LearningRate) -> None:
        if isinstance(learning_rate, LearningRateSchedule):
            self._engine.set_learning_rate_schedule(learning_rate._engine_json())
            self._schedule = learning_rate
            return
        if self._schedule is not None:
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` object as its "
                "`learning_rate` constructor argument, hence its learning rate is not "
                "settable. If you need the learning rate to be settable, you should "
                "instantiate the optimizer with a float `learning_rate` argument."
            )
        # Not a schedule (returned above), so the engine value is a float.
        self._engine.set_learning_rate(cast(float, self._engine_learning_rate(learning_rate)))

    @property
    def built(self) -> bool:
        return self._variables is not None

    def build(self, variables: Sequence[Variable]) -> None:
        """Records the variables that ``apply(grads)`` without variables updates."""
        self._variables = list(variables)

    # ------------------------------------------------------------------ steps

    def apply(
        self,
        grads: Sequence[Tensor | None],
        trainable_variables: Sequence[Variable] | None = None,
    ) -> None:
        """Updates ``trainable_variables[i]`` in place from ``grads[i]`` (one step).

        Without ``trainable_variables``, the variables of the first call (or of
        ``build``) are used. ``None`` gradients are skipped with a warning, as in Keras.
        Nothing changes unless every gradient matches its variable's shape.
        """
        grads = list(grads)
        if len(grads) == 0:
            return
        if trainable_variables is None:
            if self._variables is None:
                raise InvalidArgumentError(
                    "When passing `grads` without `variables`, the optimizer must already "
                    "be built on a list of variables. Call "
                    "`optimizer.build(trainable_variables)` first."
                )
            variables = self._variables
        else:
            variables = list(trainable_variables)
        built_on = variables
        if len(grads) != len(variables):
            raise InvalidArgumentError(
                f"apply: got {len(grads)} gradients for {len(variables)} variables; "
                "expected one gradient per variable"
            )
        if any(g is None for g in grads):
            missing = [getattr(v, "name", "?") for g, v in zip(grads, variables) if g is None]
            pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]
            if not pairs:
                raise InvalidArgumentError("No gradients provided for any variable.")
            warnings.warn(
                f"Gradients do not exist for variables {missing} when minimizing the loss.",
                stacklevel=2,
            )
            grads, variables = [g for g, _ in pairs], [v for _, v in pairs]
        self._engine.apply(cast("list[Tensor]", grads), variables)  # None ones dropped above
        if self._variables is None:
            self._variables = built_on

    def finalize_variable_values(self, var_list: Sequence[Variable]) -> None:
        """With ``use_ema``, sets each variable of ``var_list`` to its moving average
        (``fit`` does this after its last epoch); without, does nothing.

        >>> import kandle as kd
        >>> opt = kd.optimizers.SGD(1.0, use_ema=True, ema_momentum=0.5)
        >>> w = kd.Variable([0.0])
        >>> opt.apply([kd.tensor([1.0])], [w])  # w = -1, average = -1 (first step)
        >>> opt.apply([kd.tensor([1.0])], [w])  # w = -2, average = (-1 - 2) / 2
        >>> opt.finalize_variable_values([w])
        >>> w.numpy()
        array([-1.5], dtype=float32)
        """
        self._engine.finalize_variable_values(list(var_list))

    def apply_gradients(self, grads_and_vars: Iterable[tuple[Tensor | None, Variable]]) -> int:
        """Keras 2's form: an iterable of ``(gradient, variable)`` pairs. Returns
        ``iterations``."""
        pairs = list(grads_and_vars)
        self.apply([g for g, _ in pairs], [v for _, v in pairs])
        return self.iterations

    # ------------------------------------------------------------------ config

    def get_config(self) -> dict[str, Any]:
        """Keras's config: the constructor arguments, with the current learning rate."""
        engine = json.loads(self._engine.config_json())
        config: dict[str, Any] = {
            "name": self.name,
            "learning_rate": (
                schedules.serialize(self._schedule)
                if self._schedule is not None
                else engine["learning_rate"]
            ),
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }
        config.update(self._options())
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Optimizer:
        """A new optimizer (without state) from ``get_config()``'s output."""
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} learning_rate={self.learning_rate}>"


class SGD(Optimizer):
    """Gradient descent with optional (Nesterov) momentum; Keras 3's ``SGD``.

    With ``momentum == 0``: ``w -= learning_rate * g``. Otherwise
    ``velocity = momentum * velocity - learning_rate * g`` then ``w += velocity``, or
    with ``nesterov=True``: ``w += momentum * velocity - learning_rate * g``.

    >>> import kandle as kd
    >>> opt = kd.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    >>> w = kd.Variable([1.0])
    >>> for _ in range(2):
    ...     opt.apply([kd.tensor([1.0])], [w])
    >>> round(float(w.numpy()[0]), 4)  # 1 - 0.1 - (0.09 + 0.1)
    0.71
    """

    _engine_class = "SGD"
    _option_names = ("momentum", "nesterov")

    def __init__(
        self,
        learning_rate: LearningRate = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        loss_scale_factor: float | None = None,
        gradient_accumulation_steps: int | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.momentum = momentum
        self.nesterov = nesterov
        super().__init__(
            learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema,
            ema_momentum, ema_overwrite_frequency, loss_scale_factor,
            gradient_accumulation_steps, name, **kwargs,
        )  # fmt: skip


class Adam(Optimizer):
    """Adam; Keras 3's ``Adam`` (epsilon outside the sqrt, bias-corrected step size).

    At step ``t``: ``m += (g - m) * (1 - beta_1)``, ``v += (g**2 - v) * (1 - beta_2)``,
    ``w -= lr * sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (sqrt(v) + epsilon)``; with
    ``amsgrad=True`` the running maximum of ``v`` replaces ``v``.

    >>> import kandle as kd
    >>> opt = kd.optimizers.Adam(learning_rate=0.1)
    >>> w = kd.Variable([1.0])
    >>> opt.apply([kd.tensor([3.0])], [w])
    >>> round(float(w.numpy()[0]), 4)  # the first step is about lr * sign(g)
    0.9
    """

    _engine_class = "Adam"
    _option_names = ("beta_1", "beta_2", "epsilon", "amsgrad")

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        loss_scale_factor: float | None = None,
        gradient_accumulation_steps: int | None = None,
        name: str = "adam",
        **kwargs: Any,
    ) -> None:
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad
        super().__init__(
            learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema,
            ema_momentum, ema_overwrite_frequency, loss_scale_factor,
            gradient_accumulation_steps, name, **kwargs,
        )  # fmt: skip


class AdamW(Adam):
    """Adam with decoupled weight decay; Keras 3's ``AdamW`` (``weight_decay=0.004``).

    Each step first decays every variable, ``w -= w * weight_decay * learning_rate``,
    then applies Adam's update.

    >>> import kandle as kd
    >>> opt = kd.optimizers.AdamW(learning_rate=0.1, weight_decay=0.5)
    >>> w = kd.Variable([2.0])
    >>> opt.apply([kd.tensor([0.0])], [w])  # a zero gradient: only the decay acts
    >>> round(float(w.numpy()[0]), 4)
    1.9
    """

    _engine_class = "AdamW"

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        loss_scale_factor: float | None = None,
        gradient_accumulation_steps: int | None = None,
        name: str = "adamw",
        **kwargs: Any,
    ) -> None:
        if weight_decay is None:
            raise InvalidArgumentError(
                "Argument `weight_decay` must be a float. Received: weight_decay=None"
            )
        super().__init__(
            learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay, clipnorm,
            clipvalue, global_clipnorm, use_ema, ema_momentum, ema_overwrite_frequency,
            loss_scale_factor, gradient_accumulation_steps, name, **kwargs,
        )  # fmt: skip


class RMSprop(Optimizer):
    """RMSprop; Keras 3's ``RMSprop`` (epsilon inside the sqrt).

    ``v = rho * v + (1 - rho) * g**2``; ``inc = lr * g / sqrt(v + epsilon)`` (with
    ``centered=True``, ``a = rho * a + (1 - rho) * g`` and ``sqrt(v - a**2 + epsilon)``);
    with ``momentum > 0``: ``m = momentum * m + inc`` and ``w -= m``, else ``w -= inc``.

    >>> import kandle as kd
    >>> opt = kd.optimizers.RMSprop(learning_rate=0.1)
    >>> w = kd.Variable([10.0])
    >>> opt.apply(kd.grad((w * w).sum() / 2.0, [w]), [w])
    >>> round(float(w.numpy()[0]), 5)  # Keras's docstring value: 9.683772
    9.68377
    """

    _engine_class = "RMSprop"
    _option_names = ("rho", "momentum", "epsilon", "centered")

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        loss_scale_factor: float | None = None,
        gradient_accumulation_steps: int | None = None,
        name: str = "rmsprop",
        **kwargs: Any,
    ) -> None:
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered
        super().__init__(
            learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema,
            ema_momentum, ema_overwrite_frequency, loss_scale_factor,
            gradient_accumulation_steps, name, **kwargs,
        )  # fmt: skip


class Adagrad(Optimizer):
    """Adagrad; Keras 3's ``Adagrad``.

    ``acc += g**2`` (``acc`` starts at ``initial_accumulator_value``), then
    ``w -= lr * g / sqrt(acc + epsilon)``.

    >>> import kandle as kd
    >>> opt = kd.optimizers.Adagrad(learning_rate=1.0, initial_accumulator_value=0.0)
    >>> w = kd.Variable([1.0])
    >>> opt.apply([kd.tensor([2.0])], [w])  # 1 - 2 / sqrt(4)
    >>> round(float(w.numpy()[0]), 4)
    0.0
    """

    _engine_class = "Adagrad"
    _option_names = ("initial_accumulator_value", "epsilon")

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        initial_accumulator_value: float = 0.1,
        epsilon: float = 1e-7,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        loss_scale_factor: float | None = None,
        gradient_accumulation_steps: int | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon
        super().__init__(
            learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema,
            ema_momentum, ema_overwrite_frequency, loss_scale_factor,
            gradient_accumulation_steps, name, **kwargs,
        )  # fmt: skip


class Nadam(Optimizer):
    """Adam with Nesterov momentum; Keras 3's ``Nadam``.

    With the momentum schedule ``u_t = beta_1 * (1 - 0.5 * 0.96**t)`` and its running
    product ``P_t = u_1 * ... * u_t``, at step ``t``: ``m += (g - m) * (1 - beta_1)``,
    ``v += (g**2 - v) * (1 - beta_2)``, ``m_hat = u_{t+1} * m / (1 - P_t * u_{t+1}) +
    (1 - u_t) * g / (1 - P_t)``, ``v_hat = v / (1 - beta_2**t)`` and
    ``w -= lr * m_hat / (sqrt(v_hat) + epsilon)``.

    >>> import kandle as kd
    >>> opt = kd.optimizers.Nadam(learning_rate=0.1)
    >>> w = kd.Variable([1.0])
    >>> opt.apply([kd.tensor([3.0])], [w])
    >>> round(float(w.numpy()[0]), 4)  # the first step is about 1.06 * lr * sign(g)
    0.8937
    """

    _engine_class = "Nadam"
    _option_names = ("beta_1", "beta_2", "epsilon")

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        loss_scale_factor: float | None = None,
        gradient_accumulation_steps: int | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        super().__init__(
            learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema,
            ema_momentum, ema_overwrite_frequency, loss_scale_factor,
            gradient_accumulation_steps, name, **kwargs,
        )  # fmt: skip


class Adamax(Optimizer):
    """Adam with the infinity norm; Keras 3's ``Adamax``.

    At step ``t``: ``m += (g - m) * (1 - beta_1)``, ``u = max(beta_2 * u, |g|)``,
    ``w -= lr * m / ((1 - beta_1**t) * (u + epsilon))``.

    >>> import kandle as kd
    >>> opt = kd.optimizers.Adamax(learning_rate=0.1)
    >>> w = kd.Variable([1.0])
    >>> opt.apply([kd.tensor([-2.0])], [w])  # 1 + 0.1 * 0.2 / (0.1 * 2)
    >>> round(float(w.numpy()[0]), 4)
    1.1
    """

    _engine_class = "Adamax"
    _option_names = ("beta_1", "beta_2", "epsilon")

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        loss_scale_factor: float | None = None,
        gradient_accumulation_steps: int | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        super().__init__(
            learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema,
            ema_momentum, ema_overwrite_frequency, loss_scale_factor,
            gradient_accumulation_steps, name, **kwargs,
        )  # fmt: skip


class Adadelta(Optimizer):
    """Adadelta; Keras 3's ``Adadelta`` (which keeps a ``learning_rate``, 0.001).

    ``a = rho * a + (1 - rho) * g**2``, ``delta = -sqrt(d + epsilon) * g /
    sqrt(a + epsilon)``, ``d = rho * d + (1 - rho) * delta**2``, ``w += lr * delta``.

    >>> import kandle as kd
    >>> opt = kd.optimizers.Adadelta(learning_rate=1.0, rho=0.0, epsilon=1.0)
    >>> w = kd.Variable([1.0])
    >>> opt.apply([kd.tensor([0.0])], [w])  # a zero gradient moves nothing
    >>> float(w.numpy()[0])
    1.0
    """

    _engine_class = "Adadelta"
    _option_names = ("rho", "epsilon")

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        rho: float = 0.95,
        epsilon: float = 1e-7,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        loss_scale_factor: float | None = None,
        gradient_accumulation_steps: int | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.rho = rho
        self.epsilon = epsilon
        super().__init__(
            learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema,
            ema_momentum, ema_overwrite_frequency, loss_scale_factor,
            gradient_accumulation_steps, name, **kwargs,
        )  # fmt: skip


class Ftrl(Optimizer):
    """Follow The Regularized Leader; Keras 3's ``Ftrl``.

    With ``p = -learning_rate_power``, ``l1 = l1_regularization_strength``,
    ``l2 = l2_regularization_strength + beta / (2 * lr)`` and
    ``s = l2_shrinkage_regularization_strength``, per weight: ``n_new = n + g**2``,
    ``z += g + 2 * s * w - (n_new**p - n**p) / lr * w``,
    ``w = (clip(z, -l1, l1) - z) / (n_new**p / lr + 2 * l2)``, ``n = n_new``; ``n``
    starts at ``initial_accumulator_value``, ``z`` at 0.

    >>> import kandle as kd
    >>> opt = kd.optimizers.Ftrl(learning_rate=1.0, initial_accumulator_value=0.0,
    ...                          l1_regularization_strength=10.0)
    >>> w = kd.Variable([0.5])
    >>> opt.apply([kd.tensor([1.0])], [w])  # |z| <= l1: the weight is set to 0
    >>> float(w.numpy()[0])
    0.0
    """

    _engine_class = "Ftrl"
    _option_names = (
        "learning_rate_power",
        "initial_accumulator_value",
        "l1_regularization_strength",
        "l2_regularization_strength",
        "l2_shrinkage_regularization_strength",
        "beta",
    )

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        learning_rate_power: float = -0.5,
        initial_accumulator_value: float = 0.1,
        l1_regularization_strength: float = 0.0,
        l2_regularization_strength: float = 0.0,
        l2_shrinkage_regularization_strength: float = 0.0,
        beta: float = 0.0,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        loss_scale_factor: float | None = None,
        gradient_accumulation_steps: int | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta
        super().__init__(
            learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema,
            ema_momentum, ema_overwrite_frequency, loss_scale_factor,
            gradient_accumulation_steps, name, **kwargs,
        )  # fmt: skip


class Lion(Optimizer):
    """Lion (EvoLved Sign Momentum); Keras 3's ``Lion``.

    ``w -= lr * sign(beta_1 * m + (1 - beta_1) * g)``, then
    ``m = beta_2 * m + (1 - beta_2) * g``. ``beta_1`` must be in (0, 1].

    >>> import kandle as kd
    >>> opt = kd.optimizers.Lion(learning_rate=0.1)
    >>> w = kd.Variable([1.0, 1.0, 1.0])
    >>> opt.apply([kd.tensor([3.0, -0.5, 0.0])], [w])  # steps of lr * sign(g)
    >>> [round(float(x), 4) for x in w.numpy()]
    [0.9, 1.1, 1.0]
    """

    _engine_class = "Lion"
    _option_names = ("beta_1", "beta_2")

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.99,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        loss_scale_factor: float | None = None,
        gradient_accumulation_steps: int | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        super().__init__(
            learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, use_ema,
            ema_momentum, ema_overwrite_frequency, loss_scale_factor,
            gradient_accumulation_steps, name, **kwargs,
        )  # fmt: skip


# The concrete classes, whose learning_rate has a default (the base class has none).
_Concrete = SGD | Adam | AdamW | RMSprop | Adagrad | Nadam | Adamax | Adadelta | Ftrl | Lion
_ALL: dict[str, type[_Concrete]] = {
    cls.__name__.lower(): cls
    for cls in (SGD, Adam, AdamW, RMSprop, Adagrad, Nadam, Adamax, Adadelta, Ftrl, Lion)
}


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """Keras's serialized form: ``{"module", "class_name", "config", "registered_name"}``.

    >>> import kandle as kd
    >>> kd.optimizers.serialize(kd.optimizers.Adam())["class_name"]
    'Adam'
    """
    return serialized(optimizer, "keras.optimizers")


def deserialize(config: dict[str, Any]) -> Optimizer:
    """The optimizer described by ``serialize()``'s output (class names are
    case-insensitive).

    >>> import kandle as kd
    >>> kd.optimizers.deserialize({"class_name": "adam", "config": {}}).name
    'adam'
    """
    class_name = config.get("class_name") if isinstance(config, dict) else None
    cls = _ALL.get(class_name.lower()) if isinstance(class_name, str) else None
    if cls is None:
        raise InvalidArgumentError(
            f"Could not interpret optimizer identifier: {config!r}; expected one of {sorted(_ALL)}"
        )
    return cls.from_config(dict(config.get("config") or {}))


def get(identifier: str | dict[str, Any] | Optimizer | type[Optimizer] | None) -> Optimizer | None:
    """An optimizer from a name (``"sgd"``, ``"adam"``, ``"adamw"``, ``"rmsprop"``,
    ``"adagrad"``, ``"nadam"``, ``"adamax"``, ``"adadelta"``, ``"ftrl"``, ``"lion"``;
    case-insensitive), a config dict, a class or an instance.

    >>> import kandle as kd
    >>> type(kd.optimizers.get("rmsprop")).__name__
    'RMSprop'
    >>> kd.optimizers.get("adam").learning_rate
    0.001
    """
    if identifier is None:
        return None
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        # Subclasses default learning_rate; the base class itself raises a TypeError.
        return identifier()  # type: ignore[call-arg]
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = _ALL.get(identifier.lower())
        if cls is not None:
            return cls()
    raise InvalidArgumentError(
        f"Could not interpret optimizer identifier: {identifier!r}; expected one of "
        f"{sorted(_ALL)}, a config dict or an Optimizer"
    )


__all__ = [
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Ftrl",
    "Lion",
    "Nadam",
    "Optimizer",
    "RMSprop",
    "deserialize",
    "get",
    "schedules",
    "serialize",
]
