"""Each ``randomize`` flag of a test config on its own.

Every other design test leaves both flags on, so reading one flag for the other (in the
config or in the plans) would pass them, and a test meant to keep the conditions in a
fixed letter order (or the trials in a fixed order) would silently shuffle them, or not
shuffle what it should. Here the shipped ``evaluation/configs/default.yaml`` is loaded with
one flag turned off at a time, and each rater's plan is checked for what each flag controls:
the order of the scored trials, and which letter stands for which method.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dmc.contracts.manifest import Condition, Manifest, PassageEntry
from evaluation.design import LABELS, build_design, load_config, plan_for_rater

CONFIGS = Path(__file__).resolve().parents[2] / "evaluation" / "configs"
METHODS = ("target", "console", "demucs", "random", "mono")
RATERS = [f"r{i:05d}" for i in range(1, 9)]


@pytest.fixture(scope="module")
def manifest():
    """Six drums passages of five methods (the files' names are opaque; only plans are built)."""
    entries = []
    for i in range(6):
        conditions = [
            Condition(m, f"audio/{i:02d}{k:02d}.mp3", "0" * 64, -23.0, -3.0, 10.0)
            for k, m in enumerate(METHODS)
        ]
        entries.append(
            PassageEntry(f"song{i}@{12.5 * i:07.2f}s", f"song{i}", 12.5 * i, 10.0, conditions)
        )
    return Manifest({"drums": entries}, "2026-01-01T00:00:00Z", "0.1.0", 44100)


def design_with(manifest, tmp_path, trial_order: bool, condition_order: bool):
    text = (CONFIGS / "default.yaml").read_text()
    for key, value in (("trial_order", trial_order), ("condition_order", condition_order)):
        assert f"  {key}: true" in text
        text = text.replace(f"  {key}: true", f"  {key}: {str(value).lower()}")
    path = tmp_path / "test.yaml"
    path.write_text(text)
    config = load_config(path)
    assert (config.randomize_trial_order, config.randomize_condition_order) == (
        trial_order,
        condition_order,
    )
    return build_design(manifest, config, check_files=False)


def orders_and_letters(design):
    """Per rater: the scored trials' order, and whether every trial's letters are canonical
    (A the first method of the trial, B the second...)."""
    canonical = {t.trial_id: tuple(zip(LABELS, t.methods)) for t in design.all_trials}
    out = {}
    for rater in RATERS:
        plan = plan_for_rater(design, rater)
        scored = tuple(t.trial_id for t in plan.trials if not t.is_training)
        letters = [t.labels == canonical[t.trial_id] for t in plan.trials]
        out[rater] = (scored, letters)
    return out


def test_trial_order_alone_shuffles_the_trials_and_keeps_the_letters(manifest, tmp_path):
    design = design_with(manifest, tmp_path, trial_order=True, condition_order=False)
    in_order = tuple(t.trial_id for t in design.trials)
    plans = orders_and_letters(design)
    orders = {scored for scored, _ in plans.values()}
    assert len(orders) > len(RATERS) // 2  # raters hear the passages in their own orders
    assert sum(scored != in_order for scored, _ in plans.values()) >= len(RATERS) - 1
    for scored, letters in plans.values():
        assert sorted(scored) == sorted(in_order)
        assert all(letters)  # A is the first method of every trial, for every rater


def test_condition_order_alone_shuffles_the_letters_and_keeps_the_trials(manifest, tmp_path):
    design = design_with(manifest, tmp_path, trial_order=False, condition_order=True)
    in_order = tuple(t.trial_id for t in design.trials)
    plans = orders_and_letters(design)
    for scored, letters in plans.values():
        assert scored == in_order  # every rater hears the passages in the design's order
        assert letters.count(False) >= len(letters) - 2  # shuffled on (nearly) every trial
    # and per rater: the same trial is behind other letters for other raters
    first = {plan_for_rater(design, r).trials[-1].labels for r in RATERS}
    assert len(first) > len(RATERS) // 2


def test_neither_flag_gives_every_rater_the_canonical_plan(manifest, tmp_path):
    design = design_with(manifest, tmp_path, trial_order=False, condition_order=False)
    in_order = tuple(t.trial_id for t in design.trials)
    for scored, letters in orders_and_letters(design).values():
        assert scored == in_order and all(letters)


def test_the_flags_are_part_of_the_design_hash(manifest, tmp_path):
    hashes = {
        design_with(manifest, tmp_path, a, b).design_hash
        for a in (True, False)
        for b in (True, False)
    }
    assert len(hashes) == 4
