"""Data files (``anobench.data.io``): where they come from, where they are kept, and checking
them. The core, the data sets and the deep detectors all read files through here.

Each public data set names its :class:`RemoteFile` s: a mirror folder (``source``), the
original file name, canonical URL(s) and a checksum. :func:`locate` finds a file in
this order:

1. the **mirror directory**, when set (``ANOBENCH_DATA_DIR``, or ``--data-dir`` on the
   command line), laid out as ``<mirror>/<source>/<file name>``; a file found there is
   used in place and never downloaded;
2. the **download cache** (``ANOBENCH_CACHE_DIR``, default the platform's user cache
   folder, e.g. ``~/.cache/anobench``), same layout;
3. a **download** with :mod:`pooch` into the cache, unless ``ANOBENCH_OFFLINE=1``.

Every file is checked against its checksum wherever it comes from. A mismatch, a missing
file or a failed download raises a :class:`DataFileError` naming the file and what to
do; nothing is silently re-downloaded in a loop. A file without a published checksum is
"unpinned": it is used, and the sha256 of what was read is still recorded with every
result.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from anobench import settings

__all__ = [
    "CACHE_DIR_ENV",
    "DATA_DIR_ENV",
    "OFFLINE_ENV",
    "DataFileError",
    "DataMissingError",
    "RemoteFile",
    "cache_dir",
    "check_file",
    "data_dir",
    "file_hash",
    "find_local",
    "locate",
    "offline",
    "write_json_atomic",
    "write_npz_atomic",
]

logger = logging.getLogger(__name__)

DATA_DIR_ENV = settings.ENV_VARS["data_dir"]
CACHE_DIR_ENV = settings.ENV_VARS["cache_dir"]
OFFLINE_ENV = settings.ENV_VARS["offline"]


class DataFileError(RuntimeError):
    """A data file is corrupt, has the wrong checksum, or cannot be read."""


class DataMissingError(DataFileError):
    """A data file is neither in the mirror nor in the cache, and cannot be downloaded."""


@dataclass(frozen=True)
class RemoteFile:
    """One public file.

    Parameters
    ----------
    source : mirror sub-folder, e.g. ``"adbench"``.
    name : the original file name, e.g. ``"6_cardio.npz"``.
    urls : canonical location first, then mirrors.
    known_hash : ``"sha256:<hex>"`` or ``"md5:<hex>"``; ``None`` when no checksum is
        published (the file is then "unpinned").
    member : when the URLs point at a zip archive, the file's path inside it (the
        archive is downloaded once into the cache and the member extracted).
    """

    source: str
    name: str
    urls: tuple[str, ...]
    known_hash: str | None = None
    member: str | None = None

    @property
    def relpath(self) -> str:
        """``<source>/<name>``, the path inside a mirror or the cache."""
        return f"{self.source}/{self.name}"


def data_dir() -> Path | None:
    """The local mirror directory (``ANOBENCH_DATA_DIR`` / ``--data-dir``), or ``None``."""
    return settings.current().data_dir


def cache_dir() -> Path:
    """Where downloads are kept (``ANOBENCH_CACHE_DIR`` or the user cache folder)."""
    return settings.current().downloads()


def offline() -> bool:
    """True when ``ANOBENCH_OFFLINE`` forbids downloads."""
    return settings.current().offline


@functools.lru_cache(maxsize=512)
def _digest(path: str, alg: str, size: int, mtime_ns: int) -> str:
    h = hashlib.new(alg)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_hash(path: Path, alg: str = "sha256") -> str:
    """Hex digest of a file (memoised per path, size, modification and inode change
    time: the change time cannot be set back, so an edit with its mtime restored is
    hashed again)."""
    st = path.stat()
    return _digest(str(path), alg, st.st_size, hash((st.st_mtime_ns, st.st_ctime_ns, st.st_ino)))


def check_file(file: RemoteFile, path: Path) -> None:
    """Raise :class:`DataFileError` unless ``path`` matches ``file``'s checksum."""
    if file.known_hash is None:
        return
    alg, _, expected = file.known_hash.partition(":")
    actual = file_hash(path, alg)
    if actual != expected.lower():
        raise DataFileError(
            f"{path}: {alg} is {actual}, expected {expected} for {file.relpath}. The file is "
            "corrupt, truncated or a different version: delete it and copy the original "
            f"from {file.urls[0]} (or run `anobench data fetch` where the internet is "
            "reachable)."
        )


def find_local(file: RemoteFile) -> Path | None:
    """The file's path in the mirror or the cache, or ``None`` (no checksum check)."""
    roots = [d for d in (data_dir(), cache_dir()) if d is not None]
    for root in roots:
        path = root / file.source / file.name
        if path.is_file():
            return path
    return None


def _download(file: RemoteFile) -> Path:
    import pooch

    target = cache_dir() / file.source
    errors = []
    for url in file.urls:
        try:
            logger.info("downloading %s from %s", file.name, url)
            if file.member is None:
                return Path(
                    pooch.retrieve(
                        url,
                        known_hash=file.known_hash,
                        fname=file.name,
                        path=target,
                        progressbar=False,
                    )
                )
            extracted = pooch.retrieve(
                url,
                known_hash=None,
                path=cache_dir() / "archives",
                progressbar=False,
                processor=pooch.Unzip(members=[file.member]),
            )
            target.mkdir(parents=True, exist_ok=True)
            path = target / file.name
            Path(extracted[0]).replace(path)
            check_file(file, path)
            return path
        except DataFileError:
            raise
        except ValueError as exc:  # pooch: checksum of the download does not match
            raise DataFileError(f"{file.relpath} downloaded from {url}: {exc}") from exc
        except Exception as exc:  # network errors of any kind: try the next URL
            errors.append(f"{url}: {type(exc).__name__}: {exc}")
    raise DataMissingError(
        f"{file.relpath} could not be downloaded ({'; '.join(errors)}). Copy it to "
        f"<data dir>/{file.relpath} and set {DATA_DIR_ENV}, or run `anobench data fetch` "
        "where the internet is reachable."
    )


def locate(file: RemoteFile, *, download: bool = True) -> Path:
    """Path of a verified local copy of ``file``: mirror, then cache, then download.

    Raises
    ------
    DataFileError
        A local copy fails its checksum, or a download does.
    DataMissingError
        No local copy, and downloading is off (``download=False`` or
        ``ANOBENCH_OFFLINE=1``) or failed.
    """
    mirror = data_dir()
    if mirror is not None and not mirror.is_dir():
        raise DataMissingError(f"{DATA_DIR_ENV}={mirror} is not a directory")
    path = find_local(file)
    if path is not None:
        check_file(file, path)
        return path
    if not download or offline():
        where = f"{mirror / file.relpath} or " if mirror else ""
        raise DataMissingError(
            f"{file.relpath} is not present (looked in {where}{cache_dir() / file.relpath}) "
            "and downloading is off. Run `anobench data fetch` where the internet is "
            f"reachable, or copy the file from {file.urls[0]}."
        )
    return _download(file)


def _file_mode() -> int:
    """``0o666`` less the process umask: the mode ``open()`` would give a new file."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _json_safe(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by None (JSON has no NaN/Infinity)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    return obj


def _write_atomic(path: Path, mode: str, write: Callable[[IO[Any]], None]) -> None:
    """Write ``path`` atomically: ``write`` fills a temporary file in the same folder,
    which is fsynced and renamed over ``path`` (removed if anything fails)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _file_mode())
        with os.fdopen(fd, mode) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write ``obj`` as strict JSON (NaN and infinities as null) to ``path`` atomically."""
    safe = _json_safe(obj)
    _write_atomic(
        path, "w", lambda fh: json.dump(safe, fh, indent=1, sort_keys=True, allow_nan=False)
    )


def write_npz_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to a compressed ``.npz`` at ``path`` atomically."""
    _write_atomic(path, "wb", lambda fh: np.savez_compressed(fh, **arrays))  # type: ignore[arg-type]
