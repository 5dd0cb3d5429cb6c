"""The detector contract, run on every registered detector."""

from __future__ import annotations

import pytest

from anobench import testing
from anobench.registry import UnavailableError, detector_registry

REGISTRY = detector_registry()


def _load(name: str) -> type:
    """The detector class; a detector of an optional extra that is not installed (e.g.
    pyod-deepsvdd without torch) is skipped with the registry's reason."""
    try:
        return REGISTRY.load(name)
    except UnavailableError as exc:
        assert "pip install 'anobench[" in str(exc), exc  # only optional extras may be missing
        pytest.skip(str(exc))


@pytest.mark.parametrize("name", REGISTRY.names())
@pytest.mark.parametrize("check", testing.CHECKS, ids=lambda c: c.__name__)
def test_contract(name: str, check) -> None:
    check(_load(name))


@pytest.mark.parametrize("name", REGISTRY.names())
def test_metadata_present(name: str) -> None:
    cls = _load(name)
    assert cls.name == name
    assert cls.family in {"classical", "deep"}
    assert cls.modalities
    assert isinstance(cls.transductive, bool)


def test_contract_checks_catch_a_flipped_sign(make_plugin) -> None:
    make_plugin("flipped_plugin", {})
    import flipped_plugin

    testing.check_separates_toy_data(flipped_plugin.Mean)
    with pytest.raises(AssertionError, match="higher scores more anomalous"):
        testing.check_separates_toy_data(flipped_plugin.Flipped)
    with pytest.raises(AssertionError, match="non-finite"):
        testing.check_scores_shape_and_finite(flipped_plugin.ReturnsNaN)


def test_pyod_adapter_rejects_unknown_and_contamination_params() -> None:
    knn = REGISTRY.load("pyod-knn")
    X, _, _ = testing.toy_data()
    with pytest.raises(ValueError, match="unknown parameter"):
        knn(n_neighbours=3).fit(X)
    with pytest.raises(ValueError, match="contamination"):
        knn(contamination=0.2).fit(X)
    assert knn(n_neighbors=3).get_params()["n_neighbors"] == 3
    assert "n_neighbors" in knn.param_names()
