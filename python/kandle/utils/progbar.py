"""Keras's progress bar."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterable

_BOLD, _GREEN, _GRAY, _RESET = "\x1b[1m", "\x1b[32m", "\x1b[37m", "\x1b[0m"


def _format_time_per_unit(seconds: float, unit: str) -> str:
    if seconds >= 1 or seconds == 0:
        return f" {seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f" {seconds * 1e3:.0f}ms/{unit}"
    return f" {seconds * 1e6:.0f}us/{unit}"


def _format_value(v: float) -> str:
    return f" {v:.4f}" if abs(v) > 1e-3 else f" {v:.4e}"


def _format_eta(eta: float) -> str:
    if eta > 3600:
        return f"{int(eta // 3600)}:{int((eta % 3600) // 60):02d}:{int(eta % 60):02d}"
    if eta > 60:
        return f"{int(eta // 60)}:{int(eta % 60):02d}"
    return f"{int(eta)}s"


class Progbar:
    """A progress bar that prints as Keras's does.

    ``verbose=1`` redraws one line in place (at most every ``interval`` seconds) and
    ends as ``25/25 ━━━━━━━━━━━━━━━━━━━━ 0s 3ms/step - loss: 0.1234``; ``verbose=2``
    prints one line when finalized; ``verbose=0`` prints nothing.

    >>> from kandle.utils import Progbar
    >>> bar = Progbar(target=4, verbose=2)
    >>> bar.update(4, [("loss", 0.5)], finalize=True)  # doctest: +ELLIPSIS
    4/4 - 0s - ...
    """

    def __init__(
        self,
        target: int | None,
        width: int = 20,
        verbose: int = 1,
        interval: float = 0.05,
        unit_name: str = "step",
    ) -> None:
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self._start = time.time()
        self._last_update = 0.0
        self._previous_width = 0
        # A terminal gets a bar redrawn in place; a log file only the final line.
        self._dynamic = hasattr(sys.stdout, "isatty") and sys.stdout.isatty()

    def update(
        self,
        current: int,
        values: Iterable[tuple[str, float]] | None = None,
        finalize: bool | None = None,
    ) -> None:
        """Shows progress ``current`` of ``target`` with the running ``values``. An
        unknown target (None, a stream of batches) shows ``current/Unknown`` until the
        final update fixes it."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        if self.target is None:
            if not finalize:
                self._update_unknown(current)
                return
            self.target = current
        target = self.target
        now = time.time()
        if self.verbose == 0 or (self.verbose == 2 and not finalize):
            return
        if not finalize and (now - self._last_update < self.interval or not self._dynamic):
            return
        self._last_update = now
        per_unit = (now - self._start) / current if current else 0.0
        metrics = "".join(f" - {k}:{_format_value(float(v))}" for k, v in sorted(values or []))
        digits = int(math.log10(max(target, 1))) + 1
        count = f"{current:>{digits}d}/{target}"
        if self.verbose == 2:
            line = f"{count} - {now - self._start:.0f}s -" + _format_time_per_unit(
                per_unit, self.unit_name
            )
            sys.stdout.write(line + metrics + "\n")
            sys.stdout.flush()
            return
        done = int(self.width * min(current / max(target, 1), 1.0))
        color = self._dynamic
        bar = (
            (f"{_BOLD}{count}{_RESET} " if color else f"{count} ")
            + (f"{_GREEN}{'━' * done}{_RESET}" if color else "━" * done)
            + (
                f"{_GRAY}{'━' * (self.width - done)}{_RESET}"
                if color
                else "━" * (self.width - done)
            )
        )
        if current < target:
            when = _format_eta(per_unit * (target - current))
        else:
            when = f"{now - self._start:.0f}s"
        line = bar + (f" {_BOLD}{when}{_RESET}" if color else f" {when}")
        line += _format_time_per_unit(per_unit, self.unit_name) + metrics
        pad = max(self._previous_width - len(line), 0)
        self._previous_width = len(line)
        prefix = "\r" if self._dynamic else ""
        sys.stdout.write(prefix + line + " " * pad + ("\n" if finalize else ""))
        sys.stdout.flush()

    def _update_unknown(self, current: int) -> None:
        """Keras's line while the number of steps is unknown: ``12/Unknown 3s 4ms/step``."""
        now = time.time()
        if self.verbose != 1 or not self._dynamic or now - self._last_update < self.interval:
            return
        self._last_update = now
        per_unit = (now - self._start) / current if current else 0.0
        line = f"{current:>7d}/Unknown {now - self._start:.0f}s"
        line += _format_time_per_unit(per_unit, self.unit_name)
        pad = max(self._previous_width - len(line), 0)
        self._previous_width = len(line)
        sys.stdout.write("\r" + line + " " * pad)
        sys.stdout.flush()
