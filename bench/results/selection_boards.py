"""Selection over a run: the candidates of every grid from the tidy table and the stored
out-of-sample scores, the rules' choices (:func:`anobench.selection.rules.choose`), and one
selection leaderboard per protocol and metric with the oracle gap and the probability of
beating ``random``.

Costs no fit: ``default``, ``random``, ``oracle`` and ``global-best`` read the records;
``validation@b`` and the internal criteria read each cell's stored out-of-sample
calibration scores (``scores/<cell id>.npz``; :mod:`anobench.execution.artifacts`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from anobench.metrics.cell import applies
from anobench.paths import slug
from anobench.plan.suite import Suite
from anobench.results.selection_stats import board_table, power
from anobench.selection import criteria
from anobench.selection.rules import ANY_DETECTOR, Rule, Selection, choose

logger = logging.getLogger(__name__)

__all__ = [
    "GRID_WARNING",
    "LONG_COLUMNS",
    "SELECTION_METRICS",
    "SelectionBoard",
    "candidates",
    "cell_criteria",
    "grid_detectors",
    "long_frame",
    "selection_boards",
    "settings_of",
]

#: metrics selection is run on (those a frame has and a protocol applies to)
SELECTION_METRICS = ("roc_auc", "ap", "vus_pr")

#: said by every table that lists configurations of one detector side by side
GRID_WARNING = (
    "Configurations of one detector are listed side by side: picking the best row uses "
    "the test labels (oracle selection). See the selection tables for choices made "
    "without them."
)

#: a cell's stored arrays by cell id (``RunStore.scores``; None when it has none)
Arrays = Callable[[str], Mapping[str, np.ndarray] | None]

#: the long form's columns (:func:`long_frame`), in order
LONG_COLUMNS = [
    "protocol", "metric", "rule", "detector", "dataset", "seed", "chosen", "value", "oracle",
    "uses_training_labels", "n_candidates", "n_ok", "note",
]  # fmt: skip


@dataclass
class SelectionBoard:
    """Selection of one protocol and metric.

    long : :func:`anobench.selection.rules.choose`'s table plus ``protocol`` and ``metric``.
    table : one ``"<detector> · <rule>"`` row per detector and rule
        (:func:`anobench.results.selection_stats.board_table`: mean, rank, coverage, per-data-set
        mean and std, oracle gap, P(beats random) and its p-value, all paired on the same
        data sets and seeds).
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


def _validation(
    arrays: Mapping[str, np.ndarray], budget: int | float, seed: int, n_train: int | None
) -> dict[str, float]:
    """``{metric: value}`` of the out-of-sample training scores against the labels the
    budget grants (empty when nothing is granted: no training anomaly was scored)."""
    labels, scores = arrays.get("train_labels"), arrays.get("calibration_scores")
    rows = arrays.get("calibration_rows")
    if labels is None or scores is None or rows is None:
        return {}
    positive = criteria.granted_positives(np.asarray(labels), budget, seed, rows, n_train)
    if not positive.any() or positive.all():
        return {}
    values = np.asarray(scores, dtype=float)
    return {
        "roc_auc": criteria.roc_auc(positive, values),
        "ap": criteria.average_precision(positive, values),
    }


def _volume(arrays: Mapping[str, np.ndarray], kind: str) -> float:
    probes = arrays.get("probe_scores")
    if probes is None or "calibration_scores" not in arrays:
        return float("nan")
    scores = np.asarray(arrays["calibration_scores"], dtype=float)
    fold = np.asarray(arrays["calibration_fold"])
    if kind == "mass-volume":
        return -criteria.mass_volume(scores, fold, np.asarray(probes, dtype=float))
    return criteria.excess_mass(scores, fold, np.asarray(probes, dtype=float))


def _tau(cells: pd.DataFrame, arrays: Arrays, seed: int) -> pd.DataFrame:
    """Pairwise Kendall tau-b of the cells' out-of-sample scores (cell id x cell id) on
    the training rows every one of them scored (at most :data:`criteria.CENTRALITY_ROWS`,
    a seeded subsample); empty when fewer than two cells have scores."""
    loaded = {}
    for cid in cells["cell_id"]:
        a = arrays(cid)
        if a is not None and "calibration_scores" in a and "calibration_rows" in a:
            loaded[cid] = a
    if len(loaded) < 2:
        return pd.DataFrame()
    common = None
    for a in loaded.values():
        rows = np.asarray(a["calibration_rows"])
        common = rows if common is None else np.intersect1d(common, rows)
    if common is None or len(common) < 3:
        return pd.DataFrame()
    if len(common) > criteria.CENTRALITY_ROWS:
        rng = np.random.default_rng(seed % (2**32))
        common = np.sort(rng.choice(common, criteria.CENTRALITY_ROWS, replace=False))
    matrix = np.stack(
        [
            np.asarray(a["calibration_scores"], float)[np.isin(a["calibration_rows"], common)]
            for a in loaded.values()
        ]
    )
    ids = list(loaded)
    return pd.DataFrame(criteria.kendall_matrix(matrix), index=ids, columns=ids)


def cell_criteria(frame: pd.DataFrame, rules: Sequence[Rule], arrays: Arrays) -> pd.DataFrame:
    """The per-cell criteria of ``rules`` for the ok cells of ``frame`` (one read of each
    cell's arrays): one column per volume rule, ``<validation rule>:<metric>`` per
    validation rule and metric; indexed by cell id, NaN where not computed."""
    wanted = [r for r in rules if r.criterion is not None and r.kind != "centrality"]
    ok = frame[frame["status"] == "ok"]
    rows: dict[str, dict[str, float]] = {}
    if not wanted:
        return pd.DataFrame(index=pd.Index([], name="cell_id"))
    n_train = ok["n_train"] if "n_train" in ok else pd.Series(np.nan, index=ok.index)
    for cid, seed, n in zip(ok["cell_id"], ok["split_seed"], n_train, strict=True):
        a = arrays(cid)
        out: dict[str, float] = {}
        for rule in wanted if a is not None else ():
            assert a is not None
            if rule.kind == "validation":
                assert rule.budget is not None
                size = int(n) if n == n and n is not None else None
                for metric, value in _validation(a, rule.budget, int(seed), size).items():
                    out[f"{rule.name}:{metric}"] = value
            else:
                out[rule.name] = _volume(a, rule.kind)
        rows[str(cid)] = out
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "cell_id"
    return table


def _groups(part: pd.DataFrame, roles: Mapping[str, str | None]) -> pd.DataFrame:
    """Every grid detector's cells (``group`` = the detector) and, with two or more
    detectors, every cell again as a candidate of :data:`ANY_DETECTOR`."""
    part = part.assign(
        config=part["label"].astype(str),
        role=part["cell_id"].map(lambda c: roles.get(c) or "candidate"),
    )
    groups = [part[part["detector"] == d].assign(group=d) for d in grid_detectors(part)]
    if part["detector"].nunique() > 1:
        groups.append(part.assign(group=ANY_DETECTOR, role="candidate"))
    return pd.concat(groups, ignore_index=True) if groups else pd.DataFrame()


def candidates(
    frame: pd.DataFrame,
    protocol: str,
    metric: str,
    rules: Sequence[Rule],
    arrays: Arrays,
    roles: Mapping[str, str | None],
    *,
    per_cell: pd.DataFrame | None = None,
    taus: dict[tuple[Any, ...], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """The candidates table :func:`anobench.selection.rules.choose` reads, for one protocol
    and metric (:func:`_groups`), with one column per criterion the rules name
    (``per_cell``: :func:`cell_criteria`, computed here when None; centrality per group,
    data set and seed from the candidates' pairwise Kendall tau, kept in ``taus`` for the
    next metric)."""
    part = frame[frame["protocol"] == protocol]
    if part.empty or metric not in part:
        return pd.DataFrame()
    table = _groups(part, roles)
    if table.empty:
        return table
    table["value"] = table[metric].where(table["status"] == "ok").astype(float)
    if per_cell is None:
        per_cell = cell_criteria(part, rules, arrays)
    for rule in rules:
        if rule.criterion is None or rule.kind == "centrality":
            continue
        column = f"{rule.name}:{metric}" if rule.kind == "validation" else rule.name
        source = per_cell[column] if column in per_cell else pd.Series(dtype=float)
        table[rule.criterion] = table["cell_id"].map(source).astype(float)
    if any(r.kind == "centrality" for r in rules):
        table["centrality"] = np.nan
        ok = table[table["status"] == "ok"]
        # one tau matrix per data set and seed; each group reads its own block of it
        taus = {} if taus is None else taus
        for (ds, seed), cells in ok.groupby(["dataset", "seed"]):
            unique = cells.drop_duplicates("cell_id")
            key = (protocol, ds, seed, tuple(sorted(unique["cell_id"])))
            if key not in taus:
                taus[key] = _tau(unique, arrays, int(unique["split_seed"].iloc[0]))
            tau = taus[key]
            if tau.empty:
                continue
            for _, members in cells.groupby("group"):
                within = [c for c in members["cell_id"] if c in tau.index]
                if len(within) < 2:
                    continue
                value = criteria.centrality(tau.loc[within, within].to_numpy())
                table.loc[members.index, "centrality"] = (
                    members["cell_id"].map(dict(zip(within, value, strict=True))).astype(float)
                )
    return table


def selection_boards(
    frame: pd.DataFrame,
    settings: Selection,
    arrays: Arrays,
    roles: Mapping[str, str | None],
    *,
    rules: Sequence[Rule] | None = None,
) -> list[SelectionBoard]:
    """One :class:`SelectionBoard` per protocol and selection metric of ``frame`` (the
    tidy table of a run's current expansion).

    Raises
    ------
    ValueError
        ``settings.tuning`` names a data set the run does not hold.
    """
    rules = list(rules if rules is not None else settings.resolved())
    names = set(frame["dataset_name"].dropna()) if "dataset_name" in frame else set()
    unknown = [t for t in settings.tuning if t not in names]
    if unknown:
        raise ValueError(
            f"tuning data set(s) {unknown} are not in the run; it holds {sorted(names)}"
        )
    cache: dict[str, Mapping[str, np.ndarray] | None] = {}

    def cached(cid: Any) -> Mapping[str, np.ndarray] | None:
        if not isinstance(cid, str):
            return None
        if cid not in cache:
            cache[cid] = arrays(cid)
        return cache[cid]

    out = []
    for protocol in sorted(frame["protocol"].dropna().unique()):
        part = frame[frame["protocol"] == protocol]
        per_cell = cell_criteria(part, rules, cached)
        taus: dict[tuple[Any, ...], pd.DataFrame] = {}
        for metric in SELECTION_METRICS:
            if metric not in part or not applies(metric, protocol):
                continue
            if part[metric].notna().sum() == 0:
                continue
            table = candidates(
                part, protocol, metric, rules, cached, roles, per_cell=per_cell, taus=taus
            )
            if table.empty:
                continue
            long = choose(table, rules, tuning=settings.tuning)
            if long.empty:
                continue
            long.insert(0, "metric", metric)
            long.insert(0, "protocol", protocol)
            board = board_table(long)
            n_sets = int(long["dataset"].nunique())
            out.append(SelectionBoard(protocol, metric, long, board, power(n_sets), rules))
        cache.clear()  # one protocol's arrays at a time
    return out


def long_frame(boards: Sequence[SelectionBoard]) -> pd.DataFrame:
    """Every board's long form in one frame (:data:`LONG_COLUMNS`; ``detector`` is the
    candidate group, :data:`ANY_DETECTOR` among them)."""
    if not boards:
        return pd.DataFrame(columns=LONG_COLUMNS)
    parts = [b.long.rename(columns={"group": "detector"})[LONG_COLUMNS] for b in boards]
    return pd.concat(parts, ignore_index=True)
