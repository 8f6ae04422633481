"""Rendering the emulation table: every condition of every passage, finished like a test set.

Per passage: stage the clean track (-30 LUFS over the passage, the level the TCN was
trained at), apply the drawn input gain, run the real chain (the ``target``) and every
network, then hand each condition to :func:`dmc.render.finish.finish_condition` in a
worker (normalise, encode under an opaque name, decode and measure, score against the
target) while the next passage is computed. Each condition also gets ``mrstft``, the
TCN's own emulation error (:meth:`dmc.losses.EmulationLoss.spectral` against the
target at the level it works at, as its training validation reports it).

Everything is recorded in the manifest, saved after every passage: an interrupted run
keeps what it finished, and a re-run skips every condition whose input, settings and
checkpoint are unchanged and whose file still has its recorded hash.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

import dmc
from dmc.audio import db_to_gain
from dmc.contracts.manifest import Manifest, PassageEntry
from dmc.contracts.policies import LoudnessPolicy
from dmc.effects.chain import process_channel
from dmc.effects.params import TCN_PARAMETERS
from dmc.losses import EmulationLoss
from dmc.nn.effects import NeuralEffects
from dmc.render.emulation import INPUT, STAGES, TARGET, TASK, Source, draw_settings
from dmc.render.engine import Engine, Pending, RenderError, settings_key
from dmc.render.finish import normalized_reference
from dmc.render.naming import content_key, passage_seed
from dmc.staging import GainStaging

#: Bump when a change to rendering or metrics makes earlier outputs stale.
RENDER_VERSION = 1
PARAMS_FORMAT = "dmc-emulation-params"


@dataclass
class TableResult:
    manifest_path: Path
    manifest: Manifest
    params: dict
    rendered: int = 0
    skipped: int = 0
    removed: int = 0


class _Table:
    """What is the table's own: each condition's audio, its emulation error, its records."""

    def __init__(
        self,
        out_dir: Path,
        models: dict[str, NeuralEffects],
        checkpoints: dict[str, Path],
        seed: int,
        seconds: float,
        force: bool,
        extra_settings: dict,
    ):
        self.models, self.seed = models, seed
        self.loudness, self.staging = LoudnessPolicy(), GainStaging()
        self.engine = Engine(
            out_dir, PARAMS_FORMAT, lambda document: dict(document["passages"]), force
        )
        for name, path in checkpoints.items():
            self.engine.checkpoint(name, path)
        self.key = settings_key(
            RENDER_VERSION, seconds, self.loudness, self.staging, stages=list(STAGES)
        )
        self.settings = {
            **self.key,
            **extra_settings,
            "tcns": list(checkpoints),
        }
        self.loss = EmulationLoss()
        self.sample_rate = dmc.SAMPLE_RATE

    def methods(self) -> list[str]:
        return [INPUT, TARGET, *self.models]

    def _output(self, method: str, clean: np.ndarray, target: np.ndarray, settings) -> np.ndarray:
        if method == INPUT:
            return clean
        if method == TARGET:
            return target
        effects = self.models[method]
        device = next(effects.tcn.parameters()).device
        with torch.no_grad():
            audio = torch.from_numpy(clean)[None, None].to(device)
            values = torch.from_numpy(settings.values.astype(np.float32))[None].to(device)
            return effects(audio, values)[0, 0].cpu().numpy().astype(np.float32)

    def start(self, source: Source, pool) -> Pending:
        """Compute every condition that is not up to date and hand it to ``pool`` to finish."""
        engine = self.engine
        sample_rate, passage_id = source.song.sample_rate, source.passage_id
        self.sample_rate = sample_rate
        seed = passage_seed(self.seed, TASK, passage_id)
        settings = draw_settings(seed)
        raw = source.audio()
        staging_db = float(self.staging.gains_db(raw[None], sample_rate)[0])
        clean = (raw * db_to_gain(staging_db + settings.input_gain_db)).astype(np.float32)
        inputs = content_key(clean, sample_rate, settings.normalized, list(STAGES))
        jobs = []
        for method in self.methods():
            checkpoint = engine.checkpoints.get(method, {}).get("sha256")
            job = engine.job(TASK, passage_id, method, self.key, method, inputs, checkpoint)
            job.extra["label"] = source.label
            job.done = engine.reuse(TASK, passage_id, job)
            jobs.append(job)
        where = f"passage {source.label} ({passage_id})"
        if any(job.done is None for job in jobs):
            target = process_channel(clean, sample_rate, settings.strip, STAGES)
            try:
                reference = normalized_reference(
                    np.stack([target, target]), sample_rate, self.loudness
                )
            except ValueError as exc:
                raise RenderError(f"{where}, the target: {exc}") from None
            target_t = torch.from_numpy(target)[None, None]
            for job in jobs:
                if job.done is not None:
                    continue
                audio = self._output(job.method, clean, target, settings)
                if not np.all(np.isfinite(audio)):
                    raise RenderError(f"{where}, {job.method}: the output is not finite")
                job.metrics["mrstft"] = float(
                    self.loss.spectral(torch.from_numpy(audio)[None, None], target_t)
                )
                engine.submit(
                    pool, job, np.stack([audio, audio]), sample_rate, self.loudness, reference
                )
        record = {
            "label": source.label,
            "song_id": source.song.song_id,
            "track": source.track_name,
            "role": source.role,
            "start_seconds": source.passage.start_seconds,
            "length_seconds": source.passage.length_seconds,
            "seed": seed,
            "staging_gain_db": staging_db,
            "settings": settings.as_dict(),
            "normalized": dict(zip(TCN_PARAMETERS.names, map(float, settings.normalized))),
        }
        entry = PassageEntry(
            passage_id,
            source.song.song_id,
            source.passage.start_seconds,
            source.passage.length_seconds,
            conditions=[],
            track_names=[source.track_name],
            params_file="params.json",
        )
        return Pending(TASK, entry, jobs, record)

    def finish(self, pending: Pending, result: TableResult, bar) -> PassageEntry:
        """Wait for the passage's conditions and record them."""
        for job in pending.jobs:
            if job.done is None:
                self.engine.complete(
                    job, f"passage {pending.record['label']} ({pending.entry.passage_id})"
                )
                result.rendered += 1
            else:
                result.skipped += 1
            pending.entry.conditions.append(job.done)
            bar.update(1)
        self.engine.params[pending.entry.passage_id] = pending.record
        return pending.entry

    def manifest(self, entries: list[PassageEntry]) -> Manifest:
        return self.engine.manifest(
            {TASK: entries}, self.sample_rate, self.loudness, {"settings": self.seed}, self.settings
        )

    def save(self, entries: list[PassageEntry]) -> tuple[Manifest, dict]:
        manifest = self.manifest(entries)
        params = {
            "format": PARAMS_FORMAT,
            "version": 1,
            "sample_rate": self.sample_rate,
            "stages": list(STAGES),
            "passages": {
                p.passage_id: self.engine.params[p.passage_id]
                for p in manifest.tasks[TASK]
                if p.passage_id in self.engine.params
            },
        }
        self.engine.save(manifest, params)
        return manifest, params


def render_table(
    sources: list[Source],
    models: dict[str, NeuralEffects],
    checkpoints: dict[str, Path],
    out_dir: str | os.PathLike,
    seconds: float,
    seed: int = 0,
    force: bool = False,
    progress: bool = True,
    workers: int = 0,
    extra_settings: dict | None = None,
) -> TableResult:
    """Render every condition of every passage into ``out_dir``; write the manifest and params.

    Args:
        sources: the table's rows (:func:`dmc.render.emulation.iter_sources`).
        models: the networks by name (``tcn10``...), each wrapped as the console runs it.
        checkpoints: their files, hashed into the manifest and the up-to-date check.
        seed: base seed of the chain settings (each passage gets its own from it).
        workers: processes that encode and measure; 0 does it in this process.
        extra_settings: recorded in the manifest's ``settings`` (dataset, split).

    Raises:
        RenderError: a passage cannot be rendered (a silent target or output).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = _Table(out_dir, models, checkpoints, seed, seconds, force, extra_settings or {})
    engine = table.engine
    planned_ids = {source.passage_id for source in sources}
    result = TableResult(out_dir / "manifest.json", table.manifest([]), {})
    total = len(sources) * len(table.methods())

    def planned(task: str, passage_id: str) -> bool:
        return passage_id in planned_ids

    with tqdm(total=total, desc="emulation", unit="clip", disable=not progress) as bar:
        tasks = engine.run(
            sources,
            table.start,
            lambda pending: table.finish(pending, result, bar),
            lambda tasks: table.save(engine.with_unfinished(tasks, planned)[TASK]),
            {TASK: []},
            workers,
            bar,
            lambda source: f"{source.label} {source.track_name}",
        )
    result.manifest, result.params = table.save(tasks[TASK])
    result.removed = engine.remove_stale(result.manifest)
    return result
