"""Inside a worker process: what runs around each cell so cells cannot affect each other.

A worker is reused across cells only while it stays clean. Before each cell the
process-wide state a detector may change is put back to the worker's starting state
(NumPy's floating-point error mode and global RNG, Python's ``random``, environment
variables, working directory, umask, ``sys.path``, signal handlers, native thread-pool
limits). After each cell every process the cell started is killed (the worker is a
child subreaper on Linux, so even daemonised grandchildren are found), and a worker in
which the cell left a Python thread running is retired: it exits after sending the
record and the executor starts a fresh one. ``ANOBENCH_FRESH_WORKERS=1`` retires every
worker after one cell instead (a fresh process per cell; see ``anobench perf`` figures
in the issue notes for what that costs).

The cell's own stdout and stderr (file descriptors 1 and 2, so native code is captured
too) go to a temporary file; the record keeps the first and last
:data:`OUTPUT_KEEP` characters and the total size, and nothing reaches the terminal.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import random
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from anobench.record import CellResult
from anobench.types import Cell, Status

__all__ = [
    "OUTPUT_KEEP",
    "CapturedOutput",
    "ProcessState",
    "become_worker",
    "descendants",
    "kill_processes",
    "run_isolated",
]

logger = logging.getLogger(__name__)

#: characters of a cell's captured output kept in its record (half from the start, half
#: from the end)
OUTPUT_KEEP = 8000

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_SIGNALS = tuple(
    s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGALRM", None)) if s is not None
)


def _prctl(option: int, value: int) -> bool:
    """Linux ``prctl``; False where unavailable."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(option, value, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def become_worker() -> None:
    """Make this process a cell worker: its own process group (so the executor can kill
    the cell's whole tree, and the user's Ctrl-C reaches only the runner), killed when
    the runner dies, the reaper of its orphaned descendants, and deaf to SIGINT (an
    interrupt is the runner's to handle; a ``KeyboardInterrupt`` inside a worker comes
    from detector code and becomes that cell's record)."""
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def descendants(pid: int) -> list[Any]:
    """Every live descendant of ``pid`` (psutil processes); ``[]`` if it is gone."""
    import psutil

    try:
        return list(psutil.Process(pid).children(recursive=True))
    except psutil.Error:
        return []


def kill_processes(processes: list[Any]) -> int:
    """SIGKILL ``processes`` (psutil) and reap them; returns how many were alive."""
    import psutil

    killed = 0
    for proc in processes:
        with contextlib.suppress(psutil.Error):
            proc.kill()
            killed += 1
    psutil.wait_procs(processes, timeout=2)
    return killed


@dataclass
class ProcessState:
    """The process-wide state a cell may change, as it was when the worker started."""

    np_err: dict[str, Any] = field(default_factory=lambda: dict(np.geterr()))
    np_rng: Any = field(default_factory=np.random.get_state)
    py_rng: Any = field(default_factory=random.getstate)
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    cwd: str = field(default_factory=os.getcwd)
    sys_path: list[str] = field(default_factory=lambda: list(sys.path))
    umask: int = field(default_factory=lambda: _read_umask())
    signals: dict[int, Any] = field(
        default_factory=lambda: {s: signal.getsignal(s) for s in _SIGNALS}
    )
    threads: set[int] = field(default_factory=lambda: {t.ident or 0 for t in threading.enumerate()})
    thread_limit: int | None = None

    def restore(self) -> list[str]:
        """Put everything back; returns the names of what had changed."""
        changed = []
        if np.geterr() != self.np_err:
            np.seterr(**self.np_err)
            changed.append("numpy error mode")
        np.random.set_state(self.np_rng)
        random.setstate(self.py_rng)
        if dict(os.environ) != self.environ:
            os.environ.clear()
            os.environ.update(self.environ)
            changed.append("environment variables")
        with contextlib.suppress(OSError):
            if os.getcwd() != self.cwd:
                os.chdir(self.cwd)
                changed.append("working directory")
        if sys.path != self.sys_path:
            sys.path[:] = self.sys_path
            changed.append("sys.path")
        if os.umask(self.umask) != self.umask:
            changed.append("umask")
        for sig, handler in self.signals.items():
            if signal.getsignal(sig) != handler and handler is not None:
                signal.signal(sig, handler)
                changed.append(f"{signal.Signals(sig).name} handler")
        if self.thread_limit is not None:
            from threadpoolctl import threadpool_limits

            threadpool_limits(limits=self.thread_limit)
        return changed

    def leaked_threads(self) -> list[str]:
        """Names of Python threads started since the snapshot and still alive."""
        return [
            t.name for t in threading.enumerate() if t.ident not in self.threads and t.is_alive()
        ]


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class CapturedOutput:
    """File descriptors 1 and 2 redirected to a temporary file inside a ``with`` block;
    :meth:`summary` gives the record's ``output`` entry afterwards (None if nothing was
    written)."""

    def __enter__(self) -> CapturedOutput:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        self._file = tempfile.TemporaryFile()
        self._saved = [os.dup(1), os.dup(2)]
        os.dup2(self._file.fileno(), 1)
        os.dup2(self._file.fileno(), 2)
        return self

    def __exit__(self, *exc: object) -> None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os.dup2(self._saved[0], 1)
        os.dup2(self._saved[1], 2)
        for fd in self._saved:
            os.close(fd)

    def summary(self) -> dict[str, Any] | None:
        """``{"bytes": total, "text": head [... N bytes omitted ...] tail}``."""
        size = os.fstat(self._file.fileno()).st_size
        try:
            if size == 0:
                return None
            half = OUTPUT_KEEP // 2
            self._file.seek(0)
            if size <= OUTPUT_KEEP:
                text = self._file.read().decode("utf-8", "replace")
            else:
                head = self._file.read(half).decode("utf-8", "replace")
                self._file.seek(size - half)
                tail = self._file.read().decode("utf-8", "replace")
                text = f"{head}\n[... {size - 2 * half} bytes omitted ...]\n{tail}"
            return {"bytes": size, "text": text}
        finally:
            self._file.close()


def run_isolated(
    cell: Cell,
    fn: Callable[[Cell], CellResult],
    failure: Callable[[Cell, Status, str], CellResult],
    state: ProcessState,
) -> tuple[CellResult, str | None]:
    """Run ``fn(cell)`` in this worker with clean state; returns the record and, when
    the worker must not be reused, why.

    Any exception that escapes ``fn`` (``SystemExit``, ``KeyboardInterrupt`` raised by
    detector code) becomes an ``error`` record. The record gains ``output`` (captured
    stdout/stderr) and ``isolation`` (state the cell changed, processes it left behind)
    when there is something to say.
    """
    reset = state.restore()
    with CapturedOutput() as captured:
        try:
            record = fn(cell)
        except BaseException as exc:  # detector code may raise anything
            record = failure(
                cell, Status.ERROR, f"detector code raised {type(exc).__name__}: {exc}"
            )
        if not isinstance(record, CellResult):  # the executor's contract
            record = failure(
                cell, Status.ERROR, f"the cell function returned a {type(record).__name__}, "
                "not a CellResult",
            )  # fmt: skip
    output = captured.summary()
    if output is not None:
        record.output = output
    children = kill_processes(descendants(os.getpid()))
    threads = state.leaked_threads()
    changed = state.restore()
    notes: dict[str, Any] = {}
    if children:
        notes["killed_processes"] = children
    if threads:
        notes["leaked_threads"] = threads[:10]
    if changed:
        notes["state_reset"] = changed
    if reset:  # a previous cell's change that survived (should not happen)
        notes["state_reset_before"] = reset
    if notes:
        record.isolation = notes
        logger.debug("cell %s: %s", getattr(cell, "cell_id", "?"), notes)
    retire = None
    if threads:
        retire = f"left {len(threads)} thread(s) running: {', '.join(threads[:3])}"
    return record, retire
