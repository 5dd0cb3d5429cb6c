"""Detectors and data sets named by reference instead of by a registered name.

A suite (or :func:`anobench.evaluate`) may name

- a detector by import path or file: ``ref = "pyod.models.iforest:IForest"``,
  ``"sklearn.ensemble:IsolationForest"`` or ``"path/to/file.py:MyDetector"``; a class that
  is not an anobench detector is wrapped (:mod:`anobench.detectors.adapters`) and its
  score orientation is checked on toy data at first use (:func:`check_orientation`);
- a data set by path: ``"file:data/plant.csv"`` (CSV, Parquet, NPZ or ``.mat``, see
  :mod:`anobench.datasets.files`).

:class:`Overlay` puts such references beside a registry's names, so the suite expansion,
the executors and the report treat them like registered entries. A cell of a reference
carries the reference in its id, with its provider's version or the file's sha256
(:func:`anobench.provenance.code_identity`). Relative file paths are resolved against
the suite file's folder (the working directory for built-in suites and the Python API).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
import sys
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import Any

from anobench.registry import Entry, Registry, UnavailableError, import_ref

logger = logging.getLogger(__name__)

__all__ = [
    "FILE_PREFIX",
    "BadReferenceError",
    "Overlay",
    "check_orientation",
    "dataset_spec",
    "detector_class",
    "load_object",
    "provider",
]

#: a data set named by path: ``file:<path>``
FILE_PREFIX = "file:"
#: an object of this process (the Python API's instances and arrays): ``memory:<key>``
MEMORY_PREFIX = "memory:"
_MEMORY: dict[str, Any] = {}


def register(obj: Any, key: str) -> str:
    """Make ``obj`` reachable as the reference ``memory:<key>`` in this process only
    (cells referring to it run in-process)."""
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


def _load_file_module(path: Path) -> Any:
    if not path.is_file():
        raise BadReferenceError(f"no such file: {path}")
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    name = f"anobench_ref_{path.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise BadReferenceError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickle look the module up by name
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        del sys.modules[name]
        raise BadReferenceError(f"importing {path} failed: {type(exc).__name__}: {exc}") from exc
    return module


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


@functools.cache
def detector_class(ref: str) -> type:
    """The detector class behind ``ref``, adapted to anobench's contract when it is a
    PyOD detector or a scikit-learn outlier estimator (cached per process)."""
    from anobench.detectors.adapters import adapt

    obj = load_object(ref)
    try:
        return adapt(obj, ref)
    except TypeError as exc:
        raise BadReferenceError(f"{ref!r} is not a detector: {exc}") from None


@functools.cache
def dataset_spec(ref: str, modality: str = "tabular") -> Any:
    """The data-set spec behind ``ref``: ``file:<absolute path>`` builds a file data set
    (:func:`anobench.datasets.files.file_dataset`; ``modality`` is what suites select
    detectors by); ``module:attr`` imports a registered spec."""
    if ref.startswith(FILE_PREFIX):
        from anobench.datasets.files import file_dataset

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


#: toy-task ROC-AUC below which a reference's scores are taken as inverted
INVERTED_AUC = 0.5


@functools.cache
def _toy_auc(ref: str, params_key: str) -> float:
    import json

    import numpy as np
    from sklearn.metrics import roc_auc_score

    from anobench.testing import toy_for

    cls: Any = detector_class(ref)
    params = json.loads(params_key)
    if "random_state" in cls.param_names():
        params.setdefault("random_state", 0)
    X_train, X_test, y_test = toy_for(cls)
    scores = np.asarray(cls(**params).fit(X_train).anomaly_score(X_test), dtype=float)
    return float(roc_auc_score(y_test, scores))


def check_orientation(name: str, ref: str, params: dict[str, Any]) -> float:
    """Fit ``ref`` with ``params`` on the separable toy task
    (:func:`anobench.testing.toy_data`) and return its ROC-AUC (once per process).

    Raises
    ------
    BadReferenceError
        The AUC is below 0.5: the scores are oriented the wrong way (higher must mean
        more anomalous), or the fit failed.
    """
    import json

    try:
        auc = _toy_auc(ref, json.dumps(params, sort_keys=True, default=str))
    except BadReferenceError:
        raise
    except Exception as exc:
        raise BadReferenceError(
            f"detector {name!r} ({ref}) failed on the toy task: {type(exc).__name__}: {exc}"
        ) from exc
    if auc < INVERTED_AUC:
        raise BadReferenceError(
            f"detector {name!r} ({ref}) scores in the wrong direction: ROC-AUC {auc:.3f} on "
            "the separable toy task, where higher scores must mean MORE anomalous. If it "
            "returns normality scores, expose them as score_samples (negated by the "
            "adapter), or negate them in anomaly_score"
        )
    return auc


class Overlay:
    """A registry with references added under names chosen in a suite.

    Offers the registry methods the suite expansion uses (``names``, ``entry``,
    ``load``, ``availability``). A name given a reference must not also be registered:
    the suite would be ambiguous.
    """

    def __init__(
        self,
        registry: Registry,
        refs: dict[str, str],
        kind: str,
        modality: dict[str, str] | None = None,
    ) -> None:
        self.registry = registry
        self.modality = modality or {}
        self.group = registry.group
        self.refs = refs
        self.kind = kind
        clashes = sorted(set(refs) & set(registry.names()))
        if clashes:
            raise BadReferenceError(
                f"{kind} {clashes[0]!r} is a registered name and also given a reference; "
                "name the reference differently"
            )

    def names(self) -> list[str]:
        return sorted({*self.registry.names(), *self.refs})

    def entry(self, name: str) -> Entry:
        if name in self.refs:
            return Entry(name, self.refs[name], provider(self.refs[name]))
        return self.registry.entry(name)

    def load(self, name: str) -> Any:
        if name not in self.refs:
            return self.registry.load(name)
        ref = self.refs[name]
        try:
            if self.kind == "detector":
                return detector_class(ref)
            return dataset_spec(ref, self.modality.get(name, "tabular"))
        except BadReferenceError:
            raise
        except Exception as exc:  # a file data set that cannot be read
            raise UnavailableError(f"{name!r} ({ref}): {type(exc).__name__}: {exc}") from exc

    def availability(self, name: str) -> str | None:
        try:
            self.load(name)
        except UnavailableError as exc:
            return str(exc)
        return None


def referenced_detectors(tables: dict[str, dict[str, Any]], base: Path | None) -> dict[str, str]:
    """``{name: absolute reference}`` of a suite's ``[detectors.<name>]`` tables that
    carry a ``ref``."""
    refs = {}
    for name, table in tables.items():
        ref = table.get("ref")
        if ref is None:
            continue
        if not isinstance(ref, str):
            raise BadReferenceError(f"detector {name!r}: ref must be a string, got {ref!r}")
        refs[name] = absolute(ref, base)
    return refs


def referenced_datasets(names: list[str], base: Path | None) -> dict[str, str]:
    """``{name: absolute file: reference}`` of a suite's ``file:`` data sets."""
    return {name: absolute(name, base) for name in names if name.startswith(FILE_PREFIX)}


def with_references(
    detectors: Any,
    datasets: Any,
    detector_tables: dict[str, dict[str, Any]],
    dataset_options: dict[str, dict[str, Any]],
    base: Path | None,
) -> tuple[Any, Any]:
    """The registries with a suite's references added (:class:`Overlay`); registries
    already overlaid, or a suite with no references, are returned unchanged."""
    if not isinstance(detectors, Overlay):
        refs = referenced_detectors(detector_tables, base)
        if refs:
            detectors = Overlay(detectors, refs, "detector")
    if not isinstance(datasets, Overlay):
        refs = referenced_datasets(list(dataset_options), base)
        if refs:
            modality = {
                name: "series" if dataset_options[name].get("time_column") else "tabular"
                for name in refs
            }
            datasets = Overlay(datasets, refs, "dataset", modality)
    return detectors, datasets
