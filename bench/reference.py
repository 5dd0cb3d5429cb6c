"""Side-by-side comparison of a run with published figures (e.g. PyOD's ODDS benchmark).

A suite names the published tables in a ``[reference]`` section: the files (shipped in
``anobench/references/``, each naming its source in ``#`` comment lines) per metric, and
which reference column each of our detectors corresponds to. Reference rows are matched
by the data set name after its last ``/`` (``odds/cardio`` -> ``cardio``).
"""

from __future__ import annotations

import io
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict
from tabulate import tabulate

#: a difference in a detector's mean larger than this is called out in the table
TOLERANCE = 0.02


class Reference(BaseModel):
    """The ``[reference]`` section of a suite."""

    model_config = ConfigDict(extra="forbid")
    source: str
    files: dict[str, str]
    detectors: dict[str, str]


def load_table(file: str) -> pd.DataFrame:
    """A shipped reference table: rows = data sets (column ``Data``), one column per
    published detector."""
    resource = resources.files("anobench") / "references" / file
    if not resource.is_file():
        raise FileNotFoundError(f"reference table {file!r} is not shipped with anobench")
    # leading "#" lines name the source (pandas' comment= would also cut "# Dimensions")
    lines = [line for line in resource.read_text().splitlines() if not line.startswith("#")]
    return pd.read_csv(io.StringIO("\n".join(lines))).set_index("Data")


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
    """Write ``reference_<metric>.md`` and ``.csv`` (cells) into ``out``; return the
    Markdown paths."""
    paths = []
    for metric in reference.files:
        if metric not in frame.columns:
            continue
        summary, cells = compare(frame, reference, metric)
        md = out / f"reference_{metric}.md"
        md.write_text(
            f"# {metric}: anobench vs {reference.source}\n\n"
            + format_comparison(summary, cells, metric, reference.source)
            + "\n"
        )
        cells.to_csv(out / f"reference_{metric}.csv", index=False)
        paths.append(md)
    return paths
