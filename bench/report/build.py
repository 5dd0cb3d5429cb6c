"""The report of a run, written to ``RUN_DIR/report/``: computed once into a
:class:`~anobench.report.model.Report` (the tidy table, every leaderboard of
:mod:`anobench.results.leaderboard` with its statistics, figures, comparisons with published
results), then rendered by :mod:`anobench.report.render.csv_latex` (CSV, LaTeX),
:mod:`anobench.report.render.text` (Markdown) and :mod:`anobench.report.render.html` (the page). It
covers the
current suite expansion only (:func:`anobench.results.table.run_frame`)."""

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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from anobench import settings
from anobench.execution.executors.base import available_cores
from anobench.execution.store import RunStore
from anobench.report.figure_pool import FigurePool
from anobench.report.figures import collect_figures, submit_cd, submit_plots
from anobench.report.model import (
    FigureFile,
    Report,
    add_published,
    add_statistics,
    collect,
    flaws_markdown,
    protocol_title,
    published_flaws,
)
from anobench.report.plots.charts import FORMATS
from anobench.report.render import html
from anobench.report.render.csv_latex import write_csv, write_latex
from anobench.report.render.selection import write_selection
from anobench.report.render.text import stale_text, write_markdown
from anobench.report.selection import add_selection, sensitivity_figures

__all__ = [
    "INPUTS_FILE",
    "FigureFile",
    "Report",
    "flaws_markdown",
    "inputs_key",
    "make_report",
    "protocol_title",
    "published_flaws",
    "write_report",
]

logger = logging.getLogger(__name__)


#: in ``report/``: the key of the inputs the report was built from
INPUTS_FILE = ".inputs"


def inputs_key(run_dir: Path, posthoc: str, plots: bool) -> str:
    """A key that changes whenever the report of ``run_dir`` could: every record and
    score file (name, size, modification time), the suite and its expansion, the
    options, anobench's own
    code (its modules' sizes and times) and the published reference tables in use."""
    import hashlib
    import importlib.util

    from anobench.provenance import VERSION

    digest = hashlib.sha256(f"{VERSION}|{posthoc}|{plots}".encode())

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
    # the built-in plugin packages' folders, found without importing them
    for name in ("anobench", "anobench.detectors", "anobench.datasets"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            add(Path(spec.origin).parent.rglob("*.py"))
    reference_dir = settings.current().reference_dir
    digest.update(f"reference={reference_dir}\n".encode())
    if reference_dir is not None and reference_dir.is_dir():
        add(reference_dir.rglob("*"))
    return digest.hexdigest()


def write_report(run_dir: Path | str, **options: Any) -> Path:
    """Write ``RUN_DIR/report/`` and return its path (:func:`make_report`, same options)."""
    report = make_report(run_dir, **options)
    assert report.path is not None
    return report.path


def make_report(
    run_dir: Path | str,
    *,
    posthoc: str = "wilcoxon-holm",
    plots: bool = True,
    rebuild: bool = True,
    formats: Sequence[str] = FORMATS,
    dataset_formats: Sequence[str] = (".png",),
) -> Report:
    """Compute the :class:`~anobench.report.model.Report` of ``run_dir``, write it to
    ``RUN_DIR/report/`` and return it (its ``path`` is the folder).

    Contents: ``results.csv`` / ``results.parquet`` (tidy table) and
    ``leaderboards.csv`` (every leaderboard in long form); for every protocol and metric
    ``leaderboard_<protocol>_<metric>.md`` / ``.csv`` / ``.tex`` (data sets as rows when
    they outnumber the detectors, then also ``_by_dataset.csv``), ``stats_<...>.md`` /
    ``.csv`` / ``.tex`` (mean, bootstrap CI, average rank, coverage, missing cells;
    Friedman and ``posthoc`` tests), ``pvalues_<...>.csv``, ``poi_<...>.csv`` and
    ``cd_<...>``; ``plots/`` (heatmap, ranks, runtime, a per-data-set overview of ROC/PR
    curves and score distributions, image reconstructions and latent codes); the summary
    figures (heatmap, ranks, runtime, CD diagrams) as PNG and in the other ``formats``
    (PDF and SVG by default), the per-data-set ones in ``dataset_formats`` (PNG by
    default: their vector files are large and slow to write), figures with
    unchanged inputs copied from the previous report (:mod:`anobench.report.figure_pool`); and
    ``index.html``, the page that opens with a summary per protocol and metric and links
    the figures. Under a published protocol (:mod:`anobench.plan.presets`) every title says
    ``published protocol: <name>`` and lists its known flaws;
    ``reference_<protocol>_<metric>.md`` / ``.csv`` compare each cell with the published
    table and ``protocol_effect_<preset>.md`` / ``.csv`` set the preset against its clean
    protocol. ``plots=False`` skips the figures. Every file name is lower-case letters,
    digits, ``-``, ``_`` and one ``.`` before the suffix.

    The report is built in a temporary folder beside it and then put in place, so a run
    killed mid-report leaves the previous report whole. Raises ``FileNotFoundError`` if
    the run has no records. ``rebuild=False`` keeps an existing report built from the
    same inputs (:func:`inputs_key`) instead of writing it again (the returned report
    then has its leaderboards and comparisons, not its statistics).
    """
    run_dir = Path(run_dir)
    final = run_dir / "report"
    key = inputs_key(run_dir, posthoc, plots) + "|" + ",".join([*formats, "/", *dataset_formats])
    store = RunStore(run_dir)
    if not rebuild:
        with contextlib.suppress(OSError):
            if (final / INPUTS_FILE).read_text() == key and (final / "index.html").is_file():
                logger.info("report of %s is up to date: kept", run_dir)
                report = collect(store)
                add_published(report, store)
                add_selection(report, store)
                report.path = final
                return report
    report = collect(store)
    if not report.stale.empty:
        logger.warning("%s", stale_text(report.stale, report.run_dir))
    _remove_abandoned(run_dir)
    out = Path(tempfile.mkdtemp(dir=run_dir, prefix=".report-"))
    try:
        _write_into(out, report, store, posthoc, plots, tuple(formats), tuple(dataset_formats))
        (out / INPUTS_FILE).write_text(key)
        os.chmod(out, 0o777 & ~_umask())
        _swap(out, final)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    report.relocate(out, final)
    report.path = final
    logger.info("report written to %s", final)
    return report


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
    out: Path,
    report: Report,
    store: RunStore,
    posthoc: str,
    plots: bool,
    formats: tuple[str, ...],
    dataset_formats: tuple[str, ...] = (".png",),
) -> None:
    """Complete ``report`` and write every file of it into the (new, empty) folder
    ``out``. The figures are drawn by worker processes while the statistics are
    computed."""
    previous = store.root / "report"
    workers = max(1, available_cores() - 1) if plots else 0
    pool = FigurePool(workers, out, previous, formats=tuple(dict.fromkeys((".png", *formats))))
    try:
        if plots:
            submit_plots(report, store, out / "plots", pool, dataset_formats)
        add_statistics(report, posthoc)
        if plots:
            for i, board in enumerate(report.boards):
                if board.comparison is not None and board.comparison.testable:
                    submit_cd(board, out, pool, i)
        add_published(report, store)
        add_selection(report, store)
        if plots and report.selections:
            report.selection_figures = sensitivity_figures(
                report.selections, report, out / "plots", formats
            )
        collect_figures(report, pool)
    finally:
        pool.close()
    write_csv(report, out)
    write_markdown(report, out)
    write_latex(report, out)
    write_selection(report.selections, out)
    html.write_html(out / "index.html", report)
