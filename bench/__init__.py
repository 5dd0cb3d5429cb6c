"""anobench: an anomaly-detection benchmark harness.

One flow, one subpackage per step (``docs/architecture.md`` has the import rules, which
``tests/test_architecture.py`` checks)::

    suite --plan--> cells --execution--> records --results--> tables --report--> files
          (suite,       (driver, executors,  (table, leader-   (model, figures,
           expansion,    one cell, store)     boards, stats,    render: text,
           presets,                           gate, published)  CSV/LaTeX, HTML)
           imports)

beneath them ``data`` (files, splits, the data-set contract), ``metrics`` (per-cell
metrics, thresholds, calibration, series), ``selection`` (rules, criteria), ``contract``
(:class:`~anobench.contract.BaseDetector`) and the base modules (``types``, ``record``,
``registry``, ``settings``, ``seeding``, ``provenance``, ``errors``, ``paths``,
``spawning``).

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


def __dir__() -> list[str]:
    """The public names, for ``dir(anobench)`` and tab completion."""
    return sorted(__all__)


def __getattr__(name: str) -> Any:
    if name in _API:
        from anobench import api

        return getattr(api, name)
    raise AttributeError(f"module 'anobench' has no attribute {name!r}")
