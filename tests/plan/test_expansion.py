"""A suite's expansion into cells: ids that name exactly what can change a result, seeds
derived per data set and configuration, every Cell field either recorded or named as
not part of the record."""

from __future__ import annotations

import dataclasses

from anobench.plan.expansion import cell_id, expand
from anobench.plan.suite import Suite
from anobench.record import _NOT_RECORDED, CellResult
from anobench.registry import dataset_registry, detector_registry


def _cells(**fields: object):
    suite = Suite.model_validate(
        {"name": "t", "detectors": {"pca": {}, "ocsvm": {"nu": [0.1, 0.2]}},
         "datasets": ["blobs-local", "blobs-global"], "protocols": ["novelty"],
         "seeds": [0, 1], **fields}
    )  # fmt: skip
    return expand(suite, detector_registry(), dataset_registry())


def test_every_combination_is_one_cell_with_a_content_id() -> None:
    cells = _cells()
    # pca; ocsvm's grid of two and its defaults (nu=0.5, the `default` rule's candidate)
    configs = {c.label for c in cells}
    assert len(configs) == 4 and "ocsvm" in configs
    assert len(cells) == 4 * 2 * 2 and len({c.cell_id for c in cells}) == len(cells)
    for c in cells:
        assert c.cell_id == cell_id(c.id_payload())
    again = {c.cell_id for c in _cells()}
    assert again == {c.cell_id for c in cells}  # deterministic


def test_the_id_ignores_what_cannot_change_a_result() -> None:
    base = {c.label + c.dataset + str(c.seed): c.cell_id for c in _cells()}
    renamed = {c.label + c.dataset + str(c.seed): c.cell_id for c in _cells(name="other")}
    longer = {c.label + c.dataset + str(c.seed): c.cell_id for c in _cells(time_budget=999)}
    assert base == renamed == longer
    capped = {c.label + c.dataset + str(c.seed): c.cell_id
              for c in _cells(datasets={"blobs-local": {"max_train": 50}, "blobs-global": {}})}  # fmt: skip
    changed = {k for k in base if base[k] != capped.get(k)}
    assert changed and all("blobs-local" in k for k in changed)


def test_seeds_are_derived_per_data_set_and_configuration() -> None:
    cells = _cells()
    local = [c for c in cells if c.dataset == "blobs-local" and c.seed == 0]
    assert len({c.split_seed for c in local}) == 1  # one split for every detector
    assert len({c.model_seed for c in local}) == len(local)  # one model seed each
    other = next(c for c in cells if c.dataset == "blobs-global" and c.seed == 0)
    assert other.split_seed != local[0].split_seed


def test_every_cell_field_is_recorded_or_named_as_not() -> None:
    cell = _cells()[0]
    identity = CellResult.identity(cell)
    for f in dataclasses.fields(cell):
        assert f.name in identity or f.name in _NOT_RECORDED, f.name
    assert set(cell.summary()) >= {"cell_id", "label", "dataset", "protocol", "seed"}
