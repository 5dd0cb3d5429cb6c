"""What a published protocol does: paired differences against its clean protocol, rank
agreement, and mechanisms built only from recorded facts; and the report's outputs."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from anobench.execution.store import RunStore
from anobench.plan import presets
from anobench.report.build import write_report
from anobench.report.render.protocol_effect import spearman_text
from anobench.results.protocol_effect import (
    dataset_facts,
    mechanism,
    protocol_effect,
    split_details,
    with_split_details,
)

ADB = presets.ADBENCH_2022
MIRROR = Path(
    os.environ.get("ANOBENCH_REFERENCE_DIR")
    or Path(__file__).resolve().parents[3] / "shared" / "reference"
)

#: detector -> (mean under adbench-2022, mean under unsupervised) on wbc; cover adds 0.05
MEANS = {"a": (0.9, 0.8), "b": (0.7, 0.75), "c": (0.6, 0.5), "d": (0.8, 0.55)}


def _frame(means: dict[str, tuple[float, float]] = MEANS) -> pd.DataFrame:
    rows = []
    for det, (pub, clean) in means.items():
        for ds, off in (("adbench/wbc", 0.0), ("adbench/cover", 0.05)):
            wbc = ds.endswith("wbc")
            for seed in (1, 2, 3):
                rows.append(
                    dict(
                        label=det,
                        detector=det,
                        dataset=ds,
                        protocol="adbench-2022",
                        seed=seed,
                        status="ok",
                        roc_auc=pub + off + 0.01 * (seed - 2),
                        n_train=700,
                        n_test=300,
                        n_train_anomalies=30,
                        resampled=wbc,
                        subsampled=not wbc,
                        n_rows=223 if wbc else 286048,
                        resampled_from=223 if wbc else None,
                        resampled_to=1000 if wbc else None,
                        subsampled_from=None if wbc else 286048,
                        subsampled_to=None if wbc else 10000,
                        test_rows_in_train=0.6 + 0.01 * (seed - 2) if wbc else 0.0,
                        scaling="min-max (train)",
                    )
                )
            for seed in (0, 1, 2):
                rows.append(
                    dict(
                        label=det,
                        detector=det,
                        dataset=ds,
                        protocol="unsupervised",
                        seed=seed,
                        status="ok",
                        roc_auc=clean + off,
                        n_train=156,
                        n_test=67 if wbc else 3000,
                        n_train_anomalies=7,
                        subsampled=False,
                    )
                )
    return pd.DataFrame(rows)


def test_paired_differences_are_published_minus_clean() -> None:
    effect = protocol_effect(_frame(), ADB)
    assert effect is not None and effect.clean == "unsupervised"
    cells = effect.cells.set_index(["detector", "dataset"])
    assert len(cells) == 8
    row = cells.loc[("d", "adbench/wbc")]
    assert row["published_mean"] == pytest.approx(0.8)  # seeds 0.79, 0.80, 0.81
    assert row["clean_mean"] == pytest.approx(0.55)
    assert row["difference"] == pytest.approx(0.25)
    assert row["published_seeds"] == "3/3" and row["clean_seeds"] == "3/3"
    # top movers: largest |difference| first, ties by detector then data set
    assert list(effect.movers["detector"][:2]) == ["d", "d"]
    assert list(effect.movers["dataset"][:2]) == ["adbench/cover", "adbench/wbc"]
    assert len(protocol_effect(_frame(), ADB, top=3).movers) == 3


def test_only_pairs_ok_under_both_protocols_count() -> None:
    frame = _frame()
    failed = (frame["label"] == "a") & (frame["dataset"] == "adbench/cover")
    failed &= frame["protocol"] == "unsupervised"
    frame.loc[failed, ["status", "roc_auc"]] = ["error", np.nan]
    effect = protocol_effect(frame, ADB)
    assert ("a", "adbench/cover") not in set(
        zip(effect.cells["detector"], effect.cells["dataset"], strict=True)
    )
    assert effect.n_datasets == 1  # cover is no longer common to every detector
    assert protocol_effect(frame[frame["protocol"] == "adbench-2022"], ADB) is None


def test_spearman_of_the_detectors_means_by_hand() -> None:
    effect = protocol_effect(_frame(), ADB)
    # means over both sets: published a .925 > d .825 > b .725 > c .625 (ranks 1 2 3 4);
    # clean a .825 > b .775 > d .575 > c .525 (ranks 1 3 2 4): sum d^2 = 2, 1 - 12/60
    assert effect.spearman == pytest.approx(0.8)
    assert effect.spearman == pytest.approx(
        spearmanr([0.925, 0.725, 0.625, 0.825], [0.825, 0.775, 0.525, 0.575]).statistic
    )
    assert spearman_text(effect) == "0.80 (n=4 detectors, 2 data sets)"
    two = protocol_effect(_frame({k: MEANS[k] for k in "ab"}), ADB)
    assert two.spearman is None and spearman_text(two).startswith("n/a (n=2 detectors")


def test_mechanism_names_resampling_and_the_copy_fraction_from_recorded_facts() -> None:
    facts = dataset_facts(_frame(), ADB)
    wbc = mechanism(facts.loc["adbench/wbc"], ADB)
    assert wbc.startswith(
        "resampled with replacement from 223 to 1000 rows, then 60.0% of test rows have an "
        "identical training row"
    )
    assert "scaling: min-max (train) vs each detector's own" in wbc
    assert "subsampled" not in wbc and "anomalies" not in wbc  # unsupervised keeps them
    cover = mechanism(facts.loc["adbench/cover"], ADB)
    assert cover.startswith("subsampled from 286048 to 10000 rows")
    assert "resampled" not in cover and "identical" not in cover
    assert "test part 30% of rows vs 95%" in cover  # the clean cells' measured test share
    assert not facts.loc["adbench/wbc", "clean_train_anomalies_removed"]


def test_split_details_come_from_the_records() -> None:
    records = [
        SimpleNamespace(
            cell_id="1",
            split={
                "n_rows": 223,
                "scaling": "min-max (train)",
                "resampled_with_replacement": {"from": 223, "to": 1000},
            },
        ),
        SimpleNamespace(
            cell_id="2", split={"n_rows": 20000, "subsampled": {"from": 20000, "to": 10000}}
        ),
        SimpleNamespace(cell_id="3", split={"n_train": 5}),
    ]  # what split_details reads of a CellResult
    details = split_details(records).set_index("cell_id")
    assert details.loc["1", "resampled_from"] == 223 and details.loc["1", "resampled_to"] == 1000
    assert details.loc["2", "subsampled_to"] == 10000 and pd.isna(details.loc["3", "n_rows"])
    frame = pd.DataFrame({"cell_id": ["1", "2", "3"], "x": [1, 2, 3]})
    merged = with_split_details(frame, records)
    assert list(merged["x"]) == [1, 2, 3] and merged.loc[0, "scaling"] == "min-max (train)"


def _record(make_record, cell_id: int, det: str, ds: str, protocol: str, seed: int, auc: float):
    split: dict = {"n_train": 700, "n_test": 300, "n_train_anomalies": 20}
    if protocol == "adbench-2022":
        split |= {
            "published_protocol": protocol,
            "n_rows": 223,
            "scaling": "min-max (train)",
            "resampled_with_replacement": {"from": 223, "to": 1000},
            "test_rows_in_train_fraction": 0.5,
        }
    return make_record(
        cell_id=str(cell_id),
        detector=det,
        dataset=ds,
        protocol=protocol,
        seed=seed,
        status="ok",
        roc_auc=auc,
        ap=auc - 0.2,
        split=split,
        test_size=0.3,
    )


def test_the_report_says_published_protocol_and_shows_its_effect(
    tmp_path: Path, make_record, monkeypatch: pytest.MonkeyPatch
) -> None:
    if (MIRROR / "adbench_table_d4_roc.csv").is_file():
        monkeypatch.setenv("ANOBENCH_REFERENCE_DIR", str(MIRROR))
    else:
        monkeypatch.setenv("ANOBENCH_REFERENCE_DIR", str(tmp_path / "none"))
    store = RunStore(tmp_path / "run")
    i = 0
    for det, (pub, clean) in {
        "pyod-iforest": (0.99, 0.98),
        "pyod-knn": (0.9, 0.95),
        "pyod-lof": (0.8, 0.6),
    }.items():
        for ds, off in (("adbench/wbc", 0.0), ("adbench/glass", -0.1)):
            for protocol, seeds, value in (
                ("adbench-2022", (1, 2, 3), pub),
                ("unsupervised", (0, 1, 2), clean),
            ):
                for seed in seeds:
                    i += 1
                    store.put(_record(make_record, i, det, ds, protocol, seed, value + off))
    out = write_report(tmp_path / "run", plots=False)
    board = (out / "leaderboard_adbench-2022_roc_auc.md").read_text()
    assert board.startswith("# ROC-AUC, published protocol: adbench-2022\n")
    assert "Known flaws" in board and "resampled WITH replacement" in board
    assert (
        (out / "leaderboard_unsupervised_roc_auc.md")
        .read_text()
        .startswith("# ROC-AUC, protocol unsupervised\n")
    )
    effect = (out / "protocol_effect_adbench-2022.md").read_text()
    assert "1.00 (n=3 detectors, 2 data sets)" in effect  # same order under both
    assert "resampled with replacement from 223 to 1000 rows, then 50.0% of test rows" in effect
    cells = pd.read_csv(out / "protocol_effect_adbench-2022.csv")
    assert len(cells) == 6 and set(cells["metric"]) == {"roc_auc"}
    page = (out / "index.html").read_text()
    assert "What the published protocol does" in page and "published protocol: adbench-2022" in page
    assert "resampled WITH replacement" in page
    if (MIRROR / "adbench_table_d4_roc.csv").is_file():
        reference = (out / "reference_adbench-2022_roc_auc.md").read_text()
        assert "published protocol: adbench-2022" in reference and "DAGMM" in reference
        assert "Against published results" in page
        assert not (out / "reference_unsupervised_roc_auc.md").exists()  # no [reference]
