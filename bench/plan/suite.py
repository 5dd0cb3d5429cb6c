"""Suites: TOML files naming detectors (with parameter grids), data sets, protocols,
seeds and budgets, expanded into cells.

Example::

    name = "mine"
    protocols = ["novelty", "unsupervised"]   # or a published preset: "pyod-benchmark",
                                              # "adbench-2022" (anobench.plan.presets)
    seeds = [0, 1, 2]            # a preset runs its paper's seeds unless this is set
    time_budget = 60             # seconds per cell

    [detectors.iforest]          # defaults
    [detectors.pyod-knn]
    n_neighbors = [5, 10]        # a list is a grid: one configuration per value
    method = "largest"           # a scalar is a fixed value ([[1, 2]] passes a list)

    [datasets.bumps]
    max_train = 1000             # stratified, seeded subsampling, recorded per cell
    [datasets.wine]
    [datasets.mnist-test-pair]
    pair = [[7, 5], [2, 6]]      # other keys are loader parameters (lists are grids)

    [[exclude]]                  # recorded as `skipped` with the reason
    detector = "pyod-mcd"
    dataset = "bumps"
    reason = "..."

    [calibration]                # label-free thresholds from out-of-sample scores
    method = "crossfit"          # or "holdout"
    folds = 5                    # crossfit; holdout = 0.25 for "holdout"

    [selection]                  # how a grid becomes one configuration (anobench.selection.rules)
    rules = ["default", "random", "oracle", "global-best", "validation@5", "centrality"]
    tuning = []                  # global-best's tuning data sets (default: the other sets)

``detectors`` and ``datasets`` may also be plain lists of names. A detector may be named by
reference and a data set by path, with no package (:mod:`anobench.plan.imports`)::

    [detectors.iso200]
    ref = "sklearn.ensemble:IsolationForest"   # or "pyod.models.iforest:IForest",
    n_estimators = 200                          # or "my_detectors.py:MyDetector"

    [datasets."file:data/plant.csv"]            # CSV, Parquet, NPZ or .mat
    label = "status"
    anomaly_values = ["fault"]                  # see anobench.data.files
"""

from __future__ import annotations

import itertools
import logging
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    Strict,
    ValidationError,
    field_validator,
    model_validator,
)

from anobench.metrics.calibration import Calibration
from anobench.plan import presets
from anobench.registry import did_you_mean
from anobench.selection.rules import Selection
from anobench.types import Protocol, parse_protocol

__all__ = [
    "DEFAULT_SEEDS",
    "SUITE_NAME",
    "DatasetOptions",
    "Exclusion",
    "PublishedReference",
    "Seed",
    "Suite",
    "SuiteError",
    "builtin_suites",
    "expand_grid",
    "load_suite",
    "parse_suite",
]

logger = logging.getLogger(__name__)


#: the seeds of a clean protocol when the suite gives none
DEFAULT_SEEDS = (0, 1, 2)


#: a suite name: it names the default run directory, so no path separators or dots first
SUITE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

#: a seed: a plain integer (not a boolean) that every RNG the harness feeds accepts
#: (NumPy's legacy ``RandomState`` takes 0 ... 2**32 - 1)
Seed = Annotated[int, Strict(), Field(ge=0, le=2**32 - 1)]


class SuiteError(ValueError):
    """A suite file is missing, malformed or names something unknown."""


class PublishedReference(BaseModel):
    """The ``[reference]`` section of a suite: ``published = "<preset name>"``.

    The suite's clean-protocol cells are then compared with that preset's published
    tables too (cells run under a preset are always compared with its own tables).
    """

    model_config = ConfigDict(extra="forbid")
    published: str

    @field_validator("published")
    @classmethod
    def _known_preset(cls, value: str) -> str:
        if value not in presets.PRESETS:
            known = sorted(presets.PRESETS)
            raise ValueError(
                f"unknown published protocol {value!r}."
                + did_you_mean(value, known)
                + f" Published protocols: {', '.join(known)}"
            )
        return value

    @property
    def preset(self) -> presets.Preset:
        """The named :class:`anobench.plan.presets.Preset`."""
        return presets.PRESETS[self.published]


class DatasetOptions(BaseModel):
    """Split options of one data set; any other key is a loader parameter (a list is a
    grid of alternatives, as for detectors)."""

    model_config = ConfigDict(extra="allow")
    max_train: int | None = Field(default=None, ge=2)
    max_test: int | None = Field(default=None, ge=2)

    @property
    def params(self) -> dict[str, Any]:
        """The loader parameters given in the suite."""
        return dict(self.model_extra or {})


class Exclusion(BaseModel):
    model_config = ConfigDict(extra="forbid")
    detector: str = "*"
    dataset: str = "*"
    protocol: str = "*"
    reason: str


class Suite(BaseModel):
    """A parsed, validated suite file."""

    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    detectors: dict[str, dict[str, Any]]
    datasets: dict[str, DatasetOptions]
    #: clean protocols (:class:`anobench.types.Protocol`) and published presets
    #: (:data:`anobench.plan.presets.PRESETS`)
    protocols: list[str] = Field(
        default=[str(Protocol.NOVELTY), str(Protocol.UNSUPERVISED)], min_length=1
    )
    #: ``None``: the default seeds of each protocol (:meth:`seeds_for`)
    seeds: list[Seed] | None = Field(default=None, min_length=1)
    #: seconds per cell (finite: a run must end)
    time_budget: float = Field(default=120.0, gt=0, allow_inf_nan=False)
    #: resident memory per cell, MiB; None: 80% of the machine's memory over ``--jobs``
    memory_budget_mb: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    test_size: float = Field(default=0.4, gt=0, lt=1)
    #: prior anomaly fraction for the ``train-quantile`` threshold; ``"data"`` uses each
    #: data set's true fraction (PyOD's benchmark protocol; label-informed, recorded so)
    expected_contamination: Annotated[float, Field(gt=0, lt=0.5)] | Literal["data"] = 0.1
    exclude: list[Exclusion] = []
    reference: PublishedReference | None = None
    calibration: Calibration = Calibration()
    #: how one configuration of a grid is chosen (:mod:`anobench.selection.rules`); None: the
    #: default rules when a detector has a grid
    selection: Selection | None = None
    #: the folder relative file references (``file:``, ``*.py:Class``) are read from:
    #: the suite file's folder, else the working directory
    _base: Path | None = PrivateAttr(default=None)

    @property
    def base(self) -> Path | None:
        """The folder relative file references are resolved against (None: the working
        directory)."""
        return self._base

    @field_validator("detectors", "datasets", mode="before")
    @classmethod
    def _names_to_tables(cls, value: Any) -> Any:
        if isinstance(value, list):
            return {str(name): {} for name in value}
        return value

    @field_validator("name")
    @classmethod
    def _name_is_a_slug(cls, value: str) -> str:
        if not SUITE_NAME.fullmatch(value):
            raise ValueError(
                f"suite name {value[:80]!r} must be 1-64 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit (it names the run directory)"
            )
        return value

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError(f"a seed is listed twice: {value}")
        return value

    @field_validator("protocols")
    @classmethod
    def _known_protocols(cls, value: list[str]) -> list[str]:
        known = [str(p) for p in Protocol] + list(presets.PRESETS)
        for name in value:
            if name in presets.PRESETS:
                continue
            try:
                parse_protocol(name)
            except ValueError as exc:
                if name.partition("@")[0] in known:
                    raise ValueError(str(exc)) from None
                raise ValueError(
                    f"unknown protocol {name!r}."
                    + did_you_mean(name, known)
                    + f" Protocols: {', '.join(known)}"
                ) from None
        if len(set(value)) != len(value):
            raise ValueError(f"a protocol is listed twice: {value}")
        return value

    def seeds_for(self, protocol: str) -> list[int]:
        """The seeds of ``protocol``'s cells: the suite's ``seeds`` when it sets them (used
        literally under a published preset), else the paper's seeds for a preset and
        :data:`DEFAULT_SEEDS` for a clean protocol."""
        if self.seeds is not None:
            return list(self.seeds)
        preset = presets.get(protocol)
        return list(preset.seeds) if preset is not None else list(DEFAULT_SEEDS)

    @model_validator(mode="after")
    def _tuning_sets_named(self) -> Suite:
        if self.selection is not None:
            unknown = [t for t in self.selection.tuning if t not in self.datasets]
            if unknown:
                raise ValueError(
                    f"selection.tuning names {unknown}, not among the suite's data sets "
                    f"({', '.join(self.datasets)})"
                )
            if set(self.selection.tuning) >= set(self.datasets):
                raise ValueError("selection.tuning leaves no data set to evaluate")
        return self

    def selection_or_default(self) -> Selection | None:
        """The ``[selection]`` table, or the default rules when a detector has a grid
        (a list value); None when there is nothing to select."""
        if self.selection is not None:
            return self.selection
        has_grid = any(
            isinstance(v, list) and len(v) > 1
            for table in self.detectors.values()
            for v in table.values()
        )
        return Selection() if has_grid else None

    @field_validator("detectors", "datasets")
    @classmethod
    def _not_empty(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not value:
            raise ValueError("must name at least one entry")
        return value


def builtin_suites() -> list[str]:
    """Names of the suites shipped in ``anobench/suites``."""
    folder = resources.files("anobench") / "suites"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_suite(name_or_path: str | Path) -> Suite:
    """Load a built-in suite by name, or a suite file by path.

    Raises
    ------
    SuiteError
        Unknown name (with suggestions), unreadable file, bad TOML or bad values.
    """
    text_path = str(name_or_path)
    if text_path.endswith(".toml") or Path(text_path).is_file():
        path = Path(text_path)
        if not path.is_file():
            raise SuiteError(f"suite file {path} does not exist")
        try:
            source, text = str(path), path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise SuiteError(f"suite file {path} is not UTF-8 text: {exc}") from None
        except OSError as exc:
            raise SuiteError(f"cannot read suite file {path}: {exc.strerror}") from None
    else:
        names = builtin_suites()
        if text_path not in names:
            raise SuiteError(
                f"unknown suite {text_path!r}."
                + did_you_mean(text_path, names)
                + f" Built-in suites: {', '.join(names)}; or give a path to a .toml file."
            )
        resource = resources.files("anobench") / "suites" / f"{text_path}.toml"
        source, text = f"built-in suite {text_path!r}", resource.read_text()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(f"{source}: invalid TOML: {exc}") from exc
    is_file = text_path.endswith(".toml") or Path(text_path).is_file()
    return parse_suite(data, source, Path(text_path).resolve().parent if is_file else None)


def parse_suite(data: dict[str, Any], source: str = "suite", base: Path | None = None) -> Suite:
    """Validate a suite's settings; :class:`SuiteError` names every bad value on one line.
    ``base``: the folder relative file references are read from (default: the working
    directory)."""
    try:
        suite = Suite.model_validate(data)
        suite._base = base
        return suite
    except ValidationError as exc:
        problems = "; ".join(_problem(err) for err in exc.errors())
        raise SuiteError(f"{source}: {problems}") from None


def _problem(err: Any) -> str:
    """One validation error on one line; a misspelt key gets a did-you-mean from the
    keys the table it sits in accepts (``detector`` -> ``detectors``)."""
    where = ".".join(str(p) for p in err["loc"])
    if err["type"] != "extra_forbidden":
        return f"{where}: {err['msg']}"
    model: Any = Suite
    for part in err["loc"][:-1]:  # the nested model the key sits in, when one is typed
        field = getattr(model, "model_fields", {}).get(part)
        annotation = getattr(field, "annotation", None)
        model = annotation if isinstance(annotation, type) else None
    known = list(getattr(model, "model_fields", {}))
    hint = did_you_mean(str(err["loc"][-1]), known) if known else ""
    return f"{where}: unknown key.{hint}" if hint else f"{where}: {err['msg']}"


def expand_grid(params: dict[str, Any]) -> list[dict[str, Any]]:
    """All parameter combinations: list values are alternatives, scalars are fixed.

    >>> expand_grid({"k": [5, 10], "method": "mean"})
    [{'k': 5, 'method': 'mean'}, {'k': 10, 'method': 'mean'}]
    """
    keys = sorted(params)
    choices = [params[k] if isinstance(params[k], list) else [params[k]] for k in keys]
    for key, options in zip(keys, choices, strict=True):
        if not options:
            raise SuiteError(f"parameter {key!r} has an empty list of values")
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*choices)]
