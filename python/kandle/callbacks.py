"""Callbacks (``kandle.callbacks``): hooks into ``fit``, ``evaluate`` and ``predict``.

The batch loop runs in Rust. Batch-level hooks are called once per batch only when
some callback overrides them; otherwise batches run in chunks and only the progress
bar is refreshed between chunks.

>>> import numpy as np, kandle as kd
>>> model = kd.Sequential([kd.Input((2,)), kd.layers.Dense(1)])
>>> model.compile(optimizer="sgd", loss="mse")
>>> stop = kd.callbacks.EarlyStopping(monitor="loss", patience=0)
>>> history = model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=3, verbose=0, callbacks=[stop])
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from kandle._config import CheckedArguments
from kandle.errors import InvalidArgumentError
from kandle.utils.progbar import Progbar

Logs = dict[str, float]

_BATCH_HOOKS = {
    "train": ("on_train_batch_begin", "on_train_batch_end"),
    "test": ("on_test_batch_begin", "on_test_batch_end"),
    "predict": ("on_predict_batch_begin", "on_predict_batch_end"),
}


class Callback(CheckedArguments):
    """Base class: override any hook. ``self.model`` is the model being trained and
    ``self.params`` holds ``verbose``, ``epochs`` and ``steps``.

    >>> import kandle as kd
    >>> class PrintEpoch(kd.callbacks.Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         print(epoch, sorted(logs))
    """

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict[str, Any] = {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def on_train_begin(self, logs: Logs | None = None) -> None: ...
    def on_train_end(self, logs: Logs | None = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None: ...
    def on_train_batch_begin(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_test_begin(self, logs: Logs | None = None) -> None: ...
    def on_test_end(self, logs: Logs | None = None) -> None: ...
    def on_test_batch_begin(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_test_batch_end(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_predict_begin(self, logs: Logs | None = None) -> None: ...
    def on_predict_end(self, logs: Logs | None = None) -> None: ...
    def on_predict_batch_begin(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_predict_batch_end(self, batch: int, logs: Logs | None = None) -> None: ...

    # Keras 2 names, still called by Keras 3 for training batches.
    def on_batch_begin(self, batch: int, logs: Logs | None = None) -> None: ...
    def on_batch_end(self, batch: int, logs: Logs | None = None) -> None: ...

    def _overrides(self, hook: str) -> bool:
        return getattr(type(self), hook) is not getattr(Callback, hook)


class History(Callback):
    """Records each epoch's logs: ``history.history`` maps each key (sorted) to a list
    of values, ``history.epoch`` lists the epochs run. ``fit`` returns it.

    >>> import kandle as kd
    >>> kd.callbacks.History().history
    {}
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        self.history = dict(sorted(self.history.items()))
        self.model.history = self


class ProgbarLogger(Callback):
    """Prints Keras's progress bar (added by ``fit``/``evaluate``/``predict`` when
    ``verbose`` is not 0). ``count_mode="steps"`` (Keras 3's only mode, the default)
    counts batches; ``"samples"`` (tf.keras 2's default) counts rows where the data is
    arrays, and batches where it is a stream of unknown rows.

    >>> import kandle as kd
    >>> kd.callbacks.ProgbarLogger().verbose
    1
    >>> kd.callbacks.ProgbarLogger(count_mode="samples").count_mode
    'samples'
    """

    def __init__(self, count_mode: str = "steps") -> None:
        super().__init__()
        if count_mode not in ("steps", "samples"):
            raise InvalidArgumentError(
                f"ProgbarLogger: count_mode must be 'steps' or 'samples', got {count_mode!r}"
            )
        self.count_mode = count_mode
        self.verbose = 1
        self.epochs = 1
        self._bar: Progbar | None = None
        self._seen = 0  # batches shown in this bar (its length while unknown)
        self._in_fit = False
        self._samples: tuple[int, int] | None = None  # (rows, batch size), set by fit

    def set_params(self, params: dict[str, Any]) -> None:
        super().set_params(params)
        self.verbose = params.get("verbose", 1)
        self.epochs = params.get("epochs", 1)

    def _by_samples(self) -> tuple[int, int] | None:
        return self._samples if self.count_mode == "samples" else None

    def _start(self, steps: int | None = None) -> None:
        by_samples = self._by_samples()
        if by_samples is not None:
            self._bar = Progbar(target=by_samples[0], verbose=self.verbose, unit_name="sample")
        else:
            # None: a stream of batches whose length is known only at its end.
            target = steps if steps is not None else self.params.get("steps")
            self._bar = Progbar(target=target, verbose=self.verbose)
        self._seen = 0

    def _show(self, batch: int, logs: Logs | None, finalize: bool = False) -> None:
        if self._bar is None:
            self._start()
        assert self._bar is not None
        count = batch + 1
        by_samples = self._by_samples()
        if by_samples is not None:
            count = min(count * by_samples[1], by_samples[0])
        if not finalize:
            self._seen = count
        current = (self._bar.target or self._seen) if finalize else count
        self._bar.update(current, list((logs or {}).items()), finalize=finalize)

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._in_fit = True

    def on_train_end(self, logs: Logs | None = None) -> None:
        self._in_fit = False

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._start()
        if self.verbose and self.epochs > 1:
            print(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self._show(batch, logs)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self._show(0, logs, finalize=True)

    def on_test_begin(self, logs: Logs | None = None) -> None:
        if not self._in_fit:
            self._start()

    def on_test_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if not self._in_fit:
            self._show(batch, logs)

    def on_test_end(self, logs: Logs | None = None) -> None:
        if not self._in_fit:
            self._show(0, logs, finalize=True)

    def on_predict_begin(self, logs: Logs | None = None) -> None:
        self._start()

    def on_predict_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        self._show(batch, None)

    def on_predict_end(self, logs: Logs | None = None) -> None:
        self._show(0, None, finalize=True)


class CallbackList(CheckedArguments):
    """The callbacks of one ``fit``/``evaluate``/``predict`` call, with History and the
    progress bar added as Keras adds them."""

    def __init__(
        self,
        callbacks: Iterable[Callback] | None,
        model: Any,
        *,
        add_history: bool = False,
        add_progbar: bool = False,
        params: dict[str, Any] | None = None,
        samples: tuple[int, int] | None = None,
    ) -> None:
        """``samples``: the number of rows and the batch size, when known (arrays), for
        a ProgbarLogger that counts samples."""
        self.callbacks = list(callbacks or [])
        for c in self.callbacks:
            if not isinstance(c, Callback):
                raise TypeError(
                    "callbacks: expected kandle.callbacks.Callback instances, "
                    f"got {type(c).__name__}"
                )
        if add_progbar and not any(isinstance(c, ProgbarLogger) for c in self.callbacks):
            self.callbacks.insert(0, ProgbarLogger())
        if add_history:
            self.history = History()
            self.callbacks.append(self.history)
        for c in self.callbacks:
            c.set_model(model)
            c.set_params(dict(params or {}))
            if isinstance(c, ProgbarLogger):
                c._samples = samples
            if isinstance(c, BackupAndRestore):
                c._peers = self.callbacks  # to back up ModelCheckpoint's best value

    def needs_batch_hooks(self, mode: str) -> bool:
        """Whether a callback other than the progress bar has a per-batch hook here."""
        hooks = _BATCH_HOOKS[mode] + (("on_batch_begin", "on_batch_end") if mode == "train" else ())
        return any(
            c._overrides(h)
            for c in self.callbacks
            if not isinstance(c, ProgbarLogger)
            for h in hooks
        )

    def call(self, hook: str, *args: Any) -> None:
        for c in self.callbacks:
            getattr(c, hook)(*args)

    def batch_begin(self, mode: str, batch: int, logs: Logs) -> None:
        self.call(_BATCH_HOOKS[mode][0], batch, logs)
        if mode == "train":
            self.call("on_batch_begin", batch, logs)

    def batch_end(self, mode: str, batch: int, logs: Logs) -> None:
        self.call(_BATCH_HOOKS[mode][1], batch, logs)
        if mode == "train":
            self.call("on_batch_end", batch, logs)


def _resolve_mode(mode: str, maximize_on_auto: bool) -> str:
    """``"min"`` or ``"max"``: ``mode`` itself, or for ``"auto"`` the callback's own rule."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode: expected 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        return "max" if maximize_on_auto else "min"
    return mode


def _monitor_op(monitor: str, mode: str) -> Callable[[float, float], bool]:
    maximize = any(k in monitor for k in ("acc", "auc", "precision", "recall"))
    mode = _resolve_mode(mode, maximize and "loss" not in monitor)
    return np.greater if mode == "max" else np.less


class EarlyStopping(Callback):
    """Stops training when ``monitor`` has stopped improving (Keras's semantics).

    >>> import kandle as kd
    >>> kd.callbacks.EarlyStopping(monitor="val_loss", patience=3).patience
    3
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ) -> None:
        super().__init__()
        self.monitor = monitor
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.monitor_op = _monitor_op(monitor, mode)
        self.min_delta = abs(min_delta) if self.monitor_op is np.greater else -abs(min_delta)

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best: float | None = None
        self.best_weights: list[np.ndarray] | None = None
        self.best_epoch = 0

    def _is_improvement(self, value: float, reference: float | None) -> bool:
        return reference is None or bool(self.monitor_op(value - self.min_delta, reference))

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        current = (logs or {}).get(self.monitor)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(
                    "Restoring model weights from the end of the best epoch: "
                    f"{self.best_epoch + 1}."
                )
            self.model.set_weights(self.best_weights)


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by ``factor`` when ``monitor`` stops improving.

    >>> import kandle as kd
    >>> kd.callbacks.ReduceLROnPlateau(factor=0.5, patience=2).factor
    0.5
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
    ) -> None:
        super().__init__()
        if factor >= 1.0:
            raise ValueError(
                f"ReduceLROnPlateau does not support a factor >= 1.0. Received: factor={factor}"
            )
        self.monitor = monitor
        self.factor = factor
        self.patience = patience
        self.verbose = verbose
        self.min_delta = min_delta
        self.cooldown = cooldown
        self.min_lr = min_lr
        self.mode = _resolve_mode(mode, "acc" in monitor)

    def _improved(self, current: float) -> bool:
        if self.mode == "min":
            return current < self.best - self.min_delta
        return current > self.best + self.min_delta

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.wait = 0
        self.cooldown_counter = 0

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        logs = logs if logs is not None else {}
        logs["learning_rate"] = float(self.model.optimizer.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(current):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = float(self.model.optimizer.learning_rate)
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    self.model.optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        print(
                            f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                            f"to {new_lr}."
                        )
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of each epoch to ``schedule(epoch, lr)``.

    >>> import kandle as kd
    >>> sched = kd.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.9)
    """

    def __init__(self, schedule: Callable[..., float], verbose: int = 0) -> None:
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        lr = float(self.model.optimizer.learning_rate)
        try:
            new_lr = self.schedule(epoch, lr)
        except TypeError:  # Keras accepts schedules of the epoch alone
            new_lr = self.schedule(epoch)
        if not isinstance(new_lr, int | float | np.floating):
            raise ValueError(
                f"The output of the `schedule` function should be a float. Got: {new_lr!r}"
            )
        self.model.optimizer.learning_rate = float(new_lr)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {new_lr}.")

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class TerminateOnNaN(Callback):
    """Stops training as soon as a batch's loss is NaN or infinite.

    >>> import kandle as kd
    >>> cb = kd.callbacks.TerminateOnNaN()
    """

    def on_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class CSVLogger(Callback):
    """Writes each epoch's logs as a row of a CSV file (``epoch`` first, keys sorted).

    >>> import kandle as kd, tempfile, os
    >>> logger = kd.callbacks.CSVLogger(os.path.join(tempfile.mkdtemp(), "log.csv"))
    """

    def __init__(self, filename: str, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self._file: Any = None
        self._writer: Any = None
        self._keys: list[str] | None = None

    def on_train_begin(self, logs: Logs | None = None) -> None:
        has_header = (
            self.append and os.path.exists(self.filename) and os.path.getsize(self.filename)
        )
        self._file = open(self.filename, "a" if self.append else "w", newline="")  # noqa: SIM115
        self._keys = None
        self._has_header = bool(has_header)

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        logs = logs or {}
        if self._keys is None:
            self._keys = sorted(logs)
            self._writer = csv.DictWriter(
                self._file, fieldnames=["epoch", *self._keys], delimiter=self.sep
            )
            if not self._has_header:
                self._writer.writeheader()
        row = {"epoch": epoch, **{k: logs.get(k, "NA") for k in self._keys}}
        self._writer.writerow(row)
        self._file.flush()

    def on_train_end(self, logs: Logs | None = None) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class LambdaCallback(Callback):
    """A callback built from plain functions, e.g. ``on_epoch_end=lambda epoch, logs: ...``.

    >>> import kandle as kd
    >>> cb = kd.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: None)
    """

    def __init__(self, **hooks: Callable[..., None]) -> None:
        super().__init__()
        for name, fn in hooks.items():
            if not hasattr(Callback, name) or not name.startswith("on_"):
                raise ValueError(f"LambdaCallback: unknown hook {name!r}")
            setattr(self, name, fn)

    def _overrides(self, hook: str) -> bool:
        return hook in self.__dict__


class SwapEMAWeights(Callback):
    """Evaluates (and predicts) with the optimizer's moving average of the weights
    (Keras's ``SwapEMAWeights``); the optimizer needs ``use_ema=True``.

    Before evaluation the model's weights and their averages swap places; after it they
    swap back. With ``swap_on_epoch=True`` they also swap at the end of each epoch and
    back at the start of the next, so that callbacks placed after this one (such as a
    checkpoint) see the averages; after the last epoch the averages stay in the model.
    Unlike Keras 3.15, whose ``on_predict_end`` leaves the averages in the model, the
    weights are restored after ``predict`` too.

    >>> import numpy as np, kandle as kd
    >>> model = kd.Sequential([kd.Input((2,)), kd.layers.Dense(1)])
    >>> model.compile(optimizer=kd.optimizers.SGD(use_ema=True), loss="mse")
    >>> history = model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=2, verbose=0)
    >>> loss = model.evaluate(np.ones((8, 2)), np.ones((8, 1)), verbose=0,
    ...                       callbacks=[kd.callbacks.SwapEMAWeights()])
    """

    def __init__(self, swap_on_epoch: bool = False) -> None:
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    def _optimizer_engine(self) -> Any:
        optimizer = self.model.optimizer
        if not getattr(optimizer, "use_ema", False):
            raise InvalidArgumentError(
                "SwapEMAWeights must be used when `use_ema=True` is set on the optimizer. "
                f"Received: use_ema={getattr(optimizer, 'use_ema', None)}"
            )
        return optimizer._engine

    def _swap_variables(self) -> None:
        self._optimizer_engine().swap_ema_weights(self.model.trainable_weights)

    def _finalize_ema_values(self) -> None:
        # The averages take the (swapped-in) averages, so that fit's final
        # `finalize_variable_values` leaves them in the model.
        self._optimizer_engine().copy_variables_to_ema(self.model.trainable_weights)

    def _swap_in(self) -> None:
        if not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True

    def _swap_out(self) -> None:
        if self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = False

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        if self.swap_on_epoch:
            self._swap_out()

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self.swap_on_epoch and not self._ema_weights_in_model:
            self._swap_in()
            if epoch == self.params["epochs"] - 1:
                self._finalize_ema_values()

    def on_test_begin(self, logs: Logs | None = None) -> None:
        self._swap_in()

    def on_test_end(self, logs: Logs | None = None) -> None:
        self._swap_out()

    def on_predict_begin(self, logs: Logs | None = None) -> None:
        self._swap_in()

    def on_predict_end(self, logs: Logs | None = None) -> None:
        self._swap_out()


class ModelCheckpoint(Callback):
    """Saves the model (``.keras``) or its weights (``.weights.h5`` with
    ``save_weights_only=True``) during training, as Keras's ``ModelCheckpoint``.

    ``filepath`` may hold ``{epoch}`` (1-based), ``{batch}`` (with an integer
    ``save_freq``) and any log key with a format, e.g.
    ``"ckpt-{epoch:02d}-{val_loss:.2f}.keras"``. With ``save_best_only``, a file is
    written only when ``monitor`` improves (``mode``: ``"min"``, ``"max"`` or
    ``"auto"``) on the best so far, which starts at ``initial_value_threshold``.
    ``save_freq`` is ``"epoch"`` or a number of batches. Each save is atomic.

    >>> import os, tempfile, numpy as np, kandle as kd
    >>> folder = tempfile.mkdtemp()
    >>> model = kd.Sequential([kd.Input((2,)), kd.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> ckpt = kd.callbacks.ModelCheckpoint(os.path.join(folder, "m-{epoch:02d}.keras"))
    >>> _ = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0, callbacks=[ckpt])
    >>> sorted(os.listdir(folder))
    ['m-01.keras', 'm-02.keras']
    """

    def __init__(
        self,
        filepath: Any,
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        save_freq: str | int = "epoch",
        initial_value_threshold: float | None = None,
    ) -> None:
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.mode = mode
        self.save_freq = save_freq
        self.best: float | None = initial_value_threshold
        self.monitor_op = _monitor_op(monitor, mode)
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen: int | None = None
        self._current_epoch = 0
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)):
            raise InvalidArgumentError(
                f"Unrecognized save_freq: {save_freq}. "
                "Expected save_freq are 'epoch' or integer values"
            )
        if save_weights_only:
            if not self.filepath.endswith((".weights.h5", ".safetensors")):
                raise InvalidArgumentError(
                    "When using `save_weights_only=True` in `ModelCheckpoint`, the filepath "
                    "provided must end in `.weights.h5` (Keras weights format) or "
                    f"`.safetensors`. Received: filepath={self.filepath}"
                )
        elif not self.filepath.endswith(".keras"):
            raise InvalidArgumentError(
                "The filepath provided must end in `.keras` (Keras model format). "
                f"Received: filepath={self.filepath}"
            )

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if self._should_save_on_batch(batch):
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._current_epoch = epoch

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    def _should_save_on_batch(self, batch: int) -> bool:
        if self.save_freq == "epoch":
            return False
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            added = batch + 1  # a new epoch: batches count from 0
        else:
            added = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += added
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= int(self.save_freq):
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _should_save(self, epoch: int, logs: Logs, filepath: str) -> bool:
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            import warnings

            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=3)
            return True
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self.best is None or bool(self.monitor_op(current, self.best)):
            if self.verbose > 0:
                print(
                    f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to "
                    f"{current:.5f}, saving model to {filepath}"
                )
            self.best = float(current)
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
        return False

    def _file_path(self, epoch: int, batch: int | None, logs: Logs) -> str:
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(
                f'Failed to format this callback filepath: "{self.filepath}". Reason: {e}'
            ) from None

    def _save_model(self, epoch: int, batch: int | None, logs: Logs | None) -> None:
        logs = dict(logs or {})
        filepath = self._file_path(epoch, batch, logs)
        if os.path.isdir(filepath):
            raise OSError(
                "Please specify a non-directory filepath for ModelCheckpoint. Filepath used "
                f"is an existing directory: {filepath}"
            )
        if not self._should_save(epoch, logs, filepath):
            return
        folder = os.path.dirname(filepath)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)


class BackupAndRestore(Callback):
    """Backs up the training state so that a ``fit`` that was interrupted (killed,
    crashed) resumes where it stopped when ``fit`` is called again, as Keras's
    ``BackupAndRestore``.

    The backup, ``<backup_dir>/latest.keras``, is written atomically at the end of each
    epoch (or every ``save_freq`` batches) and holds the weights, the optimizer state,
    the epoch reached, kandle's random generator (shuffling, unseeded dropout) and the
    best value of each ``ModelCheckpoint`` of the same ``fit``, which Keras loses
    (keras#17012). A seeded run killed at an epoch end and resumed ends with weights
    bitwise equal to an uninterrupted run's (layers with their own ``seed`` restart
    their stream, as in Keras). With ``delete_checkpoint``, a ``fit`` that completes
    deletes the backup.

    >>> import tempfile, numpy as np, kandle as kd
    >>> model = kd.Sequential([kd.Input((2,)), kd.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> backup = kd.callbacks.BackupAndRestore(tempfile.mkdtemp())
    >>> _ = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0, callbacks=[backup])
    """

    def __init__(
        self,
        backup_dir: Any,
        save_freq: str | int = "epoch",
        double_checkpoint: bool = False,
        delete_checkpoint: bool = True,
    ) -> None:
        super().__init__()
        if not backup_dir:
            raise InvalidArgumentError("Empty `backup_dir` argument passed")
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)):
            raise InvalidArgumentError(
                f"Invalid value for argument `save_freq`. Received: save_freq={save_freq}. "
                "Expected either 'epoch' or an integer value."
            )
        if double_checkpoint:
            raise InvalidArgumentError(
                "BackupAndRestore: double_checkpoint is not needed in kandle: every backup "
                "is written atomically, so a crash leaves the previous one whole"
            )
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.delete_checkpoint = delete_checkpoint
        self._path = os.path.join(self.backup_dir, "latest.keras")
        self._current_epoch = 0
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = -1
        self._peers: list[Callback] = []

    def _checkpoints(self) -> list[ModelCheckpoint]:
        return [c for c in self._peers if isinstance(c, ModelCheckpoint)]

    def on_train_begin(self, logs: Logs | None = None) -> None:
        if not self.model.built:
            raise InvalidArgumentError(
                "To use the BackupAndRestore callback, your model must be built before you "
                "call `fit()`."
            )
        self.model._initial_epoch = None
        if not os.path.exists(self._path):
            return
        from kandle import _core, saving

        config_json, _metadata, weights, integers, _h5 = _core.read_keras(self._path)
        state = json.loads(config_json).get("kandle_backup")
        if not isinstance(state, dict):
            raise InvalidArgumentError(f"BackupAndRestore: {self._path} is not a kandle backup")
        store, int_store = dict(weights or []), dict(integers or [])
        plan = saving._plan_layer_weights(self.model, store, self._path)
        optimizer_plan = saving._plan_optimizer(self.model, store, int_store)
        saving._apply_plan(plan)
        if optimizer_plan is not None:
            optimizer_plan()
        _core.set_rng_state(bytes.fromhex(state["rng_state"]))
        for checkpoint, best in zip(self._checkpoints(), state.get("checkpoint_best", [])):
            checkpoint.best = best
        self._current_epoch = int(state["epoch"])
        self.model._initial_epoch = self._current_epoch

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        self._current_epoch = epoch

    def on_epoch_end(self, epoch: int, logs: Logs | None = None) -> None:
        self._current_epoch = epoch + 1
        self._last_batch_seen = -1
        if self.save_freq == "epoch":
            self._save()

    def on_train_batch_end(self, batch: int, logs: Logs | None = None) -> None:
        if self.save_freq == "epoch":
            return
        added = batch + 1 if batch <= self._last_batch_seen else batch - self._last_batch_seen
        self._batches_seen_since_last_saving += added
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= int(self.save_freq):
            self._batches_seen_since_last_saving = 0
            self._save()

    def _save(self) -> None:
        from kandle import _core, saving

        os.makedirs(self.backup_dir, exist_ok=True)
        weights, integers = saving._weight_entries(self.model, include_optimizer=True)
        state = {
            "epoch": self._current_epoch,
            "rng_state": _core.rng_state().hex(),
            "checkpoint_best": [c.best for c in self._checkpoints()],
        }
        config = {"class_name": "BackupAndRestore", "kandle_backup": state}
        _core.save_keras(self._path, json.dumps(config), weights, integers)

    def on_train_end(self, logs: Logs | None = None) -> None:
        self.model._initial_epoch = None
        if self.delete_checkpoint and os.path.exists(self._path):
            os.remove(self._path)
            try:
                os.rmdir(self.backup_dir)
            except OSError:
                pass  # the folder holds other files: leave it


__all__ = [
    "BackupAndRestore",
    "Callback",
    "CallbackList",
    "CSVLogger",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "SwapEMAWeights",
    "TerminateOnNaN",
]
