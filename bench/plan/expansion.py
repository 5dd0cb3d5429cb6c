"""Expanding a suite into cells: detector configurations x data sets x protocols x
seeds, with content-derived ids and seeds (:func:`expand`), and its size checked before
(:func:`count_cells`, :func:`check_size`)."""

from __future__ import annotations

import dataclasses
import fnmatch
import itertools
import logging
import math
from typing import Any

from anobench.plan import presets
from anobench.plan.describe import Described
from anobench.plan.imports import BadReferenceError, file_source_hash
from anobench.plan.overlay import with_references
from anobench.plan.suite import DatasetOptions, Suite, SuiteError, expand_grid
from anobench.provenance import code_identity, harness_identity
from anobench.registry import Registry, UnavailableError, UnknownNameError, did_you_mean
from anobench.seeding import canonical_json, derive_seed, stable_hash
from anobench.selection.rules import Selection
from anobench.types import Cell, Protocol, labelled

logger = logging.getLogger(__name__)

__all__ = ["MAX_CELLS", "cell_id", "check_size", "count_cells", "expand", "registries"]


def _excluded(suite: Suite, detector: str, dataset: str, protocol: str) -> str | None:
    for rule in suite.exclude:
        if (
            fnmatch.fnmatchcase(detector, rule.detector)
            and fnmatch.fnmatchcase(dataset, rule.dataset)
            and fnmatch.fnmatchcase(protocol, rule.protocol)
        ):
            return f"excluded by suite: {rule.reason}"
    return None


def _modalities(suite: Suite, detectors: Registry, datasets: Registry) -> set[tuple[str, str]]:
    """(detector, data set) pairs to leave out because the detector does not take that
    data set's modality (e.g. ``cae`` on tabular data). They are not cells at all, so
    they never count as missing in leaderboards. Unavailable entries are kept (their
    cells are recorded as skipped)."""
    pairs = set()
    for det in suite.detectors:
        try:
            accepted = detectors.load(det).modalities
        except UnavailableError:
            continue
        for ds in suite.datasets:
            try:
                modality = datasets.load(ds).modality
            except UnavailableError:
                continue
            if modality not in accepted:
                logger.debug(
                    "suite %s: %s does not take %s data (%s)", suite.name, det, modality, ds
                )
                pairs.add((det, ds))
    return pairs


def _preset_plan(suite: Suite, protocol: str, detectors: Registry) -> dict[str, dict[str, Any]]:
    """Per detector of ``suite``, what a cell under the published ``protocol`` records
    and replays (:attr:`anobench.types.Cell.preset`)."""
    preset = presets.PRESETS[protocol]
    plan = {}
    for det in suite.detectors:
        column = preset.column(det)
        replay = []
        for before in preset.replay(det):
            assert before.detector is not None  # replay() returns mapped columns only
            try:
                ref = detectors.entry(before.detector).ref
            except UnknownNameError as exc:
                raise SuiteError(
                    f"protocol {protocol!r} replays {before.detector!r} before {det!r} "
                    f"(a shared RNG), but it is not registered: {exc}"
                ) from None
            replay.append([before.name, ref, dict(before.params)])
        plan[det] = {
            "name": preset.name,
            "column": column.name if column else None,
            "replay": replay,
            "seeds_as_published": suite.seeds_for(protocol) == list(preset.seeds),
        }
    return plan


def registries(suite: Suite, detectors: Any, datasets: Any) -> tuple[Any, Any]:
    """``detectors`` and ``datasets`` with the suite's references added
    (:func:`anobench.plan.overlay.with_references`)."""
    return with_references(
        detectors,
        datasets,
        suite.detectors,
        {name: options.params for name, options in suite.datasets.items()},
        suite.base,
        seconds=suite.time_budget,
    )


def cell_id(payload: dict[str, Any]) -> str:
    """Content hash of a cell's defining fields (see :func:`expand`)."""
    return stable_hash(payload)


#: the most cells a run expands unless told otherwise (``--max-cells``)
MAX_CELLS = 50_000


def count_cells(suite: Suite) -> int:
    """An upper bound on the cells of ``suite``, computed without expanding it: parameter
    grids x data set grids x the seeds of each protocol (pairs left out for modality or
    by ``exclude`` are counted)."""

    def grid_size(params: dict[str, Any]) -> int:
        return math.prod(len(v) if isinstance(v, list) else 1 for v in params.values())

    selection = suite.selection_or_default()
    extra = int(selection is not None and any(r.kind == "default" for r in selection.resolved()))
    # a grid of several configurations also runs the detector's defaults for `default`
    configs = sum(
        grid_size(p) + (extra if grid_size(p) > 1 else 0) for p in suite.detectors.values()
    )
    data = sum(grid_size(options.params) for options in suite.datasets.values())
    seeds = sum(len(suite.seeds_for(p)) for p in suite.protocols)
    return configs * data * seeds


def check_size(suite: Suite, max_cells: int = MAX_CELLS) -> int:
    """The cell count of ``suite`` (:func:`count_cells`); raises :class:`SuiteError` above
    ``max_cells``, before anything is expanded."""
    n = count_cells(suite)
    if n > max_cells:
        raise SuiteError(
            f"suite {suite.name!r} expands to up to {n:,} cells, more than the limit of "
            f"{max_cells:,}: narrow it (--detectors, --datasets, --seeds, smaller grids) or "
            "raise the limit with --max-cells"
        )
    return n


def expand(suite: Suite, detectors: Registry, datasets: Registry) -> list[Cell]:
    """Expand a suite into cells: detector configs x data sets x protocols x seeds.

    A cell's id hashes everything that can change its result: detector, parameters and
    the code behind it (providing distribution, version and, for local installs, a hash
    of its source: :func:`anobench.provenance.code_identity`), data set, loader
    parameters and the fingerprint of the data actually loaded, protocol, seed, split and
    calibration options, and the harness's result-affecting code
    (:func:`anobench.provenance.harness_identity`). Seeds are derived by hashing: the split seed
    from (seed, data set) so every detector sees the same split; the model seed also from
    the detector and its parameters. Under a published protocol (:mod:`anobench.plan.presets`)
    the seed is used literally for both (the paper's trial number), the preset's test size
    replaces the suite's, ``max_train``/``max_test`` are not applied, and the cell carries
    the published column it reproduces and the fits to replay before it (its id too).
    An unavailable detector or data set (a plugin that fails to import) gives
    ``skipped`` cells carrying the reason.

    A detector given by ``ref`` (:mod:`anobench.plan.imports`) carries the reference in its
    id (with its provider's version, or the hash of its file's folder) and is probed on the
    toy task inside each worker before its first cell
    (:func:`anobench.plan.orientation.check_orientation`).

    Raises
    ------
    SuiteError
        Unknown names (with suggestions), unknown parameters, or a reference that cannot
        be imported or is not a detector.
    """
    try:
        detectors, datasets = registries(suite, detectors, datasets)
    except BadReferenceError as exc:
        raise SuiteError(f"suite {suite.name!r}: {exc}") from None
    problems = []
    for name in suite.detectors:
        if name not in detectors.names():
            problems.append(f"unknown detector {name!r}." + did_you_mean(name, detectors.names()))
    for name in suite.datasets:
        if name not in datasets.names():
            problems.append(f"unknown dataset {name!r}." + did_you_mean(name, datasets.names()))
    if problems:
        raise SuiteError(f"suite {suite.name!r}: " + " ".join(problems))

    selection = suite.selection_or_default()
    configs: list[Config] = []
    for name, table in suite.detectors.items():
        grid = {k: v for k, v in table.items() if k != "ref"}
        entry = detectors.entry(name)
        ref = entry.ref
        try:
            cls = detectors.load(name)
        except BadReferenceError as exc:
            raise SuiteError(f"suite {suite.name!r}: detector {name!r}: {exc}") from None
        except UnavailableError as exc:
            code = {"distribution": entry.distribution, "unavailable": True}
            configs.extend(_with_roles(name, ref, grid, code, {}, selection, f"unavailable: {exc}"))
            continue
        accepted = cls.param_names()
        for key in grid:
            if key not in accepted:
                raise SuiteError(
                    f"suite {suite.name!r}: detector {name!r} has no parameter {key!r}."
                    + did_you_mean(key, accepted)
                    + f" Parameters: {', '.join(accepted)}"
                )
        # a reference is described by a separate process (anobench.plan.describe)
        if isinstance(cls, Described):
            code = dict(cls.code)
        else:
            code = code_identity(cls, entry.distribution)
        flags = {
            "family": getattr(cls, "family", "unknown"),
            "transductive": bool(getattr(cls, "transductive", False)),
            "uses_labels": bool(getattr(cls, "uses_labels", False)),
        }
        if "ref" in table:
            code["ref"] = table["ref"]  # as written; a file's folder hash is in "source"
            code["source"] = file_source_hash(ref) or code["source"]
            # its orientation and batch dependence are measured in the cell
            # (anobench.execution.cell)
            flags["reference"] = True
        defaults = cls.param_defaults() if hasattr(cls, "param_defaults") else {}
        configs.extend(_with_roles(name, ref, grid, code, flags, selection, None, defaults))

    data: list[tuple[str, str, dict[str, Any], str, DatasetOptions, str | None]] = []
    for name, options in suite.datasets.items():
        ref = datasets.entry(name).ref
        try:
            spec = datasets.load(name)
        except UnavailableError as exc:
            ds_grid = expand_grid(options.params)
            data.extend(
                (name, ref, p, "unavailable", options, f"unavailable: {exc}") for p in ds_grid
            )
            continue
        # parameters whose value is a list by nature (a file's anomaly_values) are not grids
        literal = getattr(spec, "list_params", ())
        ds_grid = expand_grid(
            {
                k: [v] if k in literal and isinstance(v, list) else v
                for k, v in options.params.items()
            }
        )
        for params in ds_grid:
            try:
                spec.resolve_params(params)
            except ValueError as exc:
                raise SuiteError(f"suite {suite.name!r}: {exc}") from None
            try:
                fingerprint = spec.fingerprint(params)
            except Exception as exc:  # a broken loader costs its own cells only
                reason = f"data set failed to load: {type(exc).__name__}: {exc}"
                logger.warning("%s: %s", labelled(name, params), reason)
                data.append((name, ref, params, "unavailable", options, reason))
                continue
            data.append((name, ref, params, fingerprint, options, None))

    modalities = _modalities(suite, detectors, datasets)
    harness = harness_identity()
    calibration = suite.calibration.model_dump()
    runs = [(p, seed) for p in suite.protocols for seed in suite.seeds_for(p)]
    # a label-using detector runs only where labels are granted
    label_protocols = {str(Protocol.SEMI_SUPERVISED)}
    published = {p: _preset_plan(suite, p, detectors) for p in suite.protocols if presets.get(p)}
    cells = []
    probes = selection.probes if selection is not None and selection.needs_probes else 0
    for (det, det_ref, params, det_skip, code, flags, role), (
        ds,
        ds_ref,
        ds_params,
        fingerprint,
        options,
        ds_skip,
    ), (protocol, seed) in itertools.product(configs, data, runs):
        if (det, ds) in modalities:
            continue
        if flags.get("uses_labels") and protocol.partition("@")[0] not in label_protocols:
            continue
        ds_label = labelled(ds, ds_params)
        preset = published[protocol].get(det) if protocol in published else None
        # a published protocol makes its own split: the paper's test size, no subsampling
        # by the suite, and the paper's literal seed for both the split and the model
        test_size = presets.PRESETS[protocol].test_size if preset else suite.test_size
        max_train, max_test = (None, None) if preset else (options.max_train, options.max_test)
        cell = Cell(
            cell_id="",
            suite=suite.name,
            detector=det,
            detector_ref=det_ref,
            params=params,
            dataset=ds,
            dataset_ref=ds_ref,
            data_fingerprint=fingerprint,
            protocol=protocol,
            seed=seed,
            split_seed=seed if preset else derive_seed(seed, ds_label),
            model_seed=seed if preset else derive_seed(seed, ds_label, det, params),
            dataset_params=ds_params,
            time_budget=suite.time_budget,
            max_train=max_train,
            max_test=max_test,
            test_size=test_size,
            expected_contamination=suite.expected_contamination,
            skip_reason=det_skip or ds_skip or _excluded(suite, det, ds, protocol),
            calibration=calibration,
            provenance={"detector": code, "harness": harness},
            detector_flags=flags,
            preset=preset,
            probes=0 if preset else probes,
            selection_role=role,
        )
        cells.append(dataclasses.replace(cell, cell_id=cell_id(cell.id_payload())))
    return cells


#: a detector configuration: name, ref, params, skip reason, code identity, flags and
#: its role under selection (:attr:`anobench.types.Cell.selection_role`)
Config = tuple[str, str, dict[str, Any], str | None, dict[str, Any], dict[str, Any], str | None]


def _with_roles(
    name: str,
    ref: str,
    table: dict[str, Any],
    code: dict[str, Any],
    flags: dict[str, Any],
    selection: Selection | None,
    skip: str | None = None,
    defaults: dict[str, Any] | None = None,
) -> list[Config]:
    """The configurations of one detector's grid; under selection with a ``default``
    rule, a grid of several configurations gets its default configuration (the grid's
    keys left at the detector's ``defaults``, the fixed values kept): the grid's
    configuration with those values, else a configuration of its own."""
    grid = expand_grid(table)
    if selection is None or len(grid) < 2:
        return [(name, ref, p, skip, code, flags, None) for p in grid]
    if not any(r.kind == "default" for r in selection.resolved()):
        return [(name, ref, p, skip, code, flags, "candidate") for p in grid]
    fixed = {k: v for k, v in table.items() if not isinstance(v, list)}
    own = {**(defaults or {}), **fixed}
    # the defaults are a configuration of the grid when the grid names every value they
    # take (then that configuration is the default, run once); else run them apart
    same = [
        i for i, p in enumerate(grid)
        if all(k in own and canonical_json(own[k]) == canonical_json(v) for k, v in p.items())
    ]  # fmt: skip
    roles = ["default" if i in same[:1] else "candidate" for i in range(len(grid))]
    out: list[Config] = [
        (name, ref, p, skip, code, flags, r) for p, r in zip(grid, roles, strict=True)
    ]
    if not same:
        out.append((name, ref, fixed, skip, code, flags, "default"))
    return out
