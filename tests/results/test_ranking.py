"""One ranking that failures never improve; tests that know their power; effect sizes
(probability of improvement, stratified bootstrap) on hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from anobench.report.render.board_layout import format_leaderboard
from anobench.report.render.statistics import describe, summary_rows
from anobench.results import effects, stats
from anobench.results.leaderboard import leaderboard

SETS = [f"s{i}" for i in range(8)]
HARD = ["s5", "s6", "s7"]  # the hardest data sets: every detector scores lowest there


def hard_matrix() -> pd.DataFrame:
    """6 detectors x 8 data sets; ``p`` is first on the easy sets and 4th of 6 on the
    hard ones (bad values, but not the worst)."""
    base = np.array([0.95, 0.93, 0.9, 0.92, 0.94, 0.6, 0.55, 0.5])
    offsets = {"a": 0.03, "b": 0.02, "c": 0.01, "d": -0.01, "e": -0.02}
    m = pd.DataFrame({d: base + o for d, o in offsets.items()}, index=SETS).T
    m.loc["p"] = base + 0.04
    m.loc["p", HARD] = base[5:]  # between c (+0.01) and d (-0.01)
    return m


def tidy(means: pd.DataFrame, seeds: int = 2, failed: dict[str, list[str]] | None = None):
    """A results frame whose per-seed values average to ``means``; ``failed`` cells time
    out on every seed; NaN cells are skipped."""
    rows = []
    for det, row in means.iterrows():
        for ds, value in row.items():
            for seed in range(seeds):
                fail = ds in (failed or {}).get(str(det), [])
                status = "timeout" if fail else "skipped" if np.isnan(value) else "ok"
                rows.append(
                    dict(
                        label=det,
                        dataset=ds,
                        protocol="novelty",
                        seed=seed,
                        status=status,
                        roc_auc=value + (0.01 if seed else -0.01) if status == "ok" else None,
                    )
                )
    return pd.DataFrame(rows)


def test_failing_on_the_hardest_sets_never_improves_a_rank() -> None:
    with_values = hard_matrix()
    failing = with_values.copy()
    failing.loc["p", HARD] = np.nan
    for cov in (0.5, 0.6):
        kept = stats.standings(with_values, min_coverage=cov).avg_rank["p"]
        dropped = stats.standings(failing, min_coverage=cov).avg_rank["p"]
        assert dropped >= kept  # "rank where it ran" gave 1.00 (failing) vs 2.12
    assert stats.standings(failing, min_coverage=0.5).ranks.loc["p", HARD].eq(6).all()
    # default: full coverage or not ranked; it can never top the table
    st = stats.standings(failing)
    assert "p" not in st.ranked and st.apart["p"] == "5/8 sets"
    assert st.ranked[0] == "a"


def test_failing_on_the_hardest_sets_via_the_leaderboard() -> None:
    means = hard_matrix()
    ran = leaderboard(tidy(means), "roc_auc", "novelty", min_coverage=0.5)
    failed = leaderboard(tidy(means, failed={"p": HARD}), "roc_auc", "novelty", min_coverage=0.5)
    assert failed.loc["p", "avg_rank"] >= ran.loc["p", "avg_rank"]
    assert failed.loc["p", "missing"] == "6 timeout"
    default = leaderboard(tidy(means, failed={"p": HARD}), "roc_auc", "novelty")
    assert list(default.index)[-1] == "p" and not default.loc["p", "ranked"]
    assert np.isnan(default.loc["p", "avg_rank"]) and np.isnan(default.loc["p", "mean"])
    line = next(r for r in format_leaderboard(default).splitlines() if r.startswith("| p "))
    assert "not ranked" in line and "5/8" in line and "6 timeout" in line
    assert f"({means.loc['p', SETS[:5]].mean():.3f})" in line  # marked, not comparable


def test_a_plugin_with_one_result_is_listed_apart_with_its_coverage() -> None:
    m = hard_matrix()
    m.loc["plugin"] = np.nan
    m.loc["plugin", "s0"] = 1.0
    table = leaderboard(tidy(m), "roc_auc", "novelty")
    assert table.index[0] == "a" and table.index[-1] == "plugin"
    text = format_leaderboard(table)
    assert "not ranked" in text and "1/8" in text
    assert "over the 8 data sets every ranked detector covers" in text
    assert "detectors covering fewer are listed apart" in text


def test_one_rank_definition_everywhere() -> None:
    m = hard_matrix()
    m.loc["q"] = m.loc["b"] - 0.005
    m.loc["q", "s3"] = np.nan
    table = leaderboard(tidy(m), "roc_auc", "novelty")
    means = table[table.attrs["datasets"]]
    comp = stats.rank_test(means)
    summary = stats.summary(means)
    ranked = table[table["ranked"]]
    assert list(ranked.index) == comp.detectors == list(comp.avg_ranks.index)
    assert np.allclose(ranked["avg_rank"], comp.avg_ranks[ranked.index])
    assert np.allclose(summary.loc[ranked.index, "avg_rank"], ranked["avg_rank"])
    assert np.allclose(summary.loc[ranked.index, "mean"], ranked["mean"])
    assert comp.excluded == {"q": "values on 7/8 sets"}
    assert stats.standings(means).ranks.mean(axis=1).equals(stats.standings(means).avg_rank)


def test_saturated_data_sets_are_flagged() -> None:
    m = hard_matrix()
    m["sat"] = [0.995, 1.0, 0.991, 0.999, 0.992, 0.993]
    st = stats.standings(m)
    assert st.saturated == ["sat"]
    m.loc["e", "sat"] = 0.98
    assert stats.standings(m).saturated == []
    m.loc["e", "sat"] = 0.991
    table = leaderboard(tidy(m), "roc_auc", "novelty")
    header = format_leaderboard(table).splitlines()[0]
    assert "sat ‡" in header and "s0 ‡" not in header
    assert "‡ saturated" in format_leaderboard(table)
    assert "Saturated data sets" in describe(stats.rank_test(m))


def test_std_uses_ddof_1_and_one_seed_says_n_1() -> None:
    frame = pd.DataFrame(
        [
            dict(label="x", dataset="d", protocol="novelty", seed=s, status="ok", roc_auc=v)
            for s, v in enumerate([0.8, 0.9, 0.95])
        ]
        + [dict(label="y", dataset="d", protocol="novelty", seed=0, status="ok", roc_auc=0.912)]
        + [
            dict(label="y", dataset="d", protocol="novelty", seed=s, status=st, roc_auc=None)
            for s, st in ((1, "oom"), (2, "missing"))
        ]
    )
    table = leaderboard(frame, "roc_auc", "novelty")
    assert table.loc["x", "d:std"] == pytest.approx(np.std([0.8, 0.9, 0.95], ddof=1))
    text = format_leaderboard(table)
    assert f"0.883 ± {np.std([0.8, 0.9, 0.95], ddof=1):.3f}" in text
    assert "0.912 (n=1) (1/3 ok)" in text and "± 0.000" not in text
    assert table.loc["y", "missing"] == "1 oom, 1 missing"


def test_min_adjusted_p_knows_what_8_data_sets_can_show() -> None:
    # 23 detectors = 253 pairs; 8 same-sign, equal-size differences give scipy's smallest
    # approximate p (tie-corrected z = sqrt(8)): 0.0047, x 253 > 1
    single = sps.wilcoxon(np.ones(8), zero_method="zsplit", method="approx").pvalue
    distinct = sps.wilcoxon(np.arange(1.0, 9.0), zero_method="zsplit", method="approx").pvalue
    assert single < distinct  # ties make the approximate p smaller: the bound must use them
    assert stats.min_adjusted_p("wilcoxon-holm", 8, 23) == 1.0
    assert single * 253 > 1
    assert stats.min_adjusted_p("wilcoxon-holm", 20, 3) == pytest.approx(
        3 * sps.wilcoxon(np.ones(20), zero_method="zsplit", method="approx").pvalue
    )
    # the reviewer's case: 4 data sets, a always 0.25 above b: no p may beat the bound
    four = stats.rank_test(pd.DataFrame([[1.0] * 4, [0.75] * 4], index=["a", "b"]))
    assert four.pvalues.loc["a", "b"] >= four.min_adjusted_p - 1e-12
    rng = np.random.default_rng(0)
    m = pd.DataFrame(rng.uniform(0.5, 1.0, (23, 8)), columns=SETS)
    m.iloc[0] = 1.0  # the best on every set still cannot be told apart
    comp = stats.rank_test(m)
    assert comp.min_adjusted_p == 1.0 and not comp.can_detect
    assert (comp.pvalues.to_numpy() >= comp.min_adjusted_p - 1e-12).all()
    text = describe(comp)
    assert "With 8 data sets and 253 pair(s)" in text
    assert "no pair can be significant at alpha = 0.05" in text and "forced" in text
    assert f"at least {stats.sets_needed('wilcoxon-holm', 23)} data sets" in text
    assert stats.min_adjusted_p("wilcoxon-holm", stats.sets_needed("wilcoxon-holm", 23), 23) < 0.05
    few = stats.rank_test(m.iloc[:3])  # 3 pairs: 3 x 0.0047 < 0.05
    assert few.min_adjusted_p == pytest.approx(3 * single) and few.can_detect
    assert "a pair can be significant" in describe(few)


def test_wilcoxon_approx_matches_scipy_and_holm_matches_statsmodels() -> None:
    x = np.array([0.9, 0.8, 0.7, 0.85, 0.6, 0.75, 0.72, 0.9])
    y = np.array([0.8, 0.8, 0.72, 0.8, 0.5, 0.7, 0.7, 0.95])  # a zero and ties in |d|
    z = np.array([0.5, 0.6, 0.65, 0.7, 0.4, 0.6, 0.66, 0.7])
    pair = stats.rank_test(pd.DataFrame([x, y], index=["x", "y"], columns=SETS))
    expected = sps.wilcoxon(x, y, zero_method="zsplit", method="approx").pvalue
    assert pair.pvalues.loc["x", "y"] == pytest.approx(expected)
    three = stats.rank_test(pd.DataFrame([x, y, z], index=["x", "y", "z"], columns=SETS))
    raw = [
        sps.wilcoxon(a, b, zero_method="zsplit", method="approx").pvalue
        for a, b in ((x, y), (x, z), (y, z))
    ]
    holm = multipletests(raw, method="holm")[1]
    got = [three.pvalues.loc[a, b] for a, b in (("x", "y"), ("x", "z"), ("y", "z"))]
    assert np.allclose(got, holm)


def test_probability_of_improvement_by_hand() -> None:
    x = np.array([[0.9, 0.8], [0.7, 0.75]])
    assert effects.probability_of_improvement(x, x - 0.2) == 1.0  # every seed beats every one
    assert effects.probability_of_improvement(x, x) == 0.5
    # set 1: 0.9>0.7, 0.9>0.5, 0.5<0.7, 0.5=0.5 -> 2.5/4; set 2: only 0.2=0.2 -> 0.5/4
    a = np.array([[0.9, 0.5], [0.1, 0.2]])
    b = np.array([[0.7, 0.5], [0.3, 0.2]])
    assert effects.probability_of_improvement(a, b) == pytest.approx((0.625 + 0.125) / 2)
    assert effects.probability_of_improvement(b, a) == pytest.approx(1 - 0.375)
    # a failed seed is left out; a data set without values of both is left out
    c = np.array([[0.9, np.nan], [np.nan, np.nan]])
    assert effects.probability_of_improvement(c, b) == 1.0
    matrix = effects.poi_matrix({"a": a, "b": b, "x": x})
    assert matrix.loc["a", "b"] == pytest.approx(0.375) and matrix.loc["a", "a"] == 0.5
    assert np.allclose(matrix + matrix.T, 1.0)


def test_stratified_bootstrap_is_seeded_and_resamples_sets_and_seeds() -> None:
    rng = np.random.default_rng(1)
    values = rng.uniform(0.6, 0.9, size=(8, 3))
    values[2, 1] = np.nan  # a failed seed
    ci = effects.bootstrap_mean_ci(values, seed=7)
    assert ci == effects.bootstrap_mean_ci(values, seed=7)
    assert ci != effects.bootstrap_mean_ci(values, seed=8)
    assert ci[0] < np.nanmean(np.nanmean(values, axis=1)) < ci[1]
    # seeds are resampled too: one data set with seed spread still has a spread
    one_set_twice = np.array([[0.5, 0.9], [0.5, 0.9]])
    low, high = effects.bootstrap_mean_ci(one_set_twice, seed=0)
    assert low < 0.7 < high
    poi = effects.poi_ci(values, values - 0.05, seed=3)
    assert poi == effects.poi_ci(values, values - 0.05, seed=3) and poi[1] <= 1.0
    assert effects.poi_ci(values, values - 0.5, seed=3) == (1.0, 1.0)


def test_seed_values_and_summary_effect_sizes() -> None:
    frame = tidy(hard_matrix(), seeds=3, failed={"e": ["s1"]})
    seeds = effects.seed_values(frame, "roc_auc")
    assert seeds["a"].shape == (8, 3) and seeds["e"].loc["s1"].isna().all()
    table = leaderboard(frame, "roc_auc", "novelty")
    means = table[table.attrs["datasets"]]
    summary = stats.summary(means, seeds=seeds)
    assert summary.equals(stats.summary(means, seeds=seeds))  # seeded
    leader = summary.index[0]
    assert summary.loc[leader, "poi_leader"] == 0.5
    worst = summary[summary["ranked"]].index[-1]
    assert summary.loc[worst, "poi_leader"] > 0.5
    assert summary.loc[worst, "poi_low"] <= summary.loc[worst, "poi_leader"]
    assert not summary.loc["e", "ranked"] and np.isnan(summary.loc["e", "poi_leader"])
    headers, rows, notes = summary_rows(summary, None)
    assert "P(leader > it) [95% CI]" in headers and rows[0][4] == "(leader)"
    assert any("not comparable" in n for n in notes)
    assert any("not ranked" in r for r in rows)
