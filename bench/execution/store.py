"""A run directory: one JSON record per cell, written atomically, plus the tidy table.

Layout::

    RUN_DIR/run.json            every invocation (suite, environment, start time) and the
                                current suite expansion (the cells the report covers)
    RUN_DIR/cells/<id>.json     one record per finished cell (any status), a
                                :class:`anobench.record.CellResult`
    RUN_DIR/scores/<id>.npz     an ok cell's test labels and scores (and, for image models,
                                reconstructions and latent codes), for plots

A record on disk is a cache hit: rerunning a suite skips it unless forced. Writes go to a
temporary file in the same folder, are fsynced and renamed over the target, so a run
killed at any moment leaves each record either complete or absent; files are created
readable by others as the umask allows (like ``report/``). A damaged record or score
file is treated as missing (its cell runs again) with a warning naming the file. One run
at a time writes a directory (:meth:`RunStore.lock`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from anobench.data.io import write_json_atomic, write_npz_atomic
from anobench.errors import RunLockedError
from anobench.record import CellResult, RecordError

__all__ = ["RunStore"]

logger = logging.getLogger(__name__)


class RunStore:
    """Records of one run directory."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.cells_dir = self.root / "cells"
        self.scores_dir = self.root / "scores"

    def scores_path(self, cell_id: str) -> Path:
        return self.scores_dir / f"{cell_id}.npz"

    def scores(self, cell_id: str) -> dict[str, np.ndarray] | None:
        """The arrays stored for a cell (``y_test``, ``scores``, and optionally
        ``calibration_scores``, ``groups``, ``images``, ``reconstructions``,
        ``image_scores``, ``codes``, ``code_labels``), or None when absent or unreadable
        (a damaged file is logged with its path)."""
        path = self.scores_path(cell_id)
        try:
            with np.load(path, allow_pickle=False) as data:
                return {key: data[key] for key in data.files}
        except FileNotFoundError:
            return None
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
            logger.warning("ignoring unreadable scores %s (%s)", path, exc)
            return None

    def scores_readable(self, cell_id: str) -> bool:
        """Whether the cell's score file opens as a zip archive (its directory is intact:
        an empty or truncated file is not); logs the path of a damaged one."""
        path = self.scores_path(cell_id)
        try:
            with zipfile.ZipFile(path) as archive:
                archive.namelist()
        except (OSError, zipfile.BadZipFile, EOFError, ValueError) as exc:
            logger.warning("damaged scores %s (%s); the cell will run again", path, exc)
            return False
        return True

    def path(self, cell_id: str) -> Path:
        return self.cells_dir / f"{cell_id}.json"

    @contextlib.contextmanager
    def lock(self, *, shared: bool = False) -> Iterator[None]:
        """Hold ``RUN_DIR/.lock`` while writing the directory: alone, or ``shared`` with
        other shards of the same suite (each writes its own cells; :meth:`begin` takes a
        short exclusive lock of its own for ``run.json``).

        Raises
        ------
        RunLockedError
            Another process holds it in a conflicting mode (the message names its pid
            when it holds it alone). The lock is the kernel's (``flock``), so a killed
            run never leaves a stale one.
        """
        import fcntl

        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / ".lock"
        with open(path, "a+") as fh:
            try:
                fcntl.flock(fh, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.seek(0)
                holder = fh.read().strip() or "shards of a run"
                raise RunLockedError(
                    f"another anobench run ({holder}) is writing {self.root}: wait for it to "
                    "finish, or give this run another --out"
                    + (" (shards may share a directory only with other shards)" if shared else "")
                ) from None
            if not shared:
                fh.seek(0)
                fh.truncate()
                fh.write(f"pid {os.getpid()}")
                fh.flush()
            try:
                yield
            finally:
                if not shared:
                    fh.seek(0)
                    fh.truncate()
                fcntl.flock(fh, fcntl.LOCK_UN)

    def get(self, cell_id: str) -> CellResult | None:
        """The stored record, or ``None`` if absent, unreadable, damaged or of another
        schema version (logged with the file's path; the cell then runs again)."""
        path = self.path(cell_id)
        try:
            with path.open() as fh:
                data = json.load(fh)
            return CellResult.parse(data, source=str(path))
        except FileNotFoundError:
            return None
        except (OSError, json.JSONDecodeError, RecordError) as exc:
            logger.warning("ignoring record %s (%s); the cell will run again", path, exc)
            return None

    def put(self, record: CellResult | Mapping[str, Any]) -> None:
        """Store a record; its arrays (if any) go to ``scores/<id>.npz``, written first,
        so a record on disk always has its arrays. A mapping (a record's JSON, an
        ``arrays`` entry beside it) is validated as a :class:`CellResult` first."""
        if isinstance(record, CellResult):
            result, arrays = record, record.take_arrays()
        else:
            fields = dict(record)
            arrays = fields.pop("arrays", None)
            result = CellResult.model_validate(fields)
        if arrays:
            path = self.scores_path(result.cell_id)
            write_npz_atomic(path, arrays)
            result.scores_file = str(path.relative_to(self.root))  # the caller sees it too
        write_json_atomic(self.path(result.cell_id), result.to_json())

    def records(self, cell_ids: Iterable[str] | None = None) -> Iterator[CellResult]:
        """Every usable record (or those of ``cell_ids``), in file-name order."""
        if cell_ids is not None:
            for cell_id in sorted(cell_ids):
                record = self.get(cell_id)
                if record is not None:
                    yield record
            return
        if not self.cells_dir.is_dir():
            return
        for path in sorted(self.cells_dir.glob("*.json")):
            record = self.get(path.stem)
            if record is not None:
                yield record

    # -- invocations and the current expansion -----------------------------------------
    def _run_file(self) -> dict[str, Any]:
        path = self.root / "run.json"
        if not path.is_file():
            return {}
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            logger.warning("ignoring unreadable %s (%s)", path, exc)
            return {}
        if not isinstance(data, dict):
            logger.warning("ignoring %s: not a run manifest (a JSON object)", path)
            return {}
        if "invocations" not in data:  # written before invocations were kept
            return {"invocations": [data]} if data else {}
        invocations = data.get("invocations")
        expansion = data.get("expansion")
        if (
            not isinstance(invocations, list)
            or not all(isinstance(i, dict) for i in invocations)
            or (expansion is not None and not isinstance(expansion, list))
            or not all(isinstance(c, dict) and "cell_id" in c for c in expansion or [])
        ):
            logger.warning("ignoring %s: its invocations or expansion are damaged", path)
            return {}
        return data

    def begin(self, manifest: dict[str, Any], expansion: list[dict[str, Any]]) -> None:
        """Record an invocation (appended to the history, never overwriting it) and make
        ``expansion`` (one small dict per cell: ``cell_id``, ``detector``, ``label``,
        ``dataset``, ``protocol``, ``seed``) the cells the report covers."""
        import fcntl

        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock-manifest", "a+") as guard:
            fcntl.flock(guard, fcntl.LOCK_EX)  # shards starting together take turns
            data = self._run_file()
            path = self.root / "run.json"
            if not data and path.is_file() and path.stat().st_size:  # damaged: keep a copy
                stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
                kept = path.with_name(f"run.json.damaged-{stamp}")
                os.replace(path, kept)
                logger.warning("%s was damaged; kept as %s and started afresh", path, kept)
            invocations = [*data.get("invocations", []), manifest]
            write_json_atomic(
                self.root / "run.json", {"invocations": invocations, "expansion": expansion}
            )

    def manifest(self) -> dict[str, Any]:
        """The latest invocation's manifest (suite, versions, environment, start time)."""
        invocations = self._run_file().get("invocations") or [{}]
        latest: dict[str, Any] = invocations[-1]
        return latest

    def invocations(self) -> list[dict[str, Any]]:
        """Every invocation recorded in this run directory, oldest first."""
        return list(self._run_file().get("invocations", []))

    def expansion(self) -> list[dict[str, Any]] | None:
        """The current suite expansion (see :meth:`begin`), or None when not recorded."""
        expansion = self._run_file().get("expansion")
        return None if expansion is None else list(expansion)

    def stale_ids(self) -> list[str]:
        """Ids of stored records that are not part of the current expansion; when no
        expansion is recorded (a directory written by an older anobench), the records
        this anobench cannot read (older schema, damaged)."""
        if not self.cells_dir.is_dir():
            return []
        stored = sorted(p.stem for p in self.cells_dir.glob("*.json"))
        expansion = self.expansion()
        if expansion is None:
            return [i for i in stored if self._unreadable(i)]
        current = {c["cell_id"] for c in expansion}
        return [i for i in stored if i not in current]

    def _unreadable(self, cell_id: str) -> bool:
        try:
            CellResult.parse(json.loads(self.path(cell_id).read_text()))
        except (OSError, ValueError):  # JSON errors and RecordError are ValueErrors
            return True
        return False

    def prune(self) -> list[str]:
        """Delete the stale records and their score files; returns their ids."""
        stale = self.stale_ids()
        for cell_id in stale:
            self.path(cell_id).unlink(missing_ok=True)
            self.scores_path(cell_id).unlink(missing_ok=True)
        return stale
