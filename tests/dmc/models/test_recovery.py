"""Parameter recovery (dmc.train.recovery) and the settings spread beside the engineer's.

Hand-built settings whose errors are known, so every figure of the tables can be checked.
"""

from __future__ import annotations

import numpy as np
import pytest

from dmc.train.evaluate import parameter_spread_markdown
from dmc.train.recovery import (
    mirrored_pan_errors,
    recovery_markdown,
    recovery_table,
    song_errors,
)

ROLES = ("kick", "overhead", "overhead", "bass", "guitar", "keys")


def test_pans_are_compared_per_group_in_the_closer_orientation():
    # the kit seen from the other side (mirrored), the band as the engineer placed it
    true = [0.5, 0.2, 0.8, 0.5, 0.3, 0.7]
    predicted = [0.5, 0.8, 0.2, 0.5, 0.35, 0.7]
    errors = mirrored_pan_errors(predicted, true, ROLES)
    np.testing.assert_allclose(errors, [0, 0, 0, 0, 0.05, 0], atol=1e-12)
    # one mirror for the whole mix would cost the kit or the band: each group is apart
    as_is = np.abs(np.subtract(predicted, true)).sum()
    mirrored = np.abs(np.subtract(1 - np.asarray(predicted), true)).sum()
    assert errors.sum() == pytest.approx(0.05) and min(as_is, mirrored) > 0.7


def test_song_errors_are_absolute_in_real_units_and_missing_settings_are_neutral():
    predicted = [{"gain_db": -3.0, "comp_ratio": 4.0, "pan": 0.5}] * 2
    true = [{"gain_db": -5.0, "comp_ratio": 2.0, "pan": 0.5}, {"gain_db": 1.0, "pan": 0.5}]
    errors = song_errors(predicted, true, ("bass", "guitar"))
    assert set(errors) == {"gain_db", "comp_ratio", "pan"}
    np.testing.assert_allclose(errors["gain_db"], [2.0, 4.0])
    np.testing.assert_allclose(errors["comp_ratio"], [2.0, 3.0])  # the second: ratio 1 (neutral)
    with pytest.raises(ValueError, match="one setting and role per track"):
        song_errors(predicted, true[:1], ("bass", "guitar"))


def test_the_table_reports_where_a_setting_matters_and_the_neutral_answer():
    true = [
        {"comp_ratio": 4.0, "comp_threshold_db": -30.0},
        {"comp_ratio": 1.0, "comp_threshold_db": 0.0},
        {"comp_ratio": 3.0, "comp_threshold_db": -20.0},
    ]
    errors = {
        "comp_ratio": np.array([1.0, 0.0, 0.5]),
        "comp_threshold_db": np.array([2.0, 40.0, 4.0]),
    }
    rows = {row["parameter"]: row for row in recovery_table(true, errors)}
    ratio, threshold = rows["comp_ratio"], rows["comp_threshold_db"]
    assert ratio["median_abs_error"] == 0.5 and "engaged_tracks" not in ratio
    assert ratio["neutral_median_abs_error"] == 2.0  # |4-1|, |1-1|, |3-1|
    # the threshold matters on the two compressed tracks only: median of 2 and 4
    assert threshold["engaged_tracks"] == 2 and threshold["engaged_median_abs_error"] == 3.0
    assert threshold["median_abs_error"] == 4.0 and threshold["neutral_median_abs_error"] == 20.0
    text = recovery_markdown("full", list(rows.values()))
    assert "| comp_ratio | 3 | 0.5 | 2 | all | - |" in text
    assert "| comp_threshold_db | 3 | 4 | 20 | 2 | 3 |" in text
    never = recovery_table([{"comp_ratio": 1.0}], {"comp_attack_ms": np.array([1.0])})
    assert "| 0 | - |" in recovery_markdown("full", never)  # never engaged: no error to give


def test_the_settings_spread_stands_beside_the_engineers():
    params = [{"gain_db": g, "pan": 0.5} for g in (-6.0, -3.0, 0.0)]
    engineer = [{"gain_db": g, "pan": p} for g, p in ((-9.0, 0.1), (-4.0, 0.5), (3.0, 0.9))]
    alone = parameter_spread_markdown("drums", params)
    assert "engineer" not in alone
    assert "| gain_db | 0 | -6 | -3 | 0 | 67% |" in alone
    text = parameter_spread_markdown("drums", params, engineer)
    assert "engineer's median (min to max) | engineer's away |" in text.splitlines()[0]
    assert "| gain_db | 0 | -6 | -3 | 0 | 67% | -4 (-9 to 3) | 100% |" in text
    assert "| pan | 0.5 | 0.5 | 0.5 | 0.5 | 0% | 0.5 (0.1 to 0.9) | 67% |" in text
    assert all(line.count("|") == text.splitlines()[0].count("|") for line in text.splitlines())
