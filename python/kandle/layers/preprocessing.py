"""Preprocessing layers that scripts put inside a model: Normalization, Rescaling,
CategoryEncoding, Discretization and IntegerLookup.

Their per-batch work runs in the Rust engine like any layer's, and so does ``adapt``'s
(statistics, quantile sketch, token counts); Python gathers the batches and keeps the
config.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from kandle import _core
from kandle._core import Tensor
from kandle.errors import InvalidArgumentError, ShapeError
from kandle.layers.layer import Layer, ShapeLike

_ENCODING_MODES = ("one_hot", "multi_hot", "count")


def _batches(data: Any, steps: int | None = None, whole: tuple[type, ...] = ()) -> list[Any]:
    """``adapt``'s data as a list of arrays: one array (a numpy array, a Tensor, or one of
    the ``whole`` types) is one batch; any other iterable yields batches (the ``x`` of
    ``(x, y)`` tuples), at most ``steps`` of them."""
    if isinstance(data, Tensor):
        return [data.numpy()]
    if isinstance(data, (np.ndarray, *whole)):
        return [np.asarray(data)]
    if not isinstance(data, Iterable):
        raise InvalidArgumentError(
            "adapt: expected a numpy array, a Tensor or an iterable of batches, got "
            f"{type(data).__name__}"
        )
    batches = []
    for i, batch in enumerate(data):
        if steps is not None and i >= steps:
            break
        if isinstance(batch, tuple):
            batch = batch[0]
        batches.append(batch.numpy() if isinstance(batch, Tensor) else np.asarray(batch))
    if not batches:
        raise InvalidArgumentError(
            "adapt() received an empty iterable (no batches). Expected at least one batch."
        )
    return batches


def _check_mode(layer: str, output_mode: Any, allowed: Sequence[str]) -> str:
    if output_mode == "binary" and "multi_hot" in allowed:
        return "multi_hot"  # Keras's old name
    if output_mode not in allowed:
        raise InvalidArgumentError(
            f"{layer}: `output_mode` must be one of {', '.join(map(repr, allowed))}. "
            f"Received: output_mode={output_mode!r}"
        )
    return str(output_mode)


def _check_not_sparse(layer: str, sparse: Any) -> None:
    if sparse:
        raise InvalidArgumentError(
            f"{layer}: `sparse=True` is not supported (kandle outputs dense tensors), "
            f"got sparse={sparse!r}"
        )


def _encoded_shape(
    input_shape: ShapeLike, output_mode: str, depth: int | None
) -> tuple[int | None, ...]:
    """The shape of an encoding of ``depth`` classes: one_hot appends ``depth`` (or
    replaces a last axis of 1); multi_hot and count reduce axis 1 (axis 0 of a 1-D input)."""
    shape = tuple(input_shape)
    if output_mode == "int":
        return shape
    if not shape:
        return (depth,)
    if output_mode == "one_hot":
        if len(shape) > 1 and shape[-1] == 1:
            return (*shape[:-1], depth)
        return (*shape, depth)
    if len(shape) == 1:
        return (depth,)
    return (shape[0], *shape[2:], depth)


class _Adaptable(Layer):
    """A layer whose engine needs state (from its arguments or ``adapt``) before it can
    run: until then, using it raises ``_not_ready()``'s message instead of failing later."""

    def _not_ready(self) -> str | None:
        return None

    @property
    def _engine(self) -> Any:
        message = self._not_ready()
        if message is not None and self.built:
            raise InvalidArgumentError(message)
        return self._engine_value

    @_engine.setter
    def _engine(self, value: Any) -> None:
        self._engine_value = value

    def _refresh_engine(self) -> None:
        """Rebuilds the engine after the state changed (a built layer only)."""
        if self.built:
            self._engine_value = None
            if self._not_ready() is None:
                self._make_engine()

    def _make_engine(self) -> None:
        if self._not_ready() is None:
            super()._make_engine()


class Normalization(Layer):
    """Shifts and scales each feature to mean 0 and variance 1:
    ``(x - mean) / max(sqrt(variance), 1e-7)`` (with ``invert=True``, the way back).

    ``axis`` names the axes that keep a separate mean and variance per index (None: one
    for all elements). Give ``mean`` and ``variance``, or learn them with ``adapt(data)``
    (a numpy array, or an iterable of batches), which stores them as the non-trainable
    weights ``mean``, ``variance`` (and Keras's unused ``count``), the attributes
    ``adapt_mean`` and ``adapt_variance``. As in Keras, the attributes ``mean`` and
    ``variance`` give the values in use, shaped to broadcast against the inputs.

    >>> import numpy as np, kandle as kd
    >>> layer = kd.layers.Normalization(axis=None)
    >>> layer.adapt(np.array([1.0, 2.0, 3.0, 4.0, 5.0], dtype="float32"))
    >>> [round(v, 4) for v in layer(np.array([1.0, 2.0, 3.0])).numpy().tolist()]
    [-1.4142, -0.7071, 0.0]
    >>> layer.mean.numpy(), layer.variance.numpy()
    (array([3.], dtype=float32), array([2.], dtype=float32))
    """

    _engine_class = "Normalization"

    def __init__(
        self,
        axis: int | Sequence[int] | None = -1,
        mean: Any = None,
        variance: Any = None,
        invert: bool = False,
        **kwargs: Any,
    ) -> None:
        if axis is None:
            axes: tuple[int, ...] = ()
        elif isinstance(axis, int) and not isinstance(axis, bool):
            axes = (axis,)
        elif isinstance(axis, (list, tuple)) and all(
            isinstance(a, int) and not isinstance(a, bool) for a in axis
        ):
            axes = tuple(axis)
        else:
            raise InvalidArgumentError(
                f"Normalization: `axis` must be None, an int or a tuple of ints, got axis={axis!r}"
            )
        if (mean is None) != (variance is None):
            raise InvalidArgumentError(
                "When setting values directly, both `mean` and `variance` must be set. "
                f"Received: mean={mean!r} and variance={variance!r}"
            )
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ShapeError(
                    "When setting values directly, `mean` and `variance` must have the same "
                    f"shape. Received: mean shape {np.shape(mean)} and variance shape "
                    f"{np.shape(variance)}"
                )
            if len(np.shape(mean)) > len(axes):
                raise ShapeError(
                    f"The rank of `mean` must be less than or equal to the number of axes "
                    f"({len(axes)}). Received: mean shape {np.shape(mean)} for axis {axes}"
                )
        super().__init__(**kwargs)
        self.axis = axes
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)
        self.adapt_mean: Any = None
        self.adapt_variance: Any = None
        self.count: Any = None
        self._build_input_shape: tuple[int | None, ...] | None = None

    def _kept_axes(self, input_shape: ShapeLike) -> list[int]:
        ndim = len(input_shape)
        if any(not -ndim <= a < ndim for a in self.axis):
            raise ShapeError(
                "All `axis` values must be in the range [-ndim, ndim). Received inputs with "
                f"ndim={ndim}, while axis={self.axis}"
            )
        return sorted({a % ndim for a in self.axis})

    def build(self, input_shape: ShapeLike) -> None:
        keep = self._kept_axes(input_shape)
        for d in keep:
            if input_shape[d] is None:
                raise ShapeError(
                    f"All `axis` values to be kept must have a known shape. Received "
                    f"axis={self.axis}, inputs.shape={tuple(input_shape)}, with unknown axis "
                    f"at index {d}"
                )
        self._build_input_shape = tuple(input_shape)
        kept_shape = tuple(int(input_shape[d]) for d in keep)  # type: ignore[arg-type]
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(
                kept_shape, initializer="zeros", name="mean", trainable=False
            )
            self.adapt_variance = self.add_weight(
                kept_shape, initializer="ones", name="variance", trainable=False
            )
            self.count = self.add_weight((), initializer="zeros", name="count", trainable=False)
            return
        # Given values align with the kept axes from the right, as in Keras.
        for size, d in zip(reversed(np.shape(self.input_mean)), reversed(keep)):
            if size not in (1, input_shape[d]):
                raise ShapeError(
                    f"Normalization {self.name!r}: `mean` of shape {np.shape(self.input_mean)} "
                    f"does not broadcast to the kept axes {tuple(keep)} of input shape "
                    f"{tuple(input_shape)}"
                )

    @property
    def mean(self) -> Tensor | None:
        """The mean the layer subtracts, as Keras's ``mean``: float32, shaped to
        broadcast against the inputs (the size of each kept axis, 1 elsewhere, e.g.
        ``(1, features)``); None until the layer is built. It reads the current
        ``adapt_mean`` (or the given ``mean``)."""
        return self._broadcast_statistic(self.input_mean, self.adapt_mean)

    @property
    def variance(self) -> Tensor | None:
        """The variance the layer divides by (its square root), shaped as ``mean``."""
        return self._broadcast_statistic(self.input_variance, self.adapt_variance)

    def _broadcast_statistic(self, given: Any, adapted: Any) -> Tensor | None:
        shape = self._build_input_shape
        if shape is None:
            return None
        keep = self._kept_axes(shape)
        broadcast = [int(shape[d]) if d in keep else 1 for d in range(len(shape))]  # type: ignore[arg-type]
        if given is None:
            return _core.tensor(np.reshape(np.asarray(adapted, np.float32), broadcast))
        value = np.asarray(given, np.float32)
        # Given values align with the kept axes from the right, as in Keras.
        expanded = [1] * len(shape)
        for size, d in zip(reversed(value.shape), reversed(keep)):
            expanded[d] = size
        return _core.tensor(np.broadcast_to(value.reshape(expanded), broadcast).copy())

    def adapt(self, data: Any) -> None:
        """Computes the mean and variance of ``data`` (an array, or an iterable of
        batches, merged batch by batch) for each index of the kept axes."""
        batches = _batches(data)
        shape = tuple(batches[0].shape)
        if not self.built:
            self.build(shape)
        elif self._build_input_shape is not None:
            for d in self._kept_axes(shape):
                if len(shape) != len(self._build_input_shape) or (
                    shape[d] != self._build_input_shape[d]
                ):
                    raise ShapeError(
                        f"The layer was built with input_shape={self._build_input_shape}, but "
                        f"adapt() is being called with data with an incompatible shape, "
                        f"data.shape={shape}"
                    )
        if self.input_mean is not None:
            raise InvalidArgumentError(
                f"Normalization {self.name!r}: the layer has a given `mean` and `variance`; "
                "adapt() would not change them"
            )
        mean, variance = _core.normalization_adapt(batches, list(self.axis))
        self.adapt_mean.assign(mean)
        self.adapt_variance.assign(variance)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "axis": self.axis,
            "invert": self.invert,
            "mean": np.array(self.input_mean).tolist(),
            "variance": np.array(self.input_variance).tolist(),
        }


def _serialize_number_or_array(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return {
            "class_name": "__numpy__",
            "config": {"value": value.tolist(), "dtype": str(value.dtype)},
        }
    return value


def _deserialize_number_or_array(value: Any) -> Any:
    if isinstance(value, dict) and value.get("class_name") == "__numpy__":
        config = value.get("config", {})
        return np.array(config.get("value"), dtype=config.get("dtype"))
    return value


class Rescaling(Layer):
    """Computes ``inputs * scale + offset``; ``scale`` and ``offset`` are numbers or
    arrays that broadcast over the last axes (per channel).

    >>> import kandle as kd
    >>> kd.layers.Rescaling(1 / 127.5, offset=-1)(kd.tensor([[0.0, 127.5, 255.0]])).numpy()
    array([[-1.,  0.,  1.]], dtype=float32)
    """

    _engine_class = "Rescaling"

    def __init__(self, scale: Any, offset: Any = 0.0, **kwargs: Any) -> None:
        for name, value in (("scale", scale), ("offset", offset)):
            array = np.asarray(value) if not isinstance(value, Tensor) else value.numpy()
            if array.dtype.kind not in "biuf":
                raise InvalidArgumentError(
                    f"Rescaling: `{name}` must be a number or an array of numbers, "
                    f"got {name}={value!r}"
                )
        super().__init__(**kwargs)
        self.scale = scale.numpy() if isinstance(scale, Tensor) else scale
        self.offset = offset.numpy() if isinstance(offset, Tensor) else offset

    def _engine_config(self) -> dict[str, Any]:
        return {
            **self.get_config(),
            "scale": np.asarray(self.scale, dtype=np.float64).tolist(),
            "offset": np.asarray(self.offset, dtype=np.float64).tolist(),
        }

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "scale": _serialize_number_or_array(self.scale),
            "offset": _serialize_number_or_array(self.offset),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Rescaling:
        config = dict(config)
        config["scale"] = _deserialize_number_or_array(config["scale"])
        config["offset"] = _deserialize_number_or_array(config.get("offset", 0.0))
        return cls(**config)


def _positive_int(layer: str, name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InvalidArgumentError(
            f"{layer}: `{name}` must be an integer >= {minimum}. Received: {name}={value!r}"
        )
    return int(value)


class CategoryEncoding(Layer):
    """Encodes integer features in ``[0, num_tokens)`` as ``"one_hot"``, ``"multi_hot"``
    (the default) or ``"count"`` vectors; count mode takes optional ``count_weights``
    (of the inputs' shape) when called.

    >>> import kandle as kd
    >>> layer = kd.layers.CategoryEncoding(num_tokens=4, output_mode="one_hot")
    >>> layer([3, 2, 0, 1]).numpy()
    array([[0., 0., 0., 1.],
           [0., 0., 1., 0.],
           [1., 0., 0., 0.],
           [0., 1., 0., 0.]], dtype=float32)
    """

    _engine_class = "CategoryEncoding"

    def __init__(
        self,
        num_tokens: int | None = None,
        output_mode: str = "multi_hot",
        sparse: bool = False,
        **kwargs: Any,
    ) -> None:
        output_mode = _check_mode("CategoryEncoding", output_mode, _ENCODING_MODES)
        if num_tokens is None:
            raise InvalidArgumentError(
                "num_tokens must be set to use this layer. If the number of tokens is not "
                "known beforehand, use the IntegerLookup layer instead."
            )
        self.num_tokens = _positive_int("CategoryEncoding", "num_tokens", num_tokens)
        _check_not_sparse("CategoryEncoding", sparse)
        super().__init__(**kwargs)
        self.output_mode = output_mode
        self.sparse = False

    def __call__(
        self, inputs: Any, training: bool | None = None, count_weights: Any = None
    ) -> Tensor:
        if count_weights is None:
            return super().__call__(inputs, training=training)
        if self.output_mode != "count":
            raise InvalidArgumentError(
                "`count_weights` is not used when `output_mode` is not `'count'`. Received "
                f"output_mode={self.output_mode!r}"
            )
        return _core.category_encode(inputs, self.num_tokens, self.output_mode, count_weights)

    def compute_output_shape(self, input_shape: ShapeLike) -> tuple[int | None, ...]:
        return _encoded_shape(input_shape, self.output_mode, self.num_tokens)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "num_tokens": self.num_tokens,
            "output_mode": self.output_mode,
        }


class Discretization(_Adaptable):
    """Buckets continuous values: bin ``i`` holds ``bin_boundaries[i-1] <= v <
    bin_boundaries[i]`` (the outer bins reach to -inf and +inf). Give ``bin_boundaries``,
    or ``num_bins`` and learn the boundaries with ``adapt(data)``, which uses Keras's own
    approximate-quantile sketch (tolerance ``epsilon``), so they match Keras's. Outputs
    the bin indices (as float32) or their ``"one_hot"``, ``"multi_hot"`` or ``"count"``
    encoding.

    >>> import numpy as np, kandle as kd
    >>> x = np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 3.0, 1.3, 0.0]])
    >>> kd.layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0])(x).numpy()
    array([[0., 2., 3., 1.],
           [1., 3., 2., 1.]], dtype=float32)
    >>> layer = kd.layers.Discretization(num_bins=4, epsilon=0.01)
    >>> layer.adapt(x)
    >>> layer.bin_boundaries
    [0.0, 0.5, 1.2999999523162842]
    """

    _engine_class = "Discretization"

    def __init__(
        self,
        bin_boundaries: Sequence[float] | None = None,
        num_bins: int | None = None,
        epsilon: float = 0.01,
        output_mode: str = "int",
        sparse: bool = False,
        dtype: Any = None,
        name: str | None = None,
    ) -> None:
        _check_not_sparse("Discretization", sparse)
        output_mode = _check_mode("Discretization", output_mode, ("int", *_ENCODING_MODES))
        if num_bins is not None:
            num_bins = _positive_int("Discretization", "num_bins", num_bins, minimum=0)
        if num_bins is not None and bin_boundaries is not None:
            raise InvalidArgumentError(
                "Both `num_bins` and `bin_boundaries` should not be set. Received: "
                f"`num_bins={num_bins}` and `bin_boundaries={bin_boundaries}`"
            )
        if num_bins is None and bin_boundaries is None:
            raise InvalidArgumentError("You need to set either `num_bins` or `bin_boundaries`.")
        if (
            isinstance(epsilon, bool)
            or not isinstance(epsilon, (int, float))
            or not 0 < epsilon <= 1
        ):
            raise InvalidArgumentError(
                f"Discretization: `epsilon` must be a number in (0, 1], got epsilon={epsilon!r}"
            )
        boundaries = None if bin_boundaries is None else [float(b) for b in bin_boundaries]
        if boundaries is not None and any(b > a for a, b in zip(boundaries[1:], boundaries)):
            raise InvalidArgumentError(
                f"Discretization: `bin_boundaries` must be sorted, got {bin_boundaries!r}"
            )
        super().__init__(name=name, dtype=dtype)
        self.bin_boundaries: list[float] | None = boundaries
        self.num_bins = num_bins
        self.epsilon = float(epsilon)
        self.output_mode = output_mode
        self.sparse = False

    def _not_ready(self) -> str | None:
        if self.bin_boundaries is None:
            return (
                "You need to either pass the `bin_boundaries` argument at construction time "
                "or call `adapt(dataset)` before you can start using the `Discretization` layer."
            )
        return None

    def adapt(self, data: Any, steps: int | None = None) -> None:
        """Learns ``num_bins - 1`` boundaries at the approximate quantiles of ``data`` (an
        array, or an iterable of batches, at most ``steps`` of them)."""
        if self.num_bins is None:
            raise InvalidArgumentError(
                "Cannot adapt a Discretization layer that has been initialized with "
                "`bin_boundaries`, use `num_bins` instead."
            )
        batches = _batches(data, steps)
        self.bin_boundaries = [
            float(b) for b in _core.discretization_adapt(batches, self.epsilon, self.num_bins)
        ]
        self._refresh_engine()

    def compute_output_shape(self, input_shape: ShapeLike) -> tuple[int | None, ...]:
        depth = len(self.bin_boundaries) + 1 if self.bin_boundaries is not None else self.num_bins
        return _encoded_shape(input_shape, self.output_mode, depth)

    def get_config(self) -> dict[str, Any]:
        return {
            "bin_boundaries": self.bin_boundaries,
            "num_bins": self.num_bins,
            "epsilon": self.epsilon,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
            "name": self.name,
            "dtype": "float32",
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Discretization:
        config = dict(config)
        config.pop("trainable", None)
        if config.get("bin_boundaries") is not None and config.get("num_bins") is not None:
            # An adapted layer: both are set, which the constructor refuses.
            boundaries = config.pop("bin_boundaries")
            layer = cls(**config)
            layer.bin_boundaries = [float(b) for b in boundaries]
            return layer
        return cls(**config)


class IntegerLookup(_Adaptable):
    """Maps integer tokens to indices in a vocabulary (or back, with ``invert=True``).

    The vocabulary is ``[mask_token?, oov × num_oov_indices, tokens...]``: the mask token
    (if set) maps to 0, unknown tokens to an OOV index (``token mod num_oov_indices`` when
    there are several), and known tokens after the special ones. Give ``vocabulary``, or
    learn the most frequent tokens (at most ``max_tokens``) with ``adapt(data)``.
    ``output_mode`` ``"int"`` returns the indices (as float32); ``"one_hot"``,
    ``"multi_hot"`` and ``"count"`` encode them over the vocabulary.

    >>> import numpy as np, kandle as kd
    >>> layer = kd.layers.IntegerLookup(vocabulary=[12, 36, 1138, 42])
    >>> layer(np.array([[12, 1138, 42], [42, 1000, 36]])).numpy()
    array([[1., 3., 4.],
           [4., 0., 2.]], dtype=float32)
    >>> layer.get_vocabulary()
    [-1, 12, 36, 1138, 42]
    """

    _engine_class = "IntegerLookup"

    def __init__(
        self,
        max_tokens: int | None = None,
        num_oov_indices: int = 1,
        mask_token: int | None = None,
        oov_token: int = -1,
        vocabulary: Any = None,
        vocabulary_dtype: str = "int64",
        idf_weights: Any = None,
        invert: bool = False,
        output_mode: str = "int",
        sparse: bool = False,
        pad_to_max_tokens: bool = False,
        oov_method: str = "floormod",
        salt: Any = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        if max_tokens is not None:
            max_tokens = _positive_int("IntegerLookup", "max_tokens", max_tokens, minimum=2)
        num_oov_indices = _positive_int(
            "IntegerLookup", "num_oov_indices", num_oov_indices, minimum=0
        )
        if vocabulary_dtype != "int64":
            raise InvalidArgumentError(
                "Only `vocabulary_dtype='int64'` is supported at this time. Received: "
                f"vocabulary_dtype={vocabulary_dtype!r}"
            )
        if output_mode in ("tf_idf", "tf-idf") or idf_weights is not None:
            raise InvalidArgumentError(
                "IntegerLookup: output_mode='tf_idf' (and `idf_weights`) is not supported; use "
                "'int', 'one_hot', 'multi_hot' or 'count'"
            )
        output_mode = _check_mode("IntegerLookup", output_mode, ("int", *_ENCODING_MODES))
        _check_not_sparse("IntegerLookup", sparse)
        if oov_method != "floormod":
            raise InvalidArgumentError(
                "IntegerLookup: only oov_method='floormod' is supported for integer tokens, "
                f"got oov_method={oov_method!r}"
            )
        if salt is not None:
            raise InvalidArgumentError(
                f"`salt` can only be used when `oov_method='farmhash'`. Received: salt={salt!r}"
            )
        if isinstance(vocabulary, str):
            raise InvalidArgumentError(
                "IntegerLookup: a vocabulary file is not supported; pass the vocabulary as a "
                f"list of integers, got vocabulary={vocabulary!r}"
            )
        for key in ("vocabulary_size", "has_input_vocabulary"):
            kwargs.pop(key, None)  # recorded state in Keras's config, recomputed here
        super().__init__(name=name, **kwargs)
        self.max_tokens = max_tokens
        self.num_oov_indices = num_oov_indices
        self.mask_token = None if mask_token is None else int(mask_token)
        self.oov_token = int(oov_token)
        self.invert = bool(invert)
        self.output_mode = output_mode
        self.sparse = False
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.vocabulary_dtype = "int64"
        self.oov_method = oov_method
        self.salt = None
        self.input_vocabulary = None if vocabulary is None else _int_list(vocabulary)
        self._tokens: list[int] = []
        self._frozen_vocab_size: int | None = None
        # Checks the arguments (and the vocabulary) the way the engine will use them.
        self._set_tokens(self.input_vocabulary or [], record=vocabulary is not None)

    def _set_tokens(self, vocabulary: list[int], record: bool) -> None:
        config = {**self.get_config(), "vocabulary": vocabulary}
        self._tokens = list(_core.integer_lookup_tokens(json.dumps(config)))
        if record:
            self._frozen_vocab_size = self.vocabulary_size()

    def _token_start_index(self) -> int:
        mask_slot = self.mask_token is not None and self.output_mode == "int"
        return int(mask_slot) + self.num_oov_indices

    def _not_ready(self) -> str | None:
        if self.output_mode != "int" and not self.pad_to_max_tokens:
            if self._frozen_vocab_size is None:
                return (
                    f"When using `output_mode={self.output_mode}` and "
                    "`pad_to_max_tokens=False`, you must set the layer's vocabulary before "
                    "calling it. Either pass a `vocabulary` argument to the layer, or call "
                    "`adapt` with some sample data."
                )
        return None

    def vocabulary_size(self) -> int:
        """The vocabulary's size, with the mask and OOV tokens."""
        return self._token_start_index() + len(self._tokens)

    def get_vocabulary(self, include_special_tokens: bool = True) -> list[int]:
        """The vocabulary: a token's index in it is its index when calling the layer."""
        start = self._token_start_index()
        vocab = [self.oov_token] * start + list(self._tokens)
        if self.mask_token is not None and self.output_mode == "int":
            vocab[0] = self.mask_token
        return vocab if include_special_tokens else vocab[start:]

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        """Sets the vocabulary (with or without the special tokens at its start)."""
        if idf_weights is not None:
            raise InvalidArgumentError(
                "`idf_weights` should only be set if output_mode is 'tf_idf', which kandle "
                "does not support"
            )
        tokens = _int_list(vocabulary)
        if not tokens:
            raise InvalidArgumentError(
                f"Cannot set an empty vocabulary. Received: vocabulary={vocabulary!r}"
            )
        self._set_tokens(tokens, record=True)
        self._refresh_engine()

    def adapt(self, data: Any, steps: int | None = None) -> None:
        """Learns the vocabulary: the tokens of ``data`` (an array or list, or an iterable
        of batches, at most ``steps``) by decreasing count, ties broken by the larger
        token, at most ``max_tokens`` with the special tokens."""
        if self.input_vocabulary is not None:
            raise InvalidArgumentError(
                f"Cannot adapt layer '{self.name}' after setting a static vocabulary via "
                "`vocabulary` argument or `set_vocabulary()` method."
            )
        batches = _batches(data, steps, whole=(list, tuple))
        max_learned = (
            None if self.max_tokens is None else self.max_tokens - self._token_start_index()
        )
        tokens = _core.integer_lookup_adapt(batches, self.mask_token, self.oov_token, max_learned)
        self._set_tokens(list(tokens), record=True)
        self._refresh_engine()

    def _engine_config(self) -> dict[str, Any]:
        return {**self.get_config(), "vocabulary": self._tokens}

    def compute_output_shape(self, input_shape: ShapeLike) -> tuple[int | None, ...]:
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size
        return _encoded_shape(input_shape, self.output_mode, depth)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "invert": self.invert,
            "max_tokens": self.max_tokens,
            "num_oov_indices": self.num_oov_indices,
            "oov_token": self.oov_token,
            "mask_token": self.mask_token,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
            "pad_to_max_tokens": self.pad_to_max_tokens,
            "vocabulary_dtype": self.vocabulary_dtype,
            "idf_weights": None,
            "vocabulary": self.input_vocabulary,
            "vocabulary_size": self._frozen_vocab_size,
            "oov_method": self.oov_method,
            "salt": self.salt,
        }


def _int_list(values: Any) -> list[int]:
    """A vocabulary as a list of Python ints (integers, or floats that are whole)."""
    array = values.numpy() if isinstance(values, Tensor) else np.asarray(values)
    if array.ndim != 1 or array.dtype.kind not in "biuf":
        raise InvalidArgumentError(
            f"IntegerLookup: the vocabulary must be a 1-D list or array of integers, got {values!r}"
        )
    if array.dtype.kind == "f" and not np.all(np.mod(array, 1) == 0):
        raise InvalidArgumentError(
            f"IntegerLookup: the vocabulary must hold integers, got {values!r}"
        )
    return [int(v) for v in array.tolist()]
