"""Where the deep detectors' compiled XLA programs live and how they are compiled: the
in-process program cache (:data:`PROGRAMS`), JAX's persistent compilation cache between
processes, and the XLA options per backend (:data:`COMPILER_OPTIONS`)."""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import jax

from anobench import settings

__all__ = [
    "COMPILER_OPTIONS",
    "PROGRAMS",
    "ProgramCache",
    "clear_cache",
    "compiler_options",
    "enable_persistent_cache",
    "options_key",
]

logger = logging.getLogger(__name__)


class ProgramCache:
    """Compiled programs by key, at most ``size`` of them (least recently used dropped
    first), safe to use from several threads."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._programs: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.RLock()

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """The program under ``key``, built (once, under the lock) when missing."""
        with self._lock:
            program = self._programs.get(key)
            if program is None:
                program = build()
                self._programs[key] = program
                while len(self._programs) > self.size:
                    self._programs.popitem(last=False)
            else:
                self._programs.move_to_end(key)
            return program

    def __len__(self) -> int:
        return len(self._programs)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._programs

    def clear(self) -> None:
        with self._lock:
            self._programs.clear()


#: XLA options per backend (``jax.default_backend()``) for every deep program: on CPU,
#: LLVM's optimisation level 1 instead of 2 compiles 20-30% faster at the same training
#: speed (measured per model by ``anobench perf compile``; level 0 trains 3-30x slower).
#: No options on GPU/TPU, where nothing was measured.
COMPILER_OPTIONS: dict[str, dict[str, Any]] = {"cpu": {"xla_backend_optimization_level": 1}}


def compiler_options() -> dict[str, Any] | None:
    """The :data:`COMPILER_OPTIONS` of the default backend (None: XLA's defaults)."""
    return COMPILER_OPTIONS.get(jax.default_backend()) or None


#: the in-process compiled training programs and scorers of every deep detector
PROGRAMS = ProgramCache()


def options_key() -> str:
    """:func:`compiler_options` as a hashable part of a program's cache key."""
    return repr(sorted((compiler_options() or {}).items()))


_CACHE_READY = False


def enable_persistent_cache() -> None:
    """Point JAX's persistent compilation cache at ``<anobench cache>/xla`` (once), unless
    the user configured one (``JAX_COMPILATION_CACHE_DIR``) or set
    ``ANOBENCH_XLA_CACHE=0``."""
    global _CACHE_READY
    if _CACHE_READY:
        return
    _CACHE_READY = True
    if not settings.current().xla_cache:
        return
    if os.environ.get("JAX_COMPILATION_CACHE_DIR") or getattr(
        jax.config, "jax_compilation_cache_dir", None
    ):
        return
    path = settings.current().downloads() / "xla"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        logger.warning("persistent XLA cache disabled: cannot create %s: %s", path, exc)
        return
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)


def clear_cache() -> None:
    """Forget the in-process compiled programs (tests and benchmarks)."""
    PROGRAMS.clear()
