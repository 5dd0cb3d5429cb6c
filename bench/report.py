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

from anobench.metrics import Metric, leaderboard_metrics
from anobench.metrics import metric as metric_info
from anobench.reference import Reference, write_comparisons
from anobench.store import RunStore, export_frame, run_frame, stale_summary, unreadable_count

logger = logging.getLogger(__name__)


def leaderboard(
    frame: pd.DataFrame, metric: str, protocol: str, *, min_coverage: float = 1.0
) -> pd.DataFrame:
    """Numeric leaderboard of one protocol and metric.

    Ranks and means come from :func:`anobench.stats.standings` (the one rank definition
    of the report): they are over the data sets every ranked detector covers, and a
    detector covering less than ``min_coverage`` of the data sets is listed apart (not
    ranked) with its coverage, so a failure never improves a standing.

    Returns
    -------
    DataFrame indexed by detector label: the ranked detectors by average rank (1 =
    best), then the ones not ranked (by coverage). Columns ``<dataset>`` (mean over ok
    seeds, NaN where none), ``<dataset>:std`` (std over ok seeds, ddof=1; NaN with one),
    ``<dataset>:ok`` / ``<dataset>:n`` (ok and total seeds), ``<dataset>:status`` (the
    most common failure status when no seed is ok), ``<dataset>:subsampled`` (train or
    test rows were subsampled by ``max_train`` / ``max_test``), ``ranked``, ``avg_rank``
    and ``mean`` (NaN when not ranked), ``mean_covered`` (over the detector's own data
    sets: not comparable across detectors), ``n_datasets`` (data sets with a value) and
    ``missing`` (cells without a result by status, e.g. ``"3 skipped, 1 timeout"``) and
    ``transductive`` (a batch-dependent detector: a row's score depends on the rows
    scored with it).
    ``attrs``: ``ranking`` (detectors x data sets: the means every ranking, statistic and
    rank plot of the report uses, NaN where a detector lacks a value on some seed),
    ``datasets``, ``n_sets`` (data sets with any value), ``saturated`` and
    ``note`` (what the ranks are over).
    """
    from anobench.stats import standings

    part = frame[frame["protocol"] == protocol]
    if part.empty or metric not in part.columns:
        return pd.DataFrame()
    # an ok cell without this metric (e.g. no label-free threshold: calibration refused,
    # or a batch-dependent detector) is counted as "not computed", never shown as NaN
    no_value = (part["status"] == "ok") & part[metric].isna()
    part = part.assign(status=part["status"].where(~no_value, "not computed"))
    ok = part[part["status"] == "ok"]
    grouped = ok.groupby(["label", "dataset"])[metric]
    means = grouped.mean().unstack("dataset")
    stds = grouped.std(ddof=1).unstack("dataset")
    counts = part.groupby(["label", "dataset"]).size().unstack("dataset")
    oks = ok.groupby(["label", "dataset"]).size().unstack("dataset")
    failed = part[part["status"] != "ok"]
    failures = (
        failed.groupby(["label", "dataset"])["status"]
        .agg(lambda s: s.value_counts().index[0])
        .unstack("dataset")
    )
    by_status = failed.groupby(["label", "status"]).size()
    if "subsampled" in part.columns:
        subsampled = part.groupby(["label", "dataset"])["subsampled"].any().unstack("dataset")
    else:
        subsampled = pd.DataFrame()
    labels = sorted(part["label"].unique())
    datasets = sorted(part["dataset"].unique())
    means = means.reindex(index=labels, columns=datasets)
    # a data set counts as covered only when every seed there has a value, so a failed
    # seed can never help a standing (the shown mean keeps the ok seeds, marked k/n ok)
    complete = oks.reindex(index=labels, columns=datasets) == counts.reindex(
        index=labels, columns=datasets
    )
    ranking = means.where(complete)
    st = standings(ranking, min_coverage=min_coverage)
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
    columns["ranked"] = pd.Series({lab: lab in st.avg_rank.index for lab in labels})
    columns["avg_rank"] = st.avg_rank.reindex(labels)
    columns["mean"] = st.mean.reindex(labels)
    columns["mean_covered"] = means.mean(axis=1)
    columns["n_datasets"] = means.notna().sum(axis=1)
    columns["missing"] = pd.Series(
        {lab: _missing_text(by_status.get(lab, pd.Series(dtype=int))) for lab in labels}
    )
    if "transductive" in part.columns:
        batch = part.groupby("label")["transductive"].agg(lambda s: bool(s.fillna(False).any()))
        columns["transductive"] = batch.reindex(labels).fillna(False).astype(bool)
    else:
        columns["transductive"] = pd.Series(False, index=labels)
    table = pd.DataFrame(columns, index=labels)
    table.index.name = "detector"
    apart = sorted(
        (lab for lab in labels if lab not in st.avg_rank.index),
        key=lambda lab: (
            -table.loc[lab, "n_datasets"],
            -np.nan_to_num(table.loc[lab, "mean_covered"], nan=-1.0),
            lab,
        ),
    )
    table = table.loc[[*st.ranked, *apart]]
    table.attrs.update(
        ranking=ranking,
        datasets=datasets,
        n_sets=len(st.datasets),
        saturated=list(st.saturated),
        note=st.note(),
    )
    return table


#: failure statuses in the order a leaderboard names them (others follow, sorted)
_STATUS_ORDER = ("error", "timeout", "oom", "skipped", "missing", "not computed")


def _missing_text(counts: pd.Series) -> str:
    """``"3 skipped, 1 timeout"`` from status -> number of cells (``"none"`` if empty)."""
    counts = counts[counts > 0]
    order = [s for s in _STATUS_ORDER if s in counts.index]
    order += sorted(s for s in counts.index if s not in _STATUS_ORDER)
    return ", ".join(f"{int(counts[s])} {s}" for s in order) or "none"


#: appended to a leaderboard value whose cells ran on subsampled train or test rows
SUBSAMPLED_MARK = " †"


#: appended to the name of a saturated data set (every ranked detector near 1.0)
SATURATED_MARK = " ‡"

#: appended to the name of a batch-dependent (transductive) detector
BATCH_MARK = " §"


def _cell_text(row: pd.Series, ds: str) -> str:
    n, n_ok = int(row[f"{ds}:n"]), int(row[f"{ds}:ok"])
    if n == 0:
        return ""
    if n_ok == 0:
        status = row[f"{ds}:status"]
        return f"{status} ({n}/{n})" if n > 1 else str(status)
    # one ok seed has no spread: say n=1 rather than a std of 0
    text = f"{row[ds]:.3f} (n=1)" if n_ok == 1 else f"{row[ds]:.3f} ± {row[f'{ds}:std']:.3f}"
    if row.get(f"{ds}:subsampled", False):
        text += SUBSAMPLED_MARK
    if n_ok < n:
        text += f" ({n_ok}/{n} ok)"
    return text


def format_leaderboard(table: pd.DataFrame, tablefmt: str = "github") -> str:
    """Text of a :func:`leaderboard` table (Markdown by default), with footnotes after a
    blank line: what the ranks are over, then the marks used."""
    if table.empty:
        return "(no cells)"
    datasets = table.attrs["datasets"]
    saturated = set(table.attrs.get("saturated", []))
    n_sets = table.attrs.get("n_sets", len(datasets))
    rows, any_apart = [], False
    for label, row in table.iterrows():
        if row.get("ranked", True):
            rank = "" if np.isnan(row["avg_rank"]) else f"{row['avg_rank']:.2f}"
            mean = "" if np.isnan(row["mean"]) else f"{row['mean']:.3f}"
        else:
            any_apart = True
            rank = "not ranked"
            covered = row.get("mean_covered", np.nan)
            mean = "" if np.isnan(covered) else f"({covered:.3f})"
        name = f"{label}{BATCH_MARK}" if row.get("transductive", False) else str(label)
        rows.append(
            [name, rank, mean, f"{int(row['n_datasets'])}/{n_sets}", row.get("missing", "")]
            + [_cell_text(row, ds) for ds in datasets]
        )
    headers = [
        "detector",
        "avg rank",
        "mean",
        "sets",
        "missing cells",
        *(ds + (SATURATED_MARK if ds in saturated else "") for ds in datasets),
    ]
    text = str(tabulate(rows, headers=headers, tablefmt=tablefmt, disable_numparse=True))
    notes = [str(table.attrs.get("note", ""))]
    if any_apart:
        notes.append(
            "(mean) of a detector not ranked: over its own covered data sets, not comparable."
        )
    if saturated:
        notes.append(
            f"{SATURATED_MARK.strip()} saturated: every ranked detector is within 0.01 of 1.0 "
            "there (adds ties, not evidence)."
        )
    if table.get("transductive", pd.Series(dtype=bool)).any():
        notes.append(
            f"{BATCH_MARK.strip()} batch-dependent (transductive): a row's score depends on "
            "the other rows scored with it (the whole test set here)."
        )
    if any(SUBSAMPLED_MARK in str(cell) for row in rows for cell in row):
        mark = SUBSAMPLED_MARK.strip()
        notes.append(f"{mark} ran on subsampled rows (the suite's max_train / max_test)")
    return text + "".join(f"\n\n{n}" for n in notes if n)


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
    from anobench import effects, stats
    from anobench.html import write_html

    run_dir = Path(run_dir)
    store = RunStore(run_dir)
    covered = run_frame(store)
    frame = covered.frame
    if frame.empty:
        unreadable = unreadable_count(store)
        if unreadable:
            raise FileNotFoundError(
                f"{run_dir} holds no record this anobench can read: {unreadable} record(s) "
                "of an older schema or damaged. Run the suite again into it (they are then "
                f"replaced) or remove them with `anobench prune {run_dir}`."
            )
        raise FileNotFoundError(f"{run_dir} holds no cell records (is it a run directory?)")
    if not covered.stale.empty:
        logger.warning("%s", stale_summary(covered.stale, run_dir))
    out = run_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    export_frame(frame).to_csv(out / "results.csv", index=False)
    export_frame(frame).to_parquet(out / "results.parquet", index=False)
    sections: list[Section] = []
    for protocol in sorted(frame["protocol"].unique()):
        for metric in leaderboard_metrics():
            if metric not in frame.columns:
                continue
            table = leaderboard(frame, metric, protocol)
            info = metric_info(metric)
            stem = f"{protocol}_{info.stem}"
            title = f"{info.title}, protocol {protocol}"
            _marked(table, info).to_csv(out / f"leaderboard_{stem}.csv")
            (out / f"leaderboard_{stem}.md").write_text(
                f"# {title}\n\n"
                "Mean ± std over seeds (ddof=1; a value from one ok seed shows n=1); failures "
                "are shown as such, never as 0. Avg rank and mean are over the data sets every "
                "ranked detector covers; detectors covering fewer are listed apart with their "
                "coverage (see the notes under the table).\n\n" + format_leaderboard(table) + "\n"
            )
            section = Section(protocol, metric, title, table)
            if not table.empty:
                means = table.attrs["ranking"]  # the leaderboard's own ranking input
                seeds = effects.seed_values(frame[frame["protocol"] == protocol], metric)
                section.standings = st = stats.standings(means)
                section.summary = stats.summary(means, seeds=seeds)
                section.comparison = stats.compare(means, method=posthoc)
                section.poi = effects.poi_matrix({d: seeds[d].loc[st.datasets] for d in st.ranked})
                section.missing = missing_cells(frame, protocol, metric)
                stats_table = section.summary.join(section.missing)
                _marked(stats_table, info).to_csv(out / f"stats_{stem}.csv")
                _marked(section.comparison.pvalues, info).to_csv(out / f"pvalues_{stem}.csv")
                _marked(section.poi, info).to_csv(out / f"poi_{stem}.csv")
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
        out / "index.html",
        frame,
        store.manifest(),
        sections,
        figures,
        files=data_files(frame, store),
        stale=stale_summary(covered.stale, run_dir),
        invocations=store.invocations(),
    )
    logger.info("report written to %s", out)
    return out


def _marked(table: pd.DataFrame, info: Metric) -> pd.DataFrame:
    """``table`` with leading ``metric`` and ``oracle`` columns, for CSV files read on
    their own (an oracle metric is then visible in the file itself)."""
    out = table.copy()
    out.insert(0, "oracle", info.oracle)
    out.insert(0, "metric", info.key)
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
    standings: Any = None
    poi: pd.DataFrame | None = None


@dataclass
class FigureFile:
    """A plot written by :func:`write_plots`: its file, a caption and a group name."""

    path: Path
    caption: str
    group: str


def data_files(frame: pd.DataFrame, store: RunStore) -> dict[str, str]:
    """``{file: sha256}`` of every data file the covered cells read."""
    files: dict[str, str] = {}
    for record in store.records(frame.loc[frame["status"] != "missing", "cell_id"]):
        files.update((record.get("split") or {}).get("files") or {})
    return files


def missing_cells(frame: pd.DataFrame, protocol: str, metric: str | None = None) -> pd.DataFrame:
    """Per detector label, the number of cells of ``protocol`` with each failure status
    (columns ``error``, ``timeout``, ``skipped`` and every other non-ok status present,
    e.g. ``oom``, ``missing``; 0 where none). With ``metric``, ok cells without that
    metric count as ``not computed``."""
    if metric is not None and metric in frame.columns:
        no_value = (frame["status"] == "ok") & frame[metric].isna()
        frame = frame.assign(status=frame["status"].where(~no_value, "not computed"))
    part = frame[(frame["protocol"] == protocol) & (frame["status"] != "ok")]
    counts = part.groupby(["label", "status"]).size().unstack("status")
    labels = sorted(frame.loc[frame["protocol"] == protocol, "label"].unique())
    present = set(part["status"])
    columns = [s for s in _STATUS_ORDER if s in present or s in ("error", "timeout", "skipped")]
    columns += sorted(present - set(columns))
    return counts.reindex(index=labels, columns=columns).fillna(0).astype(int)


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
    families = dict(zip(ok["label"], ok["family"].fillna("unknown"), strict=True))
    for protocol in sorted(frame["protocol"].unique()):
        table = leaderboard(frame, "roc_auc", protocol)
        if table.empty:
            continue
        means = table.attrs["ranking"]
        group = f"protocol {protocol}"
        emit(
            f"heatmap_{protocol}",
            f"ROC-AUC per data set and detector ({protocol})",
            group,
            lambda m=table[table.attrs["datasets"]]: plots.heatmap(m, title="ROC-AUC"),
        )
        emit(
            f"ranks_{protocol}",
            f"Rank distribution by ROC-AUC ({protocol})",
            group,
            lambda m=means: plots.rank_distribution(m),
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
