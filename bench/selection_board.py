"""Selection over a run: the candidates of every grid from the tidy table and the stored
out-of-sample scores, the rules' choices (:func:`anobench.selection.choose`), and one
selection leaderboard per protocol and metric with the oracle gap and the probability of
beating ``random``.

Costs no fit: ``default``, ``random``, ``oracle`` and ``global-best`` read the records;
``validation@b`` and the internal criteria read each cell's stored out-of-sample
calibration scores (``scores/<cell id>.npz``; :mod:`anobench.artifacts`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError
from scipy import stats as sps

from anobench import criteria, effects
from anobench.leaderboard import leaderboard
from anobench.metrics import applies
from anobench.paths import slug
from anobench.selection import ANY_DETECTOR, Rule, Selection, choose
from anobench.suite import Suite

logger = logging.getLogger(__name__)

__all__ = [
    "GRID_WARNING",
    "SELECTION_METRICS",
    "SelectionBoard",
    "candidates",
    "grid_detectors",
    "selection_boards",
    "settings_of",
    "smallest_p",
]

#: metrics selection is run on (those a frame has and a protocol applies to)
SELECTION_METRICS = ("roc_auc", "ap", "vus_pr")

#: said by every table that lists configurations of one detector side by side
GRID_WARNING = (
    "Configurations of one detector are listed side by side: picking the best row uses "
    "the test labels (oracle selection). See the selection tables for choices made "
    "without them."
)

#: one row per data set: arrays of a cell (None when it has none)
Arrays = Callable[[str], Mapping[str, np.ndarray] | None]


@dataclass
class SelectionBoard:
    """Selection of one protocol and metric.

    long : :func:`anobench.selection.choose`'s table plus ``protocol`` and ``metric``.
    table : the leaderboard of ``"<detector> · <rule>"`` rows
        (:func:`anobench.leaderboard.leaderboard` columns) plus ``group``, ``rule``,
        ``mark``, ``oracle_gap`` (mean over data sets of oracle minus the rule),
        ``p_beats_random`` (probability of improvement over ``random``, rliable) and
        ``p_value_vs_random`` (Wilcoxon signed-rank over the data sets' means).
    power : what the number of data sets allows a test to show.
    """

    protocol: str
    metric: str
    long: pd.DataFrame
    table: pd.DataFrame
    power: str = ""
    rules: list[Rule] = field(default_factory=list)

    @property
    def stem(self) -> str:
        """``selection_<protocol>_<metric>`` as a safe file-name stem."""
        return f"selection_{self.key}"

    @property
    def key(self) -> str:
        """``<protocol>_<metric>``, lower-case letters, digits, ``-`` and ``_`` only."""
        return slug(f"{self.protocol}_{self.metric}".lower()).replace(".", "-")


def settings_of(suite: Mapping[str, Any]) -> Selection | None:
    """The selection settings of a stored suite (its ``[selection]`` or the defaults when
    it has grids); None when it selects nothing or cannot be read."""
    try:
        return Suite.model_validate(dict(suite)).selection_or_default()
    except (ValidationError, TypeError, ValueError) as exc:
        logger.warning("the run's suite cannot be read for selection: %s", exc)
        return None


def grid_detectors(frame: pd.DataFrame) -> list[str]:
    """Detectors with more than one configuration in ``frame`` (a raw grid)."""
    if frame.empty or "detector" not in frame:
        return []
    counts = frame.groupby("detector")["label"].nunique()
    return sorted(counts[counts > 1].index)


def _validation(arrays: Mapping[str, np.ndarray], rule: Rule, metric: str, seed: int) -> float:
    from sklearn.metrics import average_precision_score, roc_auc_score

    labels = arrays.get("train_labels")
    scores = arrays.get("calibration_scores")
    if labels is None or scores is None or metric not in ("roc_auc", "ap"):
        return float("nan")
    assert rule.budget is not None
    positive = criteria.granted_positives(np.asarray(labels), rule.budget, seed)
    if not positive.any() or positive.all():
        return float("nan")
    fn = roc_auc_score if metric == "roc_auc" else average_precision_score
    return float(fn(positive.astype(int), np.asarray(scores, dtype=float)))


def _volume(arrays: Mapping[str, np.ndarray], kind: str) -> float:
    probes = arrays.get("probe_scores")
    if probes is None or "calibration_scores" not in arrays:
        return float("nan")
    scores = np.asarray(arrays["calibration_scores"], dtype=float)
    fold = np.asarray(arrays["calibration_fold"])
    if kind == "mass-volume":
        return -criteria.mass_volume(scores, fold, np.asarray(probes, dtype=float))
    return criteria.excess_mass(scores, fold, np.asarray(probes, dtype=float))


def _centrality(part: pd.DataFrame, arrays: Arrays) -> pd.Series:
    """Centrality of each cell of one group, data set and seed, on the training rows
    every candidate scored."""
    loaded = {}
    for cid in part["cell_id"]:
        a = arrays(cid) if isinstance(cid, str) else None
        if a is not None and "calibration_scores" in a and "calibration_rows" in a:
            loaded[cid] = a
    out = pd.Series(np.nan, index=part.index)
    if len(loaded) < 2:
        return out
    common = None
    for a in loaded.values():
        rows = np.asarray(a["calibration_rows"])
        common = rows if common is None else np.intersect1d(common, rows)
    if common is None or len(common) < 3:
        return out
    matrix = np.stack(
        [
            np.asarray(a["calibration_scores"], float)[np.isin(a["calibration_rows"], common)]
            for a in loaded.values()
        ]
    )
    values = dict(zip(loaded, criteria.centrality(matrix), strict=True))
    return part["cell_id"].map(values).astype(float)


def candidates(
    frame: pd.DataFrame,
    protocol: str,
    metric: str,
    rules: Sequence[Rule],
    arrays: Arrays,
    roles: Mapping[str, str | None],
) -> pd.DataFrame:
    """The candidates table :func:`anobench.selection.choose` reads, for one protocol
    and metric: every grid detector's cells (``group`` = the detector) and, with two or
    more detectors, every cell as a candidate of :data:`ANY_DETECTOR`; one column per
    criterion the rules name, computed from the cells' stored arrays."""
    part = frame[(frame["protocol"] == protocol)].copy()
    if part.empty or metric not in part:
        return pd.DataFrame()
    ok = part["status"] == "ok"
    part["value"] = part[metric].where(ok).astype(float)
    part["config"] = part["label"].astype(str)
    part["role"] = part["cell_id"].map(lambda c: roles.get(c) or "candidate")
    groups = []
    grids = [d for d in grid_detectors(part) if (part.loc[part["detector"] == d, "role"]
                                                  == "candidate").sum() > 0]  # fmt: skip
    for det in grids:
        groups.append(part[part["detector"] == det].assign(group=det))
    if part["detector"].nunique() > 1:
        groups.append(part.assign(group=ANY_DETECTOR, role="candidate"))
    if not groups:
        return pd.DataFrame()
    table = pd.concat(groups, ignore_index=True)
    cache: dict[str, Mapping[str, np.ndarray] | None] = {}

    def cell_arrays(cid: Any) -> Mapping[str, np.ndarray] | None:
        if not isinstance(cid, str):
            return None
        if cid not in cache:
            cache[cid] = arrays(cid)
        return cache[cid]

    for rule in rules:
        if rule.criterion is None or rule.kind == "centrality":
            continue
        values = []
        for cid, status, seed in zip(table["cell_id"], table["status"],
                                     table["split_seed"], strict=True):  # fmt: skip
            a = cell_arrays(cid) if status == "ok" else None
            if a is None:
                values.append(float("nan"))
            elif rule.kind == "validation":
                values.append(_validation(a, rule, metric, int(seed)))
            else:
                values.append(_volume(a, rule.kind))
        table[rule.criterion] = values
    if any(r.kind == "centrality" for r in rules):
        table["centrality"] = np.nan
        ok_rows = table[table["status"] == "ok"]
        for _, part_ in ok_rows.groupby(["group", "dataset", "seed"]):
            table.loc[part_.index, "centrality"] = _centrality(part_, cell_arrays)
    return table


def _board_table(long: pd.DataFrame, protocol: str, metric: str) -> pd.DataFrame:
    """The leaderboard of the choices, with the oracle gap and the edge over random."""
    tidy = long.assign(
        label=long["group"] + " · " + long["rule"],
        protocol=protocol,
        status="ok",
        detector=long["group"],
    ).rename(columns={"value": metric})
    table = leaderboard(tidy, metric, protocol, min_coverage=0.0)
    if table.empty:
        return table
    seeds = effects.seed_values(tidy, metric)
    groups = long.drop_duplicates(["group", "rule"])
    groups = groups.set_index(groups["group"] + " · " + groups["rule"])
    gap, poi, pval = {}, {}, {}
    for label in table.index:
        group, rule = groups.loc[label, "group"], groups.loc[label, "rule"]
        mine = seeds[label]
        oracle, rand = f"{group} · oracle", f"{group} · random"
        if oracle in seeds:
            diff = (seeds[oracle].mean(axis=1) - mine.mean(axis=1)).dropna()
            gap[label] = float(diff.mean()) if len(diff) else np.nan
        if rand in seeds and rule != "random":
            poi[label] = effects.probability_of_improvement(mine.to_numpy(),
                                                            seeds[rand].to_numpy())  # fmt: skip
            a, b = mine.mean(axis=1), seeds[rand].mean(axis=1)
            both = a.notna() & b.notna()
            d = (a - b)[both]
            if len(d) >= 2 and (d != 0).any():
                pval[label] = float(sps.wilcoxon(a[both], b[both], zero_method="zsplit").pvalue)
    table.insert(0, "rule", [groups.loc[lab, "rule"] for lab in table.index])
    table.insert(0, "group", [groups.loc[lab, "group"] for lab in table.index])
    table["mark"] = [
        "oracle" if groups.loc[lab, "oracle"] else
        ("uses training labels" if groups.loc[lab, "uses_training_labels"] else "")
        for lab in table.index
    ]  # fmt: skip
    table["oracle_gap"] = pd.Series(gap).reindex(table.index)
    table["p_beats_random"] = pd.Series(poi, dtype=float).reindex(table.index)
    table["p_value_vs_random"] = pd.Series(pval, dtype=float).reindex(table.index)
    return table


def smallest_p(n_sets: int) -> float:
    """The smallest two-sided p-value a Wilcoxon signed-rank test over ``n_sets``
    paired differences can reach (all of one sign): ``2 / 2**n`` (exact distribution)."""
    return float(min(1.0, 2.0 * 0.5 ** max(n_sets, 0)))


def _power(n_sets: int) -> str:
    if n_sets < 2:
        return "one data set: no test against random is possible"
    p = smallest_p(n_sets)
    if p >= 0.05:
        return (
            f"with {n_sets} data sets no rule can differ significantly from random (the "
            f"smallest reachable p-value is {p:.3f}): read P(beats random) as an effect size"
        )
    return (
        f"{n_sets} data sets: a Wilcoxon signed-rank test against random can reach "
        f"p = {p:.2g}; p-values are not adjusted for the number of rules and detectors"
    )


def selection_boards(
    frame: pd.DataFrame,
    settings: Selection,
    arrays: Arrays,
    roles: Mapping[str, str | None],
    *,
    rules: Sequence[Rule] | None = None,
) -> list[SelectionBoard]:
    """One :class:`SelectionBoard` per protocol and selection metric of ``frame`` (the
    tidy table of a run's current expansion)."""
    rules = list(rules if rules is not None else settings.resolved())
    out = []
    for protocol in sorted(frame["protocol"].dropna().unique()):
        for metric in SELECTION_METRICS:
            if metric not in frame or not applies(metric, protocol):
                continue
            if frame.loc[frame["protocol"] == protocol, metric].notna().sum() == 0:
                continue
            table = candidates(frame, protocol, metric, rules, arrays, roles)
            if table.empty:
                continue
            long = choose(table, rules, tuning=settings.tuning)
            if long.empty:
                continue
            long.insert(0, "metric", metric)
            long.insert(0, "protocol", protocol)
            board = _board_table(long, protocol, metric)
            n_sets = int(long["dataset"].nunique())
            out.append(SelectionBoard(protocol, metric, long, board, _power(n_sets), rules))
    return out
