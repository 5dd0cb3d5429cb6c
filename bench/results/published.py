"""Per-cell comparison of a run with a published table (PyOD's ODDS benchmark, ADBench's
Table D4), under the published protocol of :mod:`anobench.plan.presets`.

Which cells are compared: every cell run under a preset protocol (``pyod-benchmark``,
``adbench-2022``) with that preset's tables, and, when the suite has a ``[reference]``
section (``published = "<preset>"``), the cells of its clean protocols too (they then
say ``protocol differs``). Only detectors the preset maps to a published column
(:attr:`anobench.plan.presets.Preset.columns`) are compared. A published row is matched by
our data set name after its last ``/``, case-insensitively (``adbench/cardiotocography``
-> ``Cardiotocography``), exactly otherwise.

Every compared (detector, data set) gets a verdict, the first rule that matches:

1. every seed skipped -> ``not run: <reason>`` (e.g. the data set is not in the mirror;
   not counted as compared);
2. no ok seed -> ``failure: <first error>``;
3. ``|difference| <= tolerance`` (or, for a source study, ``<= 2 x`` our std over the
   seeds: :attr:`~anobench.plan.presets.Preset.spread_rule`) under the preset, every seed
   ok, the paper's seeds and the column's parameters -> ``reproduced``;
4. another protocol -> ``protocol differs: <protocol>``;
5. other seeds -> ``seeds differ from the paper's``;
6. other parameters -> ``parameters differ from the paper's``;
7. some seeds failed -> ``failure: k/N seeds ok``;
8. the column names a known drift -> ``library version drift: <drift>``;
9. otherwise ``unexplained``.

Where the tables come from and how they are checked: :mod:`anobench.results.published_tables`;
writing the comparisons: :mod:`anobench.report.render.published`.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from anobench.data.io import DataFileError
from anobench.metrics.cell import metric as metric_info
from anobench.plan import presets
from anobench.plan.presets import Preset
from anobench.plan.suite import PublishedReference
from anobench.results.published_tables import load_table

__all__ = [
    "CELL_COLUMNS",
    "REPRODUCED",
    "SUMMARY_COLUMNS",
    "PublishedComparison",
    "compare_with_published",
    "comparisons",
    "load_table",
    "not_reproduced",
    "summarize",
]

logger = logging.getLogger(__name__)

#: the columns of :func:`compare_with_published`'s per-cell table, in order
CELL_COLUMNS = (
    "protocol",
    "detector",
    "column",
    "dataset",
    "ours",
    "published",
    "difference",
    "tolerance",
    "seeds",
    "verdict",
    "label",
    "params",
    "published_row",
    "std",
)

#: the columns of :func:`summarize`'s per-detector table, after ``protocol``
SUMMARY_COLUMNS = (
    "detector",
    "column",
    "compared",
    "reproduced",
    "max_abs_difference",
    "mean_difference",
    "tolerance",
    "verdicts",
)

REPRODUCED = "reproduced"


def _row_finder(index: pd.Index) -> dict[str, str]:
    """lower-cased row name -> row name (names that collide lower-cased match exactly)."""
    counts = Counter(str(i).lower() for i in index)
    return {str(i).lower(): str(i) for i in index if counts[str(i).lower()] == 1}


def _published_row(dataset: str, rows: dict[str, str], index: pd.Index) -> str | None:
    key = str(dataset).rsplit("/", 1)[-1]
    if key in index:
        return key
    return rows.get(key.lower())


# -- comparison ---------------------------------------------------------------------------


def _short(text: object, width: int = 80) -> str:
    """The first line of an error message, at most ``width`` characters."""
    raw = "" if text is None or (isinstance(text, float) and np.isnan(text)) else str(text)
    line = raw.strip().splitlines()[0] if raw.strip() else "no message"
    return line if len(line) <= width else line[: width - 1] + "…"


def _seed_values(group: pd.DataFrame, metric: str, digits: int | None) -> pd.Series:
    values = group.loc[group["status"] == "ok", metric].astype(float)
    return values.round(digits) if digits is not None else values


def _verdict(
    group: pd.DataFrame,
    difference: float,
    protocol: str,
    preset: Preset,
    column: presets.Column,
    std: float = float("nan"),
) -> str:
    status = group["status"]
    n_ok, n = int((status == "ok").sum()), len(group)
    failed = group[status != "ok"].sort_values("seed")
    if (status == "skipped").all():
        return f"not run: {_short(failed.iloc[0].get('error'))}"
    if n_ok == 0:
        first = failed.iloc[0]
        error = first.get("error")
        return f"failure: {_short(error if isinstance(error, str) and error else first['status'])}"
    seeds_ok = sorted(int(s) for s in group["seed"].dropna()) == sorted(preset.seeds)
    params_ok = group["params"].iloc[0] == json.dumps(dict(column.params), sort_keys=True)
    within = bool(abs(difference) <= column.tolerance + 1e-9) or bool(
        preset.spread_rule and np.isfinite(std) and abs(difference) <= 2 * std
    )
    if within and protocol == preset.name and n_ok == n and seeds_ok and params_ok:
        return REPRODUCED
    if protocol != preset.name:
        return f"protocol differs: {protocol}"
    if not seeds_ok:
        return "seeds differ from the paper's"
    if not params_ok:
        return "parameters differ from the paper's"
    if n_ok < n:
        return f"failure: {n_ok}/{n} seeds ok"
    if column.drift:
        return f"library version drift: {column.drift}"
    return "unexplained"


def compare_with_published(
    frame: pd.DataFrame, preset: Preset, metric: str, *, table: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Compare every cell of ``frame`` with ``preset``'s published table for ``metric``.

    Parameters
    ----------
    frame : tidy results (:func:`anobench.results.table.results_frame`); every protocol in it is
        compared (the caller selects them). Needs ``protocol, detector, dataset, seed,
        status`` and ``metric``; uses ``dataset_name``, ``params``, ``label``, ``error``
        when present.
    preset : the published protocol whose table and column mapping are used.
    metric : a key of ``preset.tables``.
    table : the published table (default: :func:`load_table` of ``preset.tables[metric]``).

    Returns
    -------
    One row per (protocol, detector, parameters, data set) with a published value, for
    the data sets whose id starts with ``preset.datasets`` (the paper's files)
    (columns :data:`CELL_COLUMNS`): ``ours`` is the mean over ok seeds of each seed's
    value rounded to ``preset.round_digits`` (when set), ``difference = ours -
    published``, ``seeds`` is ``"<ok>/<total>"``, ``verdict`` as in the module docstring.
    Sorted by protocol, detector, data set.

    Raises
    ------
    DataFileError
        The table cannot be found or fails its checksum.
    """
    if table is None:
        table = load_table(preset.tables[metric])
    rows_by_name = _row_finder(table.index)
    part = frame[frame["detector"].isin([c.detector for c in preset.columns if c.detector])]
    part = part.assign(
        params=part.get("params", "{}"),
        label=part["label"] if "label" in part else part["detector"],
        match=part["dataset_name"].fillna(part["dataset"])
        if "dataset_name" in part
        else part["dataset"],
    )
    # only the paper's own files: ODDS's glass is not ADBench's glass
    part = part[part["match"].astype(str).str.startswith(preset.datasets)]
    rows = []
    keys = ["protocol", "detector", "params", "dataset"]
    for (protocol, detector, params, dataset), group in part.groupby(keys, sort=True):
        column = preset.column(str(detector))
        row = _published_row(str(group["match"].iloc[0]), rows_by_name, table.index)
        if column is None or row is None or column.name not in table.columns:
            continue
        published = float(table.loc[row, column.name])
        if np.isnan(published):
            continue  # N/A in the paper
        # a clean protocol's cells: the column closest to the study's metric
        key = metric if protocol == preset.name else preset.clean_metrics.get(metric, metric)
        values = _seed_values(group, key, preset.round_digits) if key in group else []
        values = [v for v in values if np.isfinite(v)]
        ours = float(np.mean(values)) if len(values) else np.nan
        std = float(np.std(values, ddof=1)) if len(values) > 1 else np.nan
        difference = ours - published
        rows.append(
            {
                "protocol": protocol,
                "detector": detector,
                "column": column.name,
                "dataset": dataset,
                "ours": ours,
                "published": published,
                "difference": difference,
                "tolerance": column.tolerance,
                "seeds": f"{int((group['status'] == 'ok').sum())}/{len(group)}",
                "verdict": _verdict(group, difference, str(protocol), preset, column, std),
                "label": group["label"].iloc[0],
                "params": params,
                "published_row": row,
                "std": std,
            }
        )
    return pd.DataFrame(rows, columns=list(CELL_COLUMNS))


def summarize(cells: pd.DataFrame) -> pd.DataFrame:
    """Per (protocol, detector, column): ``compared`` (data sets with a verdict other
    than ``not run``), ``reproduced`` (``"15/17"``), ``max_abs_difference``,
    ``mean_difference`` (over data sets with a value), ``tolerance`` and ``verdicts``
    (the verdicts other than reproduced by kind and count, e.g. ``"2 library version
    drift, 1 unexplained"``). Detectors with nothing compared are left out."""
    rows = []
    ran = cells[~cells["verdict"].str.startswith("not run")]
    for (protocol, detector, column), group in ran.groupby(
        ["protocol", "detector", "column"], sort=True
    ):
        diffs = group["difference"].dropna()
        kinds = Counter(v.split(":")[0] for v in group["verdict"] if v != REPRODUCED)
        n_rep = int((group["verdict"] == REPRODUCED).sum())
        rows.append(
            {
                "protocol": protocol,
                "detector": detector,
                "column": column,
                "compared": len(group),
                "reproduced": f"{n_rep}/{len(group)}",
                "max_abs_difference": float(diffs.abs().max()) if len(diffs) else np.nan,
                "mean_difference": float(diffs.mean()) if len(diffs) else np.nan,
                "tolerance": float(group["tolerance"].iloc[0]),
                "verdicts": ", ".join(
                    f"{n} {kind}"
                    for kind, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))
                )
                or "all reproduced",
            }
        )
    return pd.DataFrame(rows, columns=["protocol", *SUMMARY_COLUMNS])


def not_reproduced(frame: pd.DataFrame, preset: Preset) -> pd.DataFrame:
    """The preset's published columns this run does not reproduce: ``column``,
    ``detector`` and ``reason`` (the column's ``not_reproduced`` text when no detector
    maps to it; ``not run: ...`` for a mapped detector absent from ``frame`` or whose
    every cell was skipped)."""
    rows = []
    for column in preset.columns:
        if column.detector is None:
            rows.append((column.name, "", column.not_reproduced or "no detector"))
            continue
        part = frame[frame["detector"] == column.detector]
        if part.empty:
            rows.append((column.name, column.detector, "not run: not in this run"))
        elif (part["status"] == "skipped").all():
            first = part.sort_values(["dataset", "seed"]).iloc[0]
            rows.append((column.name, column.detector, f"not run: {_short(first.get('error'))}"))
    return pd.DataFrame(rows, columns=["column", "detector", "reason"])


@dataclass
class PublishedComparison:
    """One written comparison: a protocol's cells against a preset's table for a metric.

    ``summary`` (:func:`summarize`), ``cells`` (:func:`compare_with_published`), ``missing``
    (:func:`not_reproduced`), and the Markdown / CSV files written.
    """

    protocol: str
    preset: Preset
    metric: str
    summary: pd.DataFrame
    cells: pd.DataFrame
    missing: pd.DataFrame
    markdown: Path | None = None
    csv: Path | None = None

    @property
    def beyond(self) -> pd.DataFrame:
        """The cells not reproduced (every verdict but ``reproduced`` and ``not run``)."""
        c = self.cells
        return c[(c["verdict"] != REPRODUCED) & ~c["verdict"].str.startswith("not run")]

    @property
    def title(self) -> str:
        """E.g. ``ROC-AUC, published protocol: adbench-2022: anobench vs the published
        table (adbench_table_d4_roc.csv)``."""
        info, table = metric_info(self.metric), self.preset.tables[self.metric]
        if presets.get(self.protocol):
            return (
                f"{info.title}, published protocol: {self.protocol}: anobench vs the "
                f"published table ({table})"
            )
        return (
            f"{info.title}, protocol {self.protocol}: anobench vs the table of published "
            f"protocol {self.preset.name} ({table})"
        )


def _targets(
    frame: pd.DataFrame, suite_reference: PublishedReference | None
) -> list[tuple[str, Preset]]:
    targets = []
    for protocol in sorted(frame["protocol"].dropna().unique()):
        preset = presets.get(str(protocol)) or (
            suite_reference.preset if suite_reference is not None else None
        )
        if preset is not None:
            targets.append((str(protocol), preset))
    return targets


def comparisons(
    frame: pd.DataFrame, suite_reference: PublishedReference | None
) -> list[PublishedComparison]:
    """Compare the cells of ``frame`` with the published tables: for every preset
    protocol in ``frame`` (with its own tables) and, when ``suite_reference`` is given,
    every clean protocol (with that preset's tables). A table that cannot be found or
    fails its checksum is a logged warning naming it, never an error."""
    found = []
    for protocol, preset in _targets(frame, suite_reference):
        part = frame[frame["protocol"] == protocol]
        for metric, table_name in preset.tables.items():
            if metric not in frame.columns:
                continue
            try:
                cells = compare_with_published(part, preset, metric)
            except DataFileError as exc:
                logger.warning(
                    "no %s comparison of protocol %s with %s (%s): %s",
                    metric,
                    protocol,
                    preset.name,
                    table_name,
                    exc,
                )
                continue
            found.append(
                PublishedComparison(
                    protocol, preset, metric, summarize(cells), cells, not_reproduced(part, preset)
                )
            )
    return found
