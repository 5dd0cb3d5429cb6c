"""Leaderboards from a run's tidy table: per data set x detector mean +- std over seeds,
average rank, failures shown as failures (never as 0); Markdown (tabulate) and CSV."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

from anobench.reference import Reference, write_comparisons
from anobench.store import RunStore, results_frame
from anobench.thresholds import POLICIES

logger = logging.getLogger(__name__)

#: headline metrics, then F1 under each threshold policy
METRICS: tuple[str, ...] = ("roc_auc", "ap", *(f"f1@{p}" for p in POLICIES))


def metric_title(metric: str) -> str:
    """Human name of a metric column; oracle F1 policies are marked as such."""
    titles = {"roc_auc": "ROC-AUC", "ap": "AP", "precision_at_n": "precision@n"}
    if metric in titles:
        return titles[metric]
    kind, _, policy = metric.partition("@")
    oracle = " (oracle: uses test labels)" if POLICIES[policy].oracle else ""
    return f"{kind.upper()} under {policy}{oracle}"


def leaderboard(frame: pd.DataFrame, metric: str, protocol: str) -> pd.DataFrame:
    """Numeric leaderboard of one protocol and metric.

    Returns
    -------
    DataFrame indexed by detector label, sorted by average rank (1 = best), with columns
    ``<dataset>`` (mean over ok seeds, NaN where none), ``<dataset>:std``,
    ``<dataset>:ok`` / ``<dataset>:n`` (ok and total seeds), ``<dataset>:status`` (the
    most common failure status when no seed is ok), ``<dataset>:subsampled`` (train or
    test rows were subsampled by ``max_train`` / ``max_test``), ``avg_rank``, ``mean`` and
    ``n_datasets`` (data sets with a value).
    """
    part = frame[frame["protocol"] == protocol]
    if part.empty:
        return pd.DataFrame()
    ok = part[part["status"] == "ok"]
    grouped = ok.groupby(["label", "dataset"])[metric]
    means = grouped.mean().unstack("dataset")
    stds = grouped.std(ddof=0).unstack("dataset")
    counts = part.groupby(["label", "dataset"]).size().unstack("dataset")
    oks = ok.groupby(["label", "dataset"]).size().unstack("dataset")
    failures = (
        part[part["status"] != "ok"]
        .groupby(["label", "dataset"])["status"]
        .agg(lambda s: s.value_counts().index[0])
        .unstack("dataset")
    )
    if "subsampled" in part.columns:
        subsampled = part.groupby(["label", "dataset"])["subsampled"].any().unstack("dataset")
    else:
        subsampled = pd.DataFrame()
    labels = sorted(part["label"].unique())
    datasets = sorted(part["dataset"].unique())
    means = means.reindex(index=labels, columns=datasets)
    ranks = means.rank(axis=0, ascending=False, method="average")
    columns: dict[str, pd.Series] = {}
    for ds in datasets:
        columns[ds] = means[ds]
        columns[f"{ds}:std"] = stds.reindex(index=labels, columns=datasets)[ds]
        columns[f"{ds}:ok"] = oks.reindex(index=labels, columns=datasets)[ds].fillna(0).astype(int)
        columns[f"{ds}:n"] = (
            counts.reindex(index=labels, columns=datasets)[ds].fillna(0).astype(int)
        )
        columns[f"{ds}:status"] = failures.reindex(index=labels, columns=datasets)[ds]
        columns[f"{ds}:subsampled"] = (
            subsampled.reindex(index=labels, columns=datasets)[ds]
            .astype("boolean")
            .fillna(False)
            .astype(bool)
        )
    columns["avg_rank"] = ranks.mean(axis=1)
    columns["mean"] = means.mean(axis=1)
    columns["n_datasets"] = means.notna().sum(axis=1)
    table = pd.DataFrame(columns, index=labels)
    table.attrs["datasets"] = datasets
    table.index.name = "detector"
    return table.sort_values(["avg_rank", "mean"], ascending=[True, False], na_position="last")


#: appended to a leaderboard value whose cells ran on subsampled train or test rows
SUBSAMPLED_MARK = " †"


def _cell_text(row: pd.Series, ds: str) -> str:
    n, n_ok = int(row[f"{ds}:n"]), int(row[f"{ds}:ok"])
    if n == 0:
        return ""
    if n_ok == 0:
        status = row[f"{ds}:status"]
        return f"{status} ({n}/{n})" if n > 1 else str(status)
    text = f"{row[ds]:.3f} ± {row[f'{ds}:std']:.3f}"
    if row.get(f"{ds}:subsampled", False):
        text += SUBSAMPLED_MARK
    if n_ok < n:
        text += f" ({n_ok}/{n} ok)"
    return text


def format_leaderboard(table: pd.DataFrame, tablefmt: str = "github") -> str:
    """Markdown text of a :func:`leaderboard` table."""
    if table.empty:
        return "(no cells)"
    datasets = table.attrs["datasets"]
    rows = []
    for label, row in table.iterrows():
        rank = "" if np.isnan(row["avg_rank"]) else f"{row['avg_rank']:.2f}"
        mean = "" if np.isnan(row["mean"]) else f"{row['mean']:.3f}"
        rows.append(
            [label, rank, mean, f"{int(row['n_datasets'])}/{len(datasets)}"]
            + [_cell_text(row, ds) for ds in datasets]
        )
    headers = ["detector", "avg rank", "mean", "sets", *datasets]
    text = str(tabulate(rows, headers=headers, tablefmt=tablefmt, disable_numparse=True))
    if any(SUBSAMPLED_MARK in cell for row in rows for cell in row):
        mark = SUBSAMPLED_MARK.strip()
        text += f"\n\n{mark} ran on subsampled rows (the suite's max_train / max_test)"
    return text


def write_report(run_dir: Path | str) -> Path:
    """Write ``RUN_DIR/report/``: ``results.csv`` and ``results.parquet`` (tidy table),
    and for every protocol and metric ``leaderboard_<protocol>_<metric>.md`` / ``.csv``.

    Returns the report folder. Raises ``FileNotFoundError`` if the run has no records.
    """
    run_dir = Path(run_dir)
    frame = results_frame(RunStore(run_dir).records())
    if frame.empty:
        raise FileNotFoundError(f"{run_dir} holds no cell records (is it a run directory?)")
    out = run_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out / "results.csv", index=False)
    frame.to_parquet(out / "results.parquet", index=False)
    for protocol in sorted(frame["protocol"].unique()):
        for metric in METRICS:
            if metric not in frame.columns:
                continue
            table = leaderboard(frame, metric, protocol)
            stem = f"leaderboard_{protocol}_{metric.replace('@', '_at_')}"
            table.to_csv(out / f"{stem}.csv")
            (out / f"{stem}.md").write_text(
                f"# {metric_title(metric)}, protocol {protocol}\n\n"
                "Mean ± std over seeds; failures are shown as such, never as 0; "
                "avg rank is over the data sets where the detector ran.\n\n"
                + format_leaderboard(table)
                + "\n"
            )
    suite = RunStore(run_dir).manifest().get("suite") or {}
    if suite.get("reference"):
        write_comparisons(frame, Reference.model_validate(suite["reference"]), out)
    logger.info("report written to %s", out)
    return out
