"""PyOD detectors that need PyTorch (the ``torch`` extra: ``pip install anobench[torch]``).

The module imports ``torch`` first, so without it the registry lists these detectors as
unavailable with the import error, and their cells are recorded as skipped.
"""

from __future__ import annotations

import torch  # noqa: F401  (unavailable without the torch extra, by design)

from anobench.detectors.pyod_zoo import PyODDetector

__all__ = ["DeepSVDD"]


class DeepSVDD(PyODDetector):
    """PyOD's DeepSVDD (PyTorch, PyOD's defaults; ``n_features`` is taken from the data).
    ADBench's column "DeepSVDD" was PyOD 1.0's implementation, which PyOD has since
    rewritten, so this reproduces the method, not ADBench's numbers."""

    name = "pyod-deepsvdd"
    family = "deep"
    pyod_model = "pyod.models.deep_svdd:DeepSVDD"
    requires = ("numpy", "scikit-learn", "pyod", "torch")
