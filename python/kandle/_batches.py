"""Where ``fit``, ``evaluate`` and ``predict`` get their batches.

In-memory arrays go to the Rust engine whole (:class:`ArrayBatches`): it gathers and
runs the batches itself, with the GIL released. Batches made by Python code (a
generator, an iterator or a :class:`kandle.utils.PyDataset`) come one by one
(:class:`StreamBatches`): background threads (or processes) prepare the next ones
while the engine runs the current batch, and each batch is one engine call.
"""

from __future__ import annotations

import collections
import concurrent.futures
import itertools
import math
import queue
import random
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from kandle import _core
from kandle.errors import InvalidArgumentError, ShapeError
from kandle.utils.py_dataset import PyDataset

Batch = tuple[np.ndarray, np.ndarray | None, np.ndarray | None]


def as_batch_array(name: str, value: Any) -> np.ndarray | None:
    """User data as a numeric array with a batch axis (None stays None)."""
    if value is None:
        return None
    if isinstance(value, _core.Tensor):
        return value.numpy()
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected numeric data, got an array of dtype {arr.dtype}")
    if arr.ndim == 0:
        raise ShapeError(f"{name}: expected an array with a batch axis, got a scalar")
    # Integer data stays integer: the engine keeps it exact up to the Embedding's gather.
    return arr


def warn_non_finite(method: str, **arrays: np.ndarray | None) -> None:
    """Warns, naming the array, when data holds NaN or infinity: the losses of the
    batches holding them are NaN, and the engine skips those batches' updates."""
    limit = float(np.finfo(np.float32).max)
    for name, array in arrays.items():
        if array is None or array.dtype.kind != "f" or array.size == 0:
            continue
        # Without a temporary: the float64 sum of float32-finite values is finite, and
        # wider values must also fit float32, which the engine computes in.
        if np.isfinite(np.add.reduce(array, axis=None, dtype=np.float64)) and (
            array.dtype.itemsize <= 4 or -limit <= array.min() <= array.max() <= limit
        ):
            continue
        count = int(array.size - np.count_nonzero(np.abs(array) <= limit))
        warnings.warn(
            f"{method}: `{name}` holds {count} NaN or infinite value(s) (in float32, which "
            "kandle computes in). The loss of each "
            "batch holding one is NaN, and kandle skips that batch's weight update; "
            "clean the data, or pass kandle.callbacks.TerminateOnNaN() to stop there.",
            RuntimeWarning,
            stacklevel=3,
        )


def is_stream(x: Any) -> bool:
    """Whether ``x`` is batches made by Python (not one array of all the data)."""
    if isinstance(x, PyDataset):
        return True
    if isinstance(x, np.ndarray | _core.Tensor | list | tuple | dict | str | bytes):
        return False
    return isinstance(x, Iterator) or (
        hasattr(x, "__iter__") and not hasattr(x, "__array__") and not hasattr(x, "__len__")
    )


def unpack(data: Any) -> tuple[Any, Any, Any]:
    """Keras's ``unpack_x_y_sample_weight``: ``x``, ``(x,)``, ``(x, y)`` or
    ``(x, y, sample_weight)``."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if 1 <= len(data) <= 3:
        return (*data, *(None,) * (3 - len(data)))  # type: ignore[return-value]
    raise InvalidArgumentError(
        "Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, "
        f"found a tuple of {len(data)} items"
    )


def class_weights_to_sample_weights(y: np.ndarray, class_weight: dict[int, float]) -> np.ndarray:
    """Keras's conversion: each sample weighs its class's weight (1 if not listed)."""
    labels = y
    if labels.ndim > 1:
        labels = labels.argmax(axis=-1) if labels.shape[-1] != 1 else labels.reshape(len(labels))
    labels = np.round(labels).astype(np.int64)
    if not class_weight:
        return np.ones(len(labels), dtype=np.float32)
    classes = np.array(sorted(class_weight), dtype=np.int64)
    weights = np.array([class_weight[c] for c in sorted(class_weight)], dtype=np.float32)
    out = np.ones(len(labels), dtype=np.float32)
    pos = np.searchsorted(classes, labels)
    found = (pos < len(classes)) & (classes[np.minimum(pos, len(classes) - 1)] == labels)
    out[found] = weights[pos[found]]
    return out


class ArrayBatches:
    """All the data in memory: the engine gathers and runs the batches.

    As Keras's array adapter: without a ``batch_size``, ``steps`` batches cover the rows
    (else batches of 32). With ``steps`` (``steps_per_epoch``, ``validation_steps`` or
    ``steps``), a pass runs that many batches: in ``fit``, each epoch continues where the
    last one stopped, a new (shuffled) order starting once every batch has run, and an
    epoch that reaches the end of the rows first runs short; an evaluation or a
    prediction runs the first ``steps`` batches.
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray | None = None,
        sample_weight: np.ndarray | None = None,
        batch_size: int | None = None,
        steps: int | None = None,
    ) -> None:
        self.x, self.y = x, y
        self.dataset = _core.Dataset(x, y, sample_weight)
        if batch_size is None:
            batch_size = max(1, math.ceil(len(x) / steps)) if steps else 32
        self.batch_size = batch_size
        self.num_batches: int = self.dataset.num_batches(batch_size)
        self.steps: int = self.num_batches if steps is None else steps
        # Rows and batch size, for a progress bar that counts samples.
        self.samples: tuple[int, int] | None = (
            min(len(x), self.steps * batch_size),
            batch_size,
        )

    def first(self) -> Batch:
        """One row, for building the model and resolving its metrics."""
        return self.x[:1], None if self.y is None else self.y[:1], None

    def warn_if_short(self, argument: str) -> None:
        """Keras's warning when ``steps`` is more than the batches of one pass."""
        if self.steps > self.num_batches:
            warn_ran_out(
                f"{argument}={self.steps}, but the data make {self.num_batches} batches",
                stacklevel=4,
            )


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


_END = object()


class _Prefetcher:
    """Takes the items of an iterator on a background thread, up to ``depth`` ahead,
    while the engine (which releases the GIL) runs the current batch."""

    def __init__(self, items: Iterator[Any], depth: int) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._ended = False
        self._thread = threading.Thread(target=self._fill, args=(items,), daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _fill(self, items: Iterator[Any]) -> None:
        try:
            for item in items:
                if not self._put(item):
                    return
            self._put(_END)
        except BaseException as error:  # raised again where the batch is taken
            self._put(_Failure(error))

    def get(self) -> Any:
        """The next item, or ``_END``."""
        if self._ended:
            return _END
        item = self._queue.get()
        if item is _END:
            self._ended = True
        elif isinstance(item, _Failure):
            self._ended = True
            raise item.error
        return item

    def close(self) -> None:
        self._stop.set()


# The PyDataset of a worker process (set once per process by its initializer).
_worker_dataset: Any = None


def _init_worker(dataset: Any) -> None:
    global _worker_dataset
    _worker_dataset = dataset


def _worker_item(index: int) -> Any:
    return _worker_dataset[index]


def _ordered(
    executor: concurrent.futures.Executor,
    fetch: Callable[[int], Any],
    indices: Iterator[int],
    ahead: int,
) -> Iterator[Any]:
    """``fetch(i)`` for each index in order, ``ahead`` of them running at once."""
    pending: collections.deque[concurrent.futures.Future[Any]] = collections.deque()
    for i in itertools.islice(indices, ahead):
        pending.append(executor.submit(fetch, i))
    while pending:
        done = pending.popleft()
        for i in itertools.islice(indices, 1):
            pending.append(executor.submit(fetch, i))
        yield done.result()


class StreamBatches:
    """Batches made by Python: a generator or iterator (consumed across epochs), or a
    PyDataset (read anew each epoch, in a shuffled order with ``shuffle``)."""

    def __init__(
        self,
        source: Any,
        steps: int | None = None,
        class_weight: dict[int, float] | None = None,
        argument: str = "x",
    ) -> None:
        self.source = source
        self.argument = argument
        self.class_weight = class_weight
        self._pending: collections.deque[Batch] = collections.deque()
        self._prefetcher: _Prefetcher | None = None
        self._executor: concurrent.futures.Executor | None = None
        self._taken = 0
        # A PyDataset's batches of the current pass over it still to read, in order,
        # and how many batches this epoch takes from it (None: unknown).
        self._order: list[int] = []
        self._pass_length: int | None = None
        self.exhausted = False
        self.samples: tuple[int, int] | None = None  # rows unknown
        if class_weight is not None and not isinstance(source, PyDataset):
            raise InvalidArgumentError(
                "Argument `class_weight` is not supported for Python generator inputs, as in "
                "Keras: use a PyDataset, or yield (x, y, sample_weight) batches"
            )
        if isinstance(source, PyDataset):
            num_batches = source.num_batches
            self.steps = steps if steps is not None else num_batches
            self._limit = num_batches
        else:
            self.steps = steps
            self._limit = None
            self._prefetcher = _Prefetcher(self._batches(iter(source)), 10)

    # -- making batches --------------------------------------------------------
    def _prepare(self, data: Any) -> Batch:
        x, y, sw = unpack(data)
        x = as_batch_array(f"{self.argument} (a batch)", x)
        y = as_batch_array(f"{self.argument} (a batch's y)", y)
        sw = as_batch_array(f"{self.argument} (a batch's sample_weight)", sw)
        if x is None:
            raise InvalidArgumentError(f"{self.argument}: a batch has no inputs (x is None)")
        if self.class_weight is not None and y is not None:
            if sw is not None:
                raise InvalidArgumentError(
                    "You cannot use `class_weight` and `sample_weight` at the same time."
                )
            sw = class_weights_to_sample_weights(y, self.class_weight)
        return x, y, sw

    def _batches(self, items: Iterator[Any]) -> Iterator[Batch]:
        for item in items:
            yield self._prepare(item)

    def _dataset_items(self, shuffle: bool) -> Iterator[Any]:
        dataset = self.source
        indices: Iterator[int]
        if self._limit is None:
            indices = itertools.count() if self.steps is None else iter(range(self.steps))
        else:
            # As Keras's iterator: an epoch of `steps` batches goes on where the last one
            # stopped, and a new (shuffled) order starts once the dataset is read
            # through, so an epoch that meets the end of an order runs short.
            if not self._order:
                self._order = list(range(self._limit))
                if shuffle:
                    random.shuffle(self._order)
            taken, self._order = self._order[: self.steps], self._order[self.steps :]
            self._pass_length = len(taken)
            indices = iter(taken)
        if dataset.workers == 1:
            return (dataset[i] for i in indices)
        if self._executor is None:
            if dataset.use_multiprocessing:
                self._executor = concurrent.futures.ProcessPoolExecutor(
                    dataset.workers, initializer=_init_worker, initargs=(dataset,)
                )
            else:
                self._executor = concurrent.futures.ThreadPoolExecutor(dataset.workers)
        fetch = _worker_item if dataset.use_multiprocessing else dataset.__getitem__
        return _ordered(self._executor, fetch, indices, dataset.max_queue_size)

    # -- the epoch -------------------------------------------------------------
    def first(self) -> Batch:
        """The first batch, for building the model (not consumed from the stream)."""
        if isinstance(self.source, PyDataset):
            return self._prepare(self.source[0])
        if not self._pending:
            assert self._prefetcher is not None
            item = self._prefetcher.get()
            if item is _END:
                raise InvalidArgumentError(f"{self.argument}: the data yielded no batch")
            self._pending.append(item)
        return self._pending[0]

    @property
    def batches_left(self) -> int | None:
        """How many batches this epoch has left, when known (a PyDataset's)."""
        return None if self._pass_length is None else self._pass_length - self._taken

    def reset(self) -> None:
        """Starts the next epoch at a PyDataset's beginning (each fit, evaluate,
        predict and validation pass does, as in Keras)."""
        self._order = []

    def begin_epoch(self, shuffle: bool) -> None:
        self._taken = 0
        if isinstance(self.source, PyDataset):
            self.source.on_epoch_begin()
            depth = self.source.max_queue_size
            self._prefetcher = _Prefetcher(self._batches(self._dataset_items(shuffle)), depth)

    def end_epoch(self) -> None:
        if isinstance(self.source, PyDataset):
            if self._prefetcher is not None:
                self._prefetcher.close()
                self._prefetcher = None
            self.source.on_epoch_end()

    def close(self) -> None:
        if self._prefetcher is not None:
            self._prefetcher.close()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def _next(self) -> Batch | None:
        if self.steps is not None and self._taken >= self.steps:
            return None
        if self._pending:
            batch = self._pending.popleft()
        else:
            assert self._prefetcher is not None
            item = self._prefetcher.get()
            if item is _END:
                # A generator with `steps` is used up; a PyDataset's epoch just ran
                # short (the next one starts a new pass over it).
                limited = self.steps is not None and not isinstance(self.source, PyDataset)
                self.exhausted = limited or self._taken == 0
                return None
            batch = item
        self._taken += 1
        return batch

    def next_batch(self, training: bool = True) -> Batch | None:
        """The next batch to train or evaluate on, or None at the end of the stream
        (the engine's epoch loop takes batches here)."""
        batch = self._next()
        if batch is not None and batch[1] is None:
            raise InvalidArgumentError(
                f"{self.argument}: batches must be (x, y) or (x, y, sample_weight) to "
                "train or evaluate, got x alone"
            )
        return batch

    def next_inputs(self) -> np.ndarray | None:
        """The inputs of the next batch to predict, or None at the end of the stream
        (the engine's predict loop takes batches here)."""
        batch = self._next()
        return None if batch is None else batch[0]


def warn_ran_out(detail: str, stacklevel: int = 3) -> None:
    """Keras's warning when the data end before the steps asked for; ``detail`` gives
    the numbers."""
    warnings.warn(
        "Your input ran out of data; interrupting training. Make sure that your dataset "
        "or generator can generate at least `steps_per_epoch * epochs` batches. You may "
        f"need to use the `.repeat()` function when building your dataset ({detail}).",
        stacklevel=stacklevel,
    )
