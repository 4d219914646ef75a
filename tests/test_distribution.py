"""The installed package: version, shipped typing files, dependencies and a light import.

Import time is measured by `.ci/run`, never asserted here (tests never assert a time).
"""

import importlib.metadata
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import kandle
from kandle import _core

_CARGO_TOML = Path(__file__).resolve().parent.parent / "Cargo.toml"


def _cargo_version() -> str:
    """The `[package]` version of Cargo.toml (tomllib is 3.11+; a regex is enough here)."""
    text = _CARGO_TOML.read_text(encoding="utf-8")
    package = re.search(r"^\[package\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
    assert package is not None, "Cargo.toml has no [package] table"
    version = re.search(r'^version\s*=\s*"([^"]+)"', package.group(1), re.M)
    assert version is not None, "Cargo.toml's [package] has no version"
    return version.group(1)


def _pep440(cargo_version: str) -> str:
    """Maturin's spelling of a Cargo (semver) version in the wheel metadata."""
    m = re.fullmatch(r"(\d+\.\d+\.\d+)(?:-(alpha|beta|rc)\.?(\d+))?", cargo_version)
    assert m is not None, f"unexpected Cargo version {cargo_version!r}"
    release, pre, n = m.groups()
    if pre is None:
        return release
    return release + {"alpha": "a", "beta": "b", "rc": "rc"}[pre] + n


def _run_python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_version_is_the_extensions():
    assert isinstance(kandle.__version__, str)
    assert kandle.__version__ == _core.__version__


def test_version_matches_installed_metadata():
    assert importlib.metadata.version("kandle") == _pep440(kandle.__version__)


@pytest.mark.skipif(not _CARGO_TOML.is_file(), reason="needs the source tree's Cargo.toml")
def test_version_lives_in_cargo_toml():
    assert kandle.__version__ == _cargo_version()


def test_typing_files_ship_with_the_package():
    package = Path(kandle.__file__).resolve().parent
    assert (package / "py.typed").is_file()
    assert (package / "_core.pyi").is_file()
    assert Path(_core.__file__).resolve().parent == package
    # A wheel install (not an editable one) lists its files in RECORD.
    files = {str(f).replace("\\", "/") for f in importlib.metadata.files("kandle") or []}
    if "kandle/__init__.py" in files:
        assert {"kandle/py.typed", "kandle/_core.pyi"} <= files


def test_extension_is_abi3():
    name = Path(_core.__file__).name
    if sys.platform == "win32":
        assert name == "_core.pyd", name
    else:
        assert name == "_core.abi3.so", name


def test_only_runtime_dependency_is_numpy():
    requires = importlib.metadata.requires("kandle") or []
    runtime = [r for r in requires if "extra ==" not in r]
    names = [re.match(r"[A-Za-z0-9_.-]+", r).group(0).lower() for r in runtime]
    assert names == ["numpy"], requires


def test_import_loads_no_heavy_or_third_party_modules():
    code = (
        "import json, sys\n"
        "before = set(sys.modules)\n"
        "import kandle\n"
        "new = {m.split('.')[0] for m in set(sys.modules) - before}\n"
        "print(json.dumps(sorted(new - set(sys.stdlib_module_names))))\n"
    )
    third_party = set(json.loads(_run_python(code))) - {"kandle", "numpy"}
    assert third_party == set(), f"import kandle also imported {sorted(third_party)}"


def test_import_does_not_pull_plotting_or_dataframes():
    heavy = ["matplotlib", "scipy", "pandas", "torch", "tensorflow", "jax", "keras"]
    code = f"import sys, kandle\nprint([m for m in {heavy!r} if m in sys.modules])"
    assert _run_python(code).strip() == "[]"


def test_stub_matches_the_extension():
    """`_core.pyi` agrees with the compiled module (needs mypy; CI installs it)."""
    pytest.importorskip("mypy.stubtest")
    done = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "kandle._core"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_kandle_cpu_avx2_forces_the_avx2_kernels_with_the_same_results():
    """KANDLE_CPU=avx2 (read once per process) runs gemm's AVX2 + FMA kernels and the
    AVX2 elementwise loops even on an AVX-512 CPU: same results up to rounding."""
    script = textwrap.dedent(
        """
        import json, numpy as np, kandle as kd
        rng = np.random.default_rng(0)
        a, b = rng.normal(size=(300, 200)), rng.normal(size=(200, 150))
        kd.utils.set_random_seed(1)
        model = kd.Sequential([kd.Input((20,)), kd.layers.Dense(64, activation="relu"),
                               kd.layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        x, y = rng.normal(size=(256, 20)), rng.normal(size=(256, 1))
        loss = model.fit(x, y, epochs=2, verbose=0).history["loss"]
        print(json.dumps({"level": kd.config.simd_level(),
                          "product": kd.ops.matmul(a, b).numpy().tolist(), "loss": loss}))
        """
    )
    runs = {}
    for cpu in ("auto", "avx2"):
        env = {**os.environ, "KANDLE_CPU": cpu}
        out = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        runs[cpu] = json.loads(out.stdout)
    if runs["auto"]["level"] == "baseline":
        pytest.skip("no AVX2 on this CPU")
    assert runs["avx2"]["level"] == "avx2"
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(300, 200)), rng.normal(size=(200, 150))
    for cpu in runs:
        np.testing.assert_allclose(runs[cpu]["product"], a @ b, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(runs["avx2"]["loss"], runs["auto"]["loss"], rtol=1e-4)
