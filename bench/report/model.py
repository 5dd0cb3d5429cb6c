"""The report of a run as one object, computed once: :class:`Report`.

A :class:`Report` holds the tidy table of the current suite expansion
(:func:`anobench.results.table.run_frame`, read once), one :class:`Board` per protocol and
metric (its leaderboard, also in long form, and its statistics: bootstrap CIs, average
ranks, Friedman and post-hoc tests, probabilities of improvement, missing cells), the
figures drawn, the comparisons with published tables, what each published protocol does
against its clean one, the stale records and the failures. The renderers
(:mod:`anobench.report.render.text` for the console and Markdown,
:mod:`anobench.report.render.csv_latex`
for CSV and LaTeX, :mod:`anobench.report.render.html` for the page) only read it.

Built in steps so the figures can be drawn while the statistics are computed:
:func:`collect` (the table and the leaderboards), :func:`add_statistics` and
:func:`add_published`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from anobench.execution.store import RunStore
from anobench.metrics.cell import Metric, applies, leaderboard_metrics
from anobench.metrics.cell import metric as metric_info
from anobench.paths import slug
from anobench.plan import presets
from anobench.plan.suite import PublishedReference
from anobench.results.leaderboard import leaderboard, long_form, missing_cells
from anobench.results.published import PublishedComparison, comparisons
from anobench.results.selection_boards import GRID_WARNING, grid_detectors
from anobench.results.table import run_frame, unreadable_count

__all__ = [
    "FAILED_STATUSES",
    "Board",
    "FigureFile",
    "Highlight",
    "Report",
    "add_published",
    "add_statistics",
    "collect",
    "file_stem",
    "flaws_markdown",
    "protocol_title",
    "published_flaws",
]

logger = logging.getLogger(__name__)

#: statuses of a cell that ran and failed (``skipped`` and ``missing`` are not failures)
FAILED_STATUSES = ("error", "timeout", "oom")


def file_stem(text: str) -> str:
    """``text`` as a report file name stem: lower-case letters, digits, ``-`` and ``_``
    only (no dot, no space: safe in LaTeX's ``\\includegraphics`` and every shell);
    see :func:`anobench.paths.slug` for long names."""
    return slug(text.lower()).replace(".", "-")


def protocol_title(metric_title: str, protocol: str) -> str:
    """A leaderboard's title: ``"ROC-AUC, published protocol: adbench-2022"`` under a
    published preset, ``"ROC-AUC, protocol novelty"`` under a clean protocol."""
    if presets.get(protocol) is not None:
        return f"{metric_title}, published protocol: {protocol}"
    return f"{metric_title}, protocol {protocol}"


def flaws_markdown(protocol: str) -> str:
    """Under a published preset, its :meth:`~anobench.plan.presets.Preset.describe` text as
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


@dataclass
class FigureFile:
    """A figure of the report: its PNG file (a PDF and an SVG of the same stem lie
    beside it when drawn), a caption and a group name."""

    path: Path
    caption: str
    group: str

    def formats(self) -> list[Path]:
        """The figure's files that exist: PNG, then PDF and SVG."""
        return [p for p in (self.path.with_suffix(s) for s in (".png", ".pdf", ".svg"))
                if p.is_file()]  # fmt: skip


@dataclass
class Board:
    """One leaderboard (a protocol and a metric) and its statistics.

    ``table``: :func:`anobench.results.leaderboard.leaderboard`; ``summary``
    (:func:`anobench.results.stats.summary`), ``comparison``
    (:func:`anobench.results.stats.rank_test`),
    ``poi`` (probability of improvement matrix) and ``missing`` (cells without a result
    by status) once :func:`add_statistics` ran (``None`` for an empty leaderboard);
    ``cd``: the critical-difference diagram, when drawn.
    """

    protocol: str
    metric: str
    table: pd.DataFrame
    summary: pd.DataFrame | None = None
    comparison: Any = None
    missing: pd.DataFrame | None = None
    poi: pd.DataFrame | None = None
    cd: Path | None = None

    @property
    def info(self) -> Metric:
        return metric_info(self.metric)

    @property
    def title(self) -> str:
        return protocol_title(self.info.title, self.protocol)

    @property
    def stem(self) -> str:
        """File-name part, e.g. ``novelty_f1_at_top-k_oracle``."""
        return file_stem(f"{self.protocol}_{self.info.stem}")

    @property
    def long(self) -> pd.DataFrame:
        """The leaderboard in long form (:func:`anobench.results.leaderboard.long_form`)."""
        return long_form(self.table, self.protocol, self.metric)


@dataclass
class Highlight:
    """What a reader wants first from one leaderboard: the best detectors (``leaders``:
    detector, mean, CI, average rank, coverage text), how many were ranked, the failed,
    missing and not computed cells, the saturated data sets and what the tests can
    separate (``verdict``)."""

    protocol: str
    metric: str
    title: str
    leaders: list[dict[str, Any]]
    n_ranked: int
    n_detectors: int
    n_sets: int
    failed: int
    missing: int
    saturated: list[str]
    verdict: str
    separable: bool


@dataclass
class Report:
    """Everything a run's report shows (see the module docstring)."""

    run_dir: Path
    manifest: dict[str, Any]
    frame: pd.DataFrame
    stale: pd.DataFrame
    boards: list[Board]
    invocations: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    figures: list[FigureFile] = field(default_factory=list)
    comparisons: list[PublishedComparison] = field(default_factory=list)
    effects: list[Any] = field(default_factory=list)
    posthoc: str = "wilcoxon-holm"
    #: the report folder, once written (or kept)
    path: Path | None = None
    #: one :class:`anobench.results.selection_boards.SelectionBoard` per protocol and metric (a
    #: suite with grids); empty otherwise
    selections: list[Any] = field(default_factory=list)
    #: sensitivity figures: ``(protocol, detector)`` -> PNG
    selection_figures: dict[tuple[str, str], Path] = field(default_factory=dict)

    def relocate(self, old: Path, new: Path) -> None:
        """Point every written file under ``old`` (a folder) to ``new`` instead (the
        report is written in a temporary folder, then renamed into place)."""

        def moved(path: Path | None) -> Path | None:
            if path is None or not path.is_relative_to(old):
                return path
            return new / path.relative_to(old)

        for f in self.figures:
            f.path = moved(f.path) or f.path
        for b in self.boards:
            b.cd = moved(b.cd)
        for c in self.comparisons:
            c.markdown, c.csv = moved(c.markdown), moved(c.csv)
        self.selection_figures = {k: moved(v) or v for k, v in self.selection_figures.items()}

    @property
    def grid_warning(self) -> str:
        """Said under every leaderboard that lists configurations of one detector side by
        side (a grid): its best row is a choice made with the test labels."""
        found = grid_detectors(self.frame[self.frame["status"] != "missing"])
        return f"{GRID_WARNING} (grids: {', '.join(found)})" if found else ""

    @property
    def suite(self) -> dict[str, Any]:
        return self.manifest.get("suite") or {}

    @property
    def status_counts(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.frame["status"].value_counts().items()}

    @property
    def n_missing(self) -> int:
        """Cells of the suite expansion that never ran."""
        return self.status_counts.get("missing", 0)

    @property
    def failures(self) -> pd.DataFrame:
        """The cells that did not finish ok (every status but ``ok``)."""
        bad = self.frame[self.frame["status"] != "ok"]
        return bad.sort_values(["status", "label", "dataset", "seed"])

    @property
    def n_failed(self) -> int:
        """Cells that ran and failed (error, timeout, oom)."""
        return int(self.frame["status"].isin(FAILED_STATUSES).sum())

    @property
    def protocols(self) -> list[str]:
        return sorted({b.protocol for b in self.boards})

    def board(self, protocol: str, metric: str) -> Board | None:
        return next((b for b in self.boards if (b.protocol, b.metric) == (protocol, metric)), None)

    @property
    def leaderboards(self) -> pd.DataFrame:
        """Every leaderboard in long form, one row per protocol, metric, detector and data
        set (see :func:`anobench.results.leaderboard.long_form`)."""
        parts = [b.long for b in self.boards if not b.table.empty]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def highlights(self, *, top: int = 3) -> list[Highlight]:
        """A :class:`Highlight` per leaderboard with statistics, headline metrics first."""
        out = []
        for b in sorted(self.boards, key=lambda b: (not b.info.headline, b.protocol)):
            if b.summary is None or b.comparison is None:
                continue
            out.append(_highlight(b, self.frame, top))
        return out


def _highlight(b: Board, frame: pd.DataFrame, top: int) -> Highlight:
    from anobench.results.stats import sets_needed

    s, c = b.summary, b.comparison
    assert s is not None
    ranked = s[s["ranked"].astype(bool)]
    leaders = [
        {"detector": str(det), "mean": float(r["mean"]), "ci_low": float(r["ci_low"]),
         "ci_high": float(r["ci_high"]), "avg_rank": float(r["avg_rank"]),
         "coverage": f"{int(r['n_datasets'])}/{int(r['of'])}"}
        for det, r in ranked.head(top).iterrows()
    ]  # fmt: skip
    part = frame[frame["protocol"] == b.protocol]
    no_value = (part["status"] == "ok") & part[b.metric].isna()
    missing = int((part["status"] == "missing").sum() + no_value.sum())
    if not c.testable:
        verdict = f"no test: {len(c.detectors)} ranked detector(s) on {len(c.datasets)} data set(s)"
        separable = False
    elif not c.can_detect:
        separable = False
        verdict = (
            f"cannot separate: with {len(c.datasets)} data sets no pair of "
            f"{len(c.detectors)} detectors can be significant (needs "
            f"{sets_needed(c.method, len(c.detectors), c.alpha)})"
        )
    else:
        pairs = c.significant_pairs()
        separable = bool(pairs)
        friedman = f"Friedman p = {c.p_value:.2g}; " if np.isfinite(c.p_value) else ""
        verdict = f"{friedman}{len(pairs)} of {c.n_pairs} pairs differ (alpha = {c.alpha})"
    return Highlight(
        b.protocol, b.metric, b.title, leaders, len(ranked), len(s), len(c.datasets),
        int(part["status"].isin(FAILED_STATUSES).sum()), missing, list(c.saturated),
        verdict, separable,
    )  # fmt: skip


def _suite_reference(suite: dict[str, Any]) -> PublishedReference | None:
    """The suite's ``[reference]`` section, or ``None`` (an unreadable one, e.g. from an
    older anobench, is a logged warning)."""
    if not suite.get("reference"):
        return None
    try:
        return PublishedReference.model_validate(suite["reference"])
    except ValidationError as exc:
        logger.warning("the suite's [reference] section is not understood, ignored: %s", exc)
        return None


def _ran_ids(frame: pd.DataFrame) -> pd.Series:
    return frame.loc[frame["status"] != "missing", "cell_id"]


def collect(store: RunStore) -> Report:
    """The :class:`Report` of ``store``'s current suite expansion, with its leaderboards
    (no statistics yet). Raises ``FileNotFoundError`` if the run has no readable record."""
    covered = run_frame(store)
    frame = covered.frame
    if frame.empty:
        unreadable = unreadable_count(store)
        if unreadable:
            raise FileNotFoundError(
                f"{store.root} holds no record this anobench can read: {unreadable} "
                "record(s) of an older schema or damaged. Run the suite again into it (they "
                f"are then replaced) or remove them with `anobench prune {store.root}`."
            )
        raise FileNotFoundError(f"{store.root} holds no cell records (is it a run directory?)")
    boards = [
        Board(protocol, metric, leaderboard(frame, metric, protocol))
        for protocol in sorted(frame["protocol"].unique())
        for metric in leaderboard_metrics()
        if metric in frame.columns and applies(metric, protocol)
    ]
    files: dict[str, str] = {}
    for record in store.records(_ran_ids(frame)):
        files.update((record.get("split") or {}).get("files") or {})
    return Report(
        store.root, store.manifest(), frame, covered.stale, boards,
        invocations=store.invocations(), files=files,
    )  # fmt: skip


def add_statistics(report: Report, posthoc: str = "wilcoxon-holm") -> None:
    """Fill every non-empty board's ``summary``, ``comparison``, ``poi`` and ``missing``
    (the leaderboard's own ranking input, so every table ranks alike)."""
    from anobench.results import effects, stats

    report.posthoc = posthoc
    for b in report.boards:
        if b.table.empty:
            continue
        means = b.table.attrs["ranking"]
        seeds = effects.seed_values(report.frame[report.frame["protocol"] == b.protocol], b.metric)
        st = stats.standings(means)
        b.summary = stats.summary(means, seeds=seeds)
        b.comparison = stats.rank_test(means, method=posthoc)
        b.poi = effects.poi_matrix({d: seeds[d].loc[st.datasets] for d in st.ranked})
        b.missing = missing_cells(report.frame, b.protocol, b.metric)


def add_published(report: Report, store: RunStore) -> None:
    """Fill ``comparisons`` (each cell against the published tables) and ``effects``
    (each published protocol against its clean one, ROC-AUC)."""
    from anobench.results.protocol_effect import protocol_effect, with_split_details

    frame = report.frame
    report.comparisons = comparisons(frame, _suite_reference(report.suite))
    names = sorted({str(p) for p in frame["protocol"].dropna()})
    if not any(presets.get(p) for p in names):
        return
    detailed = with_split_details(frame, store.records(_ran_ids(frame)))
    for name in names:
        preset = presets.get(name)
        effect = protocol_effect(detailed, preset, "roc_auc") if preset else None
        if effect is not None:
            report.effects.append(effect)
