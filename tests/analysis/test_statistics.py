"""Every statistic checked against a direct scipy/statsmodels call on independently built data."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from analysis.descriptives import bootstrap_mean_ci, describe
from analysis.inference import (
    block_table,
    friedman,
    holm,
    pairwise_wilcoxon,
    permutation_pvalues,
    permutation_tests,
    rank_biserial,
)
from analysis.screening import screen
from analysis.views import agreement, kendalls_w, passage_view, rater_view
from dmc.contracts.conditions import BUILT_IN_METHODS as METHODS


@pytest.fixture(scope="module")
def kept(request):
    from analysis.simulate import simulate_panel

    return screen(simulate_panel(12, seed=3).ratings).ratings


def _blocks(ratings, task):
    """(rater, passage) -> {method: rating}, built without pandas reshaping."""
    blocks = {}
    for row in ratings.loc[ratings["task"] == task].itertuples():
        blocks.setdefault((row.rater_id, row.passage_id), {})[row.method] = row.rating
    return blocks


def test_block_table_matches_rows(kept):
    table = block_table(kept, "drums")
    blocks = _blocks(kept, "drums")
    assert len(table) == len(blocks)
    assert list(table.columns) == [
        m for m in METHODS if m in set(kept.loc[kept["task"] == "drums", "method"])
    ]
    key = next(iter(blocks))
    assert table.loc[key].to_dict() == pytest.approx(blocks[key])


def test_friedman_matches_scipy(kept):
    result = friedman(kept).set_index("task")
    for task in ("drums", "full"):
        blocks = _blocks(kept, task)
        methods = [m for m in METHODS if m in next(iter(blocks.values()))]
        columns = [[blocks[k][m] for k in sorted(blocks)] for m in methods]
        direct = stats.friedmanchisquare(*columns)
        assert result.loc[task, "statistic"] == pytest.approx(direct.statistic)
        assert result.loc[task, "p_value"] == pytest.approx(direct.pvalue)
        assert result.loc[task, "blocks"] == len(blocks)
        assert result.loc[task, "kendalls_w"] == pytest.approx(
            direct.statistic / (len(blocks) * (len(methods) - 1))
        )


def test_pairwise_wilcoxon_and_holm_match_scipy_and_statsmodels(kept):
    result = pairwise_wilcoxon(kept)
    drums = result.loc[result["task"] == "drums"]
    blocks = _blocks(kept, "drums")
    keys = sorted(blocks)
    methods = [m for m in METHODS if m in blocks[keys[0]]]
    assert list(zip(drums["method_a"], drums["method_b"])) == list(combinations(methods, 2))
    p_direct = []
    for row in drums.itertuples():
        x = np.array([blocks[k][row.method_a] for k in keys])
        y = np.array([blocks[k][row.method_b] for k in keys])
        # The simulated ratings lie on a 0.001 grid: scipy on the integer differences.
        direct = stats.wilcoxon(np.rint(x * 1000) - np.rint(y * 1000))
        assert row.statistic == pytest.approx(direct.statistic)
        assert row.p_value == pytest.approx(direct.pvalue, rel=1e-9)
        assert row.median_difference == pytest.approx(np.median(x - y))
        p_direct.append(direct.pvalue)
    reject, adjusted, _, _ = multipletests(p_direct, alpha=0.05, method="holm")
    np.testing.assert_allclose(drums["p_holm"], adjusted)
    assert drums["significant"].tolist() == reject.tolist()


def test_rank_biserial_matches_the_wilcoxon_rank_sums():
    rng = np.random.default_rng(1)
    d = np.round(rng.normal(0.05, 0.2, 40), 2)  # rounded: ties and zeros included
    nonzero = d[d != 0]
    total = nonzero.size * (nonzero.size + 1) / 2
    r_plus = stats.wilcoxon(
        d, alternative="greater"
    ).statistic  # sum of ranks of positive differences
    assert rank_biserial(d) == pytest.approx(2 * r_plus / total - 1)
    assert rank_biserial([0.1, 0.2, 0.3]) == 1.0 and rank_biserial([-0.1, -0.2]) == -1.0
    assert rank_biserial([0.0, 0.0]) == 0.0


def test_identical_methods_are_not_significant(make_panel):
    ratings = make_panel(
        {f"r{i}": {"console": [0.5] * 4, "mono": [0.5] * 4} for i in range(5)},
        filler={"target": 1.0},
    )
    wilcoxon = pairwise_wilcoxon(ratings)
    row = wilcoxon.loc[(wilcoxon["method_a"] == "console") & (wilcoxon["method_b"] == "mono")].iloc[
        0
    ]
    assert row["p_value"] == 1.0 and not row["significant"] and row["rank_biserial"] == 0.0
    perm = permutation_tests(ratings, n_resamples=500)
    assert (
        perm.loc[(perm["method_a"] == "console") & (perm["method_b"] == "mono"), "p_value"].iloc[0]
        == 1.0
    )


@pytest.mark.parametrize("complete", [True, False])
def test_permutation_tests_match_scipy_per_pair(kept, complete):
    if not complete:  # one rater skipped mono everywhere, another on one passage
        mono = kept["method"] == "mono"
        first, second = sorted(kept["rater_id"].unique())[:2]
        gone = mono & (
            (kept["rater_id"] == first)
            | ((kept["rater_id"] == second) & (kept["passage_id"] == "drums-p01"))
        )
        kept = kept.loc[~gone]
    result = permutation_tests(kept, n_resamples=2000, seed=7)
    drums = result.loc[result["task"] == "drums"]
    rows = kept.loc[kept["task"] == "drums"]
    p_direct = []
    for row in drums.itertuples():
        a = rows.loc[rows["method"] == row.method_a].set_index(["rater_id", "passage_id"])["rating"]
        b = rows.loc[rows["method"] == row.method_b].set_index(["rater_id", "passage_id"])["rating"]
        per_rater = (a - b).dropna().groupby(level="rater_id").mean().to_numpy()
        direct = stats.permutation_test(
            (per_rater,),
            np.mean,
            permutation_type="samples",
            n_resamples=2000,
            rng=np.random.default_rng(7),
        )
        assert row.p_value == pytest.approx(direct.pvalue)
        assert row.mean_difference == pytest.approx(per_rater.mean())
        assert row.raters == per_rater.size
        p_direct.append(direct.pvalue)
    np.testing.assert_allclose(drums["p_holm"], multipletests(p_direct, method="holm")[1])


def test_permutation_is_exact_for_small_panels():
    d = np.array([0.1, 0.2, 0.15, 0.3, 0.05])  # 2**5 = 32 sign patterns, all positive observed
    assert permutation_pvalues(d, n_resamples=10_000)[0] == pytest.approx(2 / 32)


@pytest.mark.parametrize("raters, smallest", [(13, 2 / 2**13), (20, 2 / 10_001), (30, 2 / 10_001)])
def test_smallest_permutation_p_is_exact_up_to_13_raters_then_set_by_the_resamples(
    raters, smallest
):
    # Every rater prefers the same method: the most extreme data a panel can give.
    d = np.linspace(0.05, 0.3, raters)
    assert permutation_pvalues(d, n_resamples=10_000)[0] == pytest.approx(smallest, rel=1e-12)


def test_holm_leaves_untestable_pairs_out_of_the_family():
    reject, adjusted = holm([0.01, np.nan, 0.04])
    np.testing.assert_allclose(adjusted[[0, 2]], multipletests([0.01, 0.04], method="holm")[1])
    assert np.isnan(adjusted[1]) and not reject[1]


def test_describe_matches_numpy_and_scipy_bootstrap(kept):
    table = describe(kept, n_resamples=2000, seed=5).set_index(["task", "method"])
    group = kept.loc[(kept["task"] == "full") & (kept["method"] == "console")]
    row = table.loc[("full", "console")]
    q1, median, q3 = np.percentile(group["rating"], [25, 50, 75])
    assert (row["median"], row["q1"], row["q3"], row["iqr"]) == pytest.approx(
        (median, q1, q3, q3 - q1)
    )
    rater_means = group.groupby("rater_id")["rating"].mean().to_numpy()
    direct = stats.bootstrap(
        (rater_means,), np.mean, n_resamples=2000, method="BCa", rng=np.random.default_rng(5)
    )
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(tuple(direct.confidence_interval))
    assert row["ci_low"] < row["mean"] < row["ci_high"]
    assert row["mean"] == pytest.approx(
        group["rating"].mean()
    )  # balanced design: equal to the plain mean
    assert list(table.loc["drums"].index) == [m for m in METHODS if m in table.loc["drums"].index]


def test_bootstrap_degenerate_samples_have_defined_intervals():
    assert bootstrap_mean_ci([1.0, 1.0, 1.0]) == (1.0, 1.0)
    assert all(np.isnan(bootstrap_mean_ci([0.5])))


def test_kendalls_w_matches_its_definition_without_ties():
    rng = np.random.default_rng(2)
    matrix = rng.permuted(
        np.tile(np.arange(5.0), (6, 1)), axis=1
    )  # 6 raters rank 5 methods, no ties
    m, k = matrix.shape
    ranks = stats.rankdata(matrix, axis=1)
    s = ((ranks.sum(axis=0) - m * (k + 1) / 2) ** 2).sum()
    w, chi2, p_value = kendalls_w(matrix)
    assert w == pytest.approx(12 * s / (m**2 * (k**3 - k)))
    direct = stats.friedmanchisquare(*matrix.T)
    assert (chi2, p_value) == pytest.approx((direct.statistic, direct.pvalue))
    assert kendalls_w(np.tile(np.arange(4.0), (3, 1)))[0] == pytest.approx(1.0)
    assert kendalls_w(np.ones((3, 4)))[:2] == (0.0, 0.0)


def test_agreement_over_rater_means(kept):
    table = agreement(kept).set_index("task")
    rows = kept.loc[kept["task"] == "drums"]
    means = rows.groupby(["rater_id", "method"])["rating"].mean().unstack()
    w, _, p_value = kendalls_w(means.to_numpy())
    assert table.loc["drums", "kendalls_w"] == pytest.approx(w) and 0.5 < w <= 1.0
    assert table.loc["drums", "p_value"] == pytest.approx(p_value) and p_value < 0.001
    assert table.loc["drums", "raters"] == kept["rater_id"].nunique()


def test_passage_view_finds_the_passage_that_separates_methods(make_panel, rng):
    raters = {}
    for i in range(6):
        noise = rng.uniform(0.3, 0.7, (2, 3))  # passage 2: every method rated at random
        raters[f"r{i}"] = {
            "console": [0.9, noise[0, 0]],
            "random": [0.5, noise[0, 1]],
            "mono": [0.1, noise[0, 2]],
        }
    view = passage_view(make_panel(raters, filler={})).set_index("passage_id")
    assert view.loc["drums-p01", "kendalls_w"] == pytest.approx(1.0)
    assert view.loc["drums-p01", "p_value"] < view.loc["drums-p02", "p_value"]
    assert view.index[0] == "drums-p01"  # sorted by separation
    assert view.loc["drums-p01", "systems_spread"] == pytest.approx(0.8)


def test_rater_view_consensus_matches_scipy(kept):
    view = rater_view(kept).set_index("rater_id")
    cells = kept.groupby(["rater_id", "task", "method"])["rating"].mean()
    rater = view.index[0]
    own = cells.loc[rater]
    others = (
        kept.loc[kept["rater_id"] != rater]
        .groupby(["task", "method"])["rating"]
        .mean()
        .loc[own.index]
    )
    assert view.loc[rater, "consensus_rho"] == pytest.approx(stats.spearmanr(own, others).statistic)
    assert view.loc[rater, "median_time_on_trial_s"] == pytest.approx(
        kept.loc[kept["rater_id"] == rater, "time_on_trial_ms"].median() / 1000
    )


def test_a_contrarian_rater_disagrees_with_the_panel(make_panel):
    raters = {
        f"r{i}": {"console": [0.8, 0.7], "random": [0.5, 0.4], "mono": [0.2, 0.3]} for i in range(4)
    }
    raters["odd"] = {"console": [0.1, 0.2], "random": [0.5, 0.5], "mono": [0.9, 0.8]}
    view = rater_view(
        make_panel(raters, filler={}), screen(make_panel(raters, filler={})).report
    ).set_index("rater_id")
    assert view.loc["odd", "consensus_rho"] == pytest.approx(-1.0)
    assert view.loc["r0", "consensus_rho"] == pytest.approx(1.0)
    assert "excluded" in view.columns
