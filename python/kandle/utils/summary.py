"""``Model.summary()``: Keras's table of layers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def readable_memory_size(num_bytes: float) -> str:
    """``198.79 KB``: Keras's units (powers of 1024, two decimals)."""
    units = ["B", "KB", "MB", "GB", "TB"]
    scale = 1024.0
    for unit in units:
        if num_bytes < scale or unit == units[-1]:
            return f"{num_bytes:.2f} {unit}"
        num_bytes /= scale
    raise AssertionError("unreachable")


def _count(weights: list[Any]) -> int:
    return int(sum(int(np.prod(w.shape)) for w in weights))


def print_summary(
    model: Any, line_length: int | None = None, print_fn: Callable[[str], Any] | None = None
) -> None:
    """Prints ``model``'s summary the way Keras 3 does
    (``keras.src.utils.summary_utils.print_summary``): a table of the layers with
    "Layer (type)", "Output Shape" and "Param #", plus "Connected to" for a functional
    model whose graph branches. Columns sit at Keras's fixed fractions of the line
    (``line_length``, by default 88, or 108 with connections, capped by the terminal's
    width less 4), and a cell too long for its column wraps onto more lines, as rich's
    tables (which Keras prints with) do."""
    from kandle._functional import Functional

    emit = print_fn or print
    if isinstance(model, Functional):
        chain, rows = _functional_rows(model)
    else:
        chain, rows = True, _sequential_rows(model)
    _print_table(model, rows, chain, line_length, emit)


def _sequential_rows(model: Any) -> list[list[str]]:
    """The cells of a Sequential (or subclassed) model's layers: name (type), output
    shape, parameter count."""
    shape: tuple[Any, ...] | None = model._known_input_shape() if model.built else None
    rows = []
    # A subclassed model's layers are no chain: Keras shows each one's last output.
    subclassed = model._is_subclassed()
    for layer in model.layers:
        if subclassed:
            # Keras computes it with compute_output_shape, which a Python layer may lack.
            last = getattr(layer, "_last_output_shape", None)
            out = "?" if last is None or _lacks_output_shape(layer) else _keras_shape(last)
        elif shape is not None and layer.built:
            shape = tuple(layer.compute_output_shape(shape))
            out = _keras_shape(shape)
        else:
            out = "?"
        rows.append([f"{layer.name} ({type(layer).__name__})", out, _param_text(layer)])
    return rows


def _param_text(layer: Any) -> str:
    return f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"


def _print_param_counts(model: Any, emit: Callable[[str], Any]) -> None:
    """The lines under the table: total, trainable and non-trainable parameters."""
    trainable = _count(model.trainable_weights)
    non_trainable = _count(model.non_trainable_weights)
    optimizer = _optimizer_count(model)
    total = trainable + non_trainable + optimizer
    emit(f" Total params: {total:,} ({readable_memory_size(total * 4)})")
    emit(f" Trainable params: {trainable:,} ({readable_memory_size(trainable * 4)})")
    emit(f" Non-trainable params: {non_trainable:,} ({readable_memory_size(non_trainable * 4)})")
    if optimizer:
        emit(f" Optimizer params: {optimizer:,} ({readable_memory_size(optimizer * 4)})")


def _lacks_output_shape(layer: Any) -> bool:
    """A layer written in Python that does not define compute_output_shape."""
    from kandle.layers.layer import Layer

    own = type(layer).compute_output_shape is not Layer.compute_output_shape
    return bool(layer._written_in_python()) and not own


def _optimizer_count(model: Any) -> int:
    """Keras's count of the optimizer's variables (iteration, learning rate, slots, ...),
    once it has been built (by a training step or a loaded state); 0 before."""
    opt = getattr(model, "optimizer", None)
    engine = getattr(opt, "_engine", None)
    if opt is None or engine is None or not (opt.built or engine.raw_iterations > 0):
        return 0
    from kandle.saving import _optimizer_arrays

    arrays, _ = _optimizer_arrays(model)
    return 1 + sum(int(np.size(a)) for a in arrays)  # 1: the iteration count


def _ratio_reduce(total: int, widths: list[int]) -> list[int]:
    """rich's ``ratio_reduce`` with equal ratios: takes ``total`` off the widths, as
    evenly as rounding allows, first columns first."""
    remaining, count, out = total, len(widths), []
    for width in widths:
        taken = min(width, round(remaining / count))
        out.append(width - taken)
        remaining -= taken
        count -= 1
    return out


def _wrap(text: str, width: int) -> list[str]:
    """``text`` wrapped at spaces to ``width`` columns, a longer word cut with an
    ellipsis, as rich's table cells do."""
    import textwrap

    lines = textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)
    return [line if len(line) <= width else line[: width - 1] + "…" for line in lines] or [""]


def _rule(widths: list[int], left: str, fill: str, mid: str, right: str) -> str:
    """A horizontal line of the table, across columns of ``widths`` (plus padding)."""
    return left + mid.join(fill * (w + 2) for w in widths) + right


def _keras_shape(shape: Any) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def _functional_rows(model: Any) -> tuple[bool, list[list[str]]]:
    """Whether a functional model prints as a chain (Keras's "sequential-like": no
    branch, no shared layer), and its layers' cells, with "Connected to" when not."""
    from kandle._functional_config import node_ids
    from kandle._keras_tensor import inbound_nodes

    in_model = node_ids(model)
    chain = (
        all(len(n.input_tensors) <= 1 for n in model._nodes)
        and all(sum(id(n) in in_model for n in inbound_nodes(layer)) <= 1 for layer in model.layers)
        and all(
            sum(t is n.outputs[0] for m in model._nodes for t in m.input_tensors) <= 1
            for n in model._nodes
        )
    )

    def connections(layer: Any) -> str:
        parts = []
        for node in inbound_nodes(layer):
            if id(node) not in in_model:
                continue
            for t in node.input_tensors:
                assert t._keras_history is not None
                source, index, tensor = t._keras_history
                parts.append(f"{source.name}[{index}][{tensor}]")
        return ", ".join(parts) or "-"

    def output_shape(layer: Any) -> str:
        nodes = [n for n in inbound_nodes(layer) if id(n) in in_model]
        if not nodes:
            return "?"
        shapes = [_keras_shape(t.shape) for t in nodes[-1].outputs]
        return shapes[0] if len(shapes) == 1 else "[" + ", ".join(shapes) + "]"

    rows = []
    for layer in model.layers:
        cells = [f"{layer.name} ({type(layer).__name__})", output_shape(layer), _param_text(layer)]
        if not chain:
            cells.append(connections(layer))
        rows.append(cells)
    return chain, rows


def _print_table(
    model: Any,
    rows: list[list[str]],
    chain: bool,
    line_length: int | None,
    emit: Callable[[str], Any],
) -> None:
    """The one table of every summary, laid out as Keras's rich table."""
    import shutil

    if chain:
        default, positions = 88, [0.45, 0.80, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #"]
    else:
        default, positions = 108, [0.3, 0.56, 0.74, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
    total = line_length or min(default, shutil.get_terminal_size().columns - 4)
    widths, at = [], 0
    for pos in positions:
        width = int(pos * total) - at
        if width < 4:
            from kandle.errors import InvalidArgumentError

            raise InvalidArgumentError(
                "Insufficient console width to print summary: each column needs at least "
                f"4 characters; got line_length={total}"
            )
        widths.append(width)
        at += width
    # rich's table: each column padded by a space each side, one border between.
    padded = [w + 2 for w in widths]
    room = total - (len(widths) + 1)
    if sum(padded) > room:
        padded = _ratio_reduce(sum(padded) - room, padded)
    widths = [w - 2 for w in padded]

    def line(cells: list[str], right: int) -> list[str]:
        wrapped = [_wrap(c, w) for c, w in zip(cells, widths)]
        height = max(len(w) for w in wrapped)
        lines = []
        for i in range(height):
            parts = []
            for j, (w, width) in enumerate(zip(wrapped, widths)):
                text = w[i] if i < len(w) else ""
                parts.append(f" {text:>{width}} " if j == right else f" {text:<{width}} ")
            lines.append("│" + "│".join(parts) + "│")
        return lines

    emit(f'Model: "{model.name}"')
    emit(_rule(widths, "┏", "━", "┳", "┓"))
    for text in line(header, 2):
        emit(text.replace("│", "┃"))
    emit(_rule(widths, "┡", "━", "╇", "┩"))
    for i, cells in enumerate(rows):
        if i:
            emit(_rule(widths, "├", "─", "┼", "┤"))
        for text in line(cells, 2):
            emit(text)
    emit(_rule(widths, "└", "─", "┴", "┘"))
    _print_param_counts(model, emit)
