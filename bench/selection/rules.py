"""Selection rules: how one configuration of a detector's grid (or one detector of a
suite) is chosen per data set, protocol and seed, from what each rule may read.

A list in a suite is a grid, and every value is a row of the raw leaderboard; taking its
best row is selection on the test labels. Here the choice is a declared rule, recorded
with the configuration it chose:

=================  =======================================================  ============
rule               chooses                                                  reads
=================  =======================================================  ============
``default``        the detector's own defaults (the grid's keys left out)    nothing
``random``         a configuration drawn uniformly: its expected value, the   nothing
                   mean over the candidates (the baseline every rule must beat)
``oracle``         the best configuration on the test labels: an upper bound test labels
``global-best``    the best mean rank on the suite's other data sets (or the  other sets'
                   ``tuning`` sets), never the evaluated set's labels         labels
``validation@b``   the best metric of out-of-sample training scores against   b training
                   the labels budget ``b`` grants (labelled anomalies vs the  labels
                   unlabelled rows; :func:`anobench.selection.criteria.granted_positives`)
``mass-volume``    the smallest Mass-Volume area (Goix 2016)                  no labels
``excess-mass``    the largest Excess-Mass area (Goix 2016)                   no labels
``centrality``     the highest mean Kendall tau with the other candidates     no labels
                   (model centrality, Ma, Zhao and Akoglu 2023)
=================  =======================================================  ============

The candidates of a detector are its grid's configurations and its default one (the
grid's keys left at the detector's defaults, run as a cell of its own), so ``oracle`` is
an upper bound of every rule. The internal criteria read only out-of-sample training
scores (:mod:`anobench.selection.criteria`).
Candidates tied on a rule's criterion are a uniform draw among the tied: the rule's value
is their mean (``random`` is the case where all are tied). A candidate without a value
for the criterion (its calibration failed) cannot be chosen; a chosen candidate whose
test cell failed gives no value, never a better one.

This module is pure: :func:`choose` maps a candidates table to the long table of
choices; reading records and scores is :mod:`anobench.results.selection_boards`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from anobench.registry import did_you_mean
from anobench.types import parse_protocol

__all__ = [
    "ANY_DETECTOR",
    "COLUMNS",
    "DEFAULT_RULES",
    "KINDS",
    "Rule",
    "Selection",
    "choose",
    "parse_rule",
]

#: the candidate group holding every configuration of every detector of the suite
ANY_DETECTOR = "(any detector)"


@dataclass(frozen=True)
class Rule:
    """A parsed selection rule.

    name : canonical name, e.g. ``"validation@5"``. kind : the rule without its budget.
    budget : ``validation``'s label budget (a count or a fraction of the training
        anomalies), else None.
    oracle : reads the evaluated set's test labels (an upper bound, marked everywhere).
    uses_training_labels : reads labels of training rows (the budget's), not oracle.
    criterion : the per-cell column it maximises (None: ``default``, ``random``,
        ``oracle``, ``global-best``, which read the test values directly).
    """

    name: str
    kind: str
    budget: int | float | None = None
    oracle: bool = False
    uses_training_labels: bool = False
    criterion: str | None = None

    @property
    def needs_probes(self) -> bool:
        """Needs the cells to score uniform probe points (``mass-volume``,
        ``excess-mass``): a cell option, so it enters the cell id."""
        return self.kind in ("mass-volume", "excess-mass")

    @property
    def mark(self) -> str:
        """What a reader must know: ``oracle``, ``uses training labels`` or empty."""
        if self.oracle:
            return "oracle"
        return "uses training labels" if self.uses_training_labels else ""


#: kind -> one line a reader sees in tables and ``--help``
KINDS: dict[str, str] = {
    "default": "the detector's default configuration (no search)",
    "random": "a uniformly drawn configuration: the mean over the candidates",
    "oracle": "the best configuration on the test labels (oracle: an upper bound)",
    "global-best": "the best mean rank on the other data sets (leave one data set out)",
    "validation": "the best on out-of-sample training scores against a label budget "
    "(uses training labels)",
    "mass-volume": "the smallest Mass-Volume area of out-of-sample scores (Goix 2016)",
    "excess-mass": "the largest Excess-Mass area of out-of-sample scores (Goix 2016)",
    "centrality": "the highest mean Kendall tau with the other candidates (Ma et al. 2023)",
}

#: the rules of a suite with grids and no ``[selection]`` table: the ones that cost no
#: extra fit or probe and read no training label
DEFAULT_RULES = ("default", "random", "oracle", "global-best", "centrality")

_BUDGET = re.compile(r"validation@(.+)")


def parse_rule(name: str) -> Rule:
    """The :class:`Rule` named ``name``.

    Raises
    ------
    ValueError
        Unknown rule (with the known ones), or a bad or non-canonical budget.
    """
    name = str(name)
    if name in ("default", "random", "global-best"):
        return Rule(name, name)
    if name == "oracle":
        return Rule(name, name, oracle=True)
    if name in ("mass-volume", "excess-mass", "centrality"):
        return Rule(name, name, criterion=name)
    found = _BUDGET.fullmatch(name)
    if found:
        try:
            _, budget = parse_protocol(f"semi-supervised@{found.group(1)}")
        except ValueError as exc:
            text = str(exc).replace("semi-supervised@", "validation@")
            raise ValueError(f"selection rule {name!r}: {text}") from None
        return Rule(name, "validation", budget, uses_training_labels=True, criterion=name)
    if name == "validation":
        raise ValueError(
            "the validation rule needs a label budget: 'validation@5' (5 training anomalies "
            "labelled) or 'validation@0.1' (10% of them)"
        )
    known = [k if k != "validation" else "validation@<budget>" for k in KINDS]
    raise ValueError(
        f"unknown selection rule {name!r}."
        + did_you_mean(name, [*DEFAULT_RULES, "validation@5", "mass-volume", "excess-mass"])
        + f" Rules: {', '.join(known)}"
    )  # fmt: skip


class Selection(BaseModel):
    """A suite's ``[selection]`` table.

    rules : the rules to apply (None: :data:`DEFAULT_RULES`).
    tuning : data sets ``global-best`` learns from; they are then left out of the
        evaluated sets (TSB-AD's tuning lists). Empty: leave one data set out.
    probes : uniform probe points each calibration model scores (``mass-volume``,
        ``excess-mass`` only).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    rules: list[str] | None = None
    tuning: list[str] = []
    probes: int = Field(default=1000, ge=100, le=100_000)

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("name at least one rule (or leave 'rules' out for the defaults)")
        names = [parse_rule(v).name for v in value]
        if len(set(names)) != len(names):
            raise ValueError(f"a rule is listed twice: {value}")
        return names

    def resolved(self) -> list[Rule]:
        """The rules, parsed (the defaults when none are given)."""
        return [parse_rule(r) for r in (self.rules or DEFAULT_RULES)]

    @property
    def needs_probes(self) -> bool:
        return any(r.needs_probes for r in self.resolved())


def _tied_mean(values: np.ndarray, criterion: np.ndarray) -> tuple[float, np.ndarray]:
    """(mean test value of the candidates tied at the best criterion, their indices);
    ``(nan, [])`` when no candidate has a criterion value."""
    ok = np.isfinite(criterion)
    if not ok.any():
        return float("nan"), np.array([], dtype=int)
    best = np.max(criterion[ok])
    tied = np.flatnonzero(ok & np.isclose(criterion, best, rtol=1e-12, atol=0.0))
    chosen = values[tied]
    # a chosen configuration that failed on the test part gives no value
    return (float(np.mean(chosen)) if np.all(np.isfinite(chosen)) else float("nan")), tied


def _global_best(
    part: pd.DataFrame, names: Mapping[str, str], tuning: Sequence[str]
) -> dict[str, pd.Series]:
    """{evaluated data set: minus each configuration's mean rank on the other data sets
    (or on the tuning sets)} for one group. "Other" leaves out every variant of the
    evaluated set (the same data set under other loader parameters): the evaluated
    set's own values are never read."""
    means = part.groupby(["config", "dataset"])["value"].mean().unstack("dataset")
    # a configuration without a value on a set ranks last there (a failure never helps)
    ranks = means.rank(axis=0, ascending=False, method="average", na_option="bottom")
    out = {}
    for ds in means.columns:
        if names[ds] in tuning:
            continue
        source = [
            s for s in ranks.columns
            if names[s] != names[ds] and (not tuning or names[s] in tuning)
        ]  # fmt: skip
        if source:
            out[ds] = -ranks[source].mean(axis=1)
    return out


@dataclass
class _Choice:
    value: float = float("nan")
    chosen: str = ""
    note: str = ""


def _by_criterion(configs: np.ndarray, values: np.ndarray, criterion: np.ndarray) -> _Choice:
    """The candidates with the best criterion (a uniform draw among ties)."""
    value, tied = _tied_mean(values, criterion)
    if len(tied) == 0:
        return _Choice(note="no candidate has this rule's criterion")
    names = [str(c) for c in configs[tied]]
    chosen = names[0] if len(names) == 1 else f"{len(names)} tied: " + ", ".join(names[:4])
    chosen += ", ..." if len(names) > 4 else ""
    note = "" if np.isfinite(value) else "the chosen configuration failed"
    return _Choice(value, chosen, note)


def _apply(rule: Rule, cell: pd.DataFrame, global_best: pd.Series | None) -> _Choice | None:
    """One rule on the candidates of one group, data set and seed (None: the rule does
    not apply, e.g. ``default`` among detectors)."""
    configs = cell["config"].to_numpy()
    values = cell["value"].to_numpy(dtype=float)
    if rule.kind == "default":
        own = cell[cell["role"] == "default"]
        if cell["group"].iloc[0] == ANY_DETECTOR:
            return None  # a suite has no default detector
        if own.empty:
            return _Choice(note="the default configuration has no cell here")
        value = float(own["value"].iloc[0])
        note = "" if np.isfinite(value) else "the default configuration failed"
        return _Choice(value, str(own["config"].iloc[0]), note)
    if rule.kind == "random":
        failed = int((~np.isfinite(values)).sum())
        if failed:
            return _Choice(note=f"{failed} configuration(s) failed")
        return _Choice(float(values.mean()), f"mean of {len(values)}")
    if rule.kind == "oracle":
        return _by_criterion(configs, values, values)
    if rule.kind == "global-best":
        if global_best is None:
            return _Choice(note="no other data set to learn from")
        return _by_criterion(configs, values, global_best.reindex(configs).to_numpy(float))
    column = rule.criterion or rule.name
    criterion = cell[column].to_numpy(dtype=float) if column in cell else np.full(len(cell), np.nan)
    if not np.isfinite(criterion).any():
        return _Choice(note=_NOT_COMPUTED.get(rule.kind, "not computed"))
    return _by_criterion(configs, values, criterion)


#: why a rule has no criterion value for any candidate
_NOT_COMPUTED = {
    "validation": "not computed: no training anomaly with an out-of-sample score to grant "
    "(novelty trains on normal rows only) or no calibration scores",
    "mass-volume": "not computed: no probe scores (the cells ran without a [selection] "
    "naming mass-volume or excess-mass, or without calibration)",
    "excess-mass": "not computed: no probe scores (the cells ran without a [selection] "
    "naming mass-volume or excess-mass, or without calibration)",
    "centrality": "not computed: fewer than two candidates with out-of-sample scores",
}


#: the columns of :func:`choose`'s table
COLUMNS = ["group", "rule", "dataset", "seed", "value", "chosen", "oracle",
           "uses_training_labels", "n_candidates", "n_ok", "note"]  # fmt: skip


def choose(
    candidates: pd.DataFrame,
    rules: Sequence[Rule],
    *,
    tuning: Sequence[str] = (),
) -> pd.DataFrame:
    """Apply ``rules`` to every candidate group of one protocol and metric.

    Parameters
    ----------
    candidates : one row per cell: ``group`` (a detector, or :data:`ANY_DETECTOR`),
        ``config`` (the configuration's label), ``role`` (``"candidate"``: a grid
        configuration, or ``"default"``: the detector's defaults, run apart; both are
        candidates of every rule, so ``oracle`` bounds ``default`` too),
        ``dataset``, ``seed``, ``value`` (the cell's test metric, NaN when it failed) and
        one column per criterion a rule names (higher = better, NaN where not computed).
        ``dataset_name`` (optional): the data set's name without loader parameters; its
        variants count as one data set for ``tuning`` and leave-one-out.
    rules : the rules. tuning : names of ``global-best``'s tuning data sets (left out of
        the evaluated sets); empty: every other data set.

    Returns
    -------
    Long table (:data:`COLUMNS`), one row per (group, rule, data set, seed): ``value``
    (NaN: no choice, or the chosen cell failed; ``note`` says which), ``chosen`` (the
    configuration, ``"k tied: ..."``, or ``"mean of k"`` for ``random``), the marks
    ``oracle`` and ``uses_training_labels``, ``n_candidates`` and ``n_ok``.
    """
    rows = []
    tuning = list(tuning)
    wants_global = any(r.kind == "global-best" for r in rules)
    named = "dataset_name" in candidates and candidates["dataset_name"].notna().all()
    names = dict(zip(candidates["dataset"],
                     candidates["dataset_name"] if named else candidates["dataset"],
                     strict=True))  # fmt: skip
    for group, part in candidates.groupby("group", sort=True):
        best = _global_best(part, names, tuning) if wants_global else {}
        for (ds, seed), cell in part.groupby(["dataset", "seed"], sort=True):
            if names[ds] in tuning:
                continue
            n_ok = int(np.isfinite(cell["value"].to_numpy(dtype=float)).sum())
            for rule in rules:
                choice = _apply(rule, cell, best.get(ds))
                if choice is None:
                    continue
                rows.append([group, rule.name, ds, seed, choice.value, choice.chosen,
                             rule.oracle, rule.uses_training_labels, len(cell), n_ok,
                             choice.note])  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)
