"""``anobench run``, ``report`` and ``prune``: run a suite into a run directory and print
what it found."""

from __future__ import annotations

import argparse
import logging
import signal
import statistics
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anobench.cli import exporting
from anobench.cli.options import (
    MAX_CELLS,
    add_selection,
    metric_help,
    metric_key,
    override,
    positive_int,
)
from anobench.cli.reporting import (
    FAILED_EXIT,
    FAILED_STATUSES,
    cmd_prune,
    cmd_report,
    report_and_print,
)
from anobench.execution.executors.base import available_cores

if TYPE_CHECKING:
    from anobench.execution.driver import Plan
    from anobench.record import CellResult

__all__ = [
    "FAILED_EXIT",
    "FAILED_STATUSES",
    "add_commands",
    "cmd_prune",
    "cmd_report",
    "cmd_run",
]

logger = logging.getLogger("anobench")

#: statuses that make `run` exit with FAILED_EXIT unless --allow-failures


def add_commands(sub: Any) -> None:
    p = sub.add_parser(
        "run",
        help="run a suite",
        description="Run a suite: every cell not already stored in the output directory, "
        "then write the report (unless nothing changed since it was written) and print the "
        "leaderboard. Each cell runs in a worker process under the suite's time and memory "
        "budgets, from a clean process state; a failing, crashing or hanging detector "
        "becomes that cell's record. Exit status: 0 when every cell is ok or skipped, 1 when "
        "cells failed (error, timeout, oom; --allow-failures gives 0), 2 for bad input "
        "(suite, --out, a locked run directory, disk full), 130/143 when interrupted "
        "(Ctrl-C / SIGTERM; finished cells are kept).",
    )
    p.add_argument("suite", help="built-in suite name (see `anobench list suites`) or a .toml path")
    p.add_argument("--out", help="run directory (default: results/runs/<suite>)")
    p.add_argument(
        "--jobs",
        "-j",
        type=positive_int,
        default=available_cores(),
        help="worker processes (default: the cores available, %(default)s here)",
    )
    add_selection(p)
    p.add_argument("--force", action="store_true", help="rerun cells already stored")
    p.add_argument(
        "--retry-failed",
        action="store_true",
        help="rerun stored cells whose status is not ok, and ok cells whose threshold "
        "calibration was refused (time budget) or failed",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="run nothing: print the cells to run per detector and data set and an ETA "
        "from the durations of past records in the run directory",
    )
    p.add_argument(
        "--shard",
        metavar="K/N",
        help="run only the K-th of N deterministic parts of the cells (1 <= K <= N), e.g. "
        "one task of a batch-scheduler array; shards may write one run directory at the "
        "same time; assemble with `anobench report` once all finished",
    )
    p.add_argument(
        "--executor",
        choices=["local", "dask"],
        default="local",
        help="local: worker processes on this machine (default); dask: tasks of a Dask "
        "cluster, --scheduler's or a local one of --jobs workers (pip install "
        "'anobench[dask]'; see README for what nodes need)",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --executor dask: a running Dask scheduler, e.g. tcp://host:8786",
    )
    p.add_argument(
        "--no-report",
        action="store_true",
        help="store the cells only; write the report later with `anobench report`",
    )
    p.add_argument(
        "--memory-budget",
        type=float,
        metavar="MB",
        help="resident memory per cell in MiB, its whole process tree counted; a cell "
        "over it is stopped and recorded as oom (default: the suite's memory_budget_mb, "
        "else 80%% of the machine's memory divided by --jobs)",
    )
    p.add_argument(
        "--max-cells",
        type=positive_int,
        default=MAX_CELLS,
        metavar="N",
        help="refuse a suite that expands to more cells, counted before expanding "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--allow-failures",
        action="store_true",
        help="exit 0 even when cells failed (by default a run with error, timeout or oom "
        "cells exits 1, after writing the report)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "report",
        help="write the report of a run directory",
        description="Write RUN_DIR/report: the tidy CSV/Parquet table; per protocol and "
        "metric a Markdown/CSV/LaTeX leaderboard, statistics (bootstrap CI, average rank, "
        "Friedman and post-hoc tests) and a critical-difference diagram; plots (PNG, PDF, "
        "SVG); and index.html, the page that opens with a summary and links the figures "
        "(open it from the report folder). Prints a leaderboard. A report "
        "whose inputs (records, scores, run manifest, options, anobench's code) did not "
        "change since it was written is kept as is. Exit status 1 when cells failed "
        "(--allow-failures gives 0).",
    )
    p.add_argument("run_dir", help="a run directory written by `anobench run`")
    p.add_argument("--metric", type=metric_key, default="roc_auc", help=metric_help(True))
    p.add_argument(
        "--posthoc",
        choices=["wilcoxon-holm", "nemenyi"],
        default="wilcoxon-holm",
        help="pairwise test after Friedman (default: %(default)s)",
    )
    p.add_argument(
        "--no-plots", action="store_true", help="tables and statistics only (no PNG, faster)"
    )
    p.add_argument(
        "--rebuild", action="store_true", help="write the report even if nothing changed"
    )
    p.add_argument(
        "--vector-all",
        action="store_true",
        help="also write the per-data-set figures as PDF and SVG (the summary figures and "
        "CD diagrams always are; these are large and slow to write)",
    )
    p.add_argument(
        "--allow-failures",
        action="store_true",
        help="exit 0 even when cells failed (by default a run with error, timeout or oom "
        "cells exits 1, after writing the report, as `anobench run` does)",
    )
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "prune",
        help="delete a run directory's stale records",
        description="Delete the records (and score files) of RUN_DIR that are not part of "
        "its current suite expansion: cells of another configuration, other seeds or an "
        "older code version, which the report lists as stale and never averages; in a "
        "directory written before suite expansions were recorded, the records this "
        "anobench cannot read. Prints what it removes.",
    )
    p.add_argument("run_dir", help="a run directory written by `anobench run`")
    p.add_argument("--dry-run", action="store_true", help="only count them")
    p.set_defaults(func=cmd_prune)
    exporting.add_commands(sub)  # `export`: beside `report`, another way out of a run


class _Terminated(KeyboardInterrupt):
    """SIGTERM, turned into the same orderly stop as Ctrl-C."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated()


def _writable_dir(out: Path) -> None:
    """Refuse an ``--out`` that is a file or cannot be written, before anything runs."""
    from anobench.plan.suite import SuiteError

    if out.exists() and not out.is_dir():
        raise SuiteError(f"--out {out} is a file, not a run directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise SuiteError(f"cannot write to the run directory {out}: {exc.strerror}") from None


def _shard(text: str | None) -> tuple[int, int] | None:
    """``"K/N"`` -> ``(K, N)`` with ``1 <= K <= N``."""
    from anobench.plan.suite import SuiteError

    if text is None:
        return None
    try:
        k, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise SuiteError(f"--shard takes K/N (e.g. 3/8), got {text!r}") from None
    if not 1 <= k <= n:
        raise SuiteError(f"--shard {text}: K must be between 1 and N")
    return k, n


def cmd_run(args: argparse.Namespace) -> int:
    from anobench.plan.suite import load_suite
    from anobench.registry import dataset_registry, detector_registry

    suite = override(load_suite(args.suite), args)
    detectors, datasets = detector_registry(), dataset_registry()
    out = Path(args.out or Path("results") / "runs" / suite.name)
    shard = _shard(args.shard)
    if args.dry_run:
        from anobench.execution.driver import plan_suite

        plan = plan_suite(
            suite, out, detectors, datasets, force=args.force,
            retry_failed=args.retry_failed, max_cells=args.max_cells, shard=shard,
        )  # fmt: skip
        print(describe_plan(plan, jobs=args.jobs))
        return 0
    _writable_dir(out)
    summary = _run_with_progress(suite, out, detectors, datasets, args, shard)
    if isinstance(summary, int):  # interrupted: the exit status
        return summary
    counts = ", ".join(f"{n} {s}" for s, n in sorted(summary.by_status.items())) or "nothing new"
    shard_note = f" (shard {shard[0]}/{shard[1]})" if shard else ""
    print(
        f"{summary.total} cells{shard_note}: {summary.cached} already done, ran "
        f"{summary.ran} ({counts}) in {summary.seconds:.1f} s"
    )
    if args.no_report or shard:
        note = "" if args.no_report else " (a shard writes no report)"
        print(f"cells stored in {out}{note}; `anobench report {out}` writes the report")
        failed = _failed_cells(out, shard)
        if failed and not args.allow_failures:  # a batch scheduler reads the exit status
            print(
                f"anobench: {failed} cell(s) failed (error, timeout or oom): exit status 1 "
                "(--allow-failures accepts them)",
                file=sys.stderr,
            )
            return FAILED_EXIT
        return 0
    # the run's leading metric: VUS-PR for series suites, ROC-AUC otherwise
    return report_and_print(out, None, allow_failures=args.allow_failures)


def _failed_cells(out: Path, shard: tuple[int, int] | None) -> int:
    """Failed cells (error, timeout, oom) of the current expansion in ``out`` (of its
    shard), whether run now or kept from an earlier invocation."""
    from anobench.execution.driver import in_shard
    from anobench.execution.store import RunStore
    from anobench.results.table import run_frame

    frame = run_frame(RunStore(out)).frame
    if frame.empty:
        return 0
    if shard is not None:
        frame = frame[frame["cell_id"].map(lambda c: in_shard(str(c), shard))]
    return int(frame["status"].isin(FAILED_STATUSES).sum())


def _run_with_progress(
    suite: Any, out: Path, detectors: Any, datasets: Any, args: argparse.Namespace,
    shard: tuple[int, int] | None,
) -> Any:  # fmt: skip
    """Run the suite with a progress bar; the summary, or the exit status when stopped."""
    from tqdm import tqdm

    from anobench.execution.driver import run_suite

    bar: tqdm | None = None
    failed = 0

    def on_start(n: int) -> None:
        nonlocal bar
        bar = tqdm(
            total=n, unit="cell", desc=suite.name, dynamic_ncols=True, disable=args.quiet or None
        )

    def on_result(record: CellResult) -> None:
        nonlocal failed
        if record["status"] not in ("ok", "skipped"):
            failed += 1
            logger.debug("%s on %s failed: %s", record["label"], record["dataset"], record["error"])
        assert bar is not None
        bar.set_postfix(failed=failed, refresh=False)
        bar.update(1)

    executor = None
    if args.executor == "dask":
        from anobench.execution.executors.dask import DaskExecutor

        executor = DaskExecutor(
            args.scheduler, workers=args.jobs, memory_budget_mb=suite.memory_budget_mb
        )
    elif args.scheduler:
        from anobench.plan.suite import SuiteError

        raise SuiteError("--scheduler needs --executor dask")
    logger.info("running suite %r into %s with %d job(s)", suite.name, out, args.jobs)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return run_suite(
            suite, out, detectors, datasets, jobs=args.jobs, executor=executor, force=args.force,
            retry_failed=args.retry_failed, max_cells=args.max_cells, shard=shard,
            on_start=on_start, on_result=on_result,
        )  # fmt: skip
    except KeyboardInterrupt as exc:
        if bar is not None:
            bar.close()
        what = "terminated" if isinstance(exc, _Terminated) else "interrupted"
        print(
            f"\n{what}: finished cells are kept in {out}; run the same command again "
            "to finish the rest",
            file=sys.stderr,
        )
        return 128 + (signal.SIGTERM if isinstance(exc, _Terminated) else signal.SIGINT)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if bar is not None:
            bar.close()


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"



def describe_plan(plan: Plan, jobs: int) -> str:
    """What ``run --dry-run`` prints: counts per detector and per data set, and the ETA
    with ``jobs`` workers."""
    from tabulate import tabulate

    lines = [
        f"{len(plan.cells)} cells in the suite"
        + (f", {len(plan.todo)} in shard {plan.shard[0]}/{plan.shard[1]} to run"
           if plan.shard else f", {len(plan.todo)} to run")
        + f" ({len(plan.cells) - len(plan.todo)} already stored in {plan.out_dir})"
    ]  # fmt: skip
    for key, title in (("label", "detector"), ("dataset_label", "data set")):
        total = Counter(getattr(c, key) for c in plan.cells)
        todo = Counter(getattr(c, key) for c in plan.todo)
        secs: dict[str, float] = defaultdict(float)
        for cell, est in zip(plan.todo, plan.estimates, strict=True):
            secs[getattr(cell, key)] += est or 0.0
        rows = [[k, todo[k], total[k], f"{secs[k]:.0f}" if todo[k] else ""] for k in total]
        lines += ["", tabulate(rows, headers=[title, "to run", "cells", "est. cell s"])]
    known = [e for e in plan.estimates if e is not None]
    if not plan.todo:
        lines.append("\nnothing to run")
    elif not known:
        lines.append(f"\nETA: unknown (no past records in {plan.out_dir} to estimate from)")
    else:
        # cells with no past record are estimated at the median of the known ones
        fill = statistics.median(known)
        total_s = sum(e if e is not None else fill for e in plan.estimates)
        lines.append(
            f"\nETA: about {_duration(total_s / jobs)} with {jobs} job(s) "
            f"({len(known)} of {len(plan.todo)} cells estimated from past records "
            f"of the same detector and data set, the rest at their median {fill:.1f} s)"
        )
    return "\n".join(lines)
