"""How a cell's detector is built, warmed up and given its data: the clean split with
derived seeds, or a published protocol's split with the paper's seeding
(:mod:`anobench.plan.presets`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from anobench.data.spec import DatasetSpec
from anobench.execution import replay
from anobench.plan import presets
from anobench.plan.imports import detector_class
from anobench.types import Cell, Detector, Split

logger = logging.getLogger(__name__)

__all__ = ["Prepared", "make_detector", "prepare", "warm_up"]

#: ``random_state`` is the cell's derived model seed
_DERIVED = object()


def make_detector(cell: Cell, *, random_state: Any = _DERIVED) -> Detector:
    """Instantiate the cell's detector with its parameters.

    A detector taking ``random_state`` gets the cell's derived model seed, or
    ``random_state`` when given (a published protocol's shared ``RandomState`` object,
    or ``None`` for the global RNG). Under a published protocol an adapter's own
    ``standardize`` is switched off: the preset has scaled the data already.
    """
    cls = detector_class(cell.detector_ref)
    return _build(
        cls,
        cell.params,
        cell.model_seed if random_state is _DERIVED else random_state,
        published=cell.preset is not None,
    )


def _build(
    cls: type[Detector], params: dict[str, Any], random_state: Any, *, published: bool
) -> Detector:
    params = dict(params)
    names = cls.param_names()
    if "random_state" in names:
        params.setdefault("random_state", random_state)
    if published and "standardize" in names:
        params["standardize"] = False
    return cls(**params)


_WARMED: set[str] = set()


def warm_up(cell: Cell) -> float:
    """Warm the cell's detector class up (:meth:`anobench.contract.BaseDetector.warm_up`: by
    default a fit on
    tiny data; deep models only set up the compilation cache) the first time this process
    meets it, so one-off costs (numba compilation in PyOD, lazy imports) stay out of
    ``fit_seconds``. It runs inside the cell, under its time budget and isolation, and
    its seconds are recorded apart. Returns the seconds spent (0 when already warm)."""
    if cell.detector_ref in _WARMED:
        return 0.0
    start = time.perf_counter()
    cls = detector_class(cell.detector_ref)
    try:
        cls.warm_up()  # the detector knows what is worth warming (BaseDetector.warm_up)
    except Exception as exc:  # e.g. an image-only model; the real fit reports problems
        logger.debug("warm-up of %s failed: %s", cell.detector_ref, exc)
    _WARMED.add(cell.detector_ref)
    return time.perf_counter() - start


@dataclass
class Prepared:
    """A cell's split and its detector, ready to fit.

    ``before_fit`` runs right before the detector's fit (a published protocol's
    seeding), ``after_fit`` right after it (records the shared RNG's state for later
    cells of the trial, :mod:`anobench.execution.replay`); ``published`` holds what the
    preset did, for the record (``None`` under a clean protocol).
    """

    split: Split
    detector: Detector
    before_fit: Callable[[], None]
    published: dict[str, Any] | None = None
    after_fit: Callable[[], None] = lambda: None


def prepare(cell: Cell, spec: DatasetSpec) -> Prepared:
    """Load and split the cell's data and build its detector.

    Clean protocols: :meth:`DatasetSpec.split` with the derived split seed. Published
    protocols: the preset's procedure with the paper's literal seed, then the fits of
    the columns the paper's script made earlier on the same shared RNG (replayed so the
    RNG is in the script's state; the split and the states after each fit are kept per
    worker, :mod:`anobench.execution.replay`, so a trial's chain is fitted once), then
    the detector with the preset's ``random_state`` (a detector that is not one of the
    paper's columns gets the literal seed instead).
    Call inside :func:`anobench.plan.presets.isolated_global_rng` for published protocols.
    """
    preset = presets.get(cell.protocol)
    if preset is None:
        split = spec.split(
            cell.protocol,
            cell.split_seed,
            params=cell.dataset_params,
            test_size=cell.test_size,
            max_train=cell.max_train,
            max_test=cell.max_test,
        )
        return Prepared(split, make_detector(cell), lambda: None)
    key = replay.split_key(
        preset, cell.dataset_ref, cell.dataset_params, cell.data_fingerprint, cell.seed
    )

    def make() -> tuple[presets.PresetSplit, dict[str, Any]]:
        data, identity = spec.load_verified(cell.dataset_params)
        if data.train_mask is not None:
            logger.info(
                "%s: %s makes its own split; the fixed split is not used", cell.dataset, preset.name
            )
        made = preset.split(data.X, data.y, cell.seed, spec.transform_for(cell.dataset_params))
        return made, identity

    made, identity = replay.preset_split(key, make)
    made.split.metadata.update(identity)
    plan = cell.preset or {}
    start = time.perf_counter()
    steps = plan.get("replay", [])
    chain = [replay.chain_link(ref, params) for _, ref, params in steps]
    rng = made.random_state
    shared = isinstance(rng, np.random.RandomState)
    reused = replay.restore(key, chain, rng) if shared else 0
    for i, (_, ref, params) in enumerate(steps[reused:], start=reused):
        before = _build(detector_class(ref), params, rng, published=True)
        before.fit(made.split.X_train)
        replay.fitted()
        if shared:
            replay.store(key, chain[: i + 1], rng)
    published = {
        "name": preset.name,
        "column": plan.get("column"),
        "seeds_as_published": plan.get("seeds_as_published"),
        "replayed": [column for column, _, _ in steps],
        # fits of the chain whose RNG state this worker had recorded (not fitted again)
        "replay_reused": reused,
        "replay_seconds": time.perf_counter() - start,
        "flaws": list(preset.flaws),
    }
    # a published column gets the paper's RNG (shared object or global); any other
    # detector (not in the paper's script) gets the paper's literal seed as an int
    random_state = rng if plan.get("column") else cell.seed
    detector = make_detector(cell, random_state=random_state)
    after_fit: Callable[[], None] = lambda: None  # noqa: E731
    if shared and plan.get("column"):
        own = [*chain, replay.chain_link(cell.detector_ref, cell.params)]

        def after_fit() -> None:
            # the state this fit left is the state a later column's chain needs
            replay.store(key, own, rng)

    return Prepared(made.split, detector, made.before_fit, published, after_fit)
