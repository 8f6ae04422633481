"""Descriptive statistics per task and method: medians, IQRs and means with bootstrap CIs.

BS.1534-3 asks for the median and interquartile range (what the box plots show) and
the mean with a 95 % confidence interval. The interval here is a BCa bootstrap
(``scipy.stats.bootstrap``, 10,000 resamples, seeded) that resamples *raters*: each
rater contributes the mean of their ratings of the method, so a rater who heard many
passages does not narrow the interval as if every rating were a new listener. The
reported ``mean`` is therefore the mean over raters of each rater's mean, which equals
the plain mean of all ratings whenever every rater rated the same passages.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from analysis.inference import N_RESAMPLES
from analysis.ratings import ordered_methods, ordered_tasks

CONFIDENCE_LEVEL = 0.95

COLUMNS = (
    "task",
    "method",
    "ratings",
    "raters",
    "median",
    "q1",
    "q3",
    "iqr",
    "mean",
    "ci_low",
    "ci_high",
)


def bootstrap_mean_ci(
    values,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
    confidence_level: float = CONFIDENCE_LEVEL,
) -> tuple[float, float]:
    """BCa bootstrap confidence interval of the mean of ``values``.

    Degenerate samples get a defined answer instead of a warning: one value gives NaN
    bounds, identical values give a zero-width interval, and a BCa interval that cannot
    be computed falls back to the percentile interval.
    """
    values = np.asarray(values, dtype=float)
    if values.size < 2:
        return np.nan, np.nan
    if np.ptp(values) == 0:
        return float(values[0]), float(values[0])
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", stats.DegenerateDataWarning)
            result = stats.bootstrap(
                (values,),
                np.mean,
                n_resamples=n_resamples,
                confidence_level=confidence_level,
                method=method,
                rng=np.random.default_rng(seed),
                vectorized=True,
            )
        low, high = result.confidence_interval
        if np.isfinite(low) and np.isfinite(high):
            return float(low), float(high)
    return np.nan, np.nan


def describe(
    ratings: pd.DataFrame,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
    confidence_level: float = CONFIDENCE_LEVEL,
) -> pd.DataFrame:
    """Median, quartiles, IQR, rater-level mean and its bootstrap CI per task and method.

    Every group uses a generator seeded with ``seed``, so a group's interval does not
    depend on which other groups exist.

    Returns:
        One row per (task, method) in fixed order; columns :data:`COLUMNS`.
    """
    rows = []
    for task in ordered_tasks(ratings):
        task_rows = ratings.loc[ratings["task"].to_numpy() == task]
        for method in ordered_methods(task_rows):
            group = task_rows.loc[task_rows["method"].to_numpy() == method]
            values = group["rating"].to_numpy()
            rater_means = group.groupby("rater_id")["rating"].mean().to_numpy()
            q1, median, q3 = np.percentile(values, [25, 50, 75])
            low, high = bootstrap_mean_ci(rater_means, n_resamples, seed, confidence_level)
            rows.append(
                {
                    "task": task,
                    "method": method,
                    "ratings": len(values),
                    "raters": len(rater_means),
                    "median": median,
                    "q1": q1,
                    "q3": q3,
                    "iqr": q3 - q1,
                    "mean": float(rater_means.mean()),
                    "ci_low": low,
                    "ci_high": high,
                }
            )
    return pd.DataFrame(rows, columns=list(COLUMNS))
