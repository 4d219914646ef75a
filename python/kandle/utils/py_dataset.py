"""``kandle.utils.PyDataset``: batches made by Python code, as ``keras.utils.PyDataset``."""

from __future__ import annotations

import warnings
from typing import Any

from kandle.errors import InvalidArgumentError


class PyDataset:
    """Base class of datasets that make each batch in Python: implement ``__len__``
    (the number of batches) and ``__getitem__(index)`` (batch ``index`` as ``x``,
    ``(x, y)`` or ``(x, y, sample_weight)``), and optionally ``on_epoch_end``.

    ``fit``, ``evaluate`` and ``predict`` prepare the next batches while the engine
    trains on the current one: in ``workers`` threads, or processes with
    ``use_multiprocessing=True``, keeping up to ``max_queue_size`` batches ready.
    Subclasses pass these arguments on with ``super().__init__(**kwargs)``.

    >>> import numpy as np, kandle as kd
    >>> class Squares(kd.utils.PyDataset):
    ...     def __init__(self, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.x = np.arange(20, dtype="float32").reshape(10, 2)
    ...     def __len__(self):
    ...         return 5
    ...     def __getitem__(self, index):
    ...         x = self.x[2 * index : 2 * index + 2]
    ...         return x, (x**2).sum(axis=1, keepdims=True)
    >>> model = kd.Sequential([kd.Input((2,)), kd.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> len(model.fit(Squares(workers=2), epochs=2, verbose=0).history["loss"])
    2
    """

    def __init__(
        self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size: int = 10
    ) -> None:
        for name, value, least in (("workers", workers, 1), ("max_queue_size", max_queue_size, 1)):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise InvalidArgumentError(
                    f"PyDataset: {name} must be an integer >= {least}, got {value!r}"
                )
        if not isinstance(use_multiprocessing, bool):
            raise InvalidArgumentError(
                f"PyDataset: use_multiprocessing must be a bool, got {use_multiprocessing!r}"
            )
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    def _setting(self, name: str, default: Any) -> Any:
        if not hasattr(self, name):
            warnings.warn(
                "Your `PyDataset` class should call `super().__init__(**kwargs)` in its "
                "constructor. `**kwargs` can include `workers`, `use_multiprocessing`, "
                "`max_queue_size`. Do not pass these arguments to `fit()`, as they will be "
                "ignored.",
                stacklevel=3,
            )
            setattr(self, name, default)
        return getattr(self, name)

    @property
    def workers(self) -> int:
        return int(self._setting("_workers", 1))

    @workers.setter
    def workers(self, value: int) -> None:
        self._workers = value

    @property
    def use_multiprocessing(self) -> bool:
        return bool(self._setting("_use_multiprocessing", False))

    @use_multiprocessing.setter
    def use_multiprocessing(self, value: bool) -> None:
        self._use_multiprocessing = value

    @property
    def max_queue_size(self) -> int:
        return int(self._setting("_max_queue_size", 10))

    @max_queue_size.setter
    def max_queue_size(self, value: int) -> None:
        self._max_queue_size = value

    def __getitem__(self, index: int) -> Any:
        """Batch ``index``: ``x``, ``(x, y)`` or ``(x, y, sample_weight)``."""
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    @property
    def num_batches(self) -> int | None:
        """The number of batches (``len(self)``), or None for an endless dataset."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(
            f"{type(self).__name__} must implement __len__ or the num_batches property"
        )

    def on_epoch_begin(self) -> None:
        """Called at the start of every epoch."""

    def on_epoch_end(self) -> None:
        """Called at the end of every epoch (e.g. to reshuffle)."""


__all__ = ["PyDataset"]
