"""Drawing the report's figures in worker processes while the report goes on.

Matplotlib draws on one core and a report has dozens of figures, so :class:`FigurePool`
hands each figure (a function of :mod:`anobench.report.plots.charts` by name, its arguments and the
file to write) to a pool of spawned processes and the caller computes its tables in the
meantime. :meth:`FigurePool.wait` collects what was written. A figure whose inputs (the
function, its arguments, the plotting code and matplotlib's version) equal those of the
same file in the previous report is copied from there instead of drawn again: each
report keeps the key of every figure in ``.figures.json``. A figure that fails is
logged and left out (a figure never costs the report); if the pool itself breaks (a
worker killed, or a script without a ``__main__`` guard that cannot spawn), the figures
it did not draw are drawn in this process.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import multiprocessing
import pickle
import shutil
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anobench.spawning import main_script_not_rerun

__all__ = ["FIGURES_FILE", "FigurePool", "draw", "figure_key"]

logger = logging.getLogger(__name__)


def draw(
    path: Path,
    function: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    formats: tuple[str, ...] = (".png",),
) -> Path:
    """Draw ``anobench.report.plots.charts.<function>(*args, **kwargs)`` into ``path`` (PNG) and the
    same stem in the other ``formats`` (e.g. ``.pdf``, ``.svg``)."""
    import warnings

    from anobench.report.plots import charts as plots

    # plotting libraries' own warnings (deprecations, tight layout) are about their
    # code, not the reader's results: logged, never on the console
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plots.save(getattr(plots, function)(*args, **kwargs), path, formats=formats)
    for warning in caught:
        logger.debug("%s: %s: %s", path.name, warning.category.__name__, warning.message)
    return path


#: where a report lists its figures' keys (file path relative to the report -> key)
FIGURES_FILE = ".figures.json"


#: libraries whose version changes how a figure looks
_LIBRARIES = ("matplotlib", "seaborn", "scikit-posthocs", "pandas", "numpy")


@functools.lru_cache(maxsize=1)
def _code_key() -> str:
    """anobench's source (the plots and everything they call, e.g. the ranking) and the
    versions of the plotting libraries."""
    from importlib.metadata import PackageNotFoundError, version

    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parents[1].rglob("*.py")):
        digest.update(path.read_bytes())
    for name in _LIBRARIES:
        try:
            digest.update(f"{name}={version(name)}".encode())
        except PackageNotFoundError:
            digest.update(f"{name}=absent".encode())
    return digest.hexdigest()


def figure_key(function: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """A digest of everything a figure is drawn from. Raises what :mod:`pickle` raises
    for inputs it cannot pickle (such a figure is always drawn)."""
    data = pickle.dumps((function, args, sorted(kwargs.items())), protocol=5)
    return hashlib.sha256(_code_key().encode() + data).hexdigest()


@dataclass
class _Job:
    path: Path
    function: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    tag: Any
    formats: tuple[str, ...] = (".png",)
    key: str | None = None
    future: Future[Path] | None = None
    reused: bool = False  # copied from the previous report
    done: bool = False  # drawn


@dataclass
class FigurePool:
    """Figures drawn by ``workers`` processes and this one (0: all drawn at :meth:`wait`, here)
    into the report folder ``out``, each in every suffix of ``formats`` (the first file
    is the one submitted, the others share its stem); ``previous`` is the report being
    replaced, whose unchanged figures are copied."""

    workers: int
    out: Path | None = None
    previous: Path | None = None
    formats: tuple[str, ...] = (".png",)
    _jobs: list[_Job] = field(default_factory=list)
    _pool: ProcessPoolExecutor | None = None
    _known: dict[str, str] = field(default_factory=dict)
    _paths: set[Path] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.previous is not None:
            try:
                self._known = json.loads((self.previous / FIGURES_FILE).read_text())
            except (OSError, ValueError):
                self._known = {}
        if self.workers >= 1 and not multiprocessing.current_process().daemon:
            try:
                self._pool = ProcessPoolExecutor(
                    self.workers, mp_context=multiprocessing.get_context("spawn")
                )
                # start the workers now: their imports overlap the caller's own work
                for _ in range(self.workers):
                    self._pool.submit(_import_plots)
            except (OSError, AssertionError, NotImplementedError, RuntimeError) as exc:
                logger.info("figures drawn in this process (no worker: %s)", exc)
                self.close()

    def submit(
        self,
        path: Path,
        function: str,
        *args: Any,
        tag: Any = None,
        local: bool = False,
        formats: tuple[str, ...] | None = None,
        **kwargs: Any,
    ) -> None:
        """Draw ``plots.<function>(*args, **kwargs)`` into ``path``; ``tag`` comes back
        from :meth:`wait` with the path. ``local``: draw it in this process at
        :meth:`wait`, while the workers draw the rest (for figures whose imports this
        process has already paid, or that only one process should pay for). ``formats``:
        this figure's file suffixes (default: the pool's)."""
        if path in self._paths:  # two names slugged to one file: keep both figures
            digest = hashlib.sha256(repr((function, tag)).encode()).hexdigest()[:8]
            path = path.with_name(f"{path.stem}-{digest}{path.suffix}")
        self._paths.add(path)
        job = _Job(path, function, args, kwargs, tag, tuple(formats or self.formats))
        self._jobs.append(job)
        try:
            job.key = figure_key(function, args, {**kwargs, "formats": job.formats})
        except (pickle.PicklingError, TypeError, AttributeError):
            local = True  # cannot travel to a worker either: drawn here
        if job.key is not None and self._reuse(job):
            return
        if self._pool is not None and not local:
            try:
                # a submit may start the worker: it must not re-run a user's script
                with main_script_not_rerun():
                    job.future = self._pool.submit(draw, path, function, args, kwargs, job.formats)
            except (BrokenProcessPool, RuntimeError):
                job.future = None

    def _reuse(self, job: _Job) -> bool:
        """Copy the previous report's identical figure into place, if there is one."""
        if self.out is None or self.previous is None:
            return False
        relative = job.path.relative_to(self.out)
        if self._known.get(str(relative)) != job.key:
            return False
        try:
            for suffix in {job.path.suffix, *job.formats}:
                shutil.copyfile(
                    self.previous / relative.with_suffix(suffix), job.path.with_suffix(suffix)
                )
        except OSError:
            return False
        job.reused = True
        return True

    def wait(self) -> list[tuple[Path, Any]]:
        """``(path, tag)`` of every figure written, in submission order. Local figures
        (and all of them without workers) are drawn now, then those the workers have not
        started yet, then the workers' are collected."""
        for job in self._jobs:
            if job.future is None and not job.reused:
                self._draw_here(job)
        # then help the workers: take back figures they have not started, last first
        for job in reversed(self._jobs):
            if job.future is not None and job.future.cancel():
                job.future = None
                self._draw_here(job)
        for job in self._jobs:
            if job.future is None:
                continue
            try:
                job.future.result()
                job.done = True
            except BrokenProcessPool:
                self._draw_here(job)
            except Exception as exc:
                logger.warning("figure %s failed: %s: %s", job.path.name, type(exc).__name__, exc)
        written = [(job.path, job.tag) for job in self._jobs if job.done or job.reused]
        if self.out is not None:
            keys = {
                str(job.path.relative_to(self.out)): job.key
                for job in self._jobs
                if (job.done or job.reused) and job.key is not None
            }
            (self.out / FIGURES_FILE).write_text(json.dumps(keys, indent=0, sort_keys=True))
        self.close()
        return written

    def _draw_here(self, job: _Job) -> None:
        try:
            draw(job.path, job.function, job.args, job.kwargs, job.formats)
            job.done = True
        except Exception as exc:
            logger.warning("figure %s failed: %s: %s", job.path.name, type(exc).__name__, exc)

    @property
    def reused(self) -> int:
        """Figures copied from the previous report so far."""
        return sum(job.reused for job in self._jobs)

    def close(self) -> None:
        """Stop the workers (pending figures are cancelled)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _import_plots() -> None:
    import anobench.report.plots.charts  # noqa: F401
