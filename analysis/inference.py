"""Significance tests between methods: Friedman, Skillings-Mack, Wilcoxon/Holm, permutation tests.

Every test but Skillings-Mack is a call into scipy or statsmodels; this module arranges
the ratings into the paired layout each test needs and collects the results into tables.

- Ratings enter every test as whole steps of their grid (:mod:`analysis.grid`: hundredths
  on the slider), so equal differences and equal means are equal numbers and share one
  rank. A p-value is therefore that of ``scipy.stats.wilcoxon`` (or ``friedmanchisquare``)
  of the integer data, not of binary floats that split ties at random.
- A **block** is one (rater, passage) pair of one task: the conditions a rater heard
  side by side on one trial page. Friedman and Wilcoxon are paired by block, as in the
  paper's analysis. Friedman needs complete blocks (every method of the task rated); the
  table says how many incomplete blocks it dropped, and :func:`skillings_mack` tests the
  same hypothesis on every block with at least two methods rated. Each Wilcoxon pair uses
  every block where both of its methods were rated.
- The **permutation test** (BS.1534-3's non-parametric test, 10,000 resamples) flips
  the sign of each *rater's* mean difference between two methods. The rater, not the
  block, is the unit here: a rater's blocks are not independent of each other, and
  averaging them first keeps the test honest when one rater heard many passages (and
  keeps 100,000 ratings cheap). Up to 13 raters (``2**raters <= 10,000``) scipy
  enumerates every sign pattern and the smallest possible p-value is ``2 / 2**raters``;
  with more raters it draws 10,000 random patterns and the smallest is ``2 / 10,001``.
- Holm's step-down correction runs over all pairs of one task (one family per task).
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from analysis.grid import Grid, cell_sums
from analysis.ratings import ordered_methods, ordered_tasks

ALPHA = 0.05
N_RESAMPLES = 10_000
#: Elements (resamples x raters x pairs) per batch of the permutation test: large enough
#: to amortise scipy's per-rater loop, small enough to stay in cache (fastest measured).
_PERMUTATION_BATCH_ELEMENTS = 6_000_000


@dataclass(frozen=True)
class Blocks:
    """The (rater, passage) blocks of one task on the ratings' grid.

    Attributes:
        sums: index ``(rater_id, passage_id)``, one column per method in display order:
            the sum of the block's ratings of the method in grid steps (one rating,
            unless a rater rated a passage more than once); NaN when not rated.
        counts: the number of ratings behind each sum; NaN when not rated.
        grid: the grid the sums are counted on.
    """

    sums: pd.DataFrame
    counts: pd.DataFrame
    grid: Grid

    def means(self) -> pd.DataFrame:
        """Each block's mean rating per method, in grid steps (exact: equal means tie)."""
        return self.sums / self.counts


def blocks(ratings: pd.DataFrame, task: str, grid: Grid | None = None) -> Blocks:
    """The blocks of one task (grid: that of all of ``ratings`` unless given)."""
    rows = ratings.loc[ratings["task"].to_numpy() == task]
    if len(rows) == 0:
        raise ValueError(f"no ratings for task {task!r}")
    grid = grid or Grid.of(ratings)
    sums, counts = cell_sums(rows, ["rater_id", "passage_id"], "method", grid)
    methods = ordered_methods(rows)
    return Blocks(sums[methods], counts[methods], grid)


def block_table(ratings: pd.DataFrame, task: str) -> pd.DataFrame:
    """Wide table of one task: index (rater_id, passage_id), one column per method.

    Cells are the mean rating when a rater rated a passage more than once, NaN when a
    method was not rated in that block. Columns follow the fixed method order.
    """
    table = blocks(ratings, task)
    return table.grid.ratings(table.means())


def holm(p_values, alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """Holm-corrected p-values and rejections (``statsmodels`` ``multipletests``).

    NaN p-values (pairs that could not be tested) stay NaN and are not in the family.
    ``multipletests`` runs a full ``gc.collect()`` for Holm, which costs about 0.15 s
    with pandas, scipy and matplotlib loaded; freezing the existing objects for the
    call makes it free (the power analysis calls this thousands of times).
    """
    p_values = np.asarray(p_values, dtype=float)
    adjusted = np.full(p_values.shape, np.nan)
    reject = np.zeros(p_values.shape, dtype=bool)
    valid = ~np.isnan(p_values)
    if valid.any():
        gc.freeze()
        try:
            reject[valid], adjusted[valid], _, _ = multipletests(
                p_values[valid], alpha=alpha, method="holm"
            )
        finally:
            gc.unfreeze()
    return reject, adjusted


def rank_biserial(differences) -> float:
    """Matched-pairs rank-biserial correlation of paired differences, -1..1.

    ``(R+ - R-) / (R+ + R-)`` over the non-zero differences ranked by magnitude (Kerby,
    2014): the share of rank mass favouring the first method minus the share favouring
    the second. Zero differences are dropped, as in the Wilcoxon test it accompanies.
    """
    d = np.asarray(differences, dtype=float)
    d = d[d != 0]
    if d.size == 0:
        return 0.0
    ranks = stats.rankdata(np.abs(d))
    return float((ranks[d > 0].sum() - ranks[d < 0].sum()) / ranks.sum())


def skillings_mack(values) -> tuple[float, float, int, int]:
    """Skillings-Mack test of equal methods over blocks with missing cells (Friedman's generalisation).

    Skillings & Mack (1981, Technometrics 23:171-177): within each block with ``k_i >= 2``
    methods rated, rank the observed values 1..k_i (mid-ranks for ties); a missing cell
    gets the block's mean rank ``(k_i + 1) / 2``. Per method,
    ``A_j = sum_i sqrt(12 / (k_i + 1)) (r_ij - (k_i + 1) / 2)`` and the statistic is
    ``SM = A' S^- A`` with ``S`` the covariance of ``A`` under the null hypothesis that
    every order within a block is equally likely, and ``S^-`` its generalised inverse;
    ``SM`` is referred to chi-square with ``rank(S)`` (``methods - 1`` for a connected
    design) degrees of freedom.

    Without ties, ``S`` is the paper's ``-lambda_jt`` off the diagonal (the number of
    blocks where methods ``j`` and ``t`` are both rated) with rows summing to zero. Ties
    (ratings share a grid) lower the variance of the mid-ranks: each block enters ``S``
    with the variance its own mid-ranks have under permutation, ``c_i = 12 v_i /
    ((k_i + 1) (k_i - 1))`` with ``v_i`` their variance (``c_i = 1`` without ties), the
    correction Friedman's test makes. On complete blocks ``SM`` is then exactly
    ``scipy.stats.friedmanchisquare``.

    Args:
        values: ``(blocks, methods)``; NaN where a method was not rated.

    Returns:
        ``(statistic, p_value, degrees_of_freedom, blocks_used)``; NaN statistic and p
        with fewer than two methods or no block of two; ``0`` and ``1`` when every block's
        ratings are all equal.
    """
    x = np.asarray(values, dtype=float)
    observed = ~np.isnan(x)
    rated = observed.sum(axis=1)
    keep = rated >= 2
    x, observed, rated = x[keep], observed[keep], rated[keep]
    if x.shape[1] < 2 or len(x) == 0:
        return np.nan, np.nan, 0, len(x)
    ranks = stats.rankdata(x, axis=1, nan_policy="omit")
    centre = (rated + 1) / 2.0
    weight = np.sqrt(12.0 / (rated + 1))
    a = np.where(observed, weight[:, None] * (ranks - centre[:, None]), 0.0).sum(axis=0)
    spread = np.nanmean((ranks - centre[:, None]) ** 2, axis=1)  # variance of the mid-ranks
    c = 12.0 * spread / ((rated + 1) * (rated - 1))
    # both[j, t]: the sum of c_i over the blocks where methods j and t are both rated.
    both = observed.T.astype(float) @ (c[:, None] * observed)
    covariance = -both
    np.fill_diagonal(covariance, both.sum(axis=1) - np.diag(both))
    df = int(np.linalg.matrix_rank(covariance, hermitian=True))
    if df == 0:
        return 0.0, 1.0, 0, len(x)
    statistic = float(a @ np.linalg.pinv(covariance, hermitian=True) @ a)
    return statistic, float(stats.chi2.sf(statistic, df)), df, len(x)


def friedman(ratings: pd.DataFrame) -> pd.DataFrame:
    """Friedman test per task across methods over complete (rater x passage) blocks.

    Returns:
        One row per task: ``task, blocks, dropped_blocks, methods, statistic, p_value,
        kendalls_w, sm_blocks, sm_statistic, p_sm``. ``blocks`` are the complete blocks
        Friedman used, ``dropped_blocks`` those it left out for a missing method;
        ``kendalls_w = statistic / (blocks * (methods - 1))`` is the effect size. The
        ``sm_`` columns are :func:`skillings_mack` over every block with two or more
        methods rated, which equals Friedman when no block was dropped.
    """
    grid = Grid.of(ratings)
    rows = []
    for task in ordered_tasks(ratings):
        means = blocks(ratings, task, grid).means()
        table = means.dropna()
        k, n = table.shape[1], table.shape[0]
        row = {
            "task": task,
            "blocks": n,
            "dropped_blocks": len(means) - n,
            "methods": k,
            "statistic": np.nan,
            "p_value": np.nan,
            "kendalls_w": np.nan,
        }
        if k >= 3 and n >= 2:
            columns = [table[m].to_numpy() for m in table.columns]
            if np.ptp(table.to_numpy()) == 0:  # every rating equal: no evidence of any difference
                row.update(statistic=0.0, p_value=1.0, kendalls_w=0.0)
            else:
                result = stats.friedmanchisquare(*columns)
                row.update(
                    statistic=float(result.statistic),
                    p_value=float(result.pvalue),
                    kendalls_w=float(result.statistic) / (n * (k - 1)),
                )
        statistic, p_value, _, used = (
            skillings_mack(means.to_numpy()) if k >= 3 else (np.nan, np.nan, 0, 0)
        )
        row.update(sm_blocks=used, sm_statistic=statistic, p_sm=p_value)
        rows.append(row)
    return pd.DataFrame(rows)


def _wilcoxon(differences: np.ndarray) -> tuple[float, float]:
    if not np.any(differences != 0):
        return np.nan, 1.0
    result = stats.wilcoxon(differences)
    return float(result.statistic), float(result.pvalue)


def pairwise_wilcoxon(ratings: pd.DataFrame, alpha: float = ALPHA) -> pd.DataFrame:
    """Wilcoxon signed-rank tests of every method pair per task, Holm-corrected per task.

    Each pair's test is ``scipy.stats.wilcoxon`` of the block differences in whole grid
    steps (:mod:`analysis.grid`), so equal differences tie exactly.

    Returns:
        One row per (task, pair) in fixed method order: ``task, method_a, method_b,
        blocks, median_a, median_b, median_difference, statistic, p_value, p_holm,
        significant, rank_biserial``. A positive ``rank_biserial`` favours ``method_a``.
    """
    grid = Grid.of(ratings)
    rows = []
    for task in ordered_tasks(ratings):
        table = blocks(ratings, task, grid)
        sums = table.sums.to_numpy(dtype=float)
        counts = table.counts.to_numpy(dtype=float)
        means = sums / counts
        rated = ~np.isnan(sums)
        task_rows = []
        for (i, a), (j, b) in combinations(enumerate(table.sums.columns), 2):
            both = rated[:, i] & rated[:, j]
            d = Grid.difference(sums[both, i], counts[both, i], sums[both, j], counts[both, j])
            statistic, p_value = _wilcoxon(d) if len(d) else (np.nan, np.nan)
            task_rows.append(
                {
                    "task": task,
                    "method_a": a,
                    "method_b": b,
                    "blocks": len(d),
                    "median_a": grid.ratings(float(np.median(means[both, i])))
                    if len(d)
                    else np.nan,
                    "median_b": grid.ratings(float(np.median(means[both, j])))
                    if len(d)
                    else np.nan,
                    "median_difference": grid.ratings(float(np.median(d))) if len(d) else np.nan,
                    "statistic": statistic,
                    "p_value": p_value,
                    "rank_biserial": rank_biserial(d),
                }
            )
        frame = pd.DataFrame(task_rows)
        frame["significant"], frame["p_holm"] = holm(frame["p_value"], alpha)
        rows.append(frame)
    columns = [
        "task",
        "method_a",
        "method_b",
        "blocks",
        "median_a",
        "median_b",
        "median_difference",
        "statistic",
        "p_value",
        "p_holm",
        "significant",
        "rank_biserial",
    ]
    return pd.concat(rows, ignore_index=True)[columns]


def _pair_differences(table: Blocks) -> pd.DataFrame:
    """Each rater's mean paired difference ``a - b`` per method pair, in grid steps."""
    sums, counts = table.sums, table.counts
    pairs = {
        f"{a}|{b}": Grid.difference(sums[a], counts[a], sums[b], counts[b])
        for a, b in combinations(sums.columns, 2)
    }
    return pd.DataFrame(pairs).groupby(level="rater_id").mean()


def rater_differences(ratings: pd.DataFrame, task: str) -> pd.DataFrame:
    """Each rater's mean paired difference ``a - b`` for every method pair of one task.

    Index ``rater_id``; one column per pair named ``"a|b"``; NaN when the rater never
    rated both methods in one block.
    """
    table = blocks(ratings, task)
    return table.grid.ratings(_pair_differences(table))


def _mean_statistic(x, axis):
    return np.mean(x, axis=axis)


def _batch(n_resamples: int, *sizes: int) -> int:
    return max(1, min(n_resamples, _PERMUTATION_BATCH_ELEMENTS // max(1, int(np.prod(sizes)))))


def permutation_pvalues(
    differences: np.ndarray, n_resamples: int = N_RESAMPLES, seed: int = 0
) -> np.ndarray:
    """Two-sided sign-flip permutation test of zero mean for each column of ``differences``.

    One ``scipy.stats.permutation_test`` call (``permutation_type="samples"`` on one
    sample flips signs) tests every column with the same resamples, which equals a
    separate call per column with the same seed. Exact when ``2**rows <= n_resamples``.

    Shape:
        differences: ``(raters, pairs)``, no NaN. Returns ``(pairs,)``.
    """
    differences = np.asarray(differences, dtype=float)
    if differences.ndim == 1:
        differences = differences[:, None]
    result = stats.permutation_test(
        (differences,),
        _mean_statistic,
        permutation_type="samples",
        vectorized=True,
        n_resamples=n_resamples,
        alternative="two-sided",
        axis=0,
        batch=_batch(n_resamples, *differences.shape),
        rng=np.random.default_rng(seed),
    )
    return np.atleast_1d(np.asarray(result.pvalue, dtype=float))


def pairwise_permutation_pvalues(
    method_means: np.ndarray,
    pairs: list[tuple[int, int]],
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> np.ndarray:
    """:func:`permutation_pvalues` of ``means[:, a] - means[:, b]`` for every pair, at once.

    Flipping the sign of a rater's whole row of method means flips every one of that
    rater's pairwise differences, so one scipy call on the ``(raters, methods)`` matrix
    whose statistic returns all pairwise mean differences draws exactly the sign flips
    of a separate call per pair with the same seed, and gives the same p-values, at the
    cost of ``methods`` columns instead of ``methods * (methods - 1) / 2``.

    Shape:
        method_means: ``(raters, methods)``, no NaN. Returns ``(len(pairs),)``.
    """
    first = np.array([a for a, _ in pairs])
    second = np.array([b for _, b in pairs])

    def pair_differences(x, axis):
        means = np.mean(x, axis=axis)
        return means[..., first] - means[..., second]

    method_means = np.asarray(method_means, dtype=float)
    result = stats.permutation_test(
        (method_means.T,),
        pair_differences,
        permutation_type="samples",
        vectorized=True,
        n_resamples=n_resamples,
        alternative="two-sided",
        axis=-1,
        batch=_batch(n_resamples, *method_means.shape),
        rng=np.random.default_rng(seed),
    )
    return np.atleast_1d(np.asarray(result.pvalue, dtype=float))


def _grouped_pvalues(diffs: pd.DataFrame, n_resamples: int, seed: int) -> np.ndarray:
    """p-values per pair column of ``diffs`` (NaN-holed): one call per set of raters."""
    p_values = np.full(diffs.shape[1], np.nan)
    masks = diffs.notna().to_numpy()
    patterns: dict[bytes, list[int]] = {}
    for j in range(diffs.shape[1]):
        patterns.setdefault(masks[:, j].tobytes(), []).append(j)
    for columns in patterns.values():
        rows = masks[:, columns[0]]
        if rows.sum() >= 2:
            p_values[columns] = permutation_pvalues(
                diffs.to_numpy()[rows][:, columns], n_resamples, seed
            )
    return p_values


def permutation_tests(
    ratings: pd.DataFrame, n_resamples: int = N_RESAMPLES, seed: int = 0, alpha: float = ALPHA
) -> pd.DataFrame:
    """BS.1534-3 permutation tests of every method pair per task on rater mean differences.

    When every block of the task is complete (the web app makes raters rate every
    condition) all pairs share one scipy call (:func:`pairwise_permutation_pvalues`);
    otherwise pairs rated by the same raters share one (:func:`permutation_pvalues`).
    Pairs with fewer than two raters get NaN and stay out of the Holm family.

    Returns:
        One row per (task, pair): ``task, method_a, method_b, raters, mean_difference,
        p_value, p_holm, significant``.
    """
    grid = Grid.of(ratings)
    frames = []
    for task in ordered_tasks(ratings):
        table = blocks(ratings, task, grid)
        diffs = _pair_differences(table)
        raters = diffs.notna().sum().to_numpy()
        if not table.sums.isna().any(axis=None) and len(diffs) >= 2:
            means = table.means().groupby(level="rater_id").mean().loc[diffs.index].to_numpy()
            pairs = list(combinations(range(table.sums.shape[1]), 2))
            p_values = pairwise_permutation_pvalues(means, pairs, n_resamples, seed)
        else:
            p_values = _grouped_pvalues(diffs, n_resamples, seed)
        names = [c.split("|") for c in diffs.columns]
        frame = pd.DataFrame(
            {
                "task": task,
                "method_a": [a for a, _ in names],
                "method_b": [b for _, b in names],
                "raters": raters,
                "mean_difference": grid.ratings(diffs.mean().to_numpy()),
                "p_value": p_values,
            }
        )
        frame["significant"], frame["p_holm"] = holm(frame["p_value"], alpha)
        frames.append(frame)
    columns = [
        "task",
        "method_a",
        "method_b",
        "raters",
        "mean_difference",
        "p_value",
        "p_holm",
        "significant",
    ]
    return pd.concat(frames, ignore_index=True)[columns]
