"""The data inventory behind ``anobench data``: what each registered data set is, whether
its files are here, how big it is, and whether the local copies are intact.

Sizes need the data loaded once; they are kept in ``<cache dir>/stats.json`` keyed by
the data set's fingerprint, so later listings are instant.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from anobench.data.io import (
    DataFileError,
    RemoteFile,
    cache_dir,
    check_file,
    file_hash,
    find_local,
    write_json_atomic,
)
from anobench.data.splits import copy_groups, duplicate_stats
from anobench.registry import Registry

__all__ = ["FileCheck", "check", "files_of", "presence", "stats"]

logger = logging.getLogger(__name__)


def _stats_path() -> Any:
    return cache_dir() / "stats.json"


def _read_stats() -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(_stats_path().read_text())
        return data
    except (OSError, ValueError):
        return {}


def stats(spec: Any, *, compute: bool = True) -> dict[str, Any] | None:
    """``{"n", "shape", "n_anomalies", "anomaly_ratio", "duplicates"}`` of a data set with
    its default parameters (``duplicates``: :func:`anobench.data.splits.duplicate_stats`), or
    ``None`` when its files are missing or ``compute`` is off and nothing is cached.
    Cached by the data's fingerprint (which reads embedded data and unpinned files), so a
    changed file or generator is measured again; with ``compute`` off only fully pinned
    data sets are looked up."""
    cached = _read_stats()
    if spec.missing_files():
        return None
    # without compute, only data whose fingerprint is free (every file pinned) is looked up
    if not compute and not (spec.files and all(f.known_hash for f in spec.files)):
        return None
    key = spec.fingerprint()
    if key in cached and "duplicates" in cached[key]:
        value: dict[str, Any] = cached[key]
        return value
    if not compute:
        return None
    data = spec.load_data()
    n = len(data.y)
    value = {
        "n": n,
        "shape": list(data.X.shape[1:]),
        "n_anomalies": int(np.sum(data.y)),
        "anomaly_ratio": float(np.mean(data.y)) if n else 0.0,
        "duplicates": duplicate_stats(copy_groups(np.asarray(data.X)), np.asarray(data.y)),
    }
    try:
        cached[key] = value
        write_json_atomic(_stats_path(), cached)
    except OSError as exc:  # a read-only cache only costs speed
        logger.debug("cannot cache data-set stats: %s", exc)
    return value


def presence(spec: Any) -> str:
    """``embedded``, ``local``, or ``missing k/m`` (files without a local copy)."""
    if not spec.files:
        return "embedded"
    missing = spec.missing_files()
    return "local" if not missing else f"missing {len(missing)}/{len(spec.files)}"


@dataclass(frozen=True)
class FileCheck:
    """The state of one local file: ``ok``, ``unpinned``, ``missing`` or ``MISMATCH``."""

    relpath: str
    status: str
    path: str
    detail: str


def check(file: RemoteFile) -> FileCheck:
    """Verify one file's local copy against its checksum (never downloads)."""
    path = find_local(file)
    if path is None:
        return FileCheck(file.relpath, "missing", "", f"canonical: {file.urls[0]}")
    if file.known_hash is None:
        return FileCheck(file.relpath, "unpinned", str(path), f"sha256:{file_hash(path)}")
    try:
        check_file(file, path)
    except DataFileError as exc:
        return FileCheck(file.relpath, "MISMATCH", str(path), str(exc))
    return FileCheck(file.relpath, "ok", str(path), file.known_hash)


def files_of(registry: Registry, names: list[str]) -> dict[str, RemoteFile]:
    """The distinct files of the named data sets (all when ``names`` is empty)."""
    out: dict[str, RemoteFile] = {}
    for name in names or registry.names():
        if registry.availability(name) is not None:
            continue
        for file in getattr(registry.load(name), "files", ()):
            out.setdefault(file.relpath, file)
    return dict(sorted(out.items()))
