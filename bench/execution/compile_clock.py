"""The time a process spends compiling JAX programs, whoever compiles them.

JAX reports each tracing, lowering and backend compilation (a compilation served by the
persistent cache included) through :mod:`jax.monitoring`. :func:`install` adds one
listener that sums those durations; :func:`seconds` reads the sum. The runner takes the
difference over a cell, so a cell's ``compile_seconds`` covers its fit, its scoring and
its threshold calibration, for the built-in deep detectors and any plugin using JAX.
Importing this module does not import JAX; :func:`install` is called by code that is
about to use JAX (the deep detectors' warm-up).
"""

from __future__ import annotations

import threading

__all__ = ["EVENTS", "compiles", "install", "installed", "seconds"]

#: the JAX events whose durations count as compilation
EVENTS = (
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",
)

#: the event of one XLA compilation (counted by :func:`compiles`)
BACKEND_COMPILE = "/jax/core/compile/backend_compile_duration"

_lock = threading.Lock()
_total = 0.0
_count = 0
_installed = False


def _listener(event: str, duration_secs: float, **_: str | int) -> None:
    global _total, _count
    if event in EVENTS:
        with _lock:
            _total += duration_secs
            _count += event == BACKEND_COMPILE


def install() -> None:
    """Start summing compile durations in this process (once; later calls do nothing)."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    from jax import monitoring

    monitoring.register_event_duration_secs_listener(_listener)


def installed() -> bool:
    """Whether this process is summing compile durations."""
    return _installed


def seconds() -> float:
    """Seconds of tracing, lowering and compilation since :func:`install`."""
    return _total


def compiles() -> int:
    """XLA compilations (one per program, a persistent-cache hit included) since
    :func:`install`."""
    return _count
