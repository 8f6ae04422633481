"""Simulated panels (export format, seeded, failing raters) and the power analysis."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from analysis import power, simulate
from analysis.power import comparison_model, power_table, raters_needed
from analysis.ratings import RATING_COLUMNS, read_ratings_file, validate_ratings
from analysis.screening import screen
from analysis.simulate import PanelModel, parse_effects, simulate_panel


def test_panel_has_the_export_columns_and_is_marked_simulated():
    ratings = simulate_panel(8, seed=1).ratings
    assert tuple(ratings.columns) == RATING_COLUMNS
    assert ratings["is_simulated"].all()
    assert ratings["rating"].between(0.0, 1.0).all()
    validated = validate_ratings(ratings)  # no duplicate (rater, trial, method), known methods
    assert len(validated) == len(ratings)
    per_rater = ratings.groupby("rater_id")
    assert (per_rater["is_training"].sum() > 0).all()
    assert set(ratings.loc[ratings["task"] == "full", "method"]) == set(
        simulate.DEFAULT_QUALITY["full"]
    )


def test_panels_are_deterministic_per_seed():
    a, b, c = simulate_panel(6, seed=4), simulate_panel(6, seed=4), simulate_panel(6, seed=5)
    pd.testing.assert_frame_equal(a.ratings, b.ratings)
    assert not np.allclose(a.ratings["rating"], c.ratings["rating"])


def test_failing_raters_fail_and_careful_raters_pass():
    panel = simulate_panel(20, seed=0)
    assert sorted(panel.failing_raters.values()) == ["anchor_deaf", "careless"]
    excluded = set(screen(panel.ratings).excluded)
    assert set(panel.failing_raters) <= excluded
    assert len(excluded - set(panel.failing_raters)) <= 1


def test_effects_move_the_method_means():
    base = simulate_panel(10, seed=2, model=PanelModel(failing_fraction=0.0)).ratings
    model = PanelModel(failing_fraction=0.0).with_effects(
        parse_effects(["console=0.95", "full:mono=0.1"])
    )
    moved = simulate_panel(10, seed=2, model=model).ratings

    def mean(frame, task, method):
        return frame.loc[(frame["task"] == task) & (frame["method"] == method), "rating"].mean()

    assert mean(moved, "drums", "console") > mean(base, "drums", "console") + 0.15
    assert mean(moved, "full", "mono") < mean(base, "full", "mono") - 0.2
    assert mean(moved, "drums", "mono") == pytest.approx(mean(base, "drums", "mono"))


@pytest.mark.parametrize(
    "items, message",
    [
        (["console"], "bad effect"),
        (["console=high"], "bad effect"),
        (["nope:console=0.5"], "unknown task"),
        (["console=1.5"], "quality must lie in"),
        (["consle=0.5"], "'consle' is not presented in any task"),
        (["full:consle=0.5"], "'consle' is not presented in task 'full'"),
    ],
)
def test_bad_effects_are_clear_errors(items, message):
    with pytest.raises(ValueError, match=message):
        PanelModel().with_effects(parse_effects(items))


def test_cli_writes_a_readable_export(tmp_path, capsys):
    out = tmp_path / "panel" / "ratings.csv"
    assert (
        simulate.main(
            ["--out", str(out), "--raters", "5", "--seed", "3", "--effects", "console=0.8"]
        )
        == 0
    )
    assert "5 raters" in capsys.readouterr().out
    ratings = read_ratings_file(out)
    assert ratings["is_simulated"].all() and ratings["rater_id"].nunique() == 5
    assert (
        simulate.main(["--out", str(tmp_path / "r.json"), "--raters", "3", "--tasks", "drums"]) == 0
    )
    assert set(read_ratings_file(tmp_path / "r.json")["task"]) == {"drums"}
    assert simulate.main(["--effects", "console=2"]) == 2


def test_comparison_model_sets_the_difference():
    model = comparison_model(PanelModel(), "drums", "console", "random", 0.1)
    assert list(model.quality) == ["drums"]
    assert model.quality["drums"]["random"] == pytest.approx(
        model.quality["drums"]["console"] - 0.1
    )
    with pytest.raises(ValueError, match="'demucs' is not presented in task 'full'"):
        comparison_model(PanelModel(), "full", "console", "demucs", 0.1)


def test_power_grows_with_raters_and_difference():
    table = power_table([0.0, 0.25], [3, 10], simulations=10, seed=1, progress=False)
    power = table.set_index(["difference", "raters"])["power"]
    assert power[(0.25, 10)] >= 0.9  # a large difference with ten raters is found
    assert power[(0.25, 10)] >= power[(0.25, 3)]
    assert power[(0.0, 10)] <= 0.25  # no difference: only false positives
    assert (table["ci_low"] <= table["power"]).all() and (table["power"] <= table["ci_high"]).all()
    needed = raters_needed(table, 0.8).set_index("difference")
    assert needed.loc[0.25, "raters_needed"] in (3, 10) and np.isnan(
        needed.loc[0.0, "raters_needed"]
    )


def test_power_cli_prints_table_and_plots(tmp_path, capsys):
    out = tmp_path / "power.csv"
    argv = [
        "--difference",
        "0.3",
        "--raters-grid",
        "4",
        "8",
        "--simulations",
        "4",
        "--out",
        str(out),
    ]
    assert power.main(argv) == 0
    printed = capsys.readouterr().out
    assert "| difference | raters |" in printed and "difference 0.3:" in printed
    assert len(pd.read_csv(out)) == 2
    image = matplotlib.image.imread(out.with_suffix(".png"))
    assert image.shape[0] > 100 and image[..., :3].std() > 0.05
    assert out.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-"
