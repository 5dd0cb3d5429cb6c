"""The published reference tables (PyOD's ODDS benchmark, ADBench's Table D4): where
they come from, and finding, checking and reading them.

The tables are public files fetched like data (never shipped with anobench): from the
reference mirror folder ``ANOBENCH_REFERENCE_DIR`` (flat: ``<dir>/<table name>``; the
Makefile points it at ``../shared/reference``), else ``<data dir>/reference/``, the
download cache or a download from the pinned URL, each checked against its sha256. A
table without a public URL (Table D4, transcribed from the paper) must be put in the
reference folder.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from anobench import settings
from anobench.data.io import (
    DataFileError,
    DataMissingError,
    RemoteFile,
    cache_dir,
    check_file,
    data_dir,
    file_hash,
    locate,
)

__all__ = ["REFERENCE_DIR_ENV", "STUDY_TABLES", "TABLES", "load_table", "locate_table"]

REFERENCE_DIR_ENV = settings.ENV_VARS["reference_dir"]

_INDEX_COLUMNS = ("Data", "dataset")  # PyOD's tables, ADBench's Table D4


def _pyod_table(name: str, file: str, commit: str, sha256: str) -> RemoteFile:
    url = f"https://raw.githubusercontent.com/yzhao062/pyod/{commit}/docs/tables/{file}"
    return RemoteFile("reference", name, (url,), f"sha256:{sha256}")


#: Published tables by name. PyOD's benchmark (docs/tables of the PyOD repository,
#: BSD-2-Clause): 17 ODDS data sets, mean of 10 trials; columns Data, #Samples,
#: # Dimensions, Outlier Perc, then one column per detector; pinned to the commits whose
#: bytes match the checksums. ADBench's Table D4 (Han et al., NeurIPS 2022): ROC-AUC of
#: 14 unsupervised algorithms on 57 data sets, transcribed from the paper and divided by
#: 100 (index column ``dataset``, an empty cell is N/A); there is no public file, so it
#: has no URL.
TABLES: dict[str, RemoteFile] = {
    t.name: t
    for t in (
        _pyod_table(
            "pyod_benchmark_roc.csv",
            "roc.csv",
            "45404b1aadeab3f96352fb17d08b3126fff4e4a7",
            "83d22bd9f3271c05d0807c288abfcb9d78bc9a59162dba5efac99f0dd2bebf8b",
        ),
        _pyod_table(
            "pyod_benchmark_precision_at_n.csv",
            "prc.csv",
            "a1d492c25c2980d874080ee7cb6ad5d646a6bef4",
            "5eef9339e53aeb58629dc33ff6a860c5b0edc3e95def79ef3c5e181bd6720a4c",
        ),
        RemoteFile(
            "reference",
            "adbench_table_d4_roc.csv",
            (),
            "sha256:0c87a907713a808b41da6888b3ed0a5b19fa857ef67e86edd8945d3c13c60f59",
        ),
    )
}


def _verify(file: RemoteFile, path: Path) -> None:
    """``check_file``, with advice that fits a table without a download URL."""
    if file.urls:
        check_file(file, path)
        return
    alg, _, expected = (file.known_hash or "").partition(":")
    if expected and file_hash(path, alg) != expected.lower():
        raise DataFileError(
            f"{path}: {alg} does not match {expected} for {file.name}. The file is corrupt "
            f"or a different version: put the original in the reference directory "
            f"({REFERENCE_DIR_ENV})."
        )


def locate_table(name: str) -> Path:
    """Path of a verified copy of the published table ``name`` (see the module docstring).

    Raises
    ------
    KeyError
        ``name`` is not in :data:`TABLES`.
    DataMissingError
        No copy is found and none can be downloaded (a table without a URL says to put
        it in the reference directory ``ANOBENCH_REFERENCE_DIR``).
    DataFileError
        The copy found fails its checksum.
    """
    file = TABLES[name]
    folder = settings.current().reference_dir
    looked = []
    if folder is not None:
        path = folder / file.name
        looked.append(str(path))
        if path.is_file():
            _verify(file, path)
            return path
    if file.urls:
        return locate(file)
    for root in (data_dir(), cache_dir()):
        if root is not None:
            path = root / file.relpath
            looked.append(str(path))
            if path.is_file():
                _verify(file, path)
                return path
    raise DataMissingError(
        f"reference table {name} is not present (looked in {', '.join(looked)}) and has no "
        f"public download URL: put the file in the reference directory and set "
        f"{REFERENCE_DIR_ENV} to that folder."
    )


#: the numbers the source studies (``../shared/seeds``) print, transcribed by hand: table
#: name -> {"source": where the number is printed, "rows": {data set: {column: value}}}
STUDY_TABLES: dict[str, dict[str, object]] = {
    "seed_003_ecg": {
        "source": "study 003 (Keras ECG autoencoder walk-through): "
        "accuracy_score(predictions, y_test) # 0.944",
        "rows": {"ecg5000": {"AE": 0.944}},
    },
}


def load_table(name: str) -> pd.DataFrame:
    """A published table: rows = data sets (index from column ``Data`` in PyOD's tables,
    ``dataset`` in ADBench's Table D4), one column per published detector; an empty cell
    (N/A in the paper) is NaN. A source study's printed numbers (:data:`STUDY_TABLES`)
    are built in."""
    if name in STUDY_TABLES:
        rows = STUDY_TABLES[name]["rows"]
        assert isinstance(rows, dict)
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("dataset")
    table = pd.read_csv(locate_table(name))
    index = next((c for c in _INDEX_COLUMNS if c in table.columns), None)
    if index is None:
        raise DataFileError(f"reference table {name} has none of the columns {_INDEX_COLUMNS}")
    table = table.set_index(index)
    if table.empty:
        raise DataFileError(f"reference table {name} has no rows")
    return table
