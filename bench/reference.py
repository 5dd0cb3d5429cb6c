"""Side-by-side comparison of a run with published figures (e.g. PyOD's ODDS benchmark).

A suite names the published tables in a ``[reference]`` section: a table per metric
(a name from :data:`TABLES`) and which reference column each of our detectors corresponds
to. Reference rows are matched by the data set name after its last ``/``
(``odds/cardio`` -> ``cardio``).

The tables are public files fetched like data (never shipped with anobench): from the
reference mirror folder ``ANOBENCH_REFERENCE_DIR`` (flat: ``<dir>/<table name>``; the
Makefile points it at ``../shared/reference``), else ``<data dir>/reference/``, the
download cache or a download from the pinned URL, each checked against its sha256.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, field_validator
from tabulate import tabulate

from anobench.datasets.files import DataFileError, RemoteFile, check_file, locate
from anobench.metrics import metric as metric_info

logger = logging.getLogger(__name__)

#: a difference in a detector's mean larger than this is called out in the table
TOLERANCE = 0.02

REFERENCE_DIR_ENV = "ANOBENCH_REFERENCE_DIR"


def _pyod_table(name: str, file: str, commit: str, sha256: str) -> RemoteFile:
    url = f"https://raw.githubusercontent.com/yzhao062/pyod/{commit}/docs/tables/{file}"
    return RemoteFile("reference", name, (url,), f"sha256:{sha256}")


#: Published tables by name. PyOD's benchmark (docs/tables of the PyOD repository,
#: BSD-2-Clause): 17 ODDS data sets, 60/40 train/test split, standardised features,
#: contamination = true outlier fraction, mean of 10 trials; columns Data, #Samples,
#: # Dimensions, Outlier Perc, then one column per detector. Pinned to the commits whose
#: bytes match the checksums.
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
    )
}


class Reference(BaseModel):
    """The ``[reference]`` section of a suite."""

    model_config = ConfigDict(extra="forbid")
    source: str
    files: dict[str, str]
    detectors: dict[str, str]

    @field_validator("files")
    @classmethod
    def _known_tables(cls, files: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(files.values()) - set(TABLES))
        if unknown:
            raise ValueError(f"unknown reference tables {unknown}; known: {sorted(TABLES)}")
        return files


def locate_table(name: str) -> Path:
    """Path of a verified copy of the published table ``name`` (see the module docstring).

    Raises
    ------
    KeyError
        ``name`` is not in :data:`TABLES`.
    DataFileError
        The copy found fails its checksum, or none can be found or downloaded.
    """
    file = TABLES[name]
    folder = os.environ.get(REFERENCE_DIR_ENV, "").strip()
    if folder:
        path = Path(folder).expanduser() / file.name
        if path.is_file():
            check_file(file, path)
            return path
    return locate(file)


def load_table(name: str) -> pd.DataFrame:
    """A published table: rows = data sets (column ``Data``), one column per published
    detector."""
    table = pd.read_csv(locate_table(name)).set_index("Data")
    if table.empty:
        raise DataFileError(f"reference table {name} has no rows")
    return table


def compare(
    frame: pd.DataFrame, reference: Reference, metric: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Compare a run's tidy results with the published table for ``metric``.

    Parameters
    ----------
    frame : the run's tidy table (:func:`anobench.store.results_frame`).

    Returns
    -------
    summary : one row per mapped detector: ``ours`` (mean over data sets of the mean over
        ok seeds), ``published`` (mean over the same data sets), ``difference``, the data
        sets used and missing (``n_sets``, ``missing``).
    cells : one row per (detector, data set): ``ours``, ``published``, ``difference``,
        ``ok`` (ok seeds / total).
    """
    table = load_table(reference.files[metric])
    rows = []
    for detector, column in reference.detectors.items():
        part = frame[frame["detector"] == detector]
        for dataset, group in part.groupby("dataset"):
            key = str(dataset).rsplit("/", 1)[-1]
            if key not in table.index:
                continue
            ok = group[group["status"] == "ok"]
            ours = float(ok[metric].mean()) if len(ok) else np.nan
            published = float(table.loc[key, column])
            rows.append(
                {
                    "detector": detector,
                    "reference": column,
                    "dataset": key,
                    "ours": ours,
                    "published": published,
                    "difference": ours - published,
                    "ok": f"{len(ok)}/{len(group)}",
                }
            )
    cells = pd.DataFrame(rows)
    if cells.empty:
        return pd.DataFrame(), cells
    summary_rows = []
    for (detector, column), group in cells.groupby(["detector", "reference"], sort=False):
        both = group.dropna(subset=["ours"])
        summary_rows.append(
            {
                "detector": detector,
                "reference": column,
                "ours": both["ours"].mean(),
                "published": both["published"].mean(),
                "difference": both["ours"].mean() - both["published"].mean(),
                "n_sets": len(both),
                "missing": ", ".join(sorted(set(group["dataset"]) - set(both["dataset"]))),
            }
        )
    return pd.DataFrame(summary_rows), cells


def format_comparison(summary: pd.DataFrame, cells: pd.DataFrame, metric: str, source: str) -> str:
    """Markdown: the per-detector summary, then every cell whose difference exceeds
    :data:`TOLERANCE`."""
    if summary.empty:
        return "(no detector of the run matches the reference)"
    rows = [
        [
            r.detector,
            r.reference,
            f"{r.ours:.4f}",
            f"{r.published:.4f}",
            f"{r.difference:+.4f}" + (" *" if abs(r.difference) > TOLERANCE else ""),
            r.n_sets,
            r.missing,
        ]
        for r in summary.itertuples()
    ]
    text = [
        f"Our mean {metric} vs {source}, over the data sets where our detector ran "
        f"(* = |difference| > {TOLERANCE}).",
        "",
        tabulate(
            rows,
            headers=[
                "detector",
                "published as",
                "ours",
                "published",
                "difference",
                "sets",
                "failed on",
            ],
            tablefmt="github",
            disable_numparse=True,
        ),
    ]
    big = cells[cells["difference"].abs() > TOLERANCE].sort_values(["detector", "dataset"])
    if len(big):
        text += [
            "",
            f"Cells differing by more than {TOLERANCE}:",
            "",
            tabulate(
                [
                    [
                        r.detector,
                        r.dataset,
                        f"{r.ours:.4f}",
                        f"{r.published:.4f}",
                        f"{r.difference:+.4f}",
                        r.ok,
                    ]
                    for r in big.itertuples()
                ],
                headers=["detector", "data set", "ours", "published", "difference", "ok seeds"],
                tablefmt="github",
                disable_numparse=True,
            ),
        ]
    return "\n".join(text)


def write_comparisons(frame: pd.DataFrame, reference: Reference, out: Path) -> list[Path]:
    """Write ``reference_<metric>.md`` and ``.csv`` (cells) into ``out`` (``_oracle``
    after the metric for oracle metrics, and ``metric`` / ``oracle`` columns in the CSV);
    return the Markdown paths."""
    paths = []
    for metric in reference.files:
        if metric not in frame.columns:
            continue
        try:
            summary, cells = compare(frame, reference, metric)
        except DataFileError as exc:
            logger.warning("no %s comparison with %s: %s", metric, reference.source, exc)
            continue
        info = metric_info(metric)  # oracle metrics (precision@n) say so in the name
        md = out / f"reference_{info.stem}.md"
        md.write_text(
            f"# {info.title}: anobench vs {reference.source}\n\n"
            + format_comparison(summary, cells, metric, reference.source)
            + "\n"
        )
        cells.assign(metric=info.key, oracle=info.oracle).to_csv(
            out / f"reference_{info.stem}.csv", index=False
        )
        paths.append(md)
    return paths
