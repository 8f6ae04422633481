"""Spreadsheet-formula escaping and the BS.1534-3 screening rules, on hand-made rows."""

from __future__ import annotations

import csv
import io

import pytest

from dmc.contracts.ratings import escape_cell, to_csv
from webapp.services.screening import screen


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("  =HYPERLINK(x)", "'  =HYPERLINK(x)"),
        ("\t=1", "'\t=1"),
        ("\r\n=1", "'\r\n=1"),
        ("great mix", "great mix"),
        ("a = b", "a = b"),
        ("", ""),
        (-0.5, -0.5),
        (3, 3),
        (None, None),
        (True, True),
    ],
)
def test_escape_cell(value, expected):
    assert escape_cell(value) == expected


def test_csv_round_trip_keeps_escaped_text_in_one_cell():
    rows = [{"rater_id": "r00001", "comment": '=cmd|" /C calc"!A0,\nsecond line', "rating": -0.0}]
    text = to_csv(rows, ("rater_id", "comment", "rating"))
    (back,) = list(csv.DictReader(io.StringIO(text)))
    assert back["comment"] == "'" + rows[0]["comment"] and back["rating"] == "-0.0"


def _rows(rater: str, item_ratings: dict[str, list[float]], training: bool = False) -> list[dict]:
    out = []
    for method, values in item_ratings.items():
        for i, value in enumerate(values):
            out.append(
                {
                    "rater_id": rater,
                    "task": "drums",
                    "passage_id": f"p{i}",
                    "trial_id": f"{'training:' if training else ''}drums:p{i}",
                    "method": method,
                    "rating": value,
                    "is_training": training,
                }
            )
    return out


def test_reference_rule_flags_above_fifteen_percent():
    # 1 of 10 items low (10 %) passes; 2 of 10 (20 %) is flagged.
    ok = _rows("a", {"target": [0.5] + [1.0] * 9})
    bad = _rows("b", {"target": [0.5, 0.8] + [1.0] * 8})
    results = {r.rater_id: r for r in screen(ok + bad)}
    assert results["a"].reference_low_fraction == pytest.approx(0.1) and not results["a"].flagged
    assert results["b"].reference_low_fraction == pytest.approx(0.2) and results["b"].flag_reference


def test_anchor_rule_skips_items_most_raters_find_hard():
    # Item p0: 3 of 4 raters put the mid anchor above 0.9 (75 % > 25 %), so it is skipped.
    rows = []
    for rater, first in (("a", 0.95), ("b", 0.95), ("c", 0.95), ("d", 0.2)):
        rows += _rows(rater, {"target": [1.0] * 5, "anchor_7k": [first, 0.3, 0.3, 0.3, 0.3]})
    rows += _rows("e", {"target": [1.0] * 5, "anchor_7k": [0.2, 0.95, 0.3, 0.3, 0.3]})
    results = {r.rater_id: r for r in screen(rows)}
    assert results["a"].anchor_items == 4 and results["a"].anchor_high_fraction == 0.0
    assert not results["a"].flag_anchor
    assert results["e"].anchor_high_fraction == pytest.approx(0.25) and results["e"].flag_anchor


def test_training_trials_do_not_count_and_missing_methods_give_no_flag():
    rows = _rows("a", {"target": [0.1] * 4}, training=True) + _rows("a", {"console": [0.5] * 4})
    (result,) = screen(rows)
    assert (
        result.reference_items == 0 and result.reference_low_fraction is None and not result.flagged
    )
