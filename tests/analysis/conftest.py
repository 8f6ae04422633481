"""Fixtures of the analysis tests: crafted panels with known screening outcomes, simulated ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.ratings import RATING_COLUMNS, validate_ratings
from analysis.simulate import simulate_panel


def crafted_rows(
    raters: dict[str, dict[str, list[float]]],
    task: str = "drums",
    filler: dict[str, float] | None = None,
    training: dict[str, float] | None = None,
    is_simulated: bool = False,
) -> pd.DataFrame:
    """Rows of a panel where every rater rates ``n`` passages of one task.

    Args:
        raters: rater_id -> method -> one rating per passage (all lists of one length).
        filler: further methods rated with a constant on every passage.
        training: method -> rating of one training trial per rater.
    """
    filler = {"console": 0.6, "anchor_3k5": 0.2} if filler is None else filler
    rows = []
    for rater_id, methods in raters.items():
        n = len(next(iter(methods.values())))
        for p in range(n):
            passage = f"{task}-p{p + 1:02d}"
            values = {m: v[p] for m, v in methods.items()} | {
                m: v for m, v in filler.items() if m not in methods
            }
            for method, rating in values.items():
                rows.append(
                    [
                        rater_id,
                        task,
                        passage,
                        f"{task}:{passage}",
                        method,
                        rating,
                        False,
                        is_simulated,
                        f"2025-01-01T10:{p:02d}:00Z",
                        30000,
                        2,
                    ]
                )
        for method, rating in (training or {}).items():
            rows.append(
                [
                    rater_id,
                    task,
                    f"{task}-train",
                    f"training:{task}",
                    method,
                    rating,
                    True,
                    is_simulated,
                    "2025-01-01T09:59:00Z",
                    30000,
                    1,
                ]
            )
    return validate_ratings(pd.DataFrame(rows, columns=list(RATING_COLUMNS)))


@pytest.fixture
def make_panel():
    """The :func:`crafted_rows` builder."""
    return crafted_rows


@pytest.fixture(scope="session")
def simulated_ratings() -> pd.DataFrame:
    """A seeded 12-rater simulated panel of both tasks (one rater fails screening by design)."""
    return simulate_panel(12, seed=3).ratings


@pytest.fixture
def real_ratings(simulated_ratings) -> pd.DataFrame:
    """The simulated panel relabelled as real rows (for code paths that exclude simulated rows)."""
    frame = simulated_ratings.copy()
    frame["is_simulated"] = False
    return frame


@pytest.fixture
def write_csv(tmp_path):
    """Write a frame as an export CSV in ``tmp_path`` and return its path."""

    def write(frame: pd.DataFrame, name: str = "ratings.csv"):
        path = tmp_path / name
        frame.to_csv(path, index=False)
        return path

    return write


@pytest.fixture
def rng():
    return np.random.default_rng(0)
