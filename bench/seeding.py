"""Seed derivation by hashing, so every cell's randomness is fixed by its content."""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["canonical_json", "derive_seed", "stable_hash"]


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace: the same object always gives the same text."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def stable_hash(obj: Any) -> str:
    """Hex sha256 of ``canonical_json(obj)``."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()


def derive_seed(base_seed: int, *parts: Any) -> int:
    """A 32-bit seed derived from ``base_seed`` and any JSON-able parts.

    Independent of ``PYTHONHASHSEED``, the platform and the process, e.g.
    ``derive_seed(0, "bumps")`` is the same everywhere.
    """
    digest = hashlib.sha256(canonical_json([int(base_seed), *parts]).encode()).digest()
    return int.from_bytes(digest[:4], "little")
