"""What a published protocol does to the numbers: the same detectors and data sets under
a preset (:mod:`anobench.plan.presets`) and under its closest clean protocol
(:attr:`anobench.plan.presets.Preset.clean`), side by side.

For each preset ``P`` in a run whose clean protocol also ran, over the (detector, data
set) pairs with an ok result under both: the mean over ok seeds under each protocol and
their difference (``P`` minus clean); the Spearman rank correlation of the detectors'
means over the data sets every detector has under both (does the protocol change the
standings?); and the cells that move most, each with the facts recorded for its data
set under ``P`` that can explain it (resampling with replacement and the share of test
rows that then have an identical training row, subsampling, scaling, test size, whether
the clean training part had its anomalies removed). Only recorded facts are named: the
text says what differed, not why a detector reacted to it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from anobench.plan.presets import Preset
from anobench.record import CellResult

__all__ = [
    "DETAIL_COLUMNS",
    "ProtocolEffect",
    "dataset_facts",
    "mechanism",
    "protocol_effect",
    "split_details",
    "with_split_details",
]

logger = logging.getLogger(__name__)

#: facts of a preset's split read from the records (not all are in the tidy table)
DETAIL_COLUMNS = (
    "n_rows",
    "resampled_from",
    "resampled_to",
    "subsampled_from",
    "subsampled_to",
    "scaling",
)


def split_details(records: Iterable[CellResult]) -> pd.DataFrame:
    """``cell_id`` and :data:`DETAIL_COLUMNS` from each record's ``split`` dict (NaN /
    None where a record has no such fact, e.g. under a clean protocol)."""
    rows = []
    for rec in records:
        split = rec.split or {}
        resampled = split.get("resampled_with_replacement") or {}
        sub = split.get("subsampled")
        sub = sub if isinstance(sub, dict) else {}
        rows.append(
            {
                "cell_id": rec.cell_id,
                "n_rows": split.get("n_rows"),
                "resampled_from": resampled.get("from"),
                "resampled_to": resampled.get("to"),
                "subsampled_from": sub.get("from"),
                "subsampled_to": sub.get("to"),
                "scaling": split.get("scaling"),
            }
        )
    return pd.DataFrame(rows, columns=["cell_id", *DETAIL_COLUMNS])


def with_split_details(frame: pd.DataFrame, records: Iterable[CellResult]) -> pd.DataFrame:
    """``frame`` with the :data:`DETAIL_COLUMNS` it lacks, joined on ``cell_id``."""
    details = split_details(records)
    new = [c for c in DETAIL_COLUMNS if c not in frame.columns]
    if not new or details.empty:
        return frame.assign(**{c: np.nan for c in new})
    details = details.drop_duplicates("cell_id").astype({"cell_id": str})
    merged = frame.assign(_key=frame["cell_id"].astype(str)).merge(
        details[["cell_id", *new]].rename(columns={"cell_id": "_key"}), on="_key", how="left"
    )
    return merged.drop(columns="_key")


def _col(part: pd.DataFrame, name: str) -> pd.Series:
    return part[name] if name in part.columns else pd.Series(np.nan, index=part.index)


def _first(values: pd.Series) -> Any:
    values = values.dropna()
    return values.iloc[0] if len(values) else None


def _mean(values: pd.Series) -> float:
    values = pd.to_numeric(values, errors="coerce").dropna()
    return float(values.mean()) if len(values) else float("nan")


def dataset_facts(frame: pd.DataFrame, preset: Preset) -> pd.DataFrame:
    """Per data set, what was recorded under ``preset`` and under its clean protocol.

    Columns: ``resampled_from`` / ``resampled_to`` (rows drawn with replacement),
    ``subsampled_from`` / ``subsampled_to``, ``test_rows_in_train`` (mean over the
    preset's cells of the fraction of test rows with an identical training row),
    ``scaling`` / ``clean_scaling``, ``test_size`` (the preset's) / ``clean_test_size``
    (mean ``n_test / (n_train + n_test)`` of the clean cells), ``clean_subsampled`` and
    ``clean_rows``, ``clean_train_anomalies_removed`` (True when every clean cell
    recorded no anomaly in its training part; None when not recorded).
    """
    ran = frame[frame["status"] != "missing"]
    rows = {}
    for dataset in sorted(set(ran.loc[ran["protocol"] == preset.name, "dataset"])):
        pub = ran[(ran["protocol"] == preset.name) & (ran["dataset"] == dataset)]
        cln = ran[(ran["protocol"] == preset.clean) & (ran["dataset"] == dataset)]
        resampled = bool(_col(pub, "resampled").fillna(False).astype(bool).any())
        r_from = _first(_col(pub, "resampled_from"))
        if resampled and r_from is None:
            r_from = _first(_col(pub, "n_rows"))
        s_from = _first(_col(pub, "subsampled_from"))
        if s_from is None and bool(_col(pub, "subsampled").fillna(False).astype(bool).any()):
            s_from = _first(_col(pub, "n_rows"))
        n_clean = pd.to_numeric(_col(cln, "n_train"), errors="coerce") + pd.to_numeric(
            _col(cln, "n_test"), errors="coerce"
        )
        anomalies = pd.to_numeric(_col(cln, "n_train_anomalies"), errors="coerce").dropna()
        rows[dataset] = {
            "resampled_from": r_from,
            "resampled_to": _first(_col(pub, "resampled_to")) if resampled else None,
            "subsampled_from": s_from,
            "subsampled_to": _first(_col(pub, "subsampled_to")),
            "test_rows_in_train": _mean(_col(pub, "test_rows_in_train")),
            "scaling": _first(_col(pub, "scaling")) or preset.scaling,
            "clean_scaling": "each detector's own",
            "test_size": preset.test_size,
            "clean_test_size": _mean(pd.to_numeric(_col(cln, "n_test"), errors="coerce") / n_clean),
            "clean_subsampled": bool(_col(cln, "subsampled").fillna(False).astype(bool).any()),
            "clean_rows": _mean(n_clean),
            "clean_train_anomalies_removed": bool((anomalies == 0).all())
            if len(anomalies)
            else None,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def mechanism(facts: pd.Series | dict[str, Any], preset: Preset) -> str:
    """The recorded differences of one data set under ``preset`` vs its clean protocol,
    as text (a row of :func:`dataset_facts`); only facts that differ are named, the
    scaling always (the preset's replaces each detector's own)."""
    f = dict(facts)
    parts = []
    copies = f.get("test_rows_in_train")
    copy_text = (
        f"{copies:.1%} of test rows have an identical training row"
        if copies is not None and not pd.isna(copies) and copies > 0
        else ""
    )
    if f.get("resampled_from") is not None and not pd.isna(f["resampled_from"]):
        to = f.get("resampled_to")
        to_text = f" to {int(to)}" if to is not None and not pd.isna(to) else ""
        text = f"resampled with replacement from {int(f['resampled_from'])}{to_text} rows"
        parts.append(text + (f", then {copy_text}" if copy_text else ""))
    elif copy_text:
        parts.append(copy_text)
    if f.get("subsampled_from") is not None and not pd.isna(f["subsampled_from"]):
        to = f.get("subsampled_to")
        text = f"subsampled from {int(f['subsampled_from'])}" + (
            f" to {int(to)} rows" if to is not None and not pd.isna(to) else " rows"
        )
        if f.get("clean_subsampled"):
            text += f" ({preset.clean} cells subsampled too, to {f['clean_rows']:.0f} rows)"
        parts.append(text)
    clean_size = f.get("clean_test_size")
    if (
        clean_size is not None
        and not pd.isna(clean_size)
        and abs(clean_size - preset.test_size) > 0.005
    ):
        parts.append(f"test part {preset.test_size:.0%} of rows vs {clean_size:.0%}")
    if f.get("clean_train_anomalies_removed"):
        parts.append(
            f"{preset.clean} removed the anomalies from training; {preset.name} keeps them"
        )
    parts.append(f"scaling: {f.get('scaling') or preset.scaling} vs {f.get('clean_scaling')}")
    return "; ".join(parts)


@dataclass
class ProtocolEffect:
    """A preset against its clean protocol on one metric (see the module docstring).

    ``cells``: one row per (detector, data set) ok under both, with ``published_mean``,
    ``clean_mean``, ``difference`` (published - clean), ok seeds under each and the data
    set's facts (:func:`dataset_facts`) and ``mechanism``; ``movers``: the rows with the
    largest ``|difference|``; ``spearman`` over ``n_detectors`` detectors' means on
    ``n_datasets`` common data sets (``None`` with fewer than 3 detectors or constant
    means).
    """

    preset: Preset
    metric: str
    cells: pd.DataFrame
    movers: pd.DataFrame
    spearman: float | None
    n_detectors: int
    n_datasets: int
    markdown: Path | None = None
    csv: Path | None = None

    @property
    def clean(self) -> str:
        """The clean protocol compared with."""
        return self.preset.clean


def _means(part: pd.DataFrame, metric: str, who: str) -> pd.DataFrame:
    grouped = part.groupby([who, "dataset"])
    ok = part[part["status"] == "ok"].groupby([who, "dataset"])[metric]
    return pd.DataFrame({"mean": ok.mean(), "ok": ok.count(), "n": grouped.size()}).dropna(
        subset=["mean"]
    )


def protocol_effect(
    frame: pd.DataFrame, preset: Preset, metric: str = "roc_auc", *, top: int = 10
) -> ProtocolEffect | None:
    """``preset`` vs ``preset.clean`` on ``metric`` (``None`` when either protocol or the
    metric is absent from ``frame``; see :class:`ProtocolEffect`). Detectors are told
    apart by ``label`` (their suite configuration), data sets by ``dataset``."""
    protocols = set(frame["protocol"].dropna())
    if preset.name not in protocols or preset.clean not in protocols or metric not in frame:
        return None
    who = "label" if "label" in frame.columns else "detector"
    pub = _means(frame[frame["protocol"] == preset.name], metric, who)
    cln = _means(frame[frame["protocol"] == preset.clean], metric, who)
    both = pub.add_suffix("_pub").join(cln.add_suffix("_clean"), how="inner")
    facts = dataset_facts(frame, preset)
    rows = []
    for (detector, dataset), r in both.sort_index().iterrows():
        fact = facts.loc[dataset].to_dict() if dataset in facts.index else {}
        rows.append(
            {
                "detector": detector,
                "dataset": dataset,
                "published_protocol": preset.name,
                "clean_protocol": preset.clean,
                "published_mean": r["mean_pub"],
                "clean_mean": r["mean_clean"],
                "difference": r["mean_pub"] - r["mean_clean"],
                "published_seeds": f"{int(r['ok_pub'])}/{int(r['n_pub'])}",
                "clean_seeds": f"{int(r['ok_clean'])}/{int(r['n_clean'])}",
                **fact,
                "mechanism": mechanism(fact, preset) if fact else "",
            }
        )
    cells = pd.DataFrame(rows)
    spearman, n_det, n_sets = None, 0, 0
    if not cells.empty:
        wide = cells.pivot(index="detector", columns="dataset", values="difference")
        common = wide.columns[wide.notna().all(axis=0)]
        n_det, n_sets = len(wide.index), len(common)
        if n_det >= 3 and n_sets:
            sel = cells[cells["dataset"].isin(common)].groupby("detector")
            spearman = _spearman(sel["published_mean"].mean(), sel["clean_mean"].mean())
        order = cells.assign(_abs=-cells["difference"].abs().round(12)).sort_values(
            ["_abs", "detector", "dataset"], kind="mergesort"
        )
        movers = order.drop(columns="_abs").head(top).reset_index(drop=True)
    else:
        movers = cells
    return ProtocolEffect(preset, metric, cells, movers, spearman, n_det, n_sets)


def _spearman(a: pd.Series, b: pd.Series) -> float | None:
    from scipy.stats import spearmanr

    if a.nunique() < 2 or b.nunique() < 2:
        return None
    rho = float(spearmanr(a.to_numpy(), b.loc[a.index].to_numpy()).statistic)
    return None if np.isnan(rho) else rho

