"""Leaderboards: per data set x detector mean +- std over seeds, one rank per detector
(:func:`anobench.results.ranking.standings`), failures shown as failures (never 0), missing cells
by status, and the marks (subsampled, saturated, batch-dependent) a reader needs."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "leaderboard",
    "long_form",
    "missing_cells",
]


def leaderboard(
    frame: pd.DataFrame, metric: str, protocol: str, *, min_coverage: float = 1.0
) -> pd.DataFrame:
    """Numeric leaderboard of one protocol and metric.

    Ranks and means come from :func:`anobench.results.stats.standings` (the one rank definition
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
    from anobench.results.stats import standings

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


def long_form(table: pd.DataFrame, protocol: str, metric: str) -> pd.DataFrame:
    """A :func:`leaderboard` table in long form: one row per detector and data set with
    ``protocol``, ``metric``, ``detector``, ``dataset``, ``mean``, ``std`` (ddof=1),
    ``ok_seeds``, ``seeds``, ``status`` (``ok``, or the most common failure status when
    no seed is ok), ``subsampled``, and the detector's ``ranked``, ``avg_rank``,
    ``mean_over_sets`` (the leaderboard's ``mean``) and ``n_datasets``."""
    if table.empty:
        return pd.DataFrame()
    rows = []
    for label, row in table.iterrows():
        for ds in table.attrs["datasets"]:
            n = int(row[f"{ds}:n"])
            if n == 0:
                continue
            n_ok = int(row[f"{ds}:ok"])
            rows.append(
                {
                    "protocol": protocol, "metric": metric, "detector": label, "dataset": ds,
                    "mean": row[ds], "std": row[f"{ds}:std"], "ok_seeds": n_ok, "seeds": n,
                    "status": "ok" if n_ok else row[f"{ds}:status"],
                    "subsampled": bool(row[f"{ds}:subsampled"]),
                    "ranked": bool(row["ranked"]), "avg_rank": row["avg_rank"],
                    "mean_over_sets": row["mean"], "n_datasets": int(row["n_datasets"]),
                }
            )  # fmt: skip
    return pd.DataFrame(rows)


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
