"""The ``anobench`` command line. The CLI owns the terminal: tables, progress bars.

One module per command group (:mod:`~anobench.cli.listing`, :mod:`~anobench.cli.running`,
:mod:`~anobench.cli.data`, :mod:`~anobench.cli.gate`, :mod:`~anobench.cli.perf`), each
adding its sub-commands with ``add_commands(sub)``. Building the parser imports nothing
heavy (``anobench --help`` costs the interpreter's start-up, not scikit-learn's or
JAX's): each command imports what it needs when it runs.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from anobench import __version__, settings
from anobench.cli import data, gate, listing, perf, running
from anobench.data.io import DataFileError
from anobench.errors import UserError
from anobench.registry import UnknownNameError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
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
        "(default: the ANOBENCH_DATA_DIR variable)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (listing, running, data, gate, perf):
        group.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    # --data-dir holds for this command only; worker processes receive it with the settings
    changes = {"data_dir": Path(args.data_dir).resolve()} if args.data_dir else {}
    try:
        with settings.overridden(**changes):
            return int(args.func(args))
    except (
        UserError,
        UnknownNameError,
        FileNotFoundError,
        ValueError,
        DataFileError,
    ) as exc:  # (SuiteError, BaselineError and PathEscapeError are ValueErrors)
        print(f"anobench: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # disk full, read-only folder, ...: nothing finished is lost
        where = f" ({exc.filename})" if exc.filename else ""
        print(
            f"anobench: error: {exc.strerror or exc}{where}; finished cells are kept",
            file=sys.stderr,
        )
        return 2
