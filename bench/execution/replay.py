"""A published protocol's split and shared-RNG chain, computed once per (data set, trial)
in a worker and reused by every cell that needs them.

Under ``pyod-benchmark`` the paper's script makes one ``RandomState`` per trial, splits
with it, then fits its stochastic models in order on the same object, so a cell of a
later column needs the object in the state the earlier fits left it
(:meth:`anobench.plan.presets.Preset.replay`). That state is a pure function of the
data, the trial and the chain of fits before it. This module keeps, per worker process:

- the preset's split of each (data set, parameters, fingerprint, trial) with the RNG
  state right after it (``adbench-2022`` reseeds the global RNG before each fit, so its
  split is all there is to reuse);
- the RNG state after each prefix of a chain of fits (a chain element is the detector's
  reference and its parameters), recorded while replaying and after a cell's own fit.

A cell restores the longest recorded prefix into a fresh ``RandomState`` and fits only
what is missing, so a trial's cells run in column order (the driver groups them in one
worker, :func:`anobench.execution.driver.program_affinity`) fit each model once, as
the script does. Restored states are bit-identical to replayed ones (the tests compare
scores); nothing is shared between processes, so a cell never depends on which worker
ran before it, only on how long its own replay takes.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np

from anobench.plan.presets import Preset, PresetSplit

__all__ = [
    "ChainLink",
    "chain_link",
    "clear",
    "fitted",
    "preset_split",
    "restore",
    "split_key",
    "stats",
    "store",
]

#: entries kept per process (splits and chain states), oldest dropped first
CAPACITY = 256

ChainLink = tuple[str, str]


def chain_link(ref: str, params: dict[str, Any]) -> ChainLink:
    """A chain element: the detector's reference and its parameters as canonical JSON."""
    return (ref, json.dumps(params, sort_keys=True, default=repr))


@dataclass
class _Split:
    made: PresetSplit
    identity: dict[str, Any]
    rng_state: Any  # the shared RandomState's state right after the split, or None


_SPLITS: OrderedDict[Hashable, _Split] = OrderedDict()
_STATES: OrderedDict[Hashable, Any] = OrderedDict()
_COUNTS = {"splits_made": 0, "splits_reused": 0, "links_fitted": 0, "links_reused": 0}


def _remember(cache: OrderedDict[Hashable, Any], key: Hashable, value: Any) -> None:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > CAPACITY:
        cache.popitem(last=False)


def preset_split(
    key: Hashable,
    make: Callable[[], tuple[PresetSplit, dict[str, Any]]],
) -> tuple[PresetSplit, dict[str, Any]]:
    """The preset's split for ``key`` (:func:`split_key`) and the loaded data's identity:
    made by ``make()`` the first time, recorded, and handed out as a copy every time (the
    arrays shared and read-only, the metadata and identity copied, the ``RandomState`` a
    new object in the state right after the split)."""
    hit = _SPLITS.get(key)
    if hit is None:
        made, identity = make()
        for array in (made.split.X_train, made.split.X_test):
            array.setflags(write=False)
        rng = made.random_state
        state = rng.get_state() if isinstance(rng, np.random.RandomState) else None
        hit = _Split(made, identity, state)
        _remember(_SPLITS, key, hit)
        _COUNTS["splits_made"] += 1
    else:
        _COUNTS["splits_reused"] += 1
        _SPLITS.move_to_end(key)
    split = dataclasses.replace(hit.made.split, metadata=copy.deepcopy(hit.made.split.metadata))
    rng_out: Any = hit.made.random_state
    if hit.rng_state is not None:
        rng_out = np.random.RandomState()
        rng_out.set_state(hit.rng_state)
    return PresetSplit(split, rng_out, hit.made.before_fit), copy.deepcopy(hit.identity)


def restore(split_key: Hashable, chain: list[ChainLink], rng: np.random.RandomState) -> int:
    """Put ``rng`` in the recorded state after the longest recorded prefix of ``chain``;
    returns that prefix's length (0: nothing recorded, ``rng`` untouched)."""
    for n in range(len(chain), 0, -1):
        state = _STATES.get((split_key, tuple(chain[:n])))
        if state is not None:
            rng.set_state(state)
            _COUNTS["links_reused"] += n
            _STATES.move_to_end((split_key, tuple(chain[:n])))
            return n
    return 0


def store(split_key: Hashable, chain: list[ChainLink], rng: np.random.RandomState) -> None:
    """Record ``rng``'s state as the state after the fits ``chain``."""
    if chain:
        _remember(_STATES, (split_key, tuple(chain)), rng.get_state())


def fitted() -> None:
    """Count one chain fit actually made (for :func:`stats`)."""
    _COUNTS["links_fitted"] += 1


def stats() -> dict[str, int]:
    """How many splits and chain fits this process made and reused."""
    return dict(_COUNTS)


def clear() -> None:
    """Forget every recorded split and state (tests)."""
    _SPLITS.clear()
    _STATES.clear()
    for name in _COUNTS:
        _COUNTS[name] = 0


def split_key(
    preset: Preset, dataset_ref: str, params: dict[str, Any], fingerprint: str, seed: int
) -> Hashable:
    """The key of a preset split: everything the procedure's result depends on (the
    preset, the data set and its parameters, the data's fingerprint, the trial)."""
    params_json = json.dumps(params, sort_keys=True, default=repr)
    return (preset.name, dataset_ref, params_json, fingerprint, int(seed))
