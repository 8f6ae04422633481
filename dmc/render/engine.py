"""The rendering engine shared by the test set, the emulation table and the importer.

Every render follows one cycle: plan the conditions of a passage (an opaque file name
and a content key each) -> reuse those whose recorded output is up to date, render the
others -> finish them (:func:`dmc.render.finish.finish_condition`, in worker processes
while the next passage is computed) -> record them as manifest conditions -> save the
manifest after every passage -> remove the files no condition names any more. The
commands keep only what is their own: what a condition's audio is, and what they record
beside it (``params.json``).

An interrupted run keeps what it finished (the manifest lists it, with the previous
run's passages not reached yet), and a re-run skips every condition whose inputs,
settings and checkpoint are unchanged and whose file still has its recorded hash.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

import dmc
from dmc.contracts.files import atomic_write_json, file_sha256
from dmc.contracts.manifest import Condition, Manifest, ManifestError, PassageEntry, load_manifest
from dmc.contracts.policies import LoudnessPolicy
from dmc.render.finish import FinishError, finish_condition
from dmc.render.naming import (
    AUDIO_FOLDER,
    OPAQUE_NAME,
    content_key,
    display_path,
    new_name_key,
    opaque_name,
)
from dmc.render.workers import make_pool, succeeded
from dmc.staging import GainStaging

#: The command name in every error and note of ``python -m dmc.render``.
PROG = "dmc.render"


class RenderError(Exception):
    """Bad input or a failed render; the message is one line for the user."""


def settings_key(
    version: int,
    seconds: float,
    loudness: LoudnessPolicy,
    staging: GainStaging,
    **extra: Any,
) -> dict[str, Any]:
    """What every condition of a render shares and its up-to-date check hashes: the
    renderer's version, the passage length, the loudness policy, the gain staging."""
    return {
        "render_version": version,
        "seconds": seconds,
        **loudness.key(),
        "staging": [staging.target_lufs, staging.max_gain_db, staging.min_gain_db],
        **extra,
    }


@dataclass
class Job:
    """One condition of a passage: reused (``done``), or being finished (``future``).

    ``extra`` joins the condition's ``extra`` when it is recorded (a seed, a label,
    metrics the command measured itself); ``params`` and ``mix_seconds`` are the
    command's own record of how it was made.
    """

    method: str
    file: str
    key: str
    done: Condition | None = None
    future: Future | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    params: Any = None
    mix_seconds: float = 0.0


@dataclass
class Pending:
    """A passage in flight: its manifest entry (conditions added when finished) and jobs."""

    task: str
    entry: PassageEntry
    jobs: list[Job]
    record: dict
    audio_seconds: float = 0.0


class Engine:
    """State of one render into ``out_dir``: the previous run, the name key, checkpoints.

    Args:
        out_dir: the render folder (``manifest.json``, ``params.json``, ``audio/``).
        params_format: the ``format`` of this command's ``params.json``; a file of
            another format is ignored.
        read_params: the previous ``params.json`` document -> this command's records.
        force: render every condition even when its recorded output is up to date.
    """

    def __init__(
        self,
        out_dir: Path,
        params_format: str,
        read_params: Callable[[dict], dict],
        force: bool = False,
    ):
        self.out_dir, self.force = Path(out_dir), force
        self.previous: Manifest | None = None
        if (self.out_dir / "manifest.json").is_file():
            try:
                self.previous = load_manifest(self.out_dir / "manifest.json")
            except ManifestError:
                self.previous = None  # unreadable or another format: everything is rendered again
        self.params: dict = {}
        try:
            document = json.loads((self.out_dir / "params.json").read_text())
            if document.get("format") == params_format:
                self.params = read_params(document)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass
        settings = self.previous.settings if self.previous is not None else {}
        self.name_key = str(settings.get("name_key") or new_name_key())
        self.checkpoints: dict[str, dict[str, str]] = {}

    @classmethod
    def on(cls, manifest: Manifest) -> Engine:
        """An engine adding to a loaded render (the importer): its folder, names and conditions."""
        engine = cls.__new__(cls)
        engine.out_dir, engine.force, engine.previous = manifest.root, False, manifest
        engine.params, engine.checkpoints = {}, dict(manifest.checkpoints)
        engine.name_key = str(manifest.settings["name_key"])
        return engine

    # ------------------------------------------------------------------ planning
    def checkpoint(self, name: str, path: Path) -> str:
        """Record a checkpoint the render uses (path and hash, in the manifest); its hash."""
        self.checkpoints[name] = {"path": display_path(path), "sha256": file_sha256(path)}
        return self.checkpoints[name]["sha256"]

    def job(self, task: str, passage_id: str, method: str, *key_parts: Any) -> Job:
        """A condition to plan: its opaque file name, and a content key of ``key_parts``."""
        return Job(
            method, opaque_name(self.name_key, task, passage_id, method), content_key(*key_parts)
        )

    def reuse(self, task: str, passage_id: str, job: Job) -> Condition | None:
        """The previous run's condition if it is up to date: same file, key and intact audio."""
        if self.force or self.previous is None:
            return None
        try:
            old = self.previous.passage(task, passage_id).condition(job.method)
        except KeyError:
            return None
        if (
            old.file != job.file
            or old.extra.get("input_key") != job.key
            or "metrics" not in old.extra
        ):
            return None
        return old if self.intact(old) else None

    def intact(self, condition: Condition) -> bool:
        """Whether a condition's file is there with its recorded hash."""
        path = self.out_dir / condition.file
        return path.is_file() and file_sha256(path) == condition.sha256

    # ------------------------------------------------------------------ rendering
    def submit(
        self,
        pool: Executor,
        job: Job,
        audio: np.ndarray,
        sample_rate: int,
        loudness: LoudnessPolicy,
        reference: np.ndarray | None,
        other_views: Iterable[np.ndarray] = (),
        path: Path | None = None,
    ) -> None:
        """Hand ``audio`` to ``pool`` to become the job's stimulus (at ``path``, default its file)."""
        job.future = pool.submit(
            finish_condition,
            audio,
            sample_rate,
            path if path is not None else self.out_dir / job.file,
            loudness,
            reference,
            list(other_views),
        )

    def complete(self, job: Job, where: str) -> Condition:
        """Wait for the job's stimulus and record it as a condition.

        Raises:
            RenderError: the mix could not be finished; the message says ``where``.
        """
        try:
            fields = job.future.result()
        except FinishError as exc:
            raise RenderError(f"{where}, method {job.method}: {exc}") from None
        extra = fields.pop("extra")
        if job.metrics:
            extra["metrics"] = {**job.metrics, **(extra["metrics"] or {})}
        extra = {**extra, "input_key": job.key, **job.extra}
        job.done = Condition(method=job.method, file=job.file, extra=extra, **fields)
        return job.done

    # ------------------------------------------------------------------ the manifest
    def manifest(
        self,
        tasks: dict[str, list[PassageEntry]],
        sample_rate: int,
        loudness: LoudnessPolicy,
        seeds: dict[str, int],
        settings: dict[str, Any],
    ) -> Manifest:
        """The render's manifest; ``settings`` may be the :func:`settings_key` (the loudness
        policy's fields go to ``loudness`` instead)."""
        policy = loudness.key()
        settings = {k: v for k, v in settings.items() if k not in policy}
        return Manifest(
            tasks={task: list(entries) for task, entries in tasks.items()},
            created_at=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            software_version=dmc.__version__,
            sample_rate=sample_rate,
            loudness=loudness,
            checkpoints=self.checkpoints,
            seeds=seeds,
            settings={**settings, "name_key": self.name_key},
        )

    def with_unfinished(
        self, tasks: dict[str, list[PassageEntry]], planned: Callable[[str, str], bool]
    ) -> dict[str, list[PassageEntry]]:
        """``tasks`` plus the previous run's ``planned`` passages not reached yet: saved while
        rendering, so an interrupted run still lists every output on disk and a re-run can
        skip it. Only their intact files are listed (a worker may have rewritten some)."""
        out = {task: list(entries) for task, entries in tasks.items()}
        for task, entries in (self.previous.tasks if self.previous is not None else {}).items():
            done = {p.passage_id for p in out.get(task, [])}
            for entry in entries:
                if entry.passage_id in done or not planned(task, entry.passage_id):
                    continue
                intact = [c for c in entry.conditions if self.intact(c)]
                if intact:
                    out.setdefault(task, []).append(replace(entry, conditions=intact))
        return out

    def save(self, manifest: Manifest, params: dict) -> Path:
        """``params.json`` (the command's records), then the manifest, each atomically."""
        atomic_write_json(self.out_dir / "params.json", params)
        return manifest.save(self.out_dir / "manifest.json")

    def remove_stale(self, manifest: Manifest) -> int:
        """Delete audio the previous manifest listed and this one does not (opaque names
        only), and temporary files of a run killed outright; returns how many were listed."""
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
        for path in (self.out_dir / AUDIO_FOLDER).glob(".*.mp3"):
            path.unlink(missing_ok=True)
        return removed

    # ------------------------------------------------------------------ the loop
    def run(
        self,
        sources: Iterable[Any],
        start: Callable[[Any, Executor], Pending],
        finish: Callable[[Pending], PassageEntry],
        checkpoint: Callable[[dict[str, list[PassageEntry]]], None],
        tasks: dict[str, list[PassageEntry]],
        workers: int,
        bar: tqdm,
        describe: Callable[[Any], str],
    ) -> dict[str, list[PassageEntry]]:
        """Start each source's passage, then finish the previous one while the workers
        finish this one's conditions; ``checkpoint(tasks)`` saves after every passage.

        On an interrupt or failure the passage in flight is still recorded when every
        condition of it was written, then the error goes on.
        """
        with make_pool(workers) as pool:
            pending: Pending | None = None
            try:
                for source in sources:
                    bar.set_postfix_str(describe(source))
                    started = start(source, pool)
                    if pending is not None:
                        tasks[pending.task].append(finish(pending))
                        checkpoint(tasks)
                    pending = started
                if pending is not None:
                    tasks[pending.task].append(finish(pending))
                    pending = None
            except BaseException:
                written = pending is not None and all(
                    j.future is None or succeeded(j.future) for j in pending.jobs
                )
                if written and not pending.entry.conditions:
                    tasks[pending.task].append(finish(pending))
                    checkpoint(tasks)
                raise
        return tasks
