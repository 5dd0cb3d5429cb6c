"""Option parsing shared by the commands: name lists, seeds, positive integers, suite
overrides, metric names. Imports nothing heavy at module level (``--help`` stays fast)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

__all__ = [
    "MAX_CELLS",
    "add_selection",
    "metric_help",
    "metric_key",
    "names",
    "override",
    "positive_int",
    "seeds",
    "spec_names",
]

if TYPE_CHECKING:
    from anobench.plan.suite import Suite
    from anobench.registry import Registry

#: refuse suites that expand to more cells than this (``--max-cells``; mirrors
#: :data:`anobench.plan.expansion.MAX_CELLS`, checked equal by a test)
MAX_CELLS = 50_000


def names(values: Sequence[str] | None) -> list[str] | None:
    """``["a,b", "c"]`` -> ``["a", "b", "c"]``."""
    if values is None:
        return None
    return [v for item in values for v in item.split(",") if v]


def seeds(values: Sequence[str] | None) -> list[int] | None:
    """``--seeds`` values as integers; a non-integer is a :class:`SuiteError`."""
    from anobench.plan.suite import SuiteError

    listed = names(values)
    if listed is None:
        return None
    try:
        return [int(v) for v in listed]
    except ValueError as exc:
        raise SuiteError(f"--seeds takes integers, got {values}") from exc


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def add_selection(parser: argparse.ArgumentParser, *, what: str = "run") -> None:
    """``--detectors/--datasets/--seeds``, which narrow a suite."""
    parser.add_argument(
        "--detectors",
        nargs="+",
        metavar="NAME",
        help=f"{what} only these detectors (comma or space separated); the run directory's "
        "report then covers only this subset (other records are kept as stale): use "
        "another --out to keep a full run's report",
    )
    parser.add_argument(
        "--datasets",
        nargs="+",
        metavar="NAME",
        help=f"{what} only these data sets (comma or space separated; as with --detectors, "
        "the report covers only this subset)",
    )
    parser.add_argument(
        "--seeds",
        nargs="+",
        metavar="SEED",
        help="replace the suite's seeds (the report covers only these)",
    )


def override(suite: Suite, args: argparse.Namespace) -> Suite:
    """Apply --detectors/--datasets/--seeds (they replace the suite's lists, keeping the
    suite's settings for names it already has) and --memory-budget."""
    from anobench.plan.suite import parse_suite

    update: dict[str, object] = {}
    if (listed := names(args.detectors)) is not None:
        update["detectors"] = {n: suite.detectors.get(n, {}) for n in listed}
    if (listed := names(args.datasets)) is not None:
        update["datasets"] = {
            n: suite.datasets[n].model_dump() if n in suite.datasets else {} for n in listed
        }
    if (values := seeds(args.seeds)) is not None:
        update["seeds"] = values
    if getattr(args, "memory_budget", None) is not None:
        update["memory_budget_mb"] = args.memory_budget
    if not update:
        return suite
    return parse_suite(
        {**suite.model_dump(), **update}, f"suite {suite.name!r} with options", suite.base
    )


def spec_names(registry: Registry, wanted: Sequence[str]) -> list[str]:
    """``wanted``, each checked to be a registered name (an unknown one raises
    :class:`~anobench.registry.UnknownNameError` with suggestions)."""
    known = registry.names()
    for name in wanted:
        if name not in known:
            registry.entry(name)
    return list(wanted)


def metric_key(text: str) -> str:
    """A leaderboard metric's key, checked when the command runs (the metric registry
    imports scikit-learn, which ``--help`` must not pay for)."""
    from anobench.metrics.cell import leaderboard_metrics
    from anobench.registry import did_you_mean

    known = leaderboard_metrics()
    if text not in known:
        raise argparse.ArgumentTypeError(
            f"unknown metric {text!r}; leaderboard metrics: {', '.join(known)}."
            + did_you_mean(text, known)
        )
    return text


def metric_help(default: Any = None) -> str:
    tail = " (default: %(default)s)" if default else ""
    return "a leaderboard metric: roc_auc, ap or f1@POLICY, e.g. f1@train-quantile" + tail
