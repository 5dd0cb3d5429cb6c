"""Published reference tables: fetched and checked like data, never shipped."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError

from anobench.datasets.files import DataFileError
from anobench.reference import TABLES, Reference, compare, load_table, write_comparisons

MIRROR = Path(
    os.environ.get("ANOBENCH_REFERENCE_DIR")
    or Path(__file__).resolve().parents[2] / "shared" / "reference"
)
ROC = "pyod_benchmark_roc.csv"

needs_mirror = pytest.mark.skipif(
    not (MIRROR / ROC).is_file(), reason=f"no reference mirror at {MIRROR}"
)


def _reference() -> Reference:
    return Reference(source="PyOD", files={"roc_auc": ROC}, detectors={"iforest": "IForest"})


def _frame(auc: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "detector": ["iforest", "iforest"],
            "dataset": ["odds/cardio", "odds/cardio"],
            "status": ["ok", "ok"],
            "roc_auc": [auc, auc],
        }
    )


def test_no_table_is_shipped_with_the_package() -> None:
    package = Path(__file__).resolve().parents[1] / "bench"
    assert not list(package.rglob("*.csv"))


@needs_mirror
def test_table_from_the_mirror_is_checked_and_compared(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ANOBENCH_REFERENCE_DIR", str(MIRROR))
    table = load_table(ROC)
    assert len(table) == 17 and table.loc["cardio", "IForest"] == pytest.approx(0.9213)
    summary, _ = compare(_frame(0.95), _reference(), "roc_auc")
    assert summary.loc[0, "difference"] == pytest.approx(0.95 - 0.9213)
    assert write_comparisons(_frame(0.95), _reference(), tmp_path)[0].name == "reference_roc_auc.md"


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
    assert write_comparisons(_frame(0.9), _reference(), tmp_path) == []


def test_a_missing_table_offline_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ANOBENCH_REFERENCE_DIR", str(tmp_path))
    monkeypatch.setenv("ANOBENCH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ANOBENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ANOBENCH_OFFLINE", "1")
    with pytest.raises(DataFileError, match="not present.*raw.githubusercontent.com"):
        load_table(ROC)


def test_unknown_table_names_are_refused() -> None:
    with pytest.raises(ValidationError, match="unknown reference tables"):
        Reference(source="x", files={"roc_auc": "nope.csv"}, detectors={})
    assert all(f.urls[0].startswith("https://") and f.known_hash for f in TABLES.values())
