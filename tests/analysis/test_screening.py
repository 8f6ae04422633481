"""BS.1534-3 post-screening on crafted panels, with the 15 % and 25 % boundaries exactly."""

from __future__ import annotations

import pytest

from analysis.screening import ScreeningRules, UnratedMethodError, exceeds, screen


def _reference_series(n_items: int, n_low: int, low: float = 0.5) -> list[float]:
    return [low] * n_low + [1.0] * (n_items - n_low)


def test_exceeds_is_exact_at_the_boundary():
    assert not exceeds(3, 20, 0.15)  # exactly 15 %
    assert exceeds(4, 20, 0.15)
    assert not exceeds(1, 4, 0.25)  # exactly 25 %
    assert exceeds(2, 4, 0.25)
    assert not exceeds(29, 100, 0.29)  # 0.29 * 100 is 28.999999999999996 in floating point
    assert not exceeds(0, 0, 0.15)


@pytest.mark.parametrize("n_low, excluded", [(3, False), (4, True)])
def test_reference_rule_boundary_at_15_percent(make_panel, n_low, excluded):
    ratings = make_panel(
        {
            "edge": {"target": _reference_series(20, n_low)},
            "good": {"target": _reference_series(20, 0)},
        }
    )
    result = screen(ratings)
    row = result.report.set_index("rater_id").loc["edge"]
    assert (row["reference_below"], row["reference_items"]) == (n_low, 20)
    assert bool(row["excluded"]) is excluded
    assert ("edge" in result.excluded) is excluded
    assert set(result.ratings["rater_id"]) == ({"good"} if excluded else {"edge", "good"})


def test_reference_rating_of_exactly_0_9_does_not_count(make_panel):
    ratings = make_panel({"r1": {"target": [0.9] * 10}, "r2": {"target": [0.8999] * 2 + [1.0] * 8}})
    report = screen(ratings).report.set_index("rater_id")
    assert report.loc["r1", "reference_below"] == 0 and not report.loc["r1", "excluded"]
    assert report.loc["r2", "reference_below"] == 2 and report.loc["r2", "excluded"]


@pytest.mark.parametrize("n_high, excluded", [(3, False), (4, True)])
def test_anchor_rule_boundary_at_15_percent(make_panel, n_high, excluded):
    # Twenty items; the edge rater puts the mid anchor above 0.9 on n_high of them. Eight
    # other raters keep every item's share of high anchors at 1/9 (below 25 %).
    raters = {"edge": {"target": [1.0] * 20, "anchor_7k": [0.95] * n_high + [0.4] * (20 - n_high)}}
    raters |= {f"r{i}": {"target": [1.0] * 20, "anchor_7k": [0.4] * 20} for i in range(8)}
    report = screen(make_panel(raters)).report.set_index("rater_id")
    assert (report.loc["edge", "anchor_above"], report.loc["edge", "anchor_items"]) == (n_high, 20)
    assert bool(report.loc["edge", "excluded"]) is excluded
    assert not report.drop(index="edge")["excluded"].any()


def test_anchor_rating_of_exactly_0_9_does_not_count(make_panel):
    ratings = make_panel({f"r{i}": {"target": [1.0] * 4, "anchor_7k": [0.9] * 4} for i in range(4)})
    result = screen(ratings)
    assert result.excluded == [] and len(result.exempt_items) == 0


def _anchor_panel(high_on_p01: int) -> dict:
    """Four raters, four items; ``high_on_p01`` of them rate the anchor above 0.9 on item 1 only."""
    return {
        f"r{i}": {
            "target": [1.0] * 4,
            "anchor_7k": [0.95 if i < high_on_p01 else 0.4, 0.4, 0.4, 0.4],
        }
        for i in range(4)
    }


def test_item_with_exactly_25_percent_high_anchor_keeps_the_anchor_rule(make_panel):
    result = screen(make_panel(_anchor_panel(high_on_p01=1)))  # 1 of 4 raters = 25 %: not exempt
    assert len(result.exempt_items) == 0
    assert result.excluded == ["r0"]  # 1 of 4 items = 25 % > 15 %
    assert (
        "anchor_7k above 0.9 on 1 of 4 items"
        in result.report.set_index("rater_id").loc["r0", "reason"]
    )


def test_item_with_more_than_25_percent_high_anchor_is_exempt(make_panel):
    result = screen(make_panel(_anchor_panel(high_on_p01=2)))  # 2 of 4 raters = 50 %: exempt
    assert result.exempt_items[["task", "passage_id", "raters", "above"]].values.tolist() == [
        ["drums", "drums-p01", 4, 2]
    ]
    assert result.excluded == []
    report = result.report.set_index("rater_id")
    # The exempt item leaves the anchor rule entirely: 0 violations on the 3 other items.
    assert (report.loc["r0", "anchor_above"], report.loc["r0", "anchor_items"]) == (0, 3)
    assert any("anchor rule not applied to drums/drums-p01" in line for line in result.summary())


def test_exemption_does_not_shield_violations_on_other_items(make_panel):
    raters = _anchor_panel(high_on_p01=2)
    raters["r0"]["anchor_7k"][3] = 0.99  # r0 alone is high on item 4: 1 of 3 counted items
    result = screen(make_panel(raters))
    assert result.excluded == ["r0"]


def test_training_trials_never_count_and_are_dropped(make_panel):
    ratings = make_panel(
        {"r1": {"target": [1.0] * 5}, "r2": {"target": [1.0] * 5}},
        training={"target": 0.0, "anchor_7k": 1.0},
    )
    result = screen(ratings)
    assert result.excluded == []
    assert not result.ratings["is_training"].any()
    assert result.report.set_index("rater_id").loc["r1", "items"] == 5


def test_screening_off_keeps_everybody_but_reports(make_panel):
    ratings = make_panel({"bad": {"target": [0.1] * 5}, "good": {"target": [1.0] * 5}})
    result = screen(ratings, apply=False)
    assert set(result.ratings["rater_id"]) == {"bad", "good"}
    assert result.excluded == ["bad"]
    assert result.summary()[0].startswith("screening off")
    assert "would exclude bad" in "\n".join(result.summary())


def test_missing_reference_is_noted_not_fatal(make_panel):
    result = screen(make_panel({"r1": {"console": [0.5] * 3}}, filler={}))
    assert result.excluded == []
    assert any("reference" in n for n in result.notes)


def test_a_test_without_reference_or_anchors_is_screened_with_notes(make_panel):
    """A design with reference: none and no anchors: the default names are unrated, both
    rules are skipped with a note each, nobody is excluded, and nothing is an error."""
    ratings = make_panel({"r1": {"console": [0.5] * 3}, "r2": {"console": [0.4] * 3}}, filler={})
    result = screen(ratings)
    assert result.excluded == [] and set(result.ratings["rater_id"]) == {"r1", "r2"}
    assert result.notes == [
        "no ratings of the reference 'target': reference rule not applied",
        "no ratings of the mid anchor 'anchor_7k': anchor rule not applied",
    ]


@pytest.mark.parametrize(
    "rules, option",
    [
        (ScreeningRules(reference="targte"), "the reference 'targte' (--reference)"),
        (ScreeningRules(mid_anchor="anchor_7"), "the mid anchor 'anchor_7' (--mid-anchor)"),
    ],
)
@pytest.mark.parametrize("apply", [True, False])
def test_a_named_method_nobody_rated_is_an_error_not_a_rule_switched_off(
    make_panel, rules, option, apply
):
    ratings = make_panel({"r1": {"target": [1.0] * 3, "anchor_7k": [0.3] * 3}})
    with pytest.raises(UnratedMethodError) as caught:
        screen(ratings, rules, apply=apply)
    assert str(caught.value) == (
        f"{option} is not a rated method; the rated methods are "
        "anchor_3k5, anchor_7k, console, target"
    )


def test_custom_rules_and_bad_rules(make_panel):
    ratings = make_panel({"r1": {"target": [0.85] * 4}})
    assert screen(ratings, ScreeningRules(reference_min=0.8)).excluded == []
    with pytest.raises(ValueError, match="max_item_fraction"):
        ScreeningRules(max_item_fraction=1.5)
    with pytest.raises(ValueError, match="reference: method name 'Hidden Ref'"):
        ScreeningRules(reference="Hidden Ref")


def test_simulated_failing_raters_are_excluded(simulated_ratings):
    from analysis.simulate import simulate_panel

    panel = simulate_panel(12, seed=3)
    result = screen(panel.ratings)
    assert set(panel.failing_raters) <= set(result.excluded)
    assert len(result.excluded) <= len(panel.failing_raters) + 1


def test_agrees_with_the_web_app_dashboard_flags(simulated_ratings):
    dashboard = pytest.importorskip("webapp.services.screening")
    flags = {r.rater_id: r.flagged for r in dashboard.screen(simulated_ratings.to_dict("records"))}
    report = screen(simulated_ratings).report.set_index("rater_id")["excluded"]
    assert flags == {rater: bool(flag) for rater, flag in report.items()}
