"""Data sets from the user's own files, named ``file:<path>`` in a suite or the Python API.

Formats, by extension: CSV (``.csv``, ``.tsv``, ``.txt``, gzip-compressed too), Parquet
(``.parquet``, ``.pq``), NumPy ``.npz`` and MATLAB ``.mat`` (v5 or v7.3). Loader
parameters (set beside the name in a suite, e.g. ``[datasets."file:plant.csv"]``):

``label``
    The label column (tables) or array name (``.npz``/``.mat``, default ``"y"``).
``anomaly_values``
    The label values that mean "anomaly" (e.g. ``["fault"]``); every other value is
    normal. Without it the labels must be 0/1 or booleans.
``features``
    Table columns to use (default: all but the label and time columns), or the array
    name of ``X`` in ``.npz``/``.mat`` files (default ``"X"``).
``nan``
    ``"error"`` (default: a missing value is an error naming its column), ``"drop"``
    (rows with a missing value are dropped) or ``"impute"`` (median for numbers, the most
    frequent value for categories, both fitted on the training part of each split only).
``max_categories``
    The most distinct values a text column may have (default 100): an id or a date column
    would become thousands of one-hot columns, so more is an error naming the column
    (leave it out with ``features``).
``time_column``
    Makes the file a time series: rows are sorted by this column, cut into windows of
    ``window`` points with step ``stride``, and the first ``train_fraction`` of the
    series is the training region (:func:`anobench.data.windows.windowed`).

Text columns (and booleans in a table with numbers) are categorical: they are one-hot
encoded, with the encoder fitted on the training part of each split only. Infinite values
are always an error. The fingerprint of such a data set is the file's sha256 with the
loader parameters, so editing the file reruns its cells.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from anobench.data.io import DataMissingError, file_hash
from anobench.data.readers import FORMATS, file_format, read_arrays, read_table
from anobench.data.spec import Data, DatasetSpec
from anobench.data.windows import windowed

__all__ = ["FORMATS", "FileDatasetSpec", "file_dataset", "load_file"]


#: loader parameters and their defaults
PARAMS: dict[str, Any] = {
    "label": None,
    "anomaly_values": None,
    "features": None,
    "nan": "error",
    "time_column": None,
    "window": 32,
    "stride": 1,
    "train_fraction": 0.5,
    "max_categories": 100,
}

#: beyond this magnitude, standardising a column overflows float64 (x**2 > 1e308)
MAX_MAGNITUDE = 1e150

NAN_POLICIES = ("error", "drop", "impute")


def _labels(values: np.ndarray, anomaly_values: Sequence[Any] | None, where: str) -> np.ndarray:
    values = np.asarray(values).ravel()
    if pd.isna(values).any():
        raise ValueError(f"{where} has {int(pd.isna(values).sum())} missing labels")
    if anomaly_values is not None:
        if not isinstance(anomaly_values, list | tuple) or not anomaly_values:
            raise ValueError("anomaly_values must be a non-empty list of label values")
        wanted = {str(v) for v in anomaly_values}
        seen = {str(v) for v in np.unique(values.astype(str))}
        if not wanted & seen:
            raise ValueError(
                f"{where}: none of anomaly_values {sorted(wanted)} occurs; its values are "
                f"{sorted(seen)[:10]}"
            )
        return np.isin(values.astype(str), list(wanted)).astype(np.int64)
    if values.dtype == bool:
        return values.astype(np.int64)
    distinct = set(np.unique(values).tolist())
    if not distinct <= {0, 1}:
        shown = sorted(map(str, distinct))[:10]
        raise ValueError(
            f"{where} holds {shown}: labels must be 0 (normal) / 1 (anomaly), or say which "
            "values mean anomaly with anomaly_values = [...]"
        )
    return values.astype(np.int64)


def _nan_error(columns: list[str], counts: list[int]) -> ValueError:
    shown = ", ".join(f"{c!r} ({n})" for c, n in zip(columns, counts, strict=True))
    return ValueError(
        f"missing values in column(s) {shown}; set nan = 'drop' (drop those rows) or "
        "nan = 'impute' (fitted on the training part)"
    )


def _table_data(frame: pd.DataFrame, params: dict[str, Any], path: Path) -> Data:
    label, time_column = params["label"], params["time_column"]
    if label is None or label not in frame.columns:
        what = "no label column given" if label is None else f"no column {label!r}"
        raise ValueError(
            f"{path.name}: {what}; set label = one of {list(map(str, frame.columns))[:20]}"
        )
    if time_column is not None and time_column not in frame.columns:
        raise ValueError(f"{path.name}: no time column {time_column!r}")
    if time_column is not None:
        frame = frame.sort_values(time_column, kind="stable").reset_index(drop=True)
    features = params["features"]
    if features is None:
        features = [c for c in frame.columns if c not in (label, time_column)]
    if label in features or (time_column is not None and time_column in features):
        raise ValueError(
            f"{path.name}: features name the {'label' if label in features else 'time'} "
            f"column {label if label in features else time_column!r}: a model would train on "
            "it; leave it out of features"
        )
    missing = [c for c in features if c not in frame.columns]
    if missing or not features:
        raise ValueError(f"{path.name}: no feature column(s) {missing or '(none left)'}")
    X = frame[features]
    y = _labels(frame[label].to_numpy(), params["anomaly_values"], f"label column {label!r}")
    nan = params["nan"]
    counts = X.isna().sum()
    if counts.any():
        bad = [str(c) for c in counts.index[counts > 0]]
        if nan == "error":
            raise _nan_error(bad, [int(counts[c]) for c in counts.index[counts > 0]])
        if nan == "drop" or time_column is not None:
            if nan == "impute":
                raise ValueError("nan = 'impute' is not supported with a time column; use 'drop'")
            keep = ~X.isna().any(axis=1).to_numpy()
            X, y = X[keep], y[keep]
    categorical = [
        i
        for i, c in enumerate(X.columns)
        if not pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c])
    ]
    for i in categorical:
        distinct = X.iloc[:, i].nunique()
        if distinct > int(params["max_categories"]):
            raise ValueError(
                f"{path.name}: text column {str(X.columns[i])!r} has {distinct} distinct "
                f"values (more than max_categories = {params['max_categories']}; an id or a "
                "date?): leave it out with features = [...], or raise max_categories"
            )
    columns = []
    for i, c in enumerate(X.columns):
        col = X[c]
        if i in categorical:  # integer codes of a sorted vocabulary; NaN stays NaN
            codes = pd.Categorical(col.astype("string")).codes.astype(np.float64)
            columns.append(np.where(col.isna().to_numpy(), np.nan, codes))
        else:
            columns.append(col.to_numpy(dtype=np.float64))
    values = np.column_stack(columns)
    if np.isinf(values).any():
        bad = [str(X.columns[j]) for j in np.flatnonzero(np.isinf(values).any(axis=0))]
        raise ValueError(f"{path.name}: infinite values in column(s) {bad}")
    huge = np.abs(np.nan_to_num(values)) > MAX_MAGNITUDE
    if huge.any():
        bad = [str(X.columns[j]) for j in np.flatnonzero(huge.any(axis=0))]
        raise ValueError(
            f"{path.name}: values beyond {MAX_MAGNITUDE:.0e} in column(s) {bad} overflow "
            "float64 arithmetic (standardising squares them); rescale them"
        )
    if time_column is not None:
        if categorical:
            raise ValueError(
                f"{path.name}: a time series takes numeric columns only; "
                f"{[str(X.columns[i]) for i in categorical]} are text"
            )
        series = values[:, 0] if values.shape[1] == 1 else values
        train_end = round(float(params["train_fraction"]) * len(series))
        return windowed(series, y, train_end, int(params["window"]), int(params["stride"]))
    return Data(values, y)


def _array_data(arrays: dict[str, np.ndarray], params: dict[str, Any], path: Path) -> Data:
    x_key, y_key = params["features"] or "X", params["label"] or "y"
    for key in (x_key, y_key):
        if key not in arrays:
            raise ValueError(f"{path.name} has no array {key!r}; it holds {sorted(arrays)}")
    X = np.asarray(arrays[x_key])
    if X.dtype.kind not in "fiub":
        raise ValueError(f"{path.name}: array {x_key!r} is not numeric ({X.dtype})")
    X = X.astype(np.float64)
    y = _labels(arrays[y_key], params["anomaly_values"], f"array {y_key!r}")
    if X.ndim < 2 or len(X) != len(y):
        raise ValueError(f"{path.name}: {x_key} {X.shape} and {y_key} {y.shape} do not match")
    if np.isinf(X).any():
        raise ValueError(f"{path.name}: {x_key} holds infinite values")
    if (np.abs(np.nan_to_num(X)) > MAX_MAGNITUDE).any():
        raise ValueError(
            f"{path.name}: {x_key} holds values beyond {MAX_MAGNITUDE:.0e}, which overflow "
            "float64 arithmetic; rescale them"
        )
    nans = np.isnan(X).reshape(len(X), -1)
    if nans.any():
        if params["nan"] == "error":
            cols = np.flatnonzero(nans.any(axis=0))
            raise _nan_error([f"{x_key}[:, {c}]" for c in cols[:5]], nans.sum(0)[cols[:5]].tolist())
        if params["nan"] == "drop":
            keep = ~nans.any(axis=1)
            X, y = X[keep], y[keep]
    return Data(X, y)


def load_file(path: Path | str, **params: Any) -> Data:
    """Read a data file into a :class:`Data` (see the module docstring for ``params``).

    Raises
    ------
    DataMissingError
        No such file. DataFileError: unreadable or of an unknown type.
    ValueError
        A missing label column or array, labels that are not 0/1 without
        ``anomaly_values``, missing values with ``nan = "error"`` (naming the columns),
        infinite values.
    """
    path = Path(path)
    params = {**PARAMS, **params}
    if params["nan"] not in NAN_POLICIES:
        raise ValueError(f"nan must be one of {', '.join(NAN_POLICIES)}, got {params['nan']!r}")
    if not path.is_file():
        raise DataMissingError(f"data file {path} does not exist")
    kind = file_format(path)
    if kind in ("npz", "mat"):
        return _array_data(read_arrays(path, kind), params, path)
    return _table_data(read_table(path, kind), params, path)


def _encoder(categorical: tuple[int, ...], impute: bool) -> Any:
    """One-hot encoding of the categorical columns (and imputation), fitted on the
    training part only."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    one_hot = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    cat = make_pipeline(SimpleImputer(strategy="most_frequent"), one_hot) if impute else one_hot
    num = SimpleImputer(strategy="median", keep_empty_features=True) if impute else "passthrough"
    return ColumnTransformer(
        [("categorical", cat, list(categorical))],
        remainder=num,
    )


@dataclass(frozen=True)
class FileDatasetSpec(DatasetSpec):
    """A :class:`DatasetSpec` reading one local file; its fingerprint is the file's
    sha256, the loader's code and the loader parameters."""

    path: Path = Path()
    #: loader parameters whose value is a list, not a grid of alternatives, in a suite
    list_params: ClassVar[tuple[str, ...]] = ("anomaly_values", "features")

    def _identity(self, resolved: dict[str, Any]) -> tuple[dict[str, str], str]:
        if not self.path.is_file():
            raise DataMissingError(f"data file {self.path} does not exist")
        digest = file_hash(self.path)
        parts = [f"sha256:{digest}", *self._code_identity()]
        return {self.path.name: digest}, self._fingerprint(parts, resolved)

    def fingerprint(self, params: Any = None) -> str:
        return self._identity(self.resolve_params(params))[1]

    def fetch(self, *, download: bool = True) -> dict[str, str]:
        return self._identity({})[0]

    def load_verified(self, params: Any = None) -> tuple[Data, dict[str, Any]]:
        resolved = self.resolve_params(params)
        files, fingerprint = self._identity(resolved)
        data = self.load_data(resolved)
        return data, {"files": files, "data_fingerprint": fingerprint}

    def load_data(self, params: Any = None) -> Data:
        return load_file(self.path, **self.resolve_params(params))

    def transform_for(self, params: Any = None) -> Any:
        """The train-only encoder the split needs: one-hot for text columns, imputation
        for ``nan = "impute"``; None when neither applies."""
        resolved = self.resolve_params(params)
        if file_format(self.path) in ("npz", "mat") or resolved["time_column"] is not None:
            impute = resolved["nan"] == "impute"
            return functools.partial(_encoder, (), True) if impute else None
        frame = read_table(self.path, file_format(self.path))
        label, features = resolved["label"], resolved["features"]
        columns = features or [c for c in frame.columns if c != label]
        categorical = tuple(
            i
            for i, c in enumerate(columns)
            if c in frame.columns
            and (
                not pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c])
            )
        )
        impute = resolved["nan"] == "impute"
        if not categorical and not impute:
            return None
        return functools.partial(_encoder, categorical, impute)


def file_dataset(path: Path, modality: str = "tabular") -> FileDatasetSpec:
    """The data set of one file (``path`` absolute), named after the file."""
    return FileDatasetSpec(
        name=path.name,
        modality=modality,
        load=load_file,
        description=f"local file {path}",
        params=dict(PARAMS),
        path=path,
    )
