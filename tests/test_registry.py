from __future__ import annotations

import logging
import sys
from importlib.metadata import EntryPoint

import pytest

from anobench.registry import (
    DETECTOR_GROUP,
    Registry,
    UnavailableError,
    UnknownNameError,
    dataset_registry,
    detector_registry,
)

REQUIRED_DETECTORS = {
    "ocsvm",
    "iforest",
    "gmm",
    "pca",
    "kde",
    *(
        f"pyod-{n}"
        for n in (
            "lof",
            "knn",
            "hbos",
            "copod",
            "ecod",
            "mcd",
            "cblof",
            "inne",
            "loda",
            "abod",
            "featurebagging",
            "sod",
            "lmdd",
        )
    ),
}


def fake(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=DETECTOR_GROUP)


def test_builtins_are_registered_through_entry_points() -> None:
    assert set(detector_registry().names()) >= REQUIRED_DETECTORS
    datasets = set(dataset_registry().names())
    assert {
        "bumps",
        "breast-cancer",
        "wine",
        "digits-0",
        "digits-9",
        "blobs-local",
        "blobs-global",
        "blobs-dependency",
        "blobs-clustered",
    } <= datasets


def test_listing_imports_nothing() -> None:
    registry = Registry(DETECTOR_GROUP, lambda: [fake("x", "module_that_is_not_imported_yet:X")])
    assert registry.names() == ["x"]
    assert "module_that_is_not_imported_yet" not in sys.modules


def test_broken_plugin_is_reported_and_does_not_break_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = Registry(
        DETECTOR_GROUP,
        lambda: [
            fake("broken", "no_such_module_xyz:Detector"),
            fake("iforest", "anobench.detectors.classical:IForest"),
        ],
    )
    with caplog.at_level(logging.WARNING):
        with pytest.raises(UnavailableError, match="no_such_module_xyz"):
            registry.load("broken")
    assert "unavailable" in registry.availability("broken")
    assert registry.load("iforest").name == "iforest"
    assert registry.availability("iforest") is None


def test_missing_optional_dependency_names_the_extra() -> None:
    registry = Registry(
        DETECTOR_GROUP, lambda: [fake("needs-torch", "anobench.detectors.nope_torch:X")]
    )
    exc = ImportError("No module named 'torch'", name="torch")
    from anobench.registry import _describe_import_failure

    message = _describe_import_failure("needs-torch", fake("needs-torch", "anobench.x:Y"), exc)
    assert "pip install 'anobench[torch]'" in message
    with pytest.raises(UnavailableError):
        registry.load("needs-torch")


def test_unknown_name_suggests_close_names() -> None:
    with pytest.raises(UnknownNameError, match="Did you mean 'iforest'"):
        detector_registry().load("iforrest")
    with pytest.raises(UnknownNameError, match="unknown dataset 'bumpz'"):
        dataset_registry().entry("bumpz")


def test_duplicate_name_warns_and_keeps_the_first(caplog: pytest.LogCaptureFixture) -> None:
    registry = Registry(
        DETECTOR_GROUP,
        lambda: [
            fake("dup", "anobench.detectors.classical:IForest"),
            fake("dup", "anobench.detectors.classical:PCAReconstruction"),
        ],
    )
    with caplog.at_level(logging.WARNING):
        names = registry.names()
    assert names == ["dup"]
    assert "declared by both" in caplog.text
    assert registry.load("dup").name == "iforest"


def test_plugin_distribution_is_discovered_and_runs(make_plugin, tmp_path) -> None:
    from anobench.execution.driver import run_suite
    from anobench.execution.store import RunStore
    from anobench.plan.suite import Suite

    make_plugin("anobench_plugin_demo", {"plugin-mean": "anobench_plugin_demo:Mean"})
    detectors = detector_registry()  # found on sys.path like any installed plugin
    assert "plugin-mean" in detectors.names()
    assert detectors.entry("plugin-mean").distribution == "anobench_plugin_demo"
    suite = Suite(
        name="plugin",
        detectors={"plugin-mean": {}},
        datasets={"wine": {}},
        protocols=["novelty"],
        seeds=[0],
    )
    summary = run_suite(suite, tmp_path / "run", detectors, dataset_registry())
    records = list(RunStore(tmp_path / "run").records())
    assert summary.by_status == {"ok": 1}
    assert records[0]["detector"] == "plugin-mean"
    assert records[0]["roc_auc"] > 0.5
