"""MNIST-shaped speed comparison: kandle against Keras 3 (JAX and torch backends) and PyTorch.

Every (framework, task) pair runs in its own subprocess: this script re-invokes itself with
``--worker <framework> --task <task>``, with ``KERAS_BACKEND`` set for the Keras workers and
``KANDLE_NUM_THREADS`` for kandle when ``--threads`` is given. A worker builds the model, runs
one warm-up epoch (or predict call), times ``--epochs`` more and prints one result line; the
parent collects them into a markdown table of median seconds per epoch with kandle's
speed-up against each peer. The data are random numpy arrays shaped like MNIST: nothing is
downloaded.

    python benchmarks/bench_mnist.py                       # everything importable
    python benchmarks/bench_mnist.py --samples 2000 --epochs 1 --frameworks kandle,torch

This is a measurement tool. No test asserts a time.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

FEATURES = 784
CLASSES = 10
SEED = 0
RESULT_TAG = "BENCH_RESULT "
GEMM_SIZE = 2048
GEMM_REPEATS = 5
# Variables that may be set here to slow OpenBLAS down; only the numpy GEMM probe drops them.
BLAS_ENV_TO_UNSET = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


IMAGE = (28, 28, 1)
# The MNIST convnet's layers' multiply-adds per sample, first to last: Conv2D(32, 3) on
# 28x28x1, Conv2D(64, 3) on 13x13x32, Dense(10) on 1600.
CNN_PRODUCTS = (26 * 26 * 32 * 9 * 1, 11 * 11 * 64 * 9 * 32, 1600 * CLASSES)
# conv2d-op: one Conv2D forward + backward at the convnet's second layer's shape.
CONV_OP_BATCH, CONV_OP_IN, CONV_OP_FILTERS, CONV_OP_CALLS = 128, (13, 13, 32), 64, 10


@dataclass(frozen=True)
class Task:
    hidden: tuple[int, ...]  # widths of the relu Dense layers before the 10-way output
    batch_size: int
    optimizer: str  # "sgd" (lr 0.01) or "adam" (Keras defaults)
    predict: bool = False  # time model.predict on all rows instead of one epoch of fit
    report_gflops: bool = False
    # "mlp"; "cnn": Keras's MNIST convnet on 28x28x1 images; "conv-op": CONV_OP_CALLS
    # forward + backward passes of one Conv2D at the convnet's second layer's shape.
    model: str = "mlp"
    rows: int | None = None  # a fixed row count instead of --samples
    # A custom Python layer (a learned scale and shift) after the hidden layers: kandle's
    # batch loop then calls back into Python once per batch for it (the speed contract).
    python_layer: bool = False

    def samples(self, requested: int) -> int:
        return self.rows if self.rows is not None else requested

    def flops_per_epoch(self, samples: int) -> int:
        """FLOPs of the matrix products (2 per multiply-add) per epoch (conv-op: per
        timed run of CONV_OP_CALLS passes).

        A forward pass multiplies by every weight matrix (or kernel) once. Training adds
        the weight gradient of every layer and the input gradient of every layer but the
        first (no framework computes the gradient of the data): for 784-512-512-10 on
        60,000 rows that is the issue's 193 GFLOP, for the convnet on 54,000 rows 0.77
        TFLOP.
        """
        if self.model == "conv-op":
            h, w, c = CONV_OP_IN
            product = CONV_OP_BATCH * (h - 2) * (w - 2) * CONV_OP_FILTERS * 9 * c
            return 3 * 2 * product * CONV_OP_CALLS
        if self.model == "cnn":
            products = list(CNN_PRODUCTS)
        else:
            widths = (FEATURES, *self.hidden, CLASSES)
            products = [a * b for a, b in zip(widths[:-1], widths[1:])]
        forward = 2 * sum(products)
        if self.predict:
            return forward * samples
        return (3 * forward - 2 * products[0]) * samples


TASKS: dict[str, Task] = {
    "mlp100-b32-sgd": Task(hidden=(100,), batch_size=32, optimizer="sgd"),
    "mlp100-b128-sgd": Task(hidden=(100,), batch_size=128, optimizer="sgd"),
    "mlp512-b128-sgd": Task(hidden=(512, 512), batch_size=128, optimizer="sgd", report_gflops=True),
    "mlp512-b128-adam": Task(
        hidden=(512, 512), batch_size=128, optimizer="adam", report_gflops=True
    ),
    "predict-mlp512": Task(
        hidden=(512, 512), batch_size=128, optimizer="sgd", predict=True, report_gflops=True
    ),
    # Keras's default predict batch size: what `model.predict(x)` does.
    "predict-mlp512-b32": Task(
        hidden=(512, 512), batch_size=32, optimizer="sgd", predict=True, report_gflops=True
    ),
    # Keras's MNIST convnet example: one epoch over the 54,000 rows that its
    # validation_split=0.1 leaves of MNIST's 60,000.
    "cnn-mnist-b128-adam": Task(
        hidden=(), batch_size=128, optimizer="adam", report_gflops=True, model="cnn", rows=54_000
    ),
    "cnn-predict": Task(
        hidden=(),
        batch_size=128,
        optimizer="adam",
        predict=True,
        report_gflops=True,
        model="cnn",
        rows=10_000,
    ),
    "conv2d-op": Task(
        hidden=(), batch_size=CONV_OP_BATCH, optimizer="sgd", report_gflops=True, model="conv-op"
    ),
}

# Each MLP training task once more with one custom Python layer.
TASKS.update(
    {
        f"{name}-pylayer": replace(task, python_layer=True)
        for name, task in list(TASKS.items())
        if name.startswith("mlp")
    }
)

BASELINE = "kandle"


class NotInstalled(Exception):
    """The framework a worker was asked for cannot be imported."""


# ---------------------------------------------------------------- shared pieces


def make_data(
    samples: int, seed: int = SEED, task: Task | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-shaped data: float32 features in [0, 1) and int64 labels in [0, 10); images
    of 28x28x1 for the convnet tasks, the conv-op task's input for it.

    Labels come from a fixed random linear map of the features, so the task is learnable
    and the loss falls the way it would on real data.
    """
    rng = np.random.default_rng(seed)
    if task is not None and task.model == "conv-op":
        x = rng.random((CONV_OP_BATCH, *CONV_OP_IN), dtype=np.float32)
        return x, np.zeros(CONV_OP_BATCH, np.int64)
    x = rng.random((samples, FEATURES), dtype=np.float32)
    w = rng.standard_normal((FEATURES, CLASSES)).astype(np.float32)
    y = np.argmax((x - 0.5) @ w, axis=1).astype(np.int64)
    if task is not None and task.model == "cnn":
        x = x.reshape(samples, *IMAGE)
    return x, y


def max_rss_mib() -> float | None:
    """This process's peak resident set size in MiB (None where `resource` is missing)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def proc_status_mib(field: str) -> float | None:
    """`VmRSS` or `VmHWM` from /proc/self/status in MiB (None off Linux)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def reset_peak_rss() -> bool:
    """Restarts the kernel's peak-RSS count (VmHWM) from the current RSS; Linux only."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


@dataclass
class Timing:
    times: list[float]  # seconds of each timed epoch or predict call
    start_rss_mib: float | None  # resident memory when the loop started: data, model, runtime
    peak_rss_mib: float | None  # peak resident memory during the warm-up and timed loop


def time_steady(run_once: Callable[[], Any], repeats: int) -> Timing:
    """Runs `run_once` once to warm up, then `repeats` more times, timing those.

    Memory is measured around the loop only, so the data generation before it does not
    count: on Linux the peak-RSS counter restarts when the loop does.
    """
    start_rss = proc_status_mib("VmRSS") if reset_peak_rss() else None
    run_once()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run_once()
        times.append(time.perf_counter() - start)
    peak = proc_status_mib("VmHWM") if start_rss is not None else max_rss_mib()
    return Timing(times, start_rss, peak)


def try_import(name: str) -> Any:
    """Imports `name`; raises NotInstalled if it (or its native part) is missing.

    Any other import failure, such as a broken installation, is an error and propagates.
    """
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name is None or (e.name != name and not e.name.startswith(name + ".")):
            raise
        raise NotInstalled(f"{type(e).__name__}: {e}") from e


# ---------------------------------------------------------------- framework workers
# Each takes (task, x, y, timed epochs) and returns (version string, Timing of the timed
# epochs or predict calls); a framework that cannot be imported raises NotInstalled.


def keras_convnet(kx: Any) -> Any:
    """Keras's MNIST convnet example (kandle spells it the same way)."""
    return kx.Sequential(
        [
            kx.Input(IMAGE),
            kx.layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            kx.layers.MaxPooling2D(pool_size=(2, 2)),
            kx.layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            kx.layers.MaxPooling2D(pool_size=(2, 2)),
            kx.layers.Flatten(),
            kx.layers.Dropout(0.5),
            kx.layers.Dense(CLASSES, activation="softmax"),
        ]
    )


def keras_api_worker(kx: Any, task: Task, x: np.ndarray, y: np.ndarray, epochs: int) -> Timing:
    """The Keras-API benchmark, shared by kandle and Keras: both spell it the same way."""
    kx.utils.set_random_seed(SEED)
    optimizer = kx.optimizers.SGD(0.01) if task.optimizer == "sgd" else kx.optimizers.Adam()
    if task.model == "cnn":
        # The example's loss: categorical crossentropy on one-hot labels after softmax.
        model = keras_convnet(kx)
        model.compile(optimizer=optimizer, loss="categorical_crossentropy")
        y = np.eye(CLASSES, dtype=np.float32)[y]
    else:
        layers = [kx.layers.Dense(width, activation="relu") for width in task.hidden]
        if task.python_layer:
            layers.append(scale_shift(kx))
        model = kx.Sequential([kx.Input((FEATURES,)), *layers, kx.layers.Dense(CLASSES)])
        model.compile(
            optimizer=optimizer,
            loss=kx.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
    if task.predict:
        return time_steady(lambda: model.predict(x, batch_size=task.batch_size, verbose=0), epochs)
    return time_steady(
        lambda: model.fit(x, y, batch_size=task.batch_size, epochs=1, verbose=0, shuffle=True),
        epochs,
    )


def scale_shift(kx: Any) -> Any:
    """A custom layer written in Python with the library's ops: ``x * scale + shift``."""

    class ScaleShift(kx.layers.Layer):  # type: ignore[misc, name-defined]
        def build(self, input_shape: Any) -> None:
            width = input_shape[-1]
            self.scale = self.add_weight(shape=(width,), initializer="ones", name="scale")
            self.shift = self.add_weight(shape=(width,), initializer="zeros", name="shift")

        def call(self, inputs: Any) -> Any:
            return kx.ops.add(kx.ops.multiply(inputs, self.scale), self.shift)

    return ScaleShift()


def kandle_worker(task: Task, x: np.ndarray, y: np.ndarray, epochs: int) -> tuple[str, Timing]:
    kd = try_import("kandle")
    threads = os.environ.get("KANDLE_NUM_THREADS", "default")
    version = f"kandle {kd.__version__} (KANDLE_NUM_THREADS={threads})"
    if task.model == "conv-op":
        layer = kd.layers.Conv2D(CONV_OP_FILTERS, 3)
        layer.build(x.shape)
        xv = kd.Variable(x)
        variables = [xv, *layer.weights]

        def passes() -> None:
            for _ in range(CONV_OP_CALLS):
                kd.grad(layer(xv).sum(), variables)

        return version, time_steady(passes, epochs)
    return version, keras_api_worker(kd, task, x, y, epochs)


def keras_worker(backend: str) -> Callable[..., tuple[str, Timing]]:
    def worker(task: Task, x: np.ndarray, y: np.ndarray, epochs: int) -> tuple[str, Timing]:
        backend_module = try_import(backend)
        keras = try_import("keras")
        if keras.backend.backend() != backend:
            raise RuntimeError(f"keras runs on {keras.backend.backend()!r}, not {backend!r}")
        version = f"keras {keras.__version__} ({backend} {backend_module.__version__})"
        if task.model == "conv-op":
            if backend != "jax":
                raise NotInstalled(f"conv2d-op is measured on keras-jax only, not {backend}")
            return version, jax_conv_op(x, epochs)
        return version, keras_api_worker(keras, task, x, y, epochs)

    return worker


def jax_conv_op(x: np.ndarray, epochs: int) -> Timing:
    """Keras's conv op on JAX, forward + backward (input, kernel and bias gradients),
    compiled once with jax.jit as Keras's fit compiles its step."""
    import jax
    import jax.numpy as jnp
    import keras

    rng = np.random.default_rng(SEED)
    kernel = jnp.asarray(
        rng.standard_normal((3, 3, CONV_OP_IN[2], CONV_OP_FILTERS)) * 0.05, jnp.float32
    )
    bias = jnp.zeros(CONV_OP_FILTERS, jnp.float32)
    step = jax.jit(jax.grad(lambda x, k, b: jnp.sum(keras.ops.conv(x, k) + b), argnums=(0, 1, 2)))
    xj = jnp.asarray(x)

    def passes() -> None:
        for _ in range(CONV_OP_CALLS):
            jax.block_until_ready(step(xj, kernel, bias))

    return time_steady(passes, epochs)


def torch_worker(task: Task, x: np.ndarray, y: np.ndarray, epochs: int) -> tuple[str, Timing]:
    """A plain PyTorch eager loop: what a PyTorch user would write by hand."""
    torch = try_import("torch")
    nn = torch.nn
    torch.manual_seed(SEED)
    version = f"torch {torch.__version__} ({torch.get_num_threads()} threads)"

    if task.model == "conv-op":
        # PyTorch's native layout (channels first): what its users run.
        conv = nn.Conv2d(CONV_OP_IN[2], CONV_OP_FILTERS, 3)
        xc = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).requires_grad_()

        def passes() -> None:
            for _ in range(CONV_OP_CALLS):
                conv.zero_grad(set_to_none=True)
                xc.grad = None
                conv(xc).sum().backward()

        return version, time_steady(passes, epochs)
    modules: list[Any] = []
    if task.model == "cnn":
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        modules = [
            nn.Conv2d(1, 32, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Dropout(0.5),
        ]
        width = 1600
    else:
        width = FEATURES
    for hidden in task.hidden:
        modules += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden

    class ScaleShift(nn.Module):
        def __init__(self, width: int) -> None:
            super().__init__()
            self.scale = nn.Parameter(torch.ones(width))
            self.shift = nn.Parameter(torch.zeros(width))

        def forward(self, inputs: Any) -> Any:
            return inputs * self.scale + self.shift

    if task.python_layer:
        modules.append(ScaleShift(width))
    model = nn.Sequential(*modules, nn.Linear(width, CLASSES))
    if task.optimizer == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    else:  # Keras's Adam defaults, including its epsilon
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    n, batch = len(xt), task.batch_size

    def fit_epoch() -> None:
        model.train()
        order = torch.randperm(n)
        for start in range(0, n, batch):
            idx = order[start : start + batch]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            optimizer.step()

    def predict() -> np.ndarray:
        model.eval()
        with torch.inference_mode():
            return torch.cat([model(xt[s : s + batch]) for s in range(0, n, batch)]).numpy()

    return version, time_steady(predict if task.predict else fit_epoch, epochs)


WORKERS: dict[str, Callable[..., tuple[str, Timing]]] = {
    "kandle": kandle_worker,
    "keras-jax": keras_worker("jax"),
    "keras-torch": keras_worker("torch"),
    "torch": torch_worker,
}
FRAMEWORKS = tuple(WORKERS)
# Environment a worker gets on top of the parent's (kandle's threads come from --threads).
WORKER_ENV: dict[str, dict[str, str]] = {
    "keras-jax": {"KERAS_BACKEND": "jax"},
    "keras-torch": {"KERAS_BACKEND": "torch"},
}


def run_worker(framework: str, task_name: str, epochs: int, samples: int) -> None:
    """Worker process entry: prints one RESULT_TAG line of JSON on stdout."""
    result: dict[str, Any] = {"framework": framework, "task": task_name}
    task = TASKS[task_name]
    x, y = make_data(task.samples(samples), task=task)
    try:
        version, timing = WORKERS[framework](task, x, y, epochs)
    except NotInstalled as e:
        result.update(status="not installed", detail=str(e))
    else:
        result.update(
            status="ok",
            version=version,
            times=timing.times,
            seconds=statistics.median(timing.times),
            start_rss_mib=timing.start_rss_mib,
            peak_rss_mib=timing.peak_rss_mib,
            data_mib=(x.nbytes + y.nbytes) / 2**20,
        )
    print(RESULT_TAG + json.dumps(result), flush=True)


def run_gemm_probe() -> None:
    """Numpy's float32 GEMM rate, median of GEMM_REPEATS products, and which BLAS numpy
    uses."""
    rng = np.random.default_rng(SEED)
    a = rng.random((GEMM_SIZE, GEMM_SIZE), dtype=np.float32)
    b = rng.random((GEMM_SIZE, GEMM_SIZE), dtype=np.float32)
    times = time_steady(lambda: a @ b, GEMM_REPEATS).times
    gflops = 2 * GEMM_SIZE**3 / statistics.median(times) / 1e9
    print(RESULT_TAG + json.dumps({"gflops": gflops, "blas": describe_blas()}), flush=True)


# --avx2: kandle forced onto its AVX2 kernels, and numpy's OpenBLAS onto its own AVX2
# (Haswell) kernels, so that the share compares AVX2 with AVX2 on any x86 machine.
AVX2_KANDLE_ENV = {"KANDLE_CPU": "avx2"}
AVX2_NUMPY_ENV = {"OPENBLAS_CORETYPE": "Haswell"}


def gemm_probe(avx2: bool = False) -> dict | None:
    """Runs the numpy GEMM probe in its own process; None (with a message) if it fails."""
    env = AVX2_NUMPY_ENV if avx2 else {}
    gemm = spawn(["--gemm-probe"], env, drop_env=BLAS_ENV_TO_UNSET)
    if "gflops" not in gemm:
        print(f"numpy GEMM probe failed: {gemm.get('detail')}", file=sys.stderr)
        return None
    return gemm


def describe_blas() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        pass
    else:
        pools = [
            f"{p.get('internal_api')} {p.get('version')} ({p.get('architecture')}, "
            f"{p.get('num_threads')} threads)"
            for p in threadpool_info()
            if p.get("user_api") == "blas"
        ]
        if pools:
            return "; ".join(pools)
    try:  # numpy >= 1.25
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version', '')}".strip() + " (numpy.show_config)"
    except Exception:  # older numpy: no dict mode
        return "unknown (install threadpoolctl to see it)"


# ---------------------------------------------------------------- parent process


def spawn(args: list[str], extra_env: dict[str, str], drop_env: tuple[str, ...] = ()) -> dict:
    """Runs this script with `args` and returns the JSON on its result line."""
    env = {k: v for k, v in os.environ.items() if k not in drop_env}
    env.update(extra_env)
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), *args],
        env=env,
        capture_output=True,
        text=True,
    )
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_TAG):
            return json.loads(line[len(RESULT_TAG) :])
    tail = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
    return {"status": "error", "detail": tail}


def merge(old: dict | None, new: dict) -> dict:
    """One result from the rounds of a (framework, task) pair: all timed epochs pooled,
    their median, the highest memory readings and every run's numpy probes."""
    if old is None:
        return new
    # The first round that did not run is what gets reported.
    if old["status"] != "ok":
        return old
    if new["status"] != "ok":
        return new
    merged = dict(new, times=old["times"] + new["times"])
    merged["seconds"] = statistics.median(merged["times"])
    merged["runs"] = old.get("runs", []) + new.get("runs", [])
    for key in ("start_rss_mib", "peak_rss_mib"):
        values = [r[key] for r in (old, new) if r[key] is not None]
        merged[key] = max(values) if values else None
    return merged


def run_all(opts: argparse.Namespace) -> dict[tuple[str, str], dict]:
    """Runs every (framework, task) pair once per round. Frameworks alternate within a
    round, so a machine whose speed drifts over the run treats them alike.

    kandle's runs of the tasks that report a GFLOP/s rate sit between two numpy GEMM
    probes, so that its rate is compared with numpy's at the same minute: on a VM whose
    speed drifts by 20-30% over minutes, one probe at the end says little about the
    minute a worker ran in.
    """
    results: dict[tuple[str, str], dict] = {}
    missing: dict[str, dict] = {}
    for round_ in range(opts.rounds):
        for task in opts.tasks:
            for fw in opts.frameworks:
                if fw in missing:  # probed once: skip the other tasks and rounds
                    results[fw, task] = missing[fw]
                    continue
                env = dict(WORKER_ENV.get(fw, {}))
                if fw == "kandle" and opts.threads is not None:
                    env["KANDLE_NUM_THREADS"] = str(opts.threads)
                if fw == "kandle" and opts.avx2:
                    env.update(AVX2_KANDLE_ENV)
                label = f"[{fw}] {task}" + (f" (round {round_ + 1})" if opts.rounds > 1 else "")
                print(f"{label} ...", end=" ", file=sys.stderr, flush=True)
                args = ["--worker", fw, "--task", task]
                args += ["--epochs", str(opts.epochs), "--samples", str(opts.samples)]
                paired = fw == BASELINE and TASKS[task].report_gflops and not opts.no_gemm
                before = gemm_probe(opts.avx2) if paired else None
                res = spawn(args, env)
                after = gemm_probe(opts.avx2) if paired else None
                if res["status"] == "ok" and before and after:
                    res["runs"] = [
                        {
                            "seconds": statistics.median(res["times"]),
                            "numpy_gflops": (before["gflops"] + after["gflops"]) / 2,
                            "blas": after["blas"],
                        }
                    ]
                results[fw, task] = merge(results.get((fw, task)), res)
                if res["status"] == "not installed":
                    missing[fw] = res
                shown = f"{res['seconds']:.3f} s" if res["status"] == "ok" else res["status"]
                print(shown, file=sys.stderr, flush=True)
    return results


def cell(res: dict) -> str:
    return f"{res['seconds']:.3f}" if res["status"] == "ok" else res["status"]


def memory_cell(res: dict) -> str:
    if res["status"] != "ok" or res["peak_rss_mib"] is None:
        return "-"
    if res["start_rss_mib"] is None:
        return f"{res['peak_rss_mib']:.0f}"
    growth = res["peak_rss_mib"] - res["start_rss_mib"]
    return f"{res['start_rss_mib']:.0f} -> {res['peak_rss_mib']:.0f} (+{growth:.0f})"


def speedup(base: dict | None, peer: dict) -> str:
    if base is None or base["status"] != "ok" or peer["status"] != "ok":
        return "-"
    return f"{peer['seconds'] / base['seconds']:.1f}x"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def report(opts: argparse.Namespace, results: dict) -> None:
    fws = opts.frameworks
    peers = [fw for fw in fws if fw != BASELINE] if BASELINE in fws else []

    runs = opts.epochs * opts.rounds
    print(f"\n## MNIST-shaped benchmark: {opts.samples} samples, median of {runs} timed runs")
    print(
        f"\n{platform.platform()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} logical CPUs"
    )
    for fw in fws:
        runs = [results[fw, task] for task in opts.tasks]
        ok = [res for res in runs if res["status"] == "ok"]
        if ok:
            print(f"- {fw}: {ok[0]['version']}")
        elif runs[0]["status"] == "not installed":
            print(f"- {fw}: not installed ({runs[0]['detail']})")
        else:
            print(f"- {fw}: error (below)")

    print(
        "\nSeconds per epoch (predict: per call over all rows; the cnn tasks use their own "
        f"row counts, 54,000 and 10,000; conv2d-op: per {CONV_OP_CALLS} forward+backward "
        "passes); lower is better.\n"
    )
    header = ["task", *fws, *(f"kandle vs {p}" for p in peers)]
    rows = []
    for task in opts.tasks:
        base = results.get((BASELINE, task))
        rows.append(
            [task]
            + [cell(results[fw, task]) for fw in fws]
            + [speedup(base, results[p, task]) for p in peers]
        )
    print(markdown_table(header, rows))

    if opts.peak_memory:
        data_mib = next((r["data_mib"] for r in results.values() if r["status"] == "ok"), 0.0)
        print(
            "\nMemory of the worker process, MiB: resident when the timed loop starts (the "
            f"data, {data_mib:.0f} MiB, the model and the framework) -> peak during the "
            "warm-up and timed loop (+ growth). Without /proc (not Linux) only the peak of "
            "the whole process is known.\n"
        )
        print(
            markdown_table(
                ["task", *fws],
                [[task] + [memory_cell(results[fw, task]) for fw in fws] for task in opts.tasks],
            )
        )

    problems = [
        f"- {fw} / {task}: {res['status']}: {res['detail']}"
        for (fw, task), res in results.items()
        if res["status"] == "error"
    ]
    if problems:
        print("\nErrors (last line of the worker's stderr):\n" + "\n".join(problems))

    rated = [
        (task, res)
        for task in opts.tasks
        if TASKS[task].report_gflops
        and (res := results.get((BASELINE, task))) is not None
        and res["status"] == "ok"
        and res.get("runs")
    ]
    if rated:
        probes = [run["numpy_gflops"] for _, res in rated for run in res["runs"]]
        if opts.avx2:
            probe_env = "AVX2 only: OPENBLAS_CORETYPE=Haswell, and KANDLE_CPU=avx2 for kandle"
        else:
            probe_env = f"run without {' and '.join(BLAS_ENV_TO_UNSET)}"
        print(
            f"\nnumpy float32 matmul {GEMM_SIZE}x{GEMM_SIZE} @ {GEMM_SIZE}x{GEMM_SIZE}, "
            f"median of {GEMM_REPEATS} products, probed right before and after each kandle "
            f"run below: {min(probes):.1f}-{max(probes):.1f} GFLOP/s "
            f"({rated[0][1]['runs'][0]['blas']}; {probe_env})"
        )
        for task, res in rated:
            flops = TASKS[task].flops_per_epoch(TASKS[task].samples(opts.samples))
            rate = flops / res["seconds"] / 1e9
            # Each run against the probes beside it, then the median over the runs.
            shares = [flops / run["seconds"] / 1e9 / run["numpy_gflops"] for run in res["runs"]]
            kind = "forward only" if TASKS[task].predict else "forward+backward"
            print(
                f"kandle {task}: {rate:.1f} GFLOP/s ({kind}), "
                f"{100 * statistics.median(shares):.0f}% of numpy's rate beside it "
                "(runs: "
                + ", ".join(
                    f"{100 * share:.0f}% of {run['numpy_gflops']:.0f}"
                    for share, run in zip(shares, res["runs"])
                )
                + ")"
            )


def comma_list(choices: tuple[str, ...]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        names = [name.strip() for name in text.split(",") if name.strip()]
        unknown = [name for name in names if name not in choices]
        if unknown or not names:
            raise argparse.ArgumentTypeError(
                f"unknown {unknown or text!r}; choose from {', '.join(choices)}"
            )
        return names

    return parse


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tasks",
        type=comma_list(tuple(TASKS)),
        default=list(TASKS),
        help="comma list of tasks (default: all)",
    )
    parser.add_argument(
        "--frameworks",
        type=comma_list(FRAMEWORKS),
        default=list(FRAMEWORKS),
        help="comma list (default: all; missing ones show 'not installed')",
    )
    parser.add_argument(
        "--epochs", type=int, default=3, help="timed epochs after one warm-up epoch (default: 3)"
    )
    parser.add_argument("--samples", type=int, default=60_000, help="rows (default: 60000)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every worker this many times, frameworks alternating; the table gives "
        "the median over all timed epochs (default: 1)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="KANDLE_NUM_THREADS for kandle; peers keep their defaults",
    )
    parser.add_argument(
        "--peak-memory", action="store_true", help="also print each worker's peak RSS"
    )
    parser.add_argument("--no-gemm", action="store_true", help="skip the numpy GFLOP/s measurement")
    parser.add_argument(
        "--avx2",
        action="store_true",
        help="AVX2 only: KANDLE_CPU=avx2 for kandle, OPENBLAS_CORETYPE=Haswell for numpy's probe",
    )
    parser.add_argument("--worker", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    parser.add_argument("--task", choices=tuple(TASKS), help=argparse.SUPPRESS)
    parser.add_argument("--gemm-probe", action="store_true", help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.epochs < 1 or opts.samples < 1 or opts.rounds < 1:
        parser.error("--epochs, --samples and --rounds must be positive")

    if opts.gemm_probe:
        run_gemm_probe()
    elif opts.worker:
        if opts.task is None:
            parser.error("--worker needs --task")
        run_worker(opts.worker, opts.task, opts.epochs, opts.samples)
    else:
        report(opts, run_all(opts))


if __name__ == "__main__":
    main()
