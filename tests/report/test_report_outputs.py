"""The report's renderers read one Report computed once: LaTeX (booktabs, bold best,
oracle dagger), the data-sets-as-rows layout, the long-form leaderboards, slugged file
names and the page's summary."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from anobench.cli import main
from anobench.execution.store import RunStore
from anobench.report import model as report_model
from anobench.report.build import make_report
from anobench.report.render.board_layout import choose_layout, grid
from anobench.results.leaderboard import leaderboard

DETECTORS = {"good": 0.9, "mid": 0.7, "bad": 0.5}
DATASETS = [f"Set {i}.v1" for i in range(5)]  # spaces, capitals and dots: slugged


def _run(root: Path, make_record: Callable[..., dict]) -> Path:
    """3 detectors x 5 data sets x 2 seeds, every cell ok; "good" best everywhere
    except on the last data set, where "mid" is best."""
    store = RunStore(root)
    records = []
    for det, base in DETECTORS.items():
        for i, ds in enumerate(DATASETS):
            for seed in (0, 1):
                value = base + 0.01 * i + 0.004 * seed
                if ds == DATASETS[-1]:
                    value = {"good": 0.6, "mid": 0.95, "bad": 0.4}[det] + 0.004 * seed
                thresholds = {
                    "top-k": {"f1": value / 2, "precision": 0.5, "recall": 0.5, "oracle": True}
                }
                records.append(
                    make_record(
                        cell_id=f"{det}-{i}-{seed}", detector=det, dataset=ds, seed=seed,
                        roc_auc=value, ap=value - 0.1, thresholds=thresholds,
                        fit_seconds=0.1, score_seconds=0.1,
                    )
                )  # fmt: skip
    store.begin({"suite": {"name": "layout"}}, [{"cell_id": r["cell_id"]} for r in records])
    for record in records:
        store.put(record)
    return root


@pytest.fixture
def written(tmp_path: Path, make_record, monkeypatch: pytest.MonkeyPatch):
    """The report of :func:`_run`, counting how often the results table and the
    leaderboards were computed."""
    calls = {"run_frame": 0, "leaderboard": 0}
    real_frame, real_board = report_model.run_frame, report_model.leaderboard

    def run_frame(*args, **kwargs):
        calls["run_frame"] += 1
        return real_frame(*args, **kwargs)

    def board(*args, **kwargs):
        calls["leaderboard"] += 1
        return real_board(*args, **kwargs)

    monkeypatch.setattr(report_model, "run_frame", run_frame)
    monkeypatch.setattr(report_model, "leaderboard", board)
    run_dir = _run(tmp_path / "run", make_record)
    assert main(["report", str(run_dir), "--no-plots"]) == 0
    return run_dir / "report", calls


def test_results_are_read_once_and_each_leaderboard_computed_once(written) -> None:
    out, calls = written
    assert calls["run_frame"] == 1  # the report and the console share one Report
    boards = len(list(out.glob("leaderboard_*_by_dataset.csv")))
    assert boards >= 2 and calls["leaderboard"] == boards  # once per protocol and metric


def test_latex_tables_are_booktabs_with_bold_best_and_an_oracle_dagger(written) -> None:
    out, _ = written
    tex = (out / "leaderboard_novelty_roc_auc.tex").read_text()
    for rule in (r"\toprule", r"\midrule", r"\bottomrule", r"\begin{tabular}{lrrr}"):
        assert rule in tex, rule
    assert r"$\pm$" in tex and "±" not in tex
    # data sets as rows (5 sets > 3 detectors): the best per data set in bold
    header = next(line for line in tex.splitlines() if line.startswith("data set"))
    assert header == r"data set & good & mid & bad \\"
    rows = {line.split(" & ")[0]: line for line in tex.splitlines() if line.startswith("Set")}
    assert set(rows) == {f"Set {i}.v1" for i in range(5)}
    assert rows["Set 0.v1"].split(" & ")[1].startswith(r"\textbf{0.902 $\pm$ 0.003}")
    assert rows["Set 4.v1"].split(" & ")[2].startswith(r"\textbf{0.952 $\pm$ 0.003}")
    assert rows["Set 4.v1"].count(r"\textbf") == 1
    assert r"\dagger" not in tex
    oracle = (out / "leaderboard_novelty_f1_at_top-k_oracle.tex").read_text()
    assert r"$^{\dagger}$" in oracle.split(r"\caption{")[1].split("\n")[0]
    assert "Oracle metric" in oracle
    stats = (out / "stats_novelty_roc_auc.tex").read_text()
    assert r"\toprule" in stats and r"\textbf{0.854}" in stats  # best mean: good


def test_many_data_sets_are_laid_out_as_rows(written) -> None:
    out, _ = written
    md = (out / "leaderboard_novelty_roc_auc.md").read_text()
    assert "| data set " in md and "Rows: data sets, columns: detectors." in md
    assert "**0.952 ± 0.003**" in md  # bold best in Markdown too
    wide = pd.read_csv(out / "leaderboard_novelty_roc_auc_by_dataset.csv", index_col="dataset")
    assert list(wide.index) == [*DATASETS, "avg rank", "mean"]
    assert list(wide.columns) == ["metric", "oracle", "good", "mid", "bad"]
    assert wide.loc["Set 4.v1", "mid"] == pytest.approx(0.952)
    assert wide.loc["avg rank", "good"] == pytest.approx(1.2)
    # the numeric per-detector CSV keeps its layout
    board = pd.read_csv(out / "leaderboard_novelty_roc_auc.csv", index_col="detector")
    assert list(board.index) == ["good", "mid", "bad"]


def test_layout_follows_the_shape() -> None:
    rows = [
        dict(label=d, dataset=s, protocol="p", seed=0, status="ok", roc_auc=v)
        for d, v in (("a", 0.9), ("b", 0.8), ("c", 0.7))
        for s in ("x", "y")
    ]
    table = leaderboard(pd.DataFrame(rows).assign(cell_id=range(6)), "roc_auc", "p")
    assert choose_layout(table) == "detectors"
    g = grid(table)
    assert g.headers[:3] == ["detector", "avg rank", "mean"] and len(g.rows) == 3
    assert (0, 1) in g.best and (0, 2) in g.best  # best rank and mean: a
    assert grid(table, "datasets").rows[-4][0] == "avg rank"


def test_long_form_leaderboards(written) -> None:
    out, _ = written
    long = pd.read_csv(out / "leaderboards.csv")
    roc = long[(long["metric"] == "roc_auc") & (long["protocol"] == "novelty")]
    assert len(roc) == len(DETECTORS) * len(DATASETS)
    cell = roc[(roc["detector"] == "mid") & (roc["dataset"] == "Set 4.v1")].iloc[0]
    assert cell["mean"] == pytest.approx(0.952) and cell["seeds"] == 2
    assert set(long.loc[long["metric"] == "f1@top-k", "oracle"]) == {True}
    assert not long.loc[long["metric"] == "roc_auc", "oracle"].any()


def test_file_names_are_slugged(written) -> None:
    out, _ = written
    names = [p.name for p in out.rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert names
    for name in names:
        assert re.fullmatch(r"[a-z0-9_-]+\.[a-z]+", name), name


def test_page_leads_with_the_summary(written) -> None:
    out, _ = written
    page = (out / "index.html").read_text()
    summary = page[page.index('<section id="summary">') : page.index('id="leaderboards"')]
    assert page.index('<section id="summary">') < page.index("<table")
    # the leader, its rank, mean and CI
    assert "good (rank 1.20; mean 0.854 [" in summary and "; 5/5 sets)" in summary
    assert "cannot separate: with 5 data sets" in summary  # 3 pairs, 5 sets: too few
    assert "<b>0.952 ± 0.003</b>" in page  # best per data set in bold
    assert 'class="filter"' in page and "abSort" in page and "overflow-x:auto" in page


def test_renderers_do_not_import_the_report_module() -> None:
    code = (
        "import sys, anobench.report.render.html, anobench.report.render.csv_latex, anobench.report.render.text; "
        "print('anobench.report.build' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def test_kept_report_still_prints_from_the_model(tmp_path: Path, make_record, capsys) -> None:
    run_dir = _run(tmp_path / "run", make_record)
    report = make_report(run_dir, plots=False)
    assert report.path == run_dir / "report" and report.boards[0].summary is not None
    assert main(["report", str(run_dir), "--no-plots"]) == 0  # kept: nothing changed
    text = capsys.readouterr().out
    assert "ROC-AUC, protocol novelty" in text and "| good" in text


def test_the_summary_names_the_order_of_its_best_detectors(written) -> None:
    """The best list is in average-rank order and says so, the rank before the mean."""
    out, _ = written
    page = (out / "index.html").read_text()
    assert "best by average rank good (rank 1.20; mean" in page
    assert page.index("good (rank") < page.index("mid (rank")
    assert "Missing / not computed: cells that never ran" in page
