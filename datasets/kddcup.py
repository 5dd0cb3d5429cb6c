"""KDD Cup 1999 network intrusion data (``kddcup99``).

Training part: the 10% training file; test part: the ``corrected`` test file (the
competition's own split, the same for every seed). Normal traffic is normal; attacks are
anomalies, subsampled in each part (fixed seed) to ``anomaly_ratio`` of it. The three
categorical columns (protocol, service, flag) are one-hot encoded by an encoder fitted on
the training part of each split only; categories met only in test become all-zero.
"""

from __future__ import annotations

import functools
import zlib

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder

from anobench.data.io import DataFileError, RemoteFile, locate
from anobench.data.spec import Data, DatasetSpec

__all__ = [
    "CATEGORICAL",
    "DATA_SEED",
    "KDDCUP99",
    "N_FEATURES",
    "TEST_FILE",
    "TRAIN_FILE",
    "load_kddcup99",
    "one_hot",
    "read_kdd",
]

DATA_SEED = 19990101
N_FEATURES = 41
CATEGORICAL = (1, 2, 3)  # protocol_type, service, flag

_URL = "http://kdd.ics.uci.edu/databases/kddcup99/"
TRAIN_FILE = RemoteFile(
    "kddcup99",
    "kddcup.data_10_percent.gz",
    (_URL + "kddcup.data_10_percent.gz",),
    "sha256:7bfaa8cef1350f72842018c32893e2fa4539d57efbb22f998eb74ecefc3da3b4",
)
TEST_FILE = RemoteFile(
    "kddcup99",
    "corrected.gz",
    (_URL + "corrected.gz",),
    "sha256:74f0daef49b242badc09f2adbd457dea6a45b4f77177efbd11216d333651044b",
)


@functools.lru_cache(maxsize=2)
def read_kdd(file: RemoteFile) -> pd.DataFrame:
    """One raw KDD file: 41 feature columns (0-40) and the label (column 41)."""
    path = locate(file)
    try:
        frame = pd.read_csv(path, header=None, compression="gzip")
    except (OSError, EOFError, zlib.error, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{path}: not a readable KDD Cup 99 file ({exc})") from exc
    if frame.shape[1] != N_FEATURES + 1:
        raise DataFileError(
            f"{path}: expected {N_FEATURES + 1} columns (41 features + label), got {frame.shape[1]}"
        )
    return frame


def _subsample_attacks(frame: pd.DataFrame, ratio: float, rng: np.random.Generator) -> pd.DataFrame:
    is_attack = frame[N_FEATURES].to_numpy() != "normal."
    normal, attack = np.flatnonzero(~is_attack), np.flatnonzero(is_attack)
    want = round(ratio * len(normal) / (1 - ratio))
    if want < len(attack):
        attack = rng.choice(attack, size=want, replace=False)
    return frame.iloc[np.sort(np.r_[normal, attack])]


def load_kddcup99(*, anomaly_ratio: float = 0.05) -> Data:
    """X (n, 41) with categorical columns as integer codes; y 1 = attack; a fixed split
    (train = the 10% file, test = ``corrected``); groups = the attack name."""
    if not 0 < anomaly_ratio < 1:
        raise ValueError(f"anomaly_ratio must be in (0, 1), got {anomaly_ratio}")
    rng = np.random.default_rng(DATA_SEED)
    train = _subsample_attacks(read_kdd(TRAIN_FILE), anomaly_ratio, rng)
    test = _subsample_attacks(read_kdd(TEST_FILE), anomaly_ratio, rng)
    both = pd.concat([train, test], ignore_index=True)
    # Integer codes are only names for the categories (a fixed sorted vocabulary);
    # the encoding itself is learnt on training rows (see `one_hot`).
    for col in CATEGORICAL:
        both[col] = pd.Categorical(both[col]).codes
    X = both[list(range(N_FEATURES))].to_numpy(dtype=np.float64)
    label = both[N_FEATURES].astype(str).str.rstrip(".").to_numpy()
    y = (label != "normal").astype(np.int64)
    train_mask = np.arange(len(both)) < len(train)
    return Data(X, y, groups=label, train_mask=train_mask)


def one_hot() -> ColumnTransformer:
    """One-hot encoding of the categorical columns, fitted on training rows only."""
    return ColumnTransformer(
        [
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                list(CATEGORICAL),
            )
        ],
        remainder="passthrough",
    )


KDDCUP99 = DatasetSpec(
    name="kddcup99",
    modality="tabular",
    load=load_kddcup99,
    params={"anomaly_ratio": 0.05},
    transform=one_hot,
    description="KDD Cup 1999 network traffic: train on the 10% file, test on 'corrected'; "
    "attacks subsampled to anomaly_ratio; categorical columns one-hot encoded on train only.",
    licence="UCI KDD Archive (free for research use)",
    citation="Stolfo, Fan, Lee, Prodromidis, Chan (2000). KDD Cup 1999 Data. UCI KDD Archive.",
    files=(TRAIN_FILE, TEST_FILE),
)
