"""Render a listening-test set: every method's mix of every passage, as the listener will hear it.

For each task, passage and method: gain-stage the tracks (the same for every mixer),
mix, then (``dmc.render.finish``) normalise to -23 LUFS, encode VBR MP3 under an opaque
name, decode it and measure what the listener will get, and score it against the
target. Mixing runs in this process (models load once); finishing runs in worker
processes, overlapping with the mixing of the next passage.

Everything is recorded in the manifest (``dmc.contracts.manifest``), saved after every passage:
an interrupted run keeps what it finished, and a re-run skips every condition whose
inputs, settings and checkpoint are unchanged and whose file still has its recorded hash.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

import dmc
from dmc.contracts.conditions import REFERENCE
from dmc.contracts.manifest import Condition, Manifest, PassageEntry
from dmc.contracts.policies import LoudnessPolicy
from dmc.mixers import REGISTRY, MethodSpec, build_method
from dmc.multitrack import Passage, Song
from dmc.render.engine import Engine, Job, Pending, RenderError, settings_key
from dmc.render.finish import normalized_reference
from dmc.render.naming import content_key, display_path, passage_seed
from dmc.render.workers import default_workers
from dmc.staging import GainStaging
from dmc.stereo_image import mirror_drum_kit

#: Bump when a change to rendering or metrics makes earlier outputs stale.
RENDER_VERSION = 3  # 2: mirror-invariant metrics orient by panning, not lean; 3: any-view errors
PARAMS_FORMAT = "dmc-render-params"

__all__ = ["RenderError", "RenderResult", "RenderSettings", "TaskPlan", "render_testset"]


@dataclass(frozen=True)
class RenderSettings:
    """Settings every condition of a render shares.

    All but ``device`` and ``checkpoint_dir`` enter the up-to-date check (the content hash
    of each checkpoint does instead of its folder).
    """

    seconds: float = 10.0
    loudness: LoudnessPolicy = field(default_factory=LoudnessPolicy)
    seed: int = 0
    device: str | None = None
    checkpoint_dir: Path | None = None
    staging: GainStaging = field(default_factory=GainStaging)

    def key(self) -> dict[str, Any]:
        return settings_key(RENDER_VERSION, self.seconds, self.loudness, self.staging)


@dataclass
class TaskPlan:
    """One task to render: its passages (song + passage) and methods, already validated."""

    task: str
    passages: list[tuple[Song, Passage]]
    methods: list[MethodSpec]


@dataclass
class RenderResult:
    manifest_path: Path
    manifest: Manifest
    rendered: int = 0
    skipped: int = 0
    removed: int = 0
    #: per method: seconds spent (mix + finish) and seconds of audio produced, for rendered conditions
    method_seconds: dict[str, float] = field(default_factory=dict)
    audio_seconds: dict[str, float] = field(default_factory=dict)
    #: imported systems (``python -m dmc.render import``) dropped because their passage changed
    dropped_imports: list[str] = field(default_factory=list)


class _TestSet:
    """What is the test set's own: mixing each method, its params records, timings, imports."""

    def __init__(self, out_dir: Path, settings: RenderSettings, force: bool, extra_settings: dict):
        self.settings, self.extra_settings = settings, extra_settings
        self.engine = Engine(
            out_dir, PARAMS_FORMAT, lambda document: dict(document.get("tasks", {})), force
        )
        self.mixers: dict[tuple[str, str], Any] = {}
        self.sample_rate = dmc.SAMPLE_RATE
        self.result = RenderResult(out_dir / "manifest.json", self.manifest({}))

    def prepare(self, plans: list[TaskPlan]) -> None:
        """Hash checkpoints and load every unseeded method once, before rendering anything."""
        for plan in plans:
            for spec in plan.methods:
                path = spec.checkpoint_path(plan.task, self.settings.checkpoint_dir)
                if path is not None:
                    self.engine.checkpoint(f"{spec.name}_{plan.task}", path)
                if not spec.seeded:
                    try:
                        self.mixers[(plan.task, spec.name)] = build_method(
                            spec,
                            plan.task,
                            device=self.settings.device,
                            checkpoint_dir=self.settings.checkpoint_dir,
                        )
                    except (OSError, ValueError, RuntimeError, KeyError) as exc:
                        where = f" from {display_path(path)}" if path is not None else ""
                        raise RenderError(
                            f"cannot load method {spec.name!r}{where}: {exc}"
                        ) from None
        self.sample_rate = next(
            (song.sample_rate for plan in plans for song, _ in plan.passages), dmc.SAMPLE_RATE
        )

    # ------------------------------------------------------------------ one passage
    def start(self, source: tuple[str, Song, Passage, list[MethodSpec]], pool: Executor) -> Pending:
        """Mix every method that is not up to date and hand the results to ``pool`` to finish."""
        task, song, passage, methods = source
        engine, settings = self.engine, self.settings
        sample_rate = song.sample_rate
        start, length = passage.sample_range(sample_rate)
        excerpt = song.excerpt(start, length)
        tracks = excerpt.track_audio()
        gains_db = settings.staging.gains_db(tracks, sample_rate)
        staged = settings.staging.apply(tracks, sample_rate, gains_db)
        # a song without a reference mix (``--data folder``) has no target: nothing is scored
        target = excerpt.target_audio() if excerpt.target is not None else None
        where = f"{task} passage {passage.passage_id}"
        try:
            reference = (
                None
                if target is None
                else normalized_reference(target, sample_rate, settings.loudness)
            )
        except ValueError as exc:
            raise RenderError(f"{where}, the target mix: {exc}") from None
        inputs = content_key(staged, target, excerpt.track_names, song.roles, sample_rate)
        stored = engine.params.get(task, {}).get(passage.passage_id, {}).get("methods", {})
        jobs, specs = [], {}
        for spec in methods:
            seed = passage_seed(settings.seed, task, passage.passage_id) if spec.seeded else None
            checkpoint = engine.checkpoints.get(f"{spec.name}_{task}", {}).get("sha256")
            job = engine.job(
                task,
                passage.passage_id,
                spec.name,
                settings.key(),
                spec.name,
                inputs,
                checkpoint,
                seed,
            )
            if seed is not None:
                job.extra["seed"] = seed
            job.done = self._reuse(task, passage.passage_id, job, stored)
            if job.done is not None:
                job.params = stored.get(spec.name)
            jobs.append(job)
            specs[spec.name] = spec
        other_views = []
        # the kit-mirrored target (a fit, about 0.3 s) only when a mix is to be scored
        if reference is not None and any(j.done is None and j.method != REFERENCE for j in jobs):
            try:
                kit_mirrored = mirror_drum_kit(staged, reference, song.roles, sample_rate)
            except ValueError as exc:
                raise RenderError(f"{where}, the target mix: {exc}") from None
            other_views = [] if kit_mirrored is None else [kit_mirrored]
        # cheap methods first: the workers finish them while the models (slow) mix
        for job in sorted(jobs, key=lambda j: specs[j.method].checkpoint is not None):
            if job.done is not None:
                continue
            spec, started = specs[job.method], time.perf_counter()
            mixer = self.mixers.get((task, spec.name)) or build_method(
                spec, task, job.extra.get("seed"), settings.device
            )
            try:
                if spec.source == "tracks":
                    # names only where the tracks keep their order (a console reads sides off them)
                    names = excerpt.track_names if spec.arrange is None else None
                    result = mixer.mix(spec.inputs(staged, song.roles), sample_rate, names)
                else:
                    result = mixer.render(target, sample_rate)
            except ValueError as exc:
                raise RenderError(f"{where}, method {spec.name}: {exc}") from None
            if result.audio.shape[1] != length:
                raise RenderError(
                    f"{where}, method {spec.name}: the mix has {result.audio.shape[1]} samples, "
                    f"expected {length}"
                )
            job.params, job.mix_seconds = result.params, time.perf_counter() - started
            engine.submit(
                pool,
                job,
                result.audio,
                sample_rate,
                settings.loudness,
                None if spec.name == REFERENCE else reference,
                other_views,
            )
        record = {
            "song_id": song.song_id,
            "tracks": [
                {"name": t.name, "role": t.role, "staging_gain_db": float(g)}
                for t, g in zip(song.tracks, gains_db)
            ],
            "methods": {},
        }
        entry = PassageEntry(
            passage.passage_id,
            song.song_id,
            passage.start_seconds,
            passage.length_seconds,
            conditions=[],
            track_names=excerpt.track_names,
            params_file="params.json",
        )
        return Pending(task, entry, jobs, record, length / sample_rate)

    def _reuse(self, task: str, passage_id: str, job: Job, stored: dict) -> Condition | None:
        old = self.engine.reuse(task, passage_id, job)
        if old is not None and old.extra.get("has_params") and old.method not in stored:
            return None  # the console's settings of that mix are lost: make it again
        return old

    def finish(self, pending: Pending, bar) -> PassageEntry:
        """Wait for the passage's conditions and record them (conditions, params, timings)."""
        methods = pending.record["methods"]
        for job in pending.jobs:
            if job.done is None:
                # has_params before the seed, the order the manifest has always had
                job.extra = {"has_params": job.params is not None, **job.extra}
                where = f"{pending.task} passage {pending.entry.passage_id}"
                extra = self.engine.complete(job, where).extra
                seconds = job.mix_seconds + extra["finish_seconds"]
                result = self.result
                result.method_seconds[job.method] = (
                    result.method_seconds.get(job.method, 0.0) + seconds
                )
                result.audio_seconds[job.method] = (
                    result.audio_seconds.get(job.method, 0.0) + pending.audio_seconds
                )
                result.rendered += 1
            else:
                self.result.skipped += 1
            if job.params is not None:
                methods[job.method] = job.params
            pending.entry.conditions.append(job.done)
            bar.update(1)
        pending.entry.conditions += self._kept_imports(pending.task, pending.entry)
        self.engine.params.setdefault(pending.task, {})[pending.entry.passage_id] = pending.record
        return pending.entry

    # ------------------------------------------------------------------ the manifest
    def manifest(self, tasks: dict[str, list[PassageEntry]]) -> Manifest:
        seeds = {name: self.settings.seed for name, spec in REGISTRY.items() if spec.seeded}
        return self.engine.manifest(
            tasks,
            self.sample_rate,
            self.settings.loudness,
            seeds,
            {**self.settings.key(), **self.extra_settings},
        )

    def save(self, tasks: dict[str, list[PassageEntry]]) -> Manifest:
        manifest = self.manifest(tasks)
        params = {
            task: {p.passage_id: self.engine.params[task][p.passage_id] for p in entries}
            for task, entries in manifest.tasks.items()
        }
        self.engine.save(manifest, {"format": PARAMS_FORMAT, "version": 1, "tasks": params})
        return manifest

    def _kept_imports(self, task: str, entry: PassageEntry) -> list[Condition]:
        """The passage's imported systems (``python -m dmc.render import``) from the previous manifest.

        The render cannot make them, so they are kept as they are while the passage's window
        is the same and their files intact; otherwise they are dropped (and named in the result).
        """
        previous = self.engine.previous
        try:
            old = previous.passage(task, entry.passage_id) if previous is not None else None
        except KeyError:
            old = None
        kept = []
        for condition in old.conditions if old is not None else []:
            if not condition.extra.get("imported") or condition.method in entry.methods:
                continue
            same = (old.start_seconds, old.length_seconds) == (
                entry.start_seconds,
                entry.length_seconds,
            )
            if same and self.engine.intact(condition):
                kept.append(condition)
            else:
                self.result.dropped_imports.append(
                    f"{condition.method} ({task} {entry.passage_id})"
                )
        return kept


def render_testset(
    plans: list[TaskPlan],
    out_dir: str | os.PathLike,
    settings: RenderSettings = RenderSettings(),
    force: bool = False,
    progress: bool = True,
    workers: int | None = None,
    extra_settings: dict[str, Any] | None = None,
) -> RenderResult:
    """Render ``plans`` into ``out_dir``: ``audio/*.mp3``, ``manifest.json`` and ``params.json``.

    Args:
        plans: per task, the validated passages and methods.
        force: render every condition even when its recorded output is up to date.
        progress: show a tqdm progress bar on stderr.
        workers: processes that encode and measure; 0 does it in this process. Default:
            :func:`default_workers`.
        extra_settings: recorded in the manifest's ``settings`` (dataset, options).

    Raises:
        RenderError: a method cannot be loaded, or a passage cannot be rendered.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    testset = _TestSet(out_dir, settings, force, extra_settings or {})
    testset.prepare(plans)
    engine = testset.engine
    total = sum(len(plan.passages) * len(plan.methods) for plan in plans)
    workers = default_workers(total) if workers is None else workers
    sources = [
        (plan.task, song, passage, plan.methods)
        for plan in plans
        for song, passage in plan.passages
    ]

    def planned(task: str, passage_id: str) -> bool:
        return passage_id in engine.params.get(task, {})

    with tqdm(total=total, desc="render", unit="mix", disable=not progress) as bar:
        tasks = engine.run(
            sources,
            testset.start,
            lambda pending: testset.finish(pending, bar),
            lambda tasks: testset.save(engine.with_unfinished(tasks, planned)),
            {plan.task: [] for plan in plans},
            workers,
            bar,
            lambda source: f"{source[0]} {source[2].passage_id}",
        )
    result = testset.result
    result.manifest = testset.save(tasks)
    result.removed = engine.remove_stale(result.manifest)
    return result
