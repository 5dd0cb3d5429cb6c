"""``anobench baseline`` and ``check``: the regression gate CI runs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from anobench.cli.options import metric_help, metric_key

__all__ = ["add_commands", "cmd_baseline", "cmd_check"]


def add_commands(sub: Any) -> None:
    p_base = sub.add_parser(
        "baseline",
        help="write (or refresh) a metric baseline from a run",
        description="Record, per (detector, data set, protocol) and metric, the mean and "
        "the seed-to-seed std of a finished run, for `anobench check`.",
    )
    p_base.add_argument("run_dir", help="a run directory written by `anobench run`")
    p_base.add_argument("--out", metavar="FILE", help="default: results/reference/<suite>.json")
    p_base.add_argument(
        "--metric",
        action="append",
        type=metric_key,
        help=metric_help() + "; repeatable (default: roc_auc and ap)",
    )
    p_base.add_argument(
        "--floor",
        type=float,
        default=0.02,
        help="smallest allowed drop of a mean (default: %(default)s)",
    )
    p_base.add_argument(
        "--k",
        type=float,
        default=3.0,
        help="allowed drop in seed-to-seed standard deviations (default: %(default)s)",
    )
    p_base.set_defaults(func=cmd_baseline)

    p_check = sub.add_parser(
        "check",
        help="compare a run with a baseline; exit 1 on a regression",
        description="Compare each (detector, data set, protocol) metric of RUN_DIR with "
        "the baseline. The allowed drop of each is max(floor, k x its seed-to-seed std in "
        "the baseline). Prints regressions and improvements; exits 1 on a regression, a "
        "cell that newly fails, or a baseline key missing from the run.",
    )
    p_check.add_argument("run_dir", help="a run directory written by `anobench run`")
    p_check.add_argument(
        "--baseline",
        required=True,
        metavar="FILE",
        help="a baseline written by `anobench baseline`",
    )
    p_check.set_defaults(func=cmd_check)


def cmd_baseline(args: argparse.Namespace) -> int:
    from anobench.paths import slug
    from anobench.results.gate import DEFAULT_METRICS, make_baseline

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run directory {run_dir} does not exist")
    baseline = make_baseline(
        run_dir, metrics=args.metric or DEFAULT_METRICS, floor=args.floor, k=args.k
    )
    default = Path("results") / "reference" / f"{slug(baseline.suite or 'baseline')}.json"
    out = Path(args.out or default)
    baseline.save(out)
    keys = len({(c.detector, c.dataset, c.protocol) for c in baseline.cells})
    print(
        f"baseline of {keys} keys x {len(baseline.metrics)} metric(s) "
        f"(allowed drop = max({baseline.floor}, {baseline.k} x seed std)) written to {out}"
    )
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from anobench.report.render.gate import format_findings
    from anobench.results.gate import Baseline, check

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run directory {run_dir} does not exist")
    baseline = Baseline.load(args.baseline)
    findings = check(run_dir, baseline)
    print(format_findings(findings, len(baseline.cells)))
    return 1 if any(f.fails for f in findings) else 0
