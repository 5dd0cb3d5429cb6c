"""ECG5000: 4 998 heartbeats of 140 samples (the autoencoder tutorial's ``ecg.csv``, label
1 = normal, which we flip); each beat is one row, split at random like tabular data."""

from __future__ import annotations

import functools

import numpy as np

from anobench.data.io import DataFileError, RemoteFile, locate
from anobench.data.spec import Data, DatasetSpec

__all__ = ["ECG5000", "ECG_FILE", "load_ecg5000"]

ECG_FILE = RemoteFile(
    "ecg5000",
    "ecg.csv",
    ("http://storage.googleapis.com/download.tensorflow.org/data/ecg.csv",),
    None,  # no published checksum; the offline copy was rebuilt from float32 values
)


@functools.lru_cache(maxsize=1)
def load_ecg5000() -> Data:
    """Heartbeats X (4998, 140); y 1 = abnormal beat (the file's label 0)."""
    path = str(locate(ECG_FILE))
    try:
        raw = np.loadtxt(path, delimiter=",", dtype=np.float64)
    except (OSError, ValueError) as exc:
        raise DataFileError(
            f"{path}: expected 141 comma-separated numbers per row ({exc})"
        ) from exc
    if raw.ndim != 2 or raw.shape[1] != 141 or not np.isin(raw[:, -1], (0, 1)).all():
        raise DataFileError(f"{path}: expected rows of 140 values and a 0/1 label, got {raw.shape}")
    X = np.ascontiguousarray(raw[:, :-1])
    y = (raw[:, -1] == 0).astype(np.int64)
    X.flags.writeable = False
    y.flags.writeable = False
    return Data(X, y)


ECG5000 = DatasetSpec(
    name="ecg5000",
    modality="series",
    load=load_ecg5000,
    description="ECG5000 heartbeats (140 samples each; the TensorFlow autoencoder tutorial's "
    "ecg.csv): normal beats normal, the four abnormal classes anomalous (about 42%).",
    licence="UCR time-series archive (free for research use)",
    citation="Goldberger et al. (2000). PhysioBank, PhysioToolkit, and PhysioNet. Circulation. "
    "Dau et al. (2019). The UCR time series archive.",
    files=(ECG_FILE,),
)
