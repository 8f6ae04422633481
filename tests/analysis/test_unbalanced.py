"""Incomplete data: Skillings-Mack, blocks Friedman drops, and who is counted where.

Skillings-Mack is the one statistic written here rather than called from scipy, so it
is checked three independent ways: a design worked by hand, Friedman (scipy) on
complete blocks, and its own permutation distribution on an incomplete design.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from analysis.descriptives import describe
from analysis.inference import friedman, skillings_mack
from analysis.screening import screen
from analysis.views import passage_view


def test_skillings_mack_of_a_design_worked_by_hand():
    # Block 1 ranks A, B, C as 1, 2, 3; block 2 rates A above B (C missing); block 3 rates
    # C above B (A missing); block 4 has one rating and drops out.
    #   A = (sqrt3 (-1, 0, 1)) + 2 (0.5, -0.5, 0) + 2 (0, -0.5, 0.5) = (1 - sqrt3, -2, 1 + sqrt3)
    #   lambda_AB = 2, lambda_AC = 1, lambda_BC = 2: S = [[3, -2, -1], [-2, 4, -2], [-1, -2, 3]]
    #   dropping C: (1/8) [[4, 2], [2, 3]] gives SM = (16 - 8 sqrt3 - 8 + 8 sqrt3 + 12) / 8 = 5/2
    values = np.array(
        [
            [0.10, 0.20, 0.30],
            [0.60, 0.40, np.nan],
            [np.nan, 0.35, 0.55],
            [np.nan, 0.50, np.nan],
        ]
    )
    statistic, p_value, df, used = skillings_mack(values)
    assert (df, used) == (2, 3)
    assert statistic == pytest.approx(2.5, rel=1e-12)
    assert p_value == pytest.approx(math.exp(-1.25), rel=1e-12)  # chi2(2) tail: exp(-x/2)


def test_skillings_mack_is_friedman_on_complete_blocks_with_ties():
    rng = np.random.default_rng(4)
    values = np.round(rng.normal(0.5, 0.08, (30, 5)) + [0.0, 0.02, 0.05, 0.0, -0.03], 1)
    assert any(len(set(row)) < 5 for row in values)  # one decimal: ties in many blocks
    statistic, p_value, df, used = skillings_mack(values)
    direct = stats.friedmanchisquare(*values.T)
    assert (df, used) == (4, 30)
    assert statistic == pytest.approx(direct.statistic, rel=1e-12)
    assert p_value == pytest.approx(direct.pvalue, rel=1e-9)


def test_skillings_mack_without_ties_is_the_published_lambda_form():
    rng = np.random.default_rng(8)
    n, k = 20, 4
    values = rng.uniform(0, 1, (n, k))
    values[np.arange(0, n, 2), rng.integers(0, k, n // 2)] = np.nan
    observed = ~np.isnan(values)
    a = np.zeros(k)
    lam = np.zeros((k, k))
    for row, seen in zip(values, observed):
        k_i = seen.sum()
        ranks = stats.rankdata(row[seen])
        a[seen] += math.sqrt(12 / (k_i + 1)) * (ranks - (k_i + 1) / 2)
        lam += np.outer(seen, seen)
    sigma = -lam
    np.fill_diagonal(sigma, 0)
    np.fill_diagonal(sigma, -sigma.sum(axis=1))
    expected = a[:-1] @ np.linalg.solve(sigma[:-1, :-1], a[:-1])
    statistic, p_value, df, _ = skillings_mack(values)
    assert df == k - 1
    assert statistic == pytest.approx(expected, rel=1e-10)
    assert p_value == pytest.approx(stats.chi2.sf(expected, k - 1), rel=1e-9)


def test_skillings_mack_p_value_follows_its_permutation_distribution():
    rng = np.random.default_rng(2)
    n, k = 24, 4
    values = np.round(rng.normal(0.5, 0.1, (n, k)) + 0.025 * np.arange(k), 2)
    missing = rng.random(n) < 0.5
    values[np.flatnonzero(missing), rng.integers(0, k, missing.sum())] = np.nan
    statistic, p_value, _, _ = skillings_mack(values)
    observed = ~np.isnan(values)
    null = np.empty(1000)
    for r in range(len(null)):
        shuffled = values.copy()
        for i in range(n):  # under H0 every order within a block is equally likely
            cells = np.flatnonzero(observed[i])
            shuffled[i, cells] = rng.permutation(shuffled[i, cells])
        null[r] = skillings_mack(shuffled)[0]
    p_permutation = (np.sum(null >= statistic * (1 - 1e-12)) + 1) / (len(null) + 1)
    assert 0.01 < p_value < 0.5  # a p-value where the approximation matters
    assert p_value == pytest.approx(p_permutation, abs=0.03)


def test_every_rating_equal_gives_no_evidence():
    assert skillings_mack(np.full((4, 3), 0.5)) == (0.0, 1.0, 0, 4)
    statistic, p_value, _, used = skillings_mack([[0.5, np.nan, np.nan]])
    assert np.isnan(statistic) and np.isnan(p_value) and used == 0


def _incomplete_panel(make_panel):
    """Six raters, three passages, four methods; r2 skips mono on p02, r5 fails screening."""
    rng = np.random.default_rng(11)
    raters = {
        f"r{i}": {
            "target": list(np.round(rng.uniform(0.91, 1.0, 3), 2)),
            "console": list(np.round(rng.uniform(0.4, 0.9, 3), 2)),
            "mono": list(np.round(rng.uniform(0.2, 0.7, 3), 2)),
            "anchor_3k5": list(np.round(rng.uniform(0.0, 0.3, 3), 2)),
        }
        for i in range(6)
    }
    raters["r5"]["target"] = [0.5, 0.4, 0.95]  # 2 of 3 below 0.9: excluded
    ratings = make_panel(raters, filler={})
    gone = (ratings["rater_id"] == "r2") & (ratings["passage_id"] == "drums-p02")
    gone &= ratings["method"] == "mono"
    return ratings.loc[~gone].reset_index(drop=True)


def test_friedman_says_how_many_blocks_it_dropped_and_skillings_mack_keeps_them(make_panel):
    kept = screen(_incomplete_panel(make_panel)).ratings
    row = friedman(kept).set_index("task").loc["drums"]
    assert (row["blocks"], row["dropped_blocks"], row["sm_blocks"]) == (14, 1, 15)
    complete = friedman(kept.loc[kept["passage_id"] != "drums-p02"]).iloc[0]
    assert complete["dropped_blocks"] == 0
    assert complete["sm_statistic"] == pytest.approx(complete["statistic"], rel=1e-12)
    assert complete["p_sm"] == pytest.approx(complete["p_value"], rel=1e-9)


def test_passages_count_the_raters_they_test(make_panel):
    kept = screen(_incomplete_panel(make_panel)).ratings
    view = passage_view(kept).set_index("passage_id")
    assert view.loc["drums-p02", "raters"] == 4  # r2 skipped mono there: not in W and p
    assert view.loc["drums-p01", "raters"] == 5
    assert kept.loc[kept["passage_id"] == "drums-p02", "rater_id"].nunique() == 5
    # The means still use every rating of the passage.
    p02 = kept.loc[kept["passage_id"] == "drums-p02"]
    assert view.loc["drums-p02", "console"] == pytest.approx(
        p02.loc[p02["method"] == "console", "rating"].mean()
    )


def test_descriptives_count_the_raters_of_each_method_after_screening(make_panel):
    ratings = _incomplete_panel(make_panel)
    ratings = ratings.loc[~((ratings["rater_id"] == "r3") & (ratings["method"] == "mono"))]
    result = screen(ratings)
    assert result.excluded == ["r5"]
    table = describe(result.ratings, n_resamples=200).set_index("method")
    assert table.loc["console", "raters"] == 5  # r5 screened out
    assert table.loc["mono", "raters"] == 4  # and r3 never rated mono
    assert table.loc["mono", "ratings"] == 4 * 3 - 1  # r2 skipped one passage
