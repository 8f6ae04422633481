"""Per-rater plans: which trials a rater does, in which order, behind which letters.

A plan is seeded by the design seed and the rater id, so it can always be recomputed,
and the web app also records it when the rater is created. Trial and condition orders
are shuffled per rater (BS.1534-3); with a subset size in the config, each rater gets
the least-assigned trials, which keeps the panel balanced as raters arrive.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass

from evaluation.design.config import MAX_SIGNALS
from evaluation.design.core import TestDesign

#: Mixed into a rater's seed for drawing training passages (see :func:`plan_for_rater`).
TRAINING_STREAM = 0x7A1B
#: Letters that stand for conditions on a trial page, in display order.
LABELS = "ABCDEFGHIJKL"
assert len(LABELS) == MAX_SIGNALS


@dataclass(frozen=True)
class PlannedTrial:
    """A trial as one rater sees it: ``labels`` pairs each letter with a method."""

    trial_id: str
    is_training: bool
    labels: tuple[tuple[str, str], ...]

    @property
    def method_of(self) -> dict[str, str]:
        return dict(self.labels)


@dataclass(frozen=True)
class RaterPlan:
    """The recorded order of trials (training first) and condition letters of one rater."""

    rater_id: str
    seed: int
    design_hash: str
    trials: tuple[PlannedTrial, ...]

    def to_json(self) -> dict:
        return {
            "rater_id": self.rater_id,
            "seed": self.seed,
            "design_hash": self.design_hash,
            "trials": [
                {"trial_id": t.trial_id, "is_training": t.is_training, "labels": dict(t.labels)}
                for t in self.trials
            ],
        }


def rater_seed(design_seed: int, rater_id: str) -> int:
    """A 63-bit seed from the design seed and the rater id (stable across Python runs)."""
    digest = hashlib.sha256(f"{design_seed}:{rater_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def plan_for_rater(
    design: TestDesign, rater_id: str, assignment_counts: Mapping[str, int] | None = None
) -> RaterPlan:
    """The trials one rater does, in order, with their condition letters.

    Args:
        design: the test.
        rater_id: the rater's public id; with the design seed it seeds every shuffle.
        assignment_counts: trial id -> raters already given it. With a subset size in
            the config, the rater gets the least-assigned trials (ties broken at
            random), which keeps the number of raters per trial within one of each
            other when raters arrive one after another.

    Returns:
        The plan; training trials first, then the test trials.
    """
    config = design.config
    seed = rater_seed(config.seed, rater_id)
    rng = random.Random(seed)
    trials = list(design.trials)
    if config.trials_per_rater is not None:
        counts = assignment_counts or {}
        keyed = [(counts.get(t.trial_id, 0), rng.random(), i) for i, t in enumerate(trials)]
        chosen = sorted(sorted(keyed)[: config.trials_per_rater], key=lambda k: k[2])
        trials = [trials[i] for _, _, i in chosen]
    if config.randomize_trial_order:
        rng.shuffle(trials)
    training = list(design.training)
    if design.training_unrated:
        # Training previews nothing this rater scores; drawn from a stream of its own so
        # that the subset and the orders do not depend on it.
        rated = {(t.task, t.passage_id) for t in trials}
        spare = [t for t in training if (t.task, t.passage_id) not in rated]
        training = random.Random(seed ^ TRAINING_STREAM).sample(spare, config.training.trials)
    planned = []
    for trial in training + trials:
        methods = list(trial.methods)
        if config.randomize_condition_order:
            rng.shuffle(methods)
        planned.append(PlannedTrial(trial.trial_id, trial.is_training, tuple(zip(LABELS, methods))))
    return RaterPlan(rater_id, seed, design.design_hash, tuple(planned))
