"""Report figures: the pool that draws them beside the report, their reuse, and the
plotting helpers the per-data-set figures are made of."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import precision_recall_curve, roc_auc_score, roc_curve

from anobench.metrics.curves import roc_pr_points
from anobench.report.figure_pool import FIGURES_FILE, FigurePool
from anobench.report.plots import charts as plots


def _scores(n_detectors: int = 3, seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(200), np.ones(20)]
    return {
        f"d{i}": (y, np.r_[rng.normal(0, 1, 200), rng.normal(1 + i, 1, 20)])
        for i in range(n_detectors)
    }


@pytest.mark.parametrize("seed", range(25))
def test_roc_pr_points_equal_sklearns_curves(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 400))
    y = (rng.random(n) < 0.2).astype(int)
    y[:2] = (1, 0)
    s = rng.normal(size=n).round(int(rng.integers(0, 3)))  # ties too
    fpr, tpr, recall, precision = roc_pr_points(y, s)
    sk_fpr, sk_tpr, _ = roc_curve(y, s, drop_intermediate=False)
    sk_precision, sk_recall, _ = precision_recall_curve(y, s)
    assert np.allclose(fpr, sk_fpr) and np.allclose(tpr, sk_tpr)
    assert np.allclose(precision, sk_precision) and np.allclose(recall, sk_recall)
    assert np.trapezoid(tpr, fpr) == pytest.approx(roc_auc_score(y, s), abs=1e-12)


def test_per_dataset_figures_draw(tmp_path: Path) -> None:
    scores = _scores(24)
    plots.save(plots.dataset_overview(scores, title="t"), tmp_path / "o.png")
    plots.save(plots.score_distributions(scores), tmp_path / "v.png")
    plots.save(plots.curves(scores), tmp_path / "c.png")
    images = np.random.default_rng(0).random((6, 9, 9, 1))
    grid = plots.reconstruction_grid(images, images * 0.5, np.arange(6.0), np.r_[1, 1, 1, 0, 0, 0])
    plots.save(grid, tmp_path / "r.png")
    plots.save(
        plots.latent_view(
            np.random.default_rng(1).normal(size=(50, 5)), np.r_[np.ones(5), np.zeros(45)]
        ),
        tmp_path / "l.png",
    )
    assert all((tmp_path / f"{n}.png").stat().st_size > 1000 for n in "ovcrl")


@pytest.mark.parametrize("workers", [0, 1])
def test_pool_draws_in_order_reuses_unchanged_figures_and_logs_failures(
    tmp_path: Path, workers: int, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for out in (first, second):
        out.mkdir()
    pool = FigurePool(workers, first)
    pool.submit(first / "a.png", "curves", _scores(seed=0), tag="a")
    pool.submit(first / "b.png", "curves", _scores(seed=1), tag="b", local=True)
    pool.submit(first / "bad.png", "no_such_plot", tag="bad")
    with caplog.at_level(logging.WARNING):
        written = pool.wait()
    assert [tag for _, tag in written] == ["a", "b"]  # the failing one is left out, logged
    assert "bad.png" in caplog.text and not (first / "bad.png").exists()
    keys = json.loads((first / FIGURES_FILE).read_text())
    assert set(keys) == {"a.png", "b.png"}

    # the next report: "a" has the same inputs (copied), "b" changed (drawn again)
    pool = FigurePool(workers, second, previous=first)
    pool.submit(second / "a.png", "curves", _scores(seed=0), tag="a")
    pool.submit(second / "b.png", "curves", _scores(seed=2), tag="b")
    assert pool.reused == 1
    assert [tag for _, tag in pool.wait()] == ["a", "b"]
    assert (second / "a.png").read_bytes() == (first / "a.png").read_bytes()
    assert json.loads((second / FIGURES_FILE).read_text())["b.png"] != keys["b.png"]


def test_two_figures_slugged_to_one_file_are_both_kept(tmp_path: Path) -> None:
    pool = FigurePool(0, tmp_path)
    pool.submit(tmp_path / "a.png", "curves", _scores(seed=0), tag="first")
    pool.submit(tmp_path / "a.png", "curves", _scores(seed=1), tag="second")
    written = pool.wait()
    assert [tag for _, tag in written] == ["first", "second"]
    assert len({path for path, _ in written}) == 2 and all(p.is_file() for p, _ in written)


@pytest.mark.parametrize("why", ["daemon", "no-semaphores"])
def test_figures_are_drawn_in_process_where_no_pool_can_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, why: str
) -> None:
    """A daemon process (a multiprocessing or Celery worker) may not have children, and
    some platforms lack the semaphores a pool needs: the report still gets its figures."""
    from anobench.report import figure_pool

    if why == "daemon":
        monkeypatch.setattr(
            figure_pool.multiprocessing.current_process(), "_config", {"daemon": True}
        )
    else:

        def broken(*args: object, **kwargs: object) -> None:
            raise NotImplementedError("sem_open is not implemented")

        monkeypatch.setattr(figure_pool, "ProcessPoolExecutor", broken)
    pool = FigurePool(2, tmp_path)
    assert pool._pool is None  # no worker: everything is drawn here
    pool.submit(tmp_path / "a.png", "curves", _scores())
    assert [p.name for p, _ in pool.wait()] == ["a.png"]


def test_24_detectors_stay_apart_in_curves_and_the_runtime_plot() -> None:
    import pandas as pd
    from matplotlib.colors import to_hex

    n = 24
    styles = list(zip(map(to_hex, plots._palette(n)), plots._line_styles(n), strict=True))
    assert len(set(styles)) == n  # every curve its own (colour, line style)
    fig = plots.dataset_overview(_scores(n), title="t")
    roc = fig.axes[0]
    legend = roc.get_legend()
    assert legend is not None and len(legend.get_texts()) == n  # curves named
    assert fig.get_size_inches()[1] >= 9.0  # grows with the detectors
    summary = pd.DataFrame(
        {"seconds": np.linspace(0.01, 1, n), "value": np.linspace(0.8, 0.9, n), "family": "x"},
        index=[f"detector-{i}" for i in range(n)],
    )
    fig = plots.runtime_vs_metric(summary)
    key = "\n".join(t.get_text() for t in fig.axes[0].texts)
    assert all(f"detector-{i} " in key for i in range(n))  # names listed beside the axes
    labels = [t.get_text() for t in fig.axes[0].texts if t.get_text().isdigit()]
    assert sorted(map(int, labels)) == list(range(1, n + 1))  # points numbered


def test_figures_in_every_format_are_reused_together(tmp_path: Path) -> None:
    formats = (".png", ".pdf", ".svg")
    first, second = tmp_path / "first", tmp_path / "second"
    for out in (first, second):
        out.mkdir()
    pool = FigurePool(0, first, formats=formats)
    pool.submit(first / "a.png", "curves", _scores())
    pool.wait()
    assert {p.name for p in first.iterdir()} >= {"a.png", "a.pdf", "a.svg"}
    assert (first / "a.pdf").read_bytes().startswith(b"%PDF")
    assert b"<svg" in (first / "a.svg").read_bytes()[:2000]
    pool = FigurePool(0, second, previous=first, formats=formats)
    pool.submit(second / "a.png", "curves", _scores())
    assert pool.reused == 1
    pool.wait()
    for suffix in formats:
        assert (second / f"a{suffix}").read_bytes() == (first / f"a{suffix}").read_bytes()


def test_a_figure_may_have_its_own_formats(tmp_path: Path) -> None:
    """The report writes per-data-set figures as PNG only (unless --vector-all)."""
    pool = FigurePool(0, tmp_path, formats=(".png", ".pdf", ".svg"))
    pool.submit(tmp_path / "summary.png", "curves", _scores())
    pool.submit(tmp_path / "overview.png", "curves", _scores(), formats=(".png",))
    pool.wait()
    names = {p.name for p in tmp_path.iterdir() if not p.name.startswith(".")}
    assert names == {"summary.png", "summary.pdf", "summary.svg", "overview.png"}


def test_heatmap_scale_fits_the_values_and_runtime_lists_full_coverage_first() -> None:
    import pandas as pd

    from anobench.report.plots import charts

    means = pd.DataFrame({"a": [0.85, 0.99], "b": [0.95, float("nan")]}, index=["x", "y"])
    fig = charts.heatmap(means)
    assert fig.axes[0].collections[0].get_clim() == (0.85, 0.99)  # not 0-1
    summary = pd.DataFrame(
        {"seconds": [1.0, 2.0], "value": [0.7, 0.99], "family": ["c", "d"], "sets": [9, 2]},
        index=["full", "cae"],
    )
    summary.attrs["of"] = 9
    texts = [t.get_text() for t in charts.runtime_vs_metric(summary).axes[0].texts]
    assert texts[0] == "full" and texts[1] == "cae (2/9 sets)"
