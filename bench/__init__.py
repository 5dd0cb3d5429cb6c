"""anobench: an anomaly-detection benchmark harness.

Detectors and data sets are reached through the registry (entry-point groups
``anobench.detectors`` and ``anobench.datasets``); the core never imports a concrete one.

The Python API (:mod:`anobench.api`), imported on first use so ``import anobench`` stays
light: :func:`evaluate`, :func:`run`, :func:`load_run`, :func:`compare`.
"""

from typing import Any

from anobench.provenance import VERSION

__version__ = VERSION

__all__ = ["__version__", "compare", "evaluate", "load_run", "run"]

_API = {"evaluate", "run", "load_run", "compare"}


def __getattr__(name: str) -> Any:
    if name in _API:
        from anobench import api

        return getattr(api, name)
    raise AttributeError(f"module 'anobench' has no attribute {name!r}")
