"""``anobench list``: detectors, data sets, suites, protocols and selection rules."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_commands", "cmd_list"]


def add_commands(sub: Any) -> None:
    p = sub.add_parser(
        "list",
        help="list detectors, datasets, suites, protocols or selection rules",
        description="List registered detectors or data sets (with their availability), "
        "the built-in suites, or the protocols (clean ones and the published presets with "
        "their seeds, column mapping and known flaws), or the selection rules that choose a "
        "configuration of a grid (what each reads). Built-in detectors and data sets are "
        "described from the package's catalog without importing them; --check imports "
        "each one to confirm it loads.",
    )
    p.add_argument("what", choices=["detectors", "datasets", "suites", "protocols", "rules"])
    p.add_argument(
        "--check",
        action="store_true",
        help="import every detector / data set to confirm it loads (slower)",
    )
    p.set_defaults(func=cmd_list)


def cmd_list(args: argparse.Namespace) -> int:
    if args.what == "protocols":
        _list_protocols()
    elif args.what == "rules":
        _list_rules()
    elif args.what == "suites":
        _list_suites()
    else:
        _list_registered(args.what, check=args.check)
    return 0


def _list_rules() -> None:
    from tabulate import tabulate

    from anobench.selection.rules import DEFAULT_RULES, KINDS

    reads = {"oracle": "test labels (oracle)", "global-best": "the other data sets' labels",
             "validation": "the budget's training labels"}  # fmt: skip
    rows = [
        [k if k != "validation" else "validation@<budget>", what, reads.get(k, "no labels"),
         "yes" if k in DEFAULT_RULES else ""]
        for k, what in KINDS.items()
    ]  # fmt: skip
    print(tabulate(rows, headers=["rule", "chooses", "reads", "default"],
                   maxcolwidths=[None, 60, None, None]))  # fmt: skip
    print("\nA suite chooses its rules in a [selection] table (README: Tuning without peeking).")


def _list_protocols() -> None:
    from tabulate import tabulate

    from anobench.plan import presets
    from anobench.types import Protocol

    clean = {
        Protocol.NOVELTY: "train on the normal rows of the training part only",
        Protocol.UNSUPERVISED: "train on the training part with its anomalies",
        Protocol.SEMI_SUPERVISED: "the unsupervised training part with a budget of its "
        "anomalies labelled (@0.05: 5% of them, @10: ten); label-using detectors get "
        "fit(X, y) here only",
    }
    names = {Protocol.SEMI_SUPERVISED: "semi-supervised@<budget>"}
    rows = [
        [names.get(p, str(p)), "clean", "suite's", f"{clean[p]}; identical rows on one side "
         "of a stratified split, seeds derived per data set and detector"]
        for p in Protocol
    ]  # fmt: skip
    for preset in presets.PRESETS.values():
        mapped = [f"{c.name}={c.detector}" for c in preset.columns if c.detector]
        rows.append(
            [
                preset.name,
                preset.kind,
                ",".join(map(str, preset.seeds)),
                f"{preset.title}. Columns: {', '.join(mapped)}. Flaws: " + "; ".join(preset.flaws),
            ]
        )
    print(
        tabulate(
            rows,
            headers=["protocol", "kind", "seeds", "what"],
            maxcolwidths=_last_column_width(rows, ["protocol", "kind", "seeds", "what"]),
        )
    )


def _list_suites() -> None:
    from tabulate import tabulate

    from anobench.plan.suite import builtin_suites, load_suite

    rows = []
    for name in builtin_suites():
        suite = load_suite(name)
        rows.append([name, len(suite.detectors), len(suite.datasets), suite.description])
    headers = ["suite", "detectors", "datasets", "description"]
    print(tabulate(rows, headers=headers, maxcolwidths=_last_column_width(rows, headers)))


def _list_registered(what: str, *, check: bool) -> None:
    from tabulate import tabulate

    from anobench.cli import catalog
    from anobench.registry import dataset_registry, detector_registry

    registry = detector_registry() if what == "detectors" else dataset_registry()
    rows = []
    for name in registry.names():
        entry = registry.entry(name)
        info = None
        if not check:
            info = catalog.lookup(registry.group, name, entry.ref, entry.distribution)
        if info is None:
            problem = registry.availability(name)
            if problem is not None:
                rows.append([name, "-", "-", entry.distribution, f"UNAVAILABLE: {problem}"])
                continue
            info = catalog.describe(registry.load(name), registry.group, entry.ref)
        if what == "detectors":
            rows.append(
                [name, info["family"], ",".join(info["modalities"]), entry.distribution,
                 info["summary"]]
            )  # fmt: skip
        else:
            rows.append(
                [name, info["modality"], info["licence"], entry.distribution, info["description"]]
            )
    headers = (
        ["detector", "family", "modalities", "from", "summary"]
        if what == "detectors"
        else ["dataset", "modality", "licence", "from", "description"]
    )
    print(tabulate(rows, headers=headers, maxcolwidths=_last_column_width(rows, headers)))


def _last_column_width(rows: list[list[Any]], headers: list[str]) -> list[int | None]:
    """``maxcolwidths`` that wrap the last column (the prose) to the terminal's width
    (``COLUMNS``, else the terminal, else 100), never narrower than 30 characters."""
    import shutil

    width = shutil.get_terminal_size((100, 24)).columns
    others = [
        max([len(str(h))] + [len(str(r[i])) for r in rows]) for i, h in enumerate(headers[:-1])
    ]
    left = width - sum(others) - 2 * len(others) - 4  # separators and padding
    return [*([None] * len(others)), max(30, left)]
