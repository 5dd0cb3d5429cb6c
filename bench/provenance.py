"""What code made a result: the distribution and version that provide a detector, a hash
of its source when the version alone cannot name it, and the harness's own
result-affecting code.

A version names code only when it was installed from a built, versioned artefact (a wheel
or sdist from an index). Code installed from a local folder (editable or not), a file, or
an object with no distribution at all can change while its version stays the same, so its
identity also carries the sha256 of its source files. These identities enter every cell
id, so editing a detector, bumping its package or changing the harness's splits,
metrics, thresholds or calibration reruns the cells it affects instead of reusing
stale ones.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import logging
import sys
from importlib.metadata import PackageNotFoundError, distribution, version
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["RESULT_MODULES", "VERSION", "code_identity", "harness_identity", "source_hash"]

try:
    #: anobench's installed version (``anobench.__version__``)
    VERSION = version("anobench")
except PackageNotFoundError:  # running from a source tree that is not installed
    VERSION = "0+unknown"

#: the harness modules whose code can change a cell's numbers
RESULT_MODULES = (
    "anobench.data.splits",
    "anobench.metrics.calibration",
    "anobench.metrics.cell",
    "anobench.metrics.thresholds",
    "anobench.execution.cell",
    "anobench.seeding",
    "anobench.types",  # labelled(): data-set labels enter the derived split seeds
    "anobench.data.spec",
    "anobench.plan.presets",
    "anobench.execution.fitting",
    "anobench.execution.replay",  # a preset split and RNG chain kept per worker
    "anobench.execution.artifacts",  # the scores selection reads
    "anobench.execution.isolation",  # the clean state every cell starts from (RNGs, error modes)
    "anobench.metrics.series",  # point-level metrics of series cells
    "anobench.metrics.points",
    "anobench.metrics.classification",  # the source studies' threshold rules and reports
    "anobench.plan.procedures",  # the published protocols' splits and seeding
    "anobench.plan.adapters",  # how PyOD / scikit-learn classes are scored
    "anobench.contract",  # BaseDetector: scaling and checks of every built-in
    "anobench.data.windows",
    "anobench.data.files",  # a user's file as data
    "anobench.data.readers",
    "anobench.plan.orientation",  # its probe marks batch-dependent references
    "anobench.testing.toys",  # the probe's data
)


def _distribution_info(name: str) -> tuple[str | None, bool]:
    """(version, installed from a local folder?) of an installed distribution;
    ``(None, True)`` when no such distribution is installed."""
    try:
        dist = distribution(name)
    except PackageNotFoundError:
        return None, True
    local = False
    try:
        text = dist.read_text("direct_url.json")
        if text:
            direct = json.loads(text)
            # PEP 610: "dir_info" marks a local folder (editable or built from it)
            local = "dir_info" in direct or str(direct.get("url", "")).startswith("file:")
    except (OSError, ValueError) as exc:
        logger.debug("cannot read direct_url.json of %s: %s", name, exc)
    return dist.version, local


def _hash_files(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(set(files)):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _module_file(name: str) -> Path | None:
    module = sys.modules.get(name)
    if module is None:
        try:
            module = importlib.import_module(name)
        except ImportError:
            return None
    file = getattr(module, "__file__", None)
    return Path(file) if file else None


def _unwrap(obj: Any) -> Any:
    while isinstance(obj, functools.partial):
        obj = obj.func
    return obj


def source_files(obj: Any) -> list[Path]:
    """The source files that define ``obj`` (a class or function): the ``.py`` files of
    its module's folder when the module is part of a package (its helpers live there),
    else its module file alone, plus the modules of its base classes from the same
    top-level package. Partials are unwrapped; an object with no module gives []."""
    obj = _unwrap(obj)
    module_name = getattr(obj, "__module__", None)
    if not module_name:
        return []
    top = module_name.split(".")[0]
    file = _module_file(module_name)
    files: list[Path] = []
    if file is not None:
        in_package = "." in module_name or file.name == "__init__.py"
        files.extend(sorted(file.parent.glob("*.py")) if in_package else [file])
    for base in getattr(obj, "__mro__", ())[1:]:
        if base.__module__.split(".")[0] == top:
            base_file = _module_file(base.__module__)
            if base_file is not None:
                files.append(base_file)
    return files


def source_hash(obj: Any) -> str | None:
    """sha256 (16 hex digits) of :func:`source_files`, or None when there is no source."""
    files = [f for f in source_files(obj) if f.is_file()]
    return _hash_files(files) if files else None


def code_identity(obj: Any, distribution_name: str) -> dict[str, Any]:
    """``{"distribution", "version", "source", "requires"}`` of the code behind ``obj``.

    ``source`` is the hash of its source files, always: a version names the code only
    while nobody edits it in place (an editable or local install, a package changed in
    site-packages or a ``--target`` folder), and hashing a detector's few files is cheap.
    ``requires`` maps each distribution named by ``obj.requires`` (the libraries that
    compute its scores, e.g. PyOD behind a ``pyod-*`` adapter) to its installed version,
    so upgrading one of them reruns the cells.
    """
    version, _ = _distribution_info(distribution_name)
    return {
        "distribution": distribution_name,
        "version": version,
        "source": source_hash(obj),
        "requires": {name: _distribution_info(name)[0] for name in getattr(obj, "requires", ())},
    }


@functools.cache
def harness_identity() -> dict[str, Any]:
    """anobench's version and, for a local install, the hash of :data:`RESULT_MODULES`."""
    version, local = _distribution_info("anobench")
    source = None
    if local:
        files = []
        for name in RESULT_MODULES:
            file = _module_file(name)
            if file is None:  # a result-affecting module that is gone: never hash less
                raise ImportError(f"harness module {name} (provenance.RESULT_MODULES) is missing")
            files.append(file)
        source = _hash_files(files)
    return {"anobench": version, "source": source}
