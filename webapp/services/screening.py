"""Post-screening flags of ITU-R BS.1534-3, shown live on the admin dashboard.

The rules themselves live in :mod:`analysis.screening` (one implementation, exact
fractions, tested at the 15 % and 25 % boundaries); this module only turns the web
app's rating rows into that module's input and its report into per-rater flags. The
flags inform; excluding anyone is the analysis' decision.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.screening import ScreeningRules
from analysis.screening import screen as screen_frame


@dataclass(frozen=True)
class ScreeningResult:
    """One rater's screening numbers; ``None`` fractions mean "no such items rated"."""

    rater_id: str
    reference_items: int
    reference_low_fraction: float | None
    anchor_items: int
    anchor_high_fraction: float | None
    flag_reference: bool
    flag_anchor: bool

    @property
    def flagged(self) -> bool:
        return self.flag_reference or self.flag_anchor


def _fraction(value) -> float | None:
    return None if pd.isna(value) else float(value)


def screen(rows: list[dict], rules: ScreeningRules | None = None) -> list[ScreeningResult]:
    """The BS.1534-3 flags of every rater in ``rows`` (``webapp.storage.export.rating_rows``).

    Args:
        rows: dicts with ``rater_id, task, passage_id, trial_id, method, rating, is_training``.
        rules: thresholds; default BS.1534-3 on the 0-1 scale.

    Returns:
        One result per rater who rated any test (non-training) item, in order of first appearance.
    """
    columns = ["rater_id", "task", "passage_id", "trial_id", "method", "rating", "is_training"]
    frame = pd.DataFrame([{c: row[c] for c in columns} for row in rows], columns=columns)
    frame["is_training"] = frame["is_training"].astype(bool)
    frame["rating"] = frame["rating"].astype(float)
    report = screen_frame(frame, rules, apply=False).report.set_index("rater_id")
    order = dict.fromkeys(r["rater_id"] for r in rows if not r["is_training"])
    results = []
    for rater_id in order:
        row = report.loc[rater_id]
        results.append(
            ScreeningResult(
                rater_id,
                int(row["reference_items"]),
                _fraction(row["reference_fraction"]),
                int(row["anchor_items"]),
                _fraction(row["anchor_fraction"]),
                bool(row["reference_excluded"]),
                bool(row["anchor_excluded"]),
            )
        )
    return results
