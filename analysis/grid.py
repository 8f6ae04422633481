"""The ratings' own grid: every rank statistic of the analysis sees exact ties.

The web app's sliders move in steps of 0.01 (``webapp/templates/trial.html``), so two
ratings are either equal or at least 0.01 apart. Their binary floats are not: ``0.72 -
0.65`` is ``0.06999999999999995`` and ``0.78 - 0.71`` is ``0.07000000000000006``, two
different ranks where the listeners gave one difference. A signed-rank test, a
Friedman test or a Spearman correlation on such floats splits ties at random, and
with them the tie correction and the effect sizes.

:class:`Grid` removes the hazard in one place. A rating becomes an integer count of
the grid's step (hundredths on the slider). Sums of such counts are exact integers; a
mean is an integer sum over an integer count, and IEEE division is correctly rounded,
so two equal means are the same float; a difference of two means is computed over a
common denominator (:meth:`Grid.difference`) so that equal differences are equal
floats too. Ranks, which only compare values, are then those of the exact numbers.

The grid is found from the data (:meth:`Grid.of`): the coarsest of 0.01, 0.001, ...,
10 ** -:data:`FINEST_DECIMALS` on which every rating lies (the slider's 0.01, the simulator's
0.001). Ratings on none of them (continuous values from elsewhere) are used as they
are, unscaled, as before: for them no two differences are meant to be equal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: The web app's slider step: ratings are multiples of 0.01.
SLIDER_DECIMALS = 2
#: The finest grid looked for: ratings with more decimals are taken as continuous.
FINEST_DECIMALS = 6
#: How far (in steps) a rating may sit from a grid point and still be on it: the error
#: of parsing and storing a decimal, never a real difference between two ratings.
_ON_GRID_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Grid:
    """Integer steps of the rating scale.

    Attributes:
        scale: steps per 1.0 of rating (100 for the slider's 0.01), or ``None`` for
            ratings on no decimal grid, which are then used as they are.
    """

    scale: int | None

    @classmethod
    def of(cls, ratings) -> Grid:
        """The coarsest grid (0.01, 0.001, ..., 1e-6) every value of ``ratings`` lies on.

        ``ratings``: a ratings table (its ``rating`` column is read) or the values.
        """
        if isinstance(ratings, pd.DataFrame):
            ratings = ratings["rating"]
        values = np.asarray(ratings, dtype=float)
        values = values[~np.isnan(values)]
        for decimals in range(SLIDER_DECIMALS, FINEST_DECIMALS + 1):
            scaled = values * 10**decimals
            if np.all(np.abs(scaled - np.rint(scaled)) <= _ON_GRID_TOLERANCE):
                return cls(10**decimals)
        return cls(None)

    def units(self, ratings) -> np.ndarray:
        """Ratings as whole steps (float array holding integers); NaN stays NaN."""
        values = np.asarray(ratings, dtype=float)
        return values if self.scale is None else np.rint(values * self.scale)

    def ratings(self, units):
        """Steps (or means and differences of them) back on the 0-1 rating scale.

        Divides by the integer scale, so a whole number of steps comes back as the
        float that its decimal text reads as (``72 / 100`` is ``0.72``).
        """
        return units if self.scale is None else units / self.scale

    @staticmethod
    def difference(sum_a, count_a, sum_b, count_b):
        """``sum_a / count_a - sum_b / count_b`` with equal results equal as floats.

        Over the common denominator the numerator is an exact integer (sums of whole
        steps times counts stay far below 2**53), so the one rounding is the final
        division, which maps equal fractions to one float. Counts of one give plain
        integer differences.
        """
        return (sum_a * count_b - sum_b * count_a) / (count_a * count_b)


def cell_sums(rows: pd.DataFrame, index, columns, grid: Grid) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sums (in steps) and counts of the ratings of each ``index`` x ``columns`` cell.

    The mean of a cell is ``sums / counts``; a cell nobody rated is NaN in both.
    """
    frame = rows.assign(_units=grid.units(rows["rating"].to_numpy()))
    table = frame.pivot_table(
        index=index,
        columns=columns,
        values="_units",
        aggfunc=["sum", "count"],
        observed=True,
    )
    sums, counts = table["sum"], table["count"]
    rated = counts > 0
    return sums.where(rated), counts.where(rated)
