"""Rank statistics on the ratings' own grid: equal differences and means tie exactly.

Ratings sit on the slider's 0.01 grid, but ``0.72 - 0.65`` and ``0.78 - 0.71`` are two
different binary floats. Each test here first checks that its data really holds such
float-split ties (so it could fail), then that the analysis gives what scipy gives on
the integer hundredths.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.grid import Grid
from analysis.inference import friedman, pairwise_wilcoxon, permutation_tests, rank_biserial
from analysis.ratings import read_ratings_file
from analysis.screening import screen
from analysis.simulate import PanelModel, simulate_panel
from analysis.views import agreement, passage_view, rater_view

# Four raters x three passages = 12 blocks; console - mono is 0.07 in nine of them.
CONSOLE = [0.72, 0.78, 0.65, 0.30, 0.55, 0.90, 0.41, 0.60, 0.83, 0.47, 0.50, 0.66]
MONO = [0.65, 0.71, 0.58, 0.30, 0.48, 0.83, 0.44, 0.53, 0.76, 0.40, 0.43, 0.73]


def _tied_panel(make_panel):
    raters = {
        f"r{i}": {"console": CONSOLE[3 * i : 3 * i + 3], "mono": MONO[3 * i : 3 * i + 3]}
        for i in range(4)
    }
    return make_panel(raters, filler={"target": 1.0})


def test_grid_is_found_from_the_data():
    assert Grid.of([0.72, 0.65, 1.0, 0.0]).scale == 100
    assert Grid.of([0.5, 1.0]).scale == 100  # coarser grids are read on the slider's
    assert Grid.of([0.723, 0.65]).scale == 1000
    assert Grid.of(np.random.default_rng(0).uniform(0, 1, 50)).scale is None
    grid = Grid(100)
    assert grid.units([0.72, 0.65]).tolist() == [72.0, 65.0]
    assert grid.ratings(72.0) == 0.72  # the float "0.72" reads as, not 72 * 0.01
    # (0.1 + 0.2) / 2 and (0.15 + 0.15) / 2 as floats differ; as steps they are equal.
    assert (0.1 + 0.2) / 2 != (0.15 + 0.15) / 2
    assert Grid.difference(10 + 20, 2, 15 + 15, 2) == 0.0
    assert Grid.difference(72 + 65, 2, 71, 1) == Grid.difference(78 + 59, 2, 71, 1)


def test_wilcoxon_statistic_p_and_rank_biserial_equal_scipy_on_integer_differences(make_panel):
    x, y = np.array(CONSOLE), np.array(MONO)
    integer = np.array([round(a * 100) - round(b * 100) for a, b in zip(CONSOLE, MONO)])
    # The trap is real: equal hundredths, different floats, so float ranks split ties.
    assert len(set(integer.tolist())) < len(set((x - y).tolist()))
    assert stats.wilcoxon(x, y).pvalue != pytest.approx(stats.wilcoxon(integer).pvalue, rel=1e-6)

    row = pairwise_wilcoxon(_tied_panel(make_panel)).set_index(["method_a", "method_b"])
    row = row.loc[("console", "mono")]
    direct = stats.wilcoxon(integer)
    assert row["blocks"] == 12
    assert row["statistic"] == direct.statistic
    assert row["p_value"] == pytest.approx(direct.pvalue, rel=1e-9, abs=0)
    # Kerby's r from scipy's own rank sum of the positive differences.
    nonzero = integer[integer != 0]
    r_plus = stats.wilcoxon(integer, alternative="greater").statistic
    expected = 2 * r_plus / (nonzero.size * (nonzero.size + 1) / 2) - 1
    assert row["rank_biserial"] == pytest.approx(expected, rel=1e-12)
    assert rank_biserial(integer) == pytest.approx(expected, rel=1e-12)
    assert row["median_difference"] == pytest.approx(0.07)


def _shiftable_panel() -> pd.DataFrame:
    """A 0.01-grid panel below 0.9 with incomplete blocks and a passage rated twice."""
    ratings = simulate_panel(10, seed=5, model=PanelModel(resolution=0.01)).ratings
    ratings = ratings.loc[~ratings["is_training"]].reset_index(drop=True)
    ratings["rating"] = np.round(ratings["rating"] * 90) / 100  # 0..0.9 on the grid
    rng = np.random.default_rng(1)
    gone = rng.choice(len(ratings), 25, replace=False)
    ratings = ratings.drop(index=gone)
    again = ratings.loc[ratings["trial_id"] == "drums:drums-p03"].copy()
    again["trial_id"] = "drums:drums-p03:again"
    again["rating"] = np.round(
        np.clip(again["rating"] + rng.integers(-5, 6, len(again)) / 100, 0, 0.9), 2
    )
    return pd.concat([ratings, again], ignore_index=True)


def _p_values(ratings: pd.DataFrame) -> dict[str, np.ndarray]:
    wilcoxon = pairwise_wilcoxon(ratings)
    table = friedman(ratings)
    return {
        "wilcoxon_p": wilcoxon["p_value"].to_numpy(),
        "wilcoxon_statistic": wilcoxon["statistic"].to_numpy(),
        "rank_biserial": wilcoxon["rank_biserial"].to_numpy(),
        "friedman_p": table["p_value"].to_numpy(),
        "skillings_mack_p": table["p_sm"].to_numpy(),
        "permutation_p": permutation_tests(ratings, n_resamples=400)["p_value"].to_numpy(),
        "agreement_p": agreement(ratings)["p_value"].to_numpy(),
        "passages_p": passage_view(ratings)["p_value"].to_numpy(),
        "consensus_rho": rater_view(ratings)["consensus_rho"].to_numpy(),
    }


def test_adding_a_tenth_to_every_rating_changes_no_p_value():
    ratings = _shiftable_panel()
    shifted = ratings.assign(rating=ratings["rating"] + 0.1)
    assert shifted["rating"].max() <= 1.0

    # The shift changes binary rounding: scipy on the float differences gives other p-values.
    def float_p_values(frame):
        wide = frame.loc[frame["task"] == "drums"].pivot_table(
            index="trial_id", columns=["rater_id", "method"], values="rating"
        )
        wide = wide.stack("rater_id", future_stack=True)
        return [
            stats.wilcoxon(*wide[[a, b]].dropna().to_numpy().T).pvalue
            for a, b in [("console", "mono"), ("console", "random"), ("random", "mono")]
        ]

    assert float_p_values(ratings) != float_p_values(shifted)

    original, moved = _p_values(ratings), _p_values(shifted)
    for name, values in original.items():
        np.testing.assert_array_equal(values, moved[name], err_msg=name)
    assert np.isfinite(original["skillings_mack_p"]).all()


def test_rater_means_that_are_equal_tie_in_kendalls_w(make_panel):
    # r0's console mean (0.1 + 0.2) / 2 equals its mono mean (0.15 + 0.15) / 2.
    raters = {
        "r0": {"console": [0.1, 0.2], "mono": [0.15, 0.15], "random": [0.9, 0.9]},
        "r1": {"console": [0.6, 0.7], "mono": [0.3, 0.2], "random": [0.5, 0.4]},
        "r2": {"console": [0.8, 0.6], "mono": [0.1, 0.3], "random": [0.4, 0.4]},
    }
    table = agreement(make_panel(raters, filler={})).set_index("task").loc["drums"]
    sums = np.array(
        [
            [round(sum(v) * 100) for v in (r["console"], r["mono"], r["random"])]
            for r in raters.values()
        ]
    )
    direct = stats.friedmanchisquare(*sums.T)
    assert table["chi2"] == pytest.approx(direct.statistic, rel=1e-12)
    assert table["p_value"] == pytest.approx(direct.pvalue, rel=1e-12)
    assert table["kendalls_w"] == pytest.approx(direct.statistic / (3 * 2), rel=1e-12)


def test_every_wilcoxon_p_of_a_slider_export_equals_scipy_on_integer_differences(
    write_csv,
):
    """The issue's criterion on a 20-rater export on the slider's grid, read back from CSV."""
    panel = simulate_panel(20, seed=11, model=PanelModel(resolution=0.01)).ratings
    kept = screen(read_ratings_file(write_csv(panel))).ratings
    table = pairwise_wilcoxon(kept)
    worst, tested = 0.0, 0
    for row in table.itertuples():
        rows = kept.loc[kept["task"] == row.task].set_index(["rater_id", "passage_id"])
        a = rows.loc[rows["method"] == row.method_a, "rating"]
        b = rows.loc[rows["method"] == row.method_b, "rating"]
        both = a.index.intersection(b.index)
        d = np.rint(a[both].to_numpy() * 100) - np.rint(b[both].to_numpy() * 100)
        direct = stats.wilcoxon(d.astype(int))
        worst = max(worst, abs(row.p_value - direct.pvalue) / direct.pvalue)
        assert row.statistic == direct.statistic
        tested += 1
    assert tested == len(table) == 36
    assert worst <= 1e-9
