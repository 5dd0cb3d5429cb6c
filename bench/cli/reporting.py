"""``anobench report`` and ``anobench prune``, and the report a run prints when it ends."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

FAILED_STATUSES = ("error", "timeout", "oom")
FAILED_EXIT = 1

__all__ = ["FAILED_EXIT", "FAILED_STATUSES", "cmd_prune", "cmd_report", "report_and_print"]


def report_and_print(
    run_dir: Path,
    metric: str | None,
    *,
    allow_failures: bool = True,
    posthoc: str = "wilcoxon-holm",
    plots: bool = True,
    rebuild: bool = False,
    vector_all: bool = False,
) -> int:
    """Write (or keep) the report, print coverage and the leaderboards; the exit status."""
    from anobench.report.build import make_report
    from anobench.report.render.text import console_text

    report = make_report(
        run_dir,
        posthoc=posthoc,
        plots=plots,
        rebuild=rebuild,
        dataset_formats=(".png", ".pdf", ".svg") if vector_all else (".png",),
    )
    if report.n_missing:
        print(
            f"\n{report.n_missing} of {len(report.frame)} cells of this suite never ran: "
            "shown as 'missing'; run the same command again to finish them."
        )
    assert report.path is not None
    if metric is None:  # the first leaderboard (anobench.metrics.cell orders them)
        metric = report.boards[0].metric if report.boards else "roc_auc"
    print("\n" + console_text(report, metric))
    print(f"\nreport: {report.path / 'index.html'}")
    n_failed = report.n_failed
    if n_failed and not allow_failures:
        print(
            f"anobench: {n_failed} cell(s) failed (error, timeout or oom; see the report's "
            "failures table): exit status 1 (--allow-failures accepts them)",
            file=sys.stderr,
        )
        return FAILED_EXIT
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run directory {run_dir} does not exist")
    return report_and_print(
        run_dir,
        args.metric,
        allow_failures=args.allow_failures,
        posthoc=args.posthoc,
        plots=not args.no_plots,
        rebuild=args.rebuild,
        vector_all=args.vector_all,
    )


def cmd_prune(args: argparse.Namespace) -> int:
    from anobench.execution.store import RunStore
    from anobench.report.render.text import stale_text
    from anobench.results.table import results_frame

    run_dir = Path(args.run_dir)
    if not (run_dir / "run.json").is_file():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no run.json)")
    store = RunStore(run_dir)
    stale_ids = store.stale_ids()
    named = results_frame(store.records(stale_ids))
    if not named.empty:
        print(stale_text(named, run_dir))
    unreadable = len(stale_ids) - len(named)
    if unreadable:
        print(f"{unreadable} record(s) of an older schema or damaged")
    if not args.dry_run:
        store.prune()
    verb = "would remove" if args.dry_run else "removed"
    print(f"{verb} {len(stale_ids)} stale record(s) (and their score files) from {run_dir}")
    return 0
