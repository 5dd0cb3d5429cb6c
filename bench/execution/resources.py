"""Measuring the peak memory of a block of work (one cell)."""

from __future__ import annotations

import logging
import resource
import sys
from pathlib import Path
from types import TracebackType

__all__ = ["PeakMemory"]

logger = logging.getLogger(__name__)

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kib(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class PeakMemory:
    """Peak resident memory of this process inside a ``with`` block.

    On Linux the kernel's high-water mark is reset on entry (``clear_refs``) and read on
    exit, so the peak is the block's own. Elsewhere it falls back to ``ru_maxrss``, the
    peak over the process's life (``method`` says which was used).

    Attributes (after exit): ``peak_mb``, ``start_mb``, ``method``.
    """

    def __enter__(self) -> PeakMemory:
        self.method = "rusage-lifetime"
        try:
            _CLEAR_REFS.write_text("5")
            self.method = "vmhwm"
        except OSError:
            pass
        self.start_mb = (_status_kib("VmRSS") or 0) / 1024
        self.peak_mb = float("nan")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.method == "vmhwm":
            self.peak_mb = (_status_kib("VmHWM") or 0) / 1024
        else:
            scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
            self.peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20
