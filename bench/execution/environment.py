"""What a result was computed on: package versions, Python, platform, CPU, device."""

from __future__ import annotations

import functools
import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any

__all__ = ["environment"]

_PACKAGES = (
    "anobench",
    "numpy",
    "scipy",
    "scikit-learn",
    "pandas",
    "pyod",
    "numba",
    "jax",
    "jaxlib",
    "flax",
    "optax",
)


@functools.cache
def environment() -> dict[str, Any]:
    """Versions and machine facts (cached per process; imports nothing heavy)."""
    packages: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            packages[name] = None
    return {
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "packages": packages,
    }
