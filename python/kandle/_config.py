"""What Keras's small configurable objects (initializers, regularizers) share."""

from __future__ import annotations

import functools
import inspect
import json
import math
from typing import Any, TypeVar

import numpy as np

from kandle.errors import InvalidArgumentError

T = TypeVar("T", bound="ConfigObject")


def plain(value: Any) -> Any:
    """A config as strict JSON can carry it: numpy scalars and arrays as Python numbers
    and lists, non-finite floats as strings (which the engine rejects by the argument's
    name, where JSON itself would fail with no name)."""
    if isinstance(value, np.ndarray | np.generic):
        value = value.tolist()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value


def engine_json(config: Any) -> str:
    """The JSON of a config for the Rust engine (see :func:`plain`)."""
    return json.dumps(plain(config))


def python_scalars(value: Any) -> Any:
    """``value`` with numpy scalars (also inside tuples, lists and dicts) as Python
    numbers and booleans, so that checks written for ``int``/``float``/``bool`` take
    them and configs hold plain numbers."""
    if isinstance(value, np.generic) and value.dtype.kind in "biuf":
        return value.item()
    if isinstance(value, tuple | list):
        return type(value)(python_scalars(v) for v in value)
    if isinstance(value, dict):
        return {k: python_scalars(v) for k, v in value.items()}
    return value


def check_arguments(cls: type) -> None:
    """Wraps the ``__init__`` that ``cls`` defines, if it is kandle's own, with the two
    rules every constructor shares: numpy scalars are taken wherever Python numbers
    are (as Python numbers), and an argument whose default is a boolean takes only a
    boolean (not any truthy object). Users' own subclasses are left alone."""
    init = cls.__dict__.get("__init__")
    if (
        init is None
        or getattr(init, "_kandle_checked", False)
        or not cls.__module__.startswith("kandle.")
    ):
        return
    signature = inspect.signature(init)
    flags = [name for name, p in signature.parameters.items() if isinstance(p.default, bool)]

    @functools.wraps(init)
    def checked(self: Any, *args: Any, **kwargs: Any) -> None:
        args = python_scalars(args)
        kwargs = python_scalars(kwargs)
        if flags:
            try:
                bound = signature.bind(self, *args, **kwargs).arguments
            except TypeError:
                bound = {}  # a wrong call: __init__ itself says what is wrong
            for name in flags:
                if name in bound and not isinstance(bound[name], bool):
                    raise InvalidArgumentError(
                        f"{cls.__name__}: `{name}` must be a boolean (True or False), "
                        f"got {name}={bound[name]!r}"
                    )
        init(self, *args, **kwargs)

    checked._kandle_checked = True  # type: ignore[attr-defined]
    cls.__init__ = checked  # type: ignore[misc]


class CheckedArguments:
    """Base for kandle's public classes: each subclass's constructor follows
    :func:`check_arguments`."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        check_arguments(cls)


class ConfigObject(CheckedArguments):
    """An object described entirely by its class and ``get_config()``: it rebuilds from
    the config, prints it, and compares and hashes by it."""

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls: type[T], config: dict[str, Any]) -> T:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return (
            type(self) is type(other)
            and isinstance(other, ConfigObject)
            and self.get_config() == other.get_config()
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, json.dumps(self.get_config(), sort_keys=True)))


def serialized(obj: Any, module: str) -> dict[str, Any]:
    """Keras's serialized form of an object with ``get_config()``:
    ``{"module", "class_name", "config", "registered_name"}``."""
    return {
        "module": module,
        "class_name": type(obj).__name__,
        "config": obj.get_config(),
        "registered_name": None,
    }


def deserialize_from(classes: dict[str, type[T]], kind: str, config: dict[str, Any]) -> T:
    """The object of a Keras config dict, created only from ``classes`` (kandle's own)."""
    name = config.get("class_name")
    cls = classes.get(name) if isinstance(name, str) else None
    if cls is None:
        raise InvalidArgumentError(
            f"Could not interpret {kind} config: unknown class_name {name!r}; "
            f"expected one of {sorted(classes)}"
        )
    return cls.from_config(dict(config.get("config") or {}))


def get_from(
    identifier: Any,
    aliases: dict[str, type[T]],
    classes: dict[str, type[T]],
    kind: str,
    accepted: str,
) -> T:
    """Keras's ``get`` for a config dict or a name (an alias or a class name); anything
    else raises with ``accepted``, where ``{names}`` stands for the sorted known names."""
    if isinstance(identifier, dict):
        return deserialize_from(classes, kind, identifier)
    if isinstance(identifier, str):
        cls = aliases.get(identifier) or classes.get(identifier)
        if cls is not None:
            return cls()
    raise InvalidArgumentError(
        f"Could not interpret {kind} identifier: {identifier!r}; "
        f"expected {accepted.format(names=sorted(set(aliases) | set(classes)))}"
    )
