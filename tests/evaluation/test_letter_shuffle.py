"""The letters of a rater's trials: a new shuffle on every page, the reference on no fixed letter.

If a rater's letter -> method mapping were the same on every trial of a task, the
listener would learn after one trial which letter is the reference, the anchor and each
method, and every later rating of theirs would be biased. Mutation testing
(``benchmarks/bench_mutation.py``) found that the tests comparing plans *between* raters
did not see this; these tests assert the property within one rater.
"""

from __future__ import annotations

from collections import Counter
from itertools import combinations
from pathlib import Path

import pytest
from scipy import stats

from dmc.contracts.manifest import Condition, Manifest, PassageEntry
from evaluation.design import build_design, load_config, plan_for_rater

CONFIGS = Path(__file__).resolve().parents[2] / "evaluation" / "configs"
ALL = ("target", "console", "demucs", "random", "mono", "anchor_7k", "anchor_3k5")
RATERS = 300


def _manifest(drums: int = 6, full: int = 4) -> Manifest:
    """A manifest of every method on every passage; the files are never read."""
    tasks = {}
    for task, count in (("drums", drums), ("full", full)):
        methods = ALL if task == "drums" else [m for m in ALL if m != "demucs"]
        tasks[task] = [
            PassageEntry(
                f"song{i}@0000.00s",
                f"song{i}",
                0.0,
                1.0,
                [
                    Condition(m, f"audio/{task}{i}{m}.mp3", "0" * 64, -23.0, -3.0, 1.0)
                    for m in methods
                ],
            )
            for i in range(count)
        ]
    return Manifest(tasks, "2026-01-01T00:00:00Z", "0.1.0", 44100)


@pytest.fixture(scope="module", params=["default.yaml", "bs1534.yaml"])
def plans(request):
    design = build_design(_manifest(), load_config(CONFIGS / request.param), check_files=False)
    return design, [plan_for_rater(design, f"r{i:05d}") for i in range(RATERS)]


def _by_task(design, plan) -> dict[str, list]:
    tasks: dict[str, list] = {}
    for planned in plan.trials:
        if not planned.is_training:
            tasks.setdefault(design.trial(planned.trial_id).task, []).append(planned)
    return tasks


def test_a_raters_letters_change_from_trial_to_trial_of_a_task(plans):
    design, rater_plans = plans
    pairs = same = constant_reference = tasks_seen = 0
    for plan in rater_plans:
        for trials in _by_task(design, plan).values():
            if len(trials) < 2:
                continue
            tasks_seen += 1
            mappings = [t.labels for t in trials]
            if len(trials) >= 3:  # two trials may share a mapping by chance, three hardly
                assert len(set(mappings)) > 1, f"{plan.rater_id}: one mapping on every trial"
            for a, b in combinations(mappings, 2):
                pairs += 1
                same += a == b
            reference_letters = {
                label for t in trials for label, method in t.labels if method == "target"
            }
            constant_reference += len(reference_letters) == 1
    assert tasks_seen > RATERS  # most raters have several trials of each task
    # Independent shuffles of 5 or 6 conditions repeat a mapping in 1/120 or 1/720 of pairs.
    assert same / pairs < 0.02
    # The reference sits on one letter across all of a task's trials only by chance.
    assert constant_reference / tasks_seen < 0.1


def test_the_reference_is_on_every_letter_about_equally_often(plans):
    _, rater_plans = plans
    positions: dict[int, Counter] = {}  # conditions on the page -> letter index of the reference
    for plan in rater_plans:
        for planned in plan.trials:
            if not planned.is_training:
                methods = [method for _, method in planned.labels]
                positions.setdefault(len(methods), Counter())[methods.index("target")] += 1
    for size, counts in positions.items():
        observed = [counts[i] for i in range(size)]
        assert sum(observed) >= 100 * size
        assert stats.chisquare(observed).pvalue > 0.001, (size, observed)
