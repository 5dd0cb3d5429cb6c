"""The embedded data sets."""

from __future__ import annotations

import numpy as np
import pytest

from anobench.registry import dataset_registry

REGISTRY = dataset_registry()


EMBEDDED = [n for n in REGISTRY.names() if not REGISTRY.load(n).files]


@pytest.mark.parametrize("name", EMBEDDED)
def test_every_embedded_dataset_loads_and_splits(name: str) -> None:
    spec = REGISTRY.load(name)
    X, y = spec.load()
    assert len(X) == len(y) and set(np.unique(y)) == {0, 1}
    assert np.all(np.isfinite(X))
    assert not X.flags.writeable  # cached arrays cannot be modified by a detector
    for protocol in ("novelty", "unsupervised"):
        split = spec.split(protocol, 0)
        assert split.metadata["n_test_anomalies"] >= 1
    assert spec.fingerprint() == REGISTRY.load(name).fingerprint()


def test_bumps_follows_its_definition() -> None:
    X, y = REGISTRY.load("bumps").load()
    assert X.shape == (2200, 256) and y.sum() == 200
    normal, anomalous = X[y == 0], X[y == 1]
    np.testing.assert_allclose(normal.max(axis=1), 1.0)  # one bump scaled to max 1
    assert (anomalous.max(axis=1) <= 1.12 + 1e-9).all()
    assert (anomalous.max(axis=1) > 1.0 - 1e-9).all()


def test_shipped_sets_have_the_stated_composition() -> None:
    _, y = REGISTRY.load("breast-cancer").load()
    assert (y == 0).sum() == 357 and y.sum() == 19  # 5% anomalies
    _, y = REGISTRY.load("wine").load()
    assert (y == 0).sum() == 119 and y.sum() == 10
    X, y = REGISTRY.load("digits-3").load()
    assert X.shape[1:] == (8, 8, 1)
    assert y.mean() == pytest.approx(0.1, abs=0.01)


@pytest.mark.parametrize("kind", ["local", "global", "dependency", "clustered"])
def test_blobs_types(kind: str) -> None:
    X, y = REGISTRY.load(f"blobs-{kind}").load()
    assert X.shape == (2100, 10) and y.sum() == 100
