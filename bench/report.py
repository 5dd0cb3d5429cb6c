"""The report of a run, written to ``RUN_DIR/report/``: the tidy table, every leaderboard
(:mod:`anobench.leaderboard`) with its statistics and critical-difference diagram, plots,
comparisons with published results and one self-contained HTML page. It covers the
current suite expansion only (:func:`anobench.store.run_frame`)."""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from anobench import presets, settings
from anobench.executors import available_cores
from anobench.figure_pool import FigurePool
from anobench.leaderboard import format_leaderboard, leaderboard, missing_cells
from anobench.metrics import Metric, leaderboard_metrics
from anobench.metrics import metric as metric_info
from anobench.paths import confined, slug
from anobench.protocol_effect import with_split_details, write_effects
from anobench.reference import Reference
from anobench.reference_report import write_comparisons
from anobench.store import RunStore, export_frame, run_frame, stale_summary, unreadable_count

__all__ = [
    "FigureFile",
    "Section",
    "data_files",
    "flaws_markdown",
    "protocol_title",
    "published_flaws",
    "submit_plots",
    "write_report",
]

logger = logging.getLogger(__name__)


def protocol_title(metric_title: str, protocol: str) -> str:
    """A leaderboard's title: ``"ROC-AUC, published protocol: adbench-2022"`` under a
    published preset, ``"ROC-AUC, protocol novelty"`` under a clean protocol."""
    if presets.get(protocol) is not None:
        return f"{metric_title}, published protocol: {protocol}"
    return f"{metric_title}, protocol {protocol}"


def flaws_markdown(protocol: str) -> str:
    """Under a published preset, its :meth:`~anobench.presets.Preset.describe` text as
    Markdown (the title line, then the known flaws as a list) and a blank line; ``""``
    under a clean protocol."""
    preset = presets.get(protocol)
    if preset is None:
        return ""
    return preset.describe().replace("\nknown flaws:", "\n\nKnown flaws:\n") + "\n\n"


def published_flaws(protocol: str) -> str:
    """One console line under a published preset's leaderboard (``""`` for a clean
    protocol): how many known flaws it has and where they are listed."""
    preset = presets.get(protocol)
    if preset is None:
        return ""
    return (
        f"known flaws of {preset.name} ({len(preset.flaws)}): see the report (index.html, "
        f"leaderboard_{preset.name}_*.md)"
    )


def _suite_reference(suite: dict[str, Any]) -> Reference | None:
    """The suite's ``[reference]`` section, or ``None`` (an unreadable one, e.g. from an
    older anobench, is a logged warning)."""
    if not suite.get("reference"):
        return None
    try:
        return Reference.model_validate(suite["reference"])
    except ValidationError as exc:
        logger.warning("the suite's [reference] section is not understood, ignored: %s", exc)
        return None


#: in ``report/``: the key of the inputs the report was built from
INPUTS_FILE = ".inputs"


def inputs_key(run_dir: Path, posthoc: str, plots: bool) -> str:
    """A key that changes whenever the report of ``run_dir`` could: every record and
    score file (name, size, modification time), the suite and its expansion, the
    options, anobench's own
    code (its modules' sizes and times) and the published reference tables in use."""
    import hashlib

    import anobench
    import anobench.datasets
    import anobench.detectors

    digest = hashlib.sha256(f"{anobench.__version__}|{posthoc}|{plots}".encode())

    def add(paths: Any) -> None:
        for path in sorted(paths):
            with contextlib.suppress(OSError):
                st = path.stat()
                digest.update(f"{path}|{st.st_size}|{st.st_mtime_ns}\n".encode())

    # run.json: the expansion and the suite, not the history of invocations (a rerun
    # that ran nothing appends one and changes nothing the report shows)
    store = RunStore(run_dir)
    suite = store.manifest().get("suite")
    expansion = sorted(c.get("cell_id", "") for c in store.expansion() or [])
    digest.update(json.dumps([suite, expansion], sort_keys=True, default=str).encode())
    for sub in ("cells", "scores"):
        add((run_dir / sub).glob("*"))
    for package in (anobench, anobench.detectors, anobench.datasets):
        add(Path(package.__file__).parent.rglob("*.py"))
    reference_dir = settings.current().reference_dir
    digest.update(f"reference={reference_dir}\n".encode())
    if reference_dir is not None and reference_dir.is_dir():
        add(reference_dir.rglob("*"))
    return digest.hexdigest()


def write_report(
    run_dir: Path | str,
    *,
    posthoc: str = "wilcoxon-holm",
    plots: bool = True,
    rebuild: bool = True,
) -> Path:
    """Write ``RUN_DIR/report/`` and return its path.

    Contents: ``results.csv`` / ``results.parquet`` (tidy table); for every protocol and
    metric ``leaderboard_<protocol>_<metric>.md`` / ``.csv``, ``stats_<...>.md`` / ``.csv``
    (mean, bootstrap CI, average rank, coverage, missing cells; Friedman and ``posthoc``
    tests), ``pvalues_<...>.csv`` and ``cd_<...>.png``; ``plots/*.png`` (heatmap, ranks,
    runtime, a per-data-set overview of ROC/PR curves and score distributions, image
    reconstructions and latent codes; figures with unchanged inputs are copied from the
    previous report, see :mod:`anobench.figure_pool`); and ``index.html``, one
    self-contained page with all of it and the run's metadata. Under a published protocol
    (:mod:`anobench.presets`) every title says ``published protocol: <name>`` and lists its
    known flaws;
    ``reference_<protocol>_<metric>.md`` / ``.csv`` compare each cell with the published
    table (:func:`anobench.reference_report.write_comparisons`) and
    ``protocol_effect_<preset>.md`` / ``.csv`` set the preset against its clean protocol
    (:func:`anobench.protocol_effect.write_effects`). ``plots=False`` skips the figures
    (tables and statistics only).

    The report is built in a temporary folder beside it and then put in place, so a run
    killed mid-report leaves the previous report whole. Raises ``FileNotFoundError`` if
    the run has no records.

    ``rebuild=False`` keeps an existing report built from the same inputs
    (:func:`inputs_key`) instead of writing it again.
    """
    run_dir = Path(run_dir)
    final = run_dir / "report"
    key = inputs_key(run_dir, posthoc, plots)
    if not rebuild:
        with contextlib.suppress(OSError):
            if (final / INPUTS_FILE).read_text() == key and (final / "index.html").is_file():
                logger.info("report of %s is up to date: kept", run_dir)
                return final
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
    _remove_abandoned(run_dir)
    out = Path(tempfile.mkdtemp(dir=run_dir, prefix=".report-"))
    try:
        _write_into(out, frame, store, covered, posthoc, plots)
        (out / INPUTS_FILE).write_text(key)
        os.chmod(out, 0o777 & ~_umask())
        _swap(out, final)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    logger.info("report written to %s", final)
    return final


def _remove_abandoned(run_dir: Path, hours: float = 6.0) -> None:
    """Delete half-written report folders left by a killed report (older than ``hours``,
    so a report being written concurrently is left alone)."""
    limit = time.time() - hours * 3600
    for path in run_dir.glob(".report-*"):
        with contextlib.suppress(OSError):
            if path.is_dir() and path.stat().st_mtime < limit:
                shutil.rmtree(path, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _swap(new: Path, final: Path) -> None:
    """Put the finished folder ``new`` in place of ``final`` (two renames, so a reader
    sees the old report or the new one, never a mix; concurrent writers each install a
    whole report and the last one stays)."""
    for _ in range(5):
        aside = final.with_name(f".{final.name}-old-{uuid.uuid4().hex[:8]}")
        old: Path | None = aside
        try:
            os.rename(final, aside)
        except FileNotFoundError:
            old = None
        try:
            os.rename(new, final)
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            continue  # another writer installed one in between: move it aside again
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        return
    raise OSError(errno.EBUSY, f"could not replace {final}: other writers keep replacing it")


def _write_into(
    out: Path, frame: pd.DataFrame, store: RunStore, covered: Any, posthoc: str, plots: bool
) -> None:
    """Every file of the report, into the (new, empty) folder ``out``."""
    # figures are drawn by worker processes while the tables below are computed
    previous = store.root / "report"
    pool = FigurePool(max(1, available_cores() - 1) if plots else 0, out, previous)
    try:
        _write_files(out, frame, store, covered, posthoc, plots, pool)
    finally:
        pool.close()


def _write_files(
    out: Path,
    frame: pd.DataFrame,
    store: RunStore,
    covered: Any,
    posthoc: str,
    plots: bool,
    pool: FigurePool,
) -> None:
    from anobench import effects, stats
    from anobench.html import write_html

    run_dir = store.root
    if plots:
        submit_plots(frame, store, out / "plots", pool)
    export_frame(frame).to_csv(out / "results.csv", index=False)
    export_frame(frame).to_parquet(out / "results.parquet", index=False)
    sections: list[Section] = []
    for protocol in sorted(frame["protocol"].unique()):
        for metric in leaderboard_metrics():
            if metric not in frame.columns:
                continue
            table = leaderboard(frame, metric, protocol)
            info = metric_info(metric)
            stem = slug(f"{protocol}_{info.stem}")
            title = protocol_title(info.title, protocol)
            _marked(table, info).to_csv(out / f"leaderboard_{stem}.csv")
            (out / f"leaderboard_{stem}.md").write_text(
                f"# {title}\n\n"
                + flaws_markdown(protocol)
                + "Mean ± std over seeds (ddof=1; a value from one ok seed shows n=1); failures "
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
                    + flaws_markdown(protocol)
                    + stats.format_summary(section.summary, section.comparison, section.missing)
                    + "\n"
                )
                if plots and section.comparison.testable:
                    _submit_cd(section, out / f"cd_{stem}.png", pool, len(sections))
            sections.append(section)
    figures = []
    for path, (kind, *tag) in pool.wait():
        if kind == "cd":
            sections[tag[0]].cd_png = path
        else:
            figures.append(FigureFile(path, *tag))
    suite = store.manifest().get("suite") or {}
    comparisons = write_comparisons(frame, _suite_reference(suite), out)
    effects_written = []
    if any(presets.get(str(p)) for p in frame["protocol"].dropna().unique()):
        detailed = with_split_details(frame, store.records(_ran_ids(frame)))
        effects_written = write_effects(detailed, out)
    write_html(
        out / "index.html",
        frame,
        store.manifest(),
        sections,
        figures,
        files=data_files(frame, store),
        stale=stale_summary(covered.stale, run_dir),
        invocations=store.invocations(),
        comparisons=comparisons,
        effects=effects_written,
    )


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
    """A plot written for :func:`submit_plots`: its file, a caption and a group name."""

    path: Path
    caption: str
    group: str


def _ran_ids(frame: pd.DataFrame) -> pd.Series:
    return frame.loc[frame["status"] != "missing", "cell_id"]


def data_files(frame: pd.DataFrame, store: RunStore) -> dict[str, str]:
    """``{file: sha256}`` of every data file the covered cells read."""
    files: dict[str, str] = {}
    for record in store.records(_ran_ids(frame)):
        files.update((record.get("split") or {}).get("files") or {})
    return files


def _submit_cd(section: Section, path: Path, pool: FigurePool, index: int) -> None:
    comp = section.comparison
    pool.submit(
        path,
        "cd_diagram",
        comp.avg_ranks,
        comp.pvalues,
        alpha=comp.alpha,
        title=f"{section.title}: average rank over {len(comp.datasets)} data sets "
        f"(bars: no significant difference, {comp.method})",
        tag=("cd", index),
        local=True,  # this process has scipy and pandas loaded: one import of the rest
    )


def submit_plots(frame: pd.DataFrame, store: RunStore, folder: Path, pool: FigurePool) -> None:
    """Hand the report's PNG plots (ROC-AUC based) to ``pool``, to be written into
    ``folder``; each comes back from ``pool.wait()`` tagged ``("plot", caption, group)``."""
    folder.mkdir(parents=True, exist_ok=True)

    def emit(name: str, caption: str, group: str, function: str, *args: Any, **kw: Any) -> None:
        pool.submit(
            confined(folder, name, ".png"), function, *args, tag=("plot", caption, group), **kw
        )

    def emit_here(name: str, caption: str, group: str, function: str, *args: Any) -> None:
        # seaborn figures: this process imports seaborn anyway (CD diagrams), the workers
        # drawing the per-data-set figures never need to
        emit(name, caption, group, function, *args, local=True)

    ok = frame[frame["status"] == "ok"]
    families = dict(zip(ok["label"], ok["family"].fillna("unknown"), strict=True))
    for protocol in sorted(frame["protocol"].unique()):
        table = leaderboard(frame, "roc_auc", protocol)
        if table.empty:
            continue
        means = table.attrs["ranking"]
        group = (
            f"published protocol: {protocol}" if presets.get(protocol) else f"protocol {protocol}"
        )
        emit_here(
            f"heatmap_{protocol}",
            f"ROC-AUC per data set and detector ({protocol})",
            group,
            "heatmap",
            table[table.attrs["datasets"]],
        )
        emit_here(
            f"ranks_{protocol}",
            f"Rank distribution by ROC-AUC ({protocol})",
            group,
            "rank_distribution",
            means,
        )
        part = ok[ok["protocol"] == protocol]
        runtime = part.assign(seconds=part["fit_seconds"] + part["score_seconds"]).groupby("label")
        summary = pd.DataFrame(
            {"seconds": runtime["seconds"].mean(), "value": runtime["roc_auc"].mean()}
        )
        summary["family"] = [families.get(lab, "unknown") for lab in summary.index]
        emit_here(
            f"runtime_{protocol}",
            f"Runtime vs ROC-AUC ({protocol})",
            group,
            "runtime_vs_metric",
            summary,
        )
        for dataset in sorted(part["dataset"].unique()):
            _dataset_plots(part[part["dataset"] == dataset], store, protocol, dataset, emit)


def _dataset_plots(
    part: pd.DataFrame, store: RunStore, protocol: str, dataset: str, emit: Any
) -> None:
    """The data set's overview (curves and score distributions) and (image models)
    reconstructions and latent codes, from the first seed's stored scores."""
    seed = part["seed"].min()
    cells = part[part["seed"] == seed]
    loaded = {}
    for label, cell_id in zip(cells["label"], cells["cell_id"], strict=True):
        arrays = store.scores(cell_id)
        if arrays is not None:
            loaded[label] = arrays
    if not loaded:
        return
    stem = f"{protocol}_{dataset}"  # slugged by emit
    group = f"{dataset} ({protocol}, seed {seed})"
    scores = {label: (a["y_test"], a["scores"]) for label, a in sorted(loaded.items())}
    emit(
        f"overview_{stem}",
        f"ROC and precision-recall curves, normal vs anomalous scores: {group}",
        group,
        "dataset_overview",
        scores,
        title=group,
    )
    for label, a in sorted(loaded.items()):
        if "reconstructions" in a:
            emit(
                f"recon_{stem}_{label}",
                f"{label}: inputs and reconstructions, {group}",
                group,
                "reconstruction_grid",
                a["images"],
                a["reconstructions"],
                a["image_scores"],
                a["image_labels"],
                title=f"{label} on {dataset}: most (left) and least anomalous test images",
            )
        if "codes" in a:
            emit(
                f"latent_{stem}_{label}",
                f"{label}: latent codes, {group}",
                group,
                "latent_view",
                a["codes"],
                a["code_labels"],
                title=f"{label} latent codes on {dataset}",
            )
