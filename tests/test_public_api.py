"""The public modules show their API and nothing else: ``dir(kd.layers)`` lists layers,
not the ``np``, ``Any`` and ``annotations`` that the module imports for itself."""

import importlib
from types import ModuleType

import pytest

import kandle


def public_modules() -> list[ModuleType]:
    """kandle and every module it exports through ``__all__``, recursively."""
    found: dict[str, ModuleType] = {}

    def visit(module: ModuleType) -> None:
        found[module.__name__] = module
        for name in getattr(module, "__all__", []):
            value = getattr(module, name, None)
            if isinstance(value, ModuleType) and value.__name__.startswith("kandle."):
                visit(value)

    visit(kandle)
    return [found[name] for name in sorted(found)]


MODULES = public_modules()
# Imports that the modules use; none of them is kandle's API.
HELPERS = ["np", "Any", "annotations", "math", "json", "Sequence", "InvalidArgumentError"]


def test_the_documented_modules_are_all_reached() -> None:
    names = {module.__name__ for module in MODULES}
    expected = {
        "kandle",
        "kandle.activations",
        "kandle.backend",
        "kandle.callbacks",
        "kandle.config",
        "kandle.errors",
        "kandle.initializers",
        "kandle.layers",
        "kandle.losses",
        "kandle.metrics",
        "kandle.models",
        "kandle.ops",
        "kandle.optimizers",
        "kandle.optimizers.schedules",
        "kandle.regularizers",
        "kandle.utils",
    }
    assert expected <= names


@pytest.mark.parametrize("module", MODULES, ids=lambda module: module.__name__)
def test_dir_shows_exactly_the_public_names(module: ModuleType) -> None:
    assert hasattr(module, "__all__"), f"{module.__name__} has no __all__"
    public = list(module.__all__)
    assert len(public) == len(set(public)), f"{module.__name__}.__all__ repeats a name"
    shown = [name for name in dir(module) if not name.startswith("_")]
    assert sorted(shown) == sorted(name for name in public if not name.startswith("_"))
    for helper in HELPERS:
        if helper not in public:
            assert helper not in dir(module)


@pytest.mark.parametrize("module", MODULES, ids=lambda module: module.__name__)
def test_every_shown_name_is_importable(module: ModuleType) -> None:
    fresh = importlib.import_module(module.__name__)
    for name in dir(module):
        namespace: dict[str, object] = {}
        exec(f"from {module.__name__} import {name}", namespace)
        assert namespace[name] is getattr(fresh, name)


@pytest.mark.parametrize("module", MODULES, ids=lambda module: module.__name__)
def test_star_import_gives_the_shown_names(module: ModuleType) -> None:
    namespace: dict[str, object] = {}
    exec(f"from {module.__name__} import *", namespace)
    imported = sorted(name for name in namespace if name != "__builtins__")
    assert imported == sorted(dir(module))


def test_the_layers_module_hides_its_imports() -> None:
    shown = dir(kandle.layers)
    assert "Dense" in shown and "Sequential" not in shown
    for helper in ["np", "Any", "annotations", "dense", "layer"]:
        assert helper not in shown
