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


def _shape_text(shape: tuple[Any, ...]) -> str:
    return (
        "("
        + ", ".join("None" if d is None else str(d) for d in shape)
        + ("," if len(shape) == 1 else "")
        + ")"
    )


def print_summary(
    model: Any, line_length: int | None = None, print_fn: Callable[[str], Any] | None = None
) -> None:
    """Prints ``model``'s summary the way Keras 3 does for a Sequential model."""
    emit = print_fn or print
    total_width = line_length or 88
    # Column content widths at Keras's positions (0.45, 0.84, 1.0) of the line.
    inner = total_width - 10
    widths = [int(inner * 0.45), int(inner * 0.84) - int(inner * 0.45)]
    widths.append(inner - sum(widths))

    def row(cells: list[str], left: str, mid: str, right: str, align_last: bool) -> str:
        parts = [f" {cells[0]:<{widths[0]}} ", f" {cells[1]:<{widths[1]}} "]
        parts.append(f" {cells[2]:>{widths[2]}} " if align_last else f" {cells[2]:<{widths[2]}} ")
        return left + mid.join(parts) + right

    def rule(left: str, fill: str, mid: str, right: str) -> str:
        return left + mid.join(fill * (w + 2) for w in widths) + right

    shape: tuple[Any, ...] | None = model.input_shape if model.built else None
    rows = []
    # A subclassed model's layers are no chain: Keras shows each one's last output.
    subclassed = model._is_subclassed()
    for layer in model.layers:
        if subclassed:
            last = getattr(layer, "_last_output_shape", None)
            out = _shape_text(last) if last is not None else "?"
        elif shape is not None and layer.built:
            shape = tuple(layer.compute_output_shape(shape))
            out = _shape_text(shape)
        else:
            out = "?"
        params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
        rows.append([f"{layer.name} ({type(layer).__name__})", out, params])

    emit(f'Model: "{model.name}"')
    emit(rule("┏", "━", "┳", "┓"))
    emit(row(["Layer (type)", "Output Shape", "Param #"], "┃", "┃", "┃", True))
    emit(rule("┡", "━", "╇", "┩"))
    for i, cells in enumerate(rows):
        if i:
            emit(rule("├", "─", "┼", "┤"))
        emit(row(cells, "│", "│", "│", True))
    emit(rule("└", "─", "┴", "┘"))
    trainable = _count(model.trainable_weights)
    non_trainable = _count(model.non_trainable_weights)
    total = trainable + non_trainable
    emit(f" Total params: {total:,} ({readable_memory_size(total * 4)})")
    emit(f" Trainable params: {trainable:,} ({readable_memory_size(trainable * 4)})")
    emit(f" Non-trainable params: {non_trainable:,} ({readable_memory_size(non_trainable * 4)})")
