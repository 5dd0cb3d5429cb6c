"""anobench: an anomaly-detection benchmark harness.

Detectors and data sets are reached through the registry (entry-point groups
``anobench.detectors`` and ``anobench.datasets``); the core never imports a concrete one.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("anobench")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
