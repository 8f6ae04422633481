"""Per-rater and per-passage views and inter-rater agreement (Kendall's W).

The pooled statistics say *whether* methods differ; these views say *where*. The
per-passage table shows which passages separate the methods (and which do not, for
example a passage where every mix sounds alike), the per-rater table shows who agrees
with the panel and how each rater behaved, and Kendall's W summarises how much the
raters agree on the ordering of the methods.

Kendall's W is computed through its identity with Friedman's statistic,
``W = chi2_F / (m (k - 1))`` for ``m`` raters (blocks) and ``k`` methods, using
``scipy.stats.friedmanchisquare`` (which corrects for ties), so no rank statistic is
written by hand here. Means are ranked in whole steps of the ratings' grid
(:mod:`analysis.grid`): two raters' means, or a rater's and the panel's, that are equal
as numbers tie as ranks, whatever binary rounding their sums went through.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.grid import Grid, cell_sums
from analysis.inference import holm
from analysis.ratings import ordered_methods, ordered_tasks
from analysis.screening import REFERENCE_METHOD
from dmc.contracts.conditions import ANCHORS

#: Methods that are not systems under test: the hidden reference and the anchors.
NON_SYSTEMS = (REFERENCE_METHOD, *ANCHORS)


def kendalls_w(matrix: np.ndarray) -> tuple[float, float, float]:
    """Kendall's W of a complete ``(raters, methods)`` matrix, with Friedman's chi2 and p.

    Returns ``(W, chi2, p_value)``; NaN for fewer than 2 raters or 3 methods; ``W = 0``
    and ``p = 1`` when every value is equal.
    """
    matrix = np.asarray(matrix, dtype=float)
    m, k = matrix.shape
    if m < 2 or k < 3:
        return np.nan, np.nan, np.nan
    if np.ptp(matrix) == 0:
        return 0.0, 0.0, 1.0
    result = stats.friedmanchisquare(*matrix.T)
    return float(result.statistic) / (m * (k - 1)), float(result.statistic), float(result.pvalue)


def agreement(ratings: pd.DataFrame) -> pd.DataFrame:
    """Kendall's W per task over each rater's mean rating per method.

    Only raters who rated every method of the task take part.

    Returns:
        One row per task: ``task, raters, methods, kendalls_w, chi2, p_value``.
    """
    grid = Grid.of(ratings)
    rows = []
    for task in ordered_tasks(ratings):
        task_rows = ratings.loc[ratings["task"].to_numpy() == task]
        sums, counts = cell_sums(task_rows, "rater_id", "method", grid)
        means = (sums / counts)[ordered_methods(task_rows)].dropna()
        w, chi2, p_value = kendalls_w(means.to_numpy())
        rows.append(
            {
                "task": task,
                "raters": means.shape[0],
                "methods": means.shape[1],
                "kendalls_w": w,
                "chi2": chi2,
                "p_value": p_value,
            }
        )
    return pd.DataFrame(rows)


def passage_view(ratings: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Which passages separate the methods: one row per (task, passage).

    Columns: ``task, passage_id, raters, kendalls_w, p_value, p_holm, systems_spread``
    and the mean rating of every method. ``p_value`` is the Friedman test across
    methods with raters as blocks on that passage alone (Holm over the passages of a
    task), and ``raters`` the raters it tested: those who rated every method of the task
    on the passage (a rater who skipped one is left out of W and p, but their ratings
    count in the means). ``systems_spread`` is the range of the mean ratings of the
    systems under test (reference and anchors left out), the size of the differences a
    listener could hear between the mixes on that passage. Sorted by task, then by
    ``kendalls_w``.
    """
    grid = Grid.of(ratings)
    frames = []
    for task in ordered_tasks(ratings):
        task_rows = ratings.loc[ratings["task"].to_numpy() == task]
        methods = ordered_methods(task_rows)
        systems = [m for m in methods if m not in NON_SYSTEMS]
        rows = []
        for passage_id, group in task_rows.groupby("passage_id", sort=True):
            sums, counts = cell_sums(group, "rater_id", "method", grid)
            wide = (sums / counts).reindex(columns=methods)
            tested = wide.dropna()
            w, _, p_value = kendalls_w(tested.to_numpy())
            means = grid.ratings(wide.mean())
            spread = (
                float(means[systems].max() - means[systems].min()) if len(systems) >= 2 else np.nan
            )
            rows.append(
                {
                    "task": task,
                    "passage_id": passage_id,
                    "raters": len(tested),
                    "kendalls_w": w,
                    "p_value": p_value,
                    "systems_spread": spread,
                    **means.to_dict(),
                }
            )
        frame = pd.DataFrame(rows)
        frame["p_holm"] = holm(frame["p_value"], alpha)[1]
        frames.append(frame.sort_values("kendalls_w", ascending=False, na_position="last"))
    frame = pd.concat(frames, ignore_index=True)
    leading = ["task", "passage_id", "raters", "kendalls_w", "p_value", "p_holm", "systems_spread"]
    methods = [m for m in ordered_methods(ratings) if m in frame.columns]
    return frame[leading + methods]


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    valid = ~(np.isnan(x) | np.isnan(y))
    x, y = x[valid], y[valid]
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return np.nan
    return float(stats.spearmanr(x, y).statistic)


def rater_view(ratings: pd.DataFrame, screening_report: pd.DataFrame | None = None) -> pd.DataFrame:
    """How each rater behaved: amount, agreement with the panel, time, plays, screening.

    ``consensus_rho`` is Spearman's correlation between the rater's mean rating of each
    (task, method) and the mean of all *other* raters for the same cell: near 1 for a
    rater who orders the methods like the panel, near 0 or negative for one who does not.

    Returns:
        One row per rater: ``rater_id, trials, ratings, mean_rating, consensus_rho,
        median_time_on_trial_s, median_plays`` plus ``excluded`` and ``reason`` when a
        screening report is given, then the rater's mean per ``task:method``.
    """
    grid = Grid.of(ratings)
    sums, counts = cell_sums(ratings, "rater_id", ["task", "method"], grid)
    order = [
        (t, m)
        for t in ordered_tasks(ratings)
        for m in ordered_methods(ratings)
        if (t, m) in sums.columns
    ]
    sums, counts = sums[order], counts[order]
    means = sums / counts
    others = (sums.sum() - sums.fillna(0)) / (counts.sum() - counts.fillna(0)).replace(0, np.nan)
    rho = [
        _spearman(means.iloc[i].to_numpy(float), others.iloc[i].to_numpy(float))
        for i in range(len(means))
    ]
    by_rater = ratings.groupby("rater_id")
    view = pd.DataFrame(
        {
            "trials": by_rater["trial_id"].nunique(),
            "ratings": by_rater.size(),
            "mean_rating": by_rater["rating"].mean(),
            "consensus_rho": pd.Series(rho, index=means.index),
            "median_time_on_trial_s": by_rater["time_on_trial_ms"].median() / 1000.0,
            "median_plays": by_rater["plays"].median(),
        }
    )
    if screening_report is not None:
        report = screening_report.set_index("rater_id")[["excluded", "reason"]]
        view = view.join(report, how="left")
    means = grid.ratings(means)
    means.columns = [f"{t}:{m}" for t, m in means.columns]
    return view.join(means).reset_index()
