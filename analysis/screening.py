"""Post-screening of assessors per ITU-R BS.1534-3 (MUSHRA), adapted to the 0-1 scale.

An assessor who cannot find the hidden reference, or who cannot hear the 7 kHz
low-pass anchor, adds noise rather than information; BS.1534-3 removes such assessors
before any statistics. The rules, with the recommendation's 90/100 read as 0.9:

- **reference rule**: exclude an assessor who rates the hidden reference below 0.9 on
  more than 15 % of the items they rated;
- **anchor rule**: exclude an assessor who rates the mid anchor above 0.9 on more than
  15 % of the items they rated, where an item on which more than 25 % of the assessors
  rate the mid anchor above 0.9 does not count against anybody (the anchor is then too
  close to the reference on that item, a property of the item, not of the assessor);
- **headphone rule** (not BS.1534-3; the web app's screening before the trials): exclude
  an assessor whose headphone check failed (``headphone_check`` = ``failed``), when the
  ratings carry that column.

Edge cases, fixed here and tested: "below" and "above" are strict (a rating of exactly
0.9 never counts); "more than" is strict and exact (3 of 20 items is exactly 15 % and
keeps the assessor; an item where exactly 25 % rate the anchor above 0.9 is not exempt).
Fractions are compared as exact rationals, never as rounded floats. An item is one
scored trial of one assessor; for the 25 % rule the assessors of an item are those who
rated that task and passage. An exempt item leaves the anchor rule entirely: it counts
neither as a violation nor in the denominator (the items on which the assessor rated
the mid anchor), as the web app's dashboard flags do. Training trials never count.
The rules pool both tasks: an assessor excluded is excluded from every task.

A test may be designed without a hidden reference or without anchors (``reference:
none``, ``anchors: false``): when the default reference (``target``) or mid anchor
(``anchor_7k``) has no ratings, that rule is skipped with a note. Any other name was
chosen by the user (``--reference``, ``--mid-anchor``), so a name nobody rated is a typo,
and an error (:class:`UnratedMethodError`) rather than a rule silently switched off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import pandas as pd

from dmc.contracts.conditions import MID_ANCHOR, REFERENCE, check_method_name
from dmc.contracts.ratings import RatingsError

REFERENCE_METHOD = REFERENCE

REPORT_COLUMNS = (
    "rater_id",
    "items",
    "reference_items",
    "reference_below",
    "reference_fraction",
    "anchor_items",
    "anchor_above",
    "anchor_fraction",
    "reference_excluded",
    "anchor_excluded",
    "headphones_excluded",
    "excluded",
    "reason",
)


class UnratedMethodError(RatingsError):
    """A reference or mid anchor the user named that no rating has (a typo, most likely)."""


@dataclass(frozen=True)
class ScreeningRules:
    """Thresholds of the post-screening; defaults are BS.1534-3 on a 0-1 scale.

    Args:
        reference: method name of the hidden reference. Default: ``"target"``.
        mid_anchor: method name of the mid anchor. Default: ``"anchor_7k"``.
        reference_min: a reference rating strictly below this counts. Default: 0.9.
        anchor_max: a mid-anchor rating strictly above this counts. Default: 0.9.
        max_item_fraction: exclude when strictly more than this fraction of an assessor's
            items count, 0-1. Default: 0.15.
        anchor_exemption_fraction: the anchor rule skips an item when strictly more
            than this fraction of its assessors rate the anchor above ``anchor_max``.
            Default: 0.25.
        headphone_check: also exclude assessors whose headphone check failed (the web
            app's ``headphone_check`` column; ratings without it are not affected).
            Default: True.
    """

    reference: str = REFERENCE_METHOD
    mid_anchor: str = MID_ANCHOR
    reference_min: float = 0.9
    anchor_max: float = 0.9
    max_item_fraction: float = 0.15
    anchor_exemption_fraction: float = 0.25
    headphone_check: bool = True

    def __post_init__(self):
        for name in (
            "reference_min",
            "anchor_max",
            "max_item_fraction",
            "anchor_exemption_fraction",
        ):
            value = getattr(self, name)
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], not {value!r}")
        for name in ("reference", "mid_anchor"):
            try:
                check_method_name(getattr(self, name))
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None


@dataclass
class ScreeningResult:
    """What the screening kept and why it excluded whom.

    Attributes:
        ratings: scored (non-training) rows of the kept assessors; every assessor's rows
            when the screening was turned off.
        report: one row per assessor, columns :data:`REPORT_COLUMNS`; ``excluded`` says
            what the rules decided even when they were not applied.
        exempt_items: items where the anchor rule was not applied (task, passage_id,
            raters, above, fraction).
        applied: whether excluded assessors were removed from ``ratings``.
    """

    ratings: pd.DataFrame
    report: pd.DataFrame
    exempt_items: pd.DataFrame
    rules: ScreeningRules
    applied: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def excluded(self) -> list[str]:
        """Assessors the rules exclude (removed from ``ratings`` only when ``applied``)."""
        return self.report.loc[self.report["excluded"], "rater_id"].tolist()

    def summary(self) -> list[str]:
        """Human-readable lines: who was kept, who was excluded and why, exempt items."""
        total, out = len(self.report), len(self.excluded)
        if not self.applied:
            lines = [
                f"screening off: all {total} raters kept ({out} would be excluded by BS.1534-3)"
            ]
        else:
            lines = [
                f"screening (ITU-R BS.1534-3, 0-1 scale): kept {total - out} of {total} raters"
            ]
        for row in self.report.loc[self.report["excluded"]].itertuples():
            verb = "excluded" if self.applied else "would exclude"
            lines.append(f"  {verb} {row.rater_id}: {row.reason}")
        for row in self.exempt_items.itertuples():
            lines.append(
                f"  anchor rule not applied to {row.task}/{row.passage_id}: {row.above} of "
                f"{row.raters} raters ({row.fraction:.0%}) rated {self.rules.mid_anchor} "
                f"above {self.rules.anchor_max:g}"
            )
        return lines + [f"  note: {n}" for n in self.notes]


def exceeds(count, total, fraction: float) -> np.ndarray:
    """``count / total > fraction`` decided exactly (``fraction`` read as its decimal text).

    Float division would make "exactly 15 %" depend on rounding; integer cross
    multiplication does not. ``total == 0`` never exceeds.
    """
    exact = Fraction(str(fraction))
    count = np.asarray(count, dtype=np.int64)
    total = np.asarray(total, dtype=np.int64)
    return (count * exact.denominator > exact.numerator * total) & (total > 0)


def _per_rater(
    rows: pd.DataFrame, flag: np.ndarray, raters: pd.Index
) -> tuple[pd.Series, pd.Series]:
    grouped = pd.DataFrame({"rater_id": rows["rater_id"].to_numpy(), "flag": flag}).groupby(
        "rater_id"
    )["flag"]
    return (
        grouped.size().reindex(raters, fill_value=0).astype(int),
        grouped.sum().reindex(raters, fill_value=0).astype(int),
    )


def _exempt_items(anchor: pd.DataFrame, rules: ScreeningRules) -> pd.DataFrame:
    above = anchor["rating"].to_numpy() > rules.anchor_max
    items = (
        pd.DataFrame(
            {
                "task": anchor["task"].to_numpy(),
                "passage_id": anchor["passage_id"].to_numpy(),
                "above": above,
            }
        )
        .groupby(["task", "passage_id"], sort=True)["above"]
        .agg(raters="size", above="sum")
        .reset_index()
    )
    items["above"] = items["above"].astype(int)
    items["fraction"] = items["above"] / items["raters"]
    exempt = exceeds(items["above"], items["raters"], rules.anchor_exemption_fraction)
    return items.loc[exempt].reset_index(drop=True)


def _reason(row, rules: ScreeningRules) -> str:
    reasons = []
    limit = f"{rules.max_item_fraction:.0%}"
    if row["reference_excluded"]:
        reasons.append(
            f"{rules.reference} below {rules.reference_min:g} on {row['reference_below']} of "
            f"{row['reference_items']} items ({row['reference_fraction']:.0%} > {limit})"
        )
    if row["anchor_excluded"]:
        reasons.append(
            f"{rules.mid_anchor} above {rules.anchor_max:g} on {row['anchor_above']} of "
            f"{row['anchor_items']} items ({row['anchor_fraction']:.0%} > {limit})"
        )
    if row["headphones_excluded"]:
        reasons.append("failed the headphone check (may have listened on loudspeakers)")
    return "; ".join(reasons)


def _check_named_methods(rules: ScreeningRules, rated: set[str]) -> list[str]:
    """Notes for the default reference or mid anchor when nobody rated it (the test was
    designed without one); :class:`UnratedMethodError` for any other name nobody rated."""
    notes = []
    for role, option, name, default, rule in (
        ("reference", "--reference", rules.reference, REFERENCE_METHOD, "reference rule"),
        ("mid anchor", "--mid-anchor", rules.mid_anchor, MID_ANCHOR, "anchor rule"),
    ):
        if name in rated:
            continue
        if name != default:
            raise UnratedMethodError(
                f"the {role} {name!r} ({option}) is not a rated method; the rated methods are "
                f"{', '.join(sorted(rated)) or 'none'}"
            )
        notes.append(f"no ratings of the {role} {name!r}: {rule} not applied")
    return notes


def screen(
    ratings: pd.DataFrame, rules: ScreeningRules | None = None, apply: bool = True
) -> ScreeningResult:
    """Apply the BS.1534-3 post-screening to validated ratings.

    Args:
        ratings: rows from :mod:`analysis.ratings`; training rows are ignored.
        rules: thresholds; default :class:`ScreeningRules` ().
        apply: ``False`` reports who would be excluded but keeps everybody (the
            ``--no-screening`` flag).

    Returns:
        A :class:`ScreeningResult`.

    Raises:
        UnratedMethodError: ``rules`` name a reference or mid anchor other than the
            default that no scored row rates.
    """
    rules = rules or ScreeningRules()
    scored = ratings.loc[~ratings["is_training"].to_numpy(dtype=bool)]
    raters = pd.Index(sorted(scored["rater_id"].unique()), name="rater_id")
    methods = scored["method"].to_numpy()
    notes = _check_named_methods(rules, set(methods))

    reference = scored.loc[methods == rules.reference]
    ref_items, ref_below = _per_rater(
        reference, reference["rating"].to_numpy() < rules.reference_min, raters
    )
    anchor = scored.loc[methods == rules.mid_anchor]
    exempt = _exempt_items(anchor, rules)
    exempt_keys = set(zip(exempt["task"], exempt["passage_id"]))
    if exempt_keys:
        keys = pd.MultiIndex.from_arrays(
            [anchor["task"].to_numpy(), anchor["passage_id"].to_numpy()]
        )
        anchor = anchor.loc[~keys.isin(list(exempt_keys))]
    anchor_items, anchor_above = _per_rater(
        anchor, anchor["rating"].to_numpy() > rules.anchor_max, raters
    )

    report = pd.DataFrame(
        {
            "items": scored.groupby("rater_id")["trial_id"].nunique().reindex(raters).astype(int),
            "reference_items": ref_items,
            "reference_below": ref_below,
            "reference_fraction": ref_below / ref_items.where(ref_items > 0),
            "anchor_items": anchor_items,
            "anchor_above": anchor_above,
            "anchor_fraction": anchor_above / anchor_items.where(anchor_items > 0),
        },
        index=raters,
    )
    report["reference_excluded"] = exceeds(ref_below, ref_items, rules.max_item_fraction)
    report["anchor_excluded"] = exceeds(anchor_above, anchor_items, rules.max_item_fraction)
    failed: set[str] = set()
    if rules.headphone_check and "headphone_check" in scored:
        failed = set(scored.loc[scored["headphone_check"] == "failed", "rater_id"])
    report["headphones_excluded"] = report.index.isin(list(failed))
    report["excluded"] = (
        report["reference_excluded"] | report["anchor_excluded"] | report["headphones_excluded"]
    )
    report["reason"] = [
        _reason(row, rules) if row["excluded"] else "" for _, row in report.iterrows()
    ]
    report = report.reset_index()[list(REPORT_COLUMNS)]

    kept = scored
    if apply:
        excluded = set(report.loc[report["excluded"], "rater_id"])
        kept = scored.loc[~scored["rater_id"].isin(excluded).to_numpy()]
    return ScreeningResult(kept.reset_index(drop=True), report, exempt, rules, apply, notes)
