"""Published reference tables (fetched and checked like data, never shipped) and the
per-cell comparison with them under a published protocol."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from anobench.data.io import DataFileError, DataMissingError
from anobench.plan import presets
from anobench.plan.suite import PublishedReference
from anobench.report.render.published import write_comparisons
from anobench.results.published import (
    CELL_COLUMNS,
    compare_with_published,
    load_table,
    not_reproduced,
    summarize,
)
from anobench.results.published_tables import STUDY_TABLES, TABLES

MIRROR = Path(
    os.environ.get("ANOBENCH_REFERENCE_DIR")
    or Path(__file__).resolve().parents[3] / "shared" / "reference"
)
ROC = "pyod_benchmark_roc.csv"
D4 = "adbench_table_d4_roc.csv"
PYOD, ADB = presets.PYOD_BENCHMARK, presets.ADBENCH_2022

needs_mirror = pytest.mark.skipif(
    not (MIRROR / ROC).is_file(), reason=f"no reference mirror at {MIRROR}"
)
needs_d4 = pytest.mark.skipif(not (MIRROR / D4).is_file(), reason=f"no {D4} at {MIRROR}")

#: a small published table in PyOD's layout
TABLE = pd.DataFrame(
    {"KNN": [0.9213, 0.80, np.nan], "IForest": [0.70, 0.60, 0.50], "HBOS": [0.5, 0.5, 0.5]},
    index=pd.Index(["cardio", "Cardiotocography", "glass"], name="Data"),
)


def _cells(
    detector: str,
    dataset: str,
    values: list[float | None],
    *,
    protocol: str = "pyod-benchmark",
    seeds: list[int] | None = None,
    params: dict | None = None,
    errors: dict[int, tuple[str, str]] | None = None,
) -> pd.DataFrame:
    """Tidy rows of one (detector, data set): ``values[i]`` for seed ``seeds[i]``;
    ``errors`` maps an index to ``(status, message)``."""
    seeds = list(range(len(values))) if seeds is None else seeds
    errors = errors or {}
    rows = []
    for i, (seed, value) in enumerate(zip(seeds, values, strict=True)):
        status, error = errors.get(i, ("ok", None))
        rows.append(
            {
                "protocol": protocol,
                "detector": detector,
                "label": detector,
                "params": json.dumps(params or {}, sort_keys=True),
                "dataset": dataset,
                "dataset_name": dataset,
                "seed": seed,
                "status": status,
                "error": error,
                "roc_auc": value if status == "ok" else np.nan,
            }
        )
    return pd.DataFrame(rows)


def _one(frame: pd.DataFrame, preset: presets.Preset = PYOD) -> pd.Series:
    cells = compare_with_published(frame, preset, "roc_auc", table=TABLE)
    assert len(cells) == 1, cells
    return cells.iloc[0]


def test_the_reference_section_names_a_published_protocol() -> None:
    assert PublishedReference(published="adbench-2022").preset is ADB
    with pytest.raises(ValidationError, match="unknown published protocol.*pyod-benchmark"):
        PublishedReference(published="pyod-benchmrk")
    with pytest.raises(ValidationError):
        PublishedReference(published="pyod-benchmark", files={"roc_auc": ROC})


def test_reproduced_needs_the_papers_protocol_seeds_and_parameters() -> None:
    row = _one(_cells("pyod-knn", "odds/cardio", [0.9213] * 10))
    assert row["verdict"] == "reproduced" and row["seeds"] == "10/10"
    assert row["column"] == "KNN" and row["published_row"] == "cardio"
    assert list(
        compare_with_published(_cells("pyod-knn", "odds/cardio", [0.9] * 10), PYOD, "roc_auc", table=TABLE).columns
    ) == list(CELL_COLUMNS)


def test_each_seed_is_rounded_to_four_decimals_like_the_paper() -> None:
    exact = dataclasses.replace(PYOD.columns[5], tolerance=0.0)
    assert exact.detector == "pyod-knn"
    strict = dataclasses.replace(PYOD, columns=(exact,))
    frame = _cells("pyod-knn", "odds/cardio", [0.92134] * 10)  # 0.00004 above the table
    row = _one(frame, strict)
    assert row["ours"] == pytest.approx(0.9213) and row["verdict"] == "reproduced"
    unrounded = dataclasses.replace(strict, round_digits=None)
    assert _one(frame, unrounded)["verdict"] == "unexplained"


def test_no_ok_seed_is_a_failure_with_the_first_error() -> None:
    errors = {i: ("error", f"ValueError: bad input {i}\ntraceback") for i in range(10)}
    row = _one(_cells("pyod-knn", "odds/cardio", [None] * 10, errors=errors))
    assert row["verdict"] == "failure: ValueError: bad input 0" and np.isnan(row["ours"])


def test_every_seed_skipped_is_not_run_and_not_compared() -> None:
    errors = {i: ("skipped", "data not available: no file") for i in range(10)}
    cells = compare_with_published(
        _cells("pyod-knn", "odds/cardio", [None] * 10, errors=errors), PYOD, "roc_auc", table=TABLE
    )
    assert cells.loc[0, "verdict"] == "not run: data not available: no file"
    assert summarize(cells).empty


def test_verdicts_name_what_differs_from_the_paper_in_order() -> None:
    # within tolerance, but under the clean protocol: the protocol is named first
    clean = _cells("pyod-knn", "odds/cardio", [0.9213] * 3, protocol="unsupervised")
    assert _one(clean)["verdict"] == "protocol differs: unsupervised"
    # the paper's protocol but three seeds of ten
    assert _one(_cells("pyod-knn", "odds/cardio", [0.9213] * 3))["verdict"] == (
        "seeds differ from the paper's"
    )
    # other parameters
    tuned = _cells("pyod-knn", "odds/cardio", [0.9213] * 10, params={"n_neighbors": 10})
    assert _one(tuned)["verdict"] == "parameters differ from the paper's"
    # within tolerance on the ok seeds, one seed failed
    one_failed = _cells("pyod-knn", "odds/cardio", [0.9213] * 10, errors={3: ("timeout", "t")})
    row = _one(one_failed)
    assert row["verdict"] == "failure: 9/10 seeds ok" and row["seeds"] == "9/10"
    # beyond tolerance with a known drift / without one
    drift = _one(_cells("pyod-iforest", "odds/cardio", [0.75] * 10))
    assert drift["verdict"] == f"library version drift: {PYOD.column('pyod-iforest').drift}"
    assert drift["difference"] == pytest.approx(0.05)
    assert _one(_cells("pyod-knn", "odds/cardio", [0.95] * 10))["verdict"] == "unexplained"


def test_rows_match_case_insensitively_and_na_gives_no_row() -> None:
    frame = _cells(
        "pyod-iforest",
        "adbench/cardiotocography",
        [0.6] * 3,
        seeds=[1, 2, 3],
        protocol="adbench-2022",
    )
    row = _one(frame, ADB)
    assert row["published_row"] == "Cardiotocography" and row["verdict"] == "reproduced"
    # glass has no published KNN value (N/A), a set the table lacks has no row either
    frame = pd.concat(
        [_cells("pyod-knn", "odds/glass", [0.8] * 10), _cells("pyod-knn", "odds/nope", [0.8] * 10)]
    )
    assert compare_with_published(frame, PYOD, "roc_auc", table=TABLE).empty
    # a detector the preset does not map is not compared
    assert compare_with_published(_cells("iforest", "odds/cardio", [0.7] * 10), PYOD, "roc_auc", table=TABLE).empty


def test_the_per_detector_summary_counts_verdicts() -> None:
    frame = pd.concat(
        [
            _cells("pyod-iforest", "odds/cardio", [0.70] * 10),  # reproduced
            _cells("pyod-iforest", "odds/cardiotocography", [0.70] * 10),  # drift +0.10
            _cells(
                "pyod-iforest",
                "odds/glass",
                [None] * 10,
                errors={i: ("error", "boom") for i in range(10)},
            ),
            _cells("pyod-knn", "odds/cardio", [0.9213] * 10),
        ]
    )
    summary = summarize(compare_with_published(frame, PYOD, "roc_auc", table=TABLE)).set_index("detector")
    iforest = summary.loc["pyod-iforest"]
    assert iforest["compared"] == 3 and iforest["reproduced"] == "1/3"
    assert iforest["verdicts"] == "1 failure, 1 library version drift"
    assert iforest["max_abs_difference"] == pytest.approx(0.10)
    assert iforest["mean_difference"] == pytest.approx(0.05)
    assert summary.loc["pyod-knn", "verdicts"] == "all reproduced"


def test_columns_not_reproduced_are_listed_with_why() -> None:
    frame = pd.concat(
        [
            _cells("pyod-iforest", "adbench/wbc", [0.9] * 3, seeds=[1, 2, 3]),
            _cells(
                "pyod-deepsvdd",
                "adbench/wbc",
                [None] * 3,
                seeds=[1, 2, 3],
                errors={i: ("skipped", "detector unavailable: no torch") for i in range(3)},
            ),
        ]
    )
    missing = not_reproduced(frame, ADB).set_index("column")
    assert missing.loc["DAGMM", "reason"].startswith("not in PyOD")
    assert missing.loc["DeepSVDD", "reason"] == "not run: detector unavailable: no torch"
    assert missing.loc["KNN", "reason"] == "not run: not in this run"
    assert "IForest" not in missing.index


def test_no_table_is_shipped_with_the_package() -> None:
    package = Path(__file__).resolve().parents[2] / "bench"
    assert not list(package.rglob("*.csv"))


def test_tables_are_pinned_and_d4_has_no_url() -> None:
    assert all(f.known_hash and f.known_hash.startswith("sha256:") for f in TABLES.values())
    assert TABLES[D4].urls == ()
    assert all(
        TABLES[t].urls[0].startswith("https://") for t in (ROC, "pyod_benchmark_precision_at_n.csv")
    )
    for preset in presets.PRESETS.values():
        # a source study's printed numbers are built in (STUDY_TABLES), not fetched
        assert set(preset.tables.values()) <= set(TABLES) | set(STUDY_TABLES)


@needs_d4
def test_table_d4_loads_with_its_dataset_index(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANOBENCH_REFERENCE_DIR", str(MIRROR))
    table = load_table(D4)
    assert table.index.name == "dataset" and "Cardiotocography" in table.index
    assert {c.name for c in ADB.columns} <= set(table.columns)
    assert np.isnan(table.loc["breastw", "DAGMM"])  # N/A in the paper
    values = table.to_numpy(dtype=float)
    assert np.nanmin(values) >= 0 and np.nanmax(values) <= 1


@needs_mirror
def test_table_from_the_mirror_is_checked_and_compared(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ANOBENCH_REFERENCE_DIR", str(MIRROR))
    table = load_table(ROC)
    assert len(table) == 17 and table.loc["cardio", "IForest"] == pytest.approx(0.9213)
    frame = _cells("pyod-iforest", "odds/cardio", [0.95] * 10)
    written = write_comparisons(frame, None, tmp_path)
    assert [c.markdown.name for c in written] == ["reference_pyod-benchmark_roc_auc.md"]
    assert written[0].cells.loc[0, "difference"] == pytest.approx(0.95 - 0.9213)
    text = written[0].markdown.read_text()
    assert "published protocol: pyod-benchmark" in text and "Known flaws" in text
    assert "library version drift" in text and "ABOD" in text  # not run: listed
    csv = pd.read_csv(tmp_path / "reference_pyod-benchmark_roc_auc.csv")
    assert set(csv["metric"]) == {"roc_auc"} and not csv["oracle"].any()
    # a clean protocol is compared only when the suite names a published protocol
    clean = _cells("pyod-iforest", "odds/cardio", [0.95] * 3, protocol="unsupervised")
    assert write_comparisons(clean, None, tmp_path) == []
    [c] = write_comparisons(clean, PublishedReference(published="pyod-benchmark"), tmp_path)
    assert c.markdown.name == "reference_unsupervised_roc_auc.md"
    assert c.cells.loc[0, "verdict"] == "protocol differs: unsupervised"


@needs_mirror
def test_a_corrupt_table_is_refused_and_the_report_goes_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bad = tmp_path / "mirror"
    bad.mkdir()
    shutil.copy(MIRROR / ROC, bad / ROC)
    (bad / ROC).write_text((bad / ROC).read_text().replace("0.9213", "0.9999"))
    monkeypatch.setenv("ANOBENCH_REFERENCE_DIR", str(bad))
    with pytest.raises(DataFileError, match="sha256"):
        load_table(ROC)
    assert write_comparisons(_cells("pyod-iforest", "odds/cardio", [0.9]), None, tmp_path) == []


def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ANOBENCH_REFERENCE_DIR", str(tmp_path))
    monkeypatch.setenv("ANOBENCH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ANOBENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ANOBENCH_OFFLINE", "1")


def test_a_missing_table_offline_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _offline(monkeypatch, tmp_path)
    with pytest.raises(DataFileError, match="not present.*raw.githubusercontent.com"):
        load_table(ROC)


def test_a_table_without_url_says_where_to_put_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _offline(monkeypatch, tmp_path)
    monkeypatch.delenv("ANOBENCH_OFFLINE")  # not even online: there is nothing to download
    with pytest.raises(DataMissingError, match="no public download URL.*ANOBENCH_REFERENCE_DIR"):
        load_table(D4)
    (tmp_path / D4).write_text("dataset,IForest\nwbc,0.9\n")
    with pytest.raises(DataFileError, match="reference directory"):
        load_table(D4)
    frame = _cells("pyod-iforest", "adbench/wbc", [0.9] * 3, protocol="adbench-2022")
    assert write_comparisons(frame, None, tmp_path) == []
    assert D4 in caplog.text


def test_only_the_papers_own_files_are_compared() -> None:
    """ODDS's cardio is not the file PyOD's table was made from under another name:
    a data set outside the preset's namespace gets no row, whatever its short name."""
    frame = pd.concat(
        [
            _cells("pyod-knn", "odds/cardio", [0.9213] * 10),
            _cells("pyod-knn", "adbench/cardio", [0.9213] * 10),
        ]
    )
    cells = compare_with_published(frame, PYOD, "roc_auc", table=TABLE)
    assert cells["dataset"].tolist() == ["odds/cardio"]
