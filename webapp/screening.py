"""Post-screening flags of ITU-R BS.1534-3, shown live on the admin dashboard.

An assessor is flagged when they rate the hidden reference below 0.9 on more than
15 % of the items they rated, or the mid anchor (``anchor_7k``) above 0.9 on more than
15 % of the items; the anchor rule skips items on which more than 25 % of all
assessors rate the mid anchor above 0.9 (such an item is simply hard). Training trials
never count. The flags inform; excluding anyone is the analysis' decision.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

REFERENCE_METHOD = "target"
MID_ANCHOR = "anchor_7k"


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


def screen(
    rows: list[dict],
    threshold: float = 0.9,
    max_fraction: float = 0.15,
    hard_item_fraction: float = 0.25,
) -> list[ScreeningResult]:
    """Apply the two BS.1534-3 rules to rating rows (``webapp.export.rating_rows``).

    Args:
        rows: dicts with ``rater_id, task, passage_id, method, rating, is_training``.
        threshold: the 90-of-100 mark on the 0-1 scale.
        max_fraction: share of items (15 %) beyond which a rater is flagged.
        hard_item_fraction: items where more than this share (25 %) of raters put the
            mid anchor above ``threshold`` are left out of the anchor rule.

    Returns:
        One result per rater who rated any test item, in order of first appearance.
    """
    reference: dict[str, dict[tuple, float]] = defaultdict(dict)
    anchor: dict[str, dict[tuple, float]] = defaultdict(dict)
    order: dict[str, None] = {}
    for row in rows:
        if row["is_training"]:
            continue
        order.setdefault(row["rater_id"], None)
        item = (row["task"], row["passage_id"])
        if row["method"] == REFERENCE_METHOD:
            reference[row["rater_id"]][item] = row["rating"]
        elif row["method"] == MID_ANCHOR:
            anchor[row["rater_id"]][item] = row["rating"]
    per_item: dict[tuple, list[float]] = defaultdict(list)
    for ratings in anchor.values():
        for item, value in ratings.items():
            per_item[item].append(value)
    hard = {
        item
        for item, values in per_item.items()
        if sum(v > threshold for v in values) > hard_item_fraction * len(values)
    }
    results = []
    for rater_id in order:
        ref = reference.get(rater_id, {})
        anc = {item: v for item, v in anchor.get(rater_id, {}).items() if item not in hard}
        ref_fraction = sum(v < threshold for v in ref.values()) / len(ref) if ref else None
        anc_fraction = sum(v > threshold for v in anc.values()) / len(anc) if anc else None
        results.append(
            ScreeningResult(
                rater_id,
                len(ref),
                ref_fraction,
                len(anc),
                anc_fraction,
                ref_fraction is not None and ref_fraction > max_fraction,
                anc_fraction is not None and anc_fraction > max_fraction,
            )
        )
    return results
