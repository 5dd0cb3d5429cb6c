"""Statistics (bootstrap CIs, standings, Friedman, post-hoc) and the plot functions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from scipy import stats as sps

from anobench.report.plots import charts as plots
from anobench.report.render.statistics import describe
from anobench.results import effects, stats


def matrix(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    m = pd.DataFrame(
        rng.uniform(0.5, 0.8, size=(4, 10)),
        index=["a", "b", "c", "d"],
        columns=[f"set{i}" for i in range(10)],
    )
    m.loc["a"] += 0.35  # best everywhere
    return m


def test_bootstrap_ci_is_seeded_and_covers_the_mean() -> None:
    values = np.array([0.6, 0.7, 0.8, 0.9, 0.75])
    low, high = effects.bootstrap_mean_ci(values, seed=3)
    assert (low, high) == effects.bootstrap_mean_ci(values, seed=3)
    assert low < values.mean() < high
    assert np.isnan(effects.bootstrap_mean_ci(np.array([0.7]))[0])
    assert effects.bootstrap_mean_ci(np.array([0.5, 0.5, 0.5])) == (0.5, 0.5)


def test_standings_and_summary_rank_only_full_coverage() -> None:
    # y has no value on s2: it is listed apart, not ranked on the one set where it ran
    m = pd.DataFrame({"s1": [0.9, 0.8, 0.7], "s2": [0.5, np.nan, 0.6]}, index=["x", "y", "z"])
    st = stats.standings(m)
    assert st.ranked == ["x", "z"] and st.apart == {"y": "1/2 sets"}
    assert st.ranks.loc["x", "s1"] == 1 and st.ranks.loc["z", "s2"] == 1
    s = stats.summary(m)
    assert list(s.index) == ["x", "z", "y"] and not s.loc["y", "ranked"]
    assert s.loc["y", "n_datasets"] == 1 and np.isnan(s.loc["y", "avg_rank"])
    assert s.loc["y", "mean_covered"] == pytest.approx(0.8) and np.isnan(s.loc["y", "mean"])
    assert s.loc["x", "avg_rank"] == 1.5 and s.loc["x", "of"] == 2


def test_friedman_matches_scipy_and_posthoc_finds_the_best() -> None:
    m = matrix()
    comp = stats.rank_test(m)
    expected = sps.friedmanchisquare(*m.to_numpy())
    assert comp.statistic == pytest.approx(expected.statistic)
    assert comp.p_value == pytest.approx(expected.pvalue)
    assert comp.avg_ranks.index[0] == "a" and comp.avg_ranks["a"] == 1.0
    better = {(a, b) for a, b, _ in comp.significant_pairs()}
    assert {("a", "b"), ("a", "c"), ("a", "d")} <= better
    assert np.allclose(comp.pvalues.to_numpy(), comp.pvalues.to_numpy().T)
    nemenyi = stats.rank_test(m, method="nemenyi")
    assert nemenyi.pvalues.shape == (4, 4)
    with pytest.raises(ValueError, match="unknown post-hoc"):
        stats.rank_test(m, method="t-test")


def test_low_coverage_detectors_leave_the_test_and_are_named() -> None:
    m = matrix()
    m.loc["d", ["set0", "set1", "set2", "set3", "set4", "set5", "set6"]] = np.nan
    m.loc["c", "set9"] = np.nan
    comp = stats.rank_test(m)  # default: ranked = covers every data set
    assert "3/10" in comp.excluded["d"] and "9/10" in comp.excluded["c"]
    assert comp.detectors == ["a", "b"] and len(comp.datasets) == 10
    assert "Not ranked: c" in describe(comp)
    half = stats.rank_test(m, min_coverage=0.5)  # c ranked, last on set9 where it failed
    assert set(half.detectors) == {"a", "b", "c"} and "d" in half.excluded
    assert half.datasets == [f"set{i}" for i in range(10)]
    assert stats.standings(m, min_coverage=0.5).ranks.loc["c", "set9"] == 3.0
    tiny = stats.rank_test(m[["set0"]])
    assert not tiny.testable and "No test" in describe(tiny)


def test_plot_functions_return_figures() -> None:
    rng = np.random.default_rng(0)
    m = matrix()
    y = np.r_[np.zeros(50), np.ones(10)].astype(int)
    scores = {"a": (y, y + rng.normal(size=60)), "b": (y, rng.normal(size=60))}
    comp = stats.rank_test(m)
    summary = pd.DataFrame(
        {
            "seconds": [0.1, 2.0, 0.5, 1.0],
            "value": [0.9, 0.7, 0.6, 0.65],
            "family": ["classical", "deep", "deep", "classical"],
        },
        index=m.index,
    )
    images = rng.uniform(size=(6, 8, 8, 1))
    figures = [
        plots.heatmap(m),
        plots.rank_distribution(m),
        plots.runtime_vs_metric(summary),
        plots.curves(scores, title="t"),
        plots.score_distributions(scores),
        plots.reconstruction_grid(images, images * 0.9, rng.normal(size=6), y[:6]),
        plots.latent_view(rng.normal(size=(60, 5)), y),
        plots.latent_view(rng.normal(size=(60, 1)), y),
        plots.cd_diagram(comp.avg_ranks, comp.pvalues),
    ]
    for fig in figures:
        assert isinstance(fig, Figure) and fig.axes
        plots.save(fig, "/dev/null")
