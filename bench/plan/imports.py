"""Detectors and data sets named by reference instead of by a registered name.

A suite (or :func:`anobench.evaluate`) may name

- a detector by import path or file: ``ref = "pyod.models.iforest:IForest"``,
  ``"sklearn.ensemble:IsolationForest"`` or ``"path/to/file.py:MyDetector"``; a class that
  is not an anobench detector is wrapped (:mod:`anobench.plan.adapters`); each
  configuration is probed on toy data in the cell before its fit
  (:func:`anobench.plan.orientation.check_orientation`:
  inverted scores are an error, batch-dependent ones are marked);
- a data set by path: ``"file:data/plant.csv"`` (CSV, Parquet, NPZ or ``.mat``, see
  :mod:`anobench.data.files`).

:class:`Overlay` puts such references beside a registry's names, so the suite expansion,
the executors and the report treat them like registered entries. A cell of a reference
carries the reference in its id, with its provider's version or the hash of the ``.py``
files in its file's folder (:func:`file_source_hash`). Relative file paths are resolved against
the suite file's folder (the working directory for built-in suites and the Python API).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import logging
import sys
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anobench.registry import import_ref
from anobench.types import Detector

if TYPE_CHECKING:
    from anobench.data.spec import DatasetSpec

logger = logging.getLogger(__name__)

__all__ = [
    "FILE_PREFIX",
    "BadReferenceError",
    "dataset_spec",
    "detector_class",
    "load_object",
    "provider",
    "rebuild",
    "version_of",
]

#: a data set named by path: ``file:<path>``
FILE_PREFIX = "file:"
#: an object of this process (the Python API's instances and arrays): ``memory:<key>``
MEMORY_PREFIX = "memory:"
_MEMORY: dict[str, Any] = {}
#: per key, how many times it was registered: a class redefined in a notebook is
#: another version, so no per-process cache (orientation probe, adapted class) of the
#: old one is reused for it
_GENERATION: dict[str, int] = {}


def register(obj: Any, key: str) -> str:
    """Make ``obj`` reachable as the reference ``memory:<key>`` in this process only
    (cells referring to it run in-process); registering another object under a key
    replaces it (a class redefined in a notebook) and starts a new version of it."""
    if _MEMORY.get(key) is not obj:
        _GENERATION[key] = _GENERATION.get(key, 0) + 1
    _MEMORY[key] = obj
    return MEMORY_PREFIX + key


class BadReferenceError(ValueError):
    """A reference cannot be imported, does not name a detector or data set, or scores
    in the wrong direction."""


def _split(ref: str) -> tuple[str, str]:
    where, sep, attr = ref.rpartition(":")
    if not sep or not where or not attr:
        raise BadReferenceError(
            f"reference {ref!r} must be 'module:Class' or 'path/to/file.py:Class'"
        )
    return where, attr


def is_file_ref(ref: str) -> bool:
    """True for ``path/to/file.py:Name``."""
    return ":" in ref and ref.rpartition(":")[0].endswith(".py")


def absolute(ref: str, base: Path | None = None) -> str:
    """``ref`` with a file path made absolute (relative to ``base`` or the working
    directory); other references unchanged."""
    if ref.startswith(FILE_PREFIX):
        path = Path(ref[len(FILE_PREFIX) :]).expanduser()
        return FILE_PREFIX + str(((base or Path.cwd()) / path).resolve())
    if is_file_ref(ref):
        where, attr = _split(ref)
        path = ((base or Path.cwd()) / Path(where).expanduser()).resolve()
        return f"{path}:{attr}"
    return ref


def _content_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _load_file_module(path: Path) -> Any:
    """Import a ``.py`` file as a module named after its content (an edited file is a new
    module, so a long-lived process never runs stale code). Modules beside it import as
    usual while it is executed (its folder is on ``sys.path`` for that time only)."""
    if not path.is_file():
        raise BadReferenceError(f"no such file: {path}")
    name = f"anobench_ref_{path.stem}_{_content_digest(path)}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise BadReferenceError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickle look the module up by name
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        del sys.modules[name]
        raise BadReferenceError(f"importing {path} failed: {type(exc).__name__}: {exc}") from exc
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(path.parent))
    return module


def file_source_hash(ref: str) -> str | None:
    """For ``path/file.py:Class``: the sha256 (16 hex digits) of every ``.py`` file in the
    file's folder (the helpers it may import live there), else None."""
    if not is_file_ref(ref):
        return None
    folder = Path(_split(ref)[0]).parent
    digest = hashlib.sha256()
    for file in sorted(folder.glob("*.py")):
        digest.update(file.name.encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def load_object(ref: str) -> Any:
    """The object behind ``module:attr`` or ``/path/file.py:attr`` (``attr`` may be
    dotted); :class:`BadReferenceError` when it cannot be imported."""
    if ref.startswith(MEMORY_PREFIX):
        try:
            return _MEMORY[ref[len(MEMORY_PREFIX) :]]
        except KeyError:
            raise BadReferenceError(
                f"{ref!r} exists only in the process that registered it"
            ) from None
    where, attr = _split(ref)
    if is_file_ref(ref):
        obj = _load_file_module(Path(where))
        for part in attr.split("."):
            try:
                obj = getattr(obj, part)
            except AttributeError:
                raise BadReferenceError(f"{where} has no {attr!r}") from None
        return obj
    try:
        return import_ref(ref)
    except (ImportError, AttributeError) as exc:
        raise BadReferenceError(f"cannot import {ref!r}: {type(exc).__name__}: {exc}") from exc


def version_of(ref: str) -> str:
    """What a cache of ``ref`` must be keyed by besides the reference: the content of a
    file reference, the version of an object registered in this process (:func:`register`);
    nothing for an import path."""
    if is_file_ref(ref):
        path = Path(_split(ref)[0])
        return _content_digest(path) if path.is_file() else "missing"
    if ref.startswith(MEMORY_PREFIX):
        return f"generation {_GENERATION.get(ref[len(MEMORY_PREFIX) :], 0)}"
    try:  # a reloaded module (importlib.reload, a notebook's autoreload) holds a new object
        return f"object {id(load_object(ref))}"
    except BadReferenceError:
        return "unimportable"


def detector_class(ref: str) -> type[Detector]:
    """The detector class behind ``ref``, adapted to anobench's contract when it is a
    PyOD detector or a scikit-learn outlier estimator (cached per process; an edited file
    or a re-registered object gives its new class)."""
    if ref.startswith(MEMORY_PREFIX):
        return _adapt(ref)
    return _cached_class(ref, version_of(ref))


@functools.cache
def _cached_class(ref: str, version: str) -> type[Detector]:
    return _adapt(ref)


def rebuild(reference: str, state: dict[str, Any]) -> Any:
    """An adapted detector from its pickle: its class resolved again, then its state."""
    cls: Any = detector_class(reference)
    obj = cls.__new__(cls)
    obj.__dict__.update(state)
    return obj


def _adapt(ref: str) -> type[Detector]:
    from anobench.plan.adapters import adapt  # imports scikit-learn: only when needed

    obj = load_object(ref)
    try:
        return adapt(obj, ref, rebuild)
    except TypeError as exc:
        raise BadReferenceError(f"{ref!r} is not a detector: {exc}") from None


@functools.cache
def dataset_spec(ref: str, modality: str = "tabular") -> DatasetSpec:
    """The data-set spec behind ``ref``: ``file:<absolute path>`` builds a file data set
    (:func:`anobench.data.files.file_dataset`; ``modality`` is what suites select
    detectors by); ``module:attr`` imports a registered spec."""
    if ref.startswith(FILE_PREFIX):
        from anobench.data.files import file_dataset

        return file_dataset(Path(ref[len(FILE_PREFIX) :]), modality)
    return load_object(ref)


def provider(ref: str) -> str:
    """The distribution that provides ``ref``'s code (``"file"`` for a file)."""
    if is_file_ref(ref) or ref.startswith(FILE_PREFIX):
        return "file"
    if ref.startswith(MEMORY_PREFIX):
        module = getattr(load_object(ref), "__module__", None) or "local"
        top = module.split(".")[0]
        return (packages_distributions().get(top) or ["local"])[0]
    top = ref.split(":")[0].split(".")[0]
    return (packages_distributions().get(top) or [top])[0]

