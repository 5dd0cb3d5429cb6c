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
                   unlabelled rows; :func:`anobench.criteria.granted_positives`)
``mass-volume``    the smallest Mass-Volume area (Goix 2016)                  no labels
``excess-mass``    the largest Excess-Mass area (Goix 2016)                   no labels
``centrality``     the highest mean Kendall tau with the other candidates     no labels
                   (model centrality, Ma, Zhao and Akoglu 2023)
=================  =======================================================  ============

The candidates of a detector are its grid's configurations and its default one (the
grid's keys left at the detector's defaults, run as a cell of its own), so ``oracle`` is
an upper bound of every rule. The internal criteria read only out-of-sample training
scores (:mod:`anobench.criteria`).
Candidates tied on a rule's criterion are a uniform draw among the tied: the rule's value
is their mean (``random`` is the case where all are tied). A candidate without a value
for the criterion (its calibration failed) cannot be chosen; a chosen candidate whose
test cell failed gives no value, never a better one.

This module is pure: :func:`choose` maps a candidates table to the long table of
choices; reading records and scores is :mod:`anobench.selection_board`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from anobench.registry import did_you_mean
from anobench.types import parse_protocol

__all__ = [
    "ANY_DETECTOR",
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
    def needs_scores(self) -> bool:
        """Reads the stored out-of-sample training scores (not only the records)."""
        return self.criterion is not None

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


def _global_best(part: pd.DataFrame, datasets: Sequence[str], tuning: Sequence[str]) -> dict:
    """{evaluated data set: criterion per config (minus mean rank)} for one group."""
    means = part.groupby(["config", "dataset"])["value"].mean().unstack("dataset")
    # a configuration without a value on a set ranks last there (a failure never helps)
    ranks = means.rank(axis=0, ascending=False, method="average", na_option="bottom")
    out = {}
    for ds in datasets:
        source = [s for s in (tuning or means.columns) if s != ds and s in ranks.columns]
        if source:
            out[ds] = -ranks[source].mean(axis=1)
    return out


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
    rules : the rules. tuning : ``global-best``'s tuning data sets (left out of the
        evaluated sets); empty: every other data set.

    Returns
    -------
    Long table, one row per (group, rule, data set, seed): ``group``, ``rule``,
    ``dataset``, ``seed``, ``value`` (NaN: no choice or the chosen cell failed),
    ``chosen`` (the configuration, ``"k tied: ..."``, or ``"mean of k"`` for ``random``),
    ``oracle``, ``uses_training_labels``, ``n_candidates``, ``n_ok`` and ``note``.
    """
    rows = []
    tuning = list(tuning)
    for group, part in candidates.groupby("group", sort=True):
        # the detector's default is a configuration a user could pick: a candidate too
        pool = part
        default = part[part["role"] == "default"]
        evaluated = sorted(d for d in part["dataset"].unique() if d not in tuning)
        best = _global_best(pool, evaluated, tuning) if any(
            r.kind == "global-best" for r in rules) else {}  # fmt: skip
        for (ds, seed), cell in pool.groupby(["dataset", "seed"], sort=True):
            if ds in tuning:
                continue
            configs = cell["config"].to_numpy()
            values = cell["value"].to_numpy(dtype=float)
            base = {"group": group, "dataset": ds, "seed": seed, "n_candidates": len(cell),
                    "n_ok": int(np.isfinite(values).sum())}  # fmt: skip
            for rule in rules:
                row = {**base, "rule": rule.name, "oracle": rule.oracle,
                       "uses_training_labels": rule.uses_training_labels, "note": ""}  # fmt: skip
                value, chosen = float("nan"), ""
                if rule.kind == "default":
                    if group == ANY_DETECTOR:
                        continue  # a suite has no default detector
                    own = default[(default["dataset"] == ds) & (default["seed"] == seed)]
                    if own.empty:
                        row["note"] = "the default configuration has no cell here"
                    else:
                        value, chosen = float(own["value"].iloc[0]), str(own["config"].iloc[0])
                        if not np.isfinite(value):
                            row["note"] = "the default configuration failed"
                elif rule.kind == "random":
                    if np.isfinite(values).all():
                        value, chosen = float(values.mean()), f"mean of {len(values)}"
                    else:
                        row["note"] = f"{len(values) - base['n_ok']} configuration(s) failed"
                else:
                    if rule.kind == "oracle":
                        criterion = values
                    elif rule.kind == "global-best":
                        scores = best.get(ds)
                        criterion = (scores.reindex(configs).to_numpy(dtype=float)
                                     if scores is not None else np.full(len(cell), np.nan))  # fmt: skip
                        if scores is None:
                            row["note"] = "no other data set to learn from"
                    else:
                        column = rule.criterion or rule.name
                        criterion = (cell[column].to_numpy(dtype=float) if column in cell
                                     else np.full(len(cell), np.nan))  # fmt: skip
                    value, tied = _tied_mean(values, criterion)
                    if len(tied) == 1:
                        chosen = str(configs[tied[0]])
                    elif len(tied) > 1:
                        chosen = f"{len(tied)} tied: " + ", ".join(map(str, configs[tied][:4]))
                        chosen += ", ..." if len(tied) > 4 else ""
                    elif not row["note"]:
                        row["note"] = "no candidate has this rule's criterion"
                    if len(tied) and not np.isfinite(value) and not row["note"]:
                        row["note"] = "the chosen configuration failed"
                row.update(value=value, chosen=chosen)
                rows.append(row)
    columns = ["group", "rule", "dataset", "seed", "value", "chosen", "oracle",
               "uses_training_labels", "n_candidates", "n_ok", "note"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)
