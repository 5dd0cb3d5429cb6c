"""``anobench data``: list, describe, fetch and verify data sets and their files."""

from __future__ import annotations

import argparse
from typing import Any

from anobench.cli.options import spec_names

__all__ = [
    "add_commands",
    "cmd_data_ceiling",
    "cmd_data_fetch",
    "cmd_data_info",
    "cmd_data_list",
    "cmd_data_verify",
]


def add_commands(sub: Any) -> None:
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
    p_dc = data_sub.add_parser(
        "ceiling",
        help="series: the point-level score a perfect window detector reaches",
        description="For each series data set (default: every one whose files are here), "
        "score each test window by its own label and map the scores to points as cells do "
        "(each window's score at its centre) and as anobench did before 0.9 (the maximum "
        "over covering windows): the VUS-PR, VUS-ROC and point AP printed are what the "
        "mapping allows a perfect window detector.",
    )
    p_dc.add_argument("names", nargs="*", metavar="NAME")
    p_dc.set_defaults(func=cmd_data_ceiling)


def cmd_data_list(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from anobench.data import inventory
    from anobench.registry import dataset_registry

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
    from tabulate import tabulate

    from anobench.data import inventory
    from anobench.registry import dataset_registry

    registry = dataset_registry()
    spec = registry.load(spec_names(registry, [args.name])[0])
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
    from anobench.data import inventory
    from anobench.data.io import DataFileError, locate
    from anobench.registry import dataset_registry

    registry = dataset_registry()
    names = spec_names(registry, args.names) if not args.all else []
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
    from tabulate import tabulate

    from anobench.data import inventory
    from anobench.registry import dataset_registry

    registry = dataset_registry()
    names = spec_names(registry, args.names)
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


def cmd_data_ceiling(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from anobench.data import inventory
    from anobench.metrics.series import perfect_ceiling
    from anobench.registry import dataset_registry

    registry = dataset_registry()
    names = args.names or [
        name
        for name in registry.names()
        if registry.availability(name) is None
        and registry.load(name).modality == "series"
        and not inventory.presence(registry.load(name)).startswith("missing")
    ]
    rows, status = [], 0
    for name in names:
        spec = registry.load(name)  # an unknown name raises with a did-you-mean
        try:
            layout = spec.split("unsupervised", 0).series
        except Exception as exc:
            rows.append([name, "", "", "", "", f"{type(exc).__name__}: {exc}"[:80]])
            status = 1
            continue
        if layout is None:
            rows.append([name, "", "", "", "", "not windows of a series with a fixed split"])
            continue
        ceiling = perfect_ceiling(layout)
        anchor, maximum = ceiling["anchor"], ceiling["max"]
        rows.append(
            [
                name,
                layout.window,
                f"{maximum['vus_pr']:.3f} -> {anchor['vus_pr']:.3f}",
                f"{maximum['vus_roc']:.3f} -> {anchor['vus_roc']:.3f}",
                f"{maximum['point_ap']:.3f} -> {anchor['point_ap']:.3f}",
                "",
            ]
        )
    headers = ["data set", "window", "VUS-PR max -> centre", "VUS-ROC", "point AP", "note"]
    print(tabulate(rows, headers=headers, tablefmt="github"))
    return status
