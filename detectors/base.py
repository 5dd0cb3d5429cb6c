"""The detector base class lives in the core, :mod:`anobench.contract`; this module keeps
``from anobench.detectors.base import BaseDetector`` (and ``observed_labels``) working for
plugins written before."""

from anobench.contract import BaseDetector, observed_labels

__all__ = ["BaseDetector", "observed_labels"]
