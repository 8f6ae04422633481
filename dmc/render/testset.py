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

import datetime as _dt
import json
import os
import time
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

import dmc
from dmc.contracts.files import atomic_write_json, file_sha256
from dmc.contracts.manifest import Condition, Manifest, ManifestError, PassageEntry, load_manifest
from dmc.mixers import REGISTRY, MethodSpec, build_method
from dmc.multitrack import Passage, Song
from dmc.render.finish import (
    FinishError,
    Loudness,
    finish_condition,
    normalized_reference,
)
from dmc.render.naming import (
    AUDIO_FOLDER,
    OPAQUE_NAME,
    content_key,
    display_path,
    new_name_key,
    opaque_name,
    passage_seed,
)
from dmc.render.workers import default_workers, make_pool, succeeded
from dmc.staging import GainStaging
from dmc.stereo_image import mirror_drum_kit

#: Bump when a change to rendering or metrics makes earlier outputs stale.
RENDER_VERSION = 3  # 2: mirror-invariant metrics orient by panning, not lean; 3: any-view errors
PARAMS_FORMAT = "dmc-render-params"


class RenderError(Exception):
    """Bad input or a failed render; the message is one line for the user."""


@dataclass(frozen=True)
class RenderSettings:
    """Settings every condition of a render shares.

    All but ``device`` and ``checkpoint_dir`` enter the up-to-date check (the content hash
    of each checkpoint does instead of its folder).
    """

    seconds: float = 10.0
    loudness: Loudness = field(default_factory=Loudness)
    seed: int = 0
    device: str | None = None
    checkpoint_dir: Path | None = None
    staging: GainStaging = field(default_factory=GainStaging)

    def key(self) -> dict[str, Any]:
        return {
            "render_version": RENDER_VERSION,
            "seconds": self.seconds,
            "target_lufs": self.loudness.target_lufs,
            "max_true_peak_dbtp": self.loudness.max_true_peak_dbtp,
            "vbr_quality": self.loudness.vbr_quality,
            "staging": [
                self.staging.target_lufs,
                self.staging.max_gain_db,
                self.staging.min_gain_db,
            ],
        }


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


@dataclass
class _Slot:
    """One condition of a passage in flight: reused, or being finished by a worker."""

    spec: MethodSpec
    file: str
    key: str
    seed: int | None
    done: Condition | None = None
    future: Future | None = None
    params: list | None = None
    mix_seconds: float = 0.0


@dataclass
class _Pending:
    task: str
    entry: PassageEntry
    slots: list[_Slot]
    audio_seconds: float
    params: dict  # its params.json record, stored once every condition is finished


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


_write_json = atomic_write_json


class _Renderer:
    """State of one render run (kept off the public API)."""

    def __init__(self, out_dir: Path, settings: RenderSettings, force: bool, extra_settings: dict):
        self.out_dir, self.settings, self.force, self.extra_settings = (
            out_dir,
            settings,
            force,
            extra_settings,
        )
        self.previous: Manifest | None = None
        if (out_dir / "manifest.json").is_file():
            try:
                self.previous = load_manifest(out_dir / "manifest.json")
            except ManifestError:
                self.previous = None  # unreadable or another format: everything is rendered again
        self.params: dict = {}
        try:
            data = json.loads((out_dir / "params.json").read_text())
            self.params = data.get("tasks", {}) if data.get("format") == PARAMS_FORMAT else {}
        except (OSError, ValueError):
            pass
        self.name_key = str(
            (self.previous.settings if self.previous else {}).get("name_key") or new_name_key()
        )
        self.checkpoints: dict[str, dict[str, str]] = {}
        self.mixers: dict[tuple[str, str], Any] = {}
        self.sample_rate = dmc.SAMPLE_RATE
        self.result = RenderResult(out_dir / "manifest.json", self.manifest({}))

    def prepare(self, plans: list[TaskPlan]) -> None:
        """Hash checkpoints and load every unseeded method once, before rendering anything."""
        for plan in plans:
            for spec in plan.methods:
                path = spec.checkpoint_path(plan.task, self.settings.checkpoint_dir)
                if path is not None:
                    self.checkpoints[f"{spec.name}_{plan.task}"] = {
                        "path": display_path(path),
                        "sha256": file_sha256(path),
                    }
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
    def _reusable(self, task: str, passage_id: str, slot: _Slot, stored: dict) -> Condition | None:
        if self.force or self.previous is None:
            return None
        try:
            old = self.previous.passage(task, passage_id).condition(slot.spec.name)
        except KeyError:
            return None
        if (
            old.file != slot.file
            or old.extra.get("input_key") != slot.key
            or "metrics" not in old.extra
        ):
            return None
        if old.extra.get("has_params") and old.method not in stored:
            return None
        return old if self._intact(old) else None

    def start_passage(
        self, task: str, song: Song, passage: Passage, methods: list[MethodSpec], pool: Executor
    ):
        """Mix every method that is not up to date and hand the results to ``pool`` to finish."""
        sample_rate = song.sample_rate
        start, length = passage.sample_range(sample_rate)
        excerpt = song.excerpt(start, length)
        tracks = excerpt.track_audio()
        gains_db = self.settings.staging.gains_db(tracks, sample_rate)
        staged = self.settings.staging.apply(tracks, sample_rate, gains_db)
        # a song without a reference mix (``--data folder``) has no target: nothing is scored
        target = excerpt.target_audio() if excerpt.target is not None else None
        where = f"{task} passage {passage.passage_id}"
        try:
            reference = (
                None
                if target is None
                else normalized_reference(target, sample_rate, self.settings.loudness)
            )
        except ValueError as exc:
            raise RenderError(f"{where}, the target mix: {exc}") from None
        inputs = content_key(staged, target, excerpt.track_names, song.roles, sample_rate)
        stored = self.params.get(task, {}).get(passage.passage_id, {}).get("methods", {})
        slots = []
        for spec in methods:
            seed = (
                passage_seed(self.settings.seed, task, passage.passage_id) if spec.seeded else None
            )
            checkpoint = self.checkpoints.get(f"{spec.name}_{task}", {}).get("sha256")
            slot = _Slot(
                spec,
                opaque_name(self.name_key, task, passage.passage_id, spec.name),
                content_key(self.settings.key(), spec.name, inputs, checkpoint, seed),
                seed,
            )
            slot.done = self._reusable(task, passage.passage_id, slot, stored)
            if slot.done is not None:
                slot.params = stored.get(spec.name)
            slots.append(slot)
        other_views = []
        # the kit-mirrored target (a fit, about 0.3 s) only when a mix is to be scored
        if reference is not None and any(s.done is None and s.spec.name != "target" for s in slots):
            try:
                kit_mirrored = mirror_drum_kit(staged, reference, song.roles, sample_rate)
            except ValueError as exc:
                raise RenderError(f"{where}, the target mix: {exc}") from None
            other_views = [] if kit_mirrored is None else [kit_mirrored]
        # cheap methods first: the workers finish them while the models (slow) mix
        for slot in sorted(slots, key=lambda s: s.spec.checkpoint is not None):
            if slot.done is not None:
                continue
            spec, started = slot.spec, time.perf_counter()
            mixer = self.mixers.get((task, spec.name)) or build_method(
                spec, task, slot.seed, self.settings.device
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
            slot.params, slot.mix_seconds = result.params, time.perf_counter() - started
            slot.future = pool.submit(
                finish_condition,
                result.audio,
                sample_rate,
                self.out_dir / slot.file,
                self.settings.loudness,
                None if spec.name == "target" else reference,
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
        return _Pending(task, entry, slots, length / sample_rate, record)

    def finish_passage(self, pending: _Pending, bar) -> PassageEntry:
        """Wait for the passage's conditions and record them (conditions, params, timings)."""
        methods = pending.params["methods"]
        for slot in pending.slots:
            if slot.done is None:
                try:
                    fields = slot.future.result()
                except FinishError as exc:
                    raise RenderError(
                        f"{pending.task} passage {pending.entry.passage_id}, "
                        f"method {slot.spec.name}: {exc}"
                    ) from None
                extra = {
                    **fields.pop("extra"),
                    "input_key": slot.key,
                    "has_params": slot.params is not None,
                }
                if slot.seed is not None:
                    extra["seed"] = slot.seed
                slot.done = Condition(method=slot.spec.name, file=slot.file, extra=extra, **fields)
                name = slot.spec.name
                seconds = slot.mix_seconds + extra["finish_seconds"]
                self.result.method_seconds[name] = (
                    self.result.method_seconds.get(name, 0.0) + seconds
                )
                self.result.audio_seconds[name] = (
                    self.result.audio_seconds.get(name, 0.0) + pending.audio_seconds
                )
                self.result.rendered += 1
            else:
                self.result.skipped += 1
            if slot.params is not None:
                methods[slot.spec.name] = slot.params
            pending.entry.conditions.append(slot.done)
            bar.update(1)
        pending.entry.conditions += self._kept_imports(pending.task, pending.entry)
        self.params.setdefault(pending.task, {})[pending.entry.passage_id] = pending.params
        return pending.entry

    # ------------------------------------------------------------------ the manifest
    def manifest(self, tasks: dict[str, list[PassageEntry]]) -> Manifest:
        return Manifest(
            tasks={task: list(entries) for task, entries in tasks.items()},
            created_at=_now(),
            software_version=dmc.__version__,
            sample_rate=self.sample_rate,
            loudness_target_lufs=self.settings.loudness.target_lufs,
            checkpoints=self.checkpoints,
            seeds={name: self.settings.seed for name, spec in REGISTRY.items() if spec.seeded},
            settings={**self.settings.key(), **self.extra_settings, "name_key": self.name_key},
        )

    def with_unfinished(
        self, tasks: dict[str, list[PassageEntry]]
    ) -> dict[str, list[PassageEntry]]:
        """``tasks`` plus the previous run's passages not reached yet: saved while rendering, so an
        interrupted run still lists every output on disk and a re-run can skip it."""
        out = {task: list(entries) for task, entries in tasks.items()}
        for task, entries in (self.previous.tasks if self.previous is not None else {}).items():
            done = {p.passage_id for p in out.get(task, [])}
            for entry in entries:
                if entry.passage_id in done or entry.passage_id not in self.params.get(task, {}):
                    continue
                # a worker may already have rewritten some of its files: list only those still intact
                intact = [c for c in entry.conditions if self._intact(c)]
                if intact:
                    out.setdefault(task, []).append(replace(entry, conditions=intact))
        return out

    def _kept_imports(self, task: str, entry: PassageEntry) -> list[Condition]:
        """The passage's imported systems (``python -m dmc.render import``) from the previous manifest.

        The render cannot make them, so they are kept as they are while the passage's window
        is the same and their files intact; otherwise they are dropped (and named in the result).
        """
        try:
            old = (
                self.previous.passage(task, entry.passage_id) if self.previous is not None else None
            )
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
            if same and self._intact(condition):
                kept.append(condition)
            else:
                self.result.dropped_imports.append(
                    f"{condition.method} ({task} {entry.passage_id})"
                )
        return kept

    def _intact(self, condition: Condition) -> bool:
        path = self.out_dir / condition.file
        return path.is_file() and file_sha256(path) == condition.sha256

    def save(self, manifest: Manifest) -> Path:
        params = {
            task: {p.passage_id: self.params[task][p.passage_id] for p in entries}
            for task, entries in manifest.tasks.items()
        }
        _write_json(
            self.out_dir / "params.json", {"format": PARAMS_FORMAT, "version": 1, "tasks": params}
        )
        return manifest.save(self.out_dir / "manifest.json")

    def remove_stale(self, manifest: Manifest) -> int:
        """Delete audio the previous manifest listed and this one does not (opaque names only)."""
        stale = (
            set(self.previous.files()) - set(manifest.files())
            if self.previous is not None
            else set()
        )
        removed = 0
        for name in stale:
            path = self.out_dir / name
            if OPAQUE_NAME.match(name) and path.is_file():
                path.unlink()
                removed += 1
        # temporary files of a run that was killed outright (a clean interrupt removes its own)
        for path in (self.out_dir / AUDIO_FOLDER).glob(".*.mp3"):
            path.unlink(missing_ok=True)
        return removed


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
    renderer = _Renderer(out_dir, settings, force, extra_settings or {})
    renderer.prepare(plans)
    total = sum(len(plan.passages) * len(plan.methods) for plan in plans)
    workers = default_workers(total) if workers is None else workers
    tasks: dict[str, list[PassageEntry]] = {plan.task: [] for plan in plans}
    with (
        make_pool(workers) as pool,
        tqdm(total=total, desc="render", unit="mix", disable=not progress) as bar,
    ):
        pending: _Pending | None = None
        try:
            for plan in plans:
                for song, passage in plan.passages:
                    bar.set_postfix_str(f"{plan.task} {passage.passage_id}")
                    started = renderer.start_passage(plan.task, song, passage, plan.methods, pool)
                    if pending is not None:
                        tasks[pending.task].append(renderer.finish_passage(pending, bar))
                        renderer.save(renderer.manifest(renderer.with_unfinished(tasks)))
                    pending = started
            if pending is not None:
                tasks[pending.task].append(renderer.finish_passage(pending, bar))
        except BaseException:
            # interrupted or failed: record the passage in flight if all of it was written
            written = pending is not None and all(
                s.future is None or succeeded(s.future) for s in pending.slots
            )
            if written and not pending.entry.conditions:
                tasks[pending.task].append(renderer.finish_passage(pending, bar))
                renderer.save(renderer.manifest(renderer.with_unfinished(tasks)))
            raise
    result = renderer.result
    result.manifest = renderer.manifest(tasks)
    renderer.save(result.manifest)
    result.removed = renderer.remove_stale(result.manifest)
    return result
