"""Suite files: parsing, validation errors, grids, cell ids and seeds."""

from __future__ import annotations

from pathlib import Path

import pytest

from anobench.plan.expansion import expand
from anobench.plan.suite import Suite, SuiteError, builtin_suites, expand_grid, load_suite
from anobench.registry import dataset_registry, detector_registry

DET, DS = detector_registry(), dataset_registry()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


def test_builtin_quick_suite_covers_every_built_in_detector_and_embedded_set() -> None:
    assert "quick" in builtin_suites()
    suite = load_suite("quick")
    # every built-in is in a shipped suite: label-using ones in `semi`, series-only ones in
    # `series`, the rest (classical and deep) here
    semi, series = load_suite("semi"), load_suite("series")
    for name in DET.names():
        if DET.availability(name) is not None:
            assert name in suite.detectors, name
            continue
        cls = DET.load(name)
        if cls.uses_labels:
            assert name in semi.detectors, name
        elif {"tabular", "image"} & set(cls.modalities):
            assert name in suite.detectors, name
        else:
            assert name in series.detectors, name
    cells = expand(suite, DET, DS)
    # every pair but the image-only detector on the 7 non-image sets
    images = [d for d in suite.datasets if DS.load(d).modality == "image"]
    available = [n for n in suite.detectors if DET.availability(n) is None]
    image_only = [n for n in available if "tabular" not in DET.load(n).modalities]
    assert image_only == ["cae"] and len(images) == 2
    pairs = len(suite.detectors) * len(suite.datasets) - len(image_only) * (
        len(suite.datasets) - len(images)
    )
    assert len(cells) == pairs * 2 * 3
    assert len({c.cell_id for c in cells}) == len(cells)


def test_grid_expansion_and_list_values() -> None:
    assert expand_grid({"k": [5, 10], "m": "x"}) == [{"k": 5, "m": "x"}, {"k": 10, "m": "x"}]
    assert expand_grid({"widths": [[4, 2]]}) == [{"widths": [4, 2]}]
    with pytest.raises(SuiteError, match="empty list"):
        expand_grid({"k": []})


def test_cell_ids_and_seeds_are_content_derived() -> None:
    suite = Suite(
        name="a",
        detectors={"pyod-knn": {"n_neighbors": [5, 10]}, "iforest": {}},
        datasets=["wine", "bumps"],
        seeds=[0, 1],
    )
    cells = expand(suite, DET, DS)
    again = expand(suite.model_copy(update={"name": "renamed"}), DET, DS)
    assert [c.cell_id for c in cells] == [c.cell_id for c in again]
    assert len(cells) == 3 * 2 * 2 * 2
    by_key = {(c.label, c.dataset, c.protocol, c.seed): c for c in cells}
    a = by_key[("iforest", "wine", "novelty", 0)]
    b = by_key[("pyod-knn(n_neighbors=5)", "wine", "novelty", 0)]
    assert a.split_seed == b.split_seed  # every detector sees the same split
    assert a.model_seed != b.model_seed
    assert a.split_seed != by_key[("iforest", "wine", "novelty", 1)].split_seed


def test_exclusions_become_skipped_cells() -> None:
    suite = Suite(
        name="x",
        detectors=["iforest", "pca"],
        datasets=["wine"],
        seeds=[0],
        exclude=[{"detector": "p*", "dataset": "wine", "reason": "too slow"}],
    )
    skipped = {c.detector: c.skip_reason for c in expand(suite, DET, DS)}
    assert skipped == {"iforest": None, "pca": "excluded by suite: too slow"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name = 'x'\ndetectors = ['iforest']\n", "datasets: Field required"),
        ("name = 'x'\ndetectors = [\n", "invalid TOML"),
        ("name = 'x'\ndetectors=['iforest']\ndatasets=['wine']\nseeds=[]\n", "seeds"),
        ("name = 'x'\ndetectors=['iforest']\ndatasets=['wine']\ntime_budget=-1\n", "time_budget"),
        ("name = 'x'\ndetectors=['iforest']\ndatasets=['wine']\nprotocols=['nope']\n", "protocols"),
        ("name = 'x'\ndetectors=['iforest']\ndatasets=['wine']\ntypo=1\n", "typo: Extra inputs"),
    ],
)
def test_bad_suite_files_give_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SuiteError, match=message):
        load_suite(write(tmp_path, text))


def test_unknown_names_and_parameters_suggest_fixes(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="unknown suite 'quik'. Did you mean 'quick'"):
        load_suite("quik")
    with pytest.raises(SuiteError, match="does not exist"):
        load_suite(tmp_path / "missing.toml")
    suite = Suite(name="x", detectors=["iforst"], datasets=["wnie"])
    with pytest.raises(SuiteError, match="Did you mean 'iforest'.*Did you mean 'wine'"):
        expand(suite, DET, DS)
    suite = Suite(name="x", detectors={"pyod-knn": {"n_neighbours": 3}}, datasets=["wine"])
    with pytest.raises(SuiteError, match="no parameter 'n_neighbours'. Did you mean 'n_neighbors'"):
        expand(suite, DET, DS)


def test_a_misspelt_key_gets_a_did_you_mean() -> None:
    from anobench.plan.suite import SuiteError, parse_suite

    base = {"name": "x", "detectors": ["iforest"], "datasets": ["wine"]}
    with pytest.raises(SuiteError, match="sedes: unknown key. Did you mean 'seeds'"):
        parse_suite({**base, "sedes": [1]})
    with pytest.raises(SuiteError, match="calibration.fold: unknown key. Did you mean 'folds'"):
        parse_suite({**base, "calibration": {"fold": 3}})
