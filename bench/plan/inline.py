"""Objects given in Python (a detector class or instance, arrays, a data-set spec) turned
into the suite entries and references the rest of the harness runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from anobench.plan.imports import FILE_PREFIX
from anobench.registry import dataset_registry, detector_registry

__all__ = ["changed_params", "dataset_entry", "detector_entry", "label_array"]


def changed_params(detector: Any) -> dict[str, Any]:
    """The constructor parameters of an instance that differ from their defaults (a
    suite names only those, so the cell equals the command line's)."""
    import inspect

    if not callable(getattr(detector, "get_params", None)):
        raise TypeError(
            f"{type(detector).__name__} has no get_params (not a scikit-learn-style "
            "estimator); name its class by reference instead ('module:Class')"
        )
    params = detector.get_params(deep=False)
    signature = inspect.signature(type(detector).__init__)
    out = {}
    for key, value in params.items():
        default = signature.parameters[key].default if key in signature.parameters else None
        try:
            same = not isinstance(value, np.ndarray) and bool(value == default)
        except Exception:
            same = False
        if not same:
            if isinstance(value, np.generic):  # np.int64(50) from a loop over np.arange
                value = value.item()
            try:  # a cell's parameters are recorded as JSON: refuse before any work
                json.dumps(value, allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise TypeError(
                    f"{type(detector).__name__}(... {key}={value!r:.60}): a cell's parameters "
                    f"are recorded as JSON, and {type(value).__name__} cannot be ({exc}); pass "
                    "a plain value (a seed instead of a RandomState, a list instead of an "
                    "array)"
                ) from None
            out[key] = value
    return out


def detector_entry(
    detector: Any, params: dict[str, Any] | None, name: str | None
) -> tuple[str, dict[str, Any]]:
    """(name, suite table) for a registry id, a reference or an instance; a reference
    goes in the table's ``ref``, as in a suite."""
    from anobench.plan.imports import register
    from anobench.registry import import_ref

    params = dict(params or {})
    registry = detector_registry()
    if isinstance(detector, str):
        if detector in registry.names() or ":" not in detector:
            return name or detector, params  # an unknown name is reported with suggestions
        return name or detector, {"ref": detector, **params}
    if isinstance(detector, type):
        raise TypeError(
            f"pass an instance ({detector.__name__}()), a registry id or a 'module:Class' "
            "reference, not a class"
        )
    if not callable(getattr(detector, "fit", None)):
        raise TypeError(f"{detector!r:.80} is not a detector (no fit method)")
    cls = type(detector)
    table = {**changed_params(detector), **params}
    qualified = f"{cls.__module__}:{cls.__qualname__}"
    own = getattr(cls, "name", "")
    if own in registry.names() and registry.entry(own).ref == qualified:
        return name or own, table  # an anobench detector: the command line's cells
    try:
        importable = cls.__module__ != "__main__" and import_ref(qualified) is cls
    except (ImportError, AttributeError):
        importable = False
    # a class of a notebook or script is reached in this process only (run in-process)
    ref = qualified if importable else register(cls, qualified)
    return name or cls.__name__, {"ref": ref, **table}


def label_array(y: Any) -> np.ndarray:
    labels = np.asarray(y).ravel()
    if labels.dtype == bool:
        return labels.astype(np.int64)
    if labels.dtype.kind not in "iuf" or not set(np.unique(labels).tolist()) <= {0, 1}:
        shown = sorted(map(str, np.unique(labels.astype(str))))[:10]
        raise ValueError(f"y must hold 0 (normal) / 1 (anomaly) or booleans; it holds {shown}")
    return labels.astype(np.int64)


def dataset_entry(dataset: Any, name: str | None) -> tuple[str, str | None]:
    """(name, in-memory reference or None) for a registry id, a path, ``(X, y)`` or a
    spec. A path becomes ``file:<path as given>``, the name a suite beside it uses."""
    from anobench.plan.imports import register

    registered = dataset_registry().names()
    if isinstance(dataset, str) and dataset in registered:
        return dataset, None
    if isinstance(dataset, str | Path):
        text = str(dataset)
        path = Path(text[len(FILE_PREFIX) :] if text.startswith(FILE_PREFIX) else text)
        if not path.is_file():
            from anobench.registry import did_you_mean

            raise ValueError(
                f"{text!r} is neither a registered data set nor a file."
                + did_you_mean(text, registered)
            )
        return FILE_PREFIX + str(path), None
    if isinstance(dataset, tuple) and len(dataset) == 2:
        from anobench.data.spec import Data, DatasetSpec, data_digest

        X, y = np.asarray(dataset[0]), np.asarray(dataset[1])
        if X.ndim < 2 or y.ndim != 1 or len(X) != len(y):
            raise ValueError(
                f"dataset (X, y) needs X of shape (n, ...) and y of shape (n,); got "
                f"{X.shape} and {y.shape}"
            )
        if X.dtype.kind not in "fiub":
            raise ValueError(f"X must be numeric, got dtype {X.dtype}")
        label = name or "arrays"
        modality = "image" if X.ndim == 4 else "series" if X.ndim == 3 else "tabular"
        data = Data(X, label_array(y))
        spec = DatasetSpec(name=label, modality=modality, load=lambda: data)
        # keyed by content: other arrays under the same name are another data set
        return label, register(spec, f"dataset:{label}:{data_digest(data)[:16]}")
    if callable(getattr(dataset, "split", None)) and hasattr(dataset, "name"):
        label = name or dataset.name
        return label, register(dataset, f"dataset:{label}:{id(dataset):x}")
    raise TypeError(
        f"dataset must be a registry id, a file path, (X, y) or a DatasetSpec; got "
        f"{type(dataset).__name__}"
    )
