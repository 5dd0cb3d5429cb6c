"""On/off switches read from ``ANOBENCH_*`` environment variables."""

from __future__ import annotations

import logging
import os

logger = logging.getLogger(__name__)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_flag(name: str, default: bool) -> bool:
    """The switch ``name``: ``1/true/yes/on`` or ``0/false/no/off`` (any case); unset or
    empty gives ``default``, and any other value is logged and gives ``default``."""
    value = os.environ.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if value:
        known = sorted(_TRUE | _FALSE)
        logger.warning("%s=%r is not one of %s: using %s", name, value, known, default)
    return default
