"""Analysis bugs that would pass unnoticed: the anchor-exemption boundary, incomplete blocks.

Both were found by mutation testing (``benchmarks/bench_mutation.py``): moving the 25 %
exemption anywhere below 50 %, or letting Friedman keep a block with a missing cell,
passed every other test, and each would change a published result without an error.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analysis.inference import block_table, friedman, pairwise_wilcoxon
from analysis.screening import screen


def _anchor_panel(raters: int, high: int) -> dict:
    """``raters`` raters, four items; the first ``high`` rate the mid anchor 0.95 on item 1 only."""
    return {
        f"r{i:02d}": {
            "target": [1.0] * 4,
            "anchor_7k": [0.95 if i < high else 0.4, 0.4, 0.4, 0.4],
        }
        for i in range(raters)
    }


@pytest.mark.parametrize(
    "raters, high, exempt",
    [
        (8, 2, False),  # exactly 25 %: the rule still applies
        (7, 2, True),  # 28.6 %
        (50, 13, True),  # 26 %: just above the boundary
    ],
)
def test_anchor_exemption_starts_just_above_a_quarter_of_the_raters(
    make_panel, raters, high, exempt
):
    result = screen(make_panel(_anchor_panel(raters, high)))
    items = result.exempt_items[["passage_id", "raters", "above"]].values.tolist()
    assert items == ([["drums-p01", raters, high]] if exempt else [])
    # Not exempt, the high item is 1 of 4 (25 % > 15 %) for each high rater: all excluded.
    assert result.excluded == ([] if exempt else [f"r{i:02d}" for i in range(high)])
    anchor_items = result.report.set_index("rater_id").loc["r00", "anchor_items"]
    assert anchor_items == (3 if exempt else 4)


def _panel_with_a_missing_cell(make_panel):
    rng = np.random.default_rng(11)
    raters = {
        f"r{i}": {
            "target": list(rng.uniform(0.85, 1.0, 3)),
            "console": list(rng.uniform(0.4, 0.9, 3)),
            "mono": list(rng.uniform(0.2, 0.7, 3)),
            "anchor_3k5": list(rng.uniform(0.0, 0.3, 3)),
        }
        for i in range(6)
    }
    ratings = make_panel(raters, filler={})
    missing = (ratings["rater_id"] == "r2") & (ratings["passage_id"] == "drums-p02")
    missing &= ratings["method"] == "mono"
    assert missing.sum() == 1
    return ratings.loc[~missing].reset_index(drop=True)


def test_friedman_drops_an_incomplete_block_and_stays_finite(make_panel):
    ratings = _panel_with_a_missing_cell(make_panel)
    result = friedman(ratings).set_index("task").loc["drums"]
    assert (result["blocks"], result["methods"]) == (17, 4)  # 6 x 3 blocks, one incomplete
    assert np.isfinite(result["statistic"]) and 0.0 <= result["p_value"] <= 1.0
    complete = block_table(ratings, "drums").dropna()
    assert len(complete) == 17 and ("r2", "drums-p02") not in complete.index
    direct = stats.friedmanchisquare(*(complete[m].to_numpy() for m in complete.columns))
    assert result["statistic"] == pytest.approx(direct.statistic)
    assert result["p_value"] == pytest.approx(direct.pvalue)
    # Wilcoxon keeps the block for every pair whose two cells are there.
    pairs = pairwise_wilcoxon(ratings).set_index(["method_a", "method_b"])["blocks"]
    assert pairs[("target", "console")] == 18 and pairs[("console", "mono")] == 17
