"""Leaderboards: means, ranks and failures shown as failures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from anobench.execution.store import RunStore
from anobench.report.build import write_report
from anobench.report.render.board_layout import format_leaderboard
from anobench.results.leaderboard import leaderboard


def frame() -> pd.DataFrame:
    rows = []
    for seed in (0, 1):
        rows += [
            dict(
                label="a",
                dataset="d1",
                protocol="novelty",
                seed=seed,
                status="ok",
                roc_auc=0.9 + seed * 0.02,
            ),
            dict(label="b", dataset="d1", protocol="novelty", seed=seed, status="ok", roc_auc=0.7),
            dict(label="a", dataset="d2", protocol="novelty", seed=seed, status="ok", roc_auc=0.6),
            dict(label="b", dataset="d2", protocol="novelty", seed=seed, status="ok", roc_auc=0.8),
            dict(
                label="c",
                dataset="d1",
                protocol="novelty",
                seed=seed,
                status="timeout",
                roc_auc=None,
            ),
            dict(
                label="c",
                dataset="d2",
                protocol="novelty",
                seed=seed,
                status="ok" if seed == 0 else "error",
                roc_auc=0.95 if seed == 0 else None,
            ),
        ]
    df = pd.DataFrame(rows)
    df["cell_id"] = range(len(df))
    return df


def test_leaderboard_means_ranks_and_coverage() -> None:
    table = leaderboard(frame(), "roc_auc", "novelty")
    assert table.loc["a", "d1"] == pytest.approx(0.91)
    assert table.loc["a", "d1:std"] == pytest.approx(np.std([0.9, 0.92], ddof=1))
    # c failed on d1: not ranked (its one result on d2 must not rank it first);
    # d1: a=1, b=2; d2: b=1, a=2; the tie goes to the higher mean (a 0.755, b 0.75)
    assert table.loc["a", "avg_rank"] == pytest.approx(1.5)
    assert table.loc["b", "avg_rank"] == pytest.approx(1.5)
    assert np.isnan(table.loc["c", "avg_rank"]) and not table.loc["c", "ranked"]
    assert table.loc["c", "n_datasets"] == 1
    assert table.loc["c", "missing"] == "1 error, 2 timeout"
    assert list(table.index) == ["a", "b", "c"]


def test_failures_are_shown_never_as_zero() -> None:
    text = format_leaderboard(leaderboard(frame(), "roc_auc", "novelty"))
    line = next(row for row in text.splitlines() if row.startswith("| c "))
    assert "timeout (2/2)" in line and "not ranked" in line and "1 error, 2 timeout" in line
    assert "0.950 (n=1) (1/2 ok)" in line
    assert "0.000" not in line


def test_write_report_files(tmp_path, make_record) -> None:
    store = RunStore(tmp_path)
    base = dict(
        split={"n_train": 5},
        sanity={"constant": False},
        thresholds={"top-k": {"f1": 0.5, "precision": 0.5, "recall": 0.5, "oracle": True}},
    )
    store.put(
        make_record(
            **base,
            cell_id="1",
            detector="x",
            label="x",
            dataset="d",
            protocol="novelty",
            seed=0,
            status="ok",
            roc_auc=0.8,
            ap=0.5,
        )
    )
    store.put(
        make_record(
            **base,
            cell_id="2",
            detector="y",
            label="y",
            dataset="d",
            protocol="novelty",
            seed=0,
            status="error",
            error="boom",
        )
    )
    out = write_report(tmp_path)
    assert (out / "results.parquet").is_file()
    results = pd.read_csv(out / "results.csv")
    assert set(results["status"]) == {"ok", "error"}
    md = (out / "leaderboard_novelty_roc_auc.md").read_text()
    assert "0.800 (n=1)" in md and "± 0.000" not in md and "| error " in md
    assert "oracle" in (out / "leaderboard_novelty_f1_at_top-k_oracle.md").read_text()
    assert "oracle:f1@top-k" in results.columns and "f1@top-k" not in results.columns
    with pytest.raises(FileNotFoundError):
        write_report(tmp_path / "empty")


def test_a_failed_seed_never_helps_and_every_table_uses_one_rank(tmp_path, make_record) -> None:
    rows = frame()
    # e: best on d1, ok on d2 only for seed 0 (seed 1 failed there)
    extra = [
        dict(label="e", dataset="d1", protocol="novelty", seed=s, status="ok", roc_auc=0.99)
        for s in (0, 1)
    ] + [
        dict(label="e", dataset="d2", protocol="novelty", seed=0, status="ok", roc_auc=0.99),
        dict(label="e", dataset="d2", protocol="novelty", seed=1, status="error", roc_auc=None),
    ]
    rows = pd.concat([rows, pd.DataFrame(extra)], ignore_index=True)
    table = leaderboard(rows, "roc_auc", "novelty")
    assert not table.loc["e", "ranked"] and np.isnan(table.loc["e", "avg_rank"])
    assert "1 error" in table.loc["e", "missing"]
    # the same rule through write_report: the stats CSV ranks exactly as the leaderboard
    store = RunStore(tmp_path)
    for i, r in enumerate(rows.to_dict("records")):
        fields = {k: v for k, v in r.items() if k != "cell_id" and not pd.isna(v)}
        store.put(make_record(cell_id=str(i), detector=r["label"], **fields))
    out = write_report(tmp_path, plots=False)
    board = pd.read_csv(out / "leaderboard_novelty_roc_auc.csv", index_col="detector")
    stats_csv = pd.read_csv(out / "stats_novelty_roc_auc.csv", index_col=0)
    ranked = board[board["ranked"]].index
    assert set(ranked) == {"a", "b"}
    np.testing.assert_allclose(
        board.loc[ranked, "avg_rank"], stats_csv.loc[ranked, "avg_rank"].astype(float)
    )
