"""The detector base class lives in the core, :mod:`anobench.contract`; this module keeps
``from anobench.detectors.base import BaseDetector`` working for plugins written before."""

from anobench.contract import BaseDetector

__all__ = ["BaseDetector"]
