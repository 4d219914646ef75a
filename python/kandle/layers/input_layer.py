"""The input of a model: ``kd.Input(shape)``."""

from __future__ import annotations

from typing import Any

import numpy as np

from kandle.errors import InvalidArgumentError
from kandle.layers.layer import Layer

# The dtypes an input may declare (Keras's names). kandle computes in float32: other
# numeric inputs are converted when they reach the engine; integer inputs carry indices
# (an Embedding's token ids).
_INPUT_DTYPES = (
    "float16",
    "float32",
    "float64",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "bool",
)


def _standardize_dtype(dtype: Any) -> str:
    if dtype is None:
        return "float32"
    if isinstance(dtype, dict):  # a serialized DTypePolicy
        dtype = (dtype.get("config") or {}).get("name")
    try:
        name = dtype if isinstance(dtype, str) else np.dtype(dtype).name
    except TypeError:
        name = None
    if name not in _INPUT_DTYPES:
        raise InvalidArgumentError(
            f"Input: dtype must be one of {list(_INPUT_DTYPES)}, got dtype={dtype!r}"
        )
    return name


def _standardize_shape(argument: str, shape: Any) -> tuple[int | None, ...]:
    """A shape as a tuple of positive ints and ``None`` (unknown sizes)."""
    if isinstance(shape, int | np.integer) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise InvalidArgumentError(
            f"Input: {argument} must be a tuple of integers or None, got {argument}={shape!r}"
        ) from None
    out: list[int | None] = []
    for d in dims:
        if d is None:
            out.append(None)
        elif isinstance(d, int | np.integer) and not isinstance(d, bool) and d > 0:
            out.append(int(d))
        else:
            raise InvalidArgumentError(
                f"Input: {argument} must hold positive integers or None, got {argument}={dims!r}"
            )
    return tuple(out)


class InputLayer(Layer):
    """The input of a model: the shape (and dtype) of one batch, as
    ``keras.layers.InputLayer``. ``shape`` leaves out the batch axis; ``batch_shape``
    includes it. A size of ``None`` is known only from the data.

    >>> import kandle as kd
    >>> kd.Input((784,)).shape
    (None, 784)
    >>> kd.layers.InputLayer(batch_shape=(32, None), dtype="int32").batch_shape
    (32, None)
    """

    def __init__(
        self,
        shape: Any = None,
        batch_size: int | None = None,
        dtype: Any = None,
        sparse: bool | None = None,
        ragged: bool | None = None,
        batch_shape: Any = None,
        input_tensor: Any = None,
        optional: bool = False,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        if "input_shape" in kwargs:  # Keras's deprecated spelling
            shape = kwargs.pop("input_shape")
        if "batch_input_shape" in kwargs:
            batch_shape = kwargs.pop("batch_input_shape")
        if kwargs:
            raise InvalidArgumentError(f"InputLayer: unexpected arguments {sorted(kwargs)}")
        if input_tensor is not None:
            raise InvalidArgumentError(
                "InputLayer: input_tensor is not supported; pass shape or batch_shape"
            )
        if sparse or ragged:
            raise InvalidArgumentError(
                f"InputLayer: sparse and ragged inputs are not supported, got "
                f"sparse={sparse!r}, ragged={ragged!r}"
            )
        if shape is not None and batch_shape is not None:
            raise InvalidArgumentError(
                "You cannot pass both `shape` and `batch_shape` at the same time."
            )
        if batch_size is not None and batch_shape is not None:
            raise InvalidArgumentError(
                "You cannot pass both `batch_size` and `batch_shape` at the same time."
            )
        if shape is None and batch_shape is None:
            raise InvalidArgumentError("You must pass a `shape` argument.")
        if batch_size is not None and (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, int | np.integer)
            or batch_size <= 0
        ):
            raise InvalidArgumentError(
                f"Input: batch_size must be a positive integer or None, got {batch_size!r}"
            )
        super().__init__(name=name)
        if batch_shape is not None:
            full = _standardize_shape("batch_shape", batch_shape)
            if not full:
                raise InvalidArgumentError(
                    "Input: batch_shape must include the batch axis, got batch_shape=()"
                )
        else:
            size = None if batch_size is None else int(batch_size)
            full = (size, *_standardize_shape("shape", shape))
        self.batch_shape: tuple[int | None, ...] = full
        self.shape = full  # Keras's KerasTensor.shape: the batch axis included
        self.dtype = _standardize_dtype(dtype)
        self.sparse = False
        self.ragged = False
        self.optional = bool(optional)
        self.built = True

    def get_config(self) -> dict[str, Any]:
        return {
            "batch_shape": list(self.batch_shape),
            "dtype": self.dtype,
            "sparse": self.sparse,
            "ragged": self.ragged,
            "name": self.name,
            "optional": self.optional,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> InputLayer:
        return cls(**config)


def Input(  # noqa: N802
    shape: Any = None,
    batch_size: int | None = None,
    dtype: Any = None,
    sparse: bool | None = None,
    ragged: bool | None = None,
    batch_shape: Any = None,
    name: str | None = None,
    tensor: Any = None,
    optional: bool = False,
) -> Any:
    """Declares a model's input, as ``keras.Input``: the shape of one sample (or
    ``batch_shape``, with the batch axis), its dtype (``"int32"`` for token ids feeding
    an Embedding) and name. Returns a symbolic tensor (``KerasTensor``) to call layers
    on (the functional API, ``kd.Model(inputs, outputs)``), or to begin a Sequential.

    >>> import kandle as kd
    >>> model = kd.Sequential([kd.Input((3,)), kd.layers.Dense(2)])
    >>> tokens = kd.Input(shape=(None,), dtype="int32", name="tokens")
    >>> tokens.shape, tokens.dtype
    ((None, None), 'int32')
    """
    from kandle._keras_tensor import input_tensor

    layer = InputLayer(
        shape=shape,
        batch_size=batch_size,
        dtype=dtype,
        sparse=sparse,
        ragged=ragged,
        batch_shape=batch_shape,
        input_tensor=tensor,
        optional=optional,
        name=name,
    )
    return input_tensor(layer)
