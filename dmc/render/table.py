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

import datetime as _dt
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

import dmc
from dmc.audio import db_to_gain
from dmc.contracts.files import atomic_write_json, file_sha256
from dmc.contracts.manifest import Condition, Manifest, ManifestError, PassageEntry, load_manifest
from dmc.effects.chain import process_channel
from dmc.effects.params import TCN_PARAMETERS
from dmc.losses import EmulationLoss
from dmc.nn.effects import NeuralEffects
from dmc.render.emulation import INPUT, STAGES, TARGET, TASK, Source, draw_settings
from dmc.render.finish import FinishError, Loudness, finish_condition, normalized_reference
from dmc.render.naming import (
    AUDIO_FOLDER,
    OPAQUE_NAME,
    content_key,
    display_path,
    new_name_key,
    opaque_name,
    passage_seed,
)
from dmc.render.testset import RenderError
from dmc.render.workers import make_pool
from dmc.staging import GainStaging

#: Bump when a change to rendering or metrics makes earlier outputs stale.
RENDER_VERSION = 1
PARAMS_FORMAT = "dmc-emulation-params"


@dataclass
class _Slot:
    method: str
    file: str
    key: str
    done: Condition | None = None
    future: object | None = None
    mrstft: float = 0.0


@dataclass
class _Pending:
    source: Source
    entry: PassageEntry
    slots: list[_Slot]
    record: dict


@dataclass
class TableResult:
    manifest_path: Path
    manifest: Manifest
    params: dict
    rendered: int = 0
    skipped: int = 0
    removed: int = 0


_write_json = atomic_write_json


def _previous(out_dir: Path) -> tuple[Manifest | None, dict[str, dict]]:
    """The previous run's manifest and passage records; an unreadable one counts as none."""
    try:
        manifest = load_manifest(out_dir) if (out_dir / "manifest.json").is_file() else None
    except ManifestError:
        manifest = None  # unreadable or another format: everything is rendered again
    try:
        data = json.loads((out_dir / "params.json").read_text())
        params = dict(data["passages"]) if data.get("format") == PARAMS_FORMAT else {}
    except (OSError, ValueError, KeyError, TypeError):
        params = {}
    return manifest, params


class _Table:
    """State of one render of the table (kept off the public API)."""

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
        self.out_dir, self.models, self.seed, self.force = out_dir, models, seed, force
        self.loudness, self.staging = Loudness(), GainStaging()
        self.previous, self.params = _previous(out_dir)
        settings = self.previous.settings if self.previous is not None else {}
        self.name_key = str(settings.get("name_key") or new_name_key())
        self.checkpoints = {
            name: {"path": display_path(path), "sha256": file_sha256(path)}
            for name, path in checkpoints.items()
        }
        loudness, staging = self.loudness, self.staging
        self.key = {
            "render_version": RENDER_VERSION,
            "seconds": seconds,
            "target_lufs": loudness.target_lufs,
            "max_true_peak_dbtp": loudness.max_true_peak_dbtp,
            "vbr_quality": loudness.vbr_quality,
            "staging": [staging.target_lufs, staging.max_gain_db, staging.min_gain_db],
            "stages": list(STAGES),
        }
        self.settings = {**self.key, **extra_settings, "tcns": list(checkpoints)}
        self.settings["name_key"] = self.name_key
        self.loss = EmulationLoss()
        self.sample_rate = dmc.SAMPLE_RATE

    def methods(self) -> list[str]:
        return [INPUT, TARGET, *self.models]

    def _reusable(self, passage_id: str, slot: _Slot) -> Condition | None:
        if self.force or self.previous is None:
            return None
        try:
            old = self.previous.passage(TASK, passage_id).condition(slot.method)
        except KeyError:
            return None
        if (
            old.file != slot.file
            or old.extra.get("input_key") != slot.key
            or "metrics" not in old.extra
        ):
            return None
        return old if self._intact(old) else None

    def _intact(self, condition: Condition) -> bool:
        path = self.out_dir / condition.file
        return path.is_file() and file_sha256(path) == condition.sha256

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

    def start(self, source: Source, pool) -> _Pending:
        """Compute every condition that is not up to date and hand it to ``pool`` to finish."""
        sample_rate, passage_id = source.song.sample_rate, source.passage_id
        self.sample_rate = sample_rate
        seed = passage_seed(self.seed, TASK, passage_id)
        settings = draw_settings(seed)
        raw = source.audio()
        staging_db = float(self.staging.gains_db(raw[None], sample_rate)[0])
        clean = (raw * db_to_gain(staging_db + settings.input_gain_db)).astype(np.float32)
        inputs = content_key(clean, sample_rate, settings.normalized, list(STAGES))
        slots = []
        for method in self.methods():
            checkpoint = self.checkpoints.get(method, {}).get("sha256")
            slot = _Slot(
                method,
                opaque_name(self.name_key, TASK, passage_id, method),
                content_key(self.key, method, inputs, checkpoint),
            )
            slot.done = self._reusable(passage_id, slot)
            slots.append(slot)
        if any(slot.done is None for slot in slots):
            target = process_channel(clean, sample_rate, settings.strip, STAGES)
            try:
                reference = normalized_reference(
                    np.stack([target, target]), sample_rate, self.loudness
                )
            except ValueError as exc:
                raise RenderError(
                    f"passage {source.label} ({passage_id}), the target: {exc}"
                ) from None
            target_t = torch.from_numpy(target)[None, None]
            for slot in slots:
                if slot.done is not None:
                    continue
                audio = self._output(slot.method, clean, target, settings)
                if not np.all(np.isfinite(audio)):
                    raise RenderError(
                        f"passage {source.label} ({passage_id}), {slot.method}: the output is not finite"
                    )
                slot.mrstft = float(
                    self.loss.spectral(torch.from_numpy(audio)[None, None], target_t)
                )
                slot.future = pool.submit(
                    finish_condition,
                    np.stack([audio, audio]),
                    sample_rate,
                    self.out_dir / slot.file,
                    self.loudness,
                    reference,
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
        return _Pending(source, entry, slots, record)

    def finish(self, pending: _Pending, result: TableResult, bar) -> PassageEntry:
        """Wait for the passage's conditions and record them."""
        for slot in pending.slots:
            if slot.done is None:
                try:
                    fields = slot.future.result()
                except FinishError as exc:
                    raise RenderError(
                        f"passage {pending.source.label} ({pending.entry.passage_id}), "
                        f"{slot.method}: {exc}"
                    ) from None
                extra = fields.pop("extra")
                extra["metrics"] = {"mrstft": slot.mrstft, **(extra["metrics"] or {})}
                extra.update(input_key=slot.key, label=pending.source.label)
                slot.done = Condition(method=slot.method, file=slot.file, extra=extra, **fields)
                result.rendered += 1
            else:
                result.skipped += 1
            pending.entry.conditions.append(slot.done)
            bar.update(1)
        self.params[pending.entry.passage_id] = pending.record
        return pending.entry

    def manifest(self, entries: list[PassageEntry]) -> Manifest:
        return Manifest(
            tasks={TASK: list(entries)},
            created_at=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            software_version=dmc.__version__,
            sample_rate=self.sample_rate,
            loudness_target_lufs=self.loudness.target_lufs,
            checkpoints=self.checkpoints,
            seeds={"settings": self.seed},
            settings=self.settings,
        )

    def with_unfinished(self, entries: list[PassageEntry], planned: set[str]) -> list[PassageEntry]:
        """``entries`` plus the previous run's planned passages not reached yet (their intact files),
        so an interrupted run still lists every output on disk and a re-run can skip it."""
        out = list(entries)
        done = {e.passage_id for e in entries}
        for entry in self.previous.tasks.get(TASK, []) if self.previous is not None else []:
            if entry.passage_id in planned and entry.passage_id not in done:
                intact = [c for c in entry.conditions if self._intact(c)]
                if intact:
                    out.append(replace(entry, conditions=intact))
        return out

    def save(self, manifest: Manifest) -> dict:
        params = {
            "format": PARAMS_FORMAT,
            "version": 1,
            "sample_rate": self.sample_rate,
            "stages": list(STAGES),
            "passages": {
                p.passage_id: self.params[p.passage_id]
                for p in manifest.tasks[TASK]
                if p.passage_id in self.params
            },
        }
        _write_json(self.out_dir / "params.json", params)
        manifest.save(self.out_dir / "manifest.json")
        return params

    def remove_stale(self, manifest: Manifest) -> int:
        """Delete audio the previous manifest listed and this one does not (opaque names only)."""
        stale = (
            set(self.previous.files()) - set(manifest.files())
            if self.previous is not None
            else set()
        )
        for name in stale:
            if OPAQUE_NAME.match(name):
                (self.out_dir / name).unlink(missing_ok=True)
        for path in (self.out_dir / AUDIO_FOLDER).glob(".*.mp3"):  # left by a run killed outright
            path.unlink(missing_ok=True)
        return len(stale)


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
    planned = {source.passage_id for source in sources}
    entries: list[PassageEntry] = []
    result = TableResult(out_dir / "manifest.json", table.manifest([]), {})
    total = len(sources) * len(table.methods())
    with (
        make_pool(workers) as pool,
        tqdm(total=total, desc="emulation", unit="clip", disable=not progress) as bar,
    ):
        pending: _Pending | None = None
        for source in sources:
            bar.set_postfix_str(f"{source.label} {source.track_name}")
            started = table.start(source, pool)
            if pending is not None:
                entries.append(table.finish(pending, result, bar))
                table.save(table.manifest(table.with_unfinished(entries, planned)))
            pending = started
        if pending is not None:
            entries.append(table.finish(pending, result, bar))
    result.manifest = table.manifest(entries)
    result.params = table.save(result.manifest)
    result.removed = table.remove_stale(result.manifest)
    return result
