"""``anobench perf``: performance benchmarks that print figures and ratios measured side by
side in one run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from anobench.cli.options import add_selection, override, positive_int

__all__ = [
    "add_commands",
    "cmd_perf_compile",
    "cmd_perf_deep",
    "cmd_perf_isolation",
    "cmd_perf_presets",
    "cmd_perf_scale",
]


def add_commands(sub: Any) -> None:
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
    p_pc = perf_sub.add_parser(
        "compile",
        help="XLA compiler options: compile vs training seconds of every deep model",
        description="Fit every built-in deep model (ae, vae, deepsvdd, fanogan, cae, lstm) "
        "under each candidate XLA option set (defaults, optimisation level 1 and 0, no "
        "expensive LLVM passes), persistent cache off; print the training program's "
        "compile seconds, the median training seconds of further fits, the first scoring "
        "call, and each as a ratio to XLA's defaults. The library's choice per backend "
        "is anobench.detectors.deep.programs.COMPILER_OPTIONS.",
    )
    p_pc.add_argument("--models", nargs="+", metavar="NAME", help="default: all six")
    p_pc.add_argument(
        "--rows", type=positive_int, default=400, help="training rows (default: %(default)s)"
    )
    p_pc.add_argument(
        "--repeats", type=positive_int, default=2, help="timed fits per cell (default: %(default)s)"
    )
    p_pc.set_defaults(func=cmd_perf_compile)
    p_pi = perf_sub.add_parser(
        "isolation",
        help="cells/s with workers reused (state reset) vs a fresh process per cell",
        description="Run a suite's cells twice into temporary directories: workers reused "
        "with their state reset before each cell (the default) and a fresh worker process "
        "per cell; print wall time, cells/s, workers started and harness overhead per "
        "cell, and the ratio. Run it once before measuring, to warm the XLA cache.",
    )
    p_pi.add_argument("suite", nargs="?", default="quick", help="default: %(default)s")
    add_selection(p_pi, what="measure")
    p_pi.add_argument("--jobs", "-j", type=positive_int, default=2, help="default: %(default)s")
    p_pi.add_argument(
        "--repeat", type=positive_int, default=1, help="passes per strategy (default: 1)"
    )
    p_pi.set_defaults(func=cmd_perf_isolation)
    p_pp = perf_sub.add_parser(
        "presets",
        help="a published preset vs the paper's own script (PyOD's benchmark procedure)",
        description="Run PyOD's benchmark procedure as a plain script (one process, one "
        "RandomState per trial, the models fitted in the paper's order), then the same "
        "cells with anobench under pyod-benchmark for each --jobs value (no report); print "
        "wall seconds, the ratios to the script and the largest ROC-AUC difference to "
        "the script (0: bit-identical). Default: cardio, glass, vowels, wbc, pima x CBLOF, "
        "HBOS, IForest, KNN, LOF, OCSVM, PCA x 10 trials (350 cells; files from "
        "ANOBENCH_DATA_DIR).",
    )
    p_pp.add_argument("--datasets", nargs="+", metavar="NAME", help="default: the five above")
    p_pp.add_argument("--detectors", nargs="+", metavar="NAME", help="default: the seven above")
    p_pp.add_argument(
        "--trials", type=positive_int, default=10, help="trials 0..N-1 (default: %(default)s)"
    )
    p_pp.add_argument(
        "--jobs",
        type=positive_int,
        nargs="+",
        default=[1, 2],
        help="worker counts, one anobench pass each (default: 1 2)",
    )
    p_pp.set_defaults(func=cmd_perf_presets)
    p_ps = perf_sub.add_parser(
        "scale",
        help="cells/s against workers (local and Dask), harness overhead, 8-64 simulated",
        description="Measure the harness's overhead per cell (cells that do nothing) and "
        "cells/s against workers with the local executor and a local Dask cluster "
        "(synthetic cells sleeping durations drawn like a quick run's), then simulate "
        "8-64 workers with the measured per-cell and scheduler costs.",
    )
    p_ps.add_argument(
        "--workers", type=positive_int, nargs="+", default=[1, 2], help="default: 1 2"
    )
    p_ps.add_argument(
        "--cells", type=positive_int, default=100, help="synthetic cells per pass (default: 100)"
    )
    p_ps.add_argument(
        "--overhead-cells",
        type=positive_int,
        default=200,
        help="no-op cells per overhead pass (default: 200)",
    )
    p_ps.add_argument(
        "--scale",
        type=float,
        default=0.25,
        help="factor on the synthetic durations (default: %(default)s)",
    )
    p_ps.add_argument(
        "--simulate",
        type=positive_int,
        nargs="+",
        default=[8, 16, 32, 64],
        metavar="W",
        help="simulated worker counts (default: 8 16 32 64)",
    )
    p_ps.add_argument("--no-dask", action="store_true", help="the local executor only")
    p_ps.set_defaults(func=cmd_perf_scale)


def cmd_perf_presets(args: argparse.Namespace) -> int:
    from anobench.perf.presets import DATASETS, DETECTORS, format_presets, presets_perf

    passes = presets_perf(
        datasets=args.datasets or DATASETS,
        detectors=args.detectors or DETECTORS,
        trials=tuple(range(args.trials)),
        jobs=args.jobs,
    )
    print(format_presets(passes))
    return 0


def cmd_perf_compile(args: argparse.Namespace) -> int:
    import jax
    from tabulate import tabulate

    from anobench.perf.compile import compile_perf
    from anobench.registry import detector_registry

    rows = compile_perf(models=args.models, n=args.rows, repeats=args.repeats)
    base = {r.model: r for r in rows if r.options == "xla defaults"}
    table = []
    for r in rows:
        b = base.get(r.model)
        table.append(
            [
                r.model,
                r.options,
                f"{r.compile_seconds:.2f}",
                f"{r.train_seconds:.3f}",
                f"{r.score_seconds:.3f}",
                f"{r.compile_seconds / b.compile_seconds:.2f}x" if b else "-",
                f"{r.train_seconds / b.train_seconds:.2f}x" if b else "-",
            ]
        )
    print(f"backend: {jax.default_backend()}; {args.rows} training rows; persistent cache off")
    print(
        tabulate(
            table,
            headers=[
                "model",
                "options",
                "compile s",
                "train s",
                "score s (compile incl.)",
                "compile vs defaults",
                "train vs defaults",
            ],
        )
    )
    chosen = detector_registry().load("ae").xla_options()
    print(f"\nthe library compiles with: {chosen or 'XLA defaults'}")
    return 0


def cmd_perf_deep(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from tabulate import tabulate

    from anobench.perf.deep import deep_perf

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
    from anobench.perf.isolation import format_passes, isolation_perf
    from anobench.plan.suite import load_suite

    suite = override(load_suite(args.suite), args)
    print(format_passes(isolation_perf(suite, jobs=args.jobs, repeat=args.repeat)))
    return 0


def cmd_perf_scale(args: argparse.Namespace) -> int:
    from anobench.perf.scale import format_scale, scale_perf

    report = scale_perf(
        overhead_cells=args.overhead_cells,
        cells=args.cells,
        workers=args.workers,
        simulate_workers=args.simulate,
        scale=args.scale,
        dask=not args.no_dask,
    )
    print(format_scale(report))
    return 0
