"""Which file is which passage, and whether it can be one: the checks of ``python -m dmc.render import``.

Everything here reads and decides; nothing is written. :func:`prepare` matches the
files of a folder to a render's passages, decodes each file once, cuts song-length
mixes to their passages' windows and checks every passage, so that a bad file stops the
import before any audio or manifest changes. Every refusal is one line naming the file
and the fix (:class:`ImportRefused`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import signal

from dmc.audio import SILENCE_LUFS, AudioError, integrated_loudness, resample
from dmc.contracts.files import file_sha256
from dmc.contracts.manifest import Manifest, PassageEntry
from dmc.decode import Decoded, read_any_audio
from dmc.render.references import (
    DECODED_MP3,
    LOSSLESS,
    decoded_target,
    lossless_targets,
    target_condition,
)

#: How far a passage file may be longer or shorter than its passage (s): an AAC or MP3
#: frame of padding fits, a DAW's reverb tail or a wrong selection does not.
DEFAULT_TOLERANCE_SECONDS = 0.1
#: Files with these suffixes in the folder are notes, not mixes, and are ignored.
IGNORED_SUFFIXES = frozenset(
    {
        ".txt",
        ".md",
        ".json",
        ".csv",
        ".yaml",
        ".yml",
        ".toml",
        ".log",
        ".pdf",
        ".png",
        ".jpg",
        ".jpeg",
    }
)
#: A mix this much earlier or later than the target (cross-correlation) is reported.
OFFSET_NOTE_SECONDS = 0.01


class ImportRefused(ValueError):
    """Bad input to an import; the message is one line saying what to fix."""


@dataclass
class Item:
    """One passage of the imported system: its source, and its audio at the passage's rate."""

    task: str
    entry: PassageEntry
    source: Path
    window: str  # "passage" (the file is the passage) or "song" (cut from a whole-song mix)
    audio: np.ndarray
    sample_rate: int
    source_sha256: str
    decoded: Decoded
    length_difference_seconds: float
    offset_ms: float | None = None
    #: the passage's target (None without one): what the metrics compare with, and what it is
    #: (:data:`dmc.render.references.LOSSLESS` or ``DECODED_MP3``)
    target: np.ndarray | None = None
    reference_kind: str | None = None
    key: str = ""
    file: str = ""
    notes: list[str] = field(default_factory=list)

    def record(self) -> dict:
        """What the manifest keeps about the source (``extra.imported``)."""
        return {
            "source": self.source.name,
            "source_sha256": self.source_sha256,
            "window": self.window,
            "reader": self.decoded.reader,
            "source_sample_rate": self.decoded.file_sample_rate,
            "source_channels": self.decoded.channels,
            "length_difference_seconds": round(self.length_difference_seconds, 4),
            "offset_ms": self.offset_ms,
            "metrics_reference": self.reference_kind,
        }


def match_files(
    manifest: Manifest, tasks: list[str], source: Path
) -> dict[tuple[str, str], tuple[Path, str]]:
    """``(task, passage_id) -> (file, window)`` for every passage a file of ``source`` names.

    Raises:
        ImportRefused: a missing or empty folder, a file that names no passage or song,
            names one in several tasks, or a passage named by two files.
    """
    if not source.is_dir():
        raise ImportRefused(
            f"--from {source} is not a folder; give the folder of the system's mixes"
        )
    files = sorted(
        p for p in source.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() not in IGNORED_SUFFIXES
    )  # fmt: skip
    if not files:
        raise ImportRefused(
            f"{source} holds no audio files; expected <passage_id>.<ext> or <song_id>.<ext>"
        )
    by_passage: dict[str, list[tuple[str, PassageEntry]]] = {}
    by_song: dict[str, list[tuple[str, PassageEntry]]] = {}
    for task in tasks:
        for entry in manifest.passages(task):
            by_passage.setdefault(entry.passage_id, []).append((task, entry))
            by_song.setdefault(entry.song_id, []).append((task, entry))
    matched: dict[tuple[str, str], tuple[Path, str]] = {}
    unmatched = []
    for path in files:
        if path.stem in by_passage:
            targets, window = by_passage[path.stem], "passage"
        elif path.stem in by_song:
            targets, window = by_song[path.stem], "song"
        else:
            unmatched.append(path.name)
            continue
        where = sorted({task for task, _ in targets})
        if len(where) > 1:
            raise ImportRefused(
                f"{path.name} matches passages of tasks {' and '.join(where)}; import one task at a time with --task"
            )
        for task, entry in targets:
            other = matched.get((task, entry.passage_id))
            if other is not None:
                raise ImportRefused(
                    f"passage {entry.passage_id} has two files, {other[0].name} and {path.name}; keep one"
                )
            matched[(task, entry.passage_id)] = (path, window)
    if unmatched:
        example = next(iter(by_passage), "<passage_id>")
        raise ImportRefused(
            f"{len(unmatched)} file(s) match no passage of the render ({', '.join(unmatched[:3])}); "
            f"name each <passage_id>.<ext> (e.g. {example}.wav) or <song_id>.<ext> as in manifest.json"
        )
    return matched


def passage_rate(manifest: Manifest, entry: PassageEntry) -> int:
    """The sample rate the passage's conditions were finished at."""
    for condition in entry.conditions:
        rate = condition.extra.get("sample_rate")
        if rate:
            return int(rate)
    return int(manifest.sample_rate)


def check_window(
    audio: np.ndarray, name: str, entry: PassageEntry, window: str, rate: int, tolerance: float
):
    """The passage's ``(2, samples)`` from a decoded file, and how much longer (s) the file was.

    Raises:
        ImportRefused: non-finite samples, more than two channels, a length off by more
            than ``tolerance`` (passage files) or a song mix that ends before the passage.
    """
    if not np.all(np.isfinite(audio)):
        raise ImportRefused(f"{name} holds NaN or infinite samples; export it again")
    if audio.shape[0] > 2:
        raise ImportRefused(f"{name} has {audio.shape[0]} channels; export a stereo (or mono) mix")
    stereo = np.repeat(audio, 2, axis=0) if audio.shape[0] == 1 else audio
    start = int(round(entry.start_seconds * rate)) if window == "song" else 0
    length = int(round(entry.length_seconds * rate))
    have = stereo.shape[1] - start
    difference = (have - length) / rate
    if window == "passage" and abs(difference) > tolerance:
        raise ImportRefused(
            f"{name} is {stereo.shape[1] / rate:.2f} s long but passage {entry.passage_id} is "
            f"{entry.length_seconds:.2f} s (more than --tolerance {tolerance:g} s off); export exactly the passage, "
            "or name the file <song_id>.<ext> if it is the whole song"
        )
    if window == "song" and difference < -tolerance:
        raise ImportRefused(
            f"{name} ends at {stereo.shape[1] / rate:.2f} s but passage {entry.passage_id} runs from "
            f"{entry.start_seconds:.2f} to {entry.start_seconds + entry.length_seconds:.2f} s; export the whole song"
        )
    out = stereo[:, start : start + length]
    if out.shape[1] < length:
        out = np.pad(out, ((0, 0), (0, length - out.shape[1])))
    if integrated_loudness(out, rate) < SILENCE_LUFS:
        raise ImportRefused(f"{name} is silent in passage {entry.passage_id}; check the export")
    return np.ascontiguousarray(out, dtype=np.float32), difference


def offset_seconds(
    audio: np.ndarray, target: np.ndarray, rate: int, max_seconds: float
) -> float | None:
    """How much later ``audio`` starts than ``target`` (s, by cross-correlating their mono sums),
    or None when no lag within ``max_seconds`` correlates clearly better than none."""
    a, b = audio.mean(axis=0), target[:, : audio.shape[1]].mean(axis=0)
    if not (np.any(a) and np.any(b)):
        return None
    full = signal.correlate(a, b, mode="full", method="fft")
    zero = b.shape[0] - 1
    span = int(max_seconds * rate)
    window = full[max(0, zero - span) : zero + span + 1]
    lag = int(np.argmax(window)) - min(zero, span)
    if lag == 0 or window.max() <= 1.1 * max(full[zero], 0.0):
        return 0.0 if lag == 0 else None
    return lag / rate


def prepare(
    manifest: Manifest, tasks: list[str], source: Path, tolerance: float, partial: bool
) -> tuple[list[Item], list[str]]:
    """Match, decode, cut and check every file: the items to import, and notes for the user.

    Raises:
        ImportRefused: any file or passage that cannot be imported (see :func:`match_files`
            and :func:`check_window`), passages without a file (unless ``partial``).
    """
    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise ImportRefused(f"--tolerance must be 0 or more seconds, got {tolerance}")
    matched = match_files(manifest, tasks, source)
    missing = [
        (t, e.passage_id)
        for t in tasks
        for e in manifest.passages(t)
        if (t, e.passage_id) not in matched
    ]
    if missing and not partial:
        raise ImportRefused(
            f"{len(missing)} passage(s) have no file in {source} ({', '.join(p for _, p in missing[:3])}"
            f"{', ...' if len(missing) > 3 else ''}); add them, or pass --partial to import the others"
        )
    decoded: dict[Path, Decoded] = {}
    hashes: dict[Path, str] = {}
    items, notes = [], []
    for task in tasks:
        for entry in manifest.passages(task):
            if (task, entry.passage_id) not in matched:
                continue
            path, window = matched[(task, entry.passage_id)]
            if path not in decoded:
                try:
                    decoded[path] = read_any_audio(path)
                except AudioError as exc:
                    raise ImportRefused(str(exc)) from None
                hashes[path] = file_sha256(path)
            rate = passage_rate(manifest, entry)
            found = decoded[path]
            audio = resample(found.audio, found.sample_rate, rate)
            cut, difference = check_window(audio, path.name, entry, window, rate, tolerance)
            items.append(
                Item(task, entry, path, window, cut, rate, hashes[path], found, difference)
            )
    rates = {(i.task, i.entry.passage_id): i.sample_rate for i in items}
    lossless, reference_notes = lossless_targets(manifest, tasks, rates) if items else ({}, [])
    notes += reference_notes
    for item in items:
        if target_condition(item.entry) is None:
            continue
        reference = lossless.get((item.task, item.entry.passage_id))
        item.reference_kind = LOSSLESS if reference is not None else DECODED_MP3
        if reference is None:
            reference = decoded_target(manifest, item.entry, item.sample_rate)
        item.target = reference[:, : item.audio.shape[1]]
        offset = offset_seconds(
            item.audio, item.target, item.sample_rate, max(tolerance, OFFSET_NOTE_SECONDS * 2)
        )
        item.offset_ms = None if offset is None else round(1000 * offset, 1)
        if offset is not None and abs(offset) >= OFFSET_NOTE_SECONDS:
            notes.append(
                f"{item.source.name}, passage {item.entry.passage_id}: starts {1000 * offset:+.0f} ms from the "
                "target (cross-correlation); check the export is aligned with the multitracks"
            )
    if missing:
        notes.append(
            f"{len(missing)} passage(s) without a file left out (--partial): {missing[0][1]} ..."
        )
    return items, notes
