"""The Python API for notebooks and scripts: :func:`evaluate`, :func:`run`,
:func:`load_run` and :func:`compare` (also importable from ``anobench`` itself).

>>> import anobench
>>> frame = anobench.evaluate("iforest", "wine", protocol="novelty", seeds=(0, 1, 2))
>>> frame.groupby("label")["roc_auc"].mean()

:func:`evaluate` builds the same cells as a suite naming that detector and data set, so
its splits, seeds and numbers equal the command line's (``anobench run``) for the same
configuration. Everything here works in a notebook and in a script without an
``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from anobench.execution.cell import failure_record, run_cell
from anobench.execution.driver import RunSummary, run_suite
from anobench.execution.executors.local import InProcessExecutor
from anobench.execution.store import RunStore
from anobench.plan.expansion import expand
from anobench.plan.inline import dataset_entry, detector_entry
from anobench.plan.overlay import Overlay
from anobench.plan.suite import Suite, SuiteError, load_suite, parse_suite
from anobench.registry import dataset_registry, detector_registry
from anobench.results.gate import DEFAULT_FLOOR, DEFAULT_K, Finding, check, make_baseline
from anobench.results.table import results_frame, run_frame

logger = logging.getLogger(__name__)

__all__ = ["Comparison", "Run", "compare", "evaluate", "load_run", "run"]


def evaluate(
    detector: Any,
    dataset: Any,
    protocol: str = "novelty",
    seeds: Sequence[int] | None = (0, 1, 2),
    *,
    params: dict[str, Any] | None = None,
    dataset_params: dict[str, Any] | None = None,
    name: str | None = None,
    dataset_name: str | None = None,
    test_size: float = 0.4,
    max_train: int | None = None,
    max_test: int | None = None,
    time_budget: float = 600.0,
    calibration: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Evaluate one detector on one data set under one protocol and several seeds.

    Parameters
    ----------
    detector : a registry id (``"iforest"``), a reference (``"sklearn.ensemble:
        IsolationForest"``, ``"my_file.py:MyDetector"``) or an instance (an anobench
        detector, a PyOD detector or a scikit-learn outlier estimator; its parameters
        are read with ``get_params``).
    dataset : a registry id (``"wine"``), a file path (CSV, Parquet, NPZ, ``.mat``;
        ``dataset_params`` then holds ``label`` etc., see
        :mod:`anobench.data.files`), a tuple ``(X, y)`` with y 1 = anomaly, or a
        :class:`~anobench.data.spec.DatasetSpec`.
    protocol : ``"novelty"``, ``"unsupervised"`` or a published preset.
    seeds : the seeds; ``None`` for the protocol's default ones.
    params : detector parameters (override an instance's).
    name, dataset_name : the names in the table (and in the derived seeds): by default the
        registry id, the reference as given, the class name of an instance, ``file:<path
        as given>`` or ``"arrays"``. A suite naming the same configuration the same way
        gets the same cells.
    test_size, max_train, max_test, time_budget, calibration : as in a suite.

    Returns
    -------
    DataFrame
        The tidy table (:func:`anobench.results.table.results_frame`), one row per seed, with
        ``roc_auc``, ``ap`` (average precision), the F1 of every threshold policy, timings and
        ``status``/``error``; identical splits, seeds and numbers to ``anobench run``
        with a suite naming the same detector and data set.

    Raises
    ------
    anobench.plan.suite.SuiteError
        Unknown names or parameters, or a reference that scores in the wrong direction.
    """
    det_name, table = detector_entry(detector, params, name)
    ds_name, ds_ref = dataset_entry(dataset, dataset_name)
    options: dict[str, Any] = {**(dataset_params or {})}
    if max_train is not None:
        options["max_train"] = max_train
    if max_test is not None:
        options["max_test"] = max_test
    # suite tables read a list as a grid of values: give list-valued parameters as one
    table = {k: [v] if isinstance(v, list) else v for k, v in table.items()}
    suite = parse_suite(
        {
            "name": "evaluate",
            "detectors": {det_name: table},
            "datasets": {ds_name: options},
            "protocols": [protocol],
            "seeds": None if seeds is None else list(seeds),
            "test_size": test_size,
            "time_budget": time_budget,
            **({"calibration": calibration} if calibration else {}),
        },
        "evaluate()",
    )
    datasets: Any = dataset_registry()
    if ds_ref is not None:
        datasets = Overlay(datasets, {ds_name: ds_ref}, "dataset")
    cells = expand(suite, detector_registry(), datasets)
    if not cells:
        from anobench.plan.describe import describe

        ref = table.get("ref") or detector_registry().entry(det_name).ref
        if describe(ref).uses_labels:
            raise SuiteError(
                f"{det_name} uses labels: evaluate it under protocol "
                "'semi-supervised@<budget>' (e.g. 'semi-supervised@0.1')"
            )
        raise SuiteError(f"{det_name} does not take the modality of {ds_name}: no cell to evaluate")
    records = [record for _, record in InProcessExecutor().run(cells, run_cell, failure_record)]
    for record in records:
        if record.get("status") != "ok":
            logger.warning("%s on %s, seed %s: %s", record["label"], record["dataset_label"],
                           record["seed"], record.get("error"))  # fmt: skip
    return results_frame(records)


def run(
    suite: str | Path | Suite,
    out: str | Path | None = None,
    *,
    jobs: int = 1,
    force: bool = False,
    retry_failed: bool = False,
    progress: bool = True,
    report: bool = False,
) -> Run:
    """Run a suite (a built-in name, a ``.toml`` path or a :class:`Suite`) into a run
    directory, as ``anobench run`` does (worker processes, time and memory budgets,
    resume), and return the loaded :class:`Run` (its ``summary`` says what ran).

    ``out`` defaults to ``results/runs/<suite name>``. ``progress`` shows a progress bar
    (``tqdm.auto``: a widget in a notebook, a line in a terminal; ``False`` for none).
    ``report`` also writes ``OUT/report/`` (:meth:`Run.write_report`). Works in a script
    without an ``if __name__ == "__main__":`` guard: the workers do not re-run the script.
    """
    parsed = suite if isinstance(suite, Suite) else load_suite(suite)
    out_dir = Path(out) if out is not None else Path("results") / "runs" / parsed.name
    bar: Any = None

    def on_start(n: int) -> None:
        nonlocal bar
        if progress and n:
            from tqdm.auto import tqdm

            bar = tqdm(total=n, desc=parsed.name, unit="cell")

    def on_result(record: Any) -> None:
        if bar is not None:
            bar.update(1)
            if str(record.status) != "ok":
                bar.set_postfix_str(f"last: {record.status}", refresh=False)

    try:
        summary = run_suite(
            parsed,
            out_dir,
            detector_registry(),
            dataset_registry(),
            jobs=jobs,
            force=force,
            retry_failed=retry_failed,
            on_start=on_start,
            on_result=on_result,
        )
    finally:
        if bar is not None:
            bar.close()
    loaded = load_run(out_dir)
    loaded.summary = summary
    if report:
        loaded.write_report()
    return loaded


@dataclass
class Run:
    """A run directory, loaded: its records (each a cell's JSON record, a dict; typed:
    :class:`anobench.record.CellResult`), the tidy table of the current suite expansion
    (with ``missing`` rows for cells that never ran), stale records, and the report
    object on demand."""

    path: Path
    records: list[dict[str, Any]]
    frame: pd.DataFrame
    stale: pd.DataFrame
    manifest: dict[str, Any]
    summary: RunSummary | None = None
    _report: Any = field(default=None, repr=False)

    def leaderboard(self, metric: str = "roc_auc", protocol: str | None = None) -> pd.DataFrame:
        """The leaderboard of ``metric`` under ``protocol`` (default: the first one run):
        detectors x data sets, mean rank and mean over the data sets every ranked detector
        covers (:func:`anobench.results.leaderboard.leaderboard`)."""
        from anobench.results.leaderboard import leaderboard

        protocols = sorted(self.frame["protocol"].dropna().unique())
        if not protocols:
            raise ValueError(f"{self.path} holds no results")
        chosen = protocol or protocols[0]
        if chosen not in protocols:
            raise ValueError(f"no protocol {chosen!r} in {self.path}; it has {protocols}")
        return leaderboard(self.frame, metric, chosen)

    def selection(
        self,
        rule: str | list[str] | None = None,
        *,
        metric: str | None = None,
        protocol: str | None = None,
        tuning: list[str] | None = None,
    ) -> pd.DataFrame:
        """Choose one configuration per detector, data set and seed without test labels
        (:mod:`anobench.selection.rules`): the long table, one row per protocol, metric, rule,
        detector (``"(any detector)"``: the whole suite as candidates), data set and
        seed, with the ``chosen`` configuration, its test ``value`` and the ``oracle`` /
        ``uses_training_labels`` marks.

        Parameters
        ----------
        rule : one rule or a list (e.g. ``"global-best"``, ``["random", "validation@5"]``);
            None: the suite's ``[selection]`` rules, or the defaults. ``mass-volume`` and
            ``excess-mass`` need cells run with a ``[selection]`` naming them (probes).
        metric, protocol : keep only these (None: all).
        tuning : ``global-best``'s tuning data sets (None: the suite's, or leave one
            data set out).

        Raises
        ------
        ValueError
            An unknown rule (with the known ones), or nothing in the run to select from.
        """
        from anobench.results.selection_boards import long_frame, selection_boards, settings_of
        from anobench.selection.rules import Selection, parse_rule

        stored = settings_of(self.manifest.get("suite") or {}) or Selection()
        rules = [rule] if isinstance(rule, str) else rule
        parsed = [parse_rule(r) for r in rules] if rules else stored.resolved()
        settings = stored.model_copy(update={"tuning": tuning}) if tuning is not None else stored
        store = RunStore(self.path)
        roles = {c["cell_id"]: c.get("selection_role") for c in (store.expansion() or [])}
        protocols = sorted(self.frame["protocol"].dropna().unique())
        if protocol is not None and protocol not in protocols:
            raise ValueError(f"no protocol {protocol!r} in {self.path}; it has {protocols}")
        frame = self.frame if protocol is None else self.frame[self.frame["protocol"] == protocol]
        boards = selection_boards(frame, settings, store.scores, roles, rules=parsed)
        if metric is not None:
            boards = [b for b in boards if b.metric == metric]
        if not boards:
            raise ValueError(
                f"nothing to select in {self.path}"
                + (f" for metric {metric!r}" if metric else "")
                + ": no detector has a grid of configurations and the run has one detector, "
                "or the tuning sets leave no data set to evaluate"
            )
        return long_frame(boards)

    def write_report(self, *, plots: bool = True) -> Path:
        """Write ``<run>/report/`` (tables, figures unless ``plots`` is False, and
        ``index.html``) as ``anobench report`` does; returns the report folder."""
        from anobench.report.build import write_report

        return write_report(self.path, plots=plots)

    def report(self) -> Any:
        """The report object (leaderboards, statistics, comparisons, stale and missing
        cells) computed from this run, without writing files (:meth:`write_report`
        writes them)."""
        if self._report is None:
            from anobench.report.model import add_published, add_statistics, collect

            store = RunStore(self.path)
            report = collect(store)
            add_statistics(report)
            add_published(report, store)
            self._report = report
        return self._report


def load_run(path: str | Path) -> Run:
    """Load a run directory written by ``anobench run`` or :func:`run`.

    Raises
    ------
    FileNotFoundError
        ``path`` is not a run directory.
    """
    store = RunStore(path)
    if not (Path(path) / "run.json").is_file() and not any(Path(path).glob("cells/*.json")):
        raise FileNotFoundError(f"{path} is not a run directory (no run.json, no cells/)")
    current = run_frame(store)
    ids = set(current.frame["cell_id"]) if not current.frame.empty else set()
    records = [r.to_json() for r in store.records() if r.cell_id in ids]
    return Run(Path(path), records, current.frame, current.stale, store.manifest())


@dataclass
class Comparison:
    """Two runs side by side.

    cells : one row per cell key (detector label, data set, protocol, seed) in both runs:
        each metric in ``a`` and ``b``, their difference, and ``same_inputs`` (equal cell
        ids: same code, data and configuration, so a difference is nondeterminism).
    detectors : per detector, protocol and metric: the mean of each run over the keys
        both cover, the difference, and the keys beyond the regression gate's tolerance.
    findings : the regression gate's findings for ``b`` against ``a`` as its baseline
        (:func:`anobench.results.gate.check`; allowed drop ``max(floor, k * seed std)``).
    """

    cells: pd.DataFrame
    detectors: pd.DataFrame
    findings: list[Finding]

    @property
    def passed(self) -> bool:
        """True when no key of ``b`` regressed, newly failed or went missing."""
        return not any(f.fails for f in self.findings)

    def text(self) -> str:
        from anobench.report.render.gate import format_findings

        return format_findings(self.findings, len(self.cells))


def compare(
    run_a: str | Path | Run,
    run_b: str | Path | Run,
    *,
    metrics: Sequence[str] = ("roc_auc", "ap"),
    floor: float = DEFAULT_FLOOR,
    k: float = DEFAULT_K,
) -> Comparison:
    """Compare run ``b`` with run ``a``: per-cell and per-detector differences of
    ``metrics``, with the regression gate's tolerance (``a`` as the baseline)."""
    a = run_a if isinstance(run_a, Run) else load_run(run_a)
    b = run_b if isinstance(run_b, Run) else load_run(run_b)
    key = ["label", "dataset", "protocol", "seed"]
    columns = [*key, "cell_id", "status", *metrics]
    left = a.frame.reindex(columns=columns)
    right = b.frame.reindex(columns=columns)
    cells = left.merge(right, on=key, how="outer", suffixes=("_a", "_b"), indicator=True)
    cells["same_inputs"] = cells["cell_id_a"] == cells["cell_id_b"]
    for metric in metrics:
        cells[f"{metric}_diff"] = cells[f"{metric}_b"] - cells[f"{metric}_a"]
    cells["in"] = cells.pop("_merge").map({"both": "both", "left_only": "a", "right_only": "b"})
    findings = check(b.path, make_baseline(a.path, metrics=tuple(metrics), floor=floor, k=k))
    both = cells[cells["in"] == "both"]
    rows = []
    for (label, protocol), group in both.groupby(["label", "protocol"]):
        for metric in metrics:
            pair = group[[f"{metric}_a", f"{metric}_b"]].dropna()
            beyond = [
                f for f in findings
                if f.detector == label and f.protocol == protocol and f.metric == metric
                and f.kind in ("regression", "improvement")
            ]  # fmt: skip
            rows.append(
                {
                    "label": label,
                    "protocol": protocol,
                    "metric": metric,
                    "n_cells": len(pair),
                    "mean_a": pair[f"{metric}_a"].mean(),
                    "mean_b": pair[f"{metric}_b"].mean(),
                    "diff": (pair[f"{metric}_b"] - pair[f"{metric}_a"]).mean(),
                    "regressions": sum(f.kind == "regression" for f in beyond),
                    "improvements": sum(f.kind == "improvement" for f in beyond),
                }
            )
    detectors = pd.DataFrame(rows)
    return Comparison(cells.sort_values(key, ignore_index=True), detectors, findings)
