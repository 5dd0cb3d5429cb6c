"""Text of a published protocol's effect
(:class:`anobench.results.protocol_effect.ProtocolEffect`)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from tabulate import tabulate

from anobench.metrics.cell import metric as metric_info
from anobench.results.protocol_effect import ProtocolEffect

__all__ = ["format_effect", "mover_table", "spearman_text"]


def _f(value: Any, sign: bool = False) -> str:
    return "" if pd.isna(value) else (f"{value:+.4f}" if sign else f"{value:.4f}")


def format_effect(effect: ProtocolEffect) -> str:
    """Markdown: the preset's flaws, the rank correlation, the mean difference per
    detector and the top movers with their mechanisms."""
    e, title = effect, metric_info(effect.metric).title
    text = [e.preset.describe().replace("known flaws:", "\nKnown flaws:"), ""]
    if e.cells.empty:
        return "\n".join([*text, f"(no detector and data set has an ok {title} under both)"])
    text += [
        f"Spearman rank correlation of the detectors' mean {title} under {e.preset.name} and "
        f"under {e.clean}, over the data sets every detector has under both: "
        f"{spearman_text(e)}.",
        "",
    ]
    if e.cells["clean_train_anomalies_removed"].eq(False).all():
        text += ["Both protocols train on the training part with its anomalies.", ""]
    headers, rows = mover_table(e)
    per = e.cells.groupby("detector").agg(
        n_sets=("dataset", "size"),
        mean_pub=("published_mean", "mean"),
        mean_clean=("clean_mean", "mean"),
        mean_diff=("difference", "mean"),
    )
    text += [
        f"Mean over each detector's paired data sets ({e.preset.name} - {e.clean}):",
        "",
        tabulate(
            [
                [r.Index, int(r.n_sets), _f(r.mean_pub), _f(r.mean_clean), _f(r.mean_diff, True)]
                for r in per.itertuples()
            ],
            headers=["detector", "sets", e.preset.name, e.clean, "difference"],
            tablefmt="github",
            disable_numparse=True,
        ),
        "",
        f"Largest differences (top {len(e.movers)}), with what was recorded for the data set:",
        "",
        tabulate(rows, headers, tablefmt="github", disable_numparse=True),
    ]
    return "\n".join(text)


def mover_table(effect: ProtocolEffect) -> tuple[list[str], list[list[str]]]:
    """Headers and text rows of ``effect.movers`` (for the Markdown and HTML pages)."""
    headers = ["detector", "data set", effect.preset.name, effect.clean, "difference"]
    rows = [
        [r.detector, r.dataset, _f(r.published_mean), _f(r.clean_mean),
         _f(r.difference, True), r.mechanism]
        for r in effect.movers.itertuples()
    ]  # fmt: skip
    return [*headers, "recorded facts"], rows


def spearman_text(effect: ProtocolEffect) -> str:
    """E.g. ``"0.85 (n=13 detectors, 40 data sets)"`` or ``"n/a (n=2 detectors ...)"``."""
    value = "n/a" if effect.spearman is None else f"{effect.spearman:.2f}"
    return f"{value} (n={effect.n_detectors} detectors, {effect.n_datasets} data sets)"
