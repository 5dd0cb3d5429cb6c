"""The report of a run: leaderboards (per data set x detector mean +- std over seeds,
average rank, failures shown as failures, never as 0), statistics, critical-difference
diagrams, plots and one self-contained HTML page, written to ``RUN_DIR/report/``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def write_report(
    run_dir: Path | str, *, posthoc: str = "wilcoxon-holm", plots: bool = True
) -> Path:
    """Write ``RUN_DIR/report/`` and return its path.

    Contents: ``results.csv`` / ``results.parquet`` (tidy table); for every protocol and
    metric ``leaderboard_<protocol>_<metric>.md`` / ``.csv``, ``stats_<...>.md`` / ``.csv``
    (mean, bootstrap CI, average rank, coverage, missing cells; Friedman and ``posthoc``
    tests), ``pvalues_<...>.csv`` and ``cd_<...>.png``; ``plots/*.png`` (heatmap, ranks,
    runtime, per-data-set ROC/PR curves and score distributions, image reconstructions and
    latent codes); and ``index.html``, one self-contained page with all of it and the run's
    metadata. ``plots=False`` skips the figures (tables and statistics only).

    Raises ``FileNotFoundError`` if the run has no records.
    """
    from anobench import stats
    from anobench.html import write_html

    run_dir = Path(run_dir)
    store = RunStore(run_dir)
    frame = results_frame(store.records())
    if frame.empty:
        raise FileNotFoundError(f"{run_dir} holds no cell records (is it a run directory?)")
    out = run_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out / "results.csv", index=False)
    frame.to_parquet(out / "results.parquet", index=False)
    sections: list[Section] = []
    for protocol in sorted(frame["protocol"].unique()):
        for metric in METRICS:
            if metric not in frame.columns:
                continue
            table = leaderboard(frame, metric, protocol)
            stem = f"{protocol}_{metric.replace('@', '_at_')}"
            title = f"{metric_title(metric)}, protocol {protocol}"
            table.to_csv(out / f"leaderboard_{stem}.csv")
            (out / f"leaderboard_{stem}.md").write_text(
                f"# {title}\n\n"
                "Mean ± std over seeds; failures are shown as such, never as 0; "
                "avg rank is over the data sets where the detector ran.\n\n"
                + format_leaderboard(table)
                + "\n"
            )
            section = Section(protocol, metric, title, table)
            if not table.empty:
                means = table[table.attrs["datasets"]]
                section.summary = stats.summary(means)
                section.comparison = stats.compare(means, method=posthoc)
                section.missing = missing_cells(frame, protocol)
                section.summary.join(section.missing).to_csv(out / f"stats_{stem}.csv")
                section.comparison.pvalues.to_csv(out / f"pvalues_{stem}.csv")
                (out / f"stats_{stem}.md").write_text(
                    f"# Statistics: {title}\n\n"
                    + stats.format_summary(section.summary, section.comparison, section.missing)
                    + "\n"
                )
                if plots and section.comparison.testable:
                    section.cd_png = _cd_png(section, out / f"cd_{stem}.png")
            sections.append(section)
    figures = write_plots(frame, store, out / "plots") if plots else []
    suite = store.manifest().get("suite") or {}
    if suite.get("reference"):
        write_comparisons(frame, Reference.model_validate(suite["reference"]), out)
    write_html(
        out / "index.html", frame, store.manifest(), sections, figures, files=data_files(store)
    )
    logger.info("report written to %s", out)
    return out


@dataclass
class Section:
    """One leaderboard of the report (a protocol and a metric) with its statistics."""

    protocol: str
    metric: str
    title: str
    table: pd.DataFrame
    summary: pd.DataFrame | None = None
    comparison: Any = None
    missing: pd.DataFrame | None = None
    cd_png: Path | None = None


@dataclass
class FigureFile:
    """A plot written by :func:`write_plots`: its file, a caption and a group name."""

    path: Path
    caption: str
    group: str


def data_files(store: RunStore) -> dict[str, str]:
    """``{file: sha256}`` of every data file the run's cells read."""
    files: dict[str, str] = {}
    for record in store.records():
        files.update((record.get("split") or {}).get("files") or {})
    return files


def missing_cells(frame: pd.DataFrame, protocol: str) -> pd.DataFrame:
    """Per detector label, the number of cells of ``protocol`` with each failure status
    (columns ``error``, ``timeout``, ``skipped``; 0 where none)."""
    part = frame[(frame["protocol"] == protocol) & (frame["status"] != "ok")]
    counts = part.groupby(["label", "status"]).size().unstack("status")
    labels = sorted(frame.loc[frame["protocol"] == protocol, "label"].unique())
    return (
        counts.reindex(index=labels, columns=["error", "timeout", "skipped"]).fillna(0).astype(int)
    )


def _cd_png(section: Section, path: Path) -> Path | None:
    from anobench import plots

    comp = section.comparison
    try:
        fig = plots.cd_diagram(
            comp.avg_ranks,
            comp.pvalues,
            alpha=comp.alpha,
            title=f"{section.title}: average rank over {len(comp.datasets)} data sets "
            f"(bars: no significant difference, {comp.method})",
        )
        plots.save(fig, path)
    except Exception as exc:  # a figure must never cost the report
        logger.warning("no CD diagram for %s: %s", section.title, exc)
        return None
    return path


def _families(labels: pd.Series, detectors: pd.Series) -> dict[str, str]:
    from anobench.registry import detector_registry

    registry = detector_registry()
    out = {}
    for label, name in zip(labels, detectors, strict=True):
        try:
            out[label] = registry.load(name).family
        except Exception:
            out[label] = "unknown"
    return out


def write_plots(frame: pd.DataFrame, store: RunStore, folder: Path) -> list[FigureFile]:
    """Write the report's PNG plots (ROC-AUC based) into ``folder``; a plot that fails is
    logged and left out."""
    from anobench import plots

    folder.mkdir(parents=True, exist_ok=True)
    written: list[FigureFile] = []

    def emit(name: str, caption: str, group: str, make: Any) -> None:
        try:
            fig = make()
        except Exception as exc:
            logger.warning("plot %s failed: %s", name, exc)
            return
        path = folder / f"{name}.png"
        plots.save(fig, path)
        written.append(FigureFile(path, caption, group))

    ok = frame[frame["status"] == "ok"]
    pairs = ok.drop_duplicates("label")
    families = _families(pairs["label"], pairs["detector"])
    for protocol in sorted(frame["protocol"].unique()):
        table = leaderboard(frame, "roc_auc", protocol)
        if table.empty:
            continue
        means = table[table.attrs["datasets"]]
        group = f"protocol {protocol}"
        emit(
            f"heatmap_{protocol}",
            f"ROC-AUC per data set and detector ({protocol})",
            group,
            lambda m=means: plots.heatmap(m, title="ROC-AUC"),
        )
        emit(
            f"ranks_{protocol}",
            f"Rank distribution by ROC-AUC ({protocol})",
            group,
            lambda m=means: plots.rank_distribution(m.rank(axis=0, ascending=False)),
        )
        part = ok[ok["protocol"] == protocol]
        runtime = part.assign(seconds=part["fit_seconds"] + part["score_seconds"]).groupby("label")
        summary = pd.DataFrame(
            {"seconds": runtime["seconds"].mean(), "value": runtime["roc_auc"].mean()}
        )
        summary["family"] = [families.get(lab, "unknown") for lab in summary.index]
        emit(
            f"runtime_{protocol}",
            f"Runtime vs ROC-AUC ({protocol})",
            group,
            lambda s=summary: plots.runtime_vs_metric(s),
        )
        for dataset in sorted(part["dataset"].unique()):
            _dataset_plots(part[part["dataset"] == dataset], store, protocol, dataset, emit)
    return written


def _dataset_plots(
    part: pd.DataFrame, store: RunStore, protocol: str, dataset: str, emit: Any
) -> None:
    """Curves, score distributions and (image models) reconstructions and latent codes of
    one data set, from the first seed's stored scores."""
    from anobench import plots

    seed = part["seed"].min()
    cells = part[part["seed"] == seed]
    loaded = {}
    for label, cell_id in zip(cells["label"], cells["cell_id"], strict=True):
        arrays = store.scores(cell_id)
        if arrays is not None:
            loaded[label] = arrays
    if not loaded:
        return
    safe = dataset.replace("/", "-").replace("(", "").replace(")", "").replace("=", "")
    stem = f"{protocol}_{safe}"
    group = f"{dataset} ({protocol}, seed {seed})"
    scores = {label: (a["y_test"], a["scores"]) for label, a in sorted(loaded.items())}
    emit(
        f"curves_{stem}",
        f"ROC and precision-recall curves: {group}",
        group,
        lambda: plots.curves(scores, title=group),
    )
    emit(
        f"scores_{stem}",
        f"Normal vs anomalous test scores: {group}",
        group,
        lambda: plots.score_distributions(scores, title=group),
    )
    for label, a in sorted(loaded.items()):
        if "reconstructions" in a:
            emit(
                f"recon_{stem}_{label}",
                f"{label}: inputs and reconstructions, {group}",
                group,
                lambda a=a, label=label: plots.reconstruction_grid(
                    a["images"],
                    a["reconstructions"],
                    a["image_scores"],
                    a["image_labels"],
                    title=f"{label} on {dataset}: most (left) and least anomalous test images",
                ),
            )
        if "codes" in a:
            emit(
                f"latent_{stem}_{label}",
                f"{label}: latent codes, {group}",
                group,
                lambda a=a, label=label: plots.latent_view(
                    a["codes"], a["code_labels"], title=f"{label} latent codes on {dataset}"
                ),
            )
