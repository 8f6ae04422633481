"""Significance tests between methods: Friedman, Wilcoxon/Holm, BS.1534-3 permutation tests.

Every test is a call into scipy or statsmodels; this module only arranges the ratings
into the paired layout each test needs and collects the results into tables.

- A **block** is one (rater, passage) pair of one task: the conditions a rater heard
  side by side on one trial page. Friedman and Wilcoxon are paired by block, as in the
  paper's analysis. Friedman needs complete blocks (every method of the task rated);
  each Wilcoxon pair uses every block where both of its methods were rated.
- The **permutation test** (BS.1534-3's non-parametric test, 10,000 resamples) flips
  the sign of each *rater's* mean difference between two methods. The rater, not the
  block, is the unit here: a rater's blocks are not independent of each other, and
  averaging them first keeps the test honest when one rater heard many passages (and
  keeps 100,000 ratings cheap). With few raters its smallest p-value is bounded by
  ``2 / 2**raters``, which is the evidence a small panel really holds.
- Holm's step-down correction runs over all pairs of one task (one family per task).
"""

from __future__ import annotations

import gc
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from analysis.ratings import ordered_methods, ordered_tasks

ALPHA = 0.05
N_RESAMPLES = 10_000
#: Elements (resamples x raters x pairs) per batch of the permutation test: large enough
#: to amortise scipy's per-rater loop, small enough to stay in cache (fastest measured).
_PERMUTATION_BATCH_ELEMENTS = 6_000_000


def block_table(ratings: pd.DataFrame, task: str) -> pd.DataFrame:
    """Wide table of one task: index (rater_id, passage_id), one column per method.

    Cells are the mean rating when a rater rated a passage more than once, NaN when a
    method was not rated in that block. Columns follow the fixed method order.
    """
    rows = ratings.loc[ratings["task"].to_numpy() == task]
    if len(rows) == 0:
        raise ValueError(f"no ratings for task {task!r}")
    table = rows.pivot_table(
        index=["rater_id", "passage_id"],
        columns="method",
        values="rating",
        aggfunc="mean",
        observed=True,
    )
    return table[ordered_methods(rows)]


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


def friedman(ratings: pd.DataFrame) -> pd.DataFrame:
    """Friedman test per task across methods over complete (rater x passage) blocks.

    Returns:
        One row per task: ``task, blocks, methods, statistic, p_value, kendalls_w``
        where ``kendalls_w = statistic / (blocks * (methods - 1))`` is the effect size.
    """
    rows = []
    for task in ordered_tasks(ratings):
        table = block_table(ratings, task).dropna()
        k, n = table.shape[1], table.shape[0]
        row = {
            "task": task,
            "blocks": n,
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
        rows.append(row)
    return pd.DataFrame(rows)


def _wilcoxon(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    d = a - b
    if not np.any(d != 0):
        return np.nan, 1.0
    result = stats.wilcoxon(a, b)
    return float(result.statistic), float(result.pvalue)


def pairwise_wilcoxon(ratings: pd.DataFrame, alpha: float = ALPHA) -> pd.DataFrame:
    """Wilcoxon signed-rank tests of every method pair per task, Holm-corrected per task.

    Returns:
        One row per (task, pair) in fixed method order: ``task, method_a, method_b,
        blocks, median_a, median_b, median_difference, statistic, p_value, p_holm,
        significant, rank_biserial``. A positive ``rank_biserial`` favours ``method_a``.
    """
    rows = []
    for task in ordered_tasks(ratings):
        table = block_table(ratings, task)
        values = table.to_numpy(dtype=float)
        rated = ~np.isnan(values)
        task_rows = []
        for (i, a), (j, b) in combinations(enumerate(table.columns), 2):
            both = rated[:, i] & rated[:, j]
            x, y = values[both, i], values[both, j]
            statistic, p_value = _wilcoxon(x, y) if len(x) else (np.nan, np.nan)
            task_rows.append(
                {
                    "task": task,
                    "method_a": a,
                    "method_b": b,
                    "blocks": len(x),
                    "median_a": float(np.median(x)) if len(x) else np.nan,
                    "median_b": float(np.median(y)) if len(y) else np.nan,
                    "median_difference": float(np.median(x - y)) if len(x) else np.nan,
                    "statistic": statistic,
                    "p_value": p_value,
                    "rank_biserial": rank_biserial(x - y),
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


def rater_differences(ratings: pd.DataFrame, task: str) -> pd.DataFrame:
    """Each rater's mean paired difference ``a - b`` for every method pair of one task.

    Index ``rater_id``; one column per pair named ``"a|b"``; NaN when the rater never
    rated both methods in one block.
    """
    table = block_table(ratings, task)
    pairs = {f"{a}|{b}": table[a] - table[b] for a, b in combinations(table.columns, 2)}
    return pd.DataFrame(pairs).groupby(level="rater_id").mean()


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
    frames = []
    for task in ordered_tasks(ratings):
        table = block_table(ratings, task)
        diffs = rater_differences(ratings, task)
        raters = diffs.notna().sum().to_numpy()
        if not table.isna().any(axis=None) and len(diffs) >= 2:
            means = table.groupby(level="rater_id").mean().loc[diffs.index].to_numpy()
            pairs = list(combinations(range(table.shape[1]), 2))
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
                "mean_difference": diffs.mean().to_numpy(),
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
