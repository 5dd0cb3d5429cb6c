"""The ``anobench`` command line. The CLI owns the terminal: tables, progress bars."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tabulate import tabulate

from anobench import __version__
from anobench.datasets.files import DataFileError
from anobench.paths import slug
from anobench.registry import Registry, UnknownNameError, dataset_registry, detector_registry
from anobench.store import RunLockedError
from anobench.suite import (
    MAX_CELLS,
    Suite,
    SuiteError,
    builtin_suites,
    load_suite,
    parse_suite,
)

logger = logging.getLogger("anobench")


def _names(values: Sequence[str] | None) -> list[str] | None:
    """``["a,b", "c"]`` -> ``["a", "b", "c"]``."""
    if values is None:
        return None
    return [v for item in values for v in item.split(",") if v]


def _seeds(values: Sequence[str] | None) -> list[int] | None:
    names = _names(values)
    if names is None:
        return None
    try:
        return [int(v) for v in names]
    except ValueError as exc:
        raise SuiteError(f"--seeds takes integers, got {values}") from exc


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _override(suite: Suite, args: argparse.Namespace) -> Suite:
    """Apply --detectors/--datasets/--seeds (they replace the suite's lists, keeping the
    suite's settings for names it already has) and --memory-budget."""
    update: dict[str, object] = {}
    if (names := _names(args.detectors)) is not None:
        update["detectors"] = {n: suite.detectors.get(n, {}) for n in names}
    if (names := _names(args.datasets)) is not None:
        update["datasets"] = {
            n: suite.datasets[n].model_dump() if n in suite.datasets else {} for n in names
        }
    if (seeds := _seeds(args.seeds)) is not None:
        update["seeds"] = seeds
    if getattr(args, "memory_budget", None) is not None:
        update["memory_budget_mb"] = args.memory_budget
    if not update:
        return suite
    return parse_suite({**suite.model_dump(), **update}, f"suite {suite.name!r} with options")


def cmd_list(args: argparse.Namespace) -> int:
    if args.what == "protocols":
        from anobench import presets
        from anobench.types import Protocol

        clean = {
            Protocol.NOVELTY: "train on the normal rows of the training part only",
            Protocol.UNSUPERVISED: "train on the training part with its anomalies",
        }
        protocol_rows = [
            [str(p), "clean", "suite's", f"{clean[p]}; identical rows on one side of a "
             "stratified split, seeds derived per data set and detector"]
            for p in Protocol
        ]  # fmt: skip
        for preset in presets.PRESETS.values():
            mapped = [f"{c.name}={c.detector}" for c in preset.columns if c.detector]
            protocol_rows.append(
                [
                    preset.name,
                    "published",
                    ",".join(map(str, preset.seeds)),
                    f"{preset.title}. Columns: {', '.join(mapped)}. Flaws: "
                    + "; ".join(preset.flaws),
                ]
            )
        print(
            tabulate(
                protocol_rows,
                headers=["protocol", "kind", "seeds", "what"],
                maxcolwidths=[None, None, None, 80],
            )
        )
        return 0
    if args.what == "suites":
        rows = []
        for name in builtin_suites():
            suite = load_suite(name)
            rows.append([name, len(suite.detectors), len(suite.datasets), suite.description])
        print(tabulate(rows, headers=["suite", "detectors", "datasets", "description"]))
        return 0
    registry: Registry = detector_registry() if args.what == "detectors" else dataset_registry()
    rows = []
    for name in registry.names():
        entry = registry.entry(name)
        problem = registry.availability(name)
        if problem is not None:
            rows.append([name, "-", "-", entry.distribution, f"UNAVAILABLE: {problem}"])
            continue
        obj = registry.load(name)
        if args.what == "detectors":
            rows.append(
                [name, obj.family, ",".join(obj.modalities), entry.distribution, obj.summary()]
            )
        else:
            rows.append([name, obj.modality, obj.licence, entry.distribution, obj.description])
    headers = (
        ["detector", "family", "modalities", "from", "summary"]
        if args.what == "detectors"
        else ["dataset", "modality", "licence", "from", "description"]
    )
    print(tabulate(rows, headers=headers, maxcolwidths=[None, None, None, None, 70]))
    return 0


class _Terminated(KeyboardInterrupt):
    """SIGTERM, turned into the same orderly stop as Ctrl-C."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated()


def _writable_dir(out: Path) -> None:
    """Refuse an ``--out`` that is a file or cannot be written, before anything runs."""
    if out.exists() and not out.is_dir():
        raise SuiteError(f"--out {out} is a file, not a run directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise SuiteError(f"cannot write to the run directory {out}: {exc.strerror}") from None


#: statuses that make `run` exit with FAILED_EXIT unless --allow-failures
FAILED_STATUSES = ("error", "timeout", "oom")
FAILED_EXIT = 1


def cmd_run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from anobench.report import write_report
    from anobench.runner import run_suite
    from anobench.store import RunStore, run_frame

    suite = _override(load_suite(args.suite), args)
    detectors, datasets = detector_registry(), dataset_registry()
    out = Path(args.out or Path("results") / "runs" / suite.name)
    _writable_dir(out)
    bar: tqdm | None = None
    failed = 0

    def on_start(n: int) -> None:
        nonlocal bar
        bar = tqdm(
            total=n, unit="cell", desc=suite.name, dynamic_ncols=True, disable=args.quiet or None
        )

    def on_result(record: dict) -> None:
        nonlocal failed
        if record["status"] not in ("ok", "skipped"):
            failed += 1
            logger.debug("%s on %s failed: %s", record["label"], record["dataset"], record["error"])
        assert bar is not None
        bar.set_postfix(failed=failed, refresh=False)
        bar.update(1)

    logger.info("running suite %r into %s with %d job(s)", suite.name, out, args.jobs)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        summary = run_suite(
            suite,
            out,
            detectors,
            datasets,
            jobs=args.jobs,
            force=args.force,
            retry_failed=args.retry_failed,
            max_cells=args.max_cells,
            on_start=on_start,
            on_result=on_result,
        )
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
    counts = ", ".join(f"{n} {s}" for s, n in sorted(summary.by_status.items())) or "nothing new"
    print(
        f"{summary.total} cells: {summary.cached} already done, ran {summary.ran} ({counts}) "
        f"in {summary.seconds:.1f} s"
    )
    report_dir = write_report(out)
    covered = run_frame(RunStore(out))
    frame = covered.frame
    _print_coverage(covered)
    _print_results(frame, "roc_auc", report_dir)
    n_failed = int(frame["status"].isin(FAILED_STATUSES).sum()) if not frame.empty else 0
    if n_failed and not args.allow_failures:
        print(
            f"anobench: {n_failed} cell(s) failed (error, timeout or oom; see the report's "
            "failures table): exit status 1 (--allow-failures accepts them)",
            file=sys.stderr,
        )
        return FAILED_EXIT
    return 0


def _print_results(frame: Any, metric_key: str, report_dir: Path) -> None:
    """Per protocol the leaderboard of ``metric_key`` (a published protocol's title and
    flaws first), the comparisons with published tables, and the report's path."""
    from anobench.leaderboard import format_leaderboard, leaderboard
    from anobench.metrics import metric
    from anobench.reference_report import console_summaries
    from anobench.report import protocol_title, published_flaws

    if metric_key in frame.columns:
        for protocol in sorted(frame["protocol"].unique()):
            title = protocol_title(metric(metric_key).title, protocol)
            print(f"\n{title} (mean ± std over seeds)")
            if flaws := published_flaws(protocol):
                print(flaws)
            print(format_leaderboard(leaderboard(frame, metric_key, protocol)))
    else:
        print(f"\nthe run has no {metric(metric_key).title} (no cell computed it)")
    for text in console_summaries(report_dir):
        print("\n" + text)
    print(f"\nreport: {report_dir / 'index.html'}")


def _print_coverage(covered: Any) -> None:
    """Say which cells never ran (stale records are named by the report's warning)."""
    if covered.n_missing:
        print(
            f"\n{covered.n_missing} of {len(covered.frame)} cells of this suite never ran: "
            "shown as 'missing'; run the same command again to finish them."
        )


def cmd_prune(args: argparse.Namespace) -> int:
    from anobench.store import RunStore, results_frame, stale_summary

    run_dir = Path(args.run_dir)
    if not (run_dir / "run.json").is_file():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no run.json)")
    store = RunStore(run_dir)
    stale_ids = store.stale_ids()
    named = results_frame(store.records(stale_ids))
    if not named.empty:
        print(stale_summary(named, run_dir))
    unreadable = len(stale_ids) - len(named)
    if unreadable:
        print(f"{unreadable} record(s) of an older schema or damaged")
    if not args.dry_run:
        store.prune()
    verb = "would remove" if args.dry_run else "removed"
    print(f"{verb} {len(stale_ids)} stale record(s) (and their score files) from {run_dir}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from anobench.report import write_report
    from anobench.store import RunStore, run_frame

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run directory {run_dir} does not exist")
    report_dir = write_report(run_dir, posthoc=args.posthoc, plots=not args.no_plots)
    covered = run_frame(RunStore(run_dir))
    frame = covered.frame
    _print_coverage(covered)
    _print_results(frame, args.metric, report_dir)
    return 0


def _spec_names(registry: Registry, names: Sequence[str]) -> list[str]:
    known = registry.names()
    for name in names:
        if name not in known:
            registry.entry(name)  # raises UnknownNameError with suggestions
    return list(names)


def cmd_baseline(args: argparse.Namespace) -> int:
    from anobench.baseline import DEFAULT_METRICS, make_baseline

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
    from anobench.baseline import Baseline, check, format_findings

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run directory {run_dir} does not exist")
    baseline = Baseline.load(args.baseline)
    findings = check(run_dir, baseline)
    print(format_findings(findings, len(baseline.cells)))
    return 1 if any(f.fails for f in findings) else 0


def cmd_perf_deep(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from anobench.perf import deep_perf

    report = deep_perf(
        n_train=args.n_train,
        epochs=args.epochs,
        batch_size=args.batch_size,
        repeats=args.repeats,
        seeds=args.seeds,
        with_torch=not args.no_torch,
    )
    cfg = report.config
    print(f"device: {report.device}")
    print(
        f"data: {cfg['n_train']} x {cfg['n_features']} ({cfg['data']}); AE {cfg['architecture']}, "
        f"batch {cfg['batch_size']}, {cfg['epochs']} epochs, Adam {cfg['learning_rate']:g}; "
        f"{cfg['train_gflop']:.1f} GFLOP per training; median of {cfg['repeats']} fits"
    )
    print(
        f"float32 matmul: {report.matmul_gflops:.1f} GFLOP/s (2048^2); "
        f"{report.matmul_gflops_at_batch:.1f} GFLOP/s at the model's "
        f"{cfg['batch_size']}x{cfg['n_features']}x{cfg['hidden'][0]} shape "
        "(chained in one program)\n"
    )
    ours = report.rows[0]
    rows = []
    for row in report.rows:
        rows.append(
            [
                row.name,
                f"{row.train_seconds:.2f}",
                f"{row.first_fit_seconds:.2f}",
                "-" if row.compile_seconds is None else f"{row.compile_seconds:.2f}",
                f"{row.samples_per_second:,.0f}",
                f"{row.gflops:.1f}",
                f"{row.gflops / report.matmul_gflops:.0%}",
                f"{row.gflops / report.matmul_gflops_at_batch:.0%}",
                f"{row.roc_auc:.4f} ± {row.roc_auc_std:.4f}",
                f"{row.train_seconds / ours.train_seconds:.2f}x",
            ]
        )
    print(
        tabulate(
            rows,
            headers=[
                "implementation",
                "train s",
                "first fit s (compile incl.)",
                "compile s",
                "samples/s",
                "GFLOP/s",
                "of 2048^2 matmul",
                "of model-shape matmul",
                "ROC-AUC (mean ± std)",
                "time vs ours",
            ],
        )
    )
    v = report.vmap
    print(
        f"\nvmap over {int(v['seeds'])} seeds: {v['vmap_train_seconds']:.2f} s in one program "
        f"(first fit {v['vmap_first_fit_seconds']:.2f} s, "
        f"compile {v['vmap_compile_seconds']:.2f} s) "
        f"vs {v['sequential_train_seconds']:.2f} s for {int(v['seeds'])} sequential trainings "
        f"({v['sequential_fit_seconds']:.2f} s with fit overheads): {v['speedup']:.2f}x"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(asdict(report), indent=2))
        print(f"\nwrote {args.json}")
    return 0


def cmd_perf_isolation(args: argparse.Namespace) -> int:
    from anobench.perf_isolation import format_passes, isolation_perf

    suite = _override(load_suite(args.suite), args)
    print(format_passes(isolation_perf(suite, jobs=args.jobs, repeat=args.repeat)))
    return 0


def cmd_data_list(args: argparse.Namespace) -> int:
    from anobench import inventory

    registry = dataset_registry()
    rows = []
    for name in registry.names():
        problem = registry.availability(name)
        if problem is not None:
            rows.append([name, "-", "UNAVAILABLE", "", "", "", problem])
            continue
        spec = registry.load(name)
        where = inventory.presence(spec)
        info = None
        if where != "missing" and not where.startswith("missing"):
            try:
                info = inventory.stats(spec, compute=not args.fast)
            except Exception as exc:
                where = f"unreadable: {exc}"[:60]
        shape = "x".join(str(d) for d in info["shape"]) if info else ""
        rows.append(
            [
                name,
                spec.modality,
                where,
                info["n"] if info else "",
                shape,
                f"{info['anomaly_ratio']:.1%}" if info else "",
                spec.licence,
            ]
        )
    print(
        tabulate(
            rows,
            headers=["dataset", "modality", "files", "rows", "features", "anomalies", "licence"],
            maxcolwidths=[None, None, 24, None, None, None, 40],
        )
    )
    n_local = sum(1 for r in rows if r[2] in ("local", "embedded"))
    print(f"\n{len(rows)} data sets, {n_local} usable here (embedded or files local).")
    return 0


def cmd_data_info(args: argparse.Namespace) -> int:
    from anobench import inventory

    registry = dataset_registry()
    spec = registry.load(_spec_names(registry, [args.name])[0])
    info = inventory.stats(spec) if not spec.missing_files() else None
    lines = [
        f"name:        {spec.name}",
        f"modality:    {spec.modality}",
        f"description: {spec.description}",
        f"licence:     {spec.licence}",
        f"citation:    {spec.citation}",
    ]
    if info:
        shape = "x".join(str(d) for d in info["shape"])
        lines.append(
            f"size:        {info['n']} rows of {shape}; {info['n_anomalies']} anomalies "
            f"({info['anomaly_ratio']:.2%}); a split keeps every row with its copies "
            "(a fixed train/test split drops training rows that also occur in test)"
        )
        dups = info.get("duplicates") or {}
        if dups.get("duplicate_groups"):
            lines.append(
                f"duplicates:  {dups['duplicate_rows']} rows belong to "
                f"{dups['duplicate_groups']} groups of identical rows; "
                f"{dups.get('conflicting_rows', 0)} rows in "
                f"{dups.get('conflicting_groups', 0)} groups occur with both labels (each "
                "copy keeps its own label); the largest group holds "
                f"{dups.get('largest_anomaly_group', 0)} of the anomalies (a group stays "
                "whole on one side of a split)"
            )
        else:
            lines.append("duplicates:  none (every row is distinct)")
    if spec.params:
        lines.append("parameters:  " + ", ".join(f"{k}={v!r}" for k, v in spec.params.items()))
    lines.append(f"fingerprint: {spec.fingerprint()}")
    print("\n".join(lines))
    if spec.files:
        rows = []
        for file in spec.files:
            state = inventory.check(file)
            rows.append([file.relpath, state.status, file.known_hash or "unpinned", file.urls[0]])
        print()
        print(tabulate(rows, headers=["file", "local copy", "checksum", "source"]))
    else:
        print("files:       none (embedded)")
    return 0


def cmd_data_fetch(args: argparse.Namespace) -> int:
    from anobench import inventory
    from anobench.datasets.files import DataFileError, locate

    registry = dataset_registry()
    names = _spec_names(registry, args.names) if not args.all else []
    if not names and not args.all:
        raise ValueError("name the data sets to fetch, or pass --all")
    failed = 0
    for relpath, file in inventory.files_of(registry, names).items():
        try:
            path = locate(file)
            print(f"ok       {relpath}  ->  {path}")
        except DataFileError as exc:
            failed += 1
            print(f"FAILED   {relpath}: {exc}")
    return 1 if failed else 0


def cmd_data_verify(args: argparse.Namespace) -> int:
    from anobench import inventory

    registry = dataset_registry()
    names = _spec_names(registry, args.names)
    rows, bad = [], 0
    for _, file in inventory.files_of(registry, names).items():
        state = inventory.check(file)
        if state.status == "missing" and not names:
            continue  # verify checks what is here; `data list` shows what is not
        bad += state.status in ("MISMATCH", "missing")
        rows.append([state.relpath, state.status, state.path, state.detail])
    print(
        tabulate(
            rows, headers=["file", "status", "path", "detail"], maxcolwidths=[None, None, 50, 70]
        )
    )
    counts = {
        s: sum(1 for r in rows if r[1] == s) for s in ("ok", "unpinned", "MISMATCH", "missing")
    }
    print("\n" + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
    return 1 if bad else 0


def build_parser() -> argparse.ArgumentParser:
    from anobench.metrics import leaderboard_metrics

    metrics = leaderboard_metrics()

    parser = argparse.ArgumentParser(
        prog="anobench",
        description="Run anomaly detectors across data sets with fixed seeds; build leaderboards.",
    )
    parser.add_argument("--version", action="version", version=f"anobench {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)"
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="local mirror of the public data files, laid out <DIR>/<source>/<file> "
        "(sets ANOBENCH_DATA_DIR; default: that variable)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p_list = sub.add_parser(
        "list",
        help="list detectors, datasets, suites or protocols",
        description="List registered detectors or data sets (with their "
        "availability), the built-in suites, or the protocols (clean ones and the "
        "published presets with their seeds, column mapping and known flaws).",
    )
    p_list.add_argument("what", choices=["detectors", "datasets", "suites", "protocols"])
    p_list.set_defaults(func=cmd_list)

    p_run = sub.add_parser(
        "run",
        help="run a suite",
        description="Run a suite: every cell not "
        "already stored in the output directory, then print the leaderboard. Each cell runs "
        "in a worker process under the suite's time and memory budgets, from a clean "
        "process state; a failing, crashing or hanging detector becomes that cell's "
        "record. Exit status: 0 when every cell is ok or skipped, 1 when cells failed "
        "(error, timeout, oom; --allow-failures gives 0), 2 for bad input (suite, --out, "
        "a locked run directory, disk full), 130/143 when interrupted (Ctrl-C / SIGTERM; "
        "finished cells are kept).",
    )
    p_run.add_argument(
        "suite", help="built-in suite name (see `anobench list suites`) or a .toml path"
    )
    p_run.add_argument("--out", help="run directory (default: results/runs/<suite>)")
    p_run.add_argument(
        "--jobs",
        "-j",
        type=_positive_int,
        default=min(2, os.cpu_count() or 1),
        help="worker processes (default: %(default)s)",
    )
    p_run.add_argument(
        "--detectors",
        nargs="+",
        metavar="NAME",
        help="run only these detectors (comma or space separated); the run directory's "
        "report then covers only this subset (other records are kept as stale): use "
        "another --out to keep a full run's report",
    )
    p_run.add_argument(
        "--datasets",
        nargs="+",
        metavar="NAME",
        help="run only these data sets (comma or space separated; as with --detectors, "
        "the report covers only this subset)",
    )
    p_run.add_argument(
        "--seeds",
        nargs="+",
        metavar="SEED",
        help="replace the suite's seeds (the report covers only these)",
    )
    p_run.add_argument("--force", action="store_true", help="rerun cells already stored")
    p_run.add_argument(
        "--retry-failed",
        action="store_true",
        help="rerun stored cells whose status is not ok, and ok cells whose threshold "
        "calibration was refused (time budget) or failed",
    )
    p_run.add_argument(
        "--memory-budget",
        type=float,
        metavar="MB",
        help="resident memory per cell in MiB, its whole process tree counted; a cell "
        "over it is stopped and recorded as oom (default: the suite's memory_budget_mb, "
        "else 80%% of the machine's memory divided by --jobs)",
    )
    p_run.add_argument(
        "--max-cells",
        type=_positive_int,
        default=MAX_CELLS,
        metavar="N",
        help="refuse a suite that expands to more cells, counted before expanding "
        "(default: %(default)s)",
    )
    p_run.add_argument(
        "--allow-failures",
        action="store_true",
        help="exit 0 even when cells failed (by default a run with error, timeout or oom "
        "cells exits 1, after writing the report)",
    )
    p_run.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p_run.set_defaults(func=cmd_run)

    p_data = sub.add_parser(
        "data",
        help="list, describe, fetch and verify data sets",
        description="Data sets and their files. Files are read from the mirror directory "
        "(--data-dir / ANOBENCH_DATA_DIR), else the download cache (ANOBENCH_CACHE_DIR), "
        "else downloaded with their checksum checked (not when ANOBENCH_OFFLINE=1).",
    )
    data_sub = p_data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    p_dl = data_sub.add_parser(
        "list", help="every data set: files present?, rows, features, anomaly ratio, licence"
    )
    p_dl.add_argument(
        "--fast", action="store_true", help="do not load data sets to measure their size"
    )
    p_dl.set_defaults(func=cmd_data_list)
    p_di = data_sub.add_parser("info", help="everything about one data set, with its files")
    p_di.add_argument("name")
    p_di.set_defaults(func=cmd_data_info)
    p_df = data_sub.add_parser("fetch", help="download (or find) and verify data-set files")
    p_df.add_argument("names", nargs="*", metavar="NAME")
    p_df.add_argument("--all", action="store_true", help="every registered data set")
    p_df.set_defaults(func=cmd_data_fetch)
    p_dv = data_sub.add_parser(
        "verify", help="check local files against their checksums (exit 1 on a mismatch)"
    )
    p_dv.add_argument("names", nargs="*", metavar="NAME", help="default: every local file")
    p_dv.set_defaults(func=cmd_data_verify)

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
        choices=metrics,
        help="metric to record (repeatable; default: roc_auc and ap)",
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

    p_perf = sub.add_parser(
        "perf",
        help="performance benchmarks (figures and ratios, side by side)",
        description="Performance benchmarks that print figures and ratios measured side by "
        "side in one run.",
    )
    perf_sub = p_perf.add_subparsers(dest="perf_command", required=True, metavar="BENCHMARK")
    p_pd = perf_sub.add_parser(
        "deep",
        help="JAX autoencoder training vs PyOD's AutoEncoder and a plain PyTorch loop",
        description="Train the same dense autoencoder (784-128-64-16-64-128-784) with "
        "anobench's JAX `ae`, PyOD's AutoEncoder and a plain PyTorch loop (when torch is "
        "installed: pip install 'anobench[torch]'), on MNIST-shaped data; print training "
        "time with and without compilation, samples/s, GFLOP/s against the measured "
        "float32 matmul throughput, ROC-AUC, and vmap over seeds vs sequential trainings.",
    )
    p_pd.add_argument(
        "--n-train", type=int, default=6000, help="training rows (default: %(default)s)"
    )
    p_pd.add_argument("--epochs", type=int, default=20, help="default: %(default)s")
    p_pd.add_argument("--batch-size", type=int, default=128, help="default: %(default)s")
    p_pd.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="fits per implementation; times are medians (default: %(default)s)",
    )
    p_pd.add_argument(
        "--seeds", type=int, default=5, help="models in the vmap comparison (default: %(default)s)"
    )
    p_pd.add_argument(
        "--no-torch", action="store_true", help="skip PyOD and PyTorch even if installed"
    )
    p_pd.add_argument("--json", metavar="FILE", help="also write every figure to FILE")
    p_pd.set_defaults(func=cmd_perf_deep)
    p_pi = perf_sub.add_parser(
        "isolation",
        help="cells/s with workers reused (state reset) vs a fresh process per cell",
        description="Run a suite's cells twice into temporary directories: workers reused "
        "with their state reset before each cell (the default) and a fresh worker process "
        "per cell; print wall time, cells/s, workers started and harness overhead per "
        "cell, and the ratio. Run it once before measuring, to warm the XLA cache.",
    )
    p_pi.add_argument("suite", nargs="?", default="quick", help="default: %(default)s")
    p_pi.add_argument("--detectors", nargs="+", metavar="NAME", help="only these detectors")
    p_pi.add_argument("--datasets", nargs="+", metavar="NAME", help="only these data sets")
    p_pi.add_argument("--seeds", nargs="+", metavar="SEED", help="replace the suite's seeds")
    p_pi.add_argument("--jobs", "-j", type=_positive_int, default=2, help="default: %(default)s")
    p_pi.add_argument(
        "--repeat", type=_positive_int, default=1, help="passes per strategy (default: 1)"
    )
    p_pi.set_defaults(func=cmd_perf_isolation)

    p_prune = sub.add_parser(
        "prune",
        help="delete a run directory's stale records",
        description="Delete the records (and score files) of RUN_DIR that are not part of "
        "its current suite expansion: cells of another configuration, other seeds or an "
        "older code version, which the report lists as stale and never averages; in a "
        "directory written before suite expansions were recorded, the records this "
        "anobench cannot read. Prints what it removes.",
    )
    p_prune.add_argument("run_dir", help="a run directory written by `anobench run`")
    p_prune.add_argument("--dry-run", action="store_true", help="only count them")
    p_prune.set_defaults(func=cmd_prune)

    p_report = sub.add_parser(
        "report",
        help="write the report of a run directory",
        description="Write RUN_DIR/report: the tidy CSV/Parquet table; per protocol and "
        "metric a Markdown/CSV leaderboard, statistics (bootstrap CI, average rank, "
        "Friedman and post-hoc tests) and a critical-difference diagram; PNG plots; and "
        "index.html, one self-contained page with all of it. Prints a leaderboard.",
    )
    p_report.add_argument("run_dir", help="a run directory written by `anobench run`")
    p_report.add_argument(
        "--metric",
        choices=metrics,
        default="roc_auc",
        help="metric to print (default: %(default)s)",
    )
    p_report.add_argument(
        "--posthoc",
        choices=["wilcoxon-holm", "nemenyi"],
        default="wilcoxon-holm",
        help="pairwise test after Friedman (default: %(default)s)",
    )
    p_report.add_argument(
        "--no-plots", action="store_true", help="tables and statistics only (no PNG, faster)"
    )
    p_report.set_defaults(func=cmd_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.data_dir:
        os.environ["ANOBENCH_DATA_DIR"] = str(Path(args.data_dir).resolve())
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except (
        SuiteError,
        UnknownNameError,
        FileNotFoundError,
        ValueError,
        DataFileError,
        RunLockedError,
    ) as exc:  # (BaselineError and PathEscapeError are ValueErrors)
        print(f"anobench: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # disk full, read-only folder, ...: nothing finished is lost
        where = f" ({exc.filename})" if exc.filename else ""
        print(
            f"anobench: error: {exc.strerror or exc}{where}; finished cells are kept",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
