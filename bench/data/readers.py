"""Reading a user's file as it is: the format from its extension, a table (CSV/TSV, gzip,
Parquet) with its delimiter sniffed, or arrays (``.npz``, MATLAB ``.mat``)."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd

from anobench.data.io import DataFileError

#: file extensions and the format they are read as
FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".gz": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".npz": "npz",
    ".mat": "mat",
}

__all__ = [
    "FORMATS",
"delimiter", "file_format", "read_arrays", "read_table", "read_table_cached"]


def file_format(path: Path) -> str:
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise DataFileError(
            f"{path}: unknown file type {path.suffix!r}; use one of {', '.join(sorted(FORMATS))}"
        )
    return kind


def read_arrays(path: Path, kind: str) -> dict[str, np.ndarray]:
    try:
        if kind == "npz":
            with np.load(path, allow_pickle=False) as npz:
                return {k: npz[k] for k in npz.files}
        import h5py
        import scipy.io

        if h5py.is_hdf5(path):  # MATLAB v7.3; arrays are stored transposed
            with h5py.File(path, "r") as fh:
                return {k: np.asarray(fh[k]).T for k in fh if isinstance(fh[k], h5py.Dataset)}
        return {k: v for k, v in scipy.io.loadmat(path).items() if not k.startswith("__")}
    except (OSError, ValueError, TypeError, NotImplementedError) as exc:
        raise DataFileError(f"{path}: not a readable {kind} file ({exc})") from exc


def delimiter(path: Path) -> str:
    """The delimiter of a text table, sniffed from its first lines (``,`` if unsure)."""
    import csv
    import gzip

    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rt", newline="", errors="replace") as fh:
        sample = fh.read(64 * 1024)
    if not sample.strip():
        raise DataFileError(f"{path}: the file is empty")
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def read_table(path: Path, kind: str) -> pd.DataFrame:
    # the inode change time cannot be set back by a user (unlike the modification time):
    # an edit of the same size with its mtime restored is a new version
    stat = path.stat()
    version = (stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
    return read_table_cached(path, kind, hash(version), stat.st_size).copy()


@functools.lru_cache(maxsize=2)
def read_table_cached(path: Path, kind: str, mtime_ns: int, size: int) -> pd.DataFrame:
    """One read per file version (the loader and the split's encoder both need it)."""
    try:
        if kind == "parquet":
            frame = pd.read_parquet(path)
        else:
            sep = "\t" if path.suffix.lower() == ".tsv" else delimiter(path)
            frame = pd.read_csv(path, sep=sep, header=None, dtype=str, nrows=1)
            header = [str(c) for c in frame.iloc[0]] if len(frame) else []
            twice = sorted({c for c in header if header.count(c) > 1})
            if twice:
                raise DataFileError(
                    f"{path}: column name(s) {twice} occur more than once: rename them (a "
                    "second 'label' column would be read as a feature)"
                )
            frame = pd.read_csv(path, sep=sep)
    except (OSError, ValueError, pd.errors.ParserError, ImportError) as exc:
        raise DataFileError(f"{path}: not a readable {kind} table ({exc})") from exc
    if frame.columns.duplicated().any():
        twice = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        raise DataFileError(f"{path}: column name(s) {twice} occur more than once: rename them")
    return frame
