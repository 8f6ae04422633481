"""Listening-test designs: trials from a render manifest and a test config, plans per rater.

A design turns "these passages were rendered with these methods" (the manifest) and
"this is how the panel should hear them" (the config, :mod:`evaluation.design.config`)
into a fixed list of trials: one per passage, with the rated conditions, the open
reference if any, and the training trials. Each rater then gets a :class:`RaterPlan`:
the trials in a per-rater random order, each trial's conditions behind per-rater
shuffled letters, and optionally a random balanced subset of the trials. Plans are
seeded by the design seed and the rater id, so the same rater always gets the same
plan, and the web app records every plan it hands out.

Why here and not in the web app: the analysis and the simulated panels need the same
trials and plans without a server, and a design can be checked before anybody is
invited: ``python -m evaluation.design --manifest M --config C [--rater r00001]``.
Plans live in :mod:`evaluation.design.plans`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from dmc.contracts.conditions import ANCHORS, sort_methods
from dmc.contracts.manifest import Manifest, PassageEntry, default_render_dir, load_manifest
from evaluation.design.config import (
    MAX_SIGNALS,
    REFERENCE_METHOD,
    DesignError,
    TestConfig,
    load_config,
)
from evaluation.design.hints import condition_hint


@dataclass(frozen=True)
class Trial:
    """One page of the test: every rated condition of one passage.

    Attributes:
        trial_id: stable id, ``"<task>:<passage_id>"`` (``"training:"`` prefixed for
            training trials), so ratings stay attributable when the design is rebuilt.
        methods: rated methods in the manifest's canonical order.
        reference_method: the method behind the open "Reference" button, or ``None``.
        files: method -> audio file name relative to the manifest (opaque).
        duration_seconds: the shortest condition's duration (what the player loops).
    """

    trial_id: str
    task: str
    passage_id: str
    methods: tuple[str, ...]
    reference_method: str | None
    files: dict[str, str]
    is_training: bool
    duration_seconds: float


@dataclass(frozen=True)
class TestDesign:
    """Every trial a rater may see, built by :func:`build_design`.

    Attributes:
        training: the training trials; with ``training_unrated`` these are the
            candidates (one per passage), of which each plan takes the configured number
            from passages that rater does not rate.
    """

    config: TestConfig
    trials: tuple[Trial, ...]
    training: tuple[Trial, ...]
    design_hash: str
    training_unrated: bool = False

    def trial(self, trial_id: str) -> Trial:
        for t in self.training + self.trials:
            if t.trial_id == trial_id:
                return t
        raise KeyError(f"the design has no trial {trial_id!r}")

    @property
    def all_trials(self) -> tuple[Trial, ...]:
        return self.training + self.trials


def _selected_tasks(manifest: Manifest, config: TestConfig) -> list[str]:
    if config.tasks is None:
        return list(manifest.tasks)
    for task in config.tasks:
        if task not in manifest.tasks:
            raise DesignError(
                f"the test config names task {task!r}, "
                f"but the manifest has only {list(manifest.tasks)}"
            )
    return list(config.tasks)


def _canonical(methods: set[str], task_methods: list[str]) -> tuple[str, ...]:
    """The rendered methods in the display order (:func:`dmc.contracts.conditions.sort_methods`)."""
    return tuple(sort_methods(m for m in task_methods if m in methods))


def _rated_methods(
    manifest: Manifest, config: TestConfig, task: str, passage: PassageEntry
) -> tuple[str, ...]:
    passage_id, available = passage.passage_id, passage.methods
    task_methods = manifest.methods(task)
    where = f"task {task!r} passage {passage_id!r}"
    if isinstance(config.conditions, dict):
        if task not in config.conditions:
            raise DesignError(
                f"the test config lists conditions for {list(config.conditions)} "
                f"but not task {task!r}"
            )
        wanted = list(config.conditions[task])
    elif config.conditions is not None:
        wanted = list(config.conditions)
    else:
        wanted = [m for m in available if m != REFERENCE_METHOD and m not in ANCHORS]
    if REFERENCE_METHOD not in task_methods and (config.reference != "none" or config.anchors):
        # a render of multitracks without a reference mix (dmc.render testset --data folder)
        raise DesignError(
            f"task {task!r} has no {REFERENCE_METHOD!r} condition (its multitracks have no reference "
            "mix), so the test cannot use one: set reference: none"
            + (
                " and anchors: false (anchors are the reference low-passed)"
                if config.anchors
                else ""
            )
            + " in the test config"
        )
    wanted += list(config.anchors)
    if config.reference in ("hidden", "both"):
        wanted.append(REFERENCE_METHOD)
    if config.reference in ("open", "both") and REFERENCE_METHOD not in available:
        raise DesignError(f"{where} has no {REFERENCE_METHOD!r} condition for the open reference")
    for method in wanted:
        if method not in task_methods:
            raise DesignError(
                f"unknown condition {method!r}: the manifest's methods for task {task!r} "
                f"are {', '.join(task_methods)}; {condition_hint(method, task, manifest)}"
            )
        if method not in available:
            raise DesignError(
                f"condition {method!r} is not rendered for {where} (it has "
                f"{', '.join(available)}); {condition_hint(method, task, manifest)}"
            )
    methods = _canonical(set(wanted), task_methods)
    if len(methods) > MAX_SIGNALS:
        raise DesignError(
            f"{where} would have {len(methods)} rated signals ({', '.join(methods)}); "
            f"BS.1534-3 allows at most {MAX_SIGNALS}"
        )
    if len(methods) < 2:
        raise DesignError(
            f"{where} would have {len(methods)} rated condition(s); a trial needs at least 2"
        )
    return methods


def _make_trial(
    manifest: Manifest, config: TestConfig, task: str, passage_id: str, is_training: bool
) -> Trial:
    passage = manifest.passage(task, passage_id)
    methods = _rated_methods(manifest, config, task, passage)
    reference = REFERENCE_METHOD if config.reference in ("open", "both") else None
    used = set(methods) | ({reference} if reference else set())
    conditions = [passage.condition(m) for m in passage.methods if m in used]
    prefix = "training:" if is_training else ""
    return Trial(
        trial_id=f"{prefix}{task}:{passage_id}",
        task=task,
        passage_id=passage_id,
        methods=methods,
        reference_method=reference,
        files={c.method: c.file for c in conditions},
        is_training=is_training,
        duration_seconds=min(c.duration_seconds for c in conditions),
    )


def _passage_ids(manifest: Manifest, config: TestConfig, task: str) -> list[str]:
    available = [p.passage_id for p in manifest.passages(task)]
    if config.passages is None or task not in config.passages:
        return available
    for pid in config.passages[task]:
        if pid not in available:
            raise DesignError(
                f"the test config names passage {pid!r} of task {task!r}, which the manifest lacks"
            )
    return list(config.passages[task])


def _training_pairs(config: TestConfig, per_task: dict[str, list[str]]) -> list[tuple[str, str]]:
    if config.training.passages:
        pairs = []
        for entry in config.training.passages:
            task, sep, pid = entry.partition(":")
            if not sep or task not in per_task:
                raise DesignError(
                    f"training passage {entry!r} must be '<task>:<passage_id>' "
                    "with a task of the test"
                )
            pairs.append((task, pid))
        return pairs[: config.training.trials] if config.training.trials else []
    pairs, depth = [], 0
    while len(pairs) < config.training.trials:
        added = False
        for task, pids in per_task.items():
            if depth < len(pids) and len(pairs) < config.training.trials:
                pairs.append((task, pids[depth]))
                added = True
        if not added:
            raise DesignError(
                f"training.trials={config.training.trials} is more than the test's passages"
            )
        depth += 1
    return pairs


def _training_unrated(config: TestConfig, n_trials: int) -> bool:
    """Whether each rater trains on passages they do not rate (see ``TrainingSpec.unrated``)."""
    spec = config.training
    if spec.passages:
        if spec.unrated:
            raise DesignError(
                "training.unrated draws the training passages per rater; "
                "drop it or training.passages"
            )
        return False
    if spec.trials == 0 or spec.unrated is False:
        return False
    spare = n_trials - (config.trials_per_rater or n_trials)
    if spare >= spec.trials:
        return True
    if spec.unrated:
        raise DesignError(
            f"training.unrated needs {spec.trials} passage(s) a rater does not rate, but "
            f"trials_per_rater={config.trials_per_rater or n_trials} of {n_trials} trials "
            f"leaves {spare}; lower trials_per_rater or set training.unrated: false"
        )
    return False


def build_design(manifest: Manifest, config: TestConfig, check_files: bool = True) -> TestDesign:
    """Build every trial of a test and check it against the manifest.

    Args:
        manifest: the rendered test set.
        config: the parsed test config.
        check_files: also require every audio file a trial uses to exist.

    Raises:
        DesignError: unknown task, passage or condition; more than 12 signals in a
            trial; an impossible subset or training size; missing audio files.
    """
    per_task = {
        task: _passage_ids(manifest, config, task) for task in _selected_tasks(manifest, config)
    }
    trials = [
        _make_trial(manifest, config, task, pid, False)
        for task, pids in per_task.items()
        for pid in pids
    ]
    if not trials:
        raise DesignError(
            "the test has no trials: the manifest (or the config's passages) lists no passages"
        )
    unrated = _training_unrated(config, len(trials))
    pairs = (
        [(t.task, t.passage_id) for t in trials] if unrated else _training_pairs(config, per_task)
    )
    try:
        training = [_make_trial(manifest, config, t, p, True) for t, p in pairs]
    except KeyError as exc:
        raise DesignError(f"training passage not in the manifest: {exc.args[0]}") from None
    if config.trials_per_rater is not None and config.trials_per_rater > len(trials):
        raise DesignError(
            f"trials_per_rater={config.trials_per_rater} but the test has only {len(trials)} trials"
        )
    if check_files:
        missing = sorted(
            {
                f
                for t in trials + training
                for f in t.files.values()
                if not manifest.path_of(f).is_file()
            }
        )
        if missing:
            raise DesignError(
                f"{len(missing)} audio file(s) of the test are missing next to the manifest "
                f"({manifest.root}): {', '.join(missing[:5])}"
            )
    digest = hashlib.sha256()
    fingerprint = _config_fingerprint(config)
    if unrated:
        fingerprint["training"] = ["unrated", config.training.trials]
    digest.update(json.dumps(fingerprint, sort_keys=True).encode())
    for t in training + trials:
        digest.update(json.dumps([t.trial_id, t.methods, sorted(t.files.items())]).encode())
    return TestDesign(config, tuple(trials), tuple(training), digest.hexdigest()[:16], unrated)


def _config_fingerprint(config: TestConfig) -> dict:
    return {
        "reference": config.reference,
        "anchors": list(config.anchors),
        "subset": config.trials_per_rater,
        "seed": config.seed,
        "order": [config.randomize_trial_order, config.randomize_condition_order],
    }


def load_design(manifest_path=None, config_path=None, check_files: bool = True) -> TestDesign:
    """Load a manifest (default: ``./renders/testset``) and a config and build the design."""
    manifest = load_manifest(manifest_path if manifest_path is not None else default_render_dir())
    return build_design(manifest, load_config(config_path), check_files=check_files)
