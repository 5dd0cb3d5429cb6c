"""``anobench export``: hand a run directory's cells to an experiment tracker."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = ["add_commands", "cmd_export"]


def add_commands(sub: Any) -> None:
    p = sub.add_parser(
        "export",
        help="export a run directory's cells to MLflow",
        description="Log every recorded cell of RUN_DIR's current suite expansion as one "
        "MLflow run (params: detector and its parameters, data set, protocol, seed, cell "
        "id, code provenance; metrics: every metric of the record; tags: status, suite; "
        "artifact: the record JSON) in an experiment named after the suite. Cells already "
        "exported with their current record are skipped; runs left incomplete, of an older "
        "record or duplicated are replaced. Needs pip install 'anobench[mlflow]'.",
    )
    p.add_argument("run_dir", help="a run directory written by `anobench run`")
    p.add_argument(
        "--mlflow",
        nargs="?",
        const="",
        metavar="URI",
        required=True,
        help="MLflow tracking URI, e.g. file:///tmp/mlruns or http://host:5000 (without a "
        "URI: MLflow's default, the MLFLOW_TRACKING_URI variable or ./mlruns)",
    )
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from anobench.export.mlflow import export_run

    counts = export_run(Path(args.run_dir), args.mlflow or None)
    where = args.mlflow or "MLflow's default tracking URI"
    print(
        f"exported {counts['exported']} cell(s) to {where}"
        + (f"; {counts['already']} already there" if counts["already"] else "")
        + (
            f"; {counts['replaced']} incomplete, outdated or duplicate run(s) replaced"
            if counts["replaced"]
            else ""
        )
    )
    return 0
