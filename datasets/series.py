"""Time series cut into sliding windows (:mod:`anobench.data.windows`).

Every series becomes windows ``X`` of shape (n_windows, window) for one channel or
(n_windows, window, channels), with parameters ``window`` and ``stride``. A window is
anomalous when any point in it is. Series are split in time, never at random (windows
overlap, so a random split would put shifted copies of test windows in train): windows
that end inside the training region form the training part, windows that start after
it form the test part, and the few windows straddling the boundary are dropped. The
split is therefore the same for every seed.

Sources and how their training region is defined:

- ``ucr/<id>-<name>``: UCR anomaly archive (KDD Cup 2021). The file name
  ``<id>_UCR_Anomaly_<name>_<train_end>_<begin>_<end>.txt`` gives the anomaly-free
  training prefix and the anomaly, points ``[begin, end)`` counted from 0 (the convention
  of the TimeEval conversion of the same files, which a test checks).
- ``timeeval/<name>``: TimeEval csv files (``timestamp,value,is_anomaly``), a ``_TRAIN``
  file (training region) and a ``_TEST`` file.
- ``series/mitdb``, ``series/yahoo``: short labelled excerpts (``data,label``); the first
  ``train_fraction`` of the series is the training region.
- ``ims-bearing/run-<k>``: NASA/IMS bearing run-to-failure vibration (10-minute means per
  channel). These runs carry no labels; we define them: the final ``failure_fraction``
  of each run (where the bearing degrades to failure) is anomalous, and the first
  ``train_fraction`` is the training region. This is a proxy label, documented as such.
"""

from __future__ import annotations

import functools
import re

import numpy as np
import pandas as pd

from anobench.data.io import DataFileError, RemoteFile, locate
from anobench.data.spec import Catalog, Data, DatasetSpec
from anobench.data.windows import sliding_windows, windowed
from anobench.types import SeriesPoints

__all__ = [
    "EXCERPTS",
    "IMS",
    "TIMEEVAL",
    "UCR",
    "UCR_ZIP",
    "load_timeeval_pair",
    "parse_ucr_name",
    "read_labelled",
    "read_timeeval",
    "read_ucr",
]


def _read_values(path: str) -> np.ndarray:
    try:
        with open(path) as fh:
            values = np.array(fh.read().split(), dtype=np.float64)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{path}: not a file of numbers ({exc})") from exc
    return values


_UCR_NAME = re.compile(r"^(\d+)_UCR_Anomaly_(.+)_(\d+)_(\d+)_(\d+)\.txt$")


def parse_ucr_name(name: str) -> tuple[int, str, int, int, int]:
    """``(id, name, train_end, begin, end)`` from a UCR anomaly-archive file name."""
    match = _UCR_NAME.match(name)
    if not match:
        raise ValueError(f"{name!r} is not a UCR anomaly-archive file name")
    ident, series, *bounds = match.groups()
    return int(ident), series, int(bounds[0]), int(bounds[1]), int(bounds[2])


@functools.lru_cache(maxsize=8)
def read_ucr(file: RemoteFile) -> tuple[np.ndarray, np.ndarray, int]:
    """Values (T,), point labels (T,) and the training-region end of a UCR series."""
    _, _, train_end, begin, end = parse_ucr_name(file.name)
    values = _read_values(str(locate(file)))
    if not begin < end <= len(values):
        raise DataFileError(f"{file.name}: anomaly [{begin}, {end}) outside {len(values)} points")
    labels = np.zeros(len(values), dtype=np.int64)
    labels[begin:end] = 1
    return values, labels, train_end


def read_timeeval(path: str) -> tuple[np.ndarray, np.ndarray]:
    """A TimeEval csv (``timestamp``, value column(s), ``is_anomaly``): values (T,) or
    (T, channels) and labels (T,)."""
    try:
        frame = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{path}: not a readable csv ({exc})") from exc
    if "is_anomaly" not in frame.columns or frame.shape[1] < 3:
        raise DataFileError(f"{path}: expected columns timestamp, value(s), is_anomaly")
    values = frame.iloc[:, 1:-1].to_numpy(dtype=np.float64)
    return values[:, 0] if values.shape[1] == 1 else values, frame["is_anomaly"].to_numpy(np.int64)


def read_labelled(path: str) -> tuple[np.ndarray, np.ndarray]:
    """A ``data,label`` csv: values (T,) and labels (T,)."""
    try:
        frame = pd.read_csv(path)
        return frame["data"].to_numpy(np.float64), frame["label"].to_numpy(np.int64)
    except (OSError, KeyError, ValueError, pd.errors.ParserError) as exc:
        raise DataFileError(f"{path}: expected a csv with columns data,label ({exc})") from exc


# --- UCR anomaly archive --------------------------------------------------------------

UCR_ZIP = (
    "https://www.cs.ucr.edu/~eamonn/time_series_data_2018/UCR_TimeSeriesAnomalyDatasets2021.zip"
)
_UCR_MEMBER = (
    "AnomalyDatasets_2021/UCR_TimeSeriesAnomalyDatasets2021/FilesAreInHere/UCR_Anomaly_FullData/"
)
_UCR_FILES = {
    "135_UCR_Anomaly_InternalBleeding16_1200_4187_4199.txt": "3f4be2dc36bdd730526b091b34fafdff269f1f940f2c3812ee1ab08ab20bec08",  # noqa: E501
    "136_UCR_Anomaly_InternalBleeding17_1600_3198_3309.txt": "ceb7b2ce035266c005f375a5abc466089b9dc6c21aa13be0c1d4975cef9d155d",  # noqa: E501
    "137_UCR_Anomaly_InternalBleeding18_2300_4485_4587.txt": "dd1a59193b818b4ce07a0d47486fd159eb25b7ced1fa317bd9024988cb207645",  # noqa: E501
    "138_UCR_Anomaly_InternalBleeding19_3000_4187_4197.txt": "c324ae454f0bd69a878c191138a9cd1e36a0c17adf5a9d7059d505fc74cc23ee",  # noqa: E501
}
_UCR_CITATION = (
    "Wu & Keogh (2021). Current time series anomaly detection benchmarks are flawed and are "
    "creating the illusion of progress. IEEE TKDE. (UCR anomaly archive, KDD Cup 2021)"
)


def _load_ucr(file: RemoteFile, *, window: int, stride: int) -> Data:
    values, labels, train_end = read_ucr(file)
    return windowed(values, labels, train_end, window, stride)


def _ucr_spec(name: str, sha256: str) -> DatasetSpec:
    ident, series, train_end, begin, end = parse_ucr_name(name)
    file = RemoteFile("timeseries/ucr", name, (UCR_ZIP,), f"sha256:{sha256}", _UCR_MEMBER + name)
    return DatasetSpec(
        name=f"ucr/{ident}-{series.lower()}",
        modality="series",
        load=functools.partial(_load_ucr, file),
        params={"window": 64, "stride": 4},
        description=f"UCR anomaly archive #{ident} {series}: train on points [0, {train_end}), "
        f"one anomaly at [{begin}, {end}); sliding windows.",
        licence="UCR archive (free for research use)",
        citation=_UCR_CITATION,
        files=(file,),
    )


UCR = Catalog({f"s{parse_ucr_name(n)[0]}": _ucr_spec(n, h) for n, h in _UCR_FILES.items()})

# --- TimeEval format ------------------------------------------------------------------

_AEON = "https://raw.githubusercontent.com/aeon-toolkit/aeon/main/aeon/datasets/data/KDD-TSAD_135/"
_KDD_TSAD = {
    "TRAIN": "a531b6f4f556b17c0321d144c3f6b4a7bdf5e8464b2218566181702e77962c2b",
    "TEST": "fe26577b94896943e8205d04d56bf2511fe05c008df535a1ec3826adff3597e2",
}
_TSAD_FILES = tuple(
    RemoteFile(
        "timeseries/KDD-TSAD_135",
        f"135_UCR_Anomaly_InternalBleeding16_{part}.csv",
        (_AEON + f"135_UCR_Anomaly_InternalBleeding16_{part}.csv",),
        f"sha256:{digest}",
    )
    for part, digest in _KDD_TSAD.items()
)


def load_timeeval_pair(train: RemoteFile, test: RemoteFile, *, window: int, stride: int) -> Data:
    """Windows of a TimeEval ``_TRAIN`` file (training part) and ``_TEST`` file (test part).

    TimeEval's ``_TEST`` file is often the whole series, starting with the training
    points; when it starts with exactly the ``_TRAIN`` values, only test windows that
    start after them are used, so no training point is scored as test.
    """
    train_values, train_labels = read_timeeval(str(locate(train)))
    test_values, test_labels = read_timeeval(str(locate(test)))
    X_tr, y_tr, train_starts = sliding_windows(train_values, train_labels, window, stride)
    X_te, y_te, starts = sliding_windows(test_values, test_labels, window, stride)
    n = len(train_values)
    if len(test_values) > n and np.array_equal(test_values[:n], train_values):
        X_te, y_te, starts = X_te[starts >= n], y_te[starts >= n], starts[starts >= n]
    train_mask = np.r_[np.ones(len(X_tr), bool), np.zeros(len(X_te), bool)]
    # point layout: the test windows in the TEST file's series (the labels), the training
    # windows in the TRAIN file's series (their starts fold calibration in time)
    points = SeriesPoints(np.r_[train_starts, starts], window, test_labels)
    X, y = np.concatenate([X_tr, X_te]), np.r_[y_tr, y_te]
    return Data(X, y, train_mask=train_mask, series=points)


TIMEEVAL = Catalog(
    {
        "kdd_tsad_135": DatasetSpec(
            name="timeeval/kdd-tsad-135",
            modality="series",
            load=functools.partial(load_timeeval_pair, *_TSAD_FILES),
            params={"window": 64, "stride": 4},
            description="UCR #135 InternalBleeding16 in TimeEval csv format (KDD-TSAD "
            "collection): the clean TRAIN file for training, the TEST file for testing.",
            licence="BSD-3-Clause (aeon); UCR archive",
            citation=_UCR_CITATION,
            files=_TSAD_FILES,
        )
    }
)

# --- short labelled excerpts ------------------------------------------------------------

_SKTIME = "https://raw.githubusercontent.com/sktime/sktime/main/sktime/datasets/data/"


def _load_labelled(file: RemoteFile, *, train_fraction: float, window: int, stride: int) -> Data:
    values, labels = read_labelled(str(locate(file)))
    return windowed(values, labels, round(train_fraction * len(values)), window, stride)


def _excerpt(
    name: str, sha256: str, train_fraction: float, window: int, what: str, cite: str
) -> DatasetSpec:
    file = RemoteFile(
        "timeseries", f"{name}.csv", (_SKTIME + f"{name}/{name}.csv",), f"sha256:{sha256}"
    )
    return DatasetSpec(
        name=f"series/{name}",
        modality="series",
        load=functools.partial(_load_labelled, file),
        params={"train_fraction": train_fraction, "window": window, "stride": 2},
        description=f"{what}; train on the first {train_fraction:.0%} of the series.",
        licence="BSD-3-Clause (sktime excerpt)",
        citation=cite,
        files=(file,),
    )


EXCERPTS = Catalog(
    {
        "mitdb": _excerpt(
            "mitdb",
            "d4f2539a5e85e1ac1e7f8bba152b5e60a02356282463a8a1c97848ad3e1bb386",
            0.5,
            64,
            "MIT-BIH arrhythmia ECG excerpt (7 500 points, labelled)",
            "Moody & Mark (2001). The impact of the MIT-BIH Arrhythmia Database. IEEE EMB.",
        ),
        "yahoo": _excerpt(
            "yahoo",
            "b37cb4846fc442c15bdcc73864034e46a19b9ac062edabf7e158732ae0a3789f",
            0.4,
            32,
            "Yahoo S5 excerpt (1 000 points, 7 labelled anomalies)",
            "Laptev, Amizadeh, Billawala (2015). Yahoo Webscope S5.",
        ),
    }
)

# --- IMS bearings ---------------------------------------------------------------------

_IMS_URL = "https://data.nasa.gov/download/brfb-gzcv/application%2Fzip"
_IMS_FILES = {
    1: (
        "1st_test_resmaple_10minutes.csv",
        "caa6adfb6ebdd00a0aafdf1f5ff77264a73c70b26ef89849f8ca3cbc2f5ce2df",
    ),
    2: (
        "2nd_test_resmaple_10minutes.csv",
        "b6d1a149837154613b54c0c764a136cb7d43749213649c128e77f7def7147afb",
    ),
    3: (
        "3rd_test_resmaple_10minutes.csv",
        "d2f80df76280c4e868addcf2988232fe02b28f452c134505f7e352c9aae71aae",
    ),
}


def _load_ims(
    file: RemoteFile, *, train_fraction: float, failure_fraction: float, window: int, stride: int
) -> Data:
    if not 0 < failure_fraction < 1 - train_fraction < 1:
        raise ValueError(
            "need 0 < failure_fraction < 1 - train_fraction, got "
            f"failure_fraction={failure_fraction}, train_fraction={train_fraction}"
        )
    path = str(locate(file))
    try:
        frame = pd.read_csv(path, index_col=0)
        values = frame.drop(columns=["Datetime"]).to_numpy(np.float64)
    except (OSError, KeyError, ValueError, pd.errors.ParserError) as exc:
        raise DataFileError(f"{path}: expected the IMS 10-minute csv ({exc})") from exc
    labels = np.zeros(len(values), dtype=np.int64)
    labels[len(values) - round(failure_fraction * len(values)) :] = 1
    return windowed(values, labels, round(train_fraction * len(values)), window, stride)


def _ims_spec(run: int, name: str, digest: str) -> DatasetSpec:
    file = RemoteFile("ims_bearing", name, (_IMS_URL,), f"sha256:{digest}")
    return DatasetSpec(
        name=f"ims-bearing/run-{run}",
        modality="series",
        load=functools.partial(_load_ims, file),
        params={"train_fraction": 0.5, "failure_fraction": 0.1, "window": 12, "stride": 1},
        description=f"NASA/IMS bearing run {run} to failure (10-minute means of every channel). "
        "Unlabelled: the final failure_fraction of the run is labelled anomalous (proxy "
        "label); train on the first train_fraction.",
        licence="NASA Prognostics Data Repository (public)",
        citation="Qiu, Lee, Lin, Yu (2006). Wavelet filter-based weak signature detection "
        "method and its application on rolling element bearing prognostics. J. Sound Vib.",
        files=(file,),
    )


def _load_ims_bearing(
    file: RemoteFile,
    *,
    bearing: int,
    train_points: int,
    failure_fraction: float,
    window: int,
    stride: int,
) -> Data:
    """One bearing's channel of an IMS run: points [0, train_points) train, the rest test;
    the final ``failure_fraction`` of the run is labelled anomalous (proxy label)."""
    path = str(locate(file))
    try:
        frame = pd.read_csv(path, index_col=0)
        values = frame[f"Bearing {bearing}"].to_numpy(np.float64)
    except (OSError, KeyError, ValueError, pd.errors.ParserError) as exc:
        raise DataFileError(f"{path}: expected the IMS 10-minute csv ({exc})") from exc
    if not 0 < failure_fraction < 1 - train_points / len(values):
        raise ValueError(
            f"need 0 < failure_fraction < {1 - train_points / len(values):.3f} (the test part), "
            f"got {failure_fraction}"
        )
    labels = np.zeros(len(values), dtype=np.int64)
    labels[len(values) - round(failure_fraction * len(values)) :] = 1
    return windowed(values, labels, train_points, window, stride)


def _ims_bearing_spec() -> DatasetSpec:
    name, digest = _IMS_FILES[3]
    file = RemoteFile("ims_bearing", name, (_IMS_URL,), f"sha256:{digest}")
    return DatasetSpec(
        name="ims-bearing/run-3-bearing-3",
        modality="series",
        load=functools.partial(_load_ims_bearing, file),
        params={
            "bearing": 3,
            "train_points": 4000,
            "failure_fraction": 0.1,
            "window": 11,
            "stride": 1,
        },
        description="The bearing example's forecasting setup: bearing 3 of IMS run 3 (it fails "
        "with an outer-race defect; 6 324 10-minute means), the first 4 000 points to train, "
        "the rest to test; windows of 11 points (a forecaster reads 10 and predicts the "
        "next). Unlabelled: the final failure_fraction of the run is labelled anomalous "
        "(proxy label).",
        licence="NASA Prognostics Data Repository (public)",
        citation="Qiu, Lee, Lin, Yu (2006). Wavelet filter-based weak signature detection "
        "method and its application on rolling element bearing prognostics. J. Sound Vib.",
        files=(file,),
    )


IMS = Catalog(
    {
        **{f"run_{k}": _ims_spec(k, name, digest) for k, (name, digest) in _IMS_FILES.items()},
        "run_3_bearing_3": _ims_bearing_spec(),
    }
)
