"""Selection in a report: the boards of :mod:`anobench.results.selection_boards` computed from a
run directory (records, expansion roles and stored out-of-sample scores) and the
sensitivity figures (:func:`anobench.report.plots.selection.sensitivity`)."""

from __future__ import annotations

import logging
from pathlib import Path

from anobench.execution.store import RunStore
from anobench.metrics.cell import metric as metric_info
from anobench.paths import slug
from anobench.report.model import Report
from anobench.report.plots.charts import save
from anobench.report.plots.selection import sensitivity
from anobench.results.selection_boards import SelectionBoard, selection_boards, settings_of
from anobench.selection.rules import ANY_DETECTOR

__all__ = ["add_selection", "sensitivity_figures"]

logger = logging.getLogger(__name__)


def add_selection(report: Report, store: RunStore) -> None:
    """Fill ``report.selections`` when the run's suite selects (a grid, or a
    ``[selection]`` table)."""
    settings = settings_of(report.suite)
    if settings is None:
        return
    roles = {c["cell_id"]: c.get("selection_role") for c in (store.expansion() or [])}
    frame = report.frame
    report.selections = selection_boards(frame, settings, store.scores, roles)


def sensitivity_figures(
    boards: list[SelectionBoard], report: Report, folder: Path, formats: tuple[str, ...]
) -> dict[tuple[str, str], Path]:
    """Draw one sensitivity figure per protocol and grid detector (ROC-AUC boards, else
    the first metric) into ``folder``; return ``(protocol, detector) -> PNG``."""
    out: dict[tuple[str, str], Path] = {}
    by_protocol: dict[str, SelectionBoard] = {}
    for b in boards:
        if b.protocol not in by_protocol or b.metric == "roc_auc":
            by_protocol[b.protocol] = b
    folder.mkdir(parents=True, exist_ok=True)
    for protocol, b in sorted(by_protocol.items()):
        frame = report.frame[(report.frame["protocol"] == protocol)
                             & (report.frame["status"] == "ok")]  # fmt: skip
        for detector in sorted(set(b.long["group"]) - {ANY_DETECTOR}):
            part = frame[frame["detector"] == detector]
            grid = (
                part.groupby(["dataset", "label"])[b.metric].mean().rename("value")
                .reset_index().rename(columns={"label": "config"})
            )  # fmt: skip
            choices = (
                b.long[b.long["group"] == detector].groupby(["dataset", "rule"])["value"]
                .mean().reset_index()
            )  # fmt: skip
            if grid.empty:
                continue
            fig = sensitivity(grid, choices, detector=detector,
                              metric_title=metric_info(b.metric).title,
                              rules=[r.name for r in b.rules])  # fmt: skip
            name = f"sensitivity_{protocol}_{detector}".lower().replace(".", "-")
            path = folder / f"{slug(name)}.png"
            save(fig, path, formats=formats)
            out[(protocol, detector)] = path
    return out
