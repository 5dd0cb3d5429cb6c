"""What the built-in detectors and data sets say about themselves, read without importing them.

Listing 40 detectors by importing them costs seconds (scikit-learn, PyOD, JAX). The
catalog ``catalog.json`` ships with the package and holds, per built-in entry point, the
fields ``anobench list`` shows (family, modalities, summary, the distributions it
requires; or a data set's modality, licence and description) and the entry point's
reference. An entry is used only when its reference still matches the installed entry
point, it was declared by anobench itself, and every distribution it requires is
installed; anything else (third-party plugins, a missing extra) is imported as before.

``python -m anobench.cli.catalog`` rewrites the file from the classes (``make catalog``);
``tests/cli/test_everyday.py`` fails when it no longer matches them.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any

__all__ = ["CATALOG_FILE", "GROUPS", "build", "describe", "lookup", "main"]

logger = logging.getLogger(__name__)

CATALOG_FILE = Path(__file__).with_name("catalog.json")
GROUPS = ("anobench.detectors", "anobench.datasets")


@functools.cache
def _catalog() -> dict[str, dict[str, dict[str, Any]]]:
    try:
        data = json.loads(CATALOG_FILE.read_text())
    except (OSError, ValueError) as exc:
        logger.debug("no usable catalog %s (%s): listing imports every entry", CATALOG_FILE, exc)
        return {}
    return data if isinstance(data, dict) else {}


@functools.cache
def _installed(dist: str) -> bool:
    try:
        distribution(dist)
    except PackageNotFoundError:
        return False
    return True


def lookup(group: str, name: str, ref: str, declared_by: str) -> dict[str, Any] | None:
    """The catalog's description of ``name`` in ``group``, or ``None`` when it cannot
    vouch for it (not a built-in, reference changed, a required distribution missing)."""
    if declared_by != "anobench":
        return None
    entry = _catalog().get(group, {}).get(name)
    if not entry or entry.get("ref") != ref:
        return None
    if not all(_installed(d) for d in entry.get("requires", ())):
        return None  # let the import report what is missing, with the extra to install
    return entry


def describe(obj: Any, group: str, ref: str) -> dict[str, Any]:
    """The catalog fields of a loaded detector class or data-set spec."""
    if group == "anobench.detectors":
        return {
            "ref": ref,
            "family": obj.family,
            "modalities": list(obj.modalities),
            "summary": obj.summary(),
            "requires": list(getattr(obj, "requires", ())),
        }
    return {
        "ref": ref,
        "modality": str(obj.modality),
        "licence": obj.licence,
        "description": obj.description,
    }


def build(previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """The catalog of every installed built-in entry point, importing each. An entry that
    cannot be imported here (a missing extra) keeps its ``previous`` description."""
    from anobench.registry import Registry

    previous = previous or {}
    data: dict[str, Any] = {}
    for group in GROUPS:
        registry = Registry(group)
        entries: dict[str, Any] = {}
        for name in registry.names():
            entry = registry.entry(name)
            if entry.distribution != "anobench":
                continue
            try:
                entries[name] = describe(registry.load(name), group, entry.ref)
            except ImportError:
                if name in previous.get(group, {}):
                    entries[name] = previous[group][name]
        data[group] = entries
    return data


def main() -> int:
    """Rewrite ``catalog.json`` from the installed built-ins."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    data = build(_catalog())
    CATALOG_FILE.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    counts = ", ".join(f"{len(v)} {k.split('.')[-1]}" for k, v in data.items())
    sys.stderr.write(f"wrote {CATALOG_FILE} ({counts})\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
